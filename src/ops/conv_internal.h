// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// conv_internal.h: the conv plan's backends, shared by conv_plan.c (which picks one per layer) and the
// files that implement them. Every backend computes out = [act](conv(in) + b) [+ residual] for one
// sv_conv_desc (ops/conv.h) and keeps its own copy of the (transformed) weights.
#pragma once
#include <oneapi/dnnl/dnnl_types.h>

#include "ops/conv.h"

// The process-wide oneDNN CPU engine and stream (conv_dnnl.c, created on first use), shared by every
// oneDNN user: conv plans and training convs (conv_train.c).
int sv_dnnl_engine(dnnl_engine_t *engine, dnnl_stream_t *stream, sv_err *e);

// ---- oneDNN (conv_dnnl.c): any k, pad and blk (blk 1 uses oneDNN's plain nchw) ----
typedef struct sv_dnnl_conv sv_dnnl_conv;
// alg: 0 = direct, 1 = oneDNN's choice (auto; picks its Winograd where it has one, AVX-512 only)
sv_dnnl_conv *sv_dnnl_conv_create(const sv_conv_desc *d, const float *weight, const float *bias, int alg, sv_err *e);
// Returns -1 with e saying so when oneDNN reports a failure while executing (e may be NULL).
int sv_dnnl_conv_run(sv_dnnl_conv *c, float *out, const float *in, const float *residual, sv_err *e);
// oneDNN's implementation name, e.g. "jit:avx2".
const char *sv_dnnl_conv_impl(const sv_dnnl_conv *c);
void sv_dnnl_conv_free(sv_dnnl_conv *c);

// ---- own Winograd F(m x m, k x k) (conv_winograd.c): k = 3 with m = 4 or 6, k = 7 with m = 2 or 4; blk 8
// or 16; AVX2, or AVX-512F at blk 16 where sv_conv_avx512() ----
typedef struct sv_wino sv_wino;
// tiles_per_block: tiles per work item (rounded up to a multiple of the GEMM kernel's rows: 6, or 12 at
// 16 lanes); <= 0 picks the default.
sv_wino *sv_wino_create(const sv_conv_desc *d, const float *weight, const float *bias, int m, int tiles_per_block,
                        sv_err *e);
// Returns -1 with e saying so when its scratch (per thread, freed before return) cannot be allocated; out is
// then incomplete (e may be NULL).
int sv_wino_run(sv_wino *w, float *out, const float *in, const float *residual, sv_err *e);
// The same over nmaps maps, map s at in + s * sv_fmap_floats(cin, h, w, blk) and out (residual) + s * the
// output map's floats; the threads share the blocks of tiles of all maps. residual may alias out.
int sv_wino_run_batch(sv_wino *w, int nmaps, float *out, const float *in, const float *residual, sv_err *e);
// New weights [cout,cin,k,k] (OIHW) and bias [cout] (NULL: zero) for an existing plan: transformed into
// its buffers as sv_wino_create does, nothing re-planned (training: the optimiser changes them every step).
// -1 when out of memory for the transform's scratch (the plan's weights are then stale).
int sv_wino_set_weights(sv_wino *w, const float *weight, const float *bias, sv_err *e);
// The weight gradient of the forward conv w plans (training: conv_train_wino.c), for F(4x4,3x3) plans
// without pixel shuffle: dw [cout,cin,3,3] (OIHW) += sum over the nmaps maps (strided as sv_wino_run_batch)
// of the correlation of in with dout [cout, oh, ow] (the output's layout). Fails for other plans, or when
// its scratch (per call, freed before return: about 1 MB per thread at 64 -> 64) cannot be allocated (dw
// then unchanged).
int sv_wino_backward_weights(sv_wino *w, int nmaps, const float *in, const float *dout, float *dw, sv_err *e);
// Whether our own kernels may use AVX-512 (the CPU has it and sv_conv_configure did not turn it off): the
// Winograd and the direct RSC block at blk 16 (ops/rsc_direct.c).
int sv_conv_avx512(void);
// Channels per vector of its kernels: 16 (AVX-512F) or 8 (AVX2).
int sv_wino_lanes(const sv_wino *w);
// Thread-seconds of its runs so far: input transforms, GEMMs, output transforms (sv_conv_plan_phases).
void sv_wino_phases(const sv_wino *w, double sec[3]);
void sv_wino_free(sv_wino *w);

