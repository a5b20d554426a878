// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// test_ops.c: every non-conv op against PyTorch's single-op vectors (tests/data/tiny), and every op in the
// channel-blocked layouts (blk 8, 16) against the same op in plain CHW on odd shapes.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/layout.h"
#include "ops/channels_internal.h"
#include "ops/conv.h"
#include "ops/ops.h"
#include "testutil.h"

#define TOL 1e-5

static float *rd(const char *name, size_t n) {
    char p[256];
    snprintf(p, sizeof p, "tiny/%s", name);
    return tu_read_f32(tu_data(p), n);
}

static void test_warp_zeros_and_border(void) {
    const int c = 16, h = 24, w = 40;
    float *feat = rd("warp_feat_in.f32", (size_t)c * h * w), *fl = rd("warp_flow_in.f32", (size_t)h * w * 2);
    float *ez = rd("warp_out_zeros.f32", (size_t)c * h * w), *eb = rd("warp_out_border.f32", (size_t)c * h * w);
    if (!feat || !fl || !ez || !eb) return;
    float *flow = malloc(sizeof(float) * 2 * h * w), *out = malloc(sizeof(float) * c * h * w);
    for (int i = 0; i < h * w; i++) flow[i] = fl[2 * i], flow[h * w + i] = fl[2 * i + 1];  // (h,w,2) -> (2,h,w)
    flow_warp_forward_ref(out, feat, flow, c, h, w, SV_PAD_ZEROS, 1);
    double dz = tu_max_abs_diff(out, ez, (size_t)c * h * w);
    CHECKF(dz < TOL, "warp zeros max abs diff %g", dz);
    flow_warp_forward_ref(out, feat, flow, c, h, w, SV_PAD_BORDER, 1);
    double db = tu_max_abs_diff(out, eb, (size_t)c * h * w);
    CHECKF(db < TOL, "warp border max abs diff %g", db);
    free(feat), free(fl), free(ez), free(eb), free(flow), free(out);
}

static void test_pixel_shuffle(void) {
    float *in = rd("pixelshuffle_in.f32", 64 * 8 * 12), *ex = rd("pixelshuffle_out.f32", 16 * 16 * 24);
    if (!in || !ex) return;
    float *out = malloc(sizeof(float) * 16 * 16 * 24);
    pixel_shuffle_forward_ref(out, in, 16, 8, 12, 2, 1);
    CHECK(tu_max_abs_diff(out, ex, 16 * 16 * 24) == 0.0);
    pixel_shuffle_forward(out, in, 16, 8, 12, 2, 1);
    CHECK(tu_max_abs_diff(out, ex, 16 * 16 * 24) == 0.0);
    free(in), free(ex), free(out);
}

static void test_bilinear_x4(void) {
    float *in = rd("bilinear_x4_in.f32", 3 * 9 * 14), *ex = rd("bilinear_x4_out.f32", 3 * 36 * 56);
    if (!in || !ex) return;
    float *out = malloc(sizeof(float) * 3 * 36 * 56);
    resize_bilinear_forward(out, in, 3, 9, 14, 36, 56, 0, 1);
    double d = tu_max_abs_diff(out, ex, 3 * 36 * 56);
    CHECKF(d < TOL, "bilinear x4 max abs diff %g", d);
    free(in), free(ex), free(out);
}

static void test_flow_up2_align_corners(void) {
    float *in = rd("flow_up2_in.f32", 2 * 5 * 7), *ex = rd("flow_up2_out.f32", 2 * 10 * 14);
    if (!in || !ex) return;
    float out[2 * 10 * 14];
    resize_bilinear_forward(out, in, 2, 5, 7, 10, 14, 1, 1);
    for (int i = 0; i < 2 * 10 * 14; i++) out[i] *= 2.0f;
    double d = tu_max_abs_diff(out, ex, 2 * 10 * 14);
    CHECKF(d < TOL, "flow x2 align_corners max abs diff %g", d);
    free(in), free(ex);
}

