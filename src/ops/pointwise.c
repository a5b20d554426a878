// pointwise.c: activation, add (reference implementations; they are memory-bound and already fast).
#include "ops/ops.h"

void act_forward(float *x, size_t n, float slope) {
#pragma omp parallel for schedule(static) if (n > 65536)
    for (size_t i = 0; i < n; i++) x[i] = x[i] >= 0.0f ? x[i] : slope * x[i];
}

void add_forward(float *out, const float *a, const float *b, size_t n) {
#pragma omp parallel for schedule(static) if (n > 65536)
    for (size_t i = 0; i < n; i++) out[i] = a[i] + b[i];
}
