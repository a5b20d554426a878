// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// model_init.c: random initialisation of a dense BasicVSR (see the header for the distributions).
#include "train/model_init.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "train/rng.h"

static double uniform01(sv_rng *r) { return (double)(sv_rng_next(r) >> 11) * (1.0 / 9007199254740992.0); }

static double normal(sv_rng *r) {
    double u = uniform01(r), v = uniform01(r);
    return sqrt(-2.0 * log(u > 0 ? u : 1e-300)) * cos(2.0 * M_PI * v);
}

// Adds name.weight [cout,cin,k,k] and name.bias [cout].
static int add_conv(sv_tensor_set *s, sv_rng *r, const char *name, int cin, int cout, int k, int resblock,
                    sv_err *e) {
    size_t nw = (size_t)cout * cin * k * k;
    float *w = sv_malloc(nw * sizeof(float), e), *b = sv_calloc((size_t)cout, sizeof(float), e);
    if (!w || !b) {
        free(w), free(b);
        return -1;
    }
    const double fan_in = (double)cin * k * k, bound = 1.0 / sqrt(fan_in), std = sqrt(2.0 / fan_in);
    for (size_t i = 0; i < nw; i++) w[i] = (float)(resblock ? 0.1 * std * normal(r) : bound * (2 * uniform01(r) - 1));
    if (!resblock)
        for (int i = 0; i < cout; i++) b[i] = (float)(bound * (2 * uniform01(r) - 1));
    char n[128];
    snprintf(n, sizeof n, "%s.weight", name);
    int64_t ws[4] = {cout, cin, k, k}, bs[1] = {cout};
    if (sv_tensor_set_add(s, n, 4, ws, w, e)) {
        free(b);
        return -1;
    }
    snprintf(n, sizeof n, "%s.bias", name);
    return sv_tensor_set_add(s, n, 1, bs, b, e);
}

int sv_model_init_random(sv_model *m, int num_feat, int num_block, float act_slope, sv_direction dir, uint64_t seed,
                         sv_err *e) {
    if (num_feat < 1 || num_feat > 1024 || num_block < 1 || num_block > 1000)
        return sv_errf(e, "invalid model size: %d features, %d blocks", num_feat, num_block);
    // the layer table of a model of this size (names and kinds only: nothing is allocated yet), in order
    sv_model shape = {.num_feat = num_feat, .num_block = num_block, .dir = dir};
    const int nl = sv_model_layers(&shape, NULL, 0);
    sv_layer_ref *L = sv_calloc((size_t)nl, sizeof *L, e);
    if (!L) return -1;
    sv_model_layers(&shape, L, nl);
    sv_rng r;
    sv_rng_seed(&r, seed);
    sv_tensor_set s = {0};
    int rc = 0;
    for (int i = 0; i < nl && !rc; i++) {
        int cin, cout, k;
        sv_layer_dense_shape(&L[i], num_feat, &cin, &cout, &k);
        rc = add_conv(&s, &r, L[i].name, cin, cout, k, L[i].kind == SV_LAYER_CONV1 || L[i].kind == SV_LAYER_CONV2, e);
    }
    free(L);
    char meta[64];  // the direction, the only fact the tensors alone do not give (a bidirectional one is the default)
    snprintf(meta, sizeof meta, "{\"direction\": \"%s\"}", sv_direction_name(dir));
    if (!rc) rc = sv_tensor_set_set_meta(&s, "slimvsr", meta, e);
    if (!rc) rc = sv_model_from_tensors(m, &s, act_slope, "random initialisation", e);
    sv_tensor_set_free(&s);
    return rc;
}