static void test_avgpool2(void) {
    float *in = rd("avgpool2_in.f32", 3 * 12 * 20), *ex = rd("avgpool2_out.f32", 3 * 6 * 10);
    if (!in || !ex) return;
    float out[3 * 6 * 10];
    avgpool2_forward(out, in, 3, 12, 20, 1);
    double d = tu_max_abs_diff(out, ex, 3 * 6 * 10);
    CHECKF(d < TOL, "avgpool max abs diff %g", d);
    free(in), free(ex);
}

static void test_activation_kinks(void) {
    float x[6] = {-2.0f, -0.0f, 0.0f, 1e-30f, -1e-30f, 3.0f};
    act_forward(x, 6, 0.1f);
    CHECK(x[0] == -0.2f && x[1] == 0.0f && x[2] == 0.0f && x[3] == 1e-30f && x[5] == 3.0f);
    CHECK(fabsf(x[4] + 1e-31f) < 1e-37f);
    float y[2] = {-5.0f, 5.0f};
    act_forward(y, 2, 0.0f);
    CHECK(y[0] == 0.0f && y[1] == 5.0f);
}

// The pointwise ops (vector chunks and a scalar tail) against one-float-at-a-time loops, bit for bit, on
// every length up to 3 chunks and a bit, with kinks, signed zeros, infinities and NaN among the values;
// act_backward both accumulating and in place.
static int same_bits(float a, float b) { return !memcmp(&a, &b, sizeof a); }
static void test_pointwise_vs_scalar(void) {
    static const float special[] = {-0.0f, 0.0f, INFINITY, -INFINITY, NAN, 1e-30f, -1e-30f, -2.0f, 3.0f};
    enum { N = 29 };
    float x[N], dy[N], y[N], d[N], want[N];
    uint64_t st = 7;
    int bad = 0;
    for (int n = 0; n <= N; n++)
        for (int slope10 = 0; slope10 <= 2; slope10++) {
            const float slope = slope10 * 0.1f;
            tu_fill_uniform(x, N, -1, 1, &st), tu_fill_uniform(dy, N, -1, 1, &st), tu_fill_uniform(y, N, -1, 1, &st);
            for (int i = 0; i < N; i += 3) x[i] = special[(i + n) % 9], y[(i + 1) % N] = special[(i + 2 * n) % 9];
            memcpy(d, x, sizeof d);
            act_forward(d, (size_t)n, slope);
            for (int i = 0; i < n; i++) bad += !same_bits(d[i], x[i] >= 0.0f ? x[i] : slope * x[i]);
            memcpy(d, x, sizeof d);
            act_backward(d, dy, y, (size_t)n, slope);  // d += dy * act'(y)
            for (int i = 0; i < n; i++) bad += !same_bits(d[i], x[i] + (y[i] > 0.0f ? dy[i] : slope * dy[i]));
            memcpy(d, dy, sizeof d);
            act_backward(d, d, y, (size_t)n, slope);  // in place: d = dy * act'(y)
            for (int i = 0; i < n; i++) bad += !same_bits(d[i], y[i] > 0.0f ? dy[i] : slope * dy[i]);
            memcpy(d, x, sizeof d), memcpy(want, x, sizeof want);
            accumulate(d, dy, (size_t)n);
            for (int i = 0; i < n; i++) bad += !same_bits(d[i], want[i] + dy[i]);
            for (int i = n; i < N; i++) bad += !same_bits(d[i], x[i]);  // nothing past n written
        }
    CHECKF(bad == 0, "%d elements differ from the scalar loops", bad);
}

