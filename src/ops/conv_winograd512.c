// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// conv_winograd512.c: our Winograd's block of tiles (conv_winograd_block.h) at 16 channels per vector,
// compiled for AVX-512F; conv_winograd.c plans it for blk 16 where sv_conv_avx512() says the CPU has it.
#include <string.h>
#include <x86intrin.h>

#include "ops/avx512_begin.h"
#define WINO_L 16
#define WINO_BLOCK sv_wino_block16
#include "ops/conv_winograd_block.h"

// The weight gradient's GEMM (conv_winograd.c) at 16 input channels per vector: du[o][0..15] (o < 8, rows
// ldu apart) += sum over the tiles t < n of g[t][o] * (v0[t][0..7], v1[t][0..7]), the tiles' D and the V
// of two neighbouring groups of 8 input channels, each T x 8 floats. Every element sums its tiles in the
// order the 8-lane kernel does (wino_wgrad_8x8): the same bits.
void sv_wino_wgrad_8x16(const float *g, const float *v0, const float *v1, int n, float *du, size_t ldu) {
    __m512 c[8];
#pragma GCC unroll 8
    for (int o = 0; o < 8; o++) c[o] = _mm512_loadu_ps(du + o * ldu);
    for (int t = 0; t < n; t++, g += 8, v0 += 8, v1 += 8) {
        const __m512 x = _mm512_castpd_ps(_mm512_insertf64x4(_mm512_castps_pd(_mm512_castps256_ps512(_mm256_loadu_ps(v0))),
                                                             _mm256_castps_pd(_mm256_loadu_ps(v1)), 1));
#pragma GCC unroll 8
        for (int o = 0; o < 8; o++) c[o] = _mm512_fmadd_ps(_mm512_set1_ps(g[o]), x, c[o]);
    }
#pragma GCC unroll 8
    for (int o = 0; o < 8; o++) _mm512_storeu_ps(du + o * ldu, c[o]);
}
#include "ops/avx512_end.h"
