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
} sv_conv_desc;

typedef struct sv_conv_plan sv_conv_plan;

// Picks the algorithm for this shape and transforms the weights once. weight and bias are copied.
sv_conv_plan *sv_conv_plan_create(const sv_conv_desc *d, const float *weight, const float *bias, sv_err *e);
// out must not alias in; residual may alias out (then out already holds the residual) or be NULL.
void sv_conv_plan_run(sv_conv_plan *p, float *out, const float *in, const float *residual);
// Name of the chosen algorithm (for `info` and benchmarks).
const char *sv_conv_plan_algo(const sv_conv_plan *p);
void sv_conv_plan_free(sv_conv_plan *p);

// Preferred channel block for the fast path on this CPU (8 on AVX2, 16 with AVX-512).
int sv_conv_preferred_blk(void);