// Blocked layout vs CHW for every layout-generic op, on odd channel counts and sizes.
static float *to_blk(const float *chw, int c, int h, int w, int blk) {
    float *o = calloc(sv_fmap_floats(c, h, w, blk), sizeof(float));
    layout_convert(sv_fmap_one(o, c, h, w, blk), sv_fmap_in(chw, c, h, w, 1));
    return o;
}
static double diff_blk(const float *blkd, const float *chw, int c, int h, int w, int blk) {
    float *o = malloc(sizeof(float) * (size_t)c * h * w);
    layout_convert(sv_fmap_one(o, c, h, w, 1), sv_fmap_in(blkd, c, h, w, blk));
    double d = tu_max_abs_diff(o, chw, (size_t)c * h * w);
    free(o);
    return d;
}

static void test_blocked_matches_chw(void) {
    static const int cs[] = {3, 13, 37};
    static const int hs[][2] = {{5, 7}, {23, 41}, {9, 33}};
    uint64_t st = 42;
    for (int bi = 0; bi < 2; bi++) {
        int blk = bi ? 16 : 8;
        for (int ci = 0; ci < 3; ci++)
            for (int si = 0; si < 3; si++) {
                int c = cs[ci], h = hs[si][0], w = hs[si][1];
                size_t n = (size_t)c * h * w;
                float *a = malloc(n * 4), *fl = malloc(sizeof(float) * 2 * h * w);
                tu_fill_uniform(a, n, -1, 1, &st);
                tu_fill_uniform(fl, 2 * (size_t)h * w, -4, 4, &st);
                float *ab = to_blk(a, c, h, w, blk);
                // warp
                float *r1 = malloc(n * 4), *r2 = calloc(sv_fmap_floats(c, h, w, blk), 4);
                for (int pad = 0; pad < 2; pad++) {
                    flow_warp_forward_ref(r1, a, fl, c, h, w, pad, 1);
                    flow_warp_forward(r2, ab, fl, c, h, w, pad, blk);
                    CHECKF(diff_blk(r2, r1, c, h, w, blk) < 1e-6, "warp blk %d c %d %dx%d", blk, c, h, w);
                    flow_warp_forward_ref(r2, ab, fl, c, h, w, pad, blk);
                    CHECKF(diff_blk(r2, r1, c, h, w, blk) == 0.0, "warp ref blk %d c %d %dx%d", blk, c, h, w);
                    flow_warp_forward(r2, a, fl, c, h, w, pad, 1);
                    CHECKF(diff_blk(r2, r1, c, h, w, 1) < 1e-6, "warp fast chw c %d %dx%d", c, h, w);
                }
                // resize both modes to an odd size
                int oh = 2 * h + 3, ow = w + 5;
                float *s1 = malloc(sizeof(float) * c * oh * ow), *s2 = calloc(sv_fmap_floats(c, oh, ow, blk), 4);
                for (int ac = 0; ac < 2; ac++) {
                    resize_bilinear_forward(s1, a, c, h, w, oh, ow, ac, 1);
                    resize_bilinear_forward(s2, ab, c, h, w, oh, ow, ac, blk);
                    CHECKF(diff_blk(s2, s1, c, oh, ow, blk) == 0.0, "resize blk %d", blk);
                }
                // avgpool
                avgpool2_forward(r1, a, c, h, w, 1);
                avgpool2_forward(r2, ab, c, h, w, blk);
                CHECKF(diff_blk(r2, r1, c, h / 2, w / 2, blk) == 0.0, "avgpool blk %d", blk);
                // pixel shuffle: c*4 channels in
                float *p4 = malloc(n * 16), *q1 = malloc(n * 16);
                tu_fill_uniform(p4, n * 4, -1, 1, &st);
                float *p4b = to_blk(p4, 4 * c, h, w, blk), *q2 = calloc(sv_fmap_floats(c, 2 * h, 2 * w, blk), 4);
                pixel_shuffle_forward_ref(q1, p4, c, h, w, 2, 1);
                pixel_shuffle_forward(q2, p4b, c, h, w, 2, blk);
                CHECKF(diff_blk(q2, q1, c, 2 * h, 2 * w, blk) == 0.0, "pixel shuffle blk %d", blk);
                pixel_shuffle_forward_ref(q2, p4b, c, h, w, 2, blk);
                CHECKF(diff_blk(q2, q1, c, 2 * h, 2 * w, blk) == 0.0, "pixel shuffle ref blk %d", blk);
                float *q3 = malloc(n * 16);
                pixel_shuffle_forward(q3, p4, c, h, w, 2, 1);
                CHECKF(tu_max_abs_diff(q3, q1, n * 4) == 0.0, "pixel shuffle fast chw c %d", c);
                free(q3);
                // gather / scatter-add with a permuted subset
                int idx[37], m = (c + 1) / 2;
                for (int i = 0; i < m; i++) idx[i] = (i * 7 + 3) % c;
                for (int i = 0; i < m; i++)
                    for (int j = 0; j < i; j++)
                        if (idx[j] == idx[i]) idx[i] = -1;
                int mm = 0;
                for (int i = 0; i < m; i++)
                    if (idx[i] >= 0) idx[mm++] = idx[i];
                float *g1 = calloc(n, 4), *g2 = calloc(sv_fmap_floats(c, h, w, blk), 4);
                channel_gather(sv_fmap_one(g1, mm, h, w, 1), sv_fmap_in(a, c, h, w, 1), idx);
                channel_gather(sv_fmap_one(g2, mm, h, w, blk), sv_fmap_in(ab, c, h, w, blk), idx);
                CHECKF(diff_blk(g2, g1, mm, h, w, blk) == 0.0, "gather blk %d", blk);
                for (int i = 0; i < mm; i++)  // gather picked the right channels
                    CHECK(g1[(size_t)i * h * w + 5 % (h * w)] == a[(size_t)idx[i] * h * w + 5 % (h * w)]);
                float *y1 = malloc(n * 4);
                memcpy(y1, a, n * 4);
                float *y2 = to_blk(a, c, h, w, blk);
                channel_scatter_add(sv_fmap_one(y1, c, h, w, 1), sv_fmap_in(g1, mm, h, w, 1), idx);
                channel_scatter_add(sv_fmap_one(y2, c, h, w, blk), sv_fmap_in(g2, mm, h, w, blk), idx);
                CHECKF(diff_blk(y2, y1, c, h, w, blk) == 0.0, "scatter-add blk %d", blk);
                for (int i = 0; i < mm; i++)  // scatter-add doubled the gathered channels, left others alone
                    CHECK(y1[(size_t)idx[i] * h * w] == 2 * a[(size_t)idx[i] * h * w]);
                free(a), free(fl), free(ab), free(r1), free(r2), free(s1), free(s2), free(p4), free(q1), free(p4b);
                free(q2), free(g1), free(g2), free(y1), free(y2);
            }
    }
}

