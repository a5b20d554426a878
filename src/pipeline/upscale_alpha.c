// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// upscale_alpha.c: the alpha plane of a frame, upscaled by bicubic and re-attached (upscale_alpha.h).
#include "pipeline/upscale_alpha.h"

#include <stdlib.h>

#include "model/basicvsr.h"
#include "ops/imresize.h"
#include "ops/pixels.h"

int sv_alpha_attach_init(sv_alpha_attach *t, int w, int h, sv_err *e) {
    const size_t n = (size_t)w * h, n4 = n * SV_SCALE * SV_SCALE;
    *t = (sv_alpha_attach){.a = malloc(n), .up = malloc(n4 * sizeof(float)), .rgb = malloc(n4 * 3),
                           .a4 = malloc(n4), .w = w, .h = h};
    if (t->a && t->up && t->rgb && t->a4) return 0;
    sv_alpha_attach_free(t);
    return sv_errf(e, "out of memory for the alpha planes of %dx%d frames", w, h);
}

int sv_alpha_attach_frame(sv_alpha_attach *t, const sv_frame_reader *rd, const char *name, const float *chw,
                          unsigned char *rgba, sv_err *e) {
    const int w4 = SV_SCALE * t->w, h4 = SV_SCALE * t->h;
    const size_t n4 = (size_t)w4 * h4;
    if (sv_frames_read_alpha(rd, name, t->a, e)) return -1;
    float *in = sv_u8_planes_to_float(t->a, (size_t)t->w * t->h, e);
    const int rc = in ? sv_imresize_scaled(t->up, in, 1, t->h, t->w, SV_SCALE, SV_SCALE, h4, w4, e) : -1;
    free(in);
    if (rc) return -1;
    sv_quantize_n(t->a4, t->up, n4);
    sv_chw_to_rgb(t->rgb, chw, h4, w4);
    for (size_t i = 0; i < n4; i++) {
        rgba[i * 4] = t->rgb[i * 3], rgba[i * 4 + 1] = t->rgb[i * 3 + 1], rgba[i * 4 + 2] = t->rgb[i * 3 + 2];
        rgba[i * 4 + 3] = t->a4[i];
    }
    return 0;
}

void sv_alpha_attach_free(sv_alpha_attach *t) {
    free(t->a), free(t->up), free(t->rgb), free(t->a4);
    *t = (sv_alpha_attach){0};
}
