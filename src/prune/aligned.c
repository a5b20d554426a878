// aligned.c: the conventional residual pruning baseline (ASSL/SRPN style, `--scheme l1-aligned`): each
// branch drops the same hidden channels from its skip path and from every residual block, so the hidden
// state itself shrinks to C' channels and the result is a plain (index-list free) BasicVSR of width C'.
// Compare RSC (cut.c), which keeps the C-channel hidden state and lets every block choose its own subsets.
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
        for (size_t i = 0; i < (size_t)cf->cin * 9; i++) s += fabsf(cf->w[(size_t)c * cf->cin * 9 + i]);
        for (int k = 0; k < m->num_block; k++) {
            const sv_conv_layer *c2 = &t->blocks[k].conv2;
            for (size_t i = 0; i < (size_t)c2->cin * 9; i++) s += fabsf(c2->w[(size_t)c * c2->cin * 9 + i]);
        }
        score[c] = (float)s;
    }
}

// Replaces tensor name with the [nout, nin, k, k] slice (rows out[], columns in[]) of the current one.
static int reslice(sv_tensor_set *s, const char *layer, const int *out, int nout, const int *in, int nin, sv_err *e) {
    char wn[128], bn[128];
    snprintf(wn, sizeof wn, "%s.weight", layer);
    snprintf(bn, sizeof bn, "%s.bias", layer);
    const sv_ntensor *w = sv_tensor_set_find(s, wn);
    if (!w) return sv_errf(e, "pruning: no tensor %s", wn);
    const int cin = (int)w->shape[1], k = (int)w->shape[2], kk = k * k;
    float *nw = sv_malloc((size_t)nout * nin * kk * sizeof(float) + 1, e), *nb = sv_malloc((size_t)nout * sizeof(float) + 1, e);
    if (!nw || !nb) {
        free(nw), free(nb);
        return -1;
    }
    const float *ob = sv_tensor_set_find(s, bn)->data;
    for (int o = 0; o < nout; o++) {
        nb[o] = ob[out[o]];
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

static int *iota(int n, sv_err *e) {
    int *a = sv_malloc((size_t)(n > 0 ? n : 1) * sizeof(int), e);
    for (int i = 0; a && i < n; i++) a[i] = i;
    return a;
}

int sv_prune_cut_aligned(const unsigned char *const hidden_pruned[2], sv_model *m, sv_model *out, sv_err *e) {
    const int C = m->num_feat;
    for (int t = 0; t < 2; t++)
        for (int k = 0; k < m->num_block; k++)
            if (m->trunk[t].blocks[k].in_idx || m->trunk[t].blocks[k].out_idx)
                return sv_errf(e, "aligned pruning needs a model without RSC index lists (this one is already SSL-pruned)");
    int keep[2][4096], nk[2] = {0, 0};
    if (C > 4096) return sv_errf(e, "aligned pruning: too many features");
    for (int t = 0; t < 2; t++) {
        for (int c = 0; c < C; c++)
            if (!hidden_pruned[t][c]) keep[t][nk[t]++] = c;
    }
    if (nk[0] != nk[1] || nk[0] < 1)
        return sv_errf(e, "aligned pruning: both branches must keep the same number (>= 1) of hidden channels");
    const int Cn = nk[0];
    sv_tensor_set s = {0};
    if (sv_model_to_tensors(m, &s, e)) return -1;
    int rc = 0;
    static const char *br[2] = {"backward_trunk", "forward_trunk"};
    int *fin = sv_malloc((size_t)(2 * Cn) * sizeof(int), e), *cat = sv_malloc((size_t)(Cn + 3) * sizeof(int), e);
    if (!fin || !cat) rc = -1;
    for (int t = 0; t < 2 && !rc; t++) {
        char name[96];
        // conv_first: rows = kept hidden channels; columns = the 3 image channels, then the kept hidden ones
        for (int i = 0; i < 3; i++) cat[i] = i;
        for (int i = 0; i < Cn; i++) cat[3 + i] = 3 + keep[t][i];
        snprintf(name, sizeof name, "%s.main.0", br[t]);
        rc = reslice(&s, name, keep[t], Cn, cat, Cn + 3, e);
        for (int k = 0; k < m->num_block && !rc; k++) {
            const sv_resblock *b = &m->trunk[t].blocks[k];
            int *mid = iota(b->conv1.cout, e);
            if (!mid) rc = -1;
            snprintf(name, sizeof name, "%s.main.2.%d.conv1", br[t], k);
            if (!rc) rc = reslice(&s, name, mid, b->conv1.cout, keep[t], Cn, e);
            snprintf(name, sizeof name, "%s.main.2.%d.conv2", br[t], k);
            if (!rc) rc = reslice(&s, name, keep[t], Cn, mid, b->conv1.cout, e);
            free(mid);
        }
        for (int i = 0; i < Cn; i++) fin[t * Cn + i] = t * C + keep[t][i];
    }
    int *fo = rc ? NULL : iota(m->fusion.cout, e);
    if (!rc && !fo) rc = -1;
    if (!rc) rc = reslice(&s, "fusion", fo, m->fusion.cout, fin, 2 * Cn, e);
    free(fo), free(fin), free(cat);
    // the metadata's num_feat follows
    if (!rc) {
        char meta[256];
        snprintf(meta, sizeof meta, "{\"format\": 1, \"arch\": \"basicvsr\", \"num_feat\": %d, \"num_block\": %d, \"act\": \"%s\"}",
                 Cn, m->num_block, m->act_slope > 0 ? "leaky_relu_0.1" : "relu");
        rc = sv_tensor_set_set_meta(&s, "slimvsr", meta, e);
    }
    if (!rc) rc = sv_model_from_tensors(out, &s, m->act_slope, "aligned-pruned model", e);
    sv_tensor_set_free(&s);
    return rc;
}
