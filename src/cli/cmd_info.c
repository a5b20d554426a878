// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// cmd_info.c: slimvsr info MODEL [--size HxW] [--json] [--profile [--frames N] [--threads T]]
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/progress.h"
#include "model/basicvsr.h"
#include "model/stats.h"

static int parse_size(const char *s, int *h, int *w) {
    char x;
    if (!s || sscanf(s, "%dx%d%c", h, w, &x) != 2 || *h < 1 || *w < 1 || *h > 16384 || *w > 16384) {
        fprintf(stderr, "slimvsr info: --size expects HxW (e.g. 180x320), got '%s'\n", s ? s : "");
        return -1;
    }
    return 0;
}

// The layer's shape in the dense BasicVSR of the same width (what an SSL-pruned model was cut from), and
// its params and FLOPs at that shape.
typedef struct {
    int cin, cout;
    double params, flops;
} dense_shape;

// R: the same layer in the model's layer table (sv_model_stats lists the layers in that order).
static dense_shape dense_of(const sv_model *m, const sv_layer_ref *R, const sv_layer_stat *l) {
    dense_shape d = {l->cin, l->cout, l->params, l->flops};
    int k;
    sv_layer_dense_shape(R, m->num_feat, &d.cin, &d.cout, &k);
    // a zero-flow model's SPyNet runs in neither (its weights are unused)
    d.params = R->is_spynet && !sv_uses_spynet(m) ? 0 : (double)d.cin * d.cout * l->k * l->k + d.cout;
    d.flops = l->flops * ((double)d.cin * d.cout) / ((double)l->cin * l->cout);
    return d;
}

static int is_pruned(const sv_model *m, const sv_layer_ref *R, const sv_layer_stat *L, int nl) {
    for (int i = 0; i < nl; i++) {
        dense_shape d = dense_of(m, &R[i], &L[i]);
        if (d.cin != L[i].cin || d.cout != L[i].cout) return 1;
    }
    return 0;
}

static void print_json(const sv_model *m, const sv_layer_ref *R, const sv_layer_stat *L, int nl,
                       const sv_model_totals *t, int h, int w) {
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "arch", "basicvsr");
    cJSON_AddNumberToObject(root, "num_feat", m->num_feat);
    cJSON_AddNumberToObject(root, "num_block", m->num_block);
    cJSON_AddStringToObject(root, "act", sv_act_name(m->act_slope));
    cJSON_AddStringToObject(root, "flow", sv_flow_name(m->flow));
    cJSON_AddStringToObject(root, "direction", sv_direction_name(m->dir));
    cJSON_AddNumberToObject(root, "height", h);
    cJSON_AddNumberToObject(root, "width", w);
    cJSON_AddNumberToObject(root, "params", t->params);
    cJSON_AddNumberToObject(root, "params_spynet", t->params_spynet);
    cJSON_AddNumberToObject(root, "flops", t->flops);
    cJSON_AddNumberToObject(root, "flops_spynet", t->flops_spynet);
    const int pruned = is_pruned(m, R, L, nl);
    cJSON_AddBoolToObject(root, "pruned", pruned);
    double dp = 0, df = 0;
    for (int i = 0; i < nl; i++) {
        dense_shape d = dense_of(m, &R[i], &L[i]);
        dp += d.params;
        df += d.flops;
    }
    cJSON_AddNumberToObject(root, "dense_params", dp);
    cJSON_AddNumberToObject(root, "dense_flops", df);
    cJSON *arr = cJSON_AddArrayToObject(root, "layers");
    for (int i = 0; i < nl; i++) {
        dense_shape d = dense_of(m, &R[i], &L[i]);
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "name", L[i].name);
        cJSON_AddNumberToObject(o, "cin", L[i].cin);
        cJSON_AddNumberToObject(o, "cout", L[i].cout);
        cJSON_AddNumberToObject(o, "k", L[i].k);
        cJSON_AddNumberToObject(o, "h", L[i].h);
        cJSON_AddNumberToObject(o, "w", L[i].w);
        cJSON_AddNumberToObject(o, "calls_per_frame", L[i].calls);
        cJSON_AddNumberToObject(o, "params", L[i].params);
        cJSON_AddNumberToObject(o, "flops", L[i].flops);
        cJSON_AddNumberToObject(o, "dense_cin", d.cin);
        cJSON_AddNumberToObject(o, "dense_cout", d.cout);
        cJSON_AddNumberToObject(o, "dense_params", d.params);
        cJSON_AddNumberToObject(o, "dense_flops", d.flops);
        cJSON_AddItemToArray(arr, o);
    }
    char *s = cJSON_Print(root);
    if (s) puts(s);
    free(s);
    cJSON_Delete(root);
}

