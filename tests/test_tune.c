// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// test_tune.c: backends chosen by measurement (ops/tune.h) and the wisdom file (pipeline/wisdom.h).
//   - the table's text: round trip, damaged lines dropped and counted, a later key replacing an earlier;
//   - sv_tune_pick with made-up candidates: the fastest wins, a wrong one is never picked (and warned
//     about), one that cannot run is passed over quietly, a recorded choice is taken without measuring,
//     another CPU's entry or an unknown algorithm is not;
//   - real plans with a table configured: a conv and a pruned RSC block measure once per shape, record an
//     algorithm among their candidates, take a recorded one, and still agree with the naive reference;
//   - the file: a missing one is empty, save creates folders and merges what the file holds, a file that
//     is not a wisdom file is neither read nor overwritten.
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/layout.h"
#include "core/warn.h"
#include "pipeline/wisdom.h"
#include "ops/conv.h"
#include "ops/ops.h"
#include "ops/rsc.h"
#include "ops/tune.h"
#include "testutil.h"

static char g_warning[1024];
static int g_warnings;

static void catch_warning(void *ud, const char *msg) {
    snprintf(g_warning, sizeof g_warning, "%s", msg);
    g_warnings++;
}

static void configure(sv_wisdom *w) {
    sv_err e;
    CHECK(sv_conv_configure(&(sv_conv_config){.wisdom = w}, &e) == 0);
}

static void test_text(void) {
    sv_err e;
    sv_wisdom *w = sv_wisdom_create(&e);
    int skipped = -1;
    const char *text = "# slimvsr wisdom\n"
                       "conv X:1-2-3:avx2 t2 8>8 k3 p1 30x30 b8 a1 r0 s0 = wino6 1.5\n"
                       "conv X:1-2-3:avx2 t2 8>8 k3 p1 30x30 b8 a1 r0 s0 = dnnl 2.5\n"  // replaces the first
                       "rsc Y t1 C64 = passes 0.25\r\n"
                       "no equals sign here\n"
                       "conv Z = Wino6 1\n"         // not a name
                       "conv Z = wino6 fast\n"      // not a number
                       "conv Z = wino6 -1\n"        // negative
                       " = wino6 1\n"               // no key
                       "conv Z = wino6 nan\n";
    CHECK(sv_wisdom_parse(w, text, &skipped, &e) == 0);
    CHECKF(skipped == 6, "skipped %d", skipped);
    CHECK(sv_wisdom_count(w) == 2 && sv_wisdom_measured(w) == 0);
    char *out = sv_wisdom_format(w, &e);
    CHECK(out && !strncmp(out, SV_WISDOM_HEAD, strlen(SV_WISDOM_HEAD)));
    CHECK(out && strstr(out, "b8 a1 r0 s0 = dnnl 2.5000\n") && !strstr(out, "wino6"));
    sv_wisdom *again = sv_wisdom_create(&e);
    CHECK(out && sv_wisdom_parse(again, out, &skipped, &e) == 0 && skipped == 0 && sv_wisdom_count(again) == 2);
    char *out2 = sv_wisdom_format(again, &e);
    CHECK(out && out2 && !strcmp(out, out2));
    free(out), free(out2);
    sv_wisdom_free(again), sv_wisdom_free(w);
}

// ---- sv_tune_pick with made-up candidates: cand c busy-waits c * 0.2 ms; 3 is wrong; 4 cannot run ----
static int g_prepared[8];

static void *fake_prepare(void *ctx, int cand, int *wrong, sv_err *e) {
    g_prepared[cand]++;
    *wrong = cand == 3;
    if (cand >= 3) {
        sv_errf(e, "candidate %d %s", cand, cand == 3 ? "disagrees" : "does not take the shape");
        return NULL;
    }
    return (void *)(size_t)(cand + 1);
}

static int fake_run(void *ready, sv_err *e) {
    const double ms = 0.2 * (double)((size_t)ready - 1);
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    do clock_gettime(CLOCK_MONOTONIC, &t);
    while ((t.tv_sec - t0.tv_sec) * 1e3 + (t.tv_nsec - t0.tv_nsec) * 1e-6 < ms);
    return 0;
}

static void fake_release(void *ready) {}

static const sv_tune_ops fake_ops = {fake_prepare, fake_run, fake_release};

