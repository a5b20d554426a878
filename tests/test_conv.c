// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// test_conv.c: conv2d_forward_ref against hand-computed values, then every conv plan backend (own
// Winograd, oneDNN direct, oneDNN auto, reference, and the automatic choice) against conv2d_forward_ref
// on odd shapes, all layouts, all epilogues (act none/ReLU/LeakyReLU, residual none/separate/aliased).
//
// Tolerance: each output is compared with the double-precision reference under
//   |got - ref| <= rtol * (mag + |residual|) + 1e-30,  mag = conv_ref(|in|, |w|, |b|)
// where mag is the sum of the absolute values of the terms that make the output, i.e. the scale of fp32
// rounding error. An fp32 dot product of K terms errs by at most ~K*eps*mag (eps = 6e-8) and typically
// by sqrt(K)*eps*mag. rtol = 1e-5, and 5e-5 for Winograd F(6x6,3x3), whose transforms (entries up to 32
// and 21/4) amplify rounding more (F(2x2,7x7) has the same B^T but an A^T with entries <= 2: it measures
// ~2e-6, like F(4x4,3x3)); 1e-4 for F(4x4,7x7) (10-point transforms, B^T entries up to 273/16: measures
// 5.1e-5). The worst ratios measured are printed at the end.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/layout.h"
#include "ops/conv.h"
#include "ops/conv_internal.h"
#include "testutil.h"

#define RTOL 1e-5
#define RTOL_WINO6 5e-5
#define RTOL_WINO7F4 1e-4

static uint64_t rng = 12345;
static double worst[SV_CONV_NALGO];  // worst err/mag ratio seen per algorithm id

// ---- conv_ref against hand-computed cases ----

static void test_ref_hand(void) {
    // 1) cin 2, cout 1, 3x3 image, k 3, pad 1. Channel 0 is 1..9 and meets an identity kernel; channel 1 is
    // all ones and meets an all-ones kernel, so it counts the in-image taps. Bias 0.5.
    float in[2 * 9], w[18] = {0}, b = 0.5f, out[9];
    for (int i = 0; i < 9; i++) in[i] = (float)(i + 1), in[9 + i] = 1.0f;
    w[4] = 1.0f;
    for (int i = 9; i < 18; i++) w[i] = 1.0f;
    const float count[9] = {4, 6, 4, 6, 9, 6, 4, 6, 4};
    conv2d_forward_ref(out, in, w, &b, 2, 1, 3, 3, 3, 1, 1);
    for (int i = 0; i < 9; i++) CHECKF(out[i] == in[i] + count[i] + 0.5f, "ref pixel %d: %g", i, out[i]);

    // 2) cin 1, cout 1, 3x4 image in[y][x] = 10y + x, kernel 1..9 row-major, pad 0 -> 1x2 output.
    // Cross-correlation (no kernel flip): out[0][0] = sum w[ky][kx] (10ky + kx) = 630 + 51 = 681,
    // out[0][1] = 681 + sum(w) = 726.
    float im[12], k9[9], o2[2];
    for (int y = 0; y < 3; y++)
        for (int x = 0; x < 4; x++) im[y * 4 + x] = (float)(10 * y + x);
    for (int i = 0; i < 9; i++) k9[i] = (float)(i + 1);
    conv2d_forward_ref(o2, im, k9, NULL, 1, 1, 3, 4, 3, 0, 1);
    CHECKF(o2[0] == 681.0f && o2[1] == 726.0f, "ref valid conv: %g %g (want 681 726)", o2[0], o2[1]);

    // 3) case 1 in the blocked layout blk 8: same values at channel 0, padding channels 1..7 zero.
    float inb[8 * 9] = {0}, outb[8 * 9];
    for (int i = 0; i < 9; i++) inb[i * 8] = in[i], inb[i * 8 + 1] = 1.0f;
    for (int i = 0; i < 8 * 9; i++) outb[i] = NAN;
    conv2d_forward_ref(outb, inb, w, &b, 2, 1, 3, 3, 3, 1, 8);
    for (int i = 0; i < 9; i++) {
        CHECKF(outb[i * 8] == out[i], "blk 8 pixel %d: %g vs %g", i, outb[i * 8], out[i]);
        for (int c = 1; c < 8; c++) CHECKF(outb[i * 8 + c] == 0.0f, "blk 8 padding channel %d not zero", c);
    }
}

