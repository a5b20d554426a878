// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// cut.c: the physical cut (SSL-NOTES §3-4). Works on the model's canonical tensors: each pruned unit's
// rows (filters) leave its conv, the matching columns (input channels) leave the conv that reads them,
// and each residual block records which hidden channels its conv1 reads (S) and where its conv2 writes
// (K2). Then the model is rebuilt from the tensors, so every shape check of loading applies to the result.
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "prune/ssl.h"

// Keep lists per conv: kept output channels and kept input channels (indices into the conv's own).
typedef struct {
    int *out, nout, *in, nin;
} keep_list;

static int *kept_channels(const sv_units *u, int li, int group, int n, int *count, sv_err *e) {
    int *k = sv_malloc((size_t)(n > 0 ? n : 1) * sizeof(int), e);
    if (!k) return NULL;
    *count = 0;
    for (int c = 0; c < n; c++) {
        int unit = c / group;
        if (li < 0 || !u->pruned[u->layers[li].off + unit]) k[(*count)++] = c;
    }
    return k;
}

int sv_prune_reslice(sv_tensor_set *s, const char *layer, const int *out, int nout, const int *in, int nin,
                     sv_err *e) {
    char wn[128], bn[128];
    snprintf(wn, sizeof wn, "%s.weight", layer);
    snprintf(bn, sizeof bn, "%s.bias", layer);
    const sv_ntensor *w = sv_tensor_set_find(s, wn), *b = sv_tensor_set_find(s, bn);
    if (!w || !b) return sv_errf(e, "pruning: no tensor %s", w ? bn : wn);
    const int cin = (int)w->shape[1], k = (int)w->shape[2], kk = k * k;
    float *nw = sv_malloc((size_t)nout * nin * kk * sizeof(float) + 1, e), *nb = sv_malloc((size_t)nout * sizeof(float) + 1, e);
    if (!nw || !nb) {
        free(nw), free(nb);
        return -1;
    }
    for (int o = 0; o < nout; o++) {
        nb[o] = b->data[out[o]];
        for (int i = 0; i < nin; i++)
            memcpy(nw + ((size_t)o * nin + i) * kk, w->data + ((size_t)out[o] * cin + in[i]) * kk, (size_t)kk * sizeof(float));
    }
    free(sv_tensor_set_take(s, wn, NULL));
    free(sv_tensor_set_take(s, bn, NULL));
    int64_t ws[4] = {nout, nin, k, k}, bs[1] = {nout};
    if (sv_tensor_set_add(s, wn, 4, ws, nw, e)) {
        free(nb);
        return -1;
    }
    return sv_tensor_set_add(s, bn, 1, bs, nb, e);
}

static cJSON *index_array(const int *base, const int *keep, int n) {
    cJSON *a = cJSON_CreateArray();
    for (int i = 0; i < n; i++) cJSON_AddItemToArray(a, cJSON_CreateNumber(base ? base[keep[i]] : keep[i]));
    return a;
}

// Every conv's kept filters (its own OUT/OUT4 units) and kept input channels: the kept filters of the conv
// that feeds it (the layer table says which; after a pixel shuffle, one channel per kept group of
// SV_SHUFFLE_GROUP filters), else its own IN units (trunk conv1), else all of them.
static int keep_lists(const sv_units *u, const sv_layer_ref *L, int nl, keep_list *K, sv_err *e) {
    for (int ci = 0; ci < nl; ci++) {
        const int oi = u->out_layer[ci];
        const int group = oi >= 0 && u->layers[oi].kind == SV_UNIT_OUT4 ? SV_SHUFFLE_GROUP : 1;
        if (!(K[ci].out = kept_channels(u, oi, group, L[ci].conv->cout, &K[ci].nout, e))) return -1;
    }
    for (int ci = 0; ci < nl; ci++) {
        const int f = L[ci].feeder, g = L[ci].shuffled ? SV_SHUFFLE_GROUP : 1;
        if (f < 0) {
            if (!(K[ci].in = kept_channels(u, u->in_layer[ci], 1, L[ci].conv->cin, &K[ci].nin, e))) return -1;
            continue;
        }
        // the feeder's filters are kept in whole groups of g (OUT4 units), so filter j*g stands for its group
        if (!(K[ci].in = sv_malloc((size_t)(K[f].nout / g > 0 ? K[f].nout / g : 1) * sizeof(int), e))) return -1;
        K[ci].nin = 0;
        for (int j = 0; j < K[f].nout; j += g) K[ci].in[K[ci].nin++] = K[f].out[j] / g;
    }
    return 0;
}

