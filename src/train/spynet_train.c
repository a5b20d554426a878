// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// spynet_train.c: SPyNet forward with saved activations and backward, for a batch of pairs (see the header).
#include "train/spynet_train.h"

#include <stdlib.h>
#include <string.h>

#include "core/layout.h"
#include "core/map_alloc.h"
#include "model/spynet.h"
#include "ops/conv.h"
#include "ops/ops.h"

enum { MAX_SETS = 4 };

// The convs planned for one batch size (the last group of pairs may be smaller than the others).
typedef struct {
    int n;
    sv_conv_train *conv[SV_SPY_LEVELS][SV_SPY_CONVS];
} conv_set;

struct sv_spytrain {
    const sv_model *m;
    int h, w, sh, sw, lh[SV_SPY_LEVELS], lw[SV_SPY_LEVELS];
    int max_pairs, blk, reference, np;  // np: pairs of the last forward
    conv_set sets[MAX_SETS];
    int nsets;
    // per level, max_pairs samples each: pyramids and up/flow [.,lh,lw] plain CHW; in8 and the four
    // activations in layout blk, batched (sample p at p * fmap)
    float *ref[SV_SPY_LEVELS], *supp[SV_SPY_LEVELS], *up[SV_SPY_LEVELS], *flow[SV_SPY_LEVELS];
    float *in8[SV_SPY_LEVELS], *act[SV_SPY_LEVELS][SV_SPY_CONVS - 1];
    // scratch at the finest level size: conv output / gradients, one pair's warp, level flow gradients
    float *res, *da, *db, *din8, *warp, *dup, *dfl, *dcoarse, *tmp;
    size_t bytes;
    int dry;  // counting only (sv_spytrain_estimate): buf() and the convs add their bytes, allocate nothing
};

static float *buf(sv_spytrain *s, size_t nfloats, sv_err *e) {
    float *p = NULL;
    size_t bytes = (nfloats ? nfloats : 1) * sizeof(float);
    if (s->dry) {
        static float counted;  // a non-NULL pointer nothing reads or frees
        s->bytes += bytes;
        return &counted;
    }
    if (!(p = sv_map_alloc(bytes))) {
        sv_errf(e, "out of memory (SPyNet training buffers, %zu MB)", bytes >> 20);
        return NULL;
    }
    memset(p, 0, bytes);
    s->bytes += bytes;
    return p;
}

static conv_set *get_set(sv_spytrain *s, int n, sv_err *e) {
    for (int i = 0; i < s->nsets; i++)
        if (s->sets[i].n == n) return &s->sets[i];
    if (s->nsets == MAX_SETS) {
        sv_errf(e, "SPyNet training: too many different batch sizes");
        return NULL;
    }
    conv_set *cs = &s->sets[s->nsets++];
    cs->n = n;
    for (int l = 0; l < SV_SPY_LEVELS; l++)
        for (int j = 0; j < SV_SPY_CONVS; j++) {
            const sv_conv_layer *c = &s->m->spynet[l][j];
            sv_conv_desc d = {.cin = c->cin, .cout = c->cout, .k = c->k, .pad = c->k / 2, .h = s->lh[l],
                              .w = s->lw[l], .blk = s->blk, .act = j < SV_SPY_CONVS - 1, .act_slope = 0.0f};
            s->bytes += sv_conv_train_bytes(&d, n);
            if (s->dry) continue;
            cs->conv[l][j] = sv_conv_train_create(&d, n, s->reference, e);
            if (!cs->conv[l][j]) {
                sv_errprefix(e, "SPyNet level %d conv %d", l, j);
                return NULL;
            }
        }
    return cs;
}

