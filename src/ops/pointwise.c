// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// pointwise.c: activation, add (reference implementations; they are memory-bound and already fast).
#include "core/parallel.h"
#include "ops/ops.h"

void act_forward(float *x, size_t n, float slope) {
#pragma omp parallel for schedule(static) if (n > SV_OMP_MIN_WORK)
    for (size_t i = 0; i < n; i++) x[i] = x[i] >= 0.0f ? x[i] : slope * x[i];
}

void add_forward(float *out, const float *a, const float *b, size_t n) {
#pragma omp parallel for schedule(static) if (n > SV_OMP_MIN_WORK)
    for (size_t i = 0; i < n; i++) out[i] = a[i] + b[i];
}

// ---- backward ----

void act_backward(float *dx, const float *dy, const float *y, size_t n, float slope) {
    // Aliasing is a separate loop: with dx == dy, "+=" would double the gradient instead of scaling it.
    if (dx == dy) {
#pragma omp parallel for schedule(static) if (n > SV_OMP_MIN_WORK)
        for (size_t i = 0; i < n; i++) dx[i] = y[i] > 0.0f ? dx[i] : slope * dx[i];
    } else {
#pragma omp parallel for schedule(static) if (n > SV_OMP_MIN_WORK)
        for (size_t i = 0; i < n; i++) dx[i] += y[i] > 0.0f ? dy[i] : slope * dy[i];
    }
}

void accumulate(float *out, const float *a, size_t n) {
#pragma omp parallel for schedule(static) if (n > SV_OMP_MIN_WORK)
    for (size_t i = 0; i < n; i++) out[i] += a[i];
}
