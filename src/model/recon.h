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
// Output frame i, a band per tile (r->out_band) to out (runner.h: sv_output_fn; NULL: none), the time spent
// in out added to *emit. x: [3, h, w] CHW; fb, ff: B_i and F_i ([C, h, w], layout r->blk); fb NULL for a
// uni model (fusion reads F_i alone). Returns out's failure (-1, its message in e); a conv's failure is
// r->conv_failed.
int sv_reconstruct(sv_vsr_runner *r, int i, const float *x, const float *fb, const float *ff, sv_output_fn out,
                   void *ud, double *emit, sv_err *e);
// Output rows of the tallest band (the tallest tile, x4): r->out_band's rows. Needs sv_recon_layout.
int sv_recon_band_rows(const sv_vsr_runner *r);
