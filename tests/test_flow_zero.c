// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// test_flow_zero.c: the zero-flow model variant (sv_model.flow = SV_FLOW_ZERO, issue 16). With SPyNet's heads
// zeroed (sv_flow_zero_head) a SPyNet model's flow is exactly zero and its warps exact copies, so the same
// parameters with zero flow must give the same outputs (runner, reference and fast), the same training loss
// and the same gradient of every non-SPyNet parameter (SPyNet's: all zero); the zero-flow runner plans and
// runs no SPyNet. Then the flag's life: metadata round trip, copies and the pruning cut keep it, a SPyNet
// model's file stays as before (no "flow" key), an unknown value is refused naming the file, and the stats
// count no SPyNet.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/safetensors.h"
#include "model/profile.h"
#include "model/runner.h"
#include "model/stats.h"
#include "prune/ssl.h"
#include "testutil.h"
#include "train/flow_train.h"
#include "train/net.h"

enum { NF = 3, FEAT = 13, BLOCKS = 2 };

// A random model with zeroed SPyNet heads (flow exactly zero) in *spy, and the same parameters with zero
// flow in *zero.
static int make_pair(sv_model *spy, sv_model *zero, uint64_t seed) {
    if (tu_random_model(spy, FEAT, BLOCKS, seed)) return -1;
    sv_flow_zero_head(spy);
    sv_err e;
    if (sv_model_clone(spy, zero, &e)) {
        CHECKF(0, "%s", e.msg);
        sv_model_free(spy);
        return -1;
    }
    zero->flow = SV_FLOW_ZERO;
    return 0;
}


// NF output frames of m on random h x w frames; *bytes: the runner's buffers; *spynet_calls: the calls of
// SPyNet layers in its profile, *spynet_s: its SPyNet stage seconds.
static float *upscale(const sv_model *m, int h, int w, sv_exec_mode mode, size_t *bytes, long *spynet_calls,
                      double *spynet_s) {
    float *x = malloc(sizeof(float) * NF * 3 * h * w);
    uint64_t st = 5;
    tu_fill_uniform(x, (size_t)NF * 3 * h * w, 0, 1, &st);
    sv_err e;
    sv_runner *r = sv_runner_create(m, h, w, NF, mode, &e);
    CHECKF(r, "%s", e.msg);
    tu_frames c = {NULL, (size_t)3 * SV_SCALE * SV_SCALE * h * w, SV_SCALE * w};
    if (r) {
        const float *fr[NF];
        for (int i = 0; i < NF; i++) fr[i] = x + (size_t)i * 3 * h * w;
        c.out = malloc(sizeof(float) * NF * c.frame);
        CHECKF(sv_runner_run(r, fr, NF, tu_collect_frame, &c, &e) == 0, "%s", e.msg);
        *bytes = sv_runner_bytes(r);
        const sv_prof_table *t = sv_runner_get_layers(r);
        *spynet_calls = 0;
        for (int i = 0; i < t->n; i++)
            if (t->layer[i].kind == SV_LAYER_SPYNET) *spynet_calls += t->layer[i].calls;
        *spynet_s = sv_runner_get_profile(r).spynet;
        sv_runner_free(r);
    }
    free(x);
    return c.out;
}

static void runner_case(sv_exec_mode mode, int h, int w) {
    sv_model spy, zero;
    if (make_pair(&spy, &zero, 21)) return;
    size_t b_spy = 0, b_zero = 0;
    long c_spy = 0, c_zero = 0;
    double s_spy = 0, s_zero = 0;
    float *a = upscale(&spy, h, w, mode, &b_spy, &c_spy, &s_spy);
    float *b = upscale(&zero, h, w, mode, &b_zero, &c_zero, &s_zero);
    const char *what = mode == SV_EXEC_FAST ? "fast" : "reference";
    if (a && b) {
        const double d = tu_max_abs_diff(a, b, (size_t)NF * 3 * SV_SCALE * SV_SCALE * h * w);
        CHECKF(d <= 1e-6, "%s %dx%d: zero flow differs from SPyNet with zero heads by %.3g", what, w, h, d);
    }
    CHECKF(c_spy > 0 && c_zero == 0, "%s: SPyNet layer calls %ld (SPyNet model), %ld (zero flow)", what, c_spy, c_zero);
    CHECKF(s_zero == 0.0, "%s: zero flow spent %.3g s in SPyNet", what, s_zero);
    CHECKF(b_zero < b_spy, "%s: zero flow holds %zu bytes, SPyNet %zu", what, b_zero, b_spy);
    size_t fixed_spy, fixed_zero, per_spy, per_zero;
    sv_runner_estimate(&spy, h, w, mode, &fixed_spy, &per_spy);
    sv_runner_estimate(&zero, h, w, mode, &fixed_zero, &per_zero);
    CHECKF(fixed_zero < fixed_spy, "%s: estimate %zu bytes with zero flow, %zu with SPyNet", what, fixed_zero,
           fixed_spy);
    free(a), free(b);
    sv_model_free(&spy);
    sv_model_free(&zero);
}

