// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// upscale_alpha.c: the alpha plane of a frame, upscaled by bicubic and re-attached (upscale_alpha.h).
#include "pipeline/upscale_alpha.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "model/basicvsr.h"
#include "ops/imresize.h"
#include "ops/pixels.h"

size_t sv_alpha_attach_bytes(int w, int h, int bits) {
    const size_t n = (size_t)w * h, n4 = n * SV_SCALE * SV_SCALE, b = bits == 16 ? 2 : 1;
    return n * b + n * sizeof(float) + n4 * sizeof(float) + n4 * 3 * b + n4 * b;  // the buffers of init
}

int sv_alpha_attach_init(sv_alpha_attach *t, int w, int h, int bits, sv_err *e) {
    const size_t n = (size_t)w * h, n4 = n * SV_SCALE * SV_SCALE, b = bits == 16 ? 2 : 1;
    *t = (sv_alpha_attach){.a = malloc(n * b), .in = malloc(n * sizeof(float)), .up = malloc(n4 * sizeof(float)),
                           .rgb = malloc(n4 * 3 * b), .a4 = malloc(n4 * b), .w = w, .h = h, .bits = bits == 16 ? 16 : 8};
    if (t->a && t->in && t->up && t->rgb && t->a4) return 0;
    sv_alpha_attach_free(t);
    return sv_errf(e, "out of memory for the alpha planes of %dx%d frames", w, h);
}

// The input's alpha samples as floats in [0, 1], as the colour is read (ops/pixels.h).
static void alpha_to_float(const sv_alpha_attach *t) {
    const size_t n = (size_t)t->w * t->h;
    for (size_t i = 0; i < n; i++)
        t->in[i] = t->bits == 16 ? (float)((const uint16_t *)t->a)[i] * (1.0f / 65535.0f)
                                 : (float)t->a[i] * (1.0f / 255.0f);
}

// The colour and the alpha into rgba, sample by sample (b bytes each).
static void interleave(unsigned char *rgba, const unsigned char *rgb, const unsigned char *a, size_t n, size_t b) {
    for (size_t i = 0; i < n; i++) {
        memcpy(rgba + i * 4 * b, rgb + i * 3 * b, 3 * b);
        memcpy(rgba + (i * 4 + 3) * b, a + i * b, b);
    }
}

int sv_alpha_attach_band(sv_alpha_attach *t, const sv_frame_reader *rd, const char *name, int y0, int rows,
                         const float *chw, void *rgba, sv_err *e) {
    const int w4 = SV_SCALE * t->w, h4 = SV_SCALE * t->h;
    const size_t n4 = (size_t)w4 * h4, at = (size_t)y0 * w4, n = (size_t)rows * w4, b = (size_t)t->bits / 8;
    if (y0 == 0) {  // the frame's first band: its alpha plane
        if (sv_frames_read_alpha(rd, name, t->a, t->bits, e)) return -1;
        alpha_to_float(t);
        if (sv_imresize_scaled(t->up, t->in, 1, t->h, t->w, SV_SCALE, SV_SCALE, h4, w4, e)) return -1;
        if (t->bits == 16) sv_quantize_n16((uint16_t *)t->a4, t->up, n4);
        else sv_quantize_n(t->a4, t->up, n4);
    }
    if (t->bits == 16) sv_chw_to_rgb16((uint16_t *)t->rgb, chw, rows, w4);
    else sv_chw_to_rgb(t->rgb, chw, rows, w4);
    interleave((unsigned char *)rgba + at * 4 * b, t->rgb, t->a4 + at * b, n, b);
    return 0;
}

void sv_alpha_attach_free(sv_alpha_attach *t) {
    free(t->a), free(t->in), free(t->up), free(t->rgb), free(t->a4);
    *t = (sv_alpha_attach){0};
}
