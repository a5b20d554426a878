// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// warp.c: flow warping = grid_sample(in, base_grid + flow, bilinear, align_corners=True), as in BasicSR's
// flow_warp. Per output pixel the four taps and weights are computed once, then applied to every
// channel (ncnn's grid-sample strategy). flow_warp_forward_ref indexes every element through the layout
// formula; flow_warp_forward computes the same taps (warp_taps) and walks whole channel blocks.
#include <math.h>
#include <omp.h>
#include <string.h>

#include "core/layout.h"
#include "ops/ops.h"

void flow_warp_forward_ref(float *out, const float *in, const float *flow, int c, int h, int w, int padding,
                           int blk) {
    size_t hw = (size_t)h * w;
#pragma omp parallel for schedule(static)
    for (int y = 0; y < h; y++) {
        for (int x = 0; x < w; x++) {
            float sx = (float)x + flow[(size_t)y * w + x];
            float sy = (float)y + flow[hw + (size_t)y * w + x];
            if (padding == SV_PAD_BORDER) {
                sx = fminf(fmaxf(sx, 0.0f), (float)(w - 1));
                sy = fminf(fmaxf(sy, 0.0f), (float)(h - 1));
            }
            // NaN flow samples nothing (all taps invalid), like an out-of-range coordinate.
            float fx0 = floorf(sx), fy0 = floorf(sy);
            float ax = sx - fx0, ay = sy - fy0;
            int x0 = 0, y0 = 0;
            int ok = sx == sx && sy == sy && fx0 > -2.0f && fy0 > -2.0f && fx0 < (float)w && fy0 < (float)h;
            if (ok) {
                x0 = (int)fx0;
                y0 = (int)fy0;
            }
            int xs[4] = {x0, x0 + 1, x0, x0 + 1}, ys[4] = {y0, y0, y0 + 1, y0 + 1};
            float ws[4] = {(1 - ax) * (1 - ay), ax * (1 - ay), (1 - ax) * ay, ax * ay};
            for (int t = 0; t < 4; t++)
                if (!ok || xs[t] < 0 || xs[t] >= w || ys[t] < 0 || ys[t] >= h) ws[t] = 0, xs[t] = 0, ys[t] = 0;
            for (int ch = 0; ch < c; ch++) {
                float v = 0;
                for (int t = 0; t < 4; t++) v += ws[t] * in[sv_fmap_index(ch, ys[t], xs[t], h, w, blk)];
                out[sv_fmap_index(ch, y, x, h, w, blk)] = v;
            }
        }
    }
}

// Taps of output pixel (x, y): offsets of the four input pixels (in pixels, y * w + x) and their weights;
// taps outside the image get weight 0 and offset 0.
static inline void warp_taps(int x, int y, int h, int w, float fx, float fy, int padding, size_t off[4],
                             float wt[4]) {
    float sx = (float)x + fx, sy = (float)y + fy;
    if (padding == SV_PAD_BORDER) {
        sx = fminf(fmaxf(sx, 0.0f), (float)(w - 1));
        sy = fminf(fmaxf(sy, 0.0f), (float)(h - 1));
    }
    float fx0 = floorf(sx), fy0 = floorf(sy);
    float ax = sx - fx0, ay = sy - fy0;
    int ok = sx == sx && sy == sy && fx0 > -2.0f && fy0 > -2.0f && fx0 < (float)w && fy0 < (float)h;
    int x0 = ok ? (int)fx0 : 0, y0 = ok ? (int)fy0 : 0;
    int xs[4] = {x0, x0 + 1, x0, x0 + 1}, ys[4] = {y0, y0, y0 + 1, y0 + 1};
    float ws[4] = {(1 - ax) * (1 - ay), ax * (1 - ay), (1 - ax) * ay, ax * ay};
    for (int t = 0; t < 4; t++) {
        int in = ok && xs[t] >= 0 && xs[t] < w && ys[t] >= 0 && ys[t] < h;
        wt[t] = in ? ws[t] : 0.0f;
        off[t] = in ? (size_t)ys[t] * w + xs[t] : 0;
    }
}