// ---- random cases ----

// A random feature map in layout blk with zero padding channels.
static float *rand_fmap(int c, int h, int w, int blk, float lo, float hi) {
    float *x = calloc(sv_fmap_floats(c, h, w, blk), sizeof(float));
    float *plain = malloc((size_t)c * h * w * sizeof(float));
    tu_fill_uniform(plain, (size_t)c * h * w, lo, hi, &rng);
    for (int i = 0; i < c; i++)
        for (int p = 0; p < h * w; p++) x[sv_fmap_index(i, p / w, p % w, h, w, blk)] = plain[(size_t)i * h * w + p];
    free(plain);
    return x;
}

static const char *algo_names[SV_CONV_NALGO] = {"auto", "wino", "dnnl", "dnnl_auto", "ref", "wino6", "wino7", "wino7f4"};

static double algo_rtol(int id) { return id == SV_CONV_WINO6 ? RTOL_WINO6 : id == SV_CONV_WINO7F4 ? RTOL_WINO7F4 : RTOL; }

// One shape: the reference once, then every backend that takes the shape, each with three of the nine
// epilogues (act none/ReLU/LeakyReLU x residual none/separate/aliased), rotating with variant0. shuffle 2:
// the plan's output goes through a 2x pixel shuffle (no residual then), checked against the reference
// conv read at the shuffled positions.
static void check_case_shuffle(int cin, int cout, int h, int w, int k, int pad, int blk, int variant0, int shuffle) {
    const int oh = h + 2 * pad - k + 1, ow = w + 2 * pad - k + 1, s = shuffle ? 2 : 1, sc = cout / (s * s);
    if (oh < 1 || ow < 1) return;
    const size_t nin = sv_fmap_floats(cin, h, w, blk), nout = sv_fmap_floats(cout, oh, ow, blk);
    const size_t nsout = sv_fmap_floats(sc, s * oh, s * ow, blk);  // the plan's output, shuffled or not
    const size_t nw = (size_t)cout * cin * k * k;
    float *in = rand_fmap(cin, h, w, blk, -1.0f, 1.0f);
    float *wt = malloc(nw * sizeof(float)), *b = malloc(cout * sizeof(float));
    tu_fill_uniform(wt, nw, -0.5f, 0.5f, &rng);
    tu_fill_uniform(b, cout, -0.5f, 0.5f, &rng);
    float *ref = malloc(nout * sizeof(float)), *mag = malloc(nout * sizeof(float));
    float *res = rand_fmap(cout, oh, ow, blk, -2.0f, 2.0f), *out = malloc((nsout > nout ? nsout : nout) * sizeof(float));
    conv2d_forward_ref(ref, in, wt, b, cin, cout, h, w, k, pad, blk);
    {  // magnitudes: the same conv on absolute values
        float *ain = malloc(nin * sizeof(float)), *aw = malloc(nw * sizeof(float)), *ab = malloc(cout * sizeof(float));
        for (size_t i = 0; i < nin; i++) ain[i] = fabsf(in[i]);
        for (size_t i = 0; i < nw; i++) aw[i] = fabsf(wt[i]);
        for (int i = 0; i < cout; i++) ab[i] = fabsf(b[i]);
        conv2d_forward_ref(mag, ain, aw, ab, cin, cout, h, w, k, pad, blk);
        free(ain), free(aw), free(ab);
    }
    for (int algo = SV_CONV_AUTO; algo < SV_CONV_NALGO; algo++) {
        if ((algo == SV_CONV_WINO || algo == SV_CONV_WINO6) && !(k == 3 && blk != 1)) continue;
        if ((algo == SV_CONV_WINO7 || algo == SV_CONV_WINO7F4) && !(k == 7 && blk != 1)) continue;
        if (algo == SV_CONV_REF && (size_t)cin * k * k * nout > 2000000) continue;  // slow; small shapes do
        for (int v = 0; v < 3; v++) {
            const int variant = (variant0 + v * 4 + algo) % 9, act = variant % 3, resmode = shuffle ? 0 : variant / 3;
            sv_conv_desc d = {.cin = cin, .cout = cout, .k = k, .pad = pad, .h = h, .w = w, .blk = blk,
                              .act = act != 0, .act_slope = act == 2 ? 0.1f : 0.0f, .residual = resmode != 0,
                              .shuffle = shuffle};
            sv_err e = {{0}};
            sv_conv_plan *p = sv_conv_plan_create_algo(&d, wt, b, algo, &e);
            CHECKF(p != NULL, "plan %s cin %d cout %d %dx%d k %d: %s", algo_names[algo], cin, cout, h, w, k, e.msg);
            if (!p) continue;
            // resmode 1: residual in its own buffer; 2: aliased (out holds the residual)
            if (resmode == 2) memcpy(out, res, nout * sizeof(float));
            else
                for (size_t i = 0; i < nsout; i++) out[i] = NAN;
            CHECKF(sv_conv_plan_run(p, out, in, resmode == 1 ? res : resmode == 2 ? out : NULL, &e) == 0, "run: %s",
                   e.msg);
            const float slope = d.act_slope;
            const int id = sv_conv_plan_algo_id(p);
            const double rtol = algo_rtol(id);
            int bad = 0;
            double ratio = 0;
            for (int c = 0; c < sv_cpad(sc, blk) && bad < 3; c++)
                for (int y = 0; y < s * oh; y++)
                    for (int x = 0; x < s * ow; x++) {
                        const size_t got_at = sv_fmap_index(c, y, x, s * oh, s * ow, blk);
                        if (c >= sc) {
                            if (out[got_at] != 0.0f && bad++ < 3)
                                tu_fail(__FILE__, __LINE__, "%s: padding channel %d not zero (%g)", sv_conv_plan_algo(p), c, out[got_at]);
                            continue;
                        }
                        // the reference element that the (shuffled) output element holds
                        const size_t at = sv_fmap_index(c * s * s + (y % s) * s + x % s, y / s, x / s, oh, ow, blk);
                        double want = ref[at];
                        if (d.act && want < 0) want *= slope;
                        double scale = mag[at];
                        if (resmode) want += res[at], scale += fabs(res[at]);
                        const double err = fabs(out[got_at] - want);
                        if (!(err <= rtol * scale + 1e-30)) {  // also catches NaN
                            if (bad++ < 3)
                                tu_fail(__FILE__, __LINE__,
                                        "%s cin %d cout %d %dx%d k %d pad %d blk %d act %d res %d shuffle %d: out[%d,%d,%d] "
                                        "= %.7g, want %.7g (scale %.3g)",
                                        sv_conv_plan_algo(p), cin, cout, h, w, k, pad, blk, act, resmode, shuffle, c, y,
                                        x, out[got_at], want, scale);
                        }
                        if (scale > 0 && err / scale > ratio) ratio = err / scale;
                    }
            if (ratio > worst[id]) worst[id] = ratio;
            sv_conv_plan_free(p);
        }
    }
    free(in), free(wt), free(b), free(ref), free(mag), free(res), free(out);
}

