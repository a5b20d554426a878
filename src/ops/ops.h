// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// ops.h: the element-wise and resampling ops of BasicVSR, for one image (batch 1), and the channel ops,
// which take views (sv_fmap: a batch of maps, a window of their channels) and run over the whole batch.
//
// Feature maps use the layout of core/layout.h: blk = 1 is plain CHW, blk = 8/16 channel-blocked.
// Most functions here are plain loops written for clarity; they are fast enough next to the convolutions
// around them. Where the model needed a faster loop (pixel shuffle at 4x resolution, warping 64
// channels), the naive version stays as *_ref and tests/test_ops.c checks one against the other.
// Shapes are in the comments: [C,H,W] means a feature map in the given layout.
#pragma once
#include <stddef.h>

#include "core/layout.h"

// ---- activation: x = x >= 0 ? x : slope * x  (slope 0: ReLU, 0.1: BasicSR's LeakyReLU) ----
void act_forward(float *x, size_t n, float slope);

// ---- add: out[i] = a[i] + b[i] (out may alias a or b) ----
void add_forward(float *out, const float *a, const float *b, size_t n);

// ---- channel ops on views (core/layout.h): every map s < n of the batch; the views' layouts may differ,
// their h, w and n agree ----
// layout conversion: whole maps, out [C,H,W] in its layout = in [C,H,W] (out's padding channels zeroed)
void layout_convert(sv_fmap out, sv_fmap in);
// channel copy: out[i] = in[i], i < out.c (== in.c). Concatenation is copies into slices:
// cat[x (3ch), h (C ch)] = channel_copy(sv_fmap_slice(cat, 0, 3), x) and channel_copy(sv_fmap_slice(cat, 3, C), h).
void channel_copy(sv_fmap out, sv_fmap in);
// out += in, channel by channel (the two views may differ in layout).
void channel_add(sv_fmap out, sv_fmap in);
// Zeroes the padding channels (c .. cpad(c)-1) of every map of view m, whose channels must start at 0.
void channel_zero_padding(sv_fmap m);
// RSC (SSL-NOTES §3), idx: distinct channels of the full-map side (in for gather, y for scatter-add),
// numbered within that view's window
// gather:      out[i] = in[idx[i]], i < out.c      in: [cin,H,W]  out: [|idx|,H,W]
void channel_gather(sv_fmap out, sv_fmap in, const int *idx);
// scatter-add: y[idx[i]] += r[i],   i < r.c        r: [|idx|,H,W]  y: [cy,H,W]
void channel_scatter_add(sv_fmap y, sv_fmap r, const int *idx);

// ---- pixel shuffle (r = 2): in [4C,H,W] -> out [C,2H,2W], out[c,2y+i,2x+j] = in[4c+2i+j,y,x] ----
void pixel_shuffle_forward(float *out, const float *in, int c_out, int h, int w, int r, int blk);
void pixel_shuffle_forward_ref(float *out, const float *in, int c_out, int h, int w, int r, int blk);

// ---- 2x2 average pooling, stride 2, floor: in [C,H,W] -> out [C,H/2,W/2] ----
void avgpool2_forward(float *out, const float *in, int c, int h, int w, int blk);

// ---- bilinear resize: in [C,H,W] -> out [C,OH,OW] ----
// align_corners = 0: src = (dst + 0.5) * H/OH - 0.5, clamped at 0 (PyTorch's default)
// align_corners = 1: src = dst * (H-1)/(OH-1)
void resize_bilinear_forward(float *out, const float *in, int c, int h, int w, int oh, int ow,
                             int align_corners, int blk);
// Output rows y0 .. y0+rows-1 of the same alone, into out [C,rows,OW]: bit-identical to those rows of
// resize_bilinear_forward's output (a reconstruction tile's x4 base).
void resize_bilinear_rows(float *out, const float *in, int c, int h, int w, int oh, int ow, int y0, int rows,
                          int align_corners, int blk);

// ---- flow warp (grid_sample, bilinear, align_corners=True): out[c,y,x] = in[c, y+fy, x+fx] ----
// flow: [2,H,W] plain CHW, channel 0 = dx, channel 1 = dy, in pixels.
// padding 0: zeros outside the image; 1: border (coordinates clamped to the image).
enum { SV_PAD_ZEROS = 0, SV_PAD_BORDER = 1 };
void flow_warp_forward(float *out, const float *in, const float *flow, int c, int h, int w, int padding,
                       int blk);
void flow_warp_forward_ref(float *out, const float *in, const float *flow, int c, int h, int w, int padding,
                           int blk);

// ======== backward passes (training) ========
// Every backward ACCUMULATES (+=) into its gradient outputs, as llm.c does, so a tensor used twice
// (a residual skip, a hidden state feeding a warp and a reconstruction) just receives both. Gradient
// buffers have the shape and layout of the forward tensor they belong to. Pointers named d* may be NULL
// where noted, to skip a gradient nobody needs. tests/test_grad_ops.c checks each one against central
// finite differences of a double-precision forward.

// act: y = act(x). dx += dy * (y > 0 ? 1 : slope). Uses the forward OUTPUT y (its sign is x's sign for
// slope >= 0, so the forward may run in place). dx may alias dy (then dx = dy * ...: not accumulated).
void act_backward(float *dx, const float *dy, const float *y, size_t n, float slope);

// add / accumulate: out[i] += a[i]
void accumulate(float *out, const float *a, size_t n);

// channel_copy backward: din[i] += dout[i], i < din.c (din: the gradient of channel_copy's in, dout of its out)
void channel_copy_backward(sv_fmap din, sv_fmap dout);

// channel_gather backward: din[idx[i]] += dout[i]   (this is channel_scatter_add, named for the graph)
// channel_scatter_add backward: dr[i] += dy[idx[i]], i < dr.c
void channel_scatter_add_backward(sv_fmap dr, sv_fmap dy, const int *idx);

// pixel shuffle backward: din [4C,H,W] += unshuffle(dout [C,2H,2W])
void pixel_shuffle_backward(float *din, const float *dout, int c_out, int h, int w, int r, int blk);

// avgpool2 backward: din [C,H,W] += dout[C,H/2,W/2] / 4 spread over each 2x2 window (odd last row/col: 0)
void avgpool2_backward(float *din, const float *dout, int c, int h, int w, int blk);

// bilinear resize backward: din [C,H,W] += resize^T(dout [C,OH,OW]), same conventions as the forward
void resize_bilinear_backward(float *din, const float *dout, int c, int h, int w, int oh, int ow,
                              int align_corners, int blk);

// flow warp backward: din [C,H,W] += warp^T(dout) (din may be NULL), dflow [2,H,W] (plain CHW) +=
// d(out)/d(flow) . dout (dflow may be NULL). in and flow are the forward's inputs.
void flow_warp_backward(float *din, float *dflow, const float *dout, const float *in, const float *flow, int c,
                        int h, int w, int padding, int blk);

// ---- Charbonnier loss: L = mean_i sqrt((y_i - t_i)^2 + eps), eps = 1e-12 in BasicVSR ----
// Returns L (accumulated in double). Backward: dy[i] += scale * (y_i - t_i) / sqrt((y_i - t_i)^2 + eps),
// with scale = 1/N_total supplied by the caller (the loss may be a mean over several calls).
double charbonnier_forward(const float *y, const float *t, size_t n, float eps);
void charbonnier_backward(float *dy, const float *y, const float *t, size_t n, float eps, float scale);
