// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// units.c: the prunable units of a model, their scores, the choice of what to prune, the penalty schedule.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "prune/ssl.h"

static int add_layer(sv_units *u, int cap, int conv, const sv_layer_ref *L, sv_unit_kind kind, int n) {
    if (u->nlayers == cap) return -1;
    sv_unit_layer *l = &u->layers[u->nlayers];
    snprintf(l->name, sizeof l->name, "%s%s", L->name, kind == SV_UNIT_IN ? " in" : "");
    l->conv = conv;
    l->conv_kind = L->kind;
    l->kind = kind;
    l->n = n;
    l->off = u->nunits;
    u->nunits += (size_t)n;
    if (kind == SV_UNIT_IN) u->in_layer[conv] = u->nlayers;
    else u->out_layer[conv] = u->nlayers;
    u->nlayers++;
    return 0;
}

int sv_units_build(sv_units *u, sv_model *m, sv_err *e) {
    memset(u, 0, sizeof *u);
    int nl = sv_model_layers(m, NULL, 0);
    sv_layer_ref *L = sv_calloc((size_t)nl, sizeof *L, e);
    int cap = 2 * nl;
    u->layers = sv_calloc((size_t)cap, sizeof *u->layers, e);
    u->out_layer = sv_malloc((size_t)nl * sizeof(int), e);
    u->in_layer = sv_malloc((size_t)nl * sizeof(int), e);
    if (!L || !u->layers || !u->out_layer || !u->in_layer) {
        free(L);
        sv_units_free(u);
        return -1;
    }
    u->nconvs = nl;
    sv_model_layers(m, L, nl);
    for (int i = 0; i < nl; i++) u->out_layer[i] = u->in_layer[i] = -1;
    for (int i = 0; i < nl; i++) {
        const sv_conv_layer *c = L[i].conv;
        switch (L[i].kind) {
        case SV_LAYER_CONV1:
            add_layer(u, cap, i, &L[i], SV_UNIT_OUT, c->cout);
            add_layer(u, cap, i, &L[i], SV_UNIT_IN, c->cin);
            break;
        case SV_LAYER_CONV2:
        case SV_LAYER_FUSION:
        case SV_LAYER_CONV_HR: add_layer(u, cap, i, &L[i], SV_UNIT_OUT, c->cout); break;
        case SV_LAYER_UPCONV1:
        case SV_LAYER_UPCONV2: add_layer(u, cap, i, &L[i], SV_UNIT_OUT4, c->cout / SV_SHUFFLE_GROUP); break;
        case SV_LAYER_SPYNET:
        case SV_LAYER_FIRST:
        case SV_LAYER_CONV_LAST: break;  // not prunable (ssl.h)
        }
    }
    free(L);
    u->scale = sv_malloc(u->nunits * sizeof(float), e);
    u->score = sv_calloc(u->nunits, sizeof(float), e);
    u->lambda = sv_calloc(u->nunits, sizeof(float), e);
    u->pruned = sv_calloc(u->nunits, 1, e);
    if (!u->scale || !u->score || !u->lambda || !u->pruned) {
        sv_units_free(u);
        return -1;
    }
    for (size_t j = 0; j < u->nunits; j++) u->scale[j] = 1.0f;
    return 0;
}

void sv_units_free(sv_units *u) {
    free(u->layers), free(u->scale), free(u->score), free(u->lambda), free(u->pruned);
    free(u->out_layer), free(u->in_layer);
    memset(u, 0, sizeof *u);
}