static void print_text(const char *path, const sv_model *m, const sv_layer_ref *R, const sv_layer_stat *L, int nl,
                       const sv_model_totals *t, int h, int w) {
    const int pruned = is_pruned(m, R, L, nl);
    char act[32] = "ReLU";
    if (m->act_slope != 0.0f) snprintf(act, sizeof act, "LeakyReLU(%g)", m->act_slope);
    const int spy = sv_uses_spynet(m);
    printf("%s: BasicVSR x%d, %d features, %d blocks per branch, activation %s, flow: %s, direction: %s%s\n",
           path, SV_SCALE, m->num_feat, m->num_block, act,
           spy ? "SPyNet" : "zero (no SPyNet: its stored weights are unused)",
           sv_is_uni(m) ? "uni (forward branch only, zero look-ahead)" : "bi",
           pruned ? ", pruned (kept / dense channels)" : "");
    if (spy) printf("per output frame at %dx%d (SPyNet at %dx%d):\n", h, w, sv_spy_aligned(h), sv_spy_aligned(w));
    else printf("per output frame at %dx%d:\n", h, w);
    if (!pruned) {
        printf("  %-42s %5s %5s %2s %11s %5s %10s %9s\n", "layer", "cin", "cout", "k", "at", "calls", "params", "GFLOPs");
    } else {
        printf("  %-42s %9s %9s %2s %11s %5s %21s %17s\n", "layer", "cin", "cout", "k", "at", "calls",
               "params (dense)", "GFLOPs (dense)");
    }
    double dp = 0, df = 0;
    for (int i = 0; i < nl; i++) {
        char at[32];
        snprintf(at, sizeof at, "%dx%d", L[i].h, L[i].w);
        dense_shape d = dense_of(m, &R[i], &L[i]);
        dp += d.params;
        df += d.flops;
        if (!pruned) {
            printf("  %-42s %5d %5d %2d %11s %5d %10.0f %9.3f\n", L[i].name, L[i].cin, L[i].cout, L[i].k, at, L[i].calls,
                   L[i].params, L[i].flops * 1e-9);
        } else {
            char ci[24], co[24];
            snprintf(ci, sizeof ci, "%d/%d", L[i].cin, d.cin);
            snprintf(co, sizeof co, "%d/%d", L[i].cout, d.cout);
            printf("  %-42s %9s %9s %2d %11s %5d %10.0f (%8.0f) %7.3f (%7.3f)\n", L[i].name, ci, co, L[i].k, at,
                   L[i].calls, L[i].params, d.params, L[i].flops * 1e-9, d.flops * 1e-9);
        }
    }
    printf("parameters: %.0f (%.3f M), of which SPyNet %.0f; without SPyNet %.3f M\n", t->params, t->params * 1e-6,
           t->params_spynet, (t->params - t->params_spynet) * 1e-6);
    printf("FLOPs per frame: %.2f G, of which SPyNet %.2f G\n", t->flops * 1e-9, t->flops_spynet * 1e-9);
    if (pruned)
        printf("dense model of the same width: %.3f M parameters without SPyNet (%.1f%% kept), %.2f GFLOPs per frame "
               "(%.1f%% kept)\n", (dp - t->params_spynet) * 1e-6, 100.0 * (t->params - t->params_spynet) / (dp - t->params_spynet),
               df * 1e-9, 100.0 * t->flops / df);
}

