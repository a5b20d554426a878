// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// aligned.c: the conventional residual pruning baseline (ASSL/SRPN style, `--scheme l1-aligned`): each
// branch drops the same hidden channels from its skip path and from every residual block, so the hidden
// state itself shrinks to C' channels and the result is a plain (index-list free) BasicVSR of width C'.
// Compare RSC (cut.c), which keeps the C-channel hidden state and lets every block choose its own subsets.
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "prune/ssl.h"

void sv_hidden_scores(sv_model *m, int branch, float *score) {
    const sv_trunk *t = &m->trunk[branch];
    const int C = m->num_feat;
    for (int c = 0; c < C; c++) {
        double s = 0;
        const sv_conv_layer *cf = &t->conv_first;
        const size_t nf = (size_t)cf->cin * cf->k * cf->k;  // one filter's weights
        for (size_t i = 0; i < nf; i++) s += fabsf(cf->w[(size_t)c * nf + i]);
        for (int k = 0; k < m->num_block; k++) {
            const sv_conv_layer *c2 = &t->blocks[k].conv2;
            const size_t n2 = (size_t)c2->cin * c2->k * c2->k;
            for (size_t i = 0; i < n2; i++) s += fabsf(c2->w[(size_t)c * n2 + i]);
        }
        score[c] = (float)s;
    }
}

static int *iota(int n, sv_err *e) {
    int *a = sv_malloc((size_t)(n > 0 ? n : 1) * sizeof(int), e);
    for (int i = 0; a && i < n; i++) a[i] = i;
    return a;
}

// Rewrites num_feat in the "slimvsr" metadata that sv_model_to_tensors wrote (and drops its empty rsc).
static int set_num_feat(sv_tensor_set *s, int num_feat, sv_err *e) {
    const char *js = sv_tensor_set_get_meta(s, "slimvsr");
    cJSON *meta = js ? cJSON_Parse(js) : NULL;
    if (!meta) return sv_errf(e, "pruning: the model's metadata is missing");
    cJSON_DeleteItemFromObjectCaseSensitive(meta, "rsc");  // the model has none (checked)
    cJSON_DeleteItemFromObjectCaseSensitive(meta, "num_feat");
    cJSON_AddNumberToObject(meta, "num_feat", num_feat);
    char *txt = cJSON_PrintUnformatted(meta);
    cJSON_Delete(meta);
    int rc = txt ? sv_tensor_set_set_meta(s, "slimvsr", txt, e) : sv_errf(e, "out of memory");
    free(txt);
    return rc;
}

// Cuts one layer of the table: a trunk's conv_first keeps the kept hidden channels as rows and the 3 image
// channels then the kept hidden ones as columns; each block's conv1 reads and its conv2 writes only the kept
// hidden channels (their mid channels stay); fusion reads the kept channels of both hidden states.
// keep[t][0..Cn) are branch t's kept hidden channels of the C.
static int cut_layer(sv_tensor_set *s, const sv_layer_ref *L, const int *const keep[2], int Cn, int C, sv_err *e) {
    const sv_conv_layer *c = L->conv;
    const int *kt = L->branch >= 0 ? keep[L->branch] : NULL;
    int *idx = NULL, *all = NULL, rc = 0;
    switch (L->kind) {
    case SV_LAYER_FIRST:
        if (!(idx = sv_malloc((size_t)(Cn + 3) * sizeof(int), e))) return -1;
        for (int i = 0; i < 3; i++) idx[i] = i;
        for (int i = 0; i < Cn; i++) idx[3 + i] = 3 + kt[i];
        rc = sv_prune_reslice(s, L->name, kt, Cn, idx, Cn + 3, e);
        break;
    case SV_LAYER_CONV1:
        rc = (all = iota(c->cout, e)) ? sv_prune_reslice(s, L->name, all, c->cout, kt, Cn, e) : -1;
        break;
    case SV_LAYER_CONV2:
        rc = (all = iota(c->cin, e)) ? sv_prune_reslice(s, L->name, kt, Cn, all, c->cin, e) : -1;
        break;
    case SV_LAYER_FUSION:  // its input: cat[B_i, F_i], or a uni model's F_i alone (L->states)
        if (!(idx = sv_malloc((size_t)(L->states * Cn) * sizeof(int), e)) || !(all = iota(c->cout, e))) {
            rc = -1;
            break;
        }
        for (int j = 0; j < L->states; j++)
            for (int i = 0; i < Cn; i++) idx[j * Cn + i] = j * C + keep[2 - L->states + j][i];
        rc = sv_prune_reslice(s, L->name, all, c->cout, idx, L->states * Cn, e);
        break;
    default: break;  // SPyNet and the HR layers do not touch the hidden state
    }
    free(idx), free(all);
    return rc;
}

int sv_prune_cut_aligned(const unsigned char *const hidden_pruned[2], sv_model *m, sv_model *out, sv_err *e) {
    const int C = m->num_feat;
    for (int t = 0; t < 2; t++)
        for (int k = 0; k < m->num_block; k++)
            if (m->trunk[t].blocks[k].in_idx || m->trunk[t].blocks[k].out_idx)
                return sv_errf(e, "aligned pruning needs a model without RSC index lists (this one is already SSL-pruned)");
    int keep[2][SV_MAX_FEAT], nk[2] = {0, 0};
    if (C > SV_MAX_FEAT) return sv_errf(e, "aligned pruning: too many features");
    const int t0 = sv_first_branch(m);  // a uni model: the forward branch alone
    for (int t = t0; t < 2; t++) {
        for (int c = 0; c < C; c++)
            if (!hidden_pruned[t][c]) keep[t][nk[t]++] = c;
    }
    if (t0 == SV_BRANCH_FORWARD) nk[0] = nk[1];
    if (nk[0] != nk[1] || nk[0] < 1)
        return sv_errf(e, "aligned pruning: both branches must keep the same number (>= 1) of hidden channels");
    const int *const kept[2] = {keep[0], keep[1]};
    const int nl = sv_model_layers(m, NULL, 0);
    sv_layer_ref *L = sv_calloc((size_t)nl, sizeof *L, e);
    sv_tensor_set s = {0};
    int rc = !L || sv_model_to_tensors(m, &s, e) ? -1 : 0;
    if (!rc) sv_model_layers(m, L, nl);
    for (int i = 0; i < nl && !rc; i++) rc = cut_layer(&s, &L[i], kept, nk[0], C, e);
    free(L);
    // the metadata's num_feat follows
    if (!rc) rc = set_num_feat(&s, nk[0], e);
    if (!rc) rc = sv_model_from_tensors(out, &s, m->act_slope, "aligned-pruned model", e);
    sv_tensor_set_free(&s);
    return rc;
}