// The buffers and convs of sv_spytrain_create (dry: counted in s->bytes only).
static int plan(sv_spytrain *s, const sv_model *m, int h, int w, int max_pairs, int blk, int reference, sv_err *e) {
    s->m = m;
    s->h = h;
    s->w = w;
    s->max_pairs = max_pairs;
    s->blk = blk;
    s->reference = reference;
    sv_spynet_sizes(h, w, &s->sh, &s->sw, s->lh, s->lw);
    for (int l = 0; l < SV_SPY_LEVELS; l++) {
        size_t hw = (size_t)s->lh[l] * s->lw[l], P = (size_t)max_pairs;
        if (!(s->ref[l] = buf(s, P * 3 * hw, e)) || !(s->supp[l] = buf(s, P * 3 * hw, e)) ||
            !(s->up[l] = buf(s, P * 2 * hw, e)) || !(s->flow[l] = buf(s, P * 2 * hw, e)) ||
            !(s->in8[l] = buf(s, P * sv_fmap_floats(8, s->lh[l], s->lw[l], blk), e)))
            goto fail;
        for (int j = 0; j < SV_SPY_CONVS - 1; j++)
            if (!(s->act[l][j] = buf(s, P * sv_fmap_floats(m->spynet[l][j].cout, s->lh[l], s->lw[l], blk), e)))
                goto fail;
    }
    size_t hw = (size_t)s->sh * s->sw, P = (size_t)max_pairs;
    if (!(s->res = buf(s, P * sv_fmap_floats(2, s->sh, s->sw, blk), e)) ||
        !(s->da = buf(s, P * sv_fmap_floats(SV_SPY_WIDEST, s->sh, s->sw, blk), e)) ||
        !(s->db = buf(s, P * sv_fmap_floats(SV_SPY_WIDEST, s->sh, s->sw, blk), e)) ||
        !(s->din8 = buf(s, P * sv_fmap_floats(8, s->sh, s->sw, blk), e)) || !(s->warp = buf(s, 3 * hw, e)) ||
        !(s->dup = buf(s, 2 * hw, e)) || !(s->dfl = buf(s, P * 2 * hw, e)) ||
        !(s->dcoarse = buf(s, P * 2 * hw, e)) || !(s->tmp = buf(s, 2 * (size_t)h * w, e)))
        goto fail;
    if (!get_set(s, max_pairs, e)) goto fail;
    return 0;
fail:
    return -1;
}

sv_spytrain *sv_spytrain_create(const sv_model *m, int h, int w, int max_pairs, int blk, int reference, sv_err *e) {
    sv_spytrain *s = sv_calloc(1, sizeof *s, e);
    if (s && plan(s, m, h, w, max_pairs, blk, reference, e)) {
        sv_spytrain_free(s);
        return NULL;
    }
    return s;
}

size_t sv_spytrain_estimate(const sv_model *m, int h, int w, int max_pairs, int blk) {
    sv_spytrain s = {.dry = 1};
    plan(&s, m, h, w, max_pairs, blk, 0, NULL);
    return s.bytes;
}

