// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// rsc_block.c: the RSC residual block as one planned op (rsc.h): the choice of algorithm, the passes and
// the strips (the direct algorithm is rsc_direct.c, the planar one rsc_planar.c).
//
// Workspace, in floats (maps in layout sv_rsc_inner_blk, width w):
//   passes  G [nin, h, w], M [nmid, h, w], Y [nout, h, w]: the whole frame, as one strip without halo rows
//   strips  rows = R + 4*hal (hal = k/2) per strip:
//           G[strip]   nstrips x [nin, rows, w]   each strip's y[S] rows r0 - 2hal .. r0 + R + 2hal - 1
//           M[thread]  nt x [nmid, rows, w]       conv1's output for the strip the thread runs
//           Y[thread]  nt x [nout, rows, w]       conv2's output; rows 2hal .. 2hal + R - 1 are the strip's
//   direct  rsc_direct.c's
//   planar  rsc_planar.c's
// The workspace is shared between blocks: rows of G outside the image and its padding channels are zeroed
// by each run, never assumed.
#include "ops/rsc.h"

#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/layout.h"
#include "ops/conv.h"
#include "ops/conv_internal.h"
#include "ops/ops.h"
#include "ops/rsc_internal.h"
#include "ops/tune.h"

struct sv_rsc_plan {
    sv_rsc_desc d;       // index lists and weights point into the plan's own copies (idx) or nowhere
    int R, rows, hal;    // output rows per strip, rows of a strip's maps, halo of one conv
    int margin;          // map rows above a strip's first output row (2 hal; passes: 0)
    int nstrips, nt;
    int *idx;            // S then K2 (copies), or NULL parts
    size_t g_floats, m_floats, y_floats;  // one map each
    int algo;            // SV_RSC_PASSES, SV_RSC_STRIPS, SV_RSC_DIRECT or SV_RSC_PLANAR
    int ib;              // layout of the block's own maps (G, M, Y)
    sv_conv_plan **conv1, **conv2;  // passes: one each; strips: one per thread (a plan runs one call at a time)
    rsc_direct *direct;             // direct
    rsc_planar *planar;             // planar
    double phase[4];
    char name[96];
};

static int *copy_idx(int *dst, const int *src, int n) {
    if (!src) return NULL;
    memcpy(dst, src, (size_t)n * sizeof(int));
    return dst;
}

static int check(const sv_rsc_desc *d, sv_err *e) {
    if (d->C < 1 || d->h < 1 || d->w < 1 || (d->blk != 8 && d->blk != 16) || d->k < 1 || d->k % 2 == 0 ||
        d->nin < 1 || d->nmid < 1 || d->nout < 1 || d->nin > d->C || d->nout > d->C ||
        (!d->in_idx && d->nin != d->C) || (!d->out_idx && d->nout != d->C))
        return sv_errf(e, "rsc block: bad shape C %d %dx%d blk %d k %d, %d -> %d -> %d channels", d->C, d->h, d->w,
                       d->blk, d->k, d->nin, d->nmid, d->nout);
    const int *lists[2] = {d->in_idx, d->out_idx}, len[2] = {d->nin, d->nout};
    for (int l = 0; l < 2; l++)
        for (int i = 0; lists[l] && i < len[l]; i++)
            if (lists[l][i] < 0 || lists[l][i] >= d->C)
                return sv_errf(e, "rsc block: channel %d of a %d-channel map", lists[l][i], d->C);
    return 0;
}

