// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// rsc_tune.c: an RSC block's algorithm chosen by measurement (ops/tune.h): passes, strips and, where they
// take the block, direct and planar, each checked against the naive block on a small map of the same channels,
// then timed on the real shape. The block's own convs keep the fixed rule while the candidates are
// measured (their tuning would be repeated for every candidate); the plan made afterwards tunes them.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/layout.h"
#include "ops/ops.h"
#include "ops/rsc_internal.h"
#include "ops/tune.h"

// The check's map: rows enough for three strips of SV_RSC_STRIP_ROWS with halos, columns for several tiles.
enum { CHECK_ROWS = 2 * SV_RSC_STRIP_ROWS + 5, CHECK_COLS = 40 };

typedef struct {
    float *y, *ref, *ws, *wts;  // one allocation: y, its copy, the weights (check), then the workspace
} maps;

static int imin(int a, int b) { return a < b ? a : b; }

static size_t y_floats(const sv_rsc_desc *d) { return sv_fmap_floats(d->C, d->h, d->w, d->blk); }

// y[K2] += conv2(relu(conv1(y[S]))) with the naive convs on plain maps: the reference.
static int reference(const sv_rsc_desc *d, float *y, sv_err *e) {
    const size_t hw = (size_t)d->h * d->w;
    float *g = sv_malloc(((size_t)d->nin + d->nmid + d->nout) * hw * sizeof(float), e);
    if (!g) return -1;
    float *m = g + (size_t)d->nin * hw, *r = m + (size_t)d->nmid * hw;
    const sv_fmap yv = sv_fmap_one(y, d->C, d->h, d->w, d->blk);
    channel_gather(sv_fmap_one(g, d->nin, d->h, d->w, 1), yv, d->in_idx);
    conv2d_forward_ref(m, g, d->w1, d->b1, d->nin, d->nmid, d->h, d->w, d->k, d->k / 2, 1);
    for (size_t i = 0; i < (size_t)d->nmid * hw; i++) m[i] = m[i] > 0 ? m[i] : 0;
    conv2d_forward_ref(r, m, d->w2, d->b2, d->nmid, d->nout, d->h, d->w, d->k, d->k / 2, 1);
    channel_scatter_add(yv, sv_fmap_one(r, d->nout, d->h, d->w, 1), d->out_idx);
    free(g);
    return 0;
}

// y (random, padding channels zero) and its copy, nw weights and a workspace of nws floats, 64-byte
// aligned as a plan's run wants; NULL when out of memory.
static float *alloc_maps(const sv_rsc_desc *d, size_t nw, size_t nws, maps *m, sv_err *e) {
    const size_t ny = (y_floats(d) + 15) / 16 * 16, total = 2 * ny + (nw + 15) / 16 * 16 + nws;
    float *p = NULL;
    if (posix_memalign((void **)&p, 64, total * sizeof(float))) {
        sv_errf(e, "out of memory for %zu MB of maps to tune an RSC block", total * sizeof(float) >> 20);
        return NULL;
    }
    m->y = p, m->ref = p + ny, m->wts = m->ref + ny, m->ws = m->wts + (nw + 15) / 16 * 16;
    sv_tune_fill(m->y, y_floats(d), 4);
    channel_zero_padding(sv_fmap_one(m->y, d->C, d->h, d->w, d->blk));
    memcpy(m->ref, m->y, y_floats(d) * sizeof(float));
    return p;
}

