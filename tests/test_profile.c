// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// test_profile.c: the runner's per-layer profile (model/profile.h): every conv layer recorded with the
// right calls for n frames and the FLOPs of model/stats.h, non-negative seconds that sum to at most the
// wall time, the non-conv kinds counted per call site, groups that add up, merging; on a dense random model
// and the shipped SSL-pruned one, in both execution modes.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "model/basicvsr.h"
#include "model/profile.h"
#include "model/runner.h"
#include "model/stats.h"
#include "testutil.h"

enum { H = 20, W = 28, NF = 3 };

static const sv_prof_layer *find_layer(const sv_prof_table *t, const char *name) {
    for (int i = 0; i < t->n; i++)
        if (!strcmp(t->layer[i].name, name)) return &t->layer[i];
    return NULL;
}

// Per layer: calls and FLOPs against stats.h. SPyNet runs once per frame pair and branch: 2 (n-1) calls;
// every trunk conv once per frame of its branch; the reconstruction's convs at least once per frame (the
// same FLOPs per frame when untiled, more with the halo rows of tiles).
static void check_layers(const sv_model *m, const sv_prof_table *t, int n) {
    sv_model_totals tot;
    const int nl = sv_model_stats(m, H, W, NULL, 0, &tot);
    sv_layer_stat *L = calloc((size_t)nl, sizeof *L);
    if (!L) return;
    sv_model_stats(m, H, W, L, nl, &tot);
    CHECKF(t->n == nl, "%d layers in the profile, %d in stats", t->n, nl);
    CHECK(t->lost_calls == 0);
    for (int i = 0; i < nl; i++) {
        const sv_prof_layer *p = find_layer(t, L[i].name);
        CHECKF(p != NULL, "%s not in the profile", L[i].name);
        if (!p) continue;
        CHECKF(p->seconds >= 0 && p->backend[0], "%s: %g s, backend '%s'", p->name, p->seconds, p->backend);
        CHECKF(p->kind >= 0, "%s: kind %d", p->name, p->kind);
        const double per_call = L[i].flops / L[i].calls;
        if (L[i].is_spynet || p->kind == SV_LAYER_FIRST || p->kind == SV_LAYER_CONV1 || p->kind == SV_LAYER_CONV2) {
            const long want = L[i].is_spynet ? 2L * (n - 1) : n;
            CHECKF(p->calls == want, "%s: %ld calls, want %ld", p->name, p->calls, want);
            CHECKF(p->flops == per_call * p->calls, "%s: %.6g FLOPs, stats %.6g per call", p->name, p->flops, per_call);
        } else {
            CHECKF(p->calls >= n && p->calls % n == 0, "%s: %ld calls for %d frames", p->name, p->calls, n);
            CHECKF(p->flops >= L[i].flops * n * (1 - 1e-12), "%s: %.6g FLOPs < stats %.6g x %d", p->name, p->flops,
                   L[i].flops, n);
        }
    }
    free(L);
}

static int count_rsc(const sv_model *m, int gather) {
    int c = 0;
    for (int t = 0; t < 2; t++)
        for (int k = 0; k < m->num_block; k++)
            c += gather ? m->trunk[t].blocks[k].in_idx != NULL : m->trunk[t].blocks[k].out_idx != NULL;
    return c;
}

