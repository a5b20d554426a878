// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// conv.h: 2-D convolution, stride 1, square kernel k, zero padding pad, with fused bias, activation and
// residual add. H_out = H + 2*pad - k + 1.
//
// conv2d_forward_ref is the naive reference (any layout blk). A conv plan is the fast path: created
// once per layer and input size at model load (ncnn's create_pipeline), it picks the algorithm,
// reorders the weights, and then runs many times.
#pragma once
#include "core/error.h"

// out[o,y,x] = b[o] + sum_{i,ky,kx} w[o,i,ky,kx] * in[i, y+ky-pad, x+kx-pad]
// in [cin,H,W], w [cout,cin,k,k] (PyTorch OIHW), b [cout] or NULL, out [cout,H_out,W_out]
void conv2d_forward_ref(float *out, const float *in, const float *w, const float *b, int cin, int cout, int h,
                        int wd, int k, int pad, int blk);

typedef struct {
    int cin, cout, k, pad;  // stride 1
    int h, w;               // input height and width
    int blk;                // layout of input, output and residual (1, 8 or 16)
    int act;                // 1: apply activation with act_slope after bias (0 slope: ReLU)
    float act_slope;
    int residual;           // 1: out = [act](conv(in) + b) + residual
    int shuffle;            // 2: out = pixel_shuffle_2x([act](conv(in) + b)), [cout/4, 2*H_out, 2*W_out]
                            //   (PyTorch PixelShuffle(2); cout % 4 == 0, no residual); 0: none
} sv_conv_desc;

typedef struct sv_conv_plan sv_conv_plan;

// Picks the algorithm for this shape and transforms the weights once. weight and bias are copied.
sv_conv_plan *sv_conv_plan_create(const sv_conv_desc *d, const float *weight, const float *bias, sv_err *e);
// out must not alias in; residual may alias out (then out already holds the residual) or be NULL.
// Returns -1 with e saying why when the run failed (out of memory for the per-run scratch, or a oneDNN
// failure): out is then incomplete. e may be NULL.
int sv_conv_plan_run(sv_conv_plan *p, float *out, const float *in, const float *residual, sv_err *e);
// Name of the chosen algorithm (for `info` and benchmarks).
const char *sv_conv_plan_algo(const sv_conv_plan *p);
// Thread-seconds the plan's runs so far spent per phase, for profiles: sec[0] input transforms, sec[1]
// GEMMs, sec[2] output transforms (bias, activation, residual, store), summed over the threads (the phases
// interleave per block of tiles inside each thread, so they are thread time, not wall time). Own Winograd
// only; all 0 for the other backends (oneDNN runs as one call).
void sv_conv_plan_phases(const sv_conv_plan *p, double sec[3]);
void sv_conv_plan_free(sv_conv_plan *p);

// Preferred channel block for the fast path on this CPU (8 on AVX2, 16 with AVX-512), unless configured.
int sv_conv_preferred_blk(void);

// Process-wide choices for benchmarks and comparisons (the CLI makes them from SLIMVSR_CONV_ALGO and
// SLIMVSR_CONV_BLK). Set once, before any plan is made; the library itself never reads the environment.
typedef struct {
    const char *algo;  // NULL or "auto": the choice per shape; wino6|wino|wino7|wino7f4|dnnl|dnnl_auto|ref:
                       // that backend for every layer where it applies (wino6/wino: k = 3, wino7/wino7f4:
                       // k = 7, all four blk 8/16)
    int blk;           // 0: the CPU's choice (sv_conv_preferred_blk); 8 or 16: that layout
    int avx2_only;     // 1: none of our own AVX-512 kernels (the Winograd and the direct RSC block at blk
                       // 16) even where the CPU has AVX-512 (to compare; oneDNN picks its own)
    struct sv_wisdom *wisdom;  // NULL: each shape's backend by the fixed rule; else measured once per shape
                               // and CPU and recorded there (ops/tune.h), unless algo forces one
} sv_conv_config;
// Returns -1 (and changes nothing) for an unknown algorithm or a blk other than 0, 8, 16.
int sv_conv_configure(const sv_conv_config *c, sv_err *e);

// ======== training ========
// Backward of conv2d_forward_ref, naive (accumulated in double), ACCUMULATING (+=) like every backward:
//   din [cin,H,W] += conv^T(dout), dw [cout,cin,k,k] += dout (x) in, db [cout] += sum over pixels of dout.
// dout [cout,OH,OW] is the gradient of the raw conv output (before any activation); in is the forward
// input. Any of din, dw, db may be NULL to skip it. Any layout blk.
void conv2d_backward_ref(float *din, float *dw, float *db, const float *dout, const float *in, const float *w,
                         int cin, int cout, int h, int wd, int k, int pad, int blk);

// A training conv over a batch of n feature maps (sample s at offset s * sv_fmap_floats(c, h, w, blk),
// i.e. oneDNN's nchw / nChw8c / nChw16c with N = n). Unlike sv_conv_plan, the weights are passed at every
// call (the optimiser changes them every step). The desc's act/act_slope/residual are honoured by forward.
typedef struct sv_conv_train sv_conv_train;

// reference != 0 forces the naive path (conv2d_forward_ref / conv2d_backward_ref per sample).
sv_conv_train *sv_conv_train_create(const sv_conv_desc *d, int n, int reference, sv_err *e);
// The bytes a training conv over n maps holds itself, for memory estimates: the gradients of its input,
// weights and bias, and for a residual the copy it adds from when oneDNN cannot fuse the add
// (counted always), and the buffers of our Winograd phases where they run (conv_train_wino.c). oneDNN's
// reorder buffers, needed for channel counts under 8, are left out.
size_t sv_conv_train_bytes(const sv_conv_desc *d, int n);
// out = [act](conv(in) + b) [+ residual]; w [cout,cin,k,k] OIHW, b [cout]; residual may be NULL or alias out.
int sv_conv_train_forward(sv_conv_train *p, float *out, const float *in, const float *w, const float *b,
                          const float *residual, sv_err *e);
// din += conv^T(dout); dw += ..., db += ... summed over the batch; NULL skips. dout: gradient of the raw
// conv output (the caller has already applied act_backward).
int sv_conv_train_backward(sv_conv_train *p, float *din, float *dw, float *db, const float *dout, const float *in,
                           const float *w, sv_err *e);
const char *sv_conv_train_algo(const sv_conv_train *p);
void sv_conv_train_free(sv_conv_train *p);
