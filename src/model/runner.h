// runner.h: runs a loaded model (or the bicubic baseline) on clips of one frame size. Created once per
// (model, frame size): every conv gets its plan (algorithm + reordered weights) and every buffer is
// allocated here, so running a chunk of frames allocates nothing.
//
// Data flow of sv_runner_run for n frames x_0..x_{n-1} (SSL-NOTES §1):
//   backward branch, i = n-1..0: flow_b = spynet(x_i, x_{i+1}); h = warp(h, flow_b); h = trunk_b(cat[x_i, h]);
//                                B_i = h (kept for the forward branch)
//   forward branch,  i = 0..n-1: flow_f = spynet(x_i, x_{i-1}); h = warp(h, flow_f); h = trunk_f(cat[x_i, h]);
//                                y_i = recon(B_i, h) + bilinear_x4(x_i); emit y_i  (x4: SV_SCALE)
#pragma once
#include <stddef.h>

#include "core/error.h"
#include "model/basicvsr.h"

typedef enum {
    SV_EXEC_REFERENCE = 0,  // naive ops in plain CHW, nothing fused: the ground truth for tests
    SV_EXEC_FAST = 1,       // planned convs in the channel-blocked layout, fused bias/act/residual
} sv_exec_mode;

// Called with each output frame in order: chw is [3, 4h, 4w] (SV_SCALE h, SV_SCALE w) float, RGB, not clamped.
typedef int (*sv_output_fn)(void *ud, int index, const float *chw, sv_err *e);
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
// Bytes held by the runner's buffers (the planned peak for max_frames frames).
size_t sv_runner_bytes(const sv_runner *r);
void sv_runner_free(sv_runner *r);

// Where the time went: frames emitted so far and the seconds spent in each stage over all of them
// (BasicVSR's stages; the bicubic runner keeps none: all zero). The CLI prints it under SLIMVSR_PROFILE.
typedef struct {
    int frames;
    double spynet, trunk, recon, emit;  // emit: the output callback (convert + encode)
} sv_runner_profile;
sv_runner_profile sv_runner_get_profile(const sv_runner *r);

// Bytes a runner for max_frames frames of h x w in mode would allocate, fixed + per_frame * max_frames:
// its buffers (the same list sv_runner_create allocates; sv_runner_bytes), its conv plans' transformed
// weights, and the convs' scratch while it runs.
void sv_runner_estimate(const sv_model *m, int h, int w, sv_exec_mode mode, size_t *fixed, size_t *per_frame);
void sv_bicubic_runner_estimate(int h, int w, size_t *fixed, size_t *per_frame);