void sv_units_score_l1(sv_units *u, sv_model *m) {
    int nl = sv_model_layers(m, NULL, 0);
    sv_layer_ref *L = malloc((size_t)nl * sizeof *L);
    if (!L) return;
    sv_model_layers(m, L, nl);
    for (int li = 0; li < u->nlayers; li++) {
        const sv_unit_layer *l = &u->layers[li];
        const sv_conv_layer *c = L[l->conv].conv;
        const int kk = c->k * c->k, oi = u->out_layer[l->conv], ii = u->in_layer[l->conv];
        const sv_unit_layer *lo = oi >= 0 ? &u->layers[oi] : NULL, *lin = ii >= 0 ? &u->layers[ii] : NULL;
        for (int j = 0; j < l->n; j++) u->score[l->off + j] = 0.0f;
        for (int o = 0; o < c->cout; o++) {
            float g = lo ? u->scale[lo->off + (lo->kind == SV_UNIT_OUT4 ? o / SV_SHUFFLE_GROUP : o)] : 1.0f;
            for (int i = 0; i < c->cin; i++) {
                float b = lin ? u->scale[lin->off + i] : 1.0f;
                double s = 0;
                for (int k = 0; k < kk; k++) s += fabsf(c->w[((size_t)o * c->cin + i) * kk + k]);
                s *= fabsf(g * b);
                int unit = l->kind == SV_UNIT_IN ? i : l->kind == SV_UNIT_OUT4 ? o / SV_SHUFFLE_GROUP : o;
                u->score[l->off + unit] += (float)s;
            }
        }
        // the mean |w| per weight of the unit: layers of different fan-in (12 x 9 weights per trunk filter,
        // 64 x 9 in conv_hr) compare in one global pool; within a layer the order is the L1 order
        const int group = l->kind == SV_UNIT_OUT4 ? SV_SHUFFLE_GROUP : 1;
        const double per = l->kind == SV_UNIT_IN ? (double)c->cout * kk : (double)c->cin * kk * group;
        for (int j = 0; j < l->n; j++) u->score[l->off + j] = (float)(u->score[l->off + j] / per);
    }
    free(L);
}

void sv_units_score_scale(sv_units *u) {
    for (size_t j = 0; j < u->nunits; j++) u->score[j] = fabsf(u->scale[j]);
}