static void test_runner_reference(void) { runner_case(SV_EXEC_REFERENCE, 11, 14); }
static void test_runner_fast(void) { runner_case(SV_EXEC_FAST, 23, 19); }

// Loss and gradients of one training step of m on (lr, gt).
static float *train_step(const sv_model *m, const sv_net_cfg *c, const float *lr, const float *gt, double *loss) {
    sv_err e;
    sv_trainnet *t = sv_trainnet_create(m, c, &e);
    if (!t) {
        CHECKF(0, "%s", e.msg);
        return NULL;
    }
    float *g = calloc(m->nparams, sizeof(float));
    if (sv_trainnet_step(t, lr, gt, g, 1, loss, &e)) {
        CHECKF(0, "%s", e.msg);
        free(g);
        g = NULL;
    }
    sv_trainnet_free(t);
    return g;
}

static void train_case(int reference, int recompute) {
    sv_model spy, zero;
    if (make_pair(&spy, &zero, 22)) return;
    const sv_net_cfg c = {.batch = 2, .seq = 3, .h = 12, .w = 10, .recompute = recompute, .reference = reference};
    const size_t nlr = (size_t)c.batch * c.seq * 3 * c.h * c.w;
    float *lr = malloc(sizeof(float) * nlr), *gt = malloc(sizeof(float) * nlr * SV_SCALE * SV_SCALE);
    uint64_t st = 9;
    tu_fill_uniform(lr, nlr, 0, 1, &st);
    tu_fill_uniform(gt, nlr * SV_SCALE * SV_SCALE, 0, 1, &st);
    double l_spy = 0, l_zero = 0;
    float *g_spy = train_step(&spy, &c, lr, gt, &l_spy), *g_zero = train_step(&zero, &c, lr, gt, &l_zero);
    size_t nspy;
    sv_model_param_count(&spy, &nspy);  // SPyNet: the first nspy parameters of the block
    if (g_spy && g_zero) {
        CHECKF(l_spy == l_zero, "loss %.9g with SPyNet, %.9g with zero flow", l_spy, l_zero);
        size_t nonzero = 0;
        for (size_t i = 0; i < nspy; i++) nonzero += g_zero[i] != 0.0f;
        CHECKF(nonzero == 0, "%zu of SPyNet's %zu gradients are not zero with zero flow", nonzero, nspy);
        const double d = tu_max_abs_diff(g_spy + nspy, g_zero + nspy, spy.nparams - nspy);
        double top = 0;
        for (size_t i = nspy; i < spy.nparams; i++) top = fabsf(g_spy[i]) > top ? fabsf(g_spy[i]) : top;
        CHECKF(top > 0 && d <= 1e-6 * top, "reference %d: gradients differ by %.3g (largest %.3g)", reference, d, top);
    }
    free(g_spy), free(g_zero), free(lr), free(gt);
    sv_model_free(&spy);
    sv_model_free(&zero);
}

static void test_train_reference(void) { train_case(1, 0); }
static void test_train_fast(void) { train_case(0, 1); }

// The "slimvsr" metadata of m's tensors (malloc'd), or NULL.
static char *meta_of(const sv_model *m) {
    sv_tensor_set s = {0};
    sv_err e;
    char *js = NULL;
    if (sv_model_to_tensors(m, &s, &e) == 0) js = strdup(sv_tensor_set_get_meta(&s, "slimvsr"));
    else CHECKF(0, "%s", e.msg);
    sv_tensor_set_free(&s);
    return js;
}

