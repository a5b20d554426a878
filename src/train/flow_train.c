// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// flow_train.c: the unsupervised flow loss and its evaluation on whole clips (see flow_train.h); the
// training step is flow_step.c.
#include "train/flow_train.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/memory.h"
#include "io/clips.h"
#include "io/frames.h"
#include "ops/conv.h"
#include "ops/ops.h"
#include "ops/pixels.h"
#include "train/spynet_train.h"

// ======== the loss ========

double sv_flow_photo_forward(float *warped, const float *ref, const float *supp, const float *flow, int h, int w) {
    flow_warp_forward(warped, supp, flow, 3, h, w, SV_PAD_BORDER, 1);
    return charbonnier_forward(warped, ref, 3 * (size_t)h * w, SV_FLOW_EPS);
}

void sv_flow_photo_backward(float *dflow, float *dwarp, const float *warped, const float *ref, const float *supp,
                            const float *flow, int h, int w, float scale) {
    const size_t n = 3 * (size_t)h * w;
    memset(dwarp, 0, n * sizeof(float));
    charbonnier_backward(dwarp, warped, ref, n, SV_FLOW_EPS, scale / (float)n);
    flow_warp_backward(NULL, dflow, dwarp, supp, flow, 3, h, w, SV_PAD_BORDER, 1);
}

static size_t smooth_terms(int h, int w) { return 2 * ((size_t)h * (w - 1) + (size_t)(h - 1) * w); }

double sv_flow_smooth_forward(const float *flow, int h, int w) {
    const size_t n = smooth_terms(h, w), hw = (size_t)h * w;
    if (!n) return 0;
    double s = 0;
    for (int c = 0; c < 2; c++) {
        const float *f = flow + c * hw;
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) {
                const float v = f[(size_t)y * w + x];
                if (x + 1 < w) {
                    double d = f[(size_t)y * w + x + 1] - v;
                    s += sqrt(d * d + SV_FLOW_EPS);
                }
                if (y + 1 < h) {
                    double d = f[(size_t)(y + 1) * w + x] - v;
                    s += sqrt(d * d + SV_FLOW_EPS);
                }
            }
    }
    return s / (double)n;
}

void sv_flow_smooth_backward(float *dflow, const float *flow, int h, int w, float scale) {
    const size_t n = smooth_terms(h, w), hw = (size_t)h * w;
    if (!n) return;
    const float k = scale / (float)n;
    for (int c = 0; c < 2; c++) {
        const float *f = flow + c * hw;
        float *df = dflow + c * hw;
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) {
                const size_t i = (size_t)y * w + x;
                if (x + 1 < w) {
                    float d = f[i + 1] - f[i], g = k * d / sqrtf(d * d + SV_FLOW_EPS);
                    df[i + 1] += g;
                    df[i] -= g;
                }
                if (y + 1 < h) {
                    float d = f[i + w] - f[i], g = k * d / sqrtf(d * d + SV_FLOW_EPS);
                    df[i + w] += g;
                    df[i] -= g;
                }
            }
    }
}

double sv_flow_magnitude(const float *flow, int h, int w) {
    const size_t hw = (size_t)h * w;
    double s = 0;
    for (size_t i = 0; i < hw; i++) s += hypot(flow[i], flow[hw + i]);
    return hw ? s / (double)hw : 0;
}

// ---- the multi-scale loss ----

struct sv_flowloss {
    int n, h[16], w[16];
    float *ref[16], *supp[16], *flow[16], *dflow[16];  // scale 0: ref/supp/flow point at the caller's data
    float *warped, *dwarp;
};

sv_flowloss *sv_flowloss_create(int h, int w, int nscales, sv_err *e) {
    sv_flowloss *l = sv_calloc(1, sizeof *l, e);
    if (!l) return NULL;
    l->n = 1;
    l->h[0] = h, l->w[0] = w;
    while (l->n < nscales && l->n < 16 && l->h[l->n - 1] / 2 >= 2 && l->w[l->n - 1] / 2 >= 2) {
        l->h[l->n] = l->h[l->n - 1] / 2, l->w[l->n] = l->w[l->n - 1] / 2;
        l->n++;
    }
    const size_t hw = (size_t)h * w;
    if (!(l->warped = sv_malloc(3 * hw * sizeof(float), e)) || !(l->dwarp = sv_malloc(3 * hw * sizeof(float), e)))
        goto fail;
    for (int s = 1; s < l->n; s++) {
        const size_t n = (size_t)l->h[s] * l->w[s];
        if (!(l->ref[s] = sv_malloc(3 * n * sizeof(float), e)) || !(l->supp[s] = sv_malloc(3 * n * sizeof(float), e)) ||
            !(l->flow[s] = sv_malloc(2 * n * sizeof(float), e)) || !(l->dflow[s] = sv_malloc(2 * n * sizeof(float), e)))
            goto fail;
    }
    return l;
fail:
    sv_flowloss_free(l);
    return NULL;
}

