// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// test_rsc_block.c: the fused RSC residual block (ops/rsc.h) against the same block as separate naive
// passes (gather, conv2d_forward_ref, ReLU, conv2d_forward_ref, scatter-add) in plain CHW, on odd shapes:
// strips of 1, 2, 5 rows and the default, more strips than threads and fewer, frames shorter than a strip,
// index lists in any order, dense sides (NULL lists), channel counts that are not multiples of blk. The
// workspace is filled with NaN before every run, so a pass that reads what it did not write (padding
// channels left by a wider block, rows outside the image) shows up.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/layout.h"
#include "ops/conv.h"
#include "ops/ops.h"
#include "ops/rsc.h"
#include "ops/rsc_internal.h"
#include "testutil.h"

// A random list of n distinct channels of C, in random order (Fisher-Yates on 0..C-1).
static int *random_idx(int n, int C, uint64_t *st) {
    int *all = malloc((size_t)C * sizeof(int));
    for (int i = 0; i < C; i++) all[i] = i;
    for (int i = C - 1; i > 0; i--) {
        *st = *st * 6364136223846793005ULL + 1442695040888963407ULL;
        const int j = (int)((*st >> 33) % (uint64_t)(i + 1)), t = all[i];
        all[i] = all[j];
        all[j] = t;
    }
    return all;  // the first n are the list
}

// y (plain [C,h,w]) += conv2(relu(conv1(y[S]))) at K2, naively.
static void naive_block(float *y, const sv_rsc_desc *d) {
    const size_t hw = (size_t)d->h * d->w;
    float *g = malloc((size_t)d->nin * hw * sizeof(float)), *m = malloc((size_t)d->nmid * hw * sizeof(float)),
          *r = malloc((size_t)d->nout * hw * sizeof(float));
    for (int i = 0; i < d->nin; i++) memcpy(g + i * hw, y + (d->in_idx ? d->in_idx[i] : i) * hw, hw * sizeof(float));
    conv2d_forward_ref(m, g, d->w1, d->b1, d->nin, d->nmid, d->h, d->w, d->k, d->k / 2, 1);
    act_forward(m, (size_t)d->nmid * hw, 0.0f);
    conv2d_forward_ref(r, m, d->w2, d->b2, d->nmid, d->nout, d->h, d->w, d->k, d->k / 2, 1);
    for (int o = 0; o < d->nout; o++) {
        float *dst = y + (d->out_idx ? d->out_idx[o] : o) * hw;
        for (size_t p = 0; p < hw; p++) dst[p] += r[o * hw + p];
    }
    free(g), free(m), free(r);
}

typedef struct {
    int C, h, w, nin, nmid, nout, strip, threads, dense_in, dense_out;
} shape;

static void check_shape(shape s, int blk, int algo, uint64_t seed) {
    uint64_t st = seed;
    const int k = 3, nin = s.dense_in ? s.C : s.nin, nout = s.dense_out ? s.C : s.nout;
    int *S = random_idx(nin, s.C, &st), *K2 = random_idx(nout, s.C, &st);
    const size_t n1 = (size_t)s.nmid * nin * k * k, n2 = (size_t)nout * s.nmid * k * k, hw = (size_t)s.h * s.w;
    float *w1 = malloc(n1 * sizeof(float)), *b1 = malloc((size_t)s.nmid * sizeof(float)),
          *w2 = malloc(n2 * sizeof(float)), *b2 = malloc((size_t)nout * sizeof(float)),
          *ref = malloc((size_t)s.C * hw * sizeof(float));
    tu_fill_uniform(w1, n1, -0.3f, 0.3f, &st);
    tu_fill_uniform(b1, (size_t)s.nmid, -0.2f, 0.2f, &st);
    tu_fill_uniform(w2, n2, -0.3f, 0.3f, &st);
    tu_fill_uniform(b2, (size_t)nout, -0.2f, 0.2f, &st);
    tu_fill_uniform(ref, (size_t)s.C * hw, -1.0f, 1.0f, &st);
    const sv_rsc_desc d = {.C = s.C, .h = s.h, .w = s.w, .blk = blk, .nin = nin, .nmid = s.nmid, .nout = nout,
                           .k = k, .in_idx = s.dense_in ? NULL : S, .out_idx = s.dense_out ? NULL : K2,
                           .w1 = w1, .b1 = b1, .w2 = w2, .b2 = b2, .strip_rows = s.strip, .threads = s.threads,
                           .algo = algo};
    if (algo == SV_RSC_DIRECT && !sv_rsc_direct_takes(&d)) {  // too wide: refused with the reason
        sv_err e = {0};
        CHECK(sv_rsc_plan_create(&d, &e) == NULL && strstr(e.msg, "does not take"));
        free(S), free(K2), free(w1), free(b1), free(w2), free(b2), free(ref);
        return;
    }
    const size_t nb = sv_fmap_floats(s.C, s.h, s.w, blk);
    float *y = aligned_alloc(64, (nb + 15) / 16 * 16 * sizeof(float)), *back = malloc((size_t)s.C * hw * sizeof(float));
    memset(y, 0, nb * sizeof(float));
    layout_convert(sv_fmap_one(y, s.C, s.h, s.w, blk), sv_fmap_in(ref, s.C, s.h, s.w, 1));
    sv_err e = {0};
    sv_rsc_plan *p = sv_rsc_plan_create(&d, &e);
    CHECKF(p != NULL, "plan: %s", e.msg);
    if (p) {
        CHECK(sv_rsc_plan_workspace(p) == sv_rsc_workspace(&d));
        const size_t nws = sv_rsc_plan_workspace(p);
        float *ws = aligned_alloc(64, (nws + 15) / 16 * 16 * sizeof(float));
        for (size_t i = 0; i < nws; i++) ws[i] = NAN;
        CHECKF(sv_rsc_plan_run(p, y, ws, &e) == 0, "run: %s", e.msg);
        naive_block(ref, &d);
        layout_convert(sv_fmap_one(back, s.C, s.h, s.w, 1), sv_fmap_in(y, s.C, s.h, s.w, blk));
        double err = 0;
        for (size_t i = 0; i < (size_t)s.C * hw; i++) {
            const double a = fabs((double)back[i] - ref[i]);
            err = a > err || isnan(a) ? a : err;
        }
        CHECKF(err < 2e-4, "%s: C %d %dx%d %d->%d->%d strip %d threads %d blk %d dense %d/%d: max error %g",
               sv_rsc_plan_algo(p), s.C, s.h, s.w, nin, s.nmid, nout, s.strip, s.threads, blk, s.dense_in,
               s.dense_out, err);
        // padding channels of y stay zero
        for (int c = s.C; c < sv_cpad(s.C, blk); c++)
            for (size_t q = 0; q < hw; q++) CHECK(y[sv_fmap_index(c, 0, 0, s.h, s.w, blk) + q * blk] == 0.0f);
        free(ws);
    }
    sv_rsc_plan_free(p);
    free(S), free(K2), free(w1), free(b1), free(w2), free(b2), free(ref), free(y), free(back);
}

