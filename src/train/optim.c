// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// optim.c: Adam, cosine learning-rate schedule, weight EMA.
#include "core/parallel.h"
#include "train/optim.h"

#include <math.h>

void sv_adam_step(float *p, const float *g, float *m, float *v, size_t n, float lr, float b1, float b2, float eps,
                  long step) {
    // the bias corrections in double, as PyTorch computes them in Python floats
    const double bc1 = 1.0 - pow(b1, (double)step), bc2 = 1.0 - pow(b2, (double)step);
    const float step_size = (float)(lr / bc1), inv_sqrt_bc2 = (float)(1.0 / sqrt(bc2));
#pragma omp parallel for schedule(static) if (n > SV_OMP_MIN_WORK)
    for (size_t i = 0; i < n; i++) {
        m[i] = b1 * m[i] + (1.0f - b1) * g[i];
        v[i] = b2 * v[i] + (1.0f - b2) * g[i] * g[i];
        p[i] -= step_size * m[i] / (sqrtf(v[i]) * inv_sqrt_bc2 + eps);
    }
}

double sv_cosine_lr(double base, double min, long it, long total) {
    if (total <= 0 || it >= total) return min;
    if (it <= 0) return base;
    return min + 0.5 * (base - min) * (1.0 + cos(M_PI * (double)it / (double)total));
}

double sv_hold_cosine_lr(double base, double min, long hold, long it, long total) {
    if (hold <= 0) return sv_cosine_lr(base, min, it, total);
    if (it < hold) return base;
    return sv_cosine_lr(base, min, it - hold, total - hold);
}

void sv_ema_update(float *ema, const float *p, size_t n, float decay) {
#pragma omp parallel for schedule(static) if (n > SV_OMP_MIN_WORK)
    for (size_t i = 0; i < n; i++) ema[i] = decay * ema[i] + (1.0f - decay) * p[i];
}
