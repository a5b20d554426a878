// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// test_prune.c: SSL's model surgery (prune/ssl.h) on odd channel counts: the scales' gradient against
// finite differences, the penalty's gradient, unit selection rules, and the physical cut: keeping
// everything changes nothing, cutting units that are already zero changes no output (reference and fast
// runners: RSC gather/scatter-add, pixel-shuffle groups), a pruned model round-trips through the native
// format and can be pruned again.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/layout.h"
#include "io/safetensors.h"
#include "model/runner.h"
#include "prune/ssl.h"
#include "prune/ssl_train.h"
#include "testutil.h"

enum { NF = 3, H = 20, W = 24 };

typedef struct {
    float *out;  // NF x [3, 4H, 4W]
} collect;

static int on_frame(void *ud, int index, int y0, int rows, const float *chw, sv_err *e) {
    collect *c = ud;
    const size_t f = (size_t)3 * 16 * H * W;
    tu_band(c->out + (size_t)index * f, f, 4 * W, y0, rows, chw);
    return 0;
}

static float *g_frames;

static float *run_model(sv_model *m, sv_exec_mode mode) {
    if (!g_frames) {
        uint64_t st = 5;
        g_frames = malloc(sizeof(float) * NF * 3 * H * W);
        tu_fill_uniform(g_frames, (size_t)NF * 3 * H * W, 0, 1, &st);
    }
    sv_err e;
    sv_runner *r = sv_runner_create(m, H, W, NF, mode, &e);
    CHECKF(r, "%s", e.msg);
    if (!r) return NULL;
    const float *fr[NF];
    for (int i = 0; i < NF; i++) fr[i] = g_frames + (size_t)i * 3 * H * W;
    collect c = {malloc(sizeof(float) * NF * 3 * 16 * H * W)};
    int rc = sv_runner_run(r, fr, NF, on_frame, &c, &e);
    CHECKF(rc == 0, "%s", e.msg);
    sv_runner_free(r);
    return c.out;
}

static int make_model(sv_model *m, int feat, int blocks, uint64_t seed) {
    int rc = tu_random_model(m, feat, blocks, seed);
    if (!rc) tu_boost_blocks(m, seed);  // the blocks start near identity; make them matter for this test
    return rc;
}

static void random_scores(sv_units *u, uint64_t seed) {
    tu_fill_uniform(u->score, u->nunits, 0, 1, &seed);
}

// d<G, apply(W, s)>/dW and /ds against central differences (the map is linear in each single entry).
static void test_scale_gradient(void) {
    sv_model m;
    if (make_model(&m, 13, 1, 1)) return;
    sv_units u;
    sv_err e;
    CHECKF(sv_units_build(&u, &m, &e) == 0, "%s", e.msg);
    uint64_t st = 9;
    tu_fill_uniform(u.scale, u.nunits, 0.5f, 1.5f, &st);
    float *G = malloc(sizeof(float) * m.nparams), *Wp = malloc(sizeof(float) * m.nparams);
    float *grad = malloc(sizeof(float) * m.nparams), *ds = calloc(u.nunits, sizeof(float));
    tu_fill_uniform(G, m.nparams, -1, 1, &st);
    memcpy(grad, G, sizeof(float) * m.nparams);
    CHECK(sv_units_backward(&u, &m, grad, ds, &e) == 0);
    // L(W, s) = sum G * apply(W, s)
#define LOSS(out)                                          \
    do {                                                   \
        sv_units_apply(&u, &m, Wp, &e);                    \
        double l_ = 0;                                     \
        for (size_t i_ = 0; i_ < m.nparams; i_++) l_ += (double)G[i_] * Wp[i_]; \
        out = l_;                                          \
    } while (0)
    double worst = 0;
    for (size_t j = 0; j < u.nunits; j += 7) {  // every 7th scale
        float keep = u.scale[j];
        double lp, lm, h = 0.01;
        u.scale[j] = keep + (float)h;
        LOSS(lp);
        u.scale[j] = keep - (float)h;
        LOSS(lm);
        u.scale[j] = keep;
        double fd = (lp - lm) / (2 * h), err = fabs(fd - ds[j]) / (fabs(fd) + 1e-3);
        if (err > worst) worst = err;
    }
    CHECKF(worst < 2e-3, "scale gradient: worst relative error %.3g", worst);
    // weights of a conv with both scales (backward_trunk block 0 conv1)
    sv_conv_layer *c = &m.trunk[0].blocks[0].conv1;
    double wworst = 0;
    for (size_t i = 0; i < (size_t)c->cout * c->cin * 9; i += 37) {
        float keep = c->w[i];
        double lp, lm, h = 0.01;
        c->w[i] = keep + (float)h;
        LOSS(lp);
        c->w[i] = keep - (float)h;
        LOSS(lm);
        c->w[i] = keep;
        double fd = (lp - lm) / (2 * h), got = grad[(c->w - m.params) + i];
        double err = fabs(fd - got) / (fabs(fd) + 1e-3);
        if (err > wworst) wworst = err;
    }
    CHECKF(wworst < 2e-3, "weight gradient through the scales: worst relative error %.3g", wworst);
#undef LOSS
    // the penalty 0.5 lambda s^2
    for (size_t j = 0; j < u.nunits; j++) u.lambda[j] = (j % 3) ? 0.05f : 0.0f;
    memset(ds, 0, sizeof(float) * u.nunits);
    double p0 = sv_units_penalty(&u, ds), want = 0;
    for (size_t j = 0; j < u.nunits; j++) {
        want += 0.5 * u.lambda[j] * u.scale[j] * u.scale[j];
        CHECK(fabsf(ds[j] - u.lambda[j] * u.scale[j]) < 1e-7f);
    }
    CHECKF(fabs(p0 - want) < 1e-9 * (1 + want), "penalty %.9g, want %.9g", p0, want);
    free(G), free(Wp), free(grad), free(ds);
    sv_units_free(&u);
    sv_model_free(&m);
}