static void test_odd_shapes(void) {
    const shape shapes[] = {
        {19, 23, 13, 7, 5, 9, 5, 2, 0, 0},   {19, 23, 13, 7, 5, 9, 1, 3, 0, 0},  {19, 23, 13, 7, 5, 9, 0, 1, 0, 0},
        {70, 9, 30, 70, 64, 64, 0, 2, 0, 0}, {40, 6, 29, 40, 33, 40, 0, 2, 1, 0}, {8, 2, 1, 3, 2, 5, 0, 2, 0, 0},
        {48, 7, 37, 8, 8, 8, 2, 2, 0, 0},    {48, 3, 5, 31, 23, 35, 5, 2, 0, 0}, {5, 1, 9, 1, 1, 1, 0, 2, 0, 0},
        {64, 50, 29, 31, 23, 35, 0, 2, 0, 0}, {17, 11, 7, 17, 3, 2, 4, 2, 1, 0}, {17, 11, 7, 4, 6, 17, 3, 2, 0, 1},
        {9, 12, 10, 9, 9, 9, 4, 2, 1, 1},    {33, 40, 30, 16, 16, 17, 0, 2, 0, 0},
    };
    for (size_t i = 0; i < sizeof shapes / sizeof *shapes; i++) {
        check_shape(shapes[i], 8, SV_RSC_STRIPS, 100 + i);
        check_shape(shapes[i], 16, SV_RSC_STRIPS, 200 + i);
        check_shape(shapes[i], 8, SV_RSC_PASSES, 500 + i);
        check_shape(shapes[i], 16, SV_RSC_PASSES, 600 + i);
        check_shape(shapes[i], 8, SV_RSC_DIRECT, 300 + i);
        if (__builtin_cpu_supports("avx512f")) check_shape(shapes[i], 16, SV_RSC_DIRECT, 400 + i);
        check_shape(shapes[i], 8, SV_RSC_PLANAR, 700 + i);
        check_shape(shapes[i], 16, SV_RSC_PLANAR, 800 + i);
    }
    if (!__builtin_cpu_supports("avx512f"))
        printf("  (this CPU has no AVX-512F: the 16-wide direct kernel is not tested here)\n");
}

// Refusals: a channel outside the map, a list missing for fewer channels than the map.
static void test_refusals(void) {
    const int S[2] = {0, 9};
    const float w[4 * 9] = {0}, b[2] = {0};
    sv_rsc_desc d = {.C = 8, .h = 4, .w = 4, .blk = 8, .nin = 2, .nmid = 1, .nout = 2, .k = 3, .in_idx = S,
                     .out_idx = S, .w1 = w, .b1 = b, .w2 = w, .b2 = b};
    sv_err e = {0};
    CHECK(sv_rsc_plan_create(&d, &e) == NULL && strstr(e.msg, "channel 9"));
    d.in_idx = NULL;
    CHECK(sv_rsc_plan_create(&d, &e) == NULL && strstr(e.msg, "bad shape"));
}

int main(void) {
    run_test("rsc_block_odd_shapes", test_odd_shapes);
    run_test("rsc_block_refusals", test_refusals);
    return test_summary();
}