static void check_case(int cin, int cout, int h, int w, int k, int pad, int blk, int variant0) {
    check_case_shuffle(cin, cout, h, w, k, pad, blk, variant0, 0);
}

static const int chans[] = {3, 13, 37, 64, 67};
static const int sizes[][2] = {{1, 1}, {5, 7}, {23, 41}};

// Every pair of channel counts, small sizes, k 1 and 3; layout (1, 8, 16) and pad (0, k/2) rotate through
// all six of their combinations.
static void test_plans_k1_k3(void) {
    int n = 0;
    for (int a = 0; a < 5; a++)
        for (int c = 0; c < 5; c++)
            for (int s = 0; s < 3; s++, n++)
                for (int k = 1; k <= 3; k += 2) {
                    const int blk = n % 3 == 0 ? 1 : n % 3 == 1 ? 8 : 16, pad = (n / 3) % 2 ? k / 2 : 0;
                    check_case(chans[a], chans[c], sizes[s][0], sizes[s][1], k, pad, blk, n + k);
                }
}

// Larger images (several Winograd tile blocks, both threads busy), including partial tiles.
static void test_plans_large(void) {
    static const int cases[][6] = {  // cin, cout, h, w, pad, blk
        {64, 64, 33, 65, 1, 8},  {64, 64, 46, 83, 0, 16}, {67, 37, 33, 65, 1, 16}, {13, 64, 33, 65, 1, 8},
        {64, 3, 33, 65, 1, 8},   {37, 67, 45, 80, 0, 8},  {64, 64, 33, 65, 1, 1},  {67, 64, 45, 80, 1, 16}};
    for (int i = 0; i < 8; i++)
        check_case(cases[i][0], cases[i][1], cases[i][2], cases[i][3], 3, cases[i][4], cases[i][5], i);
}

