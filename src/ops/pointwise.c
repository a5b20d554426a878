// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// pointwise.c: activation, add. Memory-bound; each loop runs in chunks of CHUNK floats, one vector each (GCC's
// -O2 leaves a loop of unknown length scalar, and the activation's select unvectorised: "control flow"),
// then a scalar tail. A lane computes what the scalar loop does (g * 1 is g): the same floats.
#include <string.h>

#include "core/parallel.h"
#include "ops/ops.h"

enum { CHUNK = 8 };
typedef float v8f __attribute__((vector_size(32)));
typedef int v8i __attribute__((vector_size(32)));

// Per lane: 1 where keep (a mask lane of -1), else slope (the activation's derivative, or its factor).
static inline v8f factor(v8i keep, float slope) {
    const v8f one = {1, 1, 1, 1, 1, 1, 1, 1}, s = one * slope;
    return (v8f)((keep & (v8i)one) | (~keep & (v8i)s));
}

// x[i] = leaky ReLU(x[i]) (m = CHUNK: as one vector; the tail a float at a time)
static inline __attribute__((always_inline)) void act_chunk(float *x, size_t m, float slope) {
    if (m == CHUNK) {
        v8f v;
        memcpy(&v, x, sizeof v);
        v *= factor(v >= (v8f){0}, slope);
        memcpy(x, &v, sizeof v);
    } else
        for (size_t i = 0; i < m; i++) x[i] = x[i] >= 0.0f ? x[i] : slope * x[i];
}

// dx[i] scaled by the activation's slope at y[i] (y > 0: 1)
static inline __attribute__((always_inline)) void act_scale_chunk(float *dx, const float *y, size_t m, float slope) {
    if (m == CHUNK) {
        v8f g, yv;
        memcpy(&g, dx, sizeof g), memcpy(&yv, y, sizeof yv);
        g *= factor(yv > (v8f){0}, slope);
        memcpy(dx, &g, sizeof g);
    } else
        for (size_t i = 0; i < m; i++) dx[i] = y[i] > 0.0f ? dx[i] : slope * dx[i];
}

// dx[i] += dy[i] scaled likewise
static inline __attribute__((always_inline)) void act_add_chunk(float *dx, const float *dy, const float *y, size_t m,
                                                                float slope) {
    if (m == CHUNK) {
        v8f d, g, yv;
        memcpy(&d, dx, sizeof d), memcpy(&g, dy, sizeof g), memcpy(&yv, y, sizeof yv);
        d += g * factor(yv > (v8f){0}, slope);
        memcpy(dx, &d, sizeof d);
    } else
        for (size_t i = 0; i < m; i++) dx[i] += y[i] > 0.0f ? dy[i] : slope * dy[i];
}

static inline __attribute__((always_inline)) void add_chunk(float *restrict out, const float *restrict a, size_t m) {
    for (size_t i = 0; i < m; i++) out[i] += a[i];
}

void act_forward(float *x, size_t n, float slope) {
    const size_t nc = n / CHUNK * CHUNK;
#pragma omp parallel for schedule(static) if (n > SV_OMP_MIN_WORK)
    for (size_t c = 0; c < nc; c += CHUNK) act_chunk(x + c, CHUNK, slope);
    act_chunk(x + nc, n - nc, slope);
}

void add_forward(float *out, const float *a, const float *b, size_t n) {
#pragma omp parallel for schedule(static) if (n > SV_OMP_MIN_WORK)
    for (size_t i = 0; i < n; i++) out[i] = a[i] + b[i];
}

// ---- backward ----

void act_backward(float *dx, const float *dy, const float *y, size_t n, float slope) {
    // Aliasing is a separate loop: with dx == dy, "+=" would double the gradient instead of scaling it.
    const size_t nc = n / CHUNK * CHUNK;
    if (dx == dy) {
#pragma omp parallel for schedule(static) if (n > SV_OMP_MIN_WORK)
        for (size_t c = 0; c < nc; c += CHUNK) act_scale_chunk(dx + c, y + c, CHUNK, slope);
        act_scale_chunk(dx + nc, y + nc, n - nc, slope);
    } else {
#pragma omp parallel for schedule(static) if (n > SV_OMP_MIN_WORK)
        for (size_t c = 0; c < nc; c += CHUNK) act_add_chunk(dx + c, dy + c, y + c, CHUNK, slope);
        act_add_chunk(dx + nc, dy + nc, y + nc, n - nc, slope);
    }
}

void accumulate(float *out, const float *a, size_t n) {
    const size_t nc = n / CHUNK * CHUNK;
#pragma omp parallel for schedule(static) if (n > SV_OMP_MIN_WORK)
    for (size_t c = 0; c < nc; c += CHUNK) add_chunk(out + c, a + c, CHUNK);
    add_chunk(out + nc, a + nc, n - nc);
}