static void test_layout_roundtrip_and_padding(void) {
    const int c = 13, h = 3, w = 5, blk = 8;
    float a[13 * 15];
    uint64_t st = 7;
    tu_fill_uniform(a, 13 * 15, -1, 1, &st);
    float *b = to_blk(a, c, h, w, blk);
    // padding channels 13..15 are zero; channel 9 at (1,2) sits at ((1*3+1)*5+2)*8+1
    for (int p = 0; p < h * w; p++)
        for (int cc = 13; cc < 16; cc++) CHECK(b[(size_t)(h * w + p) * blk + cc - 8] == 0.0f);
    CHECK(b[((1 * h + 1) * w + 2) * blk + 1] == a[9 * 15 + 1 * 5 + 2]);
    CHECK(diff_blk(b, a, c, h, w, blk) == 0.0);
    free(b);
}

// concat = two channel copies; add; both across layouts, odd channel counts
static void test_concat_and_add(void) {
    const int h = 5, w = 9, ca = 3, cb = 13;
    float a[3 * 45], b[13 * 45];
    uint64_t st = 9;
    tu_fill_uniform(a, sizeof a / 4, -1, 1, &st);
    tu_fill_uniform(b, sizeof b / 4, -1, 1, &st);
    for (int blk = 1; blk <= 16; blk *= 2) {
        if (blk == 2 || blk == 4) continue;
        float *cat = calloc(sv_fmap_floats(ca + cb, h, w, blk), 4);
        float *bb = to_blk(b, cb, h, w, blk);
        const sv_fmap cv = sv_fmap_one(cat, ca + cb, h, w, blk);
        channel_copy(sv_fmap_slice(cv, 0, ca), sv_fmap_in(a, ca, h, w, 1));
        channel_copy(sv_fmap_slice(cv, ca, cb), sv_fmap_in(bb, cb, h, w, blk));
        float plain[16 * 45];
        layout_convert(sv_fmap_one(plain, ca + cb, h, w, 1), cv);
        CHECKF(tu_max_abs_diff(plain, a, sizeof a / 4) == 0.0, "concat part a, blk %d", blk);
        CHECKF(tu_max_abs_diff(plain + 3 * 45, b, sizeof b / 4) == 0.0, "concat part b, blk %d", blk);
        free(cat), free(bb);
    }
    float sum[3 * 45];
    add_forward(sum, a, b, sizeof a / 4);
    for (int i = 0; i < 3 * 45; i++) CHECK(sum[i] == a[i] + b[i]);
}

