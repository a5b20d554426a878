// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// rng.c: xoshiro256** with a splitmix64 seeder (see rng.h).
#include "train/rng.h"

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

// splitmix64 spreads one seed over the four words; its outputs are never all zero.
static uint64_t splitmix64(uint64_t *x) {
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

void sv_rng_seed(sv_rng *r, uint64_t seed) {
    for (int i = 0; i < SV_RNG_WORDS; i++) r->s[i] = splitmix64(&seed);
}

uint64_t sv_rng_next(sv_rng *r) {
    uint64_t *s = r->s;
    uint64_t out = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return out;
}

uint64_t sv_rng_below(sv_rng *r, uint64_t n) {
    // Reject the top partial block of 2^64 so every residue is equally likely.
    uint64_t limit = UINT64_MAX - UINT64_MAX % n;
    uint64_t x;
    do x = sv_rng_next(r);
    while (x >= limit);
    return x % n;
}
