// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// spynet.c: SPyNet optical flow (SSL-NOTES §1), coarse to fine over a 6-level pyramid.
//
// ref, supp [3,h,w] -> resize to [3,sh,sw] (multiples of SV_SPY_ALIGN = 32, bilinear, align_corners=False) -> normalise
// -> pyramid by 2x2 average pooling -> per level l (coarsest first):
//   up = 2 * bilinear_x2(flow, align_corners=True), replicate-padded to the level size
//   flow = convs(cat[ref_l, warp_border(supp_l, up), up]) + up       (8 -> 32 -> 64 -> 32 -> 16 -> 2, 7x7)
// -> resize the flow to (h, w) and scale dx by w/sw, dy by h/sh.
#include <string.h>

#include "core/clock.h"
#include "core/layout.h"
#include "model/runner_internal.h"
#include "model/spynet.h"
#include "ops/ops.h"

void sv_spynet_sizes(int h, int w, int *sh, int *sw, int *lh, int *lw) {
    *sh = sv_spy_aligned(h);
    *sw = sv_spy_aligned(w);
    for (int l = 0; l < SV_SPY_LEVELS; l++) {
        lh[l] = *sh >> (SV_SPY_LEVELS - 1 - l);
        lw[l] = *sw >> (SV_SPY_LEVELS - 1 - l);
    }
}

int sv_spynet_plan(sv_vsr_runner *r, sv_err *e) {
    sv_spynet_sizes(r->h, r->w, &r->sh, &r->sw, r->lh, r->lw);
    for (int l = 0; l < SV_SPY_LEVELS; l++) {
        for (int j = 0; j < SV_SPY_CONVS; j++) {
            sv_conv_op *op = &r->spy[l][j];
            const sv_conv_layer *c = &r->m->spynet[l][j];
            op->layer = c;
            op->weight = c->w;
            sv_spynet_name(op->name, sizeof op->name, l, j);
            op->d = (sv_conv_desc){.cin = c->cin, .cout = c->cout, .k = 7, .pad = 3, .h = r->lh[l], .w = r->lw[l],
                                   .blk = r->blk, .act = j < SV_SPY_CONVS - 1, .act_slope = 0.0f};
            if (r->mode == SV_EXEC_FAST) {
                op->plan = sv_conv_plan_create(&op->d, c->w, c->b, e);
                if (!op->plan) return sv_errprefix(e, "planning %s", op->name);
            }
        }
    }
    return 0;
}

// The source position and weights of output (y, x) of sv_spynet_upsample_flow, shared by its forward and
// backward so that the two can never disagree.
typedef struct {
    int y0, y1, x0, x1;
    float wy, wx;
} upsample_tap;

// align_corners=True source scales, computed once per call as PyTorch does (uh = 2 ih, uw = 2 iw <= oh, ow:
// the pooled sizes are 2x or 2x+1 the coarser ones)
typedef struct {
    int ih, iw, uh, uw;
    float sy, sx;
} upsample_geom;

static upsample_geom upsample_geometry(int ih, int iw) {
    upsample_geom g = {ih, iw, 2 * ih, 2 * iw, 0.0f, 0.0f};
    g.sy = g.uh > 1 ? (float)(ih - 1) / (float)(g.uh - 1) : 0.0f;
    g.sx = g.uw > 1 ? (float)(iw - 1) / (float)(g.uw - 1) : 0.0f;
    return g;
}

static upsample_tap upsample_at(const upsample_geom *g, int y, int x) {
    int yy = y < g->uh ? y : g->uh - 1, xx = x < g->uw ? x : g->uw - 1;  // replicate padding
    float sy = g->sy * (float)yy, sx = g->sx * (float)xx;
    upsample_tap t;
    t.y0 = (int)sy;
    t.y1 = t.y0 < g->ih - 1 ? t.y0 + 1 : t.y0;
    t.wy = sy - (float)t.y0;
    t.x0 = (int)sx;
    t.x1 = t.x0 < g->iw - 1 ? t.x0 + 1 : t.x0;
    t.wx = sx - (float)t.x0;
    return t;
}

void sv_spynet_upsample_flow(float *out, const float *in, int ih, int iw, int oh, int ow) {
    const upsample_geom g = upsample_geometry(ih, iw);
    for (int c = 0; c < 2; c++) {
        float *oc = out + (size_t)c * oh * ow;
        const float *ic = in + (size_t)c * ih * iw;
        for (int y = 0; y < oh; y++)
            for (int x = 0; x < ow; x++) {
                upsample_tap t = upsample_at(&g, y, x);
                float v = (1 - t.wy) * ((1 - t.wx) * ic[t.y0 * iw + t.x0] + t.wx * ic[t.y0 * iw + t.x1]) +
                          t.wy * ((1 - t.wx) * ic[t.y1 * iw + t.x0] + t.wx * ic[t.y1 * iw + t.x1]);
                oc[y * ow + x] = 2.0f * v;
            }
    }
}

