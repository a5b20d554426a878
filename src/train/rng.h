// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// rng.h: the training data's random numbers: xoshiro256** (Blackman and Vigna), seeded through
// splitmix64. The whole state is four uint64 words, so a checkpoint can store it and a resumed run
// draws exactly the numbers the killed run would have drawn. Integer-only, so the stream is the same
// on every machine and compiler.
#pragma once
#include <stdint.h>

#define SV_RNG_WORDS 4

typedef struct {
    uint64_t s[SV_RNG_WORDS];
} sv_rng;

// Any seed (0 included) gives a valid, non-zero state.
void sv_rng_seed(sv_rng *r, uint64_t seed);
uint64_t sv_rng_next(sv_rng *r);
// Uniform integer in [0, n), n >= 1, without modulo bias.
uint64_t sv_rng_below(sv_rng *r, uint64_t n);