// 7x7 (SPyNet) and 3x3 with a pad wider than k/2.
static void test_plans_k7(void) {
    static const int cases[][4] = {{3, 13, 5, 7}, {13, 37, 23, 41}, {37, 3, 23, 41}, {8, 32, 33, 65},
                                   {16, 2, 33, 65}, {64, 67, 23, 41}};
    for (int i = 0; i < 6; i++) {
        const int blk = i % 3 == 0 ? 1 : i % 3 == 1 ? 8 : 16;
        check_case(cases[i][0], cases[i][1], cases[i][2], cases[i][3], 7, 3, blk, i);
        check_case(cases[i][0], cases[i][1], cases[i][2], cases[i][3], 7, 0, 8, i + 1);
    }
    check_case(13, 37, 1, 1, 7, 3, 8, 0);
    check_case(64, 13, 23, 41, 3, 2, 8, 5);
    check_case(37, 64, 5, 7, 3, 2, 16, 2);
}

// Winograd F(2x2,7x7) and F(4x4,7x7) (and every other backend) on SPyNet-like and odd channel counts: all pairs of
// 8, 13, 32, 37, 64 at 5x7 and 23x41, pad 3 (SPyNet's) and, rotating, pad 0 and 2; a few at 45x80
// (several tile blocks per thread, partial tiles at the right and bottom edges) and SPyNet's 16 -> 2.
static void test_plans_k7_wino(void) {
    static const int ch[] = {8, 13, 32, 37, 64};
    int n = 0;
    for (int a = 0; a < 5; a++)
        for (int c = 0; c < 5; c++)
            for (int s = 0; s < 2; s++, n++) {
                const int blk = n % 2 ? 16 : 8, h = s ? 23 : 5, w = s ? 41 : 7;
                check_case(ch[a], ch[c], h, w, 7, 3, blk, n);
                if (n % 5 == 0) check_case(ch[a], ch[c], h, w, 7, n % 10 ? 2 : 0, 8, n + 1);
            }
    static const int big[][3] = {{8, 32, 8}, {37, 13, 16}, {64, 32, 8}, {16, 2, 8}, {13, 64, 16}};  // cin, cout, blk
    for (int i = 0; i < 5; i++) check_case(big[i][0], big[i][1], 45, 80, 7, 3, big[i][2], i);
    check_case(16, 2, 24, 40, 7, 3, 8, 3);
}

// Pixel shuffle after the conv (upconv1/2): output groups G = cout/4 of 1, 3, 8, 13 and 64 (odd G pads
// the Winograd's reordered channels), every layout, F(4x4) and F(6x6) sizes, k 1 (oneDNN + shuffle).
static void test_plans_shuffle(void) {
    static const int cases[][6] = {  // cin, G, h, w, k, blk
        {13, 1, 5, 7, 3, 8},    {3, 3, 23, 41, 3, 16}, {37, 13, 30, 50, 3, 8}, {64, 8, 31, 26, 3, 16},
        {13, 13, 25, 29, 3, 16}, {16, 64, 24, 30, 3, 8}, {13, 3, 6, 9, 1, 8},  {8, 13, 7, 5, 3, 1},
    };
    for (int i = 0; i < 8; i++)
        check_case_shuffle(cases[i][0], 4 * cases[i][1], cases[i][2], cases[i][3], cases[i][4], cases[i][4] / 2,
                           cases[i][5], i, 2);
    sv_err e = {{0}};  // a shuffle needs cout % 4 == 0 and no residual
    sv_conv_desc d = {.cin = 8, .cout = 6, .k = 3, .pad = 1, .h = 8, .w = 8, .blk = 8, .shuffle = 2};
    float wt[8 * 8 * 9] = {0};
    CHECK(sv_conv_plan_create(&d, wt, NULL, &e) == NULL && strstr(e.msg, "pixel shuffle"));
    d.cout = 8, d.residual = 1;
    CHECK(sv_conv_plan_create(&d, wt, NULL, &e) == NULL && strstr(e.msg, "pixel shuffle"));
}

