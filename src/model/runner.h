// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// runner.h: runs a loaded model (or the bicubic baseline) on clips of one frame size. Created once per
// (model, frame size): every conv gets its plan (algorithm + reordered weights) and every buffer is
// allocated here, so running a chunk of frames allocates nothing.
//
// Data flow of sv_runner_run for n frames x_0..x_{n-1} (SSL-NOTES §1):
//   backward branch, i = n-1..0: flow_b = spynet(x_i, x_{i+1}); h = warp(h, flow_b); h = trunk_b(cat[x_i, h]);
//                                B_i = h (kept for the forward branch)
//   forward branch,  i = 0..n-1: flow_f = spynet(x_i, x_{i-1}); h = warp(h, flow_f); h = trunk_f(cat[x_i, h]);
//                                y_i = recon(B_i, h) + bilinear_x4(x_i); emit y_i  (x4: SV_SCALE)
// A zero-flow model (sv_model.flow) runs no SPyNet: its flows are zero and each warp is the identity.
#pragma once
#include <stddef.h>

#include "core/error.h"
#include "model/basicvsr.h"

typedef enum {
    SV_EXEC_REFERENCE = 0,  // naive ops in plain CHW, nothing fused: the ground truth for tests
    SV_EXEC_FAST = 1,       // planned convs in the channel-blocked layout, fused bias/act/residual
} sv_exec_mode;

// Called with each output frame, in order, in bands of rows from the top: rows y0 .. y0+rows-1 of frame
// index's [3, 4h, 4w] (SV_SCALE h, SV_SCALE w) float RGB, not clamped, as chw [3, rows, 4w]. A frame is
// complete with the band that ends at row 4h. Valid during the call only (the runner reuses the memory).
// BasicVSR hands over one band per reconstruction tile (the whole frame when untiled), so it never holds
// a whole float output frame; the bicubic runner hands over whole frames.
typedef int (*sv_output_fn)(void *ud, int index, int y0, int rows, const float *chw, sv_err *e);
// Test hook: intermediate tensors in plain CHW (see runner.c for the names).
typedef void (*sv_tap_fn)(void *ud, const char *name, int index, const float *chw, int c, int h, int w);

// A runner: BasicVSR (sv_runner_create) or the bicubic baseline (sv_bicubic_runner_create); both are run,
// measured and freed by the functions below (runner_api.c), so upscale and eval take either.
typedef struct sv_runner sv_runner;

// The BasicVSR runner for model m.
sv_runner *sv_runner_create(const sv_model *m, int h, int w, int max_frames, sv_exec_mode mode, sv_err *e);
// The bicubic baseline: every output frame is MATLAB's imresize(x, SV_SCALE) of its input frame
// (ops/imresize.h), with the runner's interface, so that upscale and eval can measure it.
sv_runner *sv_bicubic_runner_create(int h, int w, int max_frames, sv_err *e);
// The tap hook sees BasicVSR's intermediates; the bicubic runner has none and never calls it.
void sv_runner_set_tap(sv_runner *r, sv_tap_fn tap, void *ud);
// frames: n pointers to [3, h, w] float CHW in [0,1]; 1 <= n <= max_frames. Runs both branches over all
// n frames and emits every output.
int sv_runner_run(sv_runner *r, const float *const *frames, int n, sv_output_fn out, void *ud, sv_err *e);
// One chunk of a long clip: the backward branch runs over all n frames (frames past n_emit are lookahead
// that only feeds the backward branch), the forward branch and the outputs cover frames 0..n_emit-1.
// prev: the frame just before frames[0] when this chunk continues an earlier one (the forward hidden
// state is then carried over from the previous call, exactly as in one long pass), or NULL to start.
int sv_runner_run_chunk(sv_runner *r, const float *const *frames, int n, int n_emit, const float *prev,
                        sv_output_fn out, void *ud, sv_err *e);
// The state a chunk hands to the next (BasicVSR: the forward branch's hidden state after the last frame
// emitted, [C, h, w]; the bicubic runner: none, 0 planes), in plain CHW, so that a job can checkpoint it
// and continue later exactly where it stopped: set it, then run the next chunk with its prev frame. It moves
// a few planes (channels) at a time, so a checkpoint needs no copy of the whole state.
void sv_runner_state_shape(const sv_runner *r, int *planes, size_t *plane_floats);
// The same for model m (NULL: the bicubic runner) at h x w, before any runner exists (memory plans).
void sv_runner_state_shape_for(const sv_model *m, int h, int w, int *planes, size_t *plane_floats);
// Planes c0..c0+nc-1 of the state into / out of chw (nc x plane_floats floats).
void sv_runner_state_get(const sv_runner *r, int c0, int nc, float *chw);
void sv_runner_state_set(sv_runner *r, int c0, int nc, const float *chw);
// What sv_runner_run_chunk(r, frames, n, n, prev, ...) leaves in the forward hidden state, computed alone:
// the forward branch over frames 0..n-1 (1 <= n <= max_emit), no backward branch, no reconstruction, no
// output. For a segment of a clip (upscale --frames): the chunks before it only carry the forward state
// into it, bit for bit as a whole run does. The bicubic runner has no state: it does nothing.
int sv_runner_warm_up(sv_runner *r, const float *const *frames, int n, const float *prev, sv_err *e);
// Bytes held by the runner's buffers (the planned peak for max_frames frames).
size_t sv_runner_bytes(const sv_runner *r);
void sv_runner_free(sv_runner *r);

