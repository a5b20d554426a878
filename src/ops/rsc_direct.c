// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// rsc_direct.c: the direct RSC block (rsc_internal.h). The kernels are rsc_direct_kernel.h, instantiated
// twice: 8-wide for AVX2 (the build's baseline ISA) and 16-wide under target("avx512f"), chosen by cpuid.
#include "ops/rsc_internal.h"

#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "core/layout.h"
#include "ops/conv_internal.h"

// One move of conv2's outputs into y: lanes of output vector src, permuted by idx and kept where mask is
// set, are added to the pixel's channel block at plane (floats from the pixel's block 0).
typedef struct {
    int src;
    size_t plane;
    int idx[16], mask[16];
} rsc_move;

struct rsc_direct {
    int h, w, blk, nin, nmid, nout, nv1, nv2;  // nv1, nv2: output vectors of conv1 and conv2
    size_t *off_in, *off_mid;                  // channel offsets of conv1's inputs in y, of conv2's in mid
    float *w1, *b1, *w2, *b2;                  // [9][nin][nv1 * blk], [nv1 * blk]; [9][nmid][nv2 * blk], ...
    rsc_move *moves;
    int nmoves;
};

#define VW 8
#define SUFFIX _8
#include "ops/vec_lanes.h"
#include "ops/rsc_direct_kernel.h"
#include "ops/vec_lanes_end.h"

#include "ops/avx512_begin.h"
#define VW 16
#define SUFFIX _16
#include "ops/vec_lanes.h"
#include "ops/rsc_direct_kernel.h"
#include "ops/vec_lanes_end.h"
#include "ops/avx512_end.h"

static int vecs(int c, int blk) { return (c + blk - 1) / blk; }

// The move that adds conv2's output vector v to y's channel block b: output o (lane o % blk of vector
// o / blk) goes to y's channel K2[o]. Returns whether any output does (a move is needed).
static int move_for(const sv_rsc_desc *d, int b, int v, rsc_move *mv) {
    *mv = (rsc_move){.src = v, .plane = sv_fmap_index(b * d->blk, 0, 0, d->h, d->w, d->blk)};
    int used = 0;
    for (int o = v * d->blk; o < (v + 1) * d->blk && o < d->nout; o++) {
        const int c = d->out_idx ? d->out_idx[o] : o;
        if (c / d->blk != b) continue;
        mv->idx[c % d->blk] = o % d->blk;
        mv->mask[c % d->blk] = -1;
        used = 1;
    }
    return used;
}

// The moves conv2's outputs take into y, into moves (NULL: counted only).
static int make_moves(const sv_rsc_desc *d, rsc_move *moves) {
    int n = 0;
    rsc_move mv;
    for (int b = 0; b < sv_cpad(d->C, d->blk) / d->blk; b++)
        for (int v = 0; v < vecs(d->nout, d->blk); v++) {
            if (!move_for(d, b, v, &mv)) continue;
            if (moves) moves[n] = mv;
            n++;
        }
    return n;
}

int sv_rsc_direct_takes(const sv_rsc_desc *d) {
    const int maxc = SV_RSC_DIRECT_MAX_VECS * d->blk;
    return d->k == 3 && (d->blk == 8 || (d->blk == 16 && sv_conv_avx512())) && d->nmid <= maxc &&
           d->nout <= maxc && make_moves(d, NULL) <= SV_RSC_DIRECT_MAX_MOVES;
}

size_t sv_rsc_direct_workspace(const sv_rsc_desc *d) {
    return (size_t)(d->h + 2) * (size_t)(d->w + 2) * (size_t)vecs(d->nmid, d->blk) * (size_t)d->blk;
}

// W [9][cin][nv * blk] from PyTorch's [cout][cin][3][3], zero beyond cout; b [nv * blk].
static void pack(float *W, float *b, const float *w, const float *bias, int cin, int cout, int nv, int blk) {
    const int lanes = nv * blk;
    memset(W, 0, (size_t)9 * cin * lanes * sizeof(float));
    memset(b, 0, (size_t)lanes * sizeof(float));
    for (int o = 0; o < cout; o++) {
        if (bias) b[o] = bias[o];
        for (int i = 0; i < cin; i++)
            for (int t = 0; t < 9; t++) W[((size_t)t * cin + i) * lanes + o] = w[((size_t)o * cin + i) * 9 + t];
    }
}