static void test_plan_errors(void) {
    sv_err e = {{0}};
    sv_conv_desc d = {.cin = 4, .cout = 4, .k = 7, .pad = 0, .h = 1, .w = 1, .blk = 8};
    float wt[4 * 4 * 49] = {0};
    CHECK(sv_conv_plan_create(&d, wt, NULL, &e) == NULL && strstr(e.msg, "empty output"));
    d.k = 2, d.pad = 1;
    CHECK(sv_conv_plan_create(&d, wt, NULL, &e) == NULL && strstr(e.msg, "bad shape"));
    d.k = 3, d.blk = 4;
    CHECK(sv_conv_plan_create(&d, wt, NULL, &e) == NULL && strstr(e.msg, "bad shape"));
    d.blk = 1, d.h = 8, d.w = 8;
    CHECK(sv_conv_plan_create_algo(&d, wt, NULL, SV_CONV_WINO, &e) == NULL);  // Winograd needs blk 8/16
    const int blk = sv_conv_preferred_blk();
    CHECK(blk == 8 || blk == 16);
}

// sv_conv_configure: the process-wide choices the CLI makes (the library reads no environment).
static void test_configure(void) {
    sv_err e = {{0}};
    const int cpu_blk = sv_conv_preferred_blk();
    CHECK(sv_conv_configure(&(sv_conv_config){.algo = "winograd"}, &e) == -1 && strstr(e.msg, "winograd"));
    CHECK(sv_conv_configure(&(sv_conv_config){.blk = 4}, &e) == -1 && strstr(e.msg, "blk 4"));
    CHECK(sv_conv_preferred_blk() == cpu_blk);  // a refused configuration changes nothing
    const int other = cpu_blk == 8 ? 16 : 8;
    CHECK(sv_conv_configure(&(sv_conv_config){.algo = "dnnl", .blk = other}, &e) == 0);
    CHECK(sv_conv_preferred_blk() == other);
    // a forced backend applies where it can take the shape: dnnl everywhere
    sv_conv_desc d = {.cin = 8, .cout = 8, .k = 3, .pad = 1, .h = 32, .w = 32, .blk = 8};
    float wt[8 * 8 * 9] = {0};
    sv_conv_plan *p = sv_conv_plan_create(&d, wt, NULL, &e);
    CHECK(p && sv_conv_plan_algo_id(p) == SV_CONV_DNNL);
    sv_conv_plan_free(p);
    CHECK(sv_conv_configure(&(sv_conv_config){.algo = "wino7"}, &e) == 0);  // k = 7 only: this 3x3 chooses
    p = sv_conv_plan_create(&d, wt, NULL, &e);
    CHECK(p && sv_conv_plan_algo_id(p) == SV_CONV_WINO6);
    sv_conv_plan_free(p);
    CHECK(sv_conv_configure(&(sv_conv_config){.avx2_only = 1}, &e) == 0);  // SLIMVSR_CONV_ISA=avx2
    CHECK(!sv_conv_avx512());
    CHECK(sv_conv_configure(&(sv_conv_config){0}, &e) == 0);
    CHECK(sv_conv_preferred_blk() == cpu_blk);
    CHECK(sv_conv_avx512() == (__builtin_cpu_supports("avx512f") != 0));
}

