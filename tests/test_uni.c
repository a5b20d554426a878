// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// test_uni.c: the forward-only model (sv_model.dir = SV_DIR_UNI, issue 17 item 4). Zero look-ahead: the first
// K outputs of a clip equal, bit for bit, the outputs of the clip cut to its first K frames (reference and
// fast runners, dense and RSC-cut), and a clip run one frame per chunk gives the same frames. The layer
// table has no backward_trunk and fusion reads C channels; the runner holds no backward features (its
// estimate counts none per frame) and runs SPyNet once per frame; the training graph has no backward state.
// Then the flag's life: save/load, copies and both cuts keep it, a bidirectional model's file has no
// "direction" key, and a file whose metadata and tensors disagree (either way) is refused naming the file.
// Through the public API: slimvsr_model_info.uni, and the streaming upscaler's pull returns each frame right
// after its own push (chunk 1, lookahead 0), refusing a larger chunk.
// Training gradients of a uni model are checked against finite differences in test_prune_train.c.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/safetensors.h"
#include "model/profile.h"
#include "model/runner.h"
#include "model/stats.h"
#include "prune/ssl.h"
#include "slimvsr.h"
#include "testutil.h"
#include "train/net.h"

enum { NF = 5, FEAT = 13, BLOCKS = 2 };

static int make_uni(sv_model *m, uint64_t seed) {
    if (tu_random_model_dir(m, FEAT, BLOCKS, SV_DIR_UNI, seed)) return -1;
    tu_boost_blocks(m, seed);
    return 0;
}

// The outputs of m on frames x[0..n) of h x w, run as chunks of `chunk` frames (the forward state and the
// previous frame carried from chunk to chunk, as clip_stream.c does); malloc'd, NULL after a failed check.
static float *run_clip(const sv_model *m, const float *x, int n, int chunk, int h, int w, sv_exec_mode mode) {
    sv_err e;
    sv_runner *r = sv_runner_create(m, h, w, chunk, mode, &e);
    CHECKF(r, "%s", e.msg);
    if (!r) return NULL;
    tu_frames c = {malloc(sizeof(float) * (size_t)n * 3 * SV_SCALE * SV_SCALE * h * w),
                   (size_t)3 * SV_SCALE * SV_SCALE * h * w, SV_SCALE * w};
    const size_t f = (size_t)3 * h * w;
    const float *fr[NF];
    for (int i = 0; i < n; i++) fr[i] = x + i * f;
    for (int s = 0; s < n; s += chunk) {
        const int k = n - s < chunk ? n - s : chunk;
        tu_frames at = {c.out + (size_t)s * c.frame, c.frame, c.w4};
        if (sv_runner_run_chunk(r, fr + s, k, k, s ? fr[s - 1] : NULL, tu_collect_frame, &at, &e)) {
            CHECKF(0, "%s", e.msg);
            free(c.out);
            c.out = NULL;
            break;
        }
    }
    sv_runner_free(r);
    return c.out;
}

// Output frame i of a run equals, bit for bit, frame i of every run over a clip cut after frame K >= i, and of a
// run one frame per chunk. bi: a bidirectional model, whose outputs must depend on later frames (so the
// comparison can fail).
static void check_no_lookahead(const sv_model *m, sv_exec_mode mode, int h, int w, const char *what) {
    const size_t f = (size_t)3 * h * w, of = f * SV_SCALE * SV_SCALE;
    float *x = malloc(sizeof(float) * NF * f);
    uint64_t st = 7;
    tu_fill_uniform(x, NF * f, 0, 1, &st);
    float *all = run_clip(m, x, NF, NF, h, w, mode), *one = run_clip(m, x, NF, 1, h, w, mode);
    if (all && one)
        CHECKF((memcmp(all, one, NF * of * sizeof(float)) == 0) == sv_is_uni(m),
               "%s: one frame per chunk %s the whole clip's frames", what, sv_is_uni(m) ? "differs from" : "equals");
    for (int k = 1; all && k < NF; k++) {
        float *cut = run_clip(m, x, k, k, h, w, mode);
        if (!cut) continue;
        const int same = !memcmp(all, cut, (size_t)k * of * sizeof(float));
        CHECKF(same == sv_is_uni(m), "%s: the first %d outputs of the clip cut to %d frames %s the whole clip's", what,
               k, k, same ? "equal" : "differ from");
        free(cut);
    }
    free(all), free(one), free(x);
}

