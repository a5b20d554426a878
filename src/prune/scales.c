// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// scales.c: the scaling factors' effect on the weights (W'[o,i] = gamma_o beta_i W[o,i], b'_o = gamma_o b_o),
// its backward, and folding the scales into the weights.
#include <stdlib.h>
#include <string.h>

#include "prune/ssl.h"

// The gamma of output o and the beta of input i of conv ci (1 where the conv has no such scale).
typedef struct {
    const float *g, *b;   // scale arrays of the conv's OUT/OUT4 and IN unit layers, or NULL
    int group;            // SV_SHUFFLE_GROUP for OUT4, else 1
} conv_scales;

static conv_scales scales_of(const sv_units *u, int ci) {
    conv_scales s = {NULL, NULL, 1};
    int oi = u->out_layer[ci], ii = u->in_layer[ci];
    if (oi >= 0) {
        s.g = u->scale + u->layers[oi].off;
        s.group = u->layers[oi].kind == SV_UNIT_OUT4 ? SV_SHUFFLE_GROUP : 1;
    }
    if (ii >= 0) s.b = u->scale + u->layers[ii].off;
    return s;
}

static sv_layer_ref *layers(sv_model *m, int *n, sv_err *e) {
    *n = sv_model_layers(m, NULL, 0);
    sv_layer_ref *L = sv_malloc((size_t)*n * sizeof *L, e);
    if (L) sv_model_layers(m, L, *n);
    return L;
}

int sv_units_apply(const sv_units *u, sv_model *m, float *dst, sv_err *e) {
    memcpy(dst, m->params, m->nparams * sizeof(float));
    int nl;
    sv_layer_ref *L = layers(m, &nl, e);
    if (!L) return -1;
    for (int ci = 0; ci < nl && ci < u->nconvs; ci++) {
        conv_scales s = scales_of(u, ci);
        if (!s.g && !s.b) continue;
        const sv_conv_layer *c = L[ci].conv;
        const int kk = c->k * c->k;
        float *w = dst + (c->w - m->params), *b = dst + (c->b - m->params);
        for (int o = 0; o < c->cout; o++) {
            const float g = s.g ? s.g[o / s.group] : 1.0f;
            for (int i = 0; i < c->cin; i++) {
                const float f = g * (s.b ? s.b[i] : 1.0f);
                float *wo = w + ((size_t)o * c->cin + i) * kk;
                for (int k = 0; k < kk; k++) wo[k] *= f;
            }
            b[o] *= g;
        }
    }
    free(L);
    return 0;
}

int sv_units_backward(const sv_units *u, sv_model *m, float *grads, float *dscale, sv_err *e) {
    int nl;
    sv_layer_ref *L = layers(m, &nl, e);
    if (!L) return -1;
    for (int ci = 0; ci < nl && ci < u->nconvs; ci++) {
        conv_scales s = scales_of(u, ci);
        if (!s.g && !s.b) continue;
        const sv_conv_layer *c = L[ci].conv;
        const int kk = c->k * c->k, oi = u->out_layer[ci], ii = u->in_layer[ci];
        float *dg = oi >= 0 ? dscale + u->layers[oi].off : NULL, *db = ii >= 0 ? dscale + u->layers[ii].off : NULL;
        float *gw = grads + (c->w - m->params), *gb = grads + (c->b - m->params);
        for (int o = 0; o < c->cout; o++) {
            const float g = s.g ? s.g[o / s.group] : 1.0f;
            double acc_g = 0;
            for (int i = 0; i < c->cin; i++) {
                const float bi = s.b ? s.b[i] : 1.0f;
                const float *wo = c->w + ((size_t)o * c->cin + i) * kk;
                float *go = gw + ((size_t)o * c->cin + i) * kk;
                double dot = 0;  // sum_k W[o,i,k] dW'[o,i,k]
                for (int k = 0; k < kk; k++) {
                    dot += (double)wo[k] * go[k];
                    go[k] *= g * bi;
                }
                acc_g += dot * bi;
                if (db) db[i] += (float)(dot * g);
            }
            acc_g += (double)c->b[o] * gb[o];
            if (dg) dg[o / s.group] += (float)acc_g;
            gb[o] *= g;
        }
    }
    free(L);
    return 0;
}

int sv_units_fold(sv_units *u, sv_model *m, sv_err *e) {
    float *tmp = sv_malloc(m->nparams * sizeof(float), e);
    if (!tmp || sv_units_apply(u, m, tmp, e)) {
        free(tmp);
        return -1;
    }
    memcpy(m->params, tmp, m->nparams * sizeof(float));
    free(tmp);
    for (size_t j = 0; j < u->nunits; j++) u->scale[j] = 1.0f;
    return 0;
}