rsc_direct *sv_rsc_direct_create(const sv_rsc_desc *d, sv_err *e) {
    rsc_direct *k = sv_calloc(1, sizeof *k, e);
    if (!k) return NULL;
    *k = (rsc_direct){.h = d->h, .w = d->w, .blk = d->blk, .nin = d->nin, .nmid = d->nmid, .nout = d->nout,
                      .nv1 = vecs(d->nmid, d->blk), .nv2 = vecs(d->nout, d->blk)};
    const size_t l1 = (size_t)k->nv1 * d->blk, l2 = (size_t)k->nv2 * d->blk;
    k->off_in = sv_malloc((size_t)d->nin * sizeof(size_t), e);
    k->off_mid = k->off_in ? sv_malloc((size_t)d->nmid * sizeof(size_t), e) : NULL;
    k->w1 = k->off_mid ? sv_malloc((9 * (size_t)d->nin + 1) * l1 * sizeof(float), e) : NULL;
    k->w2 = k->w1 ? sv_malloc((9 * (size_t)d->nmid + 1) * l2 * sizeof(float), e) : NULL;
    // the moves: as many as make_moves counts (at most SV_RSC_DIRECT_MAX_MOVES: the caller checked takes)
    k->moves = k->w2 ? sv_calloc((size_t)make_moves(d, NULL) + 1, sizeof(rsc_move), e) : NULL;
    if (!k->moves) {
        sv_rsc_direct_free(k);
        return NULL;
    }
    k->b1 = k->w1 + 9 * (size_t)d->nin * l1;
    k->b2 = k->w2 + 9 * (size_t)d->nmid * l2;
    for (int i = 0; i < d->nin; i++) {
        const int c = d->in_idx ? d->in_idx[i] : i;
        k->off_in[i] = sv_fmap_index(c, 0, 0, d->h, d->w, d->blk);
    }
    for (int j = 0; j < d->nmid; j++) k->off_mid[j] = (size_t)j;
    k->nmoves = make_moves(d, k->moves);
    pack(k->w1, k->b1, d->w1, d->b1, d->nin, d->nmid, k->nv1, d->blk);
    pack(k->w2, k->b2, d->w2, d->b2, d->nmid, d->nout, k->nv2, d->blk);
    return k;
}

void sv_rsc_direct_run(rsc_direct *k, float *y, float *ws, int threads, double sec[2]) {
    const size_t ms = (size_t)k->nv1 * k->blk;
    double s1 = 0, s2 = 0;
#pragma omp parallel num_threads(threads) reduction(+ : s1, s2)
    {
        // the border of conv1's output map stays zero: conv2's padding
        const size_t rowf = (size_t)(k->w + 2) * ms;
#pragma omp single
        {
            memset(ws, 0, rowf * sizeof(float));
            memset(ws + (size_t)(k->h + 1) * rowf, 0, rowf * sizeof(float));
        }
#pragma omp for schedule(static)
        for (int r = 1; r <= k->h; r++) {
            memset(ws + (size_t)r * rowf, 0, ms * sizeof(float));
            memset(ws + (size_t)r * rowf + (size_t)(k->w + 1) * ms, 0, ms * sizeof(float));
        }
        const int nt = omp_get_num_threads(), t = omp_get_thread_num();
        const int y0 = (int)((long)k->h * t / nt), y1 = (int)((long)k->h * (t + 1) / nt);
        const double t0 = omp_get_wtime();
        if (k->blk == 16) conv1_rows_16(k, y, ws, y0, y1, k->nv1);
        else conv1_rows_8(k, y, ws, y0, y1, k->nv1);
#pragma omp barrier
        const double t2 = omp_get_wtime();
        if (k->blk == 16) conv2_rows_16(k, ws, y, y0, y1, k->nv2, k->nv1);
        else conv2_rows_8(k, ws, y, y0, y1, k->nv2, k->nv1);
        s1 += t2 - t0;  // the wait at the barrier is conv1's
        s2 += omp_get_wtime() - t2;
    }
    sec[0] += s1;
    sec[1] += s2;
}

void sv_rsc_direct_free(rsc_direct *k) {
    if (!k) return;
    free(k->off_in);
    free(k->off_mid);
    free(k->w1);
    free(k->w2);
    free(k->moves);
    free(k);
}