int sv_flowloss_scales(const sv_flowloss *l) { return l->n; }

double sv_flowloss_pair(sv_flowloss *l, const float *ref, const float *supp, const float *flow, float lambda,
                        float scale, float *dflow, double *photo0, double *smooth_out) {
    l->ref[0] = (float *)ref, l->supp[0] = (float *)supp, l->flow[0] = (float *)flow, l->dflow[0] = dflow;
    for (int s = 1; s < l->n; s++) {
        const int ph = l->h[s - 1], pw = l->w[s - 1];
        const size_t n = (size_t)l->h[s] * l->w[s];
        avgpool2_forward(l->ref[s], l->ref[s - 1], 3, ph, pw, 1);
        avgpool2_forward(l->supp[s], l->supp[s - 1], 3, ph, pw, 1);
        avgpool2_forward(l->flow[s], l->flow[s - 1], 2, ph, pw, 1);
        for (size_t i = 0; i < 2 * n; i++) l->flow[s][i] *= 0.5f;  // displacements in this scale's pixels
    }
    double total = 0;
    for (int s = 0; s < l->n; s++) {
        double ph = sv_flow_photo_forward(l->warped, l->ref[s], l->supp[s], l->flow[s], l->h[s], l->w[s]);
        if (s == 0 && photo0) *photo0 = ph;
        total += ph;
        if (!dflow) continue;
        if (s > 0) memset(l->dflow[s], 0, 2 * (size_t)l->h[s] * l->w[s] * sizeof(float));
        sv_flow_photo_backward(l->dflow[s], l->dwarp, l->warped, l->ref[s], l->supp[s], l->flow[s], l->h[s], l->w[s],
                               scale);
    }
    // coarse to fine: d(flow_{s-1}) += pool^T(0.5 * d(flow_s)); the images are data and need no gradient
    for (int s = dflow ? l->n - 1 : 0; s > 0; s--) {
        const size_t n = (size_t)l->h[s] * l->w[s];
        for (size_t i = 0; i < 2 * n; i++) l->dflow[s][i] *= 0.5f;
        avgpool2_backward(l->dflow[s - 1], l->dflow[s], 2, l->h[s - 1], l->w[s - 1], 1);
    }
    const double sm = sv_flow_smooth_forward(flow, l->h[0], l->w[0]);
    if (smooth_out) *smooth_out = sm;
    if (dflow && lambda != 0) sv_flow_smooth_backward(dflow, flow, l->h[0], l->w[0], scale * lambda);
    return total + lambda * sm;
}

void sv_flowloss_free(sv_flowloss *l) {
    if (!l) return;
    for (int s = 1; s < 16; s++) free(l->ref[s]), free(l->supp[s]), free(l->flow[s]), free(l->dflow[s]);
    free(l->warped), free(l->dwarp);
    free(l);
}

// ======== training ========

void sv_flow_zero_head(sv_model *m) {
    for (int l = 0; l < SV_SPY_LEVELS; l++) {
        sv_conv_layer *c = &m->spynet[l][SV_SPY_CONVS - 1];
        memset(c->w, 0, (size_t)c->cout * c->cin * c->k * c->k * sizeof(float));
        memset(c->b, 0, (size_t)c->cout * sizeof(float));
    }
}

// ======== evaluation ========

// photo of the flow that is (dx, dy) everywhere.
static double photo_shift(const float *ref, const float *supp, int h, int w, float *flow, float *warped, float dx,
                          float dy) {
    const size_t hw = (size_t)h * w;
    for (size_t i = 0; i < hw; i++) flow[i] = dx, flow[hw + i] = dy;
    return sv_flow_photo_forward(warped, ref, supp, flow, h, w);
}