static void test_pick(void) {
    sv_err e;
    static const int cand[] = {2, 3, 1, 4};
    static const char *const names[] = {"two", "three", "one", "four"};
    memset(g_prepared, 0, sizeof g_prepared);
    CHECK(sv_tune_pick("fake", "s1", cand, names, 4, &fake_ops, NULL, 1.0, 7) == 7);  // no table: fallback
    CHECK(g_prepared[1] == 0);
    sv_wisdom *w = sv_wisdom_create(&e);
    configure(w);
    g_warnings = 0;
    CHECK(sv_tune_pick("fake", "s1", cand, names, 4, &fake_ops, NULL, 1.0, 7) == 1);  // the fastest that is right
    CHECKF(g_warnings == 1 && strstr(g_warning, "three not used: candidate 3 disagrees") &&
               strstr(g_warning, "fake s1"), "%d warnings, last: %s", g_warnings, g_warning);
    CHECK(sv_wisdom_measured(w) == 1 && g_prepared[1] == 1 && g_prepared[4] == 1);
    CHECK(sv_tune_pick("fake", "s1", cand, names, 4, &fake_ops, NULL, 1.0, 7) == 1);  // recorded: not measured
    CHECK(sv_wisdom_measured(w) == 1 && g_prepared[1] == 1);
    CHECK(sv_tune_pick("fake", "s1", cand + 1, names + 1, 1, &fake_ops, NULL, 1.0, 9) == 9);  // only the wrong one
    sv_tune_suspend(1);
    CHECK(sv_tune_pick("fake", "s2", cand, names, 4, &fake_ops, NULL, 1.0, 5) == 5);
    sv_tune_suspend(0);
    CHECK(g_prepared[1] == 1 && g_prepared[3] == 2);  // the suspended pick prepared nothing
    // recorded entries: this CPU's is taken; an unknown algorithm or another CPU's is measured again
    char text[512];
    int skipped;
    snprintf(text, sizeof text, "fake %s t%d s3 = two 1\nfake %s t%d s4 = bogus 1\nfake other:1-1-1:avx2 t%d s5 = two 1\n",
             sv_tune_cpu(), omp_get_max_threads(), sv_tune_cpu(), omp_get_max_threads(), omp_get_max_threads());
    CHECK(sv_wisdom_parse(w, text, &skipped, &e) == 0 && skipped == 0);
    CHECK(sv_tune_pick("fake", "s3", cand, names, 4, &fake_ops, NULL, 1.0, 7) == 2 && g_prepared[1] == 1);
    CHECK(sv_tune_pick("fake", "s4", cand, names, 4, &fake_ops, NULL, 1.0, 7) == 1 && g_prepared[1] == 2);
    CHECK(sv_tune_pick("fake", "s5", cand, names, 4, &fake_ops, NULL, 1.0, 7) == 1 && g_prepared[1] == 3);
    configure(NULL);
    sv_wisdom_free(w);
}

static void test_agree(void) {
    float ref[4] = {1, -2, 0.5f, 0}, a[4];
    sv_err e;
    memcpy(a, ref, sizeof a);
    a[2] += 1e-4f;
    CHECK(sv_tune_agree(a, ref, 4, "x", &e) == 0);
    a[2] += 0.01f;
    CHECK(sv_tune_agree(a, ref, 4, "x", &e) == -1 && strstr(e.msg, "x differs"));
    a[2] = NAN;
    CHECK(sv_tune_agree(a, ref, 4, "x", &e) == -1);
}

// The entry text of kind/shape on this CPU, as a line start to look for in the formatted table.
static const char *key(const char *kind, const char *shape) {
    static char k[256];
    snprintf(k, sizeof k, "%s %s t%d %s = ", kind, sv_tune_cpu(), omp_get_max_threads(), shape);
    return k;
}

// The algorithm recorded for kind/shape in w ("" when none).
static const char *recorded(const sv_wisdom *w, const char *kind, const char *shape) {
    static char algo[32];
    sv_err e;
    char *text = sv_wisdom_format(w, &e), *at = text ? strstr(text, key(kind, shape)) : NULL;
    algo[0] = 0;
    if (at) sscanf(at + strlen(key(kind, shape)), "%31s", algo);
    free(text);
    return algo;
}