static void test_no_lookahead(void) {
    sv_model m, p, bi;
    if (make_uni(&m, 11)) return;
    check_no_lookahead(&m, SV_EXEC_REFERENCE, 9, 11, "reference");
    check_no_lookahead(&m, SV_EXEC_FAST, 23, 19, "fast");
    sv_units u;
    sv_err e;
    if (sv_units_build(&u, &m, &e) == 0) {  // an RSC cut of the uni model (a fused block's plan too)
        uint64_t st = 3;
        tu_fill_uniform(u.score, u.nunits, 0, 1, &st);
        sv_select_opts o = {.ratio = 0.4, .global = 0, .round = 1};
        if (sv_units_select(&u, &o, &e) > 0 && sv_prune_cut(&u, &m, &p, &e) == 0) {
            CHECK(sv_is_uni(&p) && p.indices);
            check_no_lookahead(&p, SV_EXEC_FAST, 23, 19, "fast, RSC-cut");
            sv_model_free(&p);
        } else {
            CHECKF(0, "%s", e.msg);
        }
        sv_units_free(&u);
    } else {
        CHECKF(0, "%s", e.msg);
    }
    if (tu_random_model(&bi, FEAT, BLOCKS, 11) == 0) {  // the check itself: a bidirectional model fails it
        tu_boost_blocks(&bi, 11);
        check_no_lookahead(&bi, SV_EXEC_REFERENCE, 9, 11, "bidirectional");
        sv_model_free(&bi);
    }
    sv_model_free(&m);
}

static void test_layers(void) {
    sv_model m, bi;
    if (make_uni(&m, 12) || tu_random_model(&bi, FEAT, BLOCKS, 12)) return;
    const int nl = sv_model_layers(&m, NULL, 0), nb = sv_model_layers(&bi, NULL, 0);
    CHECKF(nl == nb - 1 - 2 * BLOCKS, "%d layers (bidirectional: %d)", nl, nb);
    sv_layer_ref L[256];
    CHECK(nl <= 256);
    sv_model_layers(&m, L, nl);
    size_t dense = 0;
    for (int i = 0; i < nl; i++) {
        CHECKF(!strstr(L[i].name, "backward"), "layer %s in a uni model", L[i].name);
        CHECK(L[i].branch < 0 || L[i].branch == SV_BRANCH_FORWARD);
        int cin, cout, k;
        sv_layer_dense_shape(&L[i], FEAT, &cin, &cout, &k);
        CHECKF(cin == L[i].conv->cin && cout == L[i].conv->cout, "%s: %dx%d, dense %dx%d", L[i].name,
               L[i].conv->cout, L[i].conv->cin, cout, cin);
        dense += (size_t)cout * cin * k * k + cout;
        if (L[i].kind == SV_LAYER_FUSION) CHECK(L[i].states == 1 && L[i].conv->cin == FEAT);
    }
    CHECKF(dense == m.nparams, "%zu parameters, the table's dense shapes %zu", m.nparams, dense);
    CHECK(bi.fusion.cin == 2 * FEAT && sv_branches(&bi) == 2 && sv_branches(&m) == 1);
    // SPyNet runs once per frame (one branch), twice for the bidirectional model
    sv_model_totals tu, tb;
    sv_model_stats(&m, 32, 32, NULL, 0, &tu);
    sv_model_stats(&bi, 32, 32, NULL, 0, &tb);
    CHECKF(tu.flops_spynet * 2 == tb.flops_spynet, "SPyNet FLOPs %.4g (uni), %.4g (bi)", tu.flops_spynet,
           tb.flops_spynet);
    sv_model_free(&m);
    sv_model_free(&bi);
    // the paper's sizes without SPyNet (SSL-NOTES §8): BasicVSR 4.9 M, BasicVSR-uni 2.6 M at 64 x 30 (fusion
    // C -> C: 2592579; without fusion it would be 2588419, the same 2.6 M)
    size_t spy;
    if (tu_random_model_dir(&m, 64, 30, SV_DIR_UNI, 1) == 0) {
        CHECKF(sv_model_param_count(&m, &spy) - spy == 2592579, "64x30 uni: %zu", m.nparams - spy);
        sv_model_free(&m);
    }
    if (tu_random_model(&bi, 64, 30, 1) == 0) {
        CHECKF(sv_model_param_count(&bi, &spy) - spy == 4851011, "64x30 bi: %zu", bi.nparams - spy);
        sv_model_free(&bi);
    }
}

