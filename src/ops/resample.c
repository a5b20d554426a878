// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// resample.c: pixel shuffle, 2x2 average pooling and bilinear resizing (PyTorch semantics).
#include <stdlib.h>

#include "core/layout.h"
#include "ops/ops.h"

void pixel_shuffle_forward_ref(float *out, const float *in, int c_out, int h, int w, int r, int blk) {
    int oh = h * r, ow = w * r;
#pragma omp parallel for schedule(static)
    for (int c = 0; c < c_out; c++)
        for (int y = 0; y < oh; y++)
            for (int x = 0; x < ow; x++) {
                int ci = c * r * r + (y % r) * r + (x % r);
                out[sv_fmap_index(c, y, x, oh, ow, blk)] = in[sv_fmap_index(ci, y / r, x / r, h, w, blk)];
            }
}

void avgpool2_forward(float *out, const float *in, int c, int h, int w, int blk) {
    int oh = h / 2, ow = w / 2;
#pragma omp parallel for schedule(static)
    for (int ch = 0; ch < c; ch++)
        for (int y = 0; y < oh; y++)
            for (int x = 0; x < ow; x++) {
                float s = in[sv_fmap_index(ch, 2 * y, 2 * x, h, w, blk)] +
                          in[sv_fmap_index(ch, 2 * y, 2 * x + 1, h, w, blk)] +
                          in[sv_fmap_index(ch, 2 * y + 1, 2 * x, h, w, blk)] +
                          in[sv_fmap_index(ch, 2 * y + 1, 2 * x + 1, h, w, blk)];
                out[sv_fmap_index(ch, y, x, oh, ow, blk)] = s * 0.25f;
            }
}

// Source coordinate of output index d along one axis, and the two taps with their weights.
static void bilinear_taps(int d, int in_size, int out_size, int align_corners, int *i0, int *i1,
                          float *w1) {
    float src;
    if (align_corners) {
        float scale = out_size > 1 ? (float)(in_size - 1) / (float)(out_size - 1) : 0.0f;
        src = scale * (float)d;
    } else {
        src = ((float)d + 0.5f) * ((float)in_size / (float)out_size) - 0.5f;
        if (src < 0) src = 0;
    }
    int i = (int)src;
    if (i > in_size - 1) i = in_size - 1;
    *i0 = i;
    *i1 = i < in_size - 1 ? i + 1 : i;
    *w1 = src - (float)i;
}

// Output row y of channel ch into o (its pixels blk apart), with the column taps x0, x1, wx precomputed,
// or computed per pixel when they are NULL.
static void bilinear_row(float *o, const float *in, int ch, int y, int h, int w, int oh, int ow,
                         int align_corners, int blk, const int *x0, const int *x1, const float *wx) {
    int y0, y1;
    float wy;
    bilinear_taps(y, h, oh, align_corners, &y0, &y1, &wy);
    const float *r0 = in + sv_fmap_index(ch, y0, 0, h, w, blk), *r1 = in + sv_fmap_index(ch, y1, 0, h, w, blk);
    for (int x = 0; x < ow; x++) {
        int a0, a1;
        float u;
        if (x0) a0 = x0[x], a1 = x1[x], u = wx[x];
        else bilinear_taps(x, w, ow, align_corners, &a0, &a1, &u);
        const float a = r0[(size_t)a0 * blk], b = r0[(size_t)a1 * blk], cc = r1[(size_t)a0 * blk],
                    d = r1[(size_t)a1 * blk];
        o[(size_t)x * blk] = (1 - wy) * ((1 - u) * a + u * b) + wy * ((1 - u) * cc + u * d);
    }
}

// The column taps are computed once per call (computed per pixel, the x4 base of a 180x320 frame took
// 10 ms); without memory for them, per pixel as before.
void resize_bilinear_forward(float *out, const float *in, int c, int h, int w, int oh, int ow,
                             int align_corners, int blk) {
    resize_bilinear_rows(out, in, c, h, w, oh, ow, 0, oh, align_corners, blk);
}

void resize_bilinear_rows(float *out, const float *in, int c, int h, int w, int oh, int ow, int y0, int rows,
                          int align_corners, int blk) {
    int *x0 = malloc((size_t)ow * 2 * sizeof(int));
    float *wx = x0 ? malloc((size_t)ow * sizeof(float)) : NULL;
    if (!wx) free(x0), x0 = NULL;
    for (int x = 0; x0 && x < ow; x++) bilinear_taps(x, w, ow, align_corners, &x0[x], &x0[ow + x], &wx[x]);
#pragma omp parallel for collapse(2) schedule(static)
    for (int ch = 0; ch < c; ch++)
        for (int y = 0; y < rows; y++)
            bilinear_row(out + sv_fmap_index(ch, y, 0, rows, ow, blk), in, ch, y0 + y, h, w, oh, ow, align_corners,
                         blk, x0, x0 ? x0 + ow : NULL, wx);
    free(x0);
    free(wx);
}

// The same shuffle a row of whole channel blocks at a time, so that each output cache line is written once
// (walking one channel at a time wrote every line blk times, in blk passes over the map). Output lane l of
// block cb at (Y, X) = (r*y + i, r*x + j) is input channel s = r*r*(cb*blk + l) + r*i + j at (y, x): its
// offset at x = 0 is computed once per row for every (j, l).
enum { MAX_SHUFFLE = 4 };