// The per-layer profile: every conv layer's calls, seconds, FLOPs and backend, and the non-conv work by
// kind (model/profile.h).
typedef struct sv_prof_table sv_prof_table;

// Where the time went: frames emitted so far and the seconds spent in each stage over all of them
// (BasicVSR's stages; the bicubic runner keeps none: all zero). The CLI prints it under SLIMVSR_PROFILE.
typedef struct {
    int frames;
    double spynet, trunk, recon, emit;  // emit: the output callback (convert + encode)
    sv_prof_table *layers;  // a sum's own table (NULL: none): sv_runner_profile_add (pipeline/upscale.h) merges
                            // each runner's layer table into it; sv_runner_get_profile leaves it NULL
} sv_runner_profile;
sv_runner_profile sv_runner_get_profile(const sv_runner *r);
// The runner's per-layer table over everything it ran (empty for the bicubic runner); valid until
// sv_runner_free.
const sv_prof_table *sv_runner_get_layers(const sv_runner *r);

// Bytes a runner for max_frames frames of h x w in mode would allocate, fixed + per_frame * (frames it emits
// per run: max_frames, or max_emit for sv_runner_create_window):
// its buffers (the same list sv_runner_create allocates; sv_runner_bytes), its conv plans' transformed
// weights, and the convs' scratch while it runs.
void sv_runner_estimate(const sv_model *m, int h, int w, sv_exec_mode mode, size_t *fixed, size_t *per_frame);

// Reconstruction tiles (model/recon.c): the maps at x2 and x4 resolution are held for one tile of
// tile_rows LR rows (a multiple of SV_RECON_ALIGN) at a time, each conv's window reaching some rows past
// the tile (36 in all at LR for fusion and upconv1, 36 at x2 for upconv2, 36 and 18 at x4 for conv_hr and
// conv_last); the outputs are bit-identical to one whole-frame pass. sv_runner_create chooses the whole
// frame when the runner then needs at most SV_RECON_WHOLE_BYTES more than with tiles of SV_RECON_FAST_ROWS
// rows (small frames: one pass, no rows computed twice), else the largest tiles with which the runner takes
// at most SV_RECON_PIXEL_BYTES per input pixel, and at least SV_RECON_FAST_ROWS rows (large frames: memory
// in proportion to the frame). Each stage's window reaches past its tile, so small tiles compute more rows:
// the ssl model's reconstruction at 1280x720 took 4.4 s per frame in tiles of 24 rows, 3.9 in 36, 3.7 in
// 48 (2026-12-07); 12 rows cost far more (every window at LR is at least 24 rows). With 1 KB per pixel for
// the runner, the whole job stays near 1.4 KB per input pixel at 1280x720 (bench/memory.sh).
enum { SV_RECON_ALIGN = 12, SV_RECON_FAST_ROWS = 24 };
#define SV_RECON_WHOLE_BYTES ((size_t)512 << 20)
#define SV_RECON_PIXEL_BYTES ((size_t)1024)
// The tile rows a runner of h rows uses for tile_rows: h (the whole frame: tile_rows <= 0, or a tile's
// windows as tall as the frame) or a multiple of SV_RECON_ALIGN.
int sv_runner_tiles_used(int h, int tile_rows);
// tile_rows: as sv_runner_tiles_used.
sv_runner *sv_runner_create_tiled(const sv_model *m, int h, int w, int max_frames, sv_exec_mode mode,
                                  int tile_rows, sv_err *e);
// The same for runs of at most max_frames frames of which at most max_emit are emitted (the rest is the
// backward branch's lookahead): B_i is kept for the emitted frames only (the lookahead's pass through the
// last emitted frame's slot before it is written), so the runner holds max_emit frames of features.
sv_runner *sv_runner_create_window(const sv_model *m, int h, int w, int max_frames, int max_emit,
                                   sv_exec_mode mode, int tile_rows, sv_err *e);
void sv_runner_estimate_tiled(const sv_model *m, int h, int w, sv_exec_mode mode, int tile_rows, size_t *fixed,
                              size_t *per_frame);
// The tile rows sv_runner_create picks (h: the whole frame).
int sv_runner_default_tile_rows(const sv_model *m, int h, int w, sv_exec_mode mode);
// The largest tile rows whose runner's fixed part (sv_runner_estimate_tiled) fits in budget bytes: 0 (the
// whole frame) when it fits, SV_RECON_ALIGN (the smallest) when nothing does.
int sv_runner_tile_rows(const sv_model *m, int h, int w, sv_exec_mode mode, size_t budget);
void sv_bicubic_runner_estimate(int h, int w, size_t *fixed, size_t *per_frame);