double sv_flow_best_translation(const float *ref, const float *supp, int h, int w, float *flow, float *warped,
                                float *dx, float *dy) {
    static const float step[3] = {1.0f, 0.25f, 0.0625f};
    float bx = 0, by = 0;
    double best = photo_shift(ref, supp, h, w, flow, warped, 0, 0);
    for (int g = 0; g < 3; g++) {
        const int n = g ? 3 : SV_FLOW_TRANS_RANGE;
        const float cx = bx, cy = by;
        for (int j = -n; j <= n; j++)
            for (int i = -n; i <= n; i++) {
                if (!i && !j) continue;  // the centre: known
                const float x = cx + step[g] * (float)i, y = cy + step[g] * (float)j;
                const double p = photo_shift(ref, supp, h, w, flow, warped, x, y);
                if (p < best) best = p, bx = x, by = y;
            }
    }
    *dx = bx, *dy = by;
    return best;
}

// Adds one clip's pairs to the sums in r.
static int eval_clip(const sv_model *m, const char *path, int max_frames, sv_flow_eval_result *r, sv_err *e) {
    sv_frame_reader *rd = sv_frames_open(path, e);
    if (!rd) return -1;
    const int h = sv_frames_height(rd), w = sv_frames_width(rd);
    const size_t hw = (size_t)h * w;
    unsigned char *rgb = sv_malloc(hw * 3, e);
    float *img[2] = {sv_malloc(3 * hw * sizeof(float), e), sv_malloc(3 * hw * sizeof(float), e)};
    float *fl[2] = {sv_malloc(2 * hw * sizeof(float), e), sv_malloc(2 * hw * sizeof(float), e)};
    float *warped = sv_malloc(3 * hw * sizeof(float), e);
    sv_spytrain *spy = NULL;
    int rc = -1, nread = 0;
    if (!rgb || !img[0] || !img[1] || !fl[0] || !fl[1] || !warped) goto out;
    if (!(spy = sv_spytrain_create(m, h, w, 2, sv_conv_preferred_blk(), 0, e))) goto out;
    for (;;) {
        if (max_frames > 0 && nread == max_frames) break;
        int got = sv_frames_read(rd, rgb, e);
        if (got < 0) goto out;
        if (!got) break;
        float *cur = img[nread & 1], *prev = img[(nread + 1) & 1];
        sv_rgb_to_chw(cur, rgb, h, w);
        if (nread++ == 0) continue;
        const float *ref[2] = {prev, cur}, *supp[2] = {cur, prev};
        if (sv_spytrain_forward(spy, ref, supp, 2, fl, e)) goto out;
        for (int j = 0; j < 2; j++) {
            r->photo_zero += charbonnier_forward(ref[j], supp[j], 3 * hw, SV_FLOW_EPS);
            r->photo_model += sv_flow_photo_forward(warped, ref[j], supp[j], fl[j], h, w);
            r->smooth_model += sv_flow_smooth_forward(fl[j], h, w);
            r->flow_mag += sv_flow_magnitude(fl[j], h, w);
            float tx, ty;  // fl[j] is done with: scratch for the search
            r->photo_translation += sv_flow_best_translation(ref[j], supp[j], h, w, fl[j], warped, &tx, &ty);
            r->pairs++;
        }
    }
    r->clips++;
    rc = 0;
out:
    if (rc) sv_errprefix(e, "%s", path);
    sv_spytrain_free(spy);
    sv_frames_close(rd);
    free(rgb), free(img[0]), free(img[1]), free(fl[0]), free(fl[1]), free(warped);
    return rc;
}

int sv_flow_eval(const sv_model *m, const char *const *sources, int nsources, int max_frames,
                 sv_flow_eval_result *r, sv_err *e) {
    memset(r, 0, sizeof *r);
    for (int s = 0; s < nsources; s++) {
        sv_clip_list clips = {0};
        int rc = sv_clips_list(&clips, sources[s], e);
        for (int i = 0; i < clips.n && !rc; i++) rc = eval_clip(m, clips.v[i].path, max_frames, r, e);
        sv_clip_list_free(&clips);
        if (rc) return -1;
    }
    if (!r->pairs) return sv_errf(e, "no pairs of frames to evaluate (clips need at least 2 frames)");
    r->photo_zero /= (double)r->pairs;
    r->photo_model /= (double)r->pairs;
    r->photo_translation /= (double)r->pairs;
    r->smooth_model /= (double)r->pairs;
    r->flow_mag /= (double)r->pairs;
    return 0;
}