static int cmp_float(const void *a, const void *b) {
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

int sv_unit_layer_is_recon(const sv_unit_layer *l) {
    return l->conv_kind == SV_LAYER_FUSION || l->conv_kind == SV_LAYER_UPCONV1 || l->conv_kind == SV_LAYER_UPCONV2 ||
           l->conv_kind == SV_LAYER_CONV_HR;
}

static int eligible(const sv_unit_layer *l, const sv_select_opts *o) {
    if (!o->only_filters) return 1;
    return l->kind != SV_UNIT_IN && l->conv_kind != SV_LAYER_CONV2;
}

// Chosen by the ratio (globally or per layer): eligible, and not a reconstruction layer with its own ratio.
static int by_ratio(const sv_unit_layer *l, const sv_select_opts *o) {
    return eligible(l, o) && !(o->recon_own && sv_unit_layer_is_recon(l));
}

// Marks the lowest-scored ratio * n units of layer l (one at a time: n is small).
static void prune_lowest(sv_units *u, const sv_unit_layer *l, double ratio) {
    const int np = (int)(ratio * l->n);
    for (int t = 0; t < np; t++) {
        int worst = -1;
        for (int j = 0; j < l->n; j++)
            if (!u->pruned[l->off + j] && (worst < 0 || u->score[l->off + j] < u->score[l->off + worst])) worst = j;
        u->pruned[l->off + worst] = 1;
    }
}

// Within layer l, keeps (un-prunes) the best-scored pruned units until `keep` are kept.
static void keep_at_least(sv_units *u, const sv_unit_layer *l, int keep) {
    int kept = 0;
    for (int j = 0; j < l->n; j++) kept += !u->pruned[l->off + j];
    while (kept < keep) {
        int best = -1;
        for (int j = 0; j < l->n; j++)
            if (u->pruned[l->off + j] && (best < 0 || u->score[l->off + j] > u->score[l->off + best])) best = j;
        if (best < 0) break;
        u->pruned[l->off + best] = 0;
        kept++;
    }
}

long sv_units_select(sv_units *u, const sv_select_opts *o, sv_err *e) {
    if (!(o->ratio > 0 && o->ratio < 1)) return sv_errf(e, "pruning ratio %g is outside (0, 1)", o->ratio);
    if (o->round < 1) return sv_errf(e, "rounding %d must be >= 1", o->round);
    if (o->recon_own && !(o->recon_ratio >= 0 && o->recon_ratio < 1))
        return sv_errf(e, "reconstruction pruning ratio %g is outside [0, 1)", o->recon_ratio);
    if (u->nunits == 0) return sv_errf(e, "the model has no prunable units");
    memset(u->pruned, 0, u->nunits);
    unsigned char *elig = sv_calloc(u->nunits, 1, e);
    float *sorted = sv_malloc(u->nunits * sizeof(float), e);
    if (!sorted || !elig) {
        free(sorted), free(elig);
        return -1;
    }
    size_t nelig = 0;
    for (int li = 0; li < u->nlayers; li++)
        if (by_ratio(&u->layers[li], o))
            for (int j = 0; j < u->layers[li].n; j++) elig[u->layers[li].off + j] = 1, nelig++;
    if (o->global) {
        // one threshold: the score below which ratio of all eligible units lie (ties broken by position)
        size_t m = 0;
        for (size_t j = 0; j < u->nunits; j++)
            if (elig[j]) sorted[m++] = u->score[j];
        qsort(sorted, m, sizeof(float), cmp_float);
        size_t np = (size_t)(o->ratio * (double)nelig);
        if (np > 0) {
            float thr = sorted[np - 1];
            size_t taken = 0;
            for (size_t j = 0; j < u->nunits; j++)
                if (elig[j] && u->score[j] < thr) u->pruned[j] = 1, taken++;
            for (size_t j = 0; j < u->nunits && taken < np; j++)
                if (elig[j] && u->score[j] == thr && !u->pruned[j]) u->pruned[j] = 1, taken++;
        }
    } else {
        for (int li = 0; li < u->nlayers; li++)
            if (by_ratio(&u->layers[li], o)) prune_lowest(u, &u->layers[li], o->ratio);
    }
    for (int li = 0; li < u->nlayers && o->recon_own; li++)
        if (eligible(&u->layers[li], o) && sv_unit_layer_is_recon(&u->layers[li]))
            prune_lowest(u, &u->layers[li], o->recon_ratio);
    free(sorted), free(elig);
    long total = 0;
    for (int li = 0; li < u->nlayers; li++) {
        const sv_unit_layer *l = &u->layers[li];
        if (!eligible(l, o)) continue;
        int kept = 0;
        for (int j = 0; j < l->n; j++) kept += !u->pruned[l->off + j];
        int want = kept < 1 ? 1 : kept;
        if (o->round > 1) want = (want + o->round - 1) / o->round * o->round;
        if (want > l->n) want = l->n;
        keep_at_least(u, l, want);
        for (int j = 0; j < l->n; j++) total += u->pruned[l->off + j];
    }
    return total;
}

void sv_units_lambda_step(sv_units *u, long iter, int every, float step, float max) {
    if (every < 1 || iter % every) return;
    for (size_t j = 0; j < u->nunits; j++) {
        if (!u->pruned[j]) {
            u->lambda[j] = 0.0f;
            continue;
        }
        float l = u->lambda[j] + step;
        u->lambda[j] = l > max ? max : l;
    }
}

double sv_units_penalty(const sv_units *u, float *dscale) {
    double p = 0;
    for (size_t j = 0; j < u->nunits; j++) {
        if (u->lambda[j] == 0.0f) continue;
        p += 0.5 * (double)u->lambda[j] * u->scale[j] * u->scale[j];
        if (dscale) dscale[j] += u->lambda[j] * u->scale[j];
    }
    return p;
}

void sv_units_scale_norms(const sv_units *u, double *chosen, double *kept) {
    double c = 0, k = 0;
    for (size_t j = 0; j < u->nunits; j++) {
        double s = (double)u->scale[j] * u->scale[j];
        if (u->pruned[j]) c += s;
        else k += s;
    }
    *chosen = sqrt(c);
    *kept = sqrt(k);
}