void flow_warp_forward(float *out, const float *in, const float *flow, int c, int h, int w, int padding,
                       int blk) {
    const size_t hw = (size_t)h * w;
    const int nb = (c + blk - 1) / blk;  // channel blocks; padding channels are warped zeros
#pragma omp parallel for schedule(static)
    for (int y = 0; y < h; y++) {
        for (int x = 0; x < w; x++) {
            size_t off[4];
            float wt[4];
            const size_t p = (size_t)y * w + x;
            warp_taps(x, y, h, w, flow[p], flow[hw + p], padding, off, wt);
            for (int b = 0; b < nb; b++) {
                const float *ib = in + (size_t)b * hw * blk;
                float *o = out + ((size_t)b * hw + p) * blk;
                const float *a0 = ib + off[0] * blk, *a1 = ib + off[1] * blk, *a2 = ib + off[2] * blk,
                            *a3 = ib + off[3] * blk;
                const int n = blk == 1 ? 1 : blk;
                for (int k = 0; k < n; k++) o[k] = wt[0] * a0[k] + wt[1] * a1[k] + wt[2] * a2[k] + wt[3] * a3[k];
            }
        }
    }
}

// ---- backward ----

// Everything the backward needs about one output pixel: warp_taps' taps plus the fractional parts
// (ax, ay) and d(sampled coordinate)/d(flow) per axis (gx, gy). Border padding clamps the coordinate;
// like PyTorch (clip_coordinates_set_grad), a clamped coordinate, including one exactly on the border,
// passes no gradient to the flow. any = 0 when no tap is valid (then nothing flows back).
typedef struct {
    size_t off[4];
    float wt[4], ax, ay, gx, gy;
    int valid[4], any;
} warp_grad_taps;

static inline void warp_taps_grad(int x, int y, int h, int w, float fx, float fy, int padding,
                                  warp_grad_taps *tp) {
    float sx = (float)x + fx, sy = (float)y + fy;
    tp->gx = 1.0f, tp->gy = 1.0f;
    if (padding == SV_PAD_BORDER) {
        tp->gx = sx > 0.0f && sx < (float)(w - 1) ? 1.0f : 0.0f;
        tp->gy = sy > 0.0f && sy < (float)(h - 1) ? 1.0f : 0.0f;
        sx = fminf(fmaxf(sx, 0.0f), (float)(w - 1));
        sy = fminf(fmaxf(sy, 0.0f), (float)(h - 1));
    }
    float fx0 = floorf(sx), fy0 = floorf(sy);
    float ax = sx - fx0, ay = sy - fy0;
    tp->ax = ax, tp->ay = ay;
    int ok = sx == sx && sy == sy && fx0 > -2.0f && fy0 > -2.0f && fx0 < (float)w && fy0 < (float)h;
    int x0 = ok ? (int)fx0 : 0, y0 = ok ? (int)fy0 : 0;
    int xs[4] = {x0, x0 + 1, x0, x0 + 1}, ys[4] = {y0, y0, y0 + 1, y0 + 1};
    float ws[4] = {(1 - ax) * (1 - ay), ax * (1 - ay), (1 - ax) * ay, ax * ay};
    tp->any = 0;
    for (int t = 0; t < 4; t++) {
        tp->valid[t] = ok && xs[t] >= 0 && xs[t] < w && ys[t] >= 0 && ys[t] < h;
        tp->wt[t] = tp->valid[t] ? ws[t] : 0.0f;
        tp->off[t] = tp->valid[t] ? (size_t)ys[t] * w + xs[t] : 0;
        tp->any |= tp->valid[t];
    }
}

// y[k] += a * x[k] and acc[k] += x[k] * z[k] for the n real channels of one block. The full blocks of the
// blocked layouts get fixed-width loops, which the compiler turns into vector operations.
static inline void lanes_axpy(float *restrict y, const float *restrict x, float a, int n) {
    if (n == 8) {
        for (int k = 0; k < 8; k++) y[k] += a * x[k];
    } else if (n == 16) {
        for (int k = 0; k < 16; k++) y[k] += a * x[k];
    } else {
        for (int k = 0; k < n; k++) y[k] += a * x[k];
    }
}


// Pixels per tile: the taps of a run of pixels along a row are computed once, then applied block by block.
// Walking all channel blocks of one pixel at a time would touch addresses H*W*blk floats apart, a power of
// two for the usual sizes, which all fall into the same cache sets.
#define WARP_TILE 32

