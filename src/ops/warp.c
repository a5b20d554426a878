// warp.c: flow warping = grid_sample(in, base_grid + flow, bilinear, align_corners=True), as in BasicSR's
// flow_warp. Per output pixel the four taps and weights are computed once, then applied to every
// channel (ncnn's grid-sample strategy).
#include <math.h>

#include "core/layout.h"
#include "ops/ops.h"

void flow_warp_forward(float *out, const float *in, const float *flow, int c, int h, int w, int padding,
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