static void test_select_rules(void) {
    sv_model m;
    if (make_model(&m, 37, 2, 2)) return;
    sv_units u;
    sv_err e;
    CHECKF(sv_units_build(&u, &m, &e) == 0, "%s", e.msg);
    // 2 trunks x 2 blocks x (conv1 out, conv1 in, conv2 out) + fusion + upconv1/2 + conv_hr
    CHECKF(u.nlayers == 16, "%d unit layers", u.nlayers);
    sv_select_opts o = {.ratio = 0.0, .global = 1, .round = 1};
    CHECK(sv_units_select(&u, &o, &e) < 0 && strstr(e.msg, "ratio"));
    o.ratio = 1.0;
    CHECK(sv_units_select(&u, &o, &e) < 0);
    random_scores(&u, 3);
    o.ratio = 0.5;
    o.global = 0;
    long n = sv_units_select(&u, &o, &e);
    long want = 0;
    for (int li = 0; li < u.nlayers; li++) {
        int pr = 0;
        for (int j = 0; j < u.layers[li].n; j++) pr += u.pruned[u.layers[li].off + j];
        CHECKF(pr == u.layers[li].n / 2, "%s: %d of %d pruned per layer", u.layers[li].name, pr, u.layers[li].n);
        want += u.layers[li].n / 2;
    }
    CHECK(n == want);
    // global, extreme ratio: every layer keeps at least one unit; with round 8, a multiple of 8 or all
    u.score[u.layers[3].off] = 1e9f;  // one layer's units dominate the pool
    o.global = 1;
    o.ratio = 0.95;
    o.round = 8;
    sv_units_select(&u, &o, &e);
    for (int li = 0; li < u.nlayers; li++) {
        int kept = 0;
        for (int j = 0; j < u.layers[li].n; j++) kept += !u.pruned[u.layers[li].off + j];
        CHECKF(kept >= 1 && (kept % 8 == 0 || kept == u.layers[li].n), "%s keeps %d of %d", u.layers[li].name, kept,
               u.layers[li].n);
    }
    sv_units_free(&u);
    sv_model_free(&m);
}