// The runner and its estimate: no backward features (nothing per frame), less than a bidirectional model of
// the same size, SPyNet's layers called once per frame; the training graph: no backward branch.
static void test_memory(void) {
    sv_model m, bi;
    if (make_uni(&m, 13) || tu_random_model(&bi, FEAT, BLOCKS, 13)) return;
    size_t fu, pu, fb, pb;
    sv_runner_estimate(&m, 40, 48, SV_EXEC_FAST, &fu, &pu);
    sv_runner_estimate(&bi, 40, 48, SV_EXEC_FAST, &fb, &pb);
    CHECKF(pu == 0 && pb > 0, "per frame: %zu bytes (uni), %zu (bi)", pu, pb);
    CHECKF(fu < fb, "fixed: %zu bytes (uni), %zu (bi)", fu, fb);
    sv_err e;
    sv_runner *r = sv_runner_create(&m, 40, 48, 3, SV_EXEC_FAST, &e);
    CHECKF(r, "%s", e.msg);
    if (r) {
        CHECKF(sv_runner_bytes(r) <= fu, "the runner holds %zu bytes, its estimate is %zu", sv_runner_bytes(r), fu);
        float *x = calloc((size_t)3 * 3 * 40 * 48, sizeof(float));
        const float *fr[3] = {x, x + 3 * 40 * 48, x + 6 * 40 * 48};
        CHECKF(sv_runner_run(r, fr, 3, NULL, NULL, &e) == 0, "%s", e.msg);
        const sv_prof_table *t = sv_runner_get_layers(r);
        long spy = 0, bwd = 0;
        for (int i = 0; i < t->n; i++) {
            if (t->layer[i].kind == SV_LAYER_SPYNET && t->layer[i].calls) spy = t->layer[i].calls;
            bwd += strstr(t->layer[i].name, "backward") != NULL;
        }
        CHECKF(spy == 2 && bwd == 0, "SPyNet layer calls %ld for 3 frames (want 2), %ld backward layers", spy, bwd);
        free(x);
        sv_runner_free(r);
    }
    const sv_net_cfg c = {.batch = 1, .seq = 3, .h = 8, .w = 8, .reference = 1};
    CHECK(sv_trainnet_estimate(&m, &c) < sv_trainnet_estimate(&bi, &c));
    sv_trainnet *t = sv_trainnet_create(&m, &c, &e);
    CHECKF(t, "%s", e.msg);
    if (t) {
        size_t n = 1;
        CHECK(sv_trainnet_state(t, SV_BRANCH_BACKWARD, 0, &n) == NULL && n == 0);
        sv_trainnet_free(t);
    }
    sv_model_free(&m);
    sv_model_free(&bi);
}

// The "slimvsr" metadata of m's tensors in *s (the caller frees s).
static const char *tensors_of(const sv_model *m, sv_tensor_set *s) {
    sv_err e;
    if (sv_model_to_tensors(m, s, &e) == 0) return sv_tensor_set_get_meta(s, "slimvsr");
    CHECKF(0, "%s", e.msg);
    return NULL;
}

// Loading the tensors s, whose metadata is replaced by meta (NULL: kept), from a file must fail with a
// message naming the file and holding want.
static void refused(sv_tensor_set *s, const char *meta, const char *want, const char *name) {
    sv_err e;
    if (meta) CHECK(sv_tensor_set_set_meta(s, "slimvsr", meta, &e) == 0);
    const char *path = tu_join(tu_tmpdir(), name);
    CHECKF(sv_safetensors_write(path, s, &e) == 0, "%s", e.msg);
    sv_model m;
    const int rc = sv_model_load(&m, path, -1, &e);
    CHECKF(rc < 0 && strstr(e.msg, path) && strstr(e.msg, want), "%s: %s", name, rc < 0 ? e.msg : "loaded");
    if (rc == 0) sv_model_free(&m);
}