static void check_run(const sv_model *m, sv_exec_mode mode) {
    sv_err e;
    sv_runner *r = sv_runner_create(m, H, W, NF, mode, &e);
    CHECKF(r != NULL, "%s", e.msg);
    if (!r) return;
    float *data = malloc(sizeof(float) * 3 * H * W * NF);
    const float *fr[NF];
    uint64_t seed = 7;
    tu_fill_uniform(data, (size_t)3 * H * W * NF, 0, 1, &seed);
    for (int i = 0; i < NF; i++) fr[i] = data + (size_t)3 * H * W * i;
    const double t0 = sv_now();
    CHECKF(sv_runner_run(r, fr, NF, NULL, NULL, &e) == 0, "%s", e.msg);
    const double wall = sv_now() - t0;
    const sv_prof_table *t = sv_runner_get_layers(r);
    const sv_runner_profile p = sv_runner_get_profile(r);
    check_layers(m, t, NF);
    double timed = 0;
    for (int i = 0; i < t->n; i++) timed += t->layer[i].seconds;
    for (int k = 0; k < SV_PROF_NKINDS; k++) {
        CHECK(t->kind_seconds[k] >= 0);
        timed += t->kind_seconds[k];
    }
    CHECKF(timed <= wall, "timed %.6f s > wall %.6f s", timed, wall);
    // per trunk step (2 NF): one warp (or zeroing), two concat copies; per flow (2 (NF-1)): one pyramid pair,
    // one resize, per level an upsample, a warp and two concat steps
    CHECK(t->kind_calls[SV_PROF_WARP] == 2 * NF);
    CHECK(t->kind_calls[SV_PROF_SPY_PYRAMID] == 2 * (NF - 1) && t->kind_calls[SV_PROF_SPY_RESIZE] == 2 * (NF - 1));
    CHECK(t->kind_calls[SV_PROF_SPY_WARP] == 2 * (NF - 1) * SV_SPY_LEVELS);
    CHECK(t->kind_calls[SV_PROF_CONCAT] >= 4 * NF);
    CHECKF(t->kind_calls[SV_PROF_GATHER] == (long)NF * count_rsc(m, 1), "gathers %ld", t->kind_calls[SV_PROF_GATHER]);
    CHECK(t->kind_calls[SV_PROF_SCATTER] == (long)NF * count_rsc(m, 0));
    double sec[SV_NGROUPS], flops[SV_NGROUPS], sum = 0, fsum = 0, fl = 0;
    const double total = sv_prof_groups(&p, t, sec, flops);
    for (int g = 0; g < SV_NGROUPS; g++) sum += sec[g], fsum += flops[g];
    for (int i = 0; i < t->n; i++) fl += t->layer[i].flops;
    CHECKF(total > 0 && total <= wall && sum >= total * (1 - 1e-9), "groups %.6f, total %.6f, wall %.6f", sum, total,
           wall);
    CHECK(fsum == fl && flops[SV_GROUP_OTHER] == 0 && flops[SV_GROUP_RSC] == 0);
    // a fast run's 3x3 trunk convs (>= 5 input channels) are Winograd: their phases are timed
    const sv_prof_layer *c1 = find_layer(t, "backward_trunk.main.2.0.conv2");
    if (mode == SV_EXEC_FAST && c1 && strstr(c1->backend, "winograd"))
        CHECKF(c1->phase[0] > 0 && c1->phase[1] > 0 && c1->phase[2] > 0, "%s: phases %g %g %g", c1->name,
               c1->phase[0], c1->phase[1], c1->phase[2]);
    // merged twice: twice the calls, the same layers
    sv_prof_table *sum2 = calloc(1, sizeof *sum2);
    if (sum2) {
        sv_prof_table_merge(sum2, t);
        sv_prof_table_merge(sum2, t);
        CHECK(sum2->n == t->n && sum2->layer[0].calls == 2 * t->layer[0].calls);
        CHECK(sum2->kind_calls[SV_PROF_WARP] == 2 * t->kind_calls[SV_PROF_WARP]);
    }
    free(sum2);
    free(data);
    sv_runner_free(r);
}

static void test_dense(void) {
    sv_model m;
    if (tu_random_model(&m, 13, 2, 3)) return;
    check_run(&m, SV_EXEC_FAST);
    check_run(&m, SV_EXEC_REFERENCE);
    sv_model_free(&m);
}

static void test_pruned(void) {
    sv_model m;
    sv_err e;
    if (sv_model_load(&m, "models/basicvsr-ssl.safetensors", -1, &e)) {
        CHECKF(0, "%s", e.msg);
        return;
    }
    CHECK(count_rsc(&m, 1) > 0);
    check_run(&m, SV_EXEC_FAST);
    sv_model_free(&m);
}

int main(void) {
    run_test("profile_dense", test_dense);
    run_test("profile_pruned", test_pruned);
    return test_summary();
}