void pixel_shuffle_forward(float *out, const float *in, int c_out, int h, int w, int r, int blk) {
    if (r > MAX_SHUFFLE) {
        pixel_shuffle_forward_ref(out, in, c_out, h, w, r, blk);
        return;
    }
    const int oh = h * r, ow = w * r, nb = sv_cpad(c_out, blk) / blk;
#pragma omp parallel for collapse(2) schedule(static)
    for (int cb = 0; cb < nb; cb++)
        for (int Y = 0; Y < oh; Y++) {
            const int y = Y / r, i = Y % r, nl = c_out - cb * blk < blk ? c_out - cb * blk : blk;
            size_t off[MAX_SHUFFLE][SV_MAX_BLK];
            for (int j = 0; j < r; j++)
                for (int l = 0; l < nl; l++)
                    off[j][l] = sv_fmap_index((cb * blk + l) * r * r + i * r + j, y, 0, h, w, blk);
            float *dst = out + sv_fmap_index(cb * blk, Y, 0, oh, ow, blk);
            for (int X = 0; X < ow; X++) {
                const size_t at = (size_t)(X / r) * blk;
                const size_t *o = off[X % r];
                float *d = dst + (size_t)X * blk;
                for (int l = 0; l < nl; l++) d[l] = in[o[l] + at];
                for (int l = nl; l < blk; l++) d[l] = 0.0f;  // the blocked layout's padding channels
            }
        }
}

// ---- backward ----
// The resampling backwards are scatters (several outputs read one input), so they split the work by
// channel: each thread owns whole channels of din and no two threads write the same element.

// Per block sb of din's channels and input row y (so no two threads write one element, and each line of
// din is read and written once): lane m is channel s = sb*blk + m = r*r*c + r*i + j, which gets output
// channel c at (r*y + i, r*x + j).
void pixel_shuffle_backward(float *din, const float *dout, int c_out, int h, int w, int r, int blk) {
    const int oh = h * r, ow = w * r, cin = c_out * r * r, nb = sv_cpad(cin, blk) / blk;
#pragma omp parallel for collapse(2) schedule(static)
    for (int sb = 0; sb < nb; sb++)
        for (int y = 0; y < h; y++) {
            const int nl = cin - sb * blk < blk ? cin - sb * blk : blk;  // padding lanes stay as they are
            size_t off[SV_MAX_BLK];
            for (int m = 0; m < nl; m++) {
                const int s = sb * blk + m, c = s / (r * r), i = s % (r * r) / r, j = s % r;
                off[m] = sv_fmap_index(c, r * y + i, j, oh, ow, blk);
            }
            float *dst = din + sv_fmap_index(sb * blk, y, 0, h, w, blk);
            for (int x = 0; x < w; x++) {
                const size_t at = (size_t)x * r * blk;
                float *d = dst + (size_t)x * blk;
                for (int m = 0; m < nl; m++) d[m] += dout[off[m] + at];
            }
        }
}

void avgpool2_backward(float *din, const float *dout, int c, int h, int w, int blk) {
    int oh = h / 2, ow = w / 2;
#pragma omp parallel for schedule(static)
    for (int ch = 0; ch < c; ch++)
        for (int y = 0; y < oh; y++)
            for (int x = 0; x < ow; x++) {
                float g = 0.25f * dout[sv_fmap_index(ch, y, x, oh, ow, blk)];
                din[sv_fmap_index(ch, 2 * y, 2 * x, h, w, blk)] += g;
                din[sv_fmap_index(ch, 2 * y, 2 * x + 1, h, w, blk)] += g;
                din[sv_fmap_index(ch, 2 * y + 1, 2 * x, h, w, blk)] += g;
                din[sv_fmap_index(ch, 2 * y + 1, 2 * x + 1, h, w, blk)] += g;
            }
}

void resize_bilinear_backward(float *din, const float *dout, int c, int h, int w, int oh, int ow,
                              int align_corners, int blk) {
    // Work unit: one channel block (blk > 1: its channels share cache lines) or one channel (blk = 1).
    const int nb = (c + blk - 1) / blk;
    const size_t hw = (size_t)h * w, ohw = (size_t)oh * ow;
#pragma omp parallel for schedule(static)
    for (int b = 0; b < nb; b++) {
        const int nk = c - b * blk < blk ? c - b * blk : blk;  // real channels of this block
        float *db = din + (size_t)b * hw * blk;
        const float *gb = dout + (size_t)b * ohw * blk;
        for (int y = 0; y < oh; y++) {
            int y0, y1;
            float wy;
            bilinear_taps(y, h, oh, align_corners, &y0, &y1, &wy);
            float *r0 = db + (size_t)y0 * w * blk, *r1 = db + (size_t)y1 * w * blk;
            for (int x = 0; x < ow; x++) {
                int x0, x1;
                float wx;
                bilinear_taps(x, w, ow, align_corners, &x0, &x1, &wx);
                // At the clamped edge x1 == x0 (or y1 == y0): both taps land on one pixel and add up,
                // as the forward's weights do.
                const float w00 = (1 - wy) * (1 - wx), w01 = (1 - wy) * wx, w10 = wy * (1 - wx), w11 = wy * wx;
                const float *g = gb + ((size_t)y * ow + x) * blk;
                float *d00 = r0 + (size_t)x0 * blk, *d01 = r0 + (size_t)x1 * blk, *d10 = r1 + (size_t)x0 * blk,
                      *d11 = r1 + (size_t)x1 * blk;
                for (int k = 0; k < nk; k++) {
                    d00[k] += w00 * g[k];
                    d01[k] += w01 * g[k];
                    d10[k] += w10 * g[k];
                    d11[k] += w11 * g[k];
                }
            }
        }
    }
}