int sv_spytrain_forward(sv_spytrain *s, const float *const *ref, const float *const *supp, int np,
                        float *const *flow, sv_err *e) {
    if (np < 1 || np > s->max_pairs) return sv_errf(e, "SPyNet training: %d pairs, planned for %d", np, s->max_pairs);
    conv_set *cs = get_set(s, np, e);
    if (!cs) return -1;
    s->np = np;
    const int blk = s->blk;
    for (int p = 0; p < np; p++) {
        float *pr[SV_SPY_LEVELS], *ps[SV_SPY_LEVELS];
        for (int l = 0; l < SV_SPY_LEVELS; l++) {
            size_t hw3 = 3 * (size_t)s->lh[l] * s->lw[l];
            pr[l] = s->ref[l] + p * hw3;
            ps[l] = s->supp[l] + p * hw3;
        }
        sv_spynet_pyramid(s->m, ref[p], s->h, s->w, s->sh, s->sw, s->lh, s->lw, pr);
        sv_spynet_pyramid(s->m, supp[p], s->h, s->w, s->sh, s->sw, s->lh, s->lw, ps);
    }
    for (int l = 0; l < SV_SPY_LEVELS; l++) {
        const int h = s->lh[l], w = s->lw[l];
        const size_t hw = (size_t)h * w, f8 = sv_fmap_floats(8, h, w, blk);
        // in8 = cat[ref (3), warp_border(supp, up) (3), up (2)] for every pair
        const sv_fmap in8 = sv_fmap_batch(s->in8[l], 8, h, w, blk, np);
        const sv_fmap ups = sv_fmap_batch(s->up[l], 2, h, w, 1, np);
        memset(s->in8[l], 0, (size_t)np * f8 * sizeof(float));
        for (int p = 0; p < np; p++) {
            float *up = sv_fmap_sample(ups, p).data;
            // Level 0 starts from a zero flow (see spynet.c: PyTorch's upsampled zero flow is zero too).
            if (l == 0) memset(up, 0, 2 * hw * sizeof(float));
            else sv_spynet_upsample_flow(up, s->flow[l - 1] + p * 2 * (size_t)s->lh[l - 1] * s->lw[l - 1],
                                         s->lh[l - 1], s->lw[l - 1], h, w);
            flow_warp_forward(s->warp, s->supp[l] + p * 3 * hw, up, 3, h, w, SV_PAD_BORDER, 1);
            channel_copy(sv_fmap_slice(sv_fmap_sample(in8, p), 3, 3), sv_fmap_one(s->warp, 3, h, w, 1));
        }
        channel_copy(sv_fmap_slice(in8, 0, 3), sv_fmap_batch(s->ref[l], 3, h, w, 1, np));
        channel_copy(sv_fmap_slice(in8, 6, 2), ups);
        const float *in = s->in8[l];
        for (int j = 0; j < SV_SPY_CONVS; j++) {
            const sv_conv_layer *c = &s->m->spynet[l][j];
            float *out = j < SV_SPY_CONVS - 1 ? s->act[l][j] : s->res;
            if (sv_conv_train_forward(cs->conv[l][j], out, in, c->w, c->b, NULL, e))
                return sv_errprefix(e, "SPyNet level %d conv %d", l, j);
            in = out;
        }
        // flow_l = res + up_l
        channel_copy(sv_fmap_batch(s->flow[l], 2, h, w, 1, np), sv_fmap_batch(s->res, 2, h, w, blk, np));
        accumulate(s->flow[l], s->up[l], (size_t)np * 2 * hw);
    }
    const int L = SV_SPY_LEVELS - 1;
    const size_t hw = (size_t)s->h * s->w, shw = (size_t)s->sh * s->sw;
    const float sx = (float)s->w / (float)s->sw, sy = (float)s->h / (float)s->sh;
    for (int p = 0; p < np; p++) {
        float *f = flow[p];
        resize_bilinear_forward(f, s->flow[L] + p * 2 * shw, 2, s->sh, s->sw, s->h, s->w, 0, 1);
        for (size_t i = 0; i < hw; i++) {
            f[i] *= sx;
            f[hw + i] *= sy;
        }
    }
    return 0;
}

static float *grad_of(const sv_model *m, float *grads, const float *param) { return grads + (param - m->params); }

const float *sv_spytrain_level_flow(const sv_spytrain *s, int l, int p, int *h, int *w) {
    *h = s->lh[l];
    *w = s->lw[l];
    return s->flow[l] + (size_t)p * 2 * s->lh[l] * s->lw[l];
}

int sv_spytrain_backward(sv_spytrain *s, const float *const *dflow, int np, float *grads, sv_err *e) {
    return sv_spytrain_backward_levels(s, dflow, NULL, np, grads, e);
}

