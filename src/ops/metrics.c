// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// metrics.c: PSNR and SSIM (see metrics.h for the protocol).
//
// SSIM filters five planes (a, b, a^2, b^2, ab) with the 11x11 Gaussian. The window is the outer product
// of a 1-D Gaussian, so the 2-D 'valid' correlation is a horizontal pass then a vertical one; the
// horizontal results live in a ring of 11 rows, so memory stays O(w) whatever the frame size.
#include "ops/metrics.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define WIN 11
#define SIGMA 1.5

double sv_psnr_plane(const double *a, const double *b, size_t n) {
    double se = 0;
    for (size_t i = 0; i < n; i++) se += (a[i] - b[i]) * (a[i] - b[i]);
    if (se == 0) return INFINITY;
    return 10.0 * log10(255.0 * 255.0 / (se / (double)n));
}

static void gaussian(double g[WIN]) {
    double s = 0;
    for (int i = 0; i < WIN; i++) {
        double t = i - WIN / 2;
        g[i] = exp(-t * t / (2 * SIGMA * SIGMA));
        s += g[i];
    }
    for (int i = 0; i < WIN; i++) g[i] /= s;
}

double sv_ssim_plane(const double *a, const double *b, int h, int w) {
    const double c1 = (0.01 * 255) * (0.01 * 255), c2 = (0.03 * 255) * (0.03 * 255);
    const int ow = w - WIN + 1, oh = h - WIN + 1;
    double g[WIN];
    gaussian(g);
    // ring[row % WIN][map][x]: horizontally filtered a, b, aa, bb, ab of one input row
    double *ring = malloc(sizeof(double) * WIN * 5 * (size_t)ow);
    if (!ring) return NAN;
    double sum = 0;
    for (int y = 0; y < h; y++) {
        const double *ra = a + (size_t)y * w, *rb = b + (size_t)y * w;
        double *hr = ring + (size_t)(y % WIN) * 5 * ow;
        for (int x = 0; x < ow; x++) {
            double sa = 0, sb = 0, saa = 0, sbb = 0, sab = 0;
            for (int k = 0; k < WIN; k++) {
                double va = ra[x + k], vb = rb[x + k], gk = g[k];
                sa += gk * va, sb += gk * vb;
                saa += gk * va * va, sbb += gk * vb * vb, sab += gk * va * vb;
            }
            hr[x] = sa, hr[ow + x] = sb, hr[2 * ow + x] = saa, hr[3 * ow + x] = sbb, hr[4 * ow + x] = sab;
        }
        if (y < WIN - 1) continue;
        const int y0 = y - WIN + 1;  // the output row whose window ends at input row y
        for (int x = 0; x < ow; x++) {
            double m[5] = {0, 0, 0, 0, 0};
            for (int k = 0; k < WIN; k++) {
                const double *r = ring + (size_t)((y0 + k) % WIN) * 5 * ow + x;
                for (int q = 0; q < 5; q++) m[q] += g[k] * r[q * ow];
            }
            double mu_a = m[0], mu_b = m[1];
            double s_aa = m[2] - mu_a * mu_a, s_bb = m[3] - mu_b * mu_b, s_ab = m[4] - mu_a * mu_b;
            sum += ((2 * mu_a * mu_b + c1) * (2 * s_ab + c2)) /
                   ((mu_a * mu_a + mu_b * mu_b + c1) * (s_aa + s_bb + c2));
        }
    }
    free(ring);
    return sum / ((double)oh * ow);
}

// The measured planes of a [3, h, w] uint8 image: Y (1 plane) or R, G, B, cropped, as doubles.
static void measured(double *dst, const unsigned char *src, int h, int w, int y_only, int crop) {
    const size_t hw = (size_t)h * w;
    const int mh = h - 2 * crop, mw = w - 2 * crop;
    for (int c = 0; c < (y_only ? 1 : 3); c++)
        for (int y = 0; y < mh; y++)
            for (int x = 0; x < mw; x++) {
                size_t p = (size_t)(y + crop) * w + x + crop;
                double v;
                if (y_only)
                    v = 16.0 + 65.481 * (src[p] / 255.0) + 128.553 * (src[hw + p] / 255.0) +
                        24.966 * (src[2 * hw + p] / 255.0);
                else
                    v = src[c * hw + p];
                dst[((size_t)c * mh + y) * mw + x] = v;
            }
}

int sv_metrics_u8(const unsigned char *a, const unsigned char *b, int h, int w, int y_only, int crop,
                  double *psnr, double *ssim, sv_err *e) {
    if (crop < 0) return sv_errf(e, "metrics: negative crop border %d", crop);
    const int mh = h - 2 * crop, mw = w - 2 * crop;
    if (mh < WIN || mw < WIN)
        return sv_errf(e, "metrics: %dx%d frames cropped by %d at each side leave %dx%d, smaller than the "
                          "%dx%d SSIM window", w, h, crop, mw, mh, WIN, WIN);
    const int planes = y_only ? 1 : 3;
    const size_t n = (size_t)planes * mh * mw;
    double *pa = sv_malloc(sizeof(double) * n, e), *pb = pa ? sv_malloc(sizeof(double) * n, e) : NULL;
    if (!pb) {
        free(pa);
        return -1;
    }
    measured(pa, a, h, w, y_only, crop);
    measured(pb, b, h, w, y_only, crop);
    *psnr = sv_psnr_plane(pa, pb, n);
    double s = 0;
    for (int c = 0; c < planes; c++) s += sv_ssim_plane(pa + (size_t)c * mh * mw, pb + (size_t)c * mh * mw, mh, mw);
    *ssim = s / planes;
    free(pa), free(pb);
    if (isnan(*ssim)) return sv_errf(e, "metrics: out of memory for SSIM rows of %d values", mw);
    return 0;
}

int sv_metrics_f32(const float *a, const float *b, int h, int w, int y_only, int crop, double *psnr,
                   double *ssim, sv_err *e) {
    const size_t n = (size_t)3 * h * w;
    unsigned char *qa = sv_malloc(n, e), *qb = qa ? sv_malloc(n, e) : NULL;
    int rc = -1;
    if (qb) {
        sv_quantize_n(qa, a, n);
        sv_quantize_n(qb, b, n);
        rc = sv_metrics_u8(qa, qb, h, w, y_only, crop, psnr, ssim, e);
    }
    free(qa), free(qb);
    return rc;
}