void flow_warp_backward(float *din, float *dflow, const float *dout, const float *in, const float *flow, int c,
                        int h, int w, int padding, int blk) {
    const size_t hw = (size_t)h * w;
    const int nb = (c + blk - 1) / blk;
    // d/d(in): a scatter (several outputs sample one input pixel), so each thread owns a contiguous range
    // of channel blocks (single channels when blk = 1) and no two threads write the same element of din.
    if (din) {
#pragma omp parallel
        {
            const int nt = omp_get_num_threads(), tid = omp_get_thread_num();
            const int b0 = (int)((long)nb * tid / nt), b1 = (int)((long)nb * (tid + 1) / nt);
            warp_grad_taps tp[WARP_TILE];
            for (int y = 0; y < h && b0 < b1; y++)
                for (int xt = 0; xt < w; xt += WARP_TILE) {
                    const int nx = w - xt < WARP_TILE ? w - xt : WARP_TILE;
                    const size_t p0 = (size_t)y * w + xt;
                    for (int i = 0; i < nx; i++)
                        warp_taps_grad(xt + i, y, h, w, flow[p0 + i], flow[hw + p0 + i], padding, &tp[i]);
                    for (int b = b0; b < b1; b++) {
                        const int nk = c - b * blk < blk ? c - b * blk : blk;  // real channels of this block
                        float *db = din + (size_t)b * hw * blk;
                        const float *gb = dout + ((size_t)b * hw + p0) * blk;
                        for (int i = 0; i < nx; i++)
                            for (int t = 0; t < 4; t++)
                                if (tp[i].valid[t])
                                    lanes_axpy(db + tp[i].off[t] * blk, gb + (size_t)i * blk, tp[i].wt[t], nk);
                    }
                }
        }
    }
    // d/d(flow): out = sum_t w_t(ax, ay) in_t, so d out/d ax = (1-ay)(in_1 - in_0) + ay (in_3 - in_2) and
    // d out/d ay = (1-ax)(in_2 - in_0) + ax (in_3 - in_1), with invalid taps reading zero. The differences
    // are taken per channel before the sum over channels: summing dout * in_t per tap first and subtracting
    // the sums afterwards cancels catastrophically for smooth features (measured: ~1e-3 relative error in
    // SPyNet's gradients against float64). Each pixel writes only its own two flow entries, so threads
    // split the rows.
    if (dflow) {
        const int lanes = blk < 16 ? blk : 16;
#pragma omp parallel for schedule(static)
        for (int y = 0; y < h; y++) {
            warp_grad_taps tp[WARP_TILE];
            float accx[WARP_TILE][16], accy[WARP_TILE][16];  // per pixel and lane: partial sums
            for (int xt = 0; xt < w; xt += WARP_TILE) {
                const int nx = w - xt < WARP_TILE ? w - xt : WARP_TILE;
                const size_t p0 = (size_t)y * w + xt;
                for (int i = 0; i < nx; i++)
                    warp_taps_grad(xt + i, y, h, w, flow[p0 + i], flow[hw + p0 + i], padding, &tp[i]);
                memset(accx, 0, sizeof accx);
                memset(accy, 0, sizeof accy);
                for (int b = 0; b < nb; b++) {
                    const int nk = c - b * blk < lanes ? c - b * blk : lanes;
                    const float *ib = in + (size_t)b * hw * blk, *gb = dout + ((size_t)b * hw + p0) * blk;
                    for (int i = 0; i < nx; i++) {
                        if (!tp[i].any) continue;
                        const float ax = tp[i].ax, ay = tp[i].ay, *g = gb + (size_t)i * blk;
                        const float *v[4];
                        for (int t = 0; t < 4; t++) v[t] = tp[i].valid[t] ? ib + tp[i].off[t] * blk : NULL;
                        for (int k = 0; k < nk; k++) {
                            const float v0 = v[0] ? v[0][k] : 0.0f, v1 = v[1] ? v[1][k] : 0.0f;
                            const float v2 = v[2] ? v[2][k] : 0.0f, v3 = v[3] ? v[3][k] : 0.0f;
                            accx[i][k] += g[k] * ((1 - ay) * (v1 - v0) + ay * (v3 - v2));
                            accy[i][k] += g[k] * ((1 - ax) * (v2 - v0) + ax * (v3 - v1));
                        }
                    }
                }
                for (int i = 0; i < nx; i++) {
                    if (!tp[i].any) continue;
                    float sx = 0, sy = 0;
                    for (int k = 0; k < lanes; k++) sx += accx[i][k], sy += accy[i][k];
                    dflow[p0 + i] += tp[i].gx * sx;
                    dflow[hw + p0 + i] += tp[i].gy * sy;
                }
            }
        }
    }
}
