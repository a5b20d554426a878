// test_ops.c: every non-conv op against PyTorch's single-op vectors (tests/data/tiny), and every op in the
// channel-blocked layouts (blk 8, 16) against the same op in plain CHW on odd shapes.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/layout.h"
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

// Blocked layout vs CHW for every layout-generic op, on odd channel counts and sizes.
static float *to_blk(const float *chw, int c, int h, int w, int blk) {
    float *o = calloc(sv_fmap_floats(c, h, w, blk), sizeof(float));
    layout_convert(o, blk, chw, 1, c, h, w);
    return o;
}
static double diff_blk(const float *blkd, const float *chw, int c, int h, int w, int blk) {
    float *o = malloc(sizeof(float) * (size_t)c * h * w);
    layout_convert(o, 1, blkd, blk, c, h, w);
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
                channel_gather(g1, a, idx, mm, c, h, w, 1);
                channel_gather(g2, ab, idx, mm, c, h, w, blk);
                CHECKF(diff_blk(g2, g1, mm, h, w, blk) == 0.0, "gather blk %d", blk);
                for (int i = 0; i < mm; i++)  // gather picked the right channels
                    CHECK(g1[(size_t)i * h * w + 5 % (h * w)] == a[(size_t)idx[i] * h * w + 5 % (h * w)]);
                float *y1 = malloc(n * 4);
                memcpy(y1, a, n * 4);
                float *y2 = to_blk(a, c, h, w, blk);
                channel_scatter_add(y1, g1, idx, mm, c, h, w, 1);
                channel_scatter_add(y2, g2, idx, mm, c, h, w, blk);
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
        channel_copy(cat, ca + cb, 0, blk, a, ca, 0, 1, ca, h, w);
        channel_copy(cat, ca + cb, ca, blk, bb, cb, 0, blk, cb, h, w);
        float plain[16 * 45];
        layout_convert(plain, 1, cat, blk, ca + cb, h, w);
        CHECKF(tu_max_abs_diff(plain, a, sizeof a / 4) == 0.0, "concat part a, blk %d", blk);
        CHECKF(tu_max_abs_diff(plain + 3 * 45, b, sizeof b / 4) == 0.0, "concat part b, blk %d", blk);
        free(cat), free(bb);
    }
    float sum[3 * 45];
    add_forward(sum, a, b, sizeof a / 4);
    for (int i = 0; i < 3 * 45; i++) CHECK(sum[i] == a[i] + b[i]);
}

int main(void) {
    run_test("concat_and_add", test_concat_and_add);
    run_test("warp_zeros_and_border_vs_pytorch", test_warp_zeros_and_border);
    run_test("pixel_shuffle_vs_pytorch", test_pixel_shuffle);
    run_test("bilinear_x4_vs_pytorch", test_bilinear_x4);
    run_test("flow_up2_align_corners_vs_pytorch", test_flow_up2_align_corners);
    run_test("avgpool2_vs_pytorch", test_avgpool2);
    run_test("activation_kinks", test_activation_kinks);
    run_test("layout_roundtrip_and_padding", test_layout_roundtrip_and_padding);
    run_test("blocked_ops_match_chw_on_odd_shapes", test_blocked_matches_chw);
    return test_summary();
}
