// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// bicubic_runner.c: the bicubic baseline as a runner (runner.h): each output frame is MATLAB's
// imresize(x, SV_SCALE) of its input frame alone (ops/imresize.h), so that upscale and eval measure it
// exactly as they measure a model.
#include <stdlib.h>

#include "model/runner_internal.h"
#include "ops/imresize.h"

typedef struct {
    sv_runner base;
    int h, w;
    float *out;  // [3, SV_SCALE h, SV_SCALE w]
} bicubic_runner;

static size_t out_floats(int h, int w) { return (size_t)3 * SV_SCALE * h * SV_SCALE * w; }

static int run_chunk(sv_runner *base, const float *const *frames, int n, int n_emit, const float *prev,
                     sv_output_fn out, void *ud, sv_err *e) {
    bicubic_runner *r = (bicubic_runner *)base;
    const int h = r->h, w = r->w;
    for (int i = 0; i < n_emit; i++)
        if (sv_imresize_scaled(r->out, frames[i], 3, h, w, SV_SCALE, SV_SCALE, SV_SCALE * h, SV_SCALE * w, e) ||
            out(ud, i, 0, SV_SCALE * h, r->out, e))
            return -1;
    return 0;
}

static int warm_up(sv_runner *base, const float *const *frames, int n, const float *prev, sv_err *e) {
    (void)base, (void)frames, (void)n, (void)prev, (void)e;
    return 0;  // each output frame is its input frame's alone: nothing to carry
}

static void free_runner(sv_runner *base) {
    bicubic_runner *r = (bicubic_runner *)base;
    free(r->out);
    free(r);
}

static const sv_runner_impl bicubic_impl = {run_chunk, warm_up, free_runner, NULL, NULL, NULL};

// One output frame, plus imresize's intermediate and its tap tables (as much again).
void sv_bicubic_runner_estimate(int h, int w, size_t *fixed, size_t *per_frame) {
    *fixed = out_floats(h, w) * sizeof(float) * 2;
    *per_frame = 0;
}

sv_runner *sv_bicubic_runner_create(int h, int w, int max_frames, sv_err *e) {
    if (h < 1 || w < 1 || max_frames < 1) {
        sv_errf(e, "invalid runner size %dx%d, %d frames", h, w, max_frames);
        return NULL;
    }
    bicubic_runner *r = sv_calloc(1, sizeof *r, e);
    if (!r) return NULL;
    r->base = (sv_runner){.impl = &bicubic_impl, .max_frames = max_frames, .max_emit = max_frames,
                          .bytes = out_floats(h, w) * sizeof(float)};
    r->h = h;
    r->w = w;
    if (!(r->out = malloc(r->base.bytes))) {
        sv_errf(e, "out of memory for a %dx%d output frame", SV_SCALE * w, SV_SCALE * h);
        free(r);
        return NULL;
    }
    return &r->base;
}