// Plans d (residual: the output's old values), runs it and compares the real channels with the naive conv;
// must_start: what the plan's backend name must start with, or NULL.
static void conv_agrees(const sv_conv_desc *d, const char *must_start) {
    sv_err e;
    const size_t nw = (size_t)d->cout * d->cin * d->k * d->k, ni = sv_fmap_floats(d->cin, d->h, d->w, d->blk);
    const size_t no = sv_fmap_floats(d->cout, d->h, d->w, d->blk);
    uint64_t st = 7;
    float *w = malloc((nw + (size_t)d->cout) * sizeof(float)), *in = calloc(ni, sizeof(float));
    float *res = malloc(no * sizeof(float)), *out = malloc(no * sizeof(float)), *conv = malloc(no * sizeof(float));
    tu_fill_uniform(w, nw + (size_t)d->cout, -0.1f, 0.1f, &st);
    tu_fill_uniform(in, ni, -1, 1, &st);
    channel_zero_padding(sv_fmap_one(in, d->cin, d->h, d->w, d->blk));
    tu_fill_uniform(res, no, -1, 1, &st);
    sv_conv_plan *p = sv_conv_plan_create(d, w, w + nw, &e);
    CHECKF(p, "%s", e.msg);
    if (p) {
        CHECKF(!must_start || !strncmp(sv_conv_plan_algo(p), must_start, strlen(must_start)), "algo %s",
               sv_conv_plan_algo(p));
        memcpy(out, res, no * sizeof(float));
        CHECK(sv_conv_plan_run(p, out, in, out, &e) == 0);
        conv2d_forward_ref(conv, in, w, w + nw, d->cin, d->cout, d->h, d->w, d->k, d->pad, d->blk);
        double worst = 0;
        for (int c = 0; c < d->cout; c++)
            for (int y = 0; y < d->h; y++)
                for (int x = 0; x < d->w; x++) {
                    const size_t i = sv_fmap_index(c, y, x, d->h, d->w, d->blk);
                    const double want = (conv[i] > 0 ? conv[i] : 0) + res[i];
                    if (!(fabs(out[i] - want) <= worst)) worst = fabs(out[i] - want);
                }
        CHECKF(worst < 1e-4, "%s: max diff %g", sv_conv_plan_algo(p), worst);
    }
    sv_conv_plan_free(p);
    free(w), free(in), free(res), free(out), free(conv);
}

static void test_conv(void) {
    sv_err e;
    sv_wisdom *w = sv_wisdom_create(&e);
    configure(w);
    const sv_conv_desc d = {.cin = 16, .cout = 21, .k = 3, .pad = 1, .h = 37, .w = 41, .blk = 8, .act = 1,
                            .residual = 1};
    conv_agrees(&d, NULL);
    CHECK(sv_wisdom_measured(w) == 1);
    const char *algo = recorded(w, "conv", "16>21 k3 p1 37x41 b8 a1 r1 s0");
    CHECKF(!strcmp(algo, "wino6") || !strcmp(algo, "wino") || !strcmp(algo, "dnnl") || !strcmp(algo, "dnnl_auto"),
           "recorded '%s'", algo);
    conv_agrees(&d, NULL);
    CHECK(sv_wisdom_measured(w) == 1);  // the same shape: recalled
    sv_conv_desc tall = d;
    tall.h = SV_TUNE_ROWS + 40;
    conv_agrees(&tall, NULL);
    tall.h = SV_TUNE_ROWS + 7;
    conv_agrees(&tall, NULL);
    CHECK(sv_wisdom_measured(w) == 2);  // taller maps share the entry of the rows timed
    // a recorded choice is taken as it is
    char text[300];
    int skipped;
    snprintf(text, sizeof text, "%sdnnl 1\n", key("conv", "16>21 k3 p1 30x41 b8 a1 r1 s0"));
    CHECK(sv_wisdom_parse(w, text, &skipped, &e) == 0 && skipped == 0);
    sv_conv_desc seeded = d;
    seeded.h = 30;
    conv_agrees(&seeded, "onednn-direct");
    CHECK(sv_wisdom_measured(w) == 2);
    configure(NULL);
    sv_wisdom_free(w);
}