int sv_spytrain_backward_levels(sv_spytrain *s, const float *const *dflow, const float *const *dlevel, int np,
                                float *grads, sv_err *e) {
    if (np != s->np) return sv_errf(e, "SPyNet training: backward for %d pairs after a forward of %d", np, s->np);
    conv_set *cs = get_set(s, np, e);
    if (!cs) return -1;
    const int blk = s->blk, L = SV_SPY_LEVELS - 1;
    const size_t hw = (size_t)s->h * s->w, shw = (size_t)s->sh * s->sw;
    const float sx = (float)s->w / (float)s->sw, sy = (float)s->h / (float)s->sh;
    // dfl: gradient of flow_l for every pair (plain [2,lh,lw] each), starting at the finest level
    memset(s->dfl, 0, (size_t)np * 2 * shw * sizeof(float));
    for (int p = 0; dflow && p < np; p++) {
        for (size_t i = 0; i < hw; i++) {
            s->tmp[i] = dflow[p][i] * sx;
            s->tmp[hw + i] = dflow[p][hw + i] * sy;
        }
        resize_bilinear_backward(s->dfl + p * 2 * shw, s->tmp, 2, s->sh, s->sw, s->h, s->w, 0, 1);
    }
    for (int l = L; l >= 0; l--) {
        const int h = s->lh[l], w = s->lw[l];
        const size_t lhw = (size_t)h * w, f8 = sv_fmap_floats(8, h, w, blk), f2 = sv_fmap_floats(2, h, w, blk);
        if (dlevel && dlevel[l]) accumulate(s->dfl, dlevel[l], (size_t)np * 2 * lhw);
        memset(s->res, 0, (size_t)np * f2 * sizeof(float));
        channel_copy(sv_fmap_batch(s->res, 2, h, w, blk, np), sv_fmap_batch(s->dfl, 2, h, w, 1, np));
        // through the five convs, last to first: s->res holds d(conv 4 output)
        const float *dout = s->res;
        float *bufs[2] = {s->da, s->db};
        for (int j = SV_SPY_CONVS - 1; j >= 0; j--) {
            const sv_conv_layer *c = &s->m->spynet[l][j];
            const float *in = j > 0 ? s->act[l][j - 1] : s->in8[l];
            float *din = j > 0 ? bufs[j & 1] : s->din8;
            size_t nin = (size_t)np * (j > 0 ? sv_fmap_floats(c->cin, h, w, blk) : f8);
            memset(din, 0, nin * sizeof(float));
            if (sv_conv_train_backward(cs->conv[l][j], din, grad_of(s->m, grads, c->w), grad_of(s->m, grads, c->b),
                                       dout, in, c->w, e))
                return sv_errprefix(e, "SPyNet level %d conv %d backward", l, j);
            if (j > 0) act_backward(din, din, in, nin, 0.0f);
            dout = din;
        }
        // d(up_l) = d(flow_l) (skip) + in8 channels 6..7 + the border warp's coordinate gradient;
        // then d(flow_{l-1}) = upsample^T(d(up_l)). Level 0's up is a constant zero.
        if (l == 0) break;
        const int ph = s->lh[l - 1], pw = s->lw[l - 1];
        float *dwarp = s->warp;  // [3,h,w] scratch of the finest level's size
        memset(s->dcoarse, 0, (size_t)np * 2 * ph * pw * sizeof(float));
        const sv_fmap din8 = sv_fmap_batch(s->din8, 8, h, w, blk, np);
        for (int p = 0; p < np; p++) {
            memcpy(s->dup, s->dfl + p * 2 * lhw, 2 * lhw * sizeof(float));
            channel_copy_backward(sv_fmap_one(s->dup, 2, h, w, 1), sv_fmap_slice(sv_fmap_sample(din8, p), 6, 2));
            memset(dwarp, 0, 3 * lhw * sizeof(float));
            channel_copy_backward(sv_fmap_one(dwarp, 3, h, w, 1), sv_fmap_slice(sv_fmap_sample(din8, p), 3, 3));
            flow_warp_backward(NULL, s->dup, dwarp, s->supp[l] + p * 3 * lhw, s->up[l] + p * 2 * lhw, 3, h, w,
                               SV_PAD_BORDER, 1);
            sv_spynet_upsample_flow_backward(s->dcoarse + p * 2 * (size_t)ph * pw, s->dup, ph, pw, h, w);
        }
        memcpy(s->dfl, s->dcoarse, (size_t)np * 2 * ph * pw * sizeof(float));
    }
    return 0;
}

size_t sv_spytrain_bytes(const sv_spytrain *s) { return s->bytes; }

void sv_spytrain_free(sv_spytrain *s) {
    if (!s || s->dry) return;
    for (int i = 0; i < s->nsets; i++)
        for (int l = 0; l < SV_SPY_LEVELS; l++)
            for (int j = 0; j < SV_SPY_CONVS; j++)
                if (s->sets[i].conv[l][j]) sv_conv_train_free(s->sets[i].conv[l][j]);
    for (int l = 0; l < SV_SPY_LEVELS; l++) {
        free(s->ref[l]), free(s->supp[l]), free(s->up[l]), free(s->flow[l]), free(s->in8[l]);
        for (int j = 0; j < SV_SPY_CONVS - 1; j++) free(s->act[l][j]);
    }
    free(s->res), free(s->da), free(s->db), free(s->din8), free(s->warp), free(s->dup), free(s->dfl);
    free(s->dcoarse), free(s->tmp);
    free(s);
}