// ---- the channel ops on views (core/layout.h) against a naive loop over every element, on batches of
// odd shapes: every pair of layouts (blk 1, 8, 16), channel windows at odd offsets, a batch whose maps
// are not back to back. The whole destination buffer is compared, so what lies outside the window
// (other channels, padding, the gaps between maps) must be left as it was. ----

// element (s, i, y, x) of a view, by the layout formula
static float *elem(sv_fmap v, int s, int i, int y, int x) {
    return v.data + (size_t)s * v.stride + sv_fmap_index(v.c0 + i, y, x, v.h, v.w, v.blk);
}

// n maps of c channels in layout blk, gap floats between them, every float random (padding and gaps too)
static sv_fmap rand_maps(int c, int h, int w, int blk, int n, size_t gap, uint64_t *st) {
    const size_t stride = sv_fmap_floats(c, h, w, blk) + gap, total = stride * (size_t)n;
    float *p = malloc(total * sizeof(float));
    tu_fill_uniform(p, total, -1, 1, st);
    return sv_fmap_strided(sv_fmap_batch(p, c, h, w, blk, n), n, stride);
}

static size_t view_floats(sv_fmap v) { return v.stride * (size_t)v.n; }

static float *copy_of(sv_fmap v) {
    float *p = malloc(view_floats(v) * sizeof(float));
    memcpy(p, v.data, view_floats(v) * sizeof(float));
    return p;
}

enum { COPY, COPY_BACKWARD, GATHER, SCATTER_ADD, SCATTER_ADD_BACKWARD, NOPS };
static const char *op_names[NOPS] = {"copy", "copy_backward", "gather", "scatter_add", "scatter_add_backward"};

// The op on views: dst is written; idx (n_idx distinct channels of the view it indexes) for the RSC ops.
static void run_op(int op, sv_fmap dst, sv_fmap src, const int *idx) {
    if (op == COPY) channel_copy(dst, src);
    if (op == COPY_BACKWARD) channel_copy_backward(dst, src);
    if (op == GATHER) channel_gather(dst, src, idx);
    if (op == SCATTER_ADD) channel_scatter_add(dst, src, idx);
    if (op == SCATTER_ADD_BACKWARD) channel_scatter_add_backward(dst, src, idx);
}