// The choice, from bench/rsc_bench.c on 2-core Zen 4 EPYC (AVX-512, blk 16, 180x320, 64 channels; ms per block):
//   k -> k -> k      1     2     4     6     8    12    16    24    32    48   31->23->35
//   separate        1.52  1.59  2.10  2.70  3.50  2.28  2.49  5.51  5.51 10.06    6.66
//   passes          1.14  1.51  1.87  1.71  2.00  2.36  2.50  4.09  5.62  9.74    5.60
//   strips          1.19  1.47  2.15  1.48  2.14  2.53  2.76  4.89  6.85 12.13    6.63
//   direct          0.78  0.95  1.51  1.96  4.24  3.44  4.25  9.86 12.58 24.38   11.87
// ("separate": the runner's four passes at y's layout before this file.) The passes at blk 8 are the
// fastest from 6 channels up: the Winograd convs dominate, and with 8 they pad 23 channels to 24, not 32.
// Strips pay for their halo rows and small per-thread convs more than they save in memory traffic.
// The planar algorithm (later), on 2-core Zen 5 EPYC (same sizes; 16 lanes; --avx2: 8 lanes):
//   k -> k -> k      1     2     4     6     8    12    16    20    24    32   31->23->35
//   passes          1.09  1.12  1.46  1.21  1.20  1.95  1.83  3.95  3.98  4.21    5.01
//   direct          0.76  0.89  1.42  1.74  2.28  3.05  3.72  6.57  7.57  8.72    8.45
//   planar          0.18  0.24  0.47  0.73  0.99  1.69  2.51  3.68  4.83  7.82    6.59
//   planar 8 lanes  0.25     -  0.73     -  1.64  2.97  5.25     -     -     -   14.18
// It beats the direct kernel everywhere, and the passes while its work is small against theirs: its time
// grows with its vector FMAs per pixel, 9 * (nin * nmid + nmid * nout) / lanes (about 0.25 ms + 0.0093 ms
// per FMA here), the passes' with the widest map padded to the inner layout (about 1.2 ms up to 8
// channels, 1.9 up to 16, 4 up to 32). Rule: planar while its FMAs per pixel are at most
// PLANAR_FMAS_PER_CHANNEL times that padded width (8 channels: 96, e.g. 8 -> 8 -> 8 at 16 lanes (72) but
// not at 8 (144); 16: 192, 12 -> 12 -> 12 at 16 lanes (162)).
enum { PLANAR_FMAS_PER_CHANNEL = 12 };

// The fixed rule (no wisdom configured): the planar algorithm while its work is small, else the passes.
static int rule(const sv_rsc_desc *d) {
    const int lanes = sv_conv_avx512() ? 16 : 8, ib = sv_rsc_inner_blk(d);
    int widest = d->nin > d->nmid ? d->nin : d->nmid;
    if (d->nout > widest) widest = d->nout;
    const long fmas = 9L * ((long)d->nin * d->nmid + (long)d->nmid * d->nout) / lanes;
    if (sv_rsc_planar_takes(d) && fmas <= (long)PLANAR_FMAS_PER_CHANNEL * sv_cpad(widest, ib)) return SV_RSC_PLANAR;
    return SV_RSC_PASSES;
}

// Whether algorithm a can run d (passes and strips run any block).
static int takes(const sv_rsc_desc *d, int a) {
    return a == SV_RSC_DIRECT ? sv_rsc_direct_takes(d) : a == SV_RSC_PLANAR ? sv_rsc_planar_takes(d) : 1;
}

int sv_rsc_inner_blk(const sv_rsc_desc *d) {
    return sv_conv_avx512() && (d->nin > 8 || d->nmid > 8 || d->nout > 8) ? 16 : 8;
}

// The strip geometry and the sizes of its maps (everything but the plans) from d's shape for algo.
static void layout(sv_rsc_plan *p, const sv_rsc_desc *d, int algo) {
    p->d = *d;
    p->hal = d->k / 2;
    p->R = d->strip_rows > 0 ? d->strip_rows : SV_RSC_STRIP_ROWS;
    if (p->R > d->h) p->R = d->h;
    p->rows = p->R + 4 * p->hal;
    p->margin = 2 * p->hal;
    p->nstrips = (d->h + p->R - 1) / p->R;
    p->nt = d->threads > 0 ? d->threads : omp_get_max_threads();
    if (p->nt > p->nstrips) p->nt = p->nstrips;
    p->algo = algo;
    p->ib = sv_rsc_inner_blk(d);
    if (p->algo == SV_RSC_PASSES) p->R = p->rows = d->h, p->nstrips = 1, p->margin = 0;  // the frame, no halo
    p->g_floats = sv_fmap_floats(d->nin, p->rows, d->w, p->ib);
    p->m_floats = sv_fmap_floats(d->nmid, p->rows, d->w, p->ib);
    p->y_floats = sv_fmap_floats(d->nout, p->rows, d->w, p->ib);
}

