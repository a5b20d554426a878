// warp.c: flow warping = grid_sample(in, base_grid + flow, bilinear, align_corners=True), as in BasicSR's
// flow_warp. Per output pixel the four taps and weights are computed once, then applied to every
// channel (ncnn's grid-sample strategy). flow_warp_forward_ref indexes every element through the layout
// formula; flow_warp_forward computes the same taps (warp_taps) and walks whole channel blocks.
#include <math.h>

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