// Our Winograd at blk 16 runs 16-lane AVX-512 kernels where the CPU has them. They do each channel's
// arithmetic in the 8-lane AVX2 kernels' order, so both must give the same bits: every tile size, the
// epilogues, partial tiles, pixel shuffle and odd channel counts, AVX-512 plan against avx2_only plan.
static void test_wino_lanes_identical(void) {
    if (!sv_conv_avx512()) {
        printf("# conv_wino_lanes_identical: skipped, this CPU has no AVX-512 (only the 8-lane kernels run)\n");
        return;
    }
    static const int cases[][8] = {  // cin, cout, h, w, k, algo, act, shuffle/residual (2 / 1)
        {37, 67, 23, 41, 3, SV_CONV_WINO, 1, 1},   {64, 64, 46, 83, 3, SV_CONV_WINO6, 2, 1},
        {13, 3, 5, 7, 3, SV_CONV_WINO6, 0, 0},     {64, 52, 31, 26, 3, SV_CONV_WINO, 0, 2},
        {16, 12, 25, 29, 3, SV_CONV_WINO6, 1, 2},  {37, 13, 45, 80, 7, SV_CONV_WINO7F4, 2, 0},
        {16, 2, 24, 40, 7, SV_CONV_WINO7, 0, 0},   {32, 64, 23, 41, 7, SV_CONV_WINO7F4, 1, 1},
    };
    for (int i = 0; i < 8; i++) {
        const int *c = cases[i];
        sv_conv_desc d = {.cin = c[0], .cout = c[1], .k = c[4], .pad = c[4] / 2, .h = c[2], .w = c[3], .blk = 16,
                          .act = c[6] != 0, .act_slope = c[6] == 2 ? 0.1f : 0.0f, .residual = c[7] == 1,
                          .shuffle = c[7] == 2 ? 2 : 0};
        const int s = d.shuffle ? 2 : 1;
        const size_t nw = (size_t)d.cout * d.cin * d.k * d.k, nout = sv_fmap_floats(d.cout / (s * s), s * d.h, s * d.w, 16);
        float *in = rand_fmap(d.cin, d.h, d.w, 16, -1.0f, 1.0f), *res = rand_fmap(d.cout, d.h, d.w, 16, -1.0f, 1.0f);
        float *wt = malloc(nw * sizeof(float)), *b = malloc((size_t)d.cout * sizeof(float));
        float *out[2] = {malloc(nout * sizeof(float)), malloc(nout * sizeof(float))};
        tu_fill_uniform(wt, nw, -0.5f, 0.5f, &rng);
        tu_fill_uniform(b, d.cout, -0.5f, 0.5f, &rng);
        const char *name[2] = {"", ""};
        for (int avx2 = 0; avx2 < 2; avx2++) {
            sv_err e = {{0}};
            CHECK(sv_conv_configure(&(sv_conv_config){.avx2_only = avx2}, &e) == 0);
            sv_conv_plan *p = sv_conv_plan_create_algo(&d, wt, b, c[5], &e);
            CHECKF(p != NULL, "case %d: %s", i, e.msg);
            if (!p) continue;
            name[avx2] = strstr(sv_conv_plan_algo(p), avx2 ? "avx2" : "avx512") ? "ok" : sv_conv_plan_algo(p);
            CHECKF(sv_conv_plan_run(p, out[avx2], in, d.residual ? res : NULL, &e) == 0, "run: %s", e.msg);
            sv_conv_plan_free(p);
        }
        CHECKF(!strcmp(name[0], "ok") && !strcmp(name[1], "ok"), "case %d: plans %s / %s, want avx512 / avx2", i,
               name[0], name[1]);
        CHECKF(!memcmp(out[0], out[1], nout * sizeof(float)), "case %d (%d -> %d, %dx%d, k %d): 16-lane output "
               "differs from 8-lane", i, d.cin, d.cout, d.h, d.w, d.k);
        free(in), free(res), free(wt), free(b), free(out[0]), free(out[1]);
    }
    sv_err e = {{0}};
    CHECK(sv_conv_configure(&(sv_conv_config){0}, &e) == 0);
}

int main(int argc, char **argv) {
    // libgomp's idle threads spin-wait by default; on a busy 2-core machine that starves this test's serial
    // parts (reference convs, comparisons) about 5x. libgomp reads the policy when it loads, so set it and
    // start again (harmless if exec fails).
    if (argc > 0 && !getenv("OMP_WAIT_POLICY")) {
        setenv("OMP_WAIT_POLICY", "passive", 1);
        execv("/proc/self/exe", argv);
    }
    run_test("conv_ref_hand", test_ref_hand);
    run_test("conv_plan_errors", test_plan_errors);
    run_test("conv_configure", test_configure);
    run_test("conv_plans_k1_k3", test_plans_k1_k3);
    run_test("conv_plans_large", test_plans_large);
    run_test("conv_plans_k7", test_plans_k7);
    run_test("conv_plans_k7_wino", test_plans_k7_wino);
    run_test("conv_plans_shuffle", test_plans_shuffle);
    run_test("conv_wino_lanes_identical", test_wino_lanes_identical);
    for (int a = 1; a < SV_CONV_NALGO; a++)
        printf("# worst |err| / scale for %s: %.3g (tolerance %.0e)\n", algo_names[a], worst[a],
               algo_rtol(a));
    return test_summary();
}