// Runs algo and the reference on a small map of d's channels with weights of their own: 0 when they agree,
// 1 when they do not, -1 when either cannot run (e says why).
static int check(const sv_rsc_desc *full, int algo, sv_err *e) {
    sv_rsc_desc d = *full;
    d.h = imin(d.h, CHECK_ROWS), d.w = imin(d.w, CHECK_COLS), d.algo = algo;
    const size_t kk = (size_t)d.k * d.k, n1 = (size_t)d.nmid * d.nin * kk, n2 = (size_t)d.nout * d.nmid * kk;
    const size_t nw = n1 + (size_t)d.nmid + n2 + (size_t)d.nout;
    maps m;
    sv_rsc_plan *p = NULL;
    float *mem = alloc_maps(&d, nw, sv_rsc_workspace(&d), &m, e);
    int r = -1;
    if (mem) {
        sv_tune_fill(m.wts, nw, 5);
        for (size_t i = 0; i < nw; i++) m.wts[i] *= 0.1f;  // outputs of order 1, as in a network
        d.w1 = m.wts, d.b1 = d.w1 + n1, d.w2 = d.b1 + d.nmid, d.b2 = d.w2 + n2;
        p = sv_rsc_plan_create(&d, e);
    }
    if (p && !sv_rsc_plan_run(p, m.y, m.ws, e) && !reference(&d, m.ref, e))
        r = sv_tune_agree(m.y, m.ref, y_floats(&d), sv_rsc_plan_algo(p), e) ? 1 : 0;
    sv_rsc_plan_free(p);
    free(mem);
    return r;
}

// The shape a candidate is timed on: d's first SV_TUNE_ROWS rows.
static sv_rsc_desc timed_desc(const sv_rsc_desc *d, int algo) {
    sv_rsc_desc t = *d;
    t.h = imin(t.h, SV_TUNE_ROWS), t.algo = algo;
    return t;
}

// A candidate ready to time: its plan on the timed shape, y and the workspace.
typedef struct {
    sv_rsc_plan *plan;
    float *mem;
    maps m;
} ready;

static void release(void *p) {
    ready *r = p;
    sv_rsc_plan_free(r->plan);
    free(r->mem);
    free(r);
}

// The block's own convs by the fixed rule, here and in the check (see the top of the file).
static void *prepare(void *ctx, int algo, int *wrong, sv_err *e) {
    const sv_rsc_desc d = timed_desc(ctx, algo);
    sv_tune_suspend(1);
    const int checked = check(ctx, algo, e);
    ready *r = checked ? NULL : sv_calloc(1, sizeof *r, e);
    if (r && (!(r->mem = alloc_maps(&d, 0, sv_rsc_workspace(&d), &r->m, e)) || !(r->plan = sv_rsc_plan_create(&d, e)))) {
        release(r);
        r = NULL;
    }
    sv_tune_suspend(0);
    *wrong = checked > 0;
    return r;
}

// y grows by the block's output each run: harmless for a timing.
static int run(void *p, sv_err *e) {
    ready *r = p;
    return sv_rsc_plan_run(r->plan, r->m.y, r->m.ws, e);
}

int sv_rsc_tune(const sv_rsc_desc *d, int fallback) {
    static const char *const all_names[] = {"auto", "strips", "direct", "passes", "planar"};
    int cand[4], n = 0;
    cand[n++] = SV_RSC_PASSES, cand[n++] = SV_RSC_STRIPS;
    if (sv_rsc_direct_takes(d)) cand[n++] = SV_RSC_DIRECT;
    if (sv_rsc_planar_takes(d)) cand[n++] = SV_RSC_PLANAR;
    const char *names[4];
    for (int i = 0; i < n; i++) names[i] = all_names[cand[i]];
    const sv_rsc_desc t = timed_desc(d, SV_RSC_AUTO);  // keyed by the rows timed, as conv_tune.c
    char shape[96];
    snprintf(shape, sizeof shape, "C%d %dx%d b%d k%d %d>%d>%d%s", t.C, t.h, t.w, t.blk, t.k, t.nin, t.nmid, t.nout,
             t.in_idx || t.out_idx ? "" : " dense");
    static const sv_tune_ops ops = {prepare, run, release};
    return sv_tune_pick("rsc", shape, cand, names, n, &ops, (void *)d, (double)d->h / t.h, fallback);
}
