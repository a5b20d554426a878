// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// profile.c: the runner's per-layer profile (profile.h): recording, merging, grouping.
#include "model/profile.h"

#include <stdio.h>
#include <string.h>

#include "core/clock.h"
#include "model/runner_internal.h"
#include "model/stats.h"

static const char *const kind_names[SV_PROF_NKINDS] = {
    "spynet pyramid", "spynet flow upsample", "spynet warp", "spynet concat + residual", "spynet flow resize",
    "hidden-state warp", "concat + layout copies", "rsc gather", "rsc scatter-add", "bilinear base + add",
};
static const char *const group_names[SV_NGROUPS] = {
    "spynet", "trunk conv_first", "block conv1", "block conv2", "gather/scatter", "warp",
    "fusion", "upconv1", "upconv2", "conv_hr", "conv_last", "other",
};
static const sv_prof_group kind_group[SV_PROF_NKINDS] = {
    SV_GROUP_SPYNET, SV_GROUP_SPYNET, SV_GROUP_SPYNET, SV_GROUP_SPYNET, SV_GROUP_SPYNET,
    SV_GROUP_WARP,   SV_GROUP_OTHER,  SV_GROUP_RSC,    SV_GROUP_RSC,    SV_GROUP_OTHER,
};

const char *sv_prof_kind_name(sv_prof_kind k) { return k >= 0 && k < SV_PROF_NKINDS ? kind_names[k] : "?"; }
const char *sv_prof_group_name(sv_prof_group g) { return g >= 0 && g < SV_NGROUPS ? group_names[g] : "?"; }

sv_prof_group sv_prof_layer_group(int kind) {
    switch (kind) {
    case SV_LAYER_SPYNET: return SV_GROUP_SPYNET;
    case SV_LAYER_FIRST: return SV_GROUP_FIRST;
    case SV_LAYER_CONV1: return SV_GROUP_CONV1;
    case SV_LAYER_CONV2: return SV_GROUP_CONV2;
    case SV_LAYER_FUSION: return SV_GROUP_FUSION;
    case SV_LAYER_UPCONV1: return SV_GROUP_UPCONV1;
    case SV_LAYER_UPCONV2: return SV_GROUP_UPCONV2;
    case SV_LAYER_CONV_HR: return SV_GROUP_CONV_HR;
    case SV_LAYER_CONV_LAST: return SV_GROUP_CONV_LAST;
    default: return SV_GROUP_OTHER;
    }
}

void sv_prof_add(sv_prof_table *t, sv_prof_kind k, double seconds) {
    t->kind_calls[k]++;
    t->kind_seconds[k] += seconds;
}

double sv_prof_lap(sv_prof_table *t, sv_prof_kind k, double since) {
    const double now = sv_now();
    sv_prof_add(t, k, now - since);
    return now;
}

// The entry of layer `name`, or NULL. The calls come in the same order frame after frame, so the entry
// after the last one found is tried first.
static sv_prof_layer *find(sv_prof_table *t, const char *name) {
    if (t->hint < t->n && !strcmp(t->layer[t->hint].name, name)) return &t->layer[t->hint++];
    for (int i = 0; i < t->n; i++)
        if (!strcmp(t->layer[i].name, name)) {
            t->hint = i + 1;
            return &t->layer[i];
        }
    return NULL;
}

// A new zeroed entry for name, or NULL when the table is full.
static sv_prof_layer *add(sv_prof_table *t, const char *name) {
    if (t->n == SV_PROF_MAX_LAYERS) return NULL;
    sv_prof_layer *L = &t->layer[t->n++];
    memset(L, 0, sizeof *L);
    snprintf(L->name, sizeof L->name, "%s", name);
    t->hint = t->n;
    return L;
}

static void accumulate(sv_prof_layer *dst, const sv_prof_layer *src) {
    dst->calls += src->calls;
    dst->seconds += src->seconds;
    dst->flops += src->flops;
    for (int i = 0; i < 3; i++) dst->phase[i] += src->phase[i];
}

// What layer c of model m is (sv_layer_kind), from m's layer table; -1 when it is not one of m's. Once per
// layer of a runner (the first call records it).
static int layer_kind(const sv_model *m, const sv_conv_layer *c) {
    sv_model *mm = (sv_model *)m;  // sv_model_layers hands out views; nothing is modified
    const int nl = sv_model_layers(mm, NULL, 0);
    sv_layer_ref refs[nl > 0 ? nl : 1];
    sv_model_layers(mm, refs, nl);
    for (int i = 0; i < nl; i++)
        if (refs[i].conv == c) return refs[i].kind;
    return -1;
}

void sv_prof_run_conv(sv_vsr_runner *r, const sv_conv_op *op, double seconds, const double phase[3]) {
    sv_prof_table *t = &r->base.table;
    sv_prof_layer *L = find(t, op->name);
    if (!L) {
        if (!(L = add(t, op->name))) {
            t->lost_calls++;
            t->lost_seconds += seconds;
            return;
        }
        L->kind = layer_kind(r->m, op->layer);
        snprintf(L->backend, sizeof L->backend, "%s",
                 op->plan ? sv_conv_plan_algo(op->plan) : op->fused ? op->fused : "reference");
    }
    const sv_conv_desc *d = &op->d;
    const sv_prof_layer call = {.calls = 1, .seconds = seconds, .phase = {phase[0], phase[1], phase[2]},
                                .flops = sv_conv_flops(d->cin, d->cout, d->k, d->h + 2 * d->pad - d->k + 1,
                                                       d->w + 2 * d->pad - d->k + 1)};
    accumulate(L, &call);
}

void sv_prof_table_merge(sv_prof_table *dst, const sv_prof_table *src) {
    for (int i = 0; i < src->n; i++) {
        const sv_prof_layer *s = &src->layer[i];
        sv_prof_layer *L = find(dst, s->name);
        if (!L && (L = add(dst, s->name))) {
            L->kind = s->kind;
            snprintf(L->backend, sizeof L->backend, "%s", s->backend);
        }
        if (L) {
            accumulate(L, s);
        } else {
            dst->lost_calls += s->calls;
            dst->lost_seconds += s->seconds;
        }
    }
    dst->lost_calls += src->lost_calls;
    dst->lost_seconds += src->lost_seconds;
    for (int k = 0; k < SV_PROF_NKINDS; k++) {
        dst->kind_calls[k] += src->kind_calls[k];
        dst->kind_seconds[k] += src->kind_seconds[k];
    }
}

double sv_prof_groups(const sv_runner_profile *p, const sv_prof_table *t, double sec[SV_NGROUPS],
                      double flops[SV_NGROUPS]) {
    for (int g = 0; g < SV_NGROUPS; g++) sec[g] = flops[g] = 0;
    for (int i = 0; i < t->n; i++) {
        const sv_prof_group g = sv_prof_layer_group(t->layer[i].kind);
        sec[g] += t->layer[i].seconds;
        flops[g] += t->layer[i].flops;
    }
    for (int k = 0; k < SV_PROF_NKINDS; k++) sec[kind_group[k]] += t->kind_seconds[k];
    sec[SV_GROUP_OTHER] += t->lost_seconds + p->emit;
    double accounted = 0;
    for (int g = 0; g < SV_NGROUPS; g++) accounted += sec[g];
    const double total = p->spynet + p->trunk + p->recon + p->emit;
    if (total > accounted) sec[SV_GROUP_OTHER] += total - accounted;
    return total;
}