// With a wisdom table any algorithm that takes d may be measured fastest: room for the largest.
size_t sv_rsc_workspace(const sv_rsc_desc *d) {
    const int any = d->algo == SV_RSC_AUTO && sv_tune_wisdom();
    size_t most = 0;
    for (int a = SV_RSC_STRIPS; a <= SV_RSC_PLANAR; a++) {
        if (any ? !takes(d, a) : a != (d->algo ? d->algo : rule(d))) continue;
        sv_rsc_plan p;
        layout(&p, d, a);
        const size_t n = sv_rsc_plan_workspace(&p);
        if (n > most) most = n;
    }
    return most;
}

sv_rsc_plan *sv_rsc_plan_create(const sv_rsc_desc *d, sv_err *e) {
    if (check(d, e)) return NULL;
    sv_rsc_plan *p = sv_calloc(1, sizeof *p, e);
    if (!p) return NULL;
    layout(p, d, d->algo != SV_RSC_AUTO ? d->algo : sv_rsc_tune(d, rule(d)));
    if (!(p->idx = sv_malloc((size_t)(d->nin + d->nout) * sizeof(int), e))) goto fail;
    p->d.in_idx = copy_idx(p->idx, d->in_idx, d->nin);
    p->d.out_idx = copy_idx(p->idx + d->nin, d->out_idx, d->nout);
    if (p->algo == SV_RSC_DIRECT && !sv_rsc_direct_takes(d)) {
        sv_errf(e, "rsc block: the direct algorithm does not take %d -> %d -> %d channels at blk %d on this CPU",
                d->nin, d->nmid, d->nout, d->blk);
        goto fail;
    }
    if (p->algo == SV_RSC_PLANAR && !sv_rsc_planar_takes(d)) {
        sv_errf(e, "rsc block: the planar algorithm takes 3x3 convs only, not %dx%d", d->k, d->k);
        goto fail;
    }
    if (p->algo == SV_RSC_DIRECT && (p->direct = sv_rsc_direct_create(&p->d, e))) {
        p->d.w1 = p->d.b1 = p->d.w2 = p->d.b2 = NULL;
        snprintf(p->name, sizeof p->name, "rsc-direct-%s", d->blk == 16 ? "avx512" : "avx2");
        return p;
    }
    if (p->algo == SV_RSC_PLANAR && (p->planar = sv_rsc_planar_create(&p->d, e))) {
        p->d.w1 = p->d.b1 = p->d.w2 = p->d.b2 = NULL;
        snprintf(p->name, sizeof p->name, "rsc-planar-%s", sv_rsc_planar_lanes(p->planar) == 16 ? "avx512" : "avx2");
        return p;
    }
    if (p->algo == SV_RSC_PLANAR) goto fail;
    if (p->algo == SV_RSC_DIRECT) {
        // measured on a block of this shape whose channels it took; this one's it does not (too many moves)
        // (sv_rsc_workspace made room for every algorithm when tuning)
        if (d->algo != SV_RSC_AUTO || !sv_tune_wisdom()) goto fail;
        layout(p, d, SV_RSC_PASSES);
        p->d.in_idx = copy_idx(p->idx, d->in_idx, d->nin);
        p->d.out_idx = copy_idx(p->idx + d->nin, d->out_idx, d->nout);
    }
    const int nplans = p->algo == SV_RSC_STRIPS ? p->nt : 1;
    const sv_conv_desc c1 = {.cin = d->nin, .cout = d->nmid, .k = d->k, .pad = p->hal, .h = p->rows, .w = d->w,
                             .blk = p->ib, .act = 1, .act_slope = 0.0f};
    sv_conv_desc c2 = c1;
    c2.cin = d->nmid, c2.cout = d->nout, c2.act = 0;
    if (!(p->conv1 = sv_calloc((size_t)nplans, sizeof *p->conv1, e)) ||
        !(p->conv2 = sv_calloc((size_t)nplans, sizeof *p->conv2, e)))
        goto fail;
    for (int t = 0; t < nplans; t++)
        if (!(p->conv1[t] = sv_conv_plan_create(&c1, d->w1, d->b1, e)) ||
            !(p->conv2[t] = sv_conv_plan_create(&c2, d->w2, d->b2, e)))
            goto fail;
    p->d.w1 = p->d.b1 = p->d.w2 = p->d.b2 = NULL;  // the conv plans hold their own copies
    if (p->algo == SV_RSC_STRIPS)
        snprintf(p->name, sizeof p->name, "rsc-strips-%d:%s", p->rows, sv_conv_plan_algo(p->conv1[0]));
    else
        snprintf(p->name, sizeof p->name, "rsc-passes:%s", sv_conv_plan_algo(p->conv1[0]));
    return p;
fail:
    sv_rsc_plan_free(p);
    return NULL;
}

