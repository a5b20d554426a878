// layers.c: the canonical list of BasicVSR's conv layers and their names (BasicSR naming), shared by
// loading, saving, `info` and the parameter count.
#include <stdio.h>

#include "model/basicvsr.h"

// Layer i is named "PREFIX" or, with a >= 0, "PREFIX.A.basic_module.B" (SPyNet) / "PREFIX.A.convB" (blocks).
static int put(sv_layer_ref *out, int n, int i, sv_conv_layer *c, int spy, const char *prefix, const char *mid,
               int a, int b) {
    if (i < n) {
        if (a < 0) snprintf(out[i].name, sizeof out[i].name, "%s", prefix);
        else snprintf(out[i].name, sizeof out[i].name, "%.32s.%d%.16s%d", prefix, a % 1000, mid, b % 10);
        out[i].conv = c;
        out[i].is_spynet = spy;
    }
    return i + 1;
}

int sv_model_layers(sv_model *m, sv_layer_ref *out, int n) {
    int i = 0;
    for (int l = 0; l < SV_SPY_LEVELS; l++)
        for (int j = 0; j < SV_SPY_CONVS; j++)
            i = put(out, n, i, &m->spynet[l][j], 1, "spynet.basic_module", ".basic_module.", l, 2 * j);
    static const char *branch[2] = {"backward_trunk", "forward_trunk"};
    for (int t = 0; t < 2; t++) {
        char first[64], blocks[64];
        snprintf(first, sizeof first, "%s.main.0", branch[t]);
        snprintf(blocks, sizeof blocks, "%s.main.2", branch[t]);
        i = put(out, n, i, &m->trunk[t].conv_first, 0, first, "", -1, 0);
        for (int k = 0; k < m->num_block; k++) {
            i = put(out, n, i, m->trunk[t].blocks ? &m->trunk[t].blocks[k].conv1 : NULL, 0, blocks, ".conv", k, 1);
            i = put(out, n, i, m->trunk[t].blocks ? &m->trunk[t].blocks[k].conv2 : NULL, 0, blocks, ".conv", k, 2);
        }
    }
    i = put(out, n, i, &m->fusion, 0, "fusion", "", -1, 0);
    i = put(out, n, i, &m->upconv1, 0, "upconv1", "", -1, 0);
    i = put(out, n, i, &m->upconv2, 0, "upconv2", "", -1, 0);
    i = put(out, n, i, &m->conv_hr, 0, "conv_hr", "", -1, 0);
    i = put(out, n, i, &m->conv_last, 0, "conv_last", "", -1, 0);
    return i;
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
