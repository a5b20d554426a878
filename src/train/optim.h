// optim.h: the optimiser pieces, each one flat loop over the parameter block (llm.c style).
#pragma once
#include <stddef.h>

// PyTorch's Adam (no weight decay): m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2;
// p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps). step is 1-based.
void sv_adam_step(float *p, const float *g, float *m, float *v, size_t n, float lr, float b1, float b2, float eps,
                  long step);

// Cosine annealing from base to min over total iterations (it = 0 gives base, it >= total gives min).
double sv_cosine_lr(double base, double min, long it, long total);

// Exponential moving average of the weights: ema = decay * ema + (1 - decay) * p.
void sv_ema_update(float *ema, const float *p, size_t n, float decay);