// The same op, one element at a time, into exp (a copy of dst's buffer).
static void naive_op(int op, sv_fmap dst, float *exp, sv_fmap src, const int *idx, int nc) {
    sv_fmap e = dst;
    e.data = exp;
    for (int s = 0; s < dst.n; s++)
        for (int i = 0; i < nc; i++)
            for (int y = 0; y < dst.h; y++)
                for (int x = 0; x < dst.w; x++) {
                    const int di = op == SCATTER_ADD ? idx[i] : i;
                    const int si = op == GATHER || op == SCATTER_ADD_BACKWARD ? idx[i] : i;
                    const float v = *elem(src, s, si, y, x);
                    if (op == COPY || op == GATHER) *elem(e, s, di, y, x) = v;
                    else *elem(e, s, di, y, x) += v;
                }
}

static void test_views_vs_naive(void) {
    static const int blks[] = {1, 8, 16};
    static const int idx[] = {11, 2, 7, 0, 5};  // distinct channels of a 13-channel window
    const int h = 5, w = 7, n = 3, nidx = 5;
    uint64_t st = 17;
    for (int op = 0; op < NOPS; op++)
        for (int bd = 0; bd < 3; bd++)
            for (int bs = 0; bs < 3; bs++) {
                // dst: 37 channels, window at 5; src: 29 channels, window at 3, its maps 11 floats apart
                sv_fmap dmap = rand_maps(37, h, w, blks[bd], n, 0, &st);
                sv_fmap smap = rand_maps(29, h, w, blks[bs], n, 11, &st);
                const int scatter = op == SCATTER_ADD, gathered = op == GATHER || op == SCATTER_ADD_BACKWARD;
                // the RSC ops index a 13-channel window on their full-map side and write/read nidx channels
                const int nc = op == COPY || op == COPY_BACKWARD ? 13 : nidx;
                const sv_fmap dst = sv_fmap_slice(dmap, 5, scatter ? 13 : nc);
                const sv_fmap src = sv_fmap_slice(smap, 3, gathered ? 13 : nc);
                float *exp = copy_of(dmap);
                naive_op(op, dst, exp + (dst.data - dmap.data), src, idx, nc);
                run_op(op, dst, src, idx);
                CHECKF(memcmp(exp, dmap.data, view_floats(dmap) * sizeof(float)) == 0, "%s blk %d <- %d",
                       op_names[op], blks[bd], blks[bs]);
                free(exp), free(dmap.data), free(smap.data);
            }
    // layout_convert on a batch: the whole maps, padding zeroed
    for (int bd = 0; bd < 3; bd++) {
        sv_fmap in = rand_maps(13, h, w, 1, n, 0, &st), out = rand_maps(13, h, w, blks[bd], n, 0, &st);
        layout_convert(out, in);
        int ok = 1;
        for (int s = 0; s < n; s++)
            for (int c = 0; c < sv_cpad(13, blks[bd]); c++)
                for (int y = 0; y < h; y++)
                    for (int x = 0; x < w; x++)
                        ok &= *elem(out, s, c, y, x) == (c < 13 ? *elem(in, s, c, y, x) : 0.0f);
        CHECKF(ok, "layout_convert batch blk %d", blks[bd]);
        free(in.data), free(out.data);
    }
    // a view helper: map s, channel i of a slice
    float buf[2 * 16 * 6];
    const sv_fmap v = sv_fmap_slice(sv_fmap_batch(buf, 13, 2, 3, 8, 2), 9, 4);
    CHECK(v.stride == 16 * 6 && sv_fmap_channel(v, 1, 2) == buf + 96 + 6 * 8 + 3);
    CHECK(sv_fmap_sample(v, 1).data == buf + 96 && sv_fmap_sample(v, 1).n == 1 && sv_fmap_sample(v, 1).c0 == 9);
}

// ---- the blocked channel move (ops/channels_internal.h) on each instruction set against the naive loop:
// random distinct index lists and runs of channels, odd channel counts, every pair of layouts (blk 1
// among them: the scalar path), windows at odd offsets, a batch of 3 with gaps between the maps, odd
// sizes; gather-like copies (src indexed), scatter-adds (dst indexed), and both sides indexed. The
// destination buffers hold -0.0 and NaNs outside the window too, and are compared bit for bit whole. ----