// The reconstruction's own ratio: each of its layers loses exactly the floor(r n) lowest-scored units, the
// same whatever the trunk rule (only_filters, the trunk ratio), and the trunks' choice ignores it.
static void test_select_recon_own(void) {
    sv_model m;
    if (make_model(&m, 37, 2, 3)) return;
    sv_units u;
    sv_err e;
    CHECKF(sv_units_build(&u, &m, &e) == 0, "%s", e.msg);
    random_scores(&u, 5);
    unsigned char *first = malloc(u.nunits), *trunk = malloc(u.nunits);
    sv_select_opts o = {.ratio = 0.5, .global = 1, .round = 1, .recon_own = 1, .recon_ratio = 0.25};
    CHECK(sv_units_select(&u, &o, &e) > 0);
    memcpy(first, u.pruned, u.nunits);
    int nrecon = 0;
    for (int li = 0; li < u.nlayers; li++) {
        const sv_unit_layer *l = &u.layers[li];
        if (!sv_unit_layer_is_recon(l)) continue;
        nrecon++;
        int pr = 0;
        float max_pruned = -1, min_kept = 2;
        for (int j = 0; j < l->n; j++) {
            const float s = u.score[l->off + j];
            if (u.pruned[l->off + j]) pr++, max_pruned = s > max_pruned ? s : max_pruned;
            else min_kept = s < min_kept ? s : min_kept;
        }
        CHECKF(pr == (int)(0.25 * l->n) && max_pruned < min_kept, "%s: %d of %d pruned, not the lowest", l->name, pr, l->n);
    }
    CHECKF(nrecon == 4, "%d reconstruction layers", nrecon);
    // the baselines' rule and another trunk ratio: the same reconstruction cut
    o.only_filters = 1, o.ratio = 0.3;
    CHECK(sv_units_select(&u, &o, &e) > 0);
    for (int li = 0; li < u.nlayers; li++) {
        const sv_unit_layer *l = &u.layers[li];
        if (sv_unit_layer_is_recon(l))
            CHECKF(!memcmp(u.pruned + l->off, first + l->off, (size_t)l->n), "%s: another cut under only_filters", l->name);
    }
    // recon_ratio 0 keeps the reconstruction whole and leaves the trunks' choice as it was
    o.only_filters = 0, o.ratio = 0.5, o.recon_ratio = 0;
    CHECK(sv_units_select(&u, &o, &e) > 0);
    memcpy(trunk, u.pruned, u.nunits);
    for (int li = 0; li < u.nlayers; li++) {
        const sv_unit_layer *l = &u.layers[li];
        for (int j = 0; j < l->n; j++) {
            const size_t k = (size_t)l->off + j;
            if (sv_unit_layer_is_recon(l)) CHECKF(!trunk[k], "%s unit %d pruned at recon_ratio 0", l->name, j);
            else CHECKF(trunk[k] == first[k], "%s unit %d: the trunk choice moved with recon_ratio", l->name, j);
        }
    }
    o.recon_ratio = 1.0;
    CHECK(sv_units_select(&u, &o, &e) < 0 && strstr(e.msg, "reconstruction"));
    free(first), free(trunk);
    sv_units_free(&u);
    sv_model_free(&m);
}

static void compare(const char *what, const float *a, const float *b, double tol) {
    if (!a || !b) return;
    double d = tu_max_abs_diff(a, b, (size_t)NF * 3 * 16 * H * W);
    CHECKF(d <= tol, "%s: max abs diff %.3g", what, d);
}

// Zero the chosen units through their scales, fold, run; cut, run: the same outputs.
static void prune_zeroed_and_compare(sv_model *m, const sv_select_opts *o, uint64_t seed, sv_model *pruned) {
    sv_units u;
    sv_err e;
    if (sv_units_build(&u, m, &e)) {
        CHECKF(0, "%s", e.msg);
        return;
    }
    random_scores(&u, seed);
    long n = sv_units_select(&u, o, &e);
    CHECKF(n > 0, "nothing selected: %s", e.msg);
    for (size_t j = 0; j < u.nunits; j++)
        if (u.pruned[j]) u.scale[j] = 0.0f;
    CHECK(sv_units_fold(&u, m, &e) == 0);
    if (sv_prune_cut(&u, m, pruned, &e)) {
        CHECKF(0, "%s", e.msg);
        sv_units_free(&u);
        return;
    }
    CHECK(pruned->nparams < m->nparams);
    float *a = run_model(m, SV_EXEC_REFERENCE), *b = run_model(pruned, SV_EXEC_REFERENCE);
    compare("zeroed dense vs pruned, reference", a, b, 1e-5);
    float *c = run_model(pruned, SV_EXEC_FAST);
    compare("pruned reference vs fast", b, c, 1e-4);
    free(a), free(b), free(c);
    sv_units_free(&u);
}

static void test_cut_keep_all(void) {
    sv_model m, p;
    if (make_model(&m, 13, 2, 4)) return;
    sv_units u;
    sv_err e;
    CHECK(sv_units_build(&u, &m, &e) == 0);
    CHECK(sv_prune_cut(&u, &m, &p, &e) == 0);
    CHECK(p.nparams == m.nparams && !p.indices);
    CHECK(p.nparams == m.nparams && memcmp(p.params, m.params, m.nparams * sizeof(float)) == 0);
    float *a = run_model(&m, SV_EXEC_REFERENCE), *b = run_model(&p, SV_EXEC_REFERENCE);
    compare("keep everything", a, b, 0.0);
    free(a), free(b);
    sv_units_free(&u);
    sv_model_free(&p);
    sv_model_free(&m);
}

