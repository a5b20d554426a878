// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// layers.c: the canonical list of BasicVSR's conv layers (BasicSR naming) with what each is and which conv
// feeds it, shared by loading, saving, initialisation, `info`, the parameter count and pruning; and the
// only place that spells the layer names.
#include <stdio.h>
#include <string.h>

#include "model/basicvsr.h"

const int sv_spy_width[SV_SPY_CONVS + 1] = {8, 32, 64, 32, 16, 2};

static const char *const branch_names[2] = {"backward_trunk", "forward_trunk"};

const char *sv_branch_name(int branch) { return branch_names[branch == SV_BRANCH_FORWARD]; }

int sv_first_name(char *out, size_t n, int branch) {
    return snprintf(out, n, "%s.main.0", sv_branch_name(branch));
}

int sv_block_name(char *out, size_t n, int branch, int block, const char *suffix) {
    return snprintf(out, n, "%s.main.2.%d%s", sv_branch_name(branch), block, suffix ? suffix : "");
}

int sv_spynet_name(char *out, size_t n, int level, int conv) {
    return snprintf(out, n, "spynet.basic_module.%d.basic_module.%d", level, 2 * conv);  // Sequential: conv, act
}

// Appends one layer (when there is room) and returns its index.
static int put(sv_layer_ref *out, int n, int *i, sv_conv_layer *c, sv_layer_kind kind, int feeder) {
    const int at = (*i)++;
    if (at < n) {
        sv_layer_ref *r = &out[at];
        *r = (sv_layer_ref){.conv = c, .kind = kind, .is_spynet = kind == SV_LAYER_SPYNET, .branch = -1,
                            .block = -1, .level = -1, .spy = -1, .feeder = feeder,
                            .shuffled = kind == SV_LAYER_UPCONV2 || kind == SV_LAYER_CONV_HR};
    }
    return at;
}

// The entry at index `at`, to fill in its name and place; NULL when out has no room for it (only counting).
static sv_layer_ref *named(sv_layer_ref *out, int n, int at) { return at < n ? &out[at] : NULL; }

int sv_model_layers(sv_model *m, sv_layer_ref *out, int n) {
    int i = 0;
    sv_layer_ref *r;
    for (int l = 0; l < SV_SPY_LEVELS; l++)
        for (int j = 0, prev = -1; j < SV_SPY_CONVS; j++) {
            prev = put(out, n, &i, &m->spynet[l][j], SV_LAYER_SPYNET, prev);
            if ((r = named(out, n, prev))) {
                r->level = l, r->spy = j;
                sv_spynet_name(r->name, sizeof r->name, l, j);
            }
        }
    for (int t = sv_first_branch(m); t < 2; t++) {
        if ((r = named(out, n, put(out, n, &i, &m->trunk[t].conv_first, SV_LAYER_FIRST, -1)))) {
            r->branch = t;
            sv_first_name(r->name, sizeof r->name, t);
        }
        for (int k = 0; k < m->num_block; k++) {
            sv_resblock *b = m->trunk[t].blocks ? &m->trunk[t].blocks[k] : NULL;
            const int c1 = put(out, n, &i, b ? &b->conv1 : NULL, SV_LAYER_CONV1, -1);
            const int c2 = put(out, n, &i, b ? &b->conv2 : NULL, SV_LAYER_CONV2, c1);
            for (int j = 0; j < 2; j++)
                if ((r = named(out, n, j ? c2 : c1))) {
                    r->branch = t, r->block = k;
                    sv_block_name(r->name, sizeof r->name, t, k, j ? ".conv2" : ".conv1");
                }
        }
    }
    static const struct {
        sv_layer_kind kind;
        const char *name;
    } recon[] = {{SV_LAYER_FUSION, "fusion"},   {SV_LAYER_UPCONV1, "upconv1"},    {SV_LAYER_UPCONV2, "upconv2"},
                 {SV_LAYER_CONV_HR, "conv_hr"}, {SV_LAYER_CONV_LAST, "conv_last"}};
    sv_conv_layer *rc[] = {&m->fusion, &m->upconv1, &m->upconv2, &m->conv_hr, &m->conv_last};
    for (int j = 0, prev = -1; j < (int)(sizeof recon / sizeof recon[0]); j++) {
        prev = put(out, n, &i, rc[j], recon[j].kind, prev);  // fusion reads the hidden states: no feeder
        if ((r = named(out, n, prev))) {
            snprintf(r->name, sizeof r->name, "%s", recon[j].name);
            if (recon[j].kind == SV_LAYER_FUSION) r->states = sv_branches(m);
        }
    }
    return i;
}

void sv_layer_dense_shape(const sv_layer_ref *L, int C, int *cin, int *cout, int *k) {
    *k = 3;
    switch (L->kind) {
    case SV_LAYER_SPYNET: *cin = sv_spy_width[L->spy], *cout = sv_spy_width[L->spy + 1], *k = 7; break;
    case SV_LAYER_FIRST: *cin = C + 3, *cout = C; break;
    case SV_LAYER_CONV1:
    case SV_LAYER_CONV2: *cin = C, *cout = C; break;
    case SV_LAYER_FUSION: *cin = L->states * C, *cout = C, *k = 1; break;
    case SV_LAYER_UPCONV1: *cin = C, *cout = SV_SHUFFLE_GROUP * C; break;
    case SV_LAYER_UPCONV2: *cin = C, *cout = SV_SHUFFLE_GROUP * SV_HR_FEAT; break;
    case SV_LAYER_CONV_HR: *cin = SV_HR_FEAT, *cout = SV_HR_FEAT; break;
    case SV_LAYER_CONV_LAST: *cin = SV_HR_FEAT, *cout = 3; break;
    }
}

void sv_model_copy_spynet(sv_model *dst, const sv_model *src) {
    for (int l = 0; l < SV_SPY_LEVELS; l++)
        for (int j = 0; j < SV_SPY_CONVS; j++) {
            const sv_conv_layer *a = &src->spynet[l][j];
            sv_conv_layer *b = &dst->spynet[l][j];
            memcpy(b->w, a->w, (size_t)a->cout * a->cin * a->k * a->k * sizeof(float));
            memcpy(b->b, a->b, (size_t)a->cout * sizeof(float));
        }
}

size_t sv_model_param_count(const sv_model *m, size_t *spynet_params) {
    size_t spy = 0;
    for (int l = 0; l < SV_SPY_LEVELS; l++)
        for (int j = 0; j < SV_SPY_CONVS; j++) {
            const sv_conv_layer *c = &m->spynet[l][j];
            spy += (size_t)c->cout * c->cin * c->k * c->k + c->cout;
        }
    if (spynet_params) *spynet_params = spy;
    return m->nparams;
}