// The RSC lists into the metadata: per residual block, S = the hidden channels its conv1 reads and K2 =
// those its conv2 writes, composed with any lists the model already had (pruning a pruned model again).
static int write_rsc(sv_tensor_set *s, const sv_model *m, const sv_layer_ref *L, int nl, const keep_list *K,
                     sv_err *e) {
    const char *js = sv_tensor_set_get_meta(s, "slimvsr");
    cJSON *meta = js ? cJSON_Parse(js) : NULL;
    if (!meta) return sv_errf(e, "pruning: the model's metadata is missing");
    cJSON_DeleteItemFromObjectCaseSensitive(meta, "rsc");
    cJSON *rsc = cJSON_AddObjectToObject(meta, "rsc");
    for (int c2 = 0; c2 < nl; c2++) {
        if (L[c2].kind != SV_LAYER_CONV2) continue;
        const sv_resblock *b = &m->trunk[L[c2].branch].blocks[L[c2].block];
        const keep_list *k1 = &K[L[c2].feeder], *k2 = &K[c2];  // conv1 (its feeder) and conv2 of the block
        int dense = !b->in_idx && !b->out_idx && k1->nin == m->num_feat && k2->nout == m->num_feat;
        if (dense) continue;
        char name[96];
        sv_block_name(name, sizeof name, L[c2].branch, L[c2].block, NULL);
        cJSON *o = cJSON_AddObjectToObject(rsc, name);
        cJSON_AddItemToObject(o, "in", index_array(b->in_idx, k1->in, k1->nin));
        cJSON_AddItemToObject(o, "out", index_array(b->out_idx, k2->out, k2->nout));
    }
    if (cJSON_GetArraySize(rsc) == 0) cJSON_DeleteItemFromObjectCaseSensitive(meta, "rsc");
    char *txt = cJSON_PrintUnformatted(meta);
    cJSON_Delete(meta);
    int rc = txt ? sv_tensor_set_set_meta(s, "slimvsr", txt, e) : sv_errf(e, "out of memory");
    free(txt);
    return rc;
}

int sv_prune_cut(const sv_units *u, sv_model *m, sv_model *out, sv_err *e) {
    int nl = sv_model_layers(m, NULL, 0), rc = -1;
    if (nl != u->nconvs) return sv_errf(e, "pruning: the unit list does not belong to this model");
    sv_layer_ref *L = sv_calloc((size_t)nl, sizeof *L, e);
    keep_list *K = sv_calloc((size_t)nl, sizeof *K, e);
    sv_tensor_set s = {0};
    if (!L || !K) goto done;
    sv_model_layers(m, L, nl);
    if (keep_lists(u, L, nl, K, e) || sv_model_to_tensors(m, &s, e)) goto done;
    for (int ci = 0; ci < nl; ci++) {
        const sv_conv_layer *c = L[ci].conv;
        if (K[ci].nout == c->cout && K[ci].nin == c->cin) continue;
        if (K[ci].nout < 1 || K[ci].nin < 1) {
            sv_errf(e, "pruning would remove every channel of %s", L[ci].name);
            goto done;
        }
        if (sv_prune_reslice(&s, L[ci].name, K[ci].out, K[ci].nout, K[ci].in, K[ci].nin, e)) goto done;
    }
    if (write_rsc(&s, m, L, nl, K, e)) goto done;
    rc = sv_model_from_tensors(out, &s, m->act_slope, "pruned model", e);
done:
    for (int ci = 0; K && ci < nl; ci++) free(K[ci].out), free(K[ci].in);
    free(K), free(L);
    sv_tensor_set_free(&s);
    return rc;
}