static void test_cut_zero_units(void) {
    sv_model m, p, p2;
    if (make_model(&m, 13, 2, 5)) return;
    sv_select_opts o = {.ratio = 0.4, .global = 1, .round = 1};
    prune_zeroed_and_compare(&m, &o, 11, &p);
    // the pruned model has RSC lists on odd counts; round trip through the native format
    sv_err e;
    sv_tensor_set s = {0};
    char path[512];
    snprintf(path, sizeof path, "%s/pruned.safetensors", tu_tmpdir());
    CHECK(sv_model_to_tensors(&p, &s, &e) == 0 && sv_safetensors_write(path, &s, &e) == 0);
    sv_tensor_set_free(&s);
    sv_model q;
    if (sv_model_load(&q, path, -1, &e)) {
        CHECKF(0, "%s", e.msg);
    } else {
        CHECK(q.nparams == p.nparams && memcmp(q.params, p.params, p.nparams * sizeof(float)) == 0);
        CHECK(q.nindices == p.nindices && q.nindices > 0 && memcmp(q.indices, p.indices, p.nindices * sizeof(int)) == 0);
        sv_model_free(&q);
    }
    // prune the pruned model again (index lists compose), per layer with rounding to 8 where possible
    sv_select_opts o2 = {.ratio = 0.3, .global = 0, .round = 2};
    prune_zeroed_and_compare(&p, &o2, 12, &p2);
    sv_model_free(&p2);
    sv_model_free(&p);
    sv_model_free(&m);
}

// The aligned baseline: zero a branch's hidden channels (conv_first rows and every conv2 row), run; cut
// them out (the model becomes a plain BasicVSR of width C'), run: the same outputs.
static void test_cut_aligned(void) {
    sv_model m, p;
    if (make_model(&m, 13, 2, 6)) return;
    unsigned char hp[2][13] = {{0}}, *hpp[2] = {hp[0], hp[1]};
    const int drop[2][4] = {{0, 5, 6, 12}, {1, 2, 7, 11}};  // different sets per branch, same count
    for (int t = 0; t < 2; t++)
        for (int j = 0; j < 4; j++) {
            hp[t][drop[t][j]] = 1;
            tu_zero_hidden_channel(&m, t, drop[t][j]);
        }
    float sc[13];
    sv_hidden_scores(&m, 0, sc);
    CHECK(sc[0] == 0.0f && sc[5] == 0.0f && sc[1] > 0.0f);
    sv_err e;
    if (sv_prune_cut_aligned((const unsigned char *const *)hpp, &m, &p, &e)) {
        CHECKF(0, "%s", e.msg);
        sv_model_free(&m);
        return;
    }
    CHECK(p.num_feat == 9 && !p.indices && p.fusion.cin == 18);
    float *a = run_model(&m, SV_EXEC_REFERENCE), *b = run_model(&p, SV_EXEC_REFERENCE);
    compare("aligned: zeroed dense vs cut", a, b, 1e-5);
    free(a), free(b);
    // unequal counts are refused; so is an RSC-pruned model
    hp[1][3] = 1;
    CHECK(sv_prune_cut_aligned((const unsigned char *const *)hpp, &m, &p, &e) < 0 && strstr(e.msg, "same number"));
    // only_filters leaves S and K2 whole
    sv_units u;
    CHECK(sv_units_build(&u, &m, &e) == 0);
    random_scores(&u, 4);
    sv_select_opts o = {.ratio = 0.5, .global = 1, .round = 1, .only_filters = 1};
    CHECK(sv_units_select(&u, &o, &e) > 0);
    for (int li = 0; li < u.nlayers; li++) {
        int pr = 0;
        for (int j = 0; j < u.layers[li].n; j++) pr += u.pruned[u.layers[li].off + j];
        size_t n = strlen(u.layers[li].name);
        int whole = u.layers[li].kind == SV_UNIT_IN || !strcmp(u.layers[li].name + n - 6, ".conv2");
        CHECKF(!whole || pr == 0, "%s: %d pruned with only_filters", u.layers[li].name, pr);
    }
    sv_units_free(&u);
    sv_model_free(&p);
    sv_model_free(&m);
}

