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

// Copies rows out of w [cout, cin, k, k] into [nout, nin, k, k].
static float *slice(const float *w, int cin, int kk, const int *out, int nout, const int *in, int nin, sv_err *e) {
    float *d = sv_malloc((size_t)nout * nin * kk * sizeof(float) + 1, e);
    if (!d) return NULL;
    for (int o = 0; o < nout; o++)
        for (int i = 0; i < nin; i++)
            memcpy(d + ((size_t)o * nin + i) * kk, w + ((size_t)out[o] * cin + in[i]) * kk, (size_t)kk * sizeof(float));
    return d;
}

static cJSON *index_array(const int *base, const int *keep, int n) {
    cJSON *a = cJSON_CreateArray();
    for (int i = 0; i < n; i++) cJSON_AddItemToArray(a, cJSON_CreateNumber(base ? base[keep[i]] : keep[i]));
    return a;
}

int sv_prune_cut(const sv_units *u, sv_model *m, sv_model *out, sv_err *e) {
    int nl = sv_model_layers(m, NULL, 0), rc = -1;
    if (nl != u->nconvs) return sv_errf(e, "pruning: the unit list does not belong to this model");
    sv_layer_ref *L = sv_calloc((size_t)nl, sizeof *L, e);
    keep_list *K = sv_calloc((size_t)nl, sizeof *K, e);
    sv_tensor_set s = {0};
    cJSON *meta = NULL;
    if (!L || !K) goto done;
    sv_model_layers(m, L, nl);
    // outputs first: a conv's kept filters come from its own OUT/OUT4 units
    for (int ci = 0; ci < nl; ci++) {
        const sv_conv_layer *c = L[ci].conv;
        int oi = u->out_layer[ci];
        int group = oi >= 0 && u->layers[oi].kind == SV_UNIT_OUT4 ? 4 : 1;
        if (!(K[ci].out = kept_channels(u, oi, group, c->cout, &K[ci].nout, e))) goto done;
    }
    // inputs: a conv's own IN units (trunk conv1), else the kept outputs of the conv that feeds it
    for (int ci = 0; ci < nl; ci++) {
        const sv_conv_layer *c = L[ci].conv;
        const char *n = L[ci].name;
        size_t len = strlen(n);
        int feeder = -1, shuffled = 0;
        if (len > 6 && !strcmp(n + len - 6, ".conv2")) feeder = ci - 1;
        else if (!strcmp(n, "upconv1")) feeder = ci - 1;                 // fusion
        else if (!strcmp(n, "upconv2") || !strcmp(n, "conv_hr")) feeder = ci - 1, shuffled = 1;
        else if (!strcmp(n, "conv_last")) feeder = ci - 1;               // conv_hr
        if (feeder >= 0 && !shuffled) {
            K[ci].nin = K[feeder].nout;
            K[ci].in = sv_malloc((size_t)(K[ci].nin > 0 ? K[ci].nin : 1) * sizeof(int), e);
            if (!K[ci].in) goto done;
            memcpy(K[ci].in, K[feeder].out, (size_t)K[ci].nin * sizeof(int));
        } else if (feeder >= 0) {
            // after a pixel shuffle, channel k is the group of the feeder's filters 4k..4k+3
            K[ci].in = sv_malloc((size_t)(c->cin > 0 ? c->cin : 1) * sizeof(int), e);
            if (!K[ci].in) goto done;
            K[ci].nin = 0;
            for (int j = 0; j < K[feeder].nout; j += 4) K[ci].in[K[ci].nin++] = K[feeder].out[j] / 4;
        } else if (!(K[ci].in = kept_channels(u, u->in_layer[ci], 1, c->cin, &K[ci].nin, e))) {
            goto done;
        }
    }
    if (sv_model_to_tensors(m, &s, e)) goto done;
    for (int ci = 0; ci < nl; ci++) {
        const sv_conv_layer *c = L[ci].conv;
        if (K[ci].nout == c->cout && K[ci].nin == c->cin) continue;
        if (K[ci].nout < 1 || K[ci].nin < 1) {
            sv_errf(e, "pruning would remove every channel of %s", L[ci].name);
            goto done;
        }
        char wn[128], bn[128];
        snprintf(wn, sizeof wn, "%s.weight", L[ci].name);
        snprintf(bn, sizeof bn, "%s.bias", L[ci].name);
        const int kk = c->k * c->k;
        float *w = slice(c->w, c->cin, kk, K[ci].out, K[ci].nout, K[ci].in, K[ci].nin, e);
        float *b = sv_malloc((size_t)K[ci].nout * sizeof(float), e);
        if (!w || !b) {
            free(w), free(b);
            goto done;
        }
        for (int o = 0; o < K[ci].nout; o++) b[o] = c->b[K[ci].out[o]];
        free(sv_tensor_set_take(&s, wn, NULL));
        free(sv_tensor_set_take(&s, bn, NULL));
        int64_t ws[4] = {K[ci].nout, K[ci].nin, c->k, c->k}, bs[1] = {K[ci].nout};
        if (sv_tensor_set_add(&s, wn, 4, ws, w, e)) {
            free(b);
            goto done;
        }
        if (sv_tensor_set_add(&s, bn, 1, bs, b, e)) goto done;
    }
    // RSC lists: S = the hidden channels conv1 reads, K2 = those conv2 writes, composed with any lists
    // the model already had (pruning a pruned model again)
    const char *js = sv_tensor_set_get_meta(&s, "slimvsr");
    meta = js ? cJSON_Parse(js) : NULL;
    if (!meta) {
        sv_errf(e, "pruning: the model's metadata is missing");
        goto done;
    }
    cJSON_DeleteItemFromObjectCaseSensitive(meta, "rsc");
    cJSON *rsc = cJSON_AddObjectToObject(meta, "rsc");
    for (int t = 0; t < 2; t++)
        for (int k = 0; k < m->num_block; k++) {
            const sv_resblock *b = &m->trunk[t].blocks[k];
            int c1 = -1;
            char name[96];
            snprintf(name, sizeof name, "%s.main.2.%d", t ? "forward_trunk" : "backward_trunk", k);
            for (int ci = 0; ci < nl && c1 < 0; ci++)
                if (L[ci].conv == &b->conv1) c1 = ci;
            const keep_list *k1 = &K[c1], *k2 = &K[c1 + 1];
            int dense = !b->in_idx && !b->out_idx && k1->nin == m->num_feat && k2->nout == m->num_feat;
            if (dense) continue;
            cJSON *o = cJSON_AddObjectToObject(rsc, name);
            cJSON_AddItemToObject(o, "in", index_array(b->in_idx, k1->in, k1->nin));
            cJSON_AddItemToObject(o, "out", index_array(b->out_idx, k2->out, k2->nout));
        }
    if (cJSON_GetArraySize(rsc) == 0) cJSON_DeleteItemFromObjectCaseSensitive(meta, "rsc");
    char *txt = cJSON_PrintUnformatted(meta);
    if (!txt || sv_tensor_set_set_meta(&s, "slimvsr", txt, e)) {
        free(txt);
        goto done;
    }
    free(txt);
    rc = sv_model_from_tensors(out, &s, m->act_slope, "pruned model", e);
done:
    for (int ci = 0; K && ci < nl; ci++) free(K[ci].out), free(K[ci].in);
    free(K), free(L);
    cJSON_Delete(meta);
    sv_tensor_set_free(&s);
    return rc;
}
