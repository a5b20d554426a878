// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// stats.c: parameters and FLOPs per layer (see stats.h).
#include "model/stats.h"

#include <stdio.h>
#include <string.h>

#include "model/spynet.h"

double sv_conv_flops(int cin, int cout, int k, int oh, int ow) {
    return 2.0 * cin * cout * k * k * (double)oh * ow;
}

int sv_model_stats(const sv_model *m, int h, int w, sv_layer_stat *out, int n, sv_model_totals *t) {
    sv_model *mm = (sv_model *)m;  // sv_model_layers hands out views; nothing is modified
    int nl = sv_model_layers(mm, NULL, 0);
    sv_layer_ref refs[nl > 0 ? nl : 1];
    sv_model_layers(mm, refs, nl);
    int sh, sw, lh[SV_SPY_LEVELS], lw[SV_SPY_LEVELS];
    sv_spynet_sizes(h, w, &sh, &sw, lh, lw);
    memset(t, 0, sizeof *t);
    for (int i = 0; i < nl; i++) {
        const sv_conv_layer *c = refs[i].conv;
        sv_layer_stat s = {0};
        snprintf(s.name, sizeof s.name, "%s", refs[i].name);
        s.cin = c->cin, s.cout = c->cout, s.k = c->k, s.is_spynet = refs[i].is_spynet;
        s.h = h, s.w = w, s.calls = 1;
        if (s.is_spynet) {
            int level = i / SV_SPY_CONVS;  // spynet layers come first, level by level
            s.h = lh[level];
            s.w = lw[level];
            s.calls = sv_uses_spynet(m) ? sv_branches(m) : 0;  // once per branch
        } else if (c == &m->upconv2) {  // after upconv1's pixel shuffle x2
            s.h = 2 * h, s.w = 2 * w;
        } else if (c == &m->conv_hr || c == &m->conv_last) {
            s.h = SV_SCALE * h, s.w = SV_SCALE * w;
        }
        s.params = s.calls ? (double)c->cout * c->cin * c->k * c->k + c->cout : 0;  // unused weights: none
        s.flops = sv_conv_flops(c->cin, c->cout, c->k, s.h, s.w) * s.calls;
        t->params += s.params;
        t->flops += s.flops;
        if (s.is_spynet) t->params_spynet += s.params, t->flops_spynet += s.flops;
        if (i < n) out[i] = s;
    }
    return nl;
}
