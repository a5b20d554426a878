// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// conv_tune.c: a conv plan's backend chosen by measurement (ops/tune.h): the candidates for a shape, each
// checked against the naive reference on a small map of the same channels, then timed on the real shape.
#include <stdio.h>
#include <stdlib.h>

#include "core/layout.h"
#include "ops/conv_internal.h"
#include "ops/ops.h"
#include "ops/tune.h"

// The check's map: at most this many rows and columns (every tile path of the Winograd backends, at a
// cost of a few milliseconds for the naive conv).
enum { CHECK_SIZE = 30 };

typedef struct {
    const sv_conv_desc *d;
    const float *w, *b;
} conv_job;

// The shape a candidate is timed on: d's first SV_TUNE_ROWS rows.
static sv_conv_desc timed_desc(const sv_conv_desc *d) {
    sv_conv_desc t = *d;
    if (t.h > SV_TUNE_ROWS && SV_TUNE_ROWS + 2 * t.pad - t.k + 1 >= 1) t.h = SV_TUNE_ROWS;
    return t;
}

static int imin(int a, int b) { return a < b ? a : b; }

static size_t in_floats(const sv_conv_desc *d) { return sv_fmap_floats(d->cin, d->h, d->w, d->blk); }

// The output's floats: [cout, oh, ow], or [cout / 4, 2 oh, 2 ow] after a pixel shuffle.
static size_t out_floats(const sv_conv_desc *d) {
    const int oh = d->h + 2 * d->pad - d->k + 1, ow = d->w + 2 * d->pad - d->k + 1, s = d->shuffle ? d->shuffle : 1;
    return sv_fmap_floats(d->cout / (s * s), s * oh, s * ow, d->blk);
}

// in (padding channels zero), a residual (when d has one) and zeroed outputs for d; NULL when out of memory.
static float *alloc_maps(const sv_conv_desc *d, float **in, float **res, float **out, int nout, sv_err *e) {
    const size_t ni = in_floats(d), no = out_floats(d);
    float *m = sv_calloc(ni + no * (size_t)(1 + nout), sizeof(float), e);
    if (!m) return NULL;
    *in = m, *res = m + ni, out[0] = *res + no;
    for (int i = 1; i < nout; i++) out[i] = out[i - 1] + no;
    sv_tune_fill(*in, ni, 1);
    channel_zero_padding(sv_fmap_one(*in, d->cin, d->h, d->w, d->blk));
    if (d->residual) sv_tune_fill(*res, no, 2);  // padding channels too: an add leaves them as they were
    return m;
}

// Runs algo and the reference on a small map of d's channels with weights of its own: 0 when they agree,
// 1 when they do not, -1 when either cannot run (e says why).
static int check(const sv_conv_desc *full, int algo, sv_err *e) {
    sv_conv_desc d = *full;
    d.h = imin(d.h, CHECK_SIZE), d.w = imin(d.w, CHECK_SIZE);
    const size_t nw = (size_t)d.cout * d.cin * d.k * d.k;
    float *w = sv_malloc((nw + (size_t)d.cout) * sizeof(float), e), *in, *res, *out[2];
    if (!w) return -1;
    sv_tune_fill(w, nw + (size_t)d.cout, 3);
    for (size_t i = 0; i < nw; i++) w[i] *= 0.1f;  // outputs of order 1, as in a network
    float *maps = alloc_maps(&d, &in, &res, out, 2, e);
    sv_conv_plan *p = maps ? sv_conv_plan_create_algo(&d, w, w + nw, algo, e) : NULL;
    sv_conv_plan *ref = p ? sv_conv_plan_create_algo(&d, w, w + nw, SV_CONV_REF, e) : NULL;
    int r = -1;
    if (ref && !sv_conv_plan_run(p, out[0], in, res, e) && !sv_conv_plan_run(ref, out[1], in, res, e))
        r = sv_tune_agree(out[0], out[1], out_floats(&d), sv_conv_plan_algo(p), e) ? 1 : 0;
    sv_conv_plan_free(p), sv_conv_plan_free(ref);
    free(maps), free(w);
    return r;
}

// A candidate ready to time: its plan on (at most SV_TUNE_ROWS rows of) the real shape, and its maps.
typedef struct {
    sv_conv_plan *plan;
    float *maps, *in, *res, *out;
} ready;

static void release(void *p) {
    ready *r = p;
    sv_conv_plan_free(r->plan);
    free(r->maps);
    free(r);
}

static void *prepare(void *ctx, int algo, int *wrong, sv_err *e) {
    const conv_job *job = ctx;
    const int checked = check(job->d, algo, e);
    *wrong = checked > 0;
    if (checked) return NULL;
    ready *r = sv_calloc(1, sizeof *r, e);
    if (!r) return NULL;
    const sv_conv_desc d = timed_desc(job->d);
    if (!(r->maps = alloc_maps(&d, &r->in, &r->res, &r->out, 1, e)) ||
        !(r->plan = sv_conv_plan_create_algo(&d, job->w, job->b, algo, e))) {
        release(r);
        return NULL;
    }
    return r;
}

static int run(void *p, sv_err *e) {
    ready *r = p;
    return sv_conv_plan_run(r->plan, r->out, r->in, r->res, e);
}

int sv_conv_tune(const sv_conv_desc *d, const float *weight, const float *bias, int fallback) {
    int cand[4], n = 0;
    if (sv_wino_takes(SV_CONV_WINO6, d)) cand[n++] = SV_CONV_WINO6, cand[n++] = SV_CONV_WINO;
    if (sv_wino_takes(SV_CONV_WINO7F4, d)) cand[n++] = SV_CONV_WINO7F4, cand[n++] = SV_CONV_WINO7;
    if (!n) cand[n++] = SV_CONV_DNNL;  // oneDNN's choice is direct where we have no Winograd of our own
    else cand[n++] = SV_CONV_DNNL, cand[n++] = SV_CONV_DNNL_AUTO;
    const char *names[4];
    for (int i = 0; i < n; i++) names[i] = sv_conv_algo_name(cand[i]);
    // keyed by the rows timed: every taller map of the shape (a frame, its row tiles) shares the choice
    const sv_conv_desc t = timed_desc(d);
    char shape[96];
    snprintf(shape, sizeof shape, "%d>%d k%d p%d %dx%d b%d a%d r%d s%d", t.cin, t.cout, t.k, t.pad, t.h, t.w, t.blk,
             t.act, t.residual, t.shuffle);
    const conv_job job = {d, weight, bias};
    static const sv_tune_ops ops = {prepare, run, release};
    return sv_tune_pick("conv", shape, cand, names, n, &ops, (void *)&job, (double)d->h / t.h,
                        fallback);
}
