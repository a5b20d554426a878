// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// imresize.c: MATLAB-exact bicubic imresize, on float and on uint8 planes (definitions in imresize.h).
#include "ops/imresize.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

// Keys cubic, a = -0.5 (MATLAB's "bicubic").
static double cubic(double x) {
    double a = fabs(x), a2 = a * a, a3 = a2 * a;
    if (a <= 1.0) return 1.5 * a3 - 2.5 * a2 + 1.0;
    if (a <= 2.0) return -0.5 * a3 + 2.5 * a2 - 4.0 * a + 2.0;
    return 0.0;
}

// Reflects any integer index into [0, n) with the edge repeated: ... 1 0 | 0 1 ... n-1 | n-1 n-2 ...
static int reflect(long long t, int n) {
    long long p = 2LL * n, m = t % p;
    if (m < 0) m += p;
    return (int)(m < n ? m : p - 1 - m);
}

// One dimension's weights: output sample o reads in[idx[o * taps + j]] with weight w[o * taps + j].
typedef struct {
    int taps;
    int *idx;
    float *w;
} contrib;

static void contrib_free(contrib *c) {
    free(c->idx);
    free(c->w);
}

static int contrib_make(contrib *c, int n_in, int n_out, double scale, sv_err *e) {
    int shrink = scale < 1.0;
    double width = shrink ? 4.0 / scale : 4.0;
    c->taps = (int)ceil(width) + 2;
    c->idx = sv_malloc(sizeof(int) * (size_t)n_out * c->taps, e);
    c->w = c->idx ? sv_malloc(sizeof(float) * (size_t)n_out * c->taps, e) : NULL;
    double *wd = c->w ? sv_malloc(sizeof(double) * c->taps, e) : NULL;
    if (!wd) {
        contrib_free(c);
        return -1;
    }
    for (int o = 0; o < n_out; o++) {
        double centre = (o + 0.5) / scale - 0.5, sum = 0.0;
        long long left = (long long)floor(centre - width / 2.0);
        for (int j = 0; j < c->taps; j++) {
            double d = centre - (double)(left + j);
            wd[j] = shrink ? scale * cubic(scale * d) : cubic(d);
            sum += wd[j];
        }
        for (int j = 0; j < c->taps; j++) {
            c->idx[(size_t)o * c->taps + j] = reflect(left + j, n_in);
            c->w[(size_t)o * c->taps + j] = (float)(wd[j] / sum);
        }
    }
    free(wd);
    return 0;
}

// in: c x h x w -> out: c x oh x w (rows combined whole, so the inner loop runs along contiguous rows).
static void resize_rows(float *out, const float *in, int c, int h, int w, int oh, const contrib *k) {
    for (int ch = 0; ch < c; ch++)
        for (int o = 0; o < oh; o++) {
            float *dst = out + ((size_t)ch * oh + o) * w;
            memset(dst, 0, sizeof(float) * w);
            for (int j = 0; j < k->taps; j++) {
                float wt = k->w[(size_t)o * k->taps + j];
                if (wt == 0.0f) continue;
                const float *src = in + ((size_t)ch * h + k->idx[(size_t)o * k->taps + j]) * w;
                for (int x = 0; x < w; x++) dst[x] += wt * src[x];
            }
        }
}

// in: c x h x w -> out: c x h x ow.
static void resize_cols(float *out, const float *in, int c, int h, int w, int ow, const contrib *k) {
    for (size_t r = 0; r < (size_t)c * h; r++) {
        const float *src = in + r * w;
        float *dst = out + r * ow;
        for (int o = 0; o < ow; o++) {
            const int *idx = k->idx + (size_t)o * k->taps;
            const float *wt = k->w + (size_t)o * k->taps;
            float s = 0.0f;
            for (int j = 0; j < k->taps; j++) s += wt[j] * src[idx[j]];
            dst[o] = s;
        }
    }
}

int sv_imresize_out_len(int n, double scale) { return (int)ceil(scale * n); }

