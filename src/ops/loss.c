// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// loss.c: the Charbonnier loss of BasicVSR, L = mean sqrt((y - t)^2 + eps), a smooth L1.
#include <math.h>

#include "core/parallel.h"
#include "ops/ops.h"

double charbonnier_forward(const float *y, const float *t, size_t n, float eps) {
    if (n == 0) return 0.0;
    // Terms and sum in double: a float sum over a batch of HR frames (millions of terms) would drift.
    double s = 0.0;
#pragma omp parallel for schedule(static) reduction(+ : s) if (n > SV_OMP_MIN_WORK)
    for (size_t i = 0; i < n; i++) {
        double d = (double)y[i] - (double)t[i];
        s += sqrt(d * d + (double)eps);
    }
    return s / (double)n;
}

void charbonnier_backward(float *dy, const float *y, const float *t, size_t n, float eps, float scale) {
#pragma omp parallel for schedule(static) if (n > SV_OMP_MIN_WORK)
    for (size_t i = 0; i < n; i++) {
        double d = (double)y[i] - (double)t[i];
        dy[i] += (float)((double)scale * d / sqrt(d * d + (double)eps));
    }
}
