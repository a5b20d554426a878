// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// rsc_internal.h: the RSC block's direct algorithm (rsc_direct.c), which rsc_block.c picks for narrow
// blocks. Both convs vectorise over output channels and run straight on y: conv1 reads y's channels S
// through offsets, conv2's outputs are permuted into y's channel blocks and added. Two passes over the
// frame with a barrier between them (conv1 reads y everywhere before conv2 writes it): conv1 writes its
// ReLU'd output for every pixel to a pixel-major map with a zero border, conv2 reads it.
// For blk 8 on any AVX2 CPU (8-wide vectors) and blk 16 where the CPU has AVX-512F (16-wide).
#pragma once
#include <stddef.h>

#include "ops/rsc.h"

enum { SV_RSC_DIRECT_MAX_VECS = 4 };  // conv1's and conv2's outputs: at most 4 vectors of blk channels
// conv2's outputs reach y in at most this many moves (one per pair of y's channel block and output vector
// that share a channel): the direct algorithm takes blocks within it
enum { SV_RSC_DIRECT_MAX_MOVES = 16 };

typedef struct rsc_direct rsc_direct;

// Whether the direct algorithm takes d on this CPU (blk, channel counts, ISA).
int sv_rsc_direct_takes(const sv_rsc_desc *d);
// Workspace floats: conv1's output map with its border.
size_t sv_rsc_direct_workspace(const sv_rsc_desc *d);
rsc_direct *sv_rsc_direct_create(const sv_rsc_desc *d, sv_err *e);
// y updated in place; sec[0] += conv1's thread-seconds, sec[1] += conv2's (with the add into y).
void sv_rsc_direct_run(rsc_direct *k, float *y, float *ws, int threads, double sec[2]);
void sv_rsc_direct_free(rsc_direct *k);

// rsc_tune.c: the algorithm measured fastest for d on this CPU (ops/tune.h), or fallback when no wisdom
// table is configured or no candidate passes its check.
int sv_rsc_tune(const sv_rsc_desc *d, int fallback);

// ---- the planar algorithm (rsc_planar.c), for blocks of a few channels ----
// Both convs vectorised over pixels on small planar maps of the block's channels, strip by strip down each
// thread's band of rows (rsc_planar.c says how), so that a block of a few channels costs one read of y's
// rows and one add into them: no work on padding channels, no pass over a whole frame of its own maps.
// Output channels per register block of the kernel, and the floats of one thread's G and M maps that the
// strip height is chosen to fit (half of a 1 MB L2 cache).
// SV_RSC_PLANAR_TRANSPOSE_MIN: the channels of S or K2 in one of y's 16-channel blocks from which they move
// through a 16 x 16 transpose (16 loads, 64 shuffles) rather than a float at a time (AVX-512, y at blk 16;
// 2-core Zen 5, `rsc_bench --phases --feat 48 --shape 48,8,48`: gather 0.73 -> 0.55 ms, add 0.68 -> 0.35;
// the vector gather and scatter instructions measured slower than single floats: 1.34 and 1.02).
enum { SV_RSC_PLANAR_NO = 4, SV_RSC_PLANAR_CACHE = 128 * 1024, SV_RSC_PLANAR_TRANSPOSE_MIN = 4 };

typedef struct rsc_planar rsc_planar;

// Whether the planar algorithm takes d (3x3 convs; any channel counts, any CPU with AVX2).
int sv_rsc_planar_takes(const sv_rsc_desc *d);
size_t sv_rsc_planar_workspace(const sv_rsc_desc *d);
rsc_planar *sv_rsc_planar_create(const sv_rsc_desc *d, sv_err *e);
// y updated in place; sec: thread-seconds of the gather, conv1, conv2 and the add into y.
void sv_rsc_planar_run(rsc_planar *k, float *y, float *ws, double sec[4]);
// Pixels per vector of its kernels: 16 (AVX-512F) or 8 (AVX2).
int sv_rsc_planar_lanes(const rsc_planar *k);
void sv_rsc_planar_free(rsc_planar *k);