static int rand_below(int n, uint64_t *st) {
    float f;
    tu_fill_uniform(&f, 1, 0, 1, st);
    const int r = (int)(f * (float)n);
    return r < n ? r : n - 1;
}

// nc distinct channels of 0 .. cf-1: a random subset in random order (pattern 0), a run from a random
// start (1), or a run backwards (2)
static void rand_index(int *idx, int nc, int cf, int pattern, uint64_t *st) {
    const int start = rand_below(cf - nc + 1, st);
    for (int i = 0; i < nc; i++) idx[i] = pattern == 1 ? start + i : pattern == 2 ? start + nc - 1 - i : i;
    if (pattern != 0) return;
    int *all = malloc((size_t)cf * sizeof(int));
    for (int c = 0; c < cf; c++) all[c] = c;
    for (int i = 0; i < nc; i++) {  // a partial Fisher-Yates shuffle
        const int j = i + rand_below(cf - i, st), t = all[i];
        all[i] = all[j], all[j] = t;
        idx[i] = all[i];
    }
    free(all);
}

// -0.0 and NaNs (with a payload) among the floats of a destination buffer
static void plant_specials(float *p, size_t n) {
    const uint32_t nan_bits = 0x7fc01234u;
    float nan;
    memcpy(&nan, &nan_bits, sizeof nan);
    for (size_t i = 0; i < n; i += 7) p[i] = -0.0f;
    for (size_t i = 3; i < n; i += 29) p[i] = nan;
}

enum { MV_GATHER, MV_SCATTER_ADD, MV_BOTH_COPY, MV_BOTH_ADD, MV_NKINDS };
static const char *mv_names[MV_NKINDS] = {"gather", "scatter-add", "indexed copy", "indexed add"};

// One case; returns whether the vector kernels took it (sv_move_plan_make), -1 after a failed check.
static int move_case(int isa, int kind, int bd, int bs, int nc, int h, int w, int pattern, uint64_t *st) {
    const int add = kind == MV_SCATTER_ADD || kind == MV_BOTH_ADD;
    const int dix = kind != MV_GATHER, six = kind != MV_SCATTER_ADD;  // which sides are indexed
    // an indexed side is a window of cf >= nc channels at c0 of a wider map; the other a window of nc
    const int cfd = dix ? nc + rand_below(9, st) : nc, cfs = six ? nc + rand_below(9, st) : nc;
    const int c0d = rand_below(6, st), c0s = rand_below(6, st), n = 3;
    sv_fmap dmap = rand_maps(c0d + cfd + rand_below(3, st), h, w, bd, n, (size_t)rand_below(20, st), st);
    sv_fmap smap = rand_maps(c0s + cfs + rand_below(3, st), h, w, bs, n, (size_t)rand_below(20, st), st);
    plant_specials(dmap.data, view_floats(dmap));
    const sv_fmap dst = sv_fmap_slice(dmap, c0d, cfd), src = sv_fmap_slice(smap, c0s, cfs);
    int *di = malloc((size_t)nc * sizeof(int)), *si = malloc((size_t)nc * sizeof(int));
    rand_index(di, nc, cfd, pattern, st);
    rand_index(si, nc, cfs, (pattern + 1) % 3, st);
    // the naive loop
    float *exp = copy_of(dmap);
    sv_fmap e = dst;
    e.data = exp + (dst.data - dmap.data);
    for (int s = 0; s < n; s++)
        for (int i = 0; i < nc; i++)
            for (int y = 0; y < h; y++)
                for (int x = 0; x < w; x++) {
                    const float v = *elem(src, s, six ? si[i] : i, y, x);
                    float *o = elem(e, s, dix ? di[i] : i, y, x);
                    *o = add ? *o + v : v;
                }
    sv_move_channels(dst, dix ? di : NULL, src, six ? si : NULL, nc, add, isa);
    const int same = memcmp(exp, dmap.data, view_floats(dmap) * sizeof(float)) == 0;
    CHECKF(same, "%s isa %d blk %d <- %d, %d channels, %dx%d, index pattern %d", mv_names[kind], isa, bd, bs, nc,
           h, w, pattern);
    sv_move_plan mp;
    void *mem = malloc(sv_move_plan_bytes(nc));
    const int took = isa != SV_MOVE_SCALAR &&
                     sv_move_plan_make(&mp, dst, dix ? di : NULL, src, six ? si : NULL, nc, add, isa, mem) == 0;
    free(mem), free(exp), free(di), free(si), free(dmap.data), free(smap.data);
    return same ? took : -1;
}

