// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// conv_winograd_internal.h: the Winograd plan (conv_winograd.c) as its per-ISA block kernels see it
// (conv_winograd_block.h, compiled for AVX2 in conv_winograd.c and for AVX-512F in conv_winograd512.c).
#pragma once
#include <stddef.h>

#include "ops/conv.h"

enum { WINO_MAXA = 10, WINO_MAXR = 7 };  // largest input tile and kernel

typedef struct sv_wino sv_wino;

// One block of tiles t0 .. t0+n-1 of one map: input transform into V, the GEMMs into M, output transform
// into out (+ res); thread-local TSC ticks of the three phases added to ticks.
typedef void sv_wino_block_fn(const sv_wino *w, const float *in, float *out, const float *res, float *V, float *M,
                              int t0, int n, unsigned long long ticks[3]);

struct sv_wino {
    sv_conv_desc d;
    int m, r, a, nx;          // output tile m x m, kernel r x r, input tile a x a, a*a frequencies
    int oh, ow, tiles_x, ntiles;
    int lanes;                // channels per vector of the kernels: 8 (AVX2) or 16 (AVX-512F, blk 16 only)
    int gi, go;               // groups of 8 channels, in and out (channels padded to blk; with shuffle:
                              //   4 * gp groups, in the reordered order)
    int shuffle;              // 2: pixel shuffle after the conv (channel order in conv_winograd.c); else 0
    int T;                    // tiles per block, a multiple of the GEMM kernel's rows (6; 12 at 16 lanes)
    size_t vstride, mstride;  // floats between two xi planes of V and of M (padded by one cache line so
                              // that the planes of one tile do not fall into the same L1 sets)
    float *U;                 // [nx][go*8 x gi*8]: per xi, blocks of nw = 16 (last may be 8) outputs,
                              //   U[xi][o0*cinp + i*nw + (o - o0)]
    float *bias;              // [go*8], zero padded
    size_t scratch_floats;    // per thread and run: V [nx][cinp/lanes][T][lanes], then M [nx][T][16]
                              // (planes vstride, mstride apart); allocated in each run: plans hold no scratch
    sv_wino_block_fn *block;  // the lanes' kernel
    // profile of all runs: TSC ticks summed over the threads in the input transforms, GEMMs and output
    // transforms, and the runs' wall time in seconds and in ticks (to turn ticks into seconds)
    unsigned long long phase_ticks[3], run_ticks;
    double run_seconds;
};

sv_wino_block_fn sv_wino_block8, sv_wino_block16;
// conv_winograd512.c: the weight gradient's GEMM over two groups of 8 input channels at once (AVX-512F;
// conv_winograd.c's sv_wino_backward_weights says what it computes)
void sv_wino_wgrad_8x16(const float *g, const float *v0, const float *v1, int n, float *du, size_t ldu);
