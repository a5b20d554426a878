// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// recon.h: the reconstruction in row tiles (recon.c): the x2/x4 maps are held for one tile's windows at a
// time; the outputs are those of one whole-frame pass, bit for bit.
#pragma once
#include "model/runner_internal.h"

// Sets r's tile_rows, recon_rows and recon_tail_rows for tiles of tile_rows (<= 0: untiled); needs r->h.
void sv_recon_layout(sv_vsr_runner *r, int tile_rows);
// Rows the buffers of a stage's input window need (the larger of a full tile's and the last one's).
int sv_recon_buffer_rows(const sv_vsr_runner *r, int stage);
// Plans fusion, upconv1, upconv2, conv_hr, conv_last for a full tile's windows and, when they differ, the
// last tile's.
int sv_recon_plan(sv_vsr_runner *r, sv_err *e);
// Output frame i into r->out_chw. x: [3, h, w] CHW; fb, ff: B_i and F_i ([C, h, w], layout r->blk).
void sv_reconstruct(sv_vsr_runner *r, int i, const float *x, const float *fb, const float *ff);