static void test_moves_vs_naive(void) {
    static const int blks[] = {1, 8, 16}, ncs[] = {1, 3, 7, 9, 17, 23, 31, 35, 64};
    static const int sizes[][2] = {{5, 7}, {3, 67}};
    const int have512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl");
    if (!have512) printf("  AVX-512 move kernels skipped: this CPU lacks AVX-512F/VL\n");
    uint64_t st = 2024;
    for (int isa = SV_MOVE_SCALAR; isa <= SV_MOVE_AVX512; isa++) {
        if (isa == SV_MOVE_AVX512 && !have512) continue;
        int cases = 0, took = 0, failed = 0;
        for (int kind = 0; kind < MV_NKINDS; kind++)
            for (int bd = 0; bd < 3; bd++)
                for (int bs = 0; bs < 3; bs++)
                    for (size_t ci = 0; ci < sizeof ncs / sizeof *ncs; ci++)
                        for (int si = 0; si < 2; si++) {
                            const int r = move_case(isa, kind, blks[bd], blks[bs], ncs[ci], sizes[si][0],
                                                    sizes[si][1], (int)(cases % 3), &st);
                            cases++;
                            if (r < 0) failed++;
                            else took += r;
                        }
        printf("  %s: %d cases, %d on the vector kernels, %d failed\n",
               isa == SV_MOVE_SCALAR ? "scalar" : isa == SV_MOVE_AVX2 ? "AVX2" : "AVX-512", cases, took, failed);
        // blocked on both sides: 4 of 9 layout pairs; the vector kernels must take most of them
        if (isa != SV_MOVE_SCALAR) CHECKF(took > cases / 4, "isa %d: only %d of %d cases vectorised", isa, took, cases);
    }
    // the ops pick AVX-512 where the CPU has it, AVX2 when configured so
    sv_err err;
    CHECK(sv_move_isa() == (have512 ? SV_MOVE_AVX512 : SV_MOVE_AVX2));
    CHECK(sv_conv_configure(&(sv_conv_config){.avx2_only = 1}, &err) == 0);
    CHECK(sv_move_isa() == SV_MOVE_AVX2);
    CHECK(sv_conv_configure(&(sv_conv_config){0}, &err) == 0);
}

int main(void) {
    run_test("concat_and_add", test_concat_and_add);
    run_test("channel_ops_on_views_vs_naive", test_views_vs_naive);
    run_test("channel_moves_per_isa_vs_naive", test_moves_vs_naive);
    run_test("warp_zeros_and_border_vs_pytorch", test_warp_zeros_and_border);
    run_test("pixel_shuffle_vs_pytorch", test_pixel_shuffle);
    run_test("bilinear_x4_vs_pytorch", test_bilinear_x4);
    run_test("flow_up2_align_corners_vs_pytorch", test_flow_up2_align_corners);
    run_test("avgpool2_vs_pytorch", test_avgpool2);
    run_test("activation_kinks", test_activation_kinks);
    run_test("pointwise_vs_scalar_bit_for_bit", test_pointwise_vs_scalar);
    run_test("layout_roundtrip_and_padding", test_layout_roundtrip_and_padding);
    run_test("blocked_ops_match_chw_on_odd_shapes", test_blocked_matches_chw);
    return test_summary();
}