size_t sv_rsc_plan_workspace(const sv_rsc_plan *p) {
    if (p->algo == SV_RSC_DIRECT) return sv_rsc_direct_workspace(&p->d);
    if (p->algo == SV_RSC_PLANAR) return sv_rsc_planar_workspace(&p->d);
    const size_t nt = p->algo == SV_RSC_STRIPS ? (size_t)p->nt : 1;
    return (size_t)p->nstrips * p->g_floats + nt * (p->m_floats + p->y_floats);
}

// A strip's map of c channels (rows x w) at data.
static sv_fmap strip_map(const sv_rsc_plan *p, float *data, int c) {
    return sv_fmap_one(data, c, p->rows, p->d.w, p->ib);
}

// Sets rows [y0, y1) of every channel block that view m touches to zero (all of a block's blk channels).
static void zero_rows(sv_fmap m, int y0, int y1) {
    if (y1 <= y0) return;
    for (int b = m.c0 / m.blk; b <= (m.c0 + m.c - 1) / m.blk; b++)
        memset(m.data + (size_t)b * m.plane + (size_t)y0 * m.w * m.blk, 0,
               (size_t)(y1 - y0) * m.w * m.blk * sizeof(float));
}

// The image rows [a, b) that strip s's maps hold (clipped to the image), and the map row of image row 0.
static void strip_rows(const sv_rsc_plan *p, int s, int *a, int *b, int *top) {
    *top = p->margin - s * p->R;  // map row = image row + top
    *a = s * p->R - p->margin;
    *b = *a + p->rows;
    if (*a < 0) *a = 0;
    if (*b > p->d.h) *b = p->d.h;
}

static void gather_strip(const sv_rsc_plan *p, const float *y, float *G, int s) {
    const sv_rsc_desc *d = &p->d;
    int a, b, top;
    strip_rows(p, s, &a, &b, &top);
    const sv_fmap g = strip_map(p, G, d->nin);
    zero_rows(g, 0, a + top);
    zero_rows(g, b + top, p->rows);
    if (d->nin % p->ib)  // the padding channels (the workspace is shared with wider blocks)
        zero_rows(sv_fmap_slice(g, d->nin / p->ib * p->ib, d->nin % p->ib), a + top, b + top);
    const sv_fmap src = sv_fmap_rows(sv_fmap_in(y, d->C, d->h, d->w, d->blk), a, b - a);
    channel_gather(sv_fmap_rows(g, a + top, b - a), src, d->in_idx);
}

// conv1, conv2 and the scatter-add of strip s with the thread's maps M and Y; phase seconds added to t.
static int run_strip(const sv_rsc_plan *p, int th, float *y, const float *G, float *M, float *Y, int s, double t[4],
                     sv_err *e) {
    const sv_rsc_desc *d = &p->d;
    int a, b, top;
    strip_rows(p, s, &a, &b, &top);
    double t0 = omp_get_wtime();
    if (sv_conv_plan_run(p->conv1[th], M, G, NULL, e)) return -1;
    const sv_fmap m = strip_map(p, M, d->nmid);  // conv2 pads conv1's output with zeros outside the image
    zero_rows(m, 0, a + top);
    zero_rows(m, b + top, p->rows);
    double t1 = omp_get_wtime();
    t[1] += t1 - t0;
    if (sv_conv_plan_run(p->conv2[th], Y, M, NULL, e)) return -1;
    double t2 = omp_get_wtime();
    t[2] += t2 - t1;
    const int y0 = s * p->R, n = d->h - y0 < p->R ? d->h - y0 : p->R;
    const sv_fmap dst = sv_fmap_rows(sv_fmap_one(y, d->C, d->h, d->w, d->blk), y0, n);
    channel_scatter_add(dst, sv_fmap_rows(strip_map(p, Y, d->nout), p->margin, n), d->out_idx);
    t[3] += omp_get_wtime() - t2;
    return 0;
}