// ---- plan with a forced backend (tests, benchmarks) ----
// WINO: F(4x4,3x3), WINO6: F(6x6,3x3), WINO7: F(2x2,7x7), WINO7F4: F(4x4,7x7)
enum { SV_CONV_AUTO = 0, SV_CONV_WINO = 1, SV_CONV_DNNL = 2, SV_CONV_DNNL_AUTO = 3, SV_CONV_REF = 4, SV_CONV_WINO6 = 5,
       SV_CONV_WINO7 = 6, SV_CONV_WINO7F4 = 7, SV_CONV_NALGO = 8 };
// algo SV_CONV_AUTO is sv_conv_plan_create's choice; a backend that cannot take the shape fails with e.
sv_conv_plan *sv_conv_plan_create_algo(const sv_conv_desc *d, const float *weight, const float *bias, int algo,
                                       sv_err *e);
int sv_conv_plan_algo_id(const sv_conv_plan *p);
// The backend's name as sv_conv_configure takes it ("wino6", "dnnl", ...).
const char *sv_conv_algo_name(int algo);
// Whether a Winograd backend takes the shape (k and blk; the other backends take any).
int sv_wino_takes(int algo, const sv_conv_desc *d);
// conv_train.c: a training conv (ops/conv.h) with a forced backend, for tests and benchmarks:
// SV_CONV_AUTO: sv_conv_train_create's choice; SV_CONV_DNNL: oneDNN for all three phases; SV_CONV_REF: the
// naive path; SV_CONV_WINO / WINO6 / WINO7 / WINO7F4: that Winograd for forward and backward-data (each where
// its shape allows; fails when neither does), oneDNN for backward-weights.
sv_conv_train *sv_conv_train_create_algo(const sv_conv_desc *d, int n, int algo, sv_err *e);
// conv_train_wino.c: our Winograd inside a training conv (forward and backward-data; conv_train.c).
typedef struct sv_train_wino sv_train_wino;
// forced: 0 for the choice per shape (k 3, blk 8/16; forward: cin >= 5), or SV_CONV_WINO*
// (k and blk only). NULL with e when neither phase applies or on failure.
sv_train_wino *sv_train_wino_create(const sv_conv_desc *d, int n, int forced, sv_err *e);
// The output tile m of the forward (backward 0) or backward-data (1) plan; 0: that phase stays on oneDNN.
int sv_train_wino_tile(const sv_train_wino *t, int backward);
// The channels per vector (sv_wino_lanes) of its Winograd plans (8 or 16); 0 when neither phase is ours.
int sv_train_wino_lanes(const sv_train_wino *t);
// 1 when t computes the weight gradient (its forward is F(4x4,3x3)): dw [cout,cin,k,k] += the batch's, from
// dout [n][cout,oh,ow] and the forward's input in [n][cin,h,w]; the bias gradient is not made here.
int sv_train_wino_wgrad(const sv_train_wino *t);
int sv_train_wino_backward_weights(sv_train_wino *t, float *dw, const float *dout, const float *in, sv_err *e);
// The bytes it holds for desc d (0 when Winograd does not apply), for memory estimates.
size_t sv_train_wino_bytes(const sv_conv_desc *d);
// out [n maps] = [act](conv(in) + b) [+ residual]; weights re-transformed only when they changed.
int sv_train_wino_forward(sv_train_wino *t, float *out, const float *in, const float *w, const float *b,
                          const float *residual, sv_err *e);
// din [n maps] += conv^T(dout) with the forward's weights w (OIHW).
int sv_train_wino_backward_data(sv_train_wino *t, float *din, const float *dout, const float *w, sv_err *e);
void sv_train_wino_free(sv_train_wino *t);
// conv_tune.c: the backend measured fastest for d on this CPU (ops/tune.h), or fallback when no wisdom
// table is configured or no candidate passes its check.
int sv_conv_tune(const sv_conv_desc *d, const float *weight, const float *bias, int fallback);