// MATLAB's uint8 path: a value is saturated to [0, 1] and rounded to a multiple of 1/255 (half away from
// zero, which for non-negative values is half up).
static void round8(float *x, size_t n) {
    for (size_t i = 0; i < n; i++) {
        float v = x[i] * 255.0f;
        v = v < 0.0f ? 0.0f : v > 255.0f ? 255.0f : v;
        x[i] = (float)(int)(v + 0.5f) * (1.0f / 255.0f);
    }
}

// Both dimensions; with u8, the intermediate image is rounded as MATLAB rounds it for uint8 input.
static int resize2(float *out, const float *in, int c, int h, int w, double sy, double sx, int oh, int ow, int u8,
                   sv_err *e) {
    if (c < 1 || h < 1 || w < 1 || oh < 1 || ow < 1 || !(sy > 0.0) || !(sx > 0.0))
        return sv_errf(e, "imresize: invalid sizes %dx%dx%d -> %dx%d (scales %g, %g)", c, h, w, oh, ow, sy, sx);
    contrib ky = {0}, kx = {0};
    if (contrib_make(&ky, h, oh, sy, e)) return -1;
    if (contrib_make(&kx, w, ow, sx, e)) {
        contrib_free(&ky);
        return -1;
    }
    // MATLAB resizes along the dimension with the smaller scale first (rows on a tie). In exact
    // arithmetic the order does not matter; it does with the uint8 rounding in between.
    int rows_first = sy <= sx;
    size_t mid = rows_first ? (size_t)c * oh * w : (size_t)c * h * ow;
    float *tmp = sv_malloc(sizeof(float) * mid, e);
    if (tmp) {
        if (rows_first) resize_rows(tmp, in, c, h, w, oh, &ky);
        else resize_cols(tmp, in, c, h, w, ow, &kx);
        if (u8) round8(tmp, mid);
        if (rows_first) resize_cols(out, tmp, c, oh, w, ow, &kx);
        else resize_rows(out, tmp, c, h, ow, oh, &ky);
    }
    free(tmp);
    contrib_free(&ky);
    contrib_free(&kx);
    return tmp ? 0 : -1;
}

int sv_imresize_scaled(float *out, const float *in, int c, int h, int w, double sy, double sx, int oh, int ow,
                       sv_err *e) {
    return resize2(out, in, c, h, w, sy, sx, oh, ow, 0, e);
}

int sv_imresize(float *out, const float *in, int c, int h, int w, int oh, int ow, sv_err *e) {
    return sv_imresize_scaled(out, in, c, h, w, (double)oh / h, (double)ow / w, oh, ow, e);
}

float *sv_u8_planes_to_float(const unsigned char *in, size_t n, sv_err *e) {
    float *f = sv_malloc(sizeof(float) * n, e);
    if (f)
        for (size_t i = 0; i < n; i++) f[i] = in[i] * (1.0f / 255.0f);
    return f;
}

void sv_float_planes_to_u8(unsigned char *out, const float *x, size_t n) {
    for (size_t i = 0; i < n; i++) {
        float v = x[i] * 255.0f;
        v = v < 0.0f ? 0.0f : v > 255.0f ? 255.0f : v;
        out[i] = (unsigned char)(v + 0.5f);
    }
}

int sv_imresize_u8(unsigned char *out, const unsigned char *in, int c, int h, int w, double sy, double sx, int oh,
                   int ow, sv_err *e) {
    if (c < 1 || h < 1 || w < 1 || oh < 1 || ow < 1)
        return sv_errf(e, "imresize: invalid sizes %dx%dx%d -> %dx%d", c, h, w, oh, ow);
    float *fin = sv_u8_planes_to_float(in, (size_t)c * h * w, e), *fout = fin ? sv_malloc(sizeof(float) * c * oh * ow, e) : NULL;
    int rc = fout ? resize2(fout, fin, c, h, w, sy, sx, oh, ow, 1, e) : -1;
    if (!rc) sv_float_planes_to_u8(out, fout, (size_t)c * oh * ow);
    free(fin);
    free(fout);
    return rc;
}