static void test_flag_kept_and_checked(void) {
    sv_model m, bi, loaded, copy, cut;
    if (make_uni(&m, 14) || tu_random_model(&bi, 4, 1, 14)) return;
    sv_err e;
    const char *path = tu_join(tu_tmpdir(), "uni.safetensors");
    CHECKF(sv_model_save(&m, path, &e) == 0, "%s", e.msg);
    if (sv_model_load(&loaded, path, -1, &e) == 0) {
        CHECK(sv_is_uni(&loaded) && loaded.nparams == m.nparams &&
              !memcmp(loaded.params, m.params, m.nparams * sizeof(float)));
        sv_model_free(&loaded);
    } else {
        CHECKF(0, "%s", e.msg);
    }
    if (sv_model_clone(&m, &copy, &e) == 0) {
        CHECK(sv_is_uni(&copy));
        sv_model_free(&copy);
    }
    unsigned char hp[FEAT] = {1, 0, 0, 1};  // the aligned cut: the forward branch's hidden channels 0 and 3
    const unsigned char *hpp[2] = {NULL, hp};
    if (sv_prune_cut_aligned(hpp, &m, &cut, &e) == 0) {
        CHECK(sv_is_uni(&cut) && cut.num_feat == FEAT - 2 && cut.fusion.cin == FEAT - 2);
        sv_model_free(&cut);
    } else {
        CHECKF(0, "aligned cut: %s", e.msg);
    }
    sv_tensor_set s = {0}, sb = {0};
    const char *js = tensors_of(&m, &s), *jb = tensors_of(&bi, &sb);
    CHECKF(js && strstr(js, "\"direction\":\"uni\""), "a uni model's metadata: %s", js ? js : "");
    CHECKF(jb && !strstr(jb, "direction"), "a bidirectional model's metadata names a direction: %s", jb ? jb : "");
    // a uni file without its key (or saying "bi"), a bidirectional file saying "uni", an unknown value
    refused(&s, "{\"num_feat\": 13}", "no backward branch", "unmarked.safetensors");
    refused(&s, "{\"direction\": \"bi\"}", "no backward branch", "says_bi.safetensors");
    refused(&sb, "{\"direction\": \"uni\"}", "forward only", "says_uni.safetensors");
    refused(&sb, "{\"direction\": \"sideways\"}", "direction must be", "bogus.safetensors");
    sv_tensor_set_free(&s);
    sv_tensor_set_free(&sb);
    sv_model_free(&m);
    sv_model_free(&bi);
}

static void test_api_stream(void) {
    sv_model m;
    if (make_uni(&m, 15)) return;
    sv_err e;
    const char *path = tu_join(tu_tmpdir(), "uni_api.safetensors");
    CHECKF(sv_model_save(&m, path, &e) == 0, "%s", e.msg);
    sv_model_free(&m);
    slimvsr_model *mod = NULL;
    if (slimvsr_model_load(path, &mod) != SLIMVSR_OK) {
        CHECKF(0, "%s", slimvsr_last_error());
        return;
    }
    enum { W = 12, H = 10 };
    slimvsr_model_info info;
    CHECK(slimvsr_model_get_info(mod, W, H, &info) == SLIMVSR_OK && info.uni == 1);
    slimvsr_upscaler_options o = slimvsr_upscaler_options_default();
    slimvsr_upscaler *u = NULL;
    o.chunk = 3;
    CHECK(slimvsr_upscaler_create(mod, W, H, &o, &u) == SLIMVSR_ERR_ARGUMENT &&
          strstr(slimvsr_last_error(), "--chunk"));
    o = slimvsr_upscaler_options_default();
    if (slimvsr_upscaler_create(mod, W, H, &o, &u) == SLIMVSR_OK) {
        int chunk = -1, la = -1;
        CHECK(slimvsr_upscaler_get_plan(u, &chunk, &la, NULL, NULL) == SLIMVSR_OK && chunk == 1 && la == 0);
        unsigned char lr[W * H * 3] = {0}, hr[16 * W * H * 3];
        for (int i = 0; i < 4; i++) {
            memset(lr, 40 * i, sizeof lr);
            CHECK(slimvsr_upscaler_push(u, &(slimvsr_frame){lr, W, H, 0, SLIMVSR_RGB8}) == SLIMVSR_OK);
            const int got = slimvsr_upscaler_pull(u, &(slimvsr_frame){hr, 4 * W, 4 * H, 0, SLIMVSR_RGB8});
            CHECKF(got == SLIMVSR_OK, "push %d: pull says %d, want its frame at once", i, got);
            CHECK(slimvsr_upscaler_pull(u, &(slimvsr_frame){hr, 4 * W, 4 * H, 0, SLIMVSR_RGB8}) == SLIMVSR_AGAIN);
        }
        slimvsr_upscaler_free(u);
    } else {
        CHECKF(0, "%s", slimvsr_last_error());
    }
    slimvsr_model_free(mod);
}

int main(void) {
    run_test("uni_no_lookahead", test_no_lookahead);
    run_test("uni_layers", test_layers);
    run_test("uni_memory", test_memory);
    run_test("uni_flag_kept_and_checked", test_flag_kept_and_checked);
    run_test("uni_api_stream", test_api_stream);
    return test_summary();
}
