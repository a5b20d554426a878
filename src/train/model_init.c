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

int sv_model_init_random(sv_model *m, int num_feat, int num_block, float act_slope, uint64_t seed, sv_err *e) {
    if (num_feat < 1 || num_feat > 1024 || num_block < 1 || num_block > 1000)
        return sv_errf(e, "invalid model size: %d features, %d blocks", num_feat, num_block);
    sv_rng r;
    sv_rng_seed(&r, seed);
    sv_tensor_set s = {0};
    static const int spy_ch[SV_SPY_CONVS + 1] = {8, 32, 64, 32, 16, 2};
    char name[128];
    int rc = 0;
    for (int l = 0; l < SV_SPY_LEVELS && !rc; l++)
        for (int j = 0; j < SV_SPY_CONVS && !rc; j++) {
            snprintf(name, sizeof name, "spynet.basic_module.%d.basic_module.%d", l, 2 * j);
            rc = add_conv(&s, &r, name, spy_ch[j], spy_ch[j + 1], 7, 0, e);
        }
    static const char *branch[2] = {"backward_trunk", "forward_trunk"};
    const int C = num_feat;
    for (int t = 0; t < 2 && !rc; t++) {
        snprintf(name, sizeof name, "%s.main.0", branch[t]);
        rc = add_conv(&s, &r, name, C + 3, C, 3, 0, e);
        for (int k = 0; k < num_block && !rc; k++)
            for (int j = 1; j <= 2 && !rc; j++) {
                snprintf(name, sizeof name, "%s.main.2.%d.conv%d", branch[t], k, j);
                rc = add_conv(&s, &r, name, C, C, 3, 1, e);
            }
    }
    if (!rc) rc = add_conv(&s, &r, "fusion", 2 * C, C, 1, 0, e);
    if (!rc) rc = add_conv(&s, &r, "upconv1", C, 4 * C, 3, 0, e);
    if (!rc) rc = add_conv(&s, &r, "upconv2", C, 4 * 64, 3, 0, e);
    if (!rc) rc = add_conv(&s, &r, "conv_hr", 64, 64, 3, 0, e);
    if (!rc) rc = add_conv(&s, &r, "conv_last", 64, 3, 3, 0, e);
    if (!rc) rc = sv_model_from_tensors(m, &s, act_slope, "random initialisation", e);
    sv_tensor_set_free(&s);
    return rc;
}
