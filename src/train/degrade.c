// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// degrade.c: the BI and BD degradations that make training LR frames (definitions in degrade.h).
#include "train/degrade.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "model/basicvsr.h"
#include "ops/imresize.h"

// The LR frame is 1/SV_SCALE of the HR one in each direction.
#define BI_FACTOR (1.0 / SV_SCALE)

int sv_degrade_bi(float *out, const float *in, int c, int h, int w, sv_err *e) {
    return sv_imresize_scaled(out, in, c, h, w, BI_FACTOR, BI_FACTOR, sv_imresize_out_len(h, BI_FACTOR),
                              sv_imresize_out_len(w, BI_FACTOR), e);
}

#define BD_RADIUS 6                 // 13 taps
#define BD_SIGMA (0.4 * SV_SCALE)   // 1.6
#define BD_STEP SV_SCALE

static int clampi(int v, int hi) { return v < 0 ? 0 : v > hi ? hi : v; }

// The 2-D Gaussian is the outer product of two 1-D ones, and normalising it equals normalising each
// factor, so the blur runs as two 13-tap passes, each only at the rows/columns that are kept.
int sv_degrade_bd(float *out, const float *in, int c, int h, int w, sv_err *e) {
    if (c < 1 || h < 1 || w < 1) return sv_errf(e, "BD degradation: invalid size %dx%dx%d", c, h, w);
    int oh = (h + BD_STEP - 1) / BD_STEP, ow = (w + BD_STEP - 1) / BD_STEP;
    float g[2 * BD_RADIUS + 1];
    double gd[2 * BD_RADIUS + 1], sum = 0.0;
    for (int i = -BD_RADIUS; i <= BD_RADIUS; i++) sum += gd[i + BD_RADIUS] = exp(-(i * i) / (2.0 * BD_SIGMA * BD_SIGMA));
    for (int i = 0; i < 2 * BD_RADIUS + 1; i++) g[i] = (float)(gd[i] / sum);
    float *tmp = sv_malloc(sizeof(float) * (size_t)c * oh * w, e);
    if (!tmp) return -1;
    for (int ch = 0; ch < c; ch++)
        for (int k = 0; k < oh; k++) {
            float *dst = tmp + ((size_t)ch * oh + k) * w;
            memset(dst, 0, sizeof(float) * w);
            for (int i = -BD_RADIUS; i <= BD_RADIUS; i++) {
                const float *src = in + ((size_t)ch * h + clampi(BD_STEP * k + i, h - 1)) * w;
                for (int x = 0; x < w; x++) dst[x] += g[i + BD_RADIUS] * src[x];
            }
        }
    for (size_t r = 0; r < (size_t)c * oh; r++)
        for (int j = 0; j < ow; j++) {
            float s = 0.0f;
            for (int i = -BD_RADIUS; i <= BD_RADIUS; i++)
                s += g[i + BD_RADIUS] * tmp[r * w + clampi(BD_STEP * j + i, w - 1)];
            out[r * ow + j] = s;
        }
    free(tmp);
    return 0;
}

int sv_degrade(int degradation, float *out, const float *in, int c, int h, int w, sv_err *e) {
    if (degradation == SV_DEG_BI) return sv_degrade_bi(out, in, c, h, w, e);
    if (degradation == SV_DEG_BD) return sv_degrade_bd(out, in, c, h, w, e);
    return sv_errf(e, "unknown degradation %d", degradation);
}

int sv_degrade_u8(int degradation, unsigned char *out, const unsigned char *in, int c, int h, int w, sv_err *e) {
    if (degradation == SV_DEG_BI)
        return sv_imresize_u8(out, in, c, h, w, BI_FACTOR, BI_FACTOR, sv_imresize_out_len(h, BI_FACTOR),
                              sv_imresize_out_len(w, BI_FACTOR), e);
    if (degradation != SV_DEG_BD) return sv_errf(e, "unknown degradation %d", degradation);
    if (c < 1 || h < 1 || w < 1) return sv_errf(e, "BD degradation: invalid size %dx%dx%d", c, h, w);
    size_t on = (size_t)c * ((h + BD_STEP - 1) / BD_STEP) * ((w + BD_STEP - 1) / BD_STEP);
    float *fin = sv_u8_planes_to_float(in, (size_t)c * h * w, e), *fout = fin ? sv_malloc(sizeof(float) * on, e) : NULL;
    int rc = fout ? sv_degrade_bd(fout, fin, c, h, w, e) : -1;
    if (!rc) sv_float_planes_to_u8(out, fout, on);
    free(fin);
    free(fout);
    return rc;
}

const char *sv_degrade_name(int degradation) {
    return degradation == SV_DEG_BI ? "bi" : degradation == SV_DEG_BD ? "bd" : NULL;
}