// Sparsity learning with the penalty alone (no data loss): the chosen units' scales collapse, the kept
// ones stay; eff always holds apply(W, scales).
static void test_sparsity_learning_collapse(void) {
    sv_model m;
    if (make_model(&m, 13, 1, 7)) return;
    sv_ssl_state s;
    sv_err e;
    sv_select_opts o = {.ratio = 0.5, .global = 0, .round = 1};
    if (sv_ssl_begin(&s, &m, &o, 0, NULL, &e)) {
        CHECKF(0, "%s", e.msg);
        sv_model_free(&m);
        return;
    }
    s.lambda_every = 1, s.lambda_step = 0.01f, s.lambda_max = 0.1f;
    float *g = calloc(m.nparams, sizeof(float)), *want = malloc(sizeof(float) * m.nparams);
    double c0, k0, c1, k1;
    sv_units_scale_norms(&s.u, &c0, &k0);
    for (long it = 0; it < 300; it++) {
        CHECK(sv_ssl_before_step(&s, it, &e) == 0);
        memset(g, 0, sizeof(float) * m.nparams);
        CHECK(sv_ssl_after_backward(&s, g, &e) == 0);
        sv_ssl_update(&s, 1e-2);
    }
    sv_units_scale_norms(&s.u, &c1, &k1);
    CHECKF(c1 < 0.05 * c0 && fabs(k1 - k0) < 1e-6 * k0, "chosen scales %.3g -> %.3g, kept %.3g -> %.3g", c0, c1, k0, k1);
    sv_ssl_before_step(&s, 300, &e);
    sv_units_apply(&s.u, &m, want, &e);
    CHECK(memcmp(want, s.eff.params, sizeof(float) * m.nparams) == 0);
    free(g), free(want);
    sv_ssl_end(&s);
    sv_model_free(&m);
}

// Temporal finetuning: a student equal to its teacher has L_tf = 0 and no gradient from it; a perturbed
// one has L_tf > 0.
static void test_tf_loss(void) {
    sv_model m, st;
    if (make_model(&m, 13, 1, 8)) return;
    sv_err e;
    if (sv_model_clone(&m, &st, &e)) {
        CHECKF(0, "%s", e.msg);
        return;
    }
    uint64_t seed = 2;
    const int h = 16, w = 16, T = 3;
    float *lr = malloc(sizeof(float) * T * 3 * h * w), *gt = malloc(sizeof(float) * T * 48 * h * w);
    tu_fill_uniform(lr, (size_t)T * 3 * h * w, 0, 1, &seed);
    tu_fill_uniform(gt, (size_t)T * 48 * h * w, 0, 1, &seed);
    sv_net_cfg c = {.batch = 1, .seq = T, .h = h, .w = w};
    sv_tf_state tf;
    sv_trainnet *net = sv_trainnet_create(&st, &c, &e);
    CHECK(net && sv_tf_begin(&tf, &m, &c, 0.5f, &e) == 0);
    float *g0 = calloc(m.nparams, sizeof(float)), *g1 = calloc(m.nparams, sizeof(float));
    double l0, l1;
    CHECK(sv_trainnet_step(net, lr, gt, g0, 1, &l0, &e) == 0);
    CHECK(sv_tf_prepare(&tf, net, lr, &e) == 0 && sv_trainnet_step(net, lr, gt, g1, 1, &l1, &e) == 0);
    CHECKF(tf.last == 0.0 && l1 == l0 && memcmp(g0, g1, sizeof(float) * m.nparams) == 0, "L_tf %.3g for a copy", tf.last);
    st.trunk[1].blocks[0].conv2.b[3] += 0.1f;
    CHECK(sv_tf_prepare(&tf, net, lr, &e) == 0 && sv_trainnet_step(net, lr, gt, g1, 1, &l1, &e) == 0);
    CHECKF(tf.last > 1e-4, "L_tf %.3g after perturbing the student", tf.last);
    sv_trainnet_free(net);
    sv_tf_end(&tf);
    free(lr), free(gt), free(g0), free(g1);
    sv_model_free(&st);
    sv_model_free(&m);
}

int main(void) {
    run_test("prune_scale_and_penalty_gradients", test_scale_gradient);
    run_test("prune_select_rules", test_select_rules);
    run_test("prune_select_recon_own", test_select_recon_own);
    run_test("prune_cut_keep_all_is_identity", test_cut_keep_all);
    run_test("prune_cut_zero_units_same_output_roundtrip_reprune", test_cut_zero_units);
    run_test("prune_cut_aligned_baseline", test_cut_aligned);
    run_test("prune_sparsity_learning_collapse", test_sparsity_learning_collapse);
    run_test("prune_tf_loss", test_tf_loss);
    free(g_frames);
    return test_summary();
}