void sv_spynet_upsample_flow_backward(float *din, const float *dout, int ih, int iw, int oh, int ow) {
    const upsample_geom g = upsample_geometry(ih, iw);
    for (int c = 0; c < 2; c++) {
        const float *oc = dout + (size_t)c * oh * ow;
        float *ic = din + (size_t)c * ih * iw;
        for (int y = 0; y < oh; y++)
            for (int x = 0; x < ow; x++) {
                upsample_tap t = upsample_at(&g, y, x);
                float d = 2.0f * oc[y * ow + x];
                ic[t.y0 * iw + t.x0] += d * (1 - t.wy) * (1 - t.wx);
                ic[t.y0 * iw + t.x1] += d * (1 - t.wy) * t.wx;
                ic[t.y1 * iw + t.x0] += d * t.wy * (1 - t.wx);
                ic[t.y1 * iw + t.x1] += d * t.wy * t.wx;
            }
    }
}

void sv_spynet_pyramid(const sv_model *m, const float *img, int h, int w, int sh, int sw, const int *lh,
                       const int *lw, float *const *pyr) {
    const int L = SV_SPY_LEVELS - 1;
    float *top = pyr[L];
    resize_bilinear_forward(top, img, 3, h, w, sh, sw, 0, 1);
    size_t hw = (size_t)sh * sw;
    for (int c = 0; c < 3; c++) {
        float mean = m->spy_mean[c], inv = 1.0f / m->spy_std[c];
        float *p = top + c * hw;
        for (size_t i = 0; i < hw; i++) p[i] = (p[i] - mean) * inv;
    }
    for (int l = L - 1; l >= 0; l--) avgpool2_forward(pyr[l], pyr[l + 1], 3, lh[l + 1], lw[l + 1], 1);
}

void sv_spynet_flow(sv_vsr_runner *r, const float *ref, const float *supp, float *flow, const char *tap_name) {
    sv_prof_table *pt = &r->base.table;  // the non-conv steps' times (the convs time themselves)
    double t0 = sv_now();
    sv_spynet_pyramid(r->m, ref, r->h, r->w, r->sh, r->sw, r->lh, r->lw, r->spy_ref);
    sv_spynet_pyramid(r->m, supp, r->h, r->w, r->sh, r->sw, r->lh, r->lw, r->spy_supp);
    sv_prof_lap(pt, SV_PROF_SPY_PYRAMID, t0);
    const int blk = r->blk;
    // Coarsest level: PyTorch starts from a zero flow of half the coarsest size and upsamples it; a zero
    // flow upsampled is zero, so start from zero at the coarsest size (this also covers frames of 32
    // pixels or less, where PyTorch's half size would be 0 and it fails).
    int ph = 0, pw = 0;
    for (int l = 0; l < SV_SPY_LEVELS; l++) {
        int h = r->lh[l], w = r->lw[l];
        size_t hw = (size_t)h * w;
        t0 = sv_now();
        if (l == 0 || ph == 0 || pw == 0) memset(r->spy_up, 0, 2 * hw * sizeof(float));
        else sv_spynet_upsample_flow(r->spy_up, r->spy_flow, ph, pw, h, w);
        t0 = sv_prof_lap(pt, SV_PROF_SPY_UPSAMPLE, t0);
        flow_warp_forward(r->spy_warp, r->spy_supp[l], r->spy_up, 3, h, w, SV_PAD_BORDER, 1);
        t0 = sv_prof_lap(pt, SV_PROF_SPY_WARP, t0);
        // cat[ref (3), warped supp (3), up (2)] -> 8 channels in layout blk
        const sv_fmap in = sv_fmap_one(r->spy_in, 8, h, w, blk);
        memset(in.data, 0, sv_fmap_floats(8, h, w, blk) * sizeof(float));
        channel_copy(sv_fmap_slice(in, 0, 3), sv_fmap_one(r->spy_ref[l], 3, h, w, 1));
        channel_copy(sv_fmap_slice(in, 3, 3), sv_fmap_one(r->spy_warp, 3, h, w, 1));
        channel_copy(sv_fmap_slice(in, 6, 2), sv_fmap_one(r->spy_up, 2, h, w, 1));
        sv_prof_lap(pt, SV_PROF_SPY_CONCAT, t0);
        float *a = r->spy_a, *b = r->spy_b;
        sv_run_conv(r, &r->spy[l][0], a, in.data, NULL, l);
        sv_run_conv(r, &r->spy[l][1], b, a, NULL, l);
        sv_run_conv(r, &r->spy[l][2], a, b, NULL, l);
        sv_run_conv(r, &r->spy[l][3], b, a, NULL, l);
        sv_run_conv(r, &r->spy[l][4], a, b, NULL, l);
        // a holds the residual [2,h,w] in layout blk
        if (tap_name) sv_tap_emit(r, tap_name, l, a, 2, h, w, blk);
        float *f = r->spy_flow;
        t0 = sv_now();
        for (int c = 0; c < 2; c++)
            for (size_t p = 0; p < hw; p++)
                f[c * hw + p] = a[sv_fmap_index(c, (int)(p / w), (int)(p % w), h, w, blk)] + r->spy_up[c * hw + p];
        sv_prof_lap(pt, SV_PROF_SPY_CONCAT, t0);
        ph = h;
        pw = w;
    }
    t0 = sv_now();
    resize_bilinear_forward(flow, r->spy_flow, 2, r->sh, r->sw, r->h, r->w, 0, 1);
    size_t hw = (size_t)r->h * r->w;
    float sx = (float)r->w / (float)r->sw, sy = (float)r->h / (float)r->sh;
    for (size_t i = 0; i < hw; i++) {
        flow[i] *= sx;
        flow[hw + i] *= sy;
    }
    sv_prof_lap(pt, SV_PROF_SPY_RESIZE, t0);
}
