// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// channels_internal.h: the channel move behind every op of ops/channels.c, with the instruction set picked
// by the caller (tests run each one against a naive loop), and the vector kernels of channels_simd.c.
//
// A blocked move (both layouts blk 8 or 16) is vectorised through a plan made at call time. The destination
// side is cut into units, a vector of lanes at one pixel: 8 floats on AVX2, one block of bd floats on
// AVX-512; the source side likewise (8 floats, or one block of bs floats). The channels bound for one unit
// from one source unit (AVX-512: from a pair of source units) make one move:
//   unit lanes in mask  =  lanes idx of the source unit(s)     (copy)
//   unit lanes in mask +=  lanes idx of the source unit(s)     (add)
// A move runs over the pixels of a work item with its permutation and mask in registers: per pixel a
// load of each source unit, one permutation (AVX2 _mm256_permutevar8x32_ps; AVX-512 _mm512_permutex2var_ps,
// two sources), for add a load and an add, and a store. On AVX-512 two moves into one unit run in one pass
// (a unit fed from 3 or 4 source units: one store). On AVX2 between blk 8 maps a unit whose channels come
// from MOVE_GATHER_FROM or more source units (channels spread over the map, as in an RSC gather) is one
// gather move instead: its 8 lanes fetched by one _mm256_i32gather_ps with an offset per lane. The pixels go in
// chunks of MOVE_CHUNK, every move over a chunk before the next chunk, so that the lines a chunk touches
// stay in L1 between the moves. Each lane is one copy or one add, as in the scalar loop: the results are
// the scalar ones bit for bit.
// Lanes outside the mask: AVX-512 stores with the mask and never writes them. AVX2 (whose masked store,
// vmaskmovps, is microcoded and slow on AMD) loads the unit, blends and stores all 8 lanes, so it writes
// them back unchanged; every unit of a pixel belongs to one work item, so this races with nothing in the
// move, but a move must not run while another thread writes other channels of the same pixels.
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "core/layout.h"

enum { SV_MOVE_SCALAR = 0, SV_MOVE_AVX2 = 1, SV_MOVE_AVX512 = 2 };

// The instruction set the channel ops use: AVX-512 where sv_conv_avx512 allows it (ops/conv_internal.h:
// the CPU has it and sv_conv_configure did not turn it off), else AVX2.
int sv_move_isa(void);

// For every map s and channel i < nc: dst channel (di ? di[i] : i) =, or += when add, src channel
// (si ? si[i] : i), the destination channels distinct (ops/channels.c says more). isa: SV_MOVE_*; a move
// the vector kernels do not take (blk 1 on a side, more than MOVE_TABLE channels, a destination channel
// twice) runs scalar whatever isa says.
void sv_move_channels(sv_fmap dst, const int *di, sv_fmap src, const int *si, int nc, int add, int isa);

// ---- the plan and the vector kernels (channels_simd.c) ----
typedef struct {
    size_t doff;        // the destination unit, from the destination pixel
    size_t sa, sb;      // the source units, from the source pixel (sb == sa: a move from one unit)
    int32_t idx[16];    // unit lane l = lane idx[l] of sa (0 .. 15) or of sb (16 .. 31; AVX-512 only)
    int32_t sel[8];     // AVX2: -1 in the lanes this move writes (mask as a vector)
    int32_t goff[8];    // AVX2 gather move: unit lane l = the source float goff[l] from the source pixel
    uint32_t mask;      // lanes this move writes
    int gather;         // AVX2: a gather move (goff), not a permutation of one source unit
} sv_move;

typedef struct {
    int isa, add, bd, bs;
    int nmoves;
    sv_move *moves;
} sv_move_plan;

// Bytes of memory a plan of nc channels needs (at most nc moves, and room to sort the channels).
size_t sv_move_plan_bytes(int nc);
// Plans the move of nc channels (arguments as sv_move_channels; isa AVX2 or AVX-512) in mem
// (sv_move_plan_bytes(nc) bytes). Returns 0, or -1 where the move is not for the vector kernels (a layout
// other than 8 or 16, a destination channel twice, or, on AVX2 with blk 16 on a side, too few channels per
// move to gain).
int sv_move_plan_make(sv_move_plan *mp, sv_fmap dst, const int *di, sv_fmap src, const int *si, int nc, int add,
                      int isa, void *mem);
// Pixels p0 .. p1-1 of one map: d and x its destination and source maps (pixel 0 of the views' rows).
void sv_move_plan_run(const sv_move_plan *mp, float *d, const float *x, size_t p0, size_t p1);