static void test_rsc(void) {
    sv_err e;
    sv_wisdom *w = sv_wisdom_create(&e);
    configure(w);
    uint64_t st = 11;
    static const int in_idx[5] = {3, 17, 0, 30, 9}, out_idx[9] = {1, 2, 5, 8, 13, 21, 22, 31, 16};
    float wts[7 * 5 * 9 + 7 + 9 * 7 * 9 + 9];
    tu_fill_uniform(wts, sizeof wts / sizeof *wts, -0.1f, 0.1f, &st);
    sv_rsc_desc d = {.C = 32, .h = 30, .w = 37, .blk = 8, .nin = 5, .nmid = 7, .nout = 9, .k = 3, .in_idx = in_idx,
                     .out_idx = out_idx, .w1 = wts, .b1 = wts + 315, .w2 = wts + 322, .b2 = wts + 322 + 567};
    const size_t ny = sv_fmap_floats(d.C, d.h, d.w, d.blk);
    float *y = malloc(ny * sizeof(float)), *ref = malloc(ny * sizeof(float));
    tu_fill_uniform(y, ny, -1, 1, &st);
    memcpy(ref, y, ny * sizeof(float));
    const size_t nws = sv_rsc_workspace(&d);
    sv_rsc_plan *p = sv_rsc_plan_create(&d, &e);
    CHECKF(p, "%s", e.msg);
    const char *algo = recorded(w, "rsc", "C32 30x37 b8 k3 5>7>9");
    CHECKF(!strcmp(algo, "passes") || !strcmp(algo, "strips") || !strcmp(algo, "direct") || !strcmp(algo, "planar"),
           "recorded '%s'", algo);
    float *ws = NULL;
    CHECK(p && sv_rsc_plan_workspace(p) <= nws && !posix_memalign((void **)&ws, 64, nws * sizeof(float)));
    if (p && ws) CHECK(sv_rsc_plan_run(p, y, ws, &e) == 0);
    configure(NULL);  // the reference: the passes by the fixed rule
    d.algo = SV_RSC_PASSES;
    sv_rsc_plan *q = sv_rsc_plan_create(&d, &e);
    float *ws2 = malloc(sv_rsc_plan_workspace(q) * sizeof(float));
    CHECK(q && sv_rsc_plan_run(q, ref, ws2, &e) == 0);
    CHECKF(tu_max_abs_diff(y, ref, ny) < 1e-4, "max diff %g", tu_max_abs_diff(y, ref, ny));
    sv_rsc_plan_free(p), sv_rsc_plan_free(q);
    free(y), free(ref), free(ws), free(ws2);
    sv_wisdom_free(w);
}

static void write_text(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    CHECK(f && fputs(text, f) != EOF && fclose(f) == 0);
}

static void test_file(void) {
    sv_err e;
    int skipped;
    const char *dir = tu_tmpdir(), *path = tu_join(tu_join(tu_join(dir, "a"), "b"), "wisdom.txt");
    sv_wisdom *w = sv_wisdom_create(&e), *other = sv_wisdom_create(&e), *back = sv_wisdom_create(&e);
    CHECK(sv_wisdom_load(w, path, &skipped, &e) == 0 && sv_wisdom_count(w) == 0);  // missing: empty
    CHECK(sv_wisdom_parse(w, "conv A t1 s = wino 1\nconv B t1 s = dnnl 2\n", &skipped, &e) == 0);
    CHECKF(sv_wisdom_save(w, path, &e) == 0, "%s", e.msg);  // creates a/ and a/b/
    CHECK(sv_wisdom_parse(other, "conv B t1 s = wino6 3\nconv C t1 s = wino 4\n", &skipped, &e) == 0);
    CHECK(sv_wisdom_save(other, path, &e) == 0);  // merged with the file: A kept, B replaced
    CHECK(sv_wisdom_load(back, path, &skipped, &e) == 0 && skipped == 0 && sv_wisdom_count(back) == 3);
    char *text = sv_wisdom_format(back, &e);
    CHECK(text && strstr(text, "conv A t1 s = wino 1.0") && strstr(text, "conv B t1 s = wino6 3.0") &&
          strstr(text, "conv C t1 s = wino 4.0"));
    free(text);
    // not a wisdom file: neither read nor written over
    const char *mine = tu_join(dir, "notes.txt");
    write_text(mine, "my notes\n");
    CHECK(sv_wisdom_load(back, mine, &skipped, &e) == -1 && strstr(e.msg, "not a wisdom file") && strstr(e.msg, mine));
    CHECK(sv_wisdom_save(w, mine, &e) == -1);
    size_t n = 0;
    char *kept = tu_read_file(mine, &n);
    CHECK(kept && n == 9 && !memcmp(kept, "my notes\n", 9));
    free(kept);
    const char *empty = tu_join(dir, "empty.txt");
    write_text(empty, "");
    CHECK(sv_wisdom_load(back, empty, &skipped, &e) == 0);
    sv_wisdom_free(w), sv_wisdom_free(other), sv_wisdom_free(back);
}

int main(void) {
    sv_set_warning_handler(catch_warning, NULL);
    run_test("wisdom text", test_text);
    run_test("pick: fastest right candidate, recalled", test_pick);
    run_test("agree", test_agree);
    run_test("conv plans measured once per shape", test_conv);
    run_test("rsc plan measured", test_rsc);
    run_test("wisdom file", test_file);
    return test_summary();
}