int cmd_info(int argc, char **argv) {
    const char *path = NULL;
    int json = 0, h = 180, w = 320, profile = 0, frames = 5, threads = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            printf("usage: slimvsr info MODEL [--size HxW] [--json] [--profile [--frames N] [--threads T]]\n"
                   "  Architecture, per-layer channels, parameters and FLOPs per output frame for LR frames\n"
                   "  of HxW (default 180x320). FLOPs = 2*cin*cout*k*k*H*W per conv call; SPyNet runs twice\n"
                   "  per frame (one flow per propagation branch); a zero-flow model (flow: zero) runs no SPyNet,\n"
                   "  so its SPyNet layers count no calls, parameters or FLOPs. A forward-only model (direction:\n"
                   "  uni) has no backward_trunk, runs SPyNet once per frame and its fusion reads F_i alone.\n"
                   "  --json prints {flow, direction, params, params_spynet, flops, flops_spynet, layers: [...],\n"
                   "  ...}.\n"
                   "  --profile runs N (default 5) random frames of HxW through the model on T threads (default\n"
                   "  all cores) and prints each conv layer's backend, calls, ms per call, share of the time,\n"
                   "  GFLOP per call and GFLOP/s, the work between the convs, and the times per layer group.\n");
            return 0;
        } else if (!strcmp(argv[i], "--json")) {
            json = 1;
        } else if (!strcmp(argv[i], "--profile")) {
            profile = 1;
        } else if (!strcmp(argv[i], "--frames") || !strcmp(argv[i], "--threads")) {
            int *dst = argv[i][2] == 'f' ? &frames : &threads;
            if ((*dst = cli_parse_int(argv[i], i + 1 < argc ? argv[i + 1] : NULL, 1, 4096)) < 0) return 2;
            i++;
        } else if (!strcmp(argv[i], "--size")) {
            if (parse_size(i + 1 < argc ? argv[i + 1] : NULL, &h, &w)) return 2;
            i++;
        } else if (argv[i][0] == '-' && argv[i][1]) {
            fprintf(stderr, "slimvsr info: unknown option '%s'\n", argv[i]);
            return 2;
        } else if (!path) {
            path = argv[i];
        } else {
            fprintf(stderr, "slimvsr info: too many arguments\n");
            return 2;
        }
    }
    if (!path) {
        fprintf(stderr, "usage: slimvsr info MODEL [--size HxW] [--json] [--profile [--frames N] [--threads T]]\n");
        return 2;
    }
    sv_model m;
    const sv_model *use;
    if (cli_load_model(path, -1, 0, &m, &use)) return 1;
    if (profile) {
        if (threads) cli_set_threads(threads);
        const int rc = cli_info_profile(&m, h, w, frames);
        sv_model_free(&m);
        return rc;
    }
    sv_model_totals t;
    int nl = sv_model_stats(&m, h, w, NULL, 0, &t);
    sv_layer_stat *L = calloc((size_t)nl, sizeof *L);
    sv_layer_ref *R = calloc((size_t)nl, sizeof *R);
    if (!L || !R) {
        free(L), free(R);
        sv_model_free(&m);
        fprintf(stderr, "slimvsr: out of memory\n");
        return 1;
    }
    sv_model_stats(&m, h, w, L, nl, &t);
    sv_model_layers(&m, R, nl);  // the same layers in the same order, with what each is
    if (json) print_json(&m, R, L, nl, &t, h, w);
    else print_text(path, &m, R, L, nl, &t, h, w);
    free(L), free(R);
    sv_model_free(&m);
    return 0;
}