// The passes: gather, conv1, conv2, scatter-add, each over the whole frame (the convs run in parallel
// inside). The frame is strip 0 of a one-strip layout without halo rows.
static int run_passes(sv_rsc_plan *p, float *y, float *ws, sv_err *e) {
    double t[4] = {0, 0, 0, 0}, t0 = omp_get_wtime();
    gather_strip(p, y, ws, 0);
    t[0] = omp_get_wtime() - t0;
    const int rc = run_strip(p, 0, y, ws, ws + p->g_floats, ws + p->g_floats + p->m_floats, 0, t, e);
    memcpy(p->phase, t, sizeof t);
    return rc;
}

int sv_rsc_plan_run(sv_rsc_plan *p, float *y, float *ws, sv_err *e) {
    if (p->algo == SV_RSC_PASSES) return run_passes(p, y, ws, e);
    if (p->planar) {
        sv_rsc_planar_run(p->planar, y, ws, p->phase);
        return 0;
    }
    if (p->direct) {
        double sec[2] = {0, 0};
        sv_rsc_direct_run(p->direct, y, ws, p->nt, sec);
        p->phase[0] = p->phase[3] = 0;
        p->phase[1] = sec[0];
        p->phase[2] = sec[1];
        return 0;
    }
    float *Mall = ws + (size_t)p->nstrips * p->g_floats, *Yall = Mall + (size_t)p->nt * p->m_floats;
    double t[4] = {0, 0, 0, 0};
    int failed = 0;
#pragma omp parallel num_threads(p->nt)
    {
        const int th = omp_get_thread_num();
        double tt[4] = {0, 0, 0, 0}, t0 = omp_get_wtime();
#pragma omp for schedule(static)
        for (int s = 0; s < p->nstrips; s++) gather_strip(p, y, ws + (size_t)s * p->g_floats, s);
        tt[0] = omp_get_wtime() - t0;  // the barrier's wait included: the gather is what everyone waits for
        sv_err err = {0};
#pragma omp for schedule(dynamic, 1)
        for (int s = 0; s < p->nstrips; s++) {
            if (failed) continue;
            if (run_strip(p, th, y, ws + (size_t)s * p->g_floats, Mall + (size_t)th * p->m_floats,
                          Yall + (size_t)th * p->y_floats, s, tt, &err)) {
#pragma omp critical(sv_rsc_error)
                if (!failed) {
                    failed = 1;
                    if (e) *e = err;
                }
            }
        }
#pragma omp critical(sv_rsc_phase)
        for (int i = 0; i < 4; i++) t[i] += tt[i];
    }
    memcpy(p->phase, t, sizeof t);
    return failed ? -1 : 0;
}

void sv_rsc_plan_phases(const sv_rsc_plan *p, double sec[4]) { memcpy(sec, p->phase, sizeof p->phase); }

const sv_conv_plan *sv_rsc_plan_conv(const sv_rsc_plan *p, int i) {
    if (!p->conv1) return NULL;
    return i ? p->conv2[0] : p->conv1[0];
}

const char *sv_rsc_plan_algo(const sv_rsc_plan *p) { return p->name; }

void sv_rsc_plan_free(sv_rsc_plan *p) {
    if (!p) return;
    sv_rsc_direct_free(p->direct);
    sv_rsc_planar_free(p->planar);
    const int nplans = p->algo == SV_RSC_STRIPS ? p->nt : 1;
    for (int t = 0; t < nplans; t++) {
        if (p->conv1) sv_conv_plan_free(p->conv1[t]);
        if (p->conv2) sv_conv_plan_free(p->conv2[t]);
    }
    free(p->conv1);
    free(p->conv2);
    free(p->idx);
    free(p);
}
