// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// optim.h: the optimiser pieces, each one flat loop over the parameter block (llm.c style).
#pragma once
#include <stddef.h>

// PyTorch's Adam (no weight decay): m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2;
// p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps). step is 1-based.
// The betas and epsilon slimvsr trains with: BasicSR's BasicVSR recipe uses betas (0.9, 0.99) for the network
// (and SSL's scales follow it); SPyNet pretraining keeps PyTorch's default beta2 0.999.
#define SV_ADAM_B1 0.9f
#define SV_ADAM_B2 0.99f
#define SV_ADAM_B2_TORCH 0.999f
#define SV_ADAM_EPS 1e-8f
void sv_adam_step(float *p, const float *g, float *m, float *v, size_t n, float lr, float b1, float b2, float eps,
                  long step);

// Cosine annealing from base to min over total iterations (it = 0 gives base, it >= total gives min).
double sv_cosine_lr(double base, double min, long it, long total);
// base for the first `hold` iterations, then sv_cosine_lr over the remaining total - hold (hold 0: the cosine).
double sv_hold_cosine_lr(double base, double min, long hold, long it, long total);

// Exponential moving average of the weights: ema = decay * ema + (1 - decay) * p.
void sv_ema_update(float *ema, const float *p, size_t n, float decay);