static void test_flag_kept(void) {
    sv_model spy, zero, loaded, cut;
    if (make_pair(&spy, &zero, 23)) return;
    sv_err e;
    char *js = meta_of(&spy);
    CHECKF(js && !strstr(js, "\"flow\""), "a SPyNet model's metadata names a flow: %s", js ? js : "");
    free(js);
    const char *path = tu_join(tu_tmpdir(), "zero.safetensors");
    CHECKF(sv_model_save(&zero, path, &e) == 0, "%s", e.msg);
    if (sv_model_load(&loaded, path, -1, &e) == 0) {
        CHECK(loaded.flow == SV_FLOW_ZERO);
        sv_model_free(&loaded);
    } else {
        CHECKF(0, "%s", e.msg);
    }
    sv_units u;
    if (sv_units_build(&u, &zero, &e) == 0) {
        CHECKF(sv_prune_cut(&u, &zero, &cut, &e) == 0, "%s", e.msg);
        CHECK(cut.flow == SV_FLOW_ZERO);
        sv_model_free(&cut);
        sv_units_free(&u);
    } else {
        CHECKF(0, "%s", e.msg);
    }
    sv_model_free(&spy);
    sv_model_free(&zero);
}

// A file whose metadata says "flow": "bogus" is refused, naming the file and the key.
static void test_bogus_flow_refused(void) {
    sv_model m, bad;
    if (tu_random_model(&m, 4, 1, 24)) return;
    sv_tensor_set s = {0};
    sv_err e;
    CHECK(sv_model_to_tensors(&m, &s, &e) == 0);
    const char *js = sv_tensor_set_get_meta(&s, "slimvsr");
    char meta[4096];
    CHECK(js && js[0] == '{' && strlen(js) + 32 < sizeof meta);
    snprintf(meta, sizeof meta, "{\"flow\": \"bogus\", %s", js ? js + 1 : "}");
    CHECK(sv_tensor_set_set_meta(&s, "slimvsr", meta, &e) == 0);
    const char *path = tu_join(tu_tmpdir(), "bogus.safetensors");
    CHECKF(sv_safetensors_write(path, &s, &e) == 0, "%s", e.msg);
    sv_tensor_set_free(&s);
    if (sv_model_load(&bad, path, -1, &e) == 0) {
        CHECKF(0, "a model with flow \"bogus\" loaded");
        sv_model_free(&bad);
    } else {
        CHECKF(strstr(e.msg, path) && strstr(e.msg, "flow"), "message: %s", e.msg);
    }
    sv_flow_kind f;
    CHECK(sv_flow_parse("zero", &f) == 0 && f == SV_FLOW_ZERO);
    CHECK(sv_flow_parse("spynet", &f) == 0 && f == SV_FLOW_SPYNET);
    CHECK(sv_flow_parse("bogus", &f) == -1);
    sv_model_free(&m);
}

// The stats of a zero-flow model: no SPyNet FLOPs or parameters, the rest as the SPyNet model's.
static void test_stats(void) {
    sv_model spy, zero;
    if (make_pair(&spy, &zero, 25)) return;
    sv_model_totals ts, tz;
    sv_model_stats(&spy, 180, 320, NULL, 0, &ts);
    sv_model_stats(&zero, 180, 320, NULL, 0, &tz);
    CHECK(ts.flops_spynet > 0 && ts.params_spynet > 0);
    CHECK(tz.flops_spynet == 0 && tz.params_spynet == 0);
    CHECKF(tz.flops == ts.flops - ts.flops_spynet && tz.params == ts.params - ts.params_spynet,
           "zero flow: %.0f FLOPs, %.0f params; SPyNet model without SPyNet: %.0f, %.0f", tz.flops, tz.params,
           ts.flops - ts.flops_spynet, ts.params - ts.params_spynet);
    sv_model_free(&spy);
    sv_model_free(&zero);
}

int main(void) {
    run_test("flow_zero_runner_reference", test_runner_reference);
    run_test("flow_zero_runner_fast", test_runner_fast);
    run_test("flow_zero_train_reference", test_train_reference);
    run_test("flow_zero_train_fast_recompute", test_train_fast);
    run_test("flow_zero_flag_kept", test_flag_kept);
    run_test("flow_zero_bogus_refused", test_bogus_flow_refused);
    run_test("flow_zero_stats", test_stats);
    return test_summary();
}
