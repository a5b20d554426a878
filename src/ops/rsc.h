// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// rsc.h: a residual block with Residual Sparsity Connection (SSL-NOTES §4) as one planned op:
//   y[K2] += conv2(relu(conv1(y[S])))        y: [C, h, w] in layout blk (8 or 16), updated in place
// S (in_idx, nin channels) and K2 (out_idx, nout channels) are lists of distinct channels of y; NULL means
// all C (a dense block: y += conv2(relu(conv1(y)))). Both convs are k x k, stride 1, pad k/2.
//
// Four algorithms (rsc_block.c picks one per shape at plan time from bench/rsc_bench.c's measurements):
// - passes: gather y[S], conv1, conv2, scatter-add into y[K2], each over the whole frame, with the block's
//   own maps at sv_rsc_inner_blk's layout (ordinary conv plans, ops/conv.h);
// - direct (rsc_internal.h): both convs vectorised over output channels, reading y through channel offsets
//   and adding into it, for blocks of a few channels;
// - planar (rsc_internal.h): both convs vectorised over pixels on small planar maps of the block's
//   channels, strip by strip down each thread's band of rows, for blocks of a few channels;
// - strips (benchmarks only: measured slower): a strip of R output rows gathers R + 4*(k/2) rows of y[S]
//   (both convs' halos), runs both convs on them and scatter-adds its R middle rows, the maps staying in
//   cache; halo rows are computed twice, every strip gathers before any writes (y is updated in place),
//   and conv1's rows outside the image are zeroed before conv2.
// Results equal the naive four passes up to the order of the convs' sums.
#pragma once
#include <stddef.h>

#include "core/error.h"
#include "ops/conv.h"

typedef struct {
    int C, h, w, blk;                 // y: C channels, h x w, layout blk (8 or 16)
    int nin, nmid, nout, k;           // conv1: nin -> nmid (ReLU), conv2: nmid -> nout; k x k
    const int *in_idx, *out_idx;      // S (nin channels of y) and K2 (nout), or NULL: all C (nin/nout = C)
    const float *w1, *b1, *w2, *b2;   // PyTorch OIHW: [nmid, nin, k, k], [nmid]; [nout, nmid, k, k], [nout]
    int strip_rows;                   // output rows per strip; <= 0: SV_RSC_STRIP_ROWS
    int threads;                      // threads (strips run at once, each with its own conv maps); <= 0: all
    int algo;                         // SV_RSC_AUTO, or one algorithm (tests, benchmarks)
} sv_rsc_desc;

// The algorithms above; SV_RSC_AUTO picks per shape (rsc_block.c says how).
enum { SV_RSC_AUTO = 0, SV_RSC_STRIPS = 1, SV_RSC_DIRECT = 2, SV_RSC_PASSES = 3, SV_RSC_PLANAR = 4 };
// The layout of the block's own maps (its gathered input, conv1's and conv2's outputs), whatever y's: 16
// where our Winograd runs 16 lanes (AVX-512) and some map has more than 8 channels, else 8 (pads a
// narrow map least: 23 channels to 24, not 32). Measured on 2-core Zen 5 EPYC (`slimvsr info --profile`,
// 5 frames of 180x320, bench/pruned_speed.sh's models, each layout forced in turn): 16 made the blocks
// (23-42 channels) of a 64x30 model pruned at --ratio 0.5 1.27x faster than 8, and the blocks of at most
// 8 channels of one at --flops 0.25 1.25x slower.
int sv_rsc_inner_blk(const sv_rsc_desc *d);

// Rows per strip when the desc leaves it open: 20 output rows + 4 halo = 24, four tiles of F(6x6,3x3); the
// fastest of R = 4, 8, 12, 20, 32, 44, 68 in a one-off sweep on 2-core Zen 4 EPYC (31->23->35 and 8->8->8 blocks
// of 64 channels at 180x320), not kept as a script.
enum { SV_RSC_STRIP_ROWS = 20 };

typedef struct sv_rsc_plan sv_rsc_plan;

// Picks the algorithm and plans it (copies the weights and index lists). The plan holds no maps: a run
// takes a workspace of sv_rsc_plan_workspace floats, so that every block of a model can share one.
sv_rsc_plan *sv_rsc_plan_create(const sv_rsc_desc *d, sv_err *e);
// The workspace of a plan for d (its shape fields only), for memory estimates made before any plan.
size_t sv_rsc_workspace(const sv_rsc_desc *d);
size_t sv_rsc_plan_workspace(const sv_rsc_plan *p);
// y updated in place; ws: sv_rsc_plan_workspace floats, 64-byte aligned, contents irrelevant. Returns -1
// with e saying why when a conv failed (y is then partly updated).
int sv_rsc_plan_run(sv_rsc_plan *p, float *y, float *ws, sv_err *e);
// Thread-seconds of the last run per pass: gather, conv1, conv2, scatter-add (for profiles).
void sv_rsc_plan_phases(const sv_rsc_plan *p, double sec[4]);
// The plan of conv1 (i = 0) or conv2 (i = 1) (for its algorithm and phases); NULL when the block runs
// direct or planar.
const sv_conv_plan *sv_rsc_plan_conv(const sv_rsc_plan *p, int i);
// The algorithm, e.g. "rsc-passes:winograd-f6x6-avx2", "rsc-direct-avx512" or "rsc-planar-avx2".
const char *sv_rsc_plan_algo(const sv_rsc_plan *p);
void sv_rsc_plan_free(sv_rsc_plan *p);
