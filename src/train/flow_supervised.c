// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// flow_supervised.c: the supervised flow loss (EPE over valid pixels), batches of synthetic
// sequences and the held-out evaluation (flow_supervised.h).
#include "train/flow_supervised.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/memory.h"
#include "model/spynet.h"
#include "ops/conv.h"
#include "ops/ops.h"
#include "train/flow_train.h"
#include "train/spynet_train.h"

// ======== the loss ========

double sv_flow_epe_forward(const float *flow, const float *gt, const float *valid, int h, int w, float eps,
                           long *nvalid) {
    const size_t hw = (size_t)h * w;
    double sum = 0;
    long n = 0;
    for (size_t i = 0; i < hw; i++) {
        if (!valid[i]) continue;
        const double dx = (flow ? (double)flow[i] : 0.0) - gt[i], dy = (flow ? (double)flow[hw + i] : 0.0) - gt[hw + i];
        sum += sqrt(dx * dx + dy * dy + eps);
        n++;
    }
    if (nvalid) *nvalid = n;
    return n ? sum / (double)n : 0.0;
}

void sv_flow_epe_backward(float *dflow, const float *flow, const float *gt, const float *valid, int h, int w,
                          float eps, float scale) {
    const size_t hw = (size_t)h * w;
    long n = 0;
    for (size_t i = 0; i < hw; i++) n += valid[i] != 0;
    if (!n) return;
    const double s = (double)scale / (double)n;
    for (size_t i = 0; i < hw; i++) {
        if (!valid[i]) continue;
        const double dx = (double)flow[i] - gt[i], dy = (double)flow[hw + i] - gt[hw + i];
        const double r = sqrt(dx * dx + dy * dy + eps);
        if (r == 0) continue;  // eps = 0 and an exact match: the subgradient 0
        dflow[i] += (float)(s * dx / r);
        dflow[hw + i] += (float)(s * dy / r);
    }
}

// ======== the true flow at SPyNet's levels ========

void sv_flow_gt_levels(const float *gt, const float *valid, int h, int w, float *const *gl, float *const *vl) {
    int sh, sw, lh[SV_SPY_LEVELS], lw[SV_SPY_LEVELS];
    sv_spynet_sizes(h, w, &sh, &sw, lh, lw);
    const int L = SV_SPY_LEVELS - 1;
    const size_t shw = (size_t)sh * sw;
    if (sh == h && sw == w) {
        memcpy(gl[L], gt, 2 * shw * sizeof(float));
        memcpy(vl[L], valid, shw * sizeof(float));
    } else {  // SPyNet's own resize of the frames, the flow's values scaled to the new pixels
        resize_bilinear_forward(gl[L], gt, 2, h, w, sh, sw, 0, 1);
        resize_bilinear_forward(vl[L], valid, 1, h, w, sh, sw, 0, 1);
        const float ax = (float)sw / (float)w, ay = (float)sh / (float)h;
        for (size_t i = 0; i < shw; i++) {
            gl[L][i] *= ax;
            gl[L][shw + i] *= ay;
            vl[L][i] = vl[L][i] >= 0.999f;  // every source pixel valid
        }
    }
    for (int l = L - 1; l >= 0; l--) {  // 2 x 2 means in pixels of the coarser level (halved); valid: all four
        const size_t hw = (size_t)lh[l] * lw[l];
        avgpool2_forward(gl[l], gl[l + 1], 2, lh[l + 1], lw[l + 1], 1);
        avgpool2_forward(vl[l], vl[l + 1], 1, lh[l + 1], lw[l + 1], 1);
        for (size_t i = 0; i < 2 * hw; i++) gl[l][i] *= 0.5f;
        for (size_t i = 0; i < hw; i++) vl[l][i] = vl[l][i] == 1.0f;  // the mean of four 0/1 masks is 1 exactly
    }
}

// ======== batches of sequences ========

int sv_synth_batch_alloc(sv_synth_batch *b, int nseq, int T, int size, double static_share, sv_err *e) {
    memset(b, 0, sizeof *b);
    sv_synth_params_default(&b->p, T, size, size);
    b->p.static_share = static_share;
    if (sv_synth_params_check(&b->p, e)) return -1;
    if (!(b->seq = sv_calloc((size_t)nseq, sizeof *b->seq, e))) return -1;
    b->nseq = nseq;
    for (int i = 0; i < nseq; i++)
        if (sv_synth_seq_alloc(&b->seq[i], T, size, size, e)) {
            sv_synth_batch_free(b);
            return -1;
        }
    return 0;
}

int sv_synth_batch_render(sv_synth_batch *b, const sv_photo_set *ps, sv_rng *rng, int rank, int ranks, sv_err *e) {
    for (int g = 0; g < ranks * b->nseq; g++) {
        const int i = g - rank * b->nseq;  // this rank's sequence i, or another rank's
        if (i >= 0 && i < b->nseq ? sv_synth_render(&b->p, ps->v, ps->n, rng, &b->seq[i], e)
                                  : sv_synth_skip(&b->p, ps->v, ps->n, rng, e))
            return -1;
    }
    return 0;
}

int sv_synth_batch_pairs(const sv_synth_batch *b) { return 2 * b->nseq * (b->p.T - 1); }

int sv_synth_batch_used(const sv_synth_batch *b, long *nvalid) {
    const size_t hw = (size_t)b->p.H * b->p.W;
    const float *ref, *supp, *gt, *valid;
    int used = 0;
    *nvalid = 0;
    for (int q = 0; q < sv_synth_batch_pairs(b); q++) {
        sv_synth_batch_pair(b, q, &ref, &supp, &gt, &valid);
        long nv = 0;
        for (size_t i = 0; i < hw; i++) nv += valid[i] != 0;
        used += nv > 0;
        *nvalid += nv;
    }
    return used;
}

void sv_synth_batch_pair(const sv_synth_batch *b, int q, const float **ref, const float **supp, const float **gt,
                         const float **valid) {
    const int T = b->p.T, s = q / (2 * (T - 1)), i = (q / 2) % (T - 1);
    const size_t hw = (size_t)b->p.H * b->p.W;
    const sv_synth_seq *sq = &b->seq[s];
    const float *xi = sq->frames + (size_t)i * 3 * hw, *xn = xi + 3 * hw;
    *ref = q % 2 ? xn : xi;
    *supp = q % 2 ? xi : xn;
    *gt = (q % 2 ? sq->flow_f : sq->flow_b) + (size_t)i * 2 * hw;
    *valid = (q % 2 ? sq->valid_f : sq->valid_b) + (size_t)i * hw;
}

void sv_synth_batch_free(sv_synth_batch *b) {
    for (int i = 0; b->seq && i < b->nseq; i++) sv_synth_seq_free(&b->seq[i]);
    free(b->seq);
    memset(b, 0, sizeof *b);
}

// ======== a training batch ========

// The level terms of pair j of the last forward: loss += weight * scale * sum_{l < finest} epe_l, their
// gradients into dlev[l] (pair j's slice); gl, vl: scratch of the pyramid.
static double level_terms(sv_spytrain *spy, int j, const float *gt, const float *valid, int h, int w, float weight,
                          float scale, float *const *gl, float *const *vl, float *const *dlev) {
    double sum = 0;
    sv_flow_gt_levels(gt, valid, h, w, gl, vl);
    for (int l = 0; l < SV_SPY_LEVELS - 1; l++) {
        int lh, lw;
        const float *f = sv_spytrain_level_flow(spy, l, j, &lh, &lw);
        long nv;
        const double epe = sv_flow_epe_forward(f, gl[l], vl[l], lh, lw, SV_EPE_EPS, &nv);
        if (!nv) continue;
        sum += epe;
        sv_flow_epe_backward(dlev[l] + (size_t)j * 2 * lh * lw, f, gl[l], vl[l], lh, lw, SV_EPE_EPS, weight * scale);
    }
    return (double)weight * scale * sum;
}

// Scratch of the level terms (levels of lh x lw): per level the pyramid of one pair (gl, vl) and the gradients
// of G pairs (dlev), one block.
static float *level_scratch(int G, const int *lh, const int *lw, float **gl, float **vl, float **dlev, sv_err *e) {
    size_t n = 0;
    for (int l = 0; l < SV_SPY_LEVELS; l++) n += (size_t)(3 + 2 * G) * lh[l] * lw[l];
    float *blk = sv_malloc(n * sizeof(float), e), *p = blk;
    for (int l = 0; blk && l < SV_SPY_LEVELS; l++) {
        const size_t hw = (size_t)lh[l] * lw[l];
        gl[l] = p, p += 2 * hw;
        vl[l] = p, p += hw;
        dlev[l] = p, p += (size_t)2 * G * hw;
    }
    return blk;
}

int sv_flow_supervised_batch(sv_spytrain *spy, int G, const sv_synth_batch *b, float level_weight, double used,
                             float *flows, float *dflows, float *grads, double *loss, double *terms, sv_err *e) {
    const int P = sv_synth_batch_pairs(b), h = b->p.H, w = b->p.W;
    const size_t hw = (size_t)h * w;
    const float *ref[64], *supp[64], *gt[64], *valid[64];
    float *fl[64];
    const float *dfl[64];
    if (G < 1 || G > 64) return sv_errf(e, "supervised batch: group %d (1..64)", G);
    long nvalid_all;
    sv_synth_batch_used(b, &nvalid_all);
    *loss = 0;
    memset(terms, 0, 4 * sizeof *terms);
    terms[3] = (double)nvalid_all / ((double)P * (double)hw);
    if (!used) return 0;  // nothing to learn from (possible only with tiny frames and large motion)
    const float scale = 1.0f / (float)used;
    float *gl[SV_SPY_LEVELS], *vl[SV_SPY_LEVELS], *dlev[SV_SPY_LEVELS];
    int lh[SV_SPY_LEVELS], lw[SV_SPY_LEVELS], sh, sw;
    sv_spynet_sizes(h, w, &sh, &sw, lh, lw);
    float *scratch = level_weight > 0 ? level_scratch(G, lh, lw, gl, vl, dlev, e) : NULL;
    if (level_weight > 0 && !scratch) return -1;
    int rc = 0;
    for (int p0 = 0; !rc && p0 < P; p0 += G) {
        const int np = P - p0 < G ? P - p0 : G;
        for (int j = 0; j < np; j++) {
            sv_synth_batch_pair(b, p0 + j, &ref[j], &supp[j], &gt[j], &valid[j]);
            fl[j] = flows + (size_t)j * 2 * hw;
            dfl[j] = dflows + (size_t)j * 2 * hw;
        }
        if ((rc = sv_spytrain_forward(spy, ref, supp, np, fl, e))) break;
        memset(dflows, 0, (size_t)np * 2 * hw * sizeof(float));
        for (int l = 0; scratch && l < SV_SPY_LEVELS; l++) memset(dlev[l], 0, (size_t)np * 2 * lh[l] * lw[l] * sizeof(float));
        for (int j = 0; j < np; j++) {
            long nv;
            const double l = sv_flow_epe_forward(fl[j], gt[j], valid[j], h, w, SV_EPE_EPS, &nv);
            if (!nv) continue;
            *loss += l * scale;
            if (scratch) *loss += level_terms(spy, j, gt[j], valid[j], h, w, level_weight, scale, gl, vl, dlev);
            terms[0] += sv_flow_epe_forward(fl[j], gt[j], valid[j], h, w, 0.0f, NULL) * scale;
            terms[1] += sv_flow_epe_forward(NULL, gt[j], valid[j], h, w, 0.0f, NULL) * scale;
            terms[2] += sv_flow_magnitude(fl[j], h, w) * scale;
            sv_flow_epe_backward(dflows + (size_t)j * 2 * hw, fl[j], gt[j], valid[j], h, w, SV_EPE_EPS, scale);
        }
        rc = sv_spytrain_backward_levels(spy, dfl, scratch ? (const float *const *)dlev : NULL, np, grads, e);
    }
    free(scratch);
    return rc;
}

uint64_t sv_flow_synth_train_seed(uint64_t seed) { return seed ^ 0x53594e5448545241ULL; }   // "SYNTHTRA"
uint64_t sv_flow_synth_heldout_seed(uint64_t seed) { return seed ^ 0x48454c444f555421ULL; } // "HELDOUT!"

// ======== held-out evaluation ========

int sv_flow_eval_synth(const sv_model *m, const sv_photo_set *ps, int npairs, int size, uint64_t seed,
                       sv_flow_synth_eval_result *r, sv_err *e) {
    memset(r, 0, sizeof *r);
    if (npairs < 2 || npairs % 2) return sv_errf(e, "held-out pairs: %d (an even number >= 2)", npairs);
    enum { G = 16 };  // pairs per SPyNet call: 8 two-frame sequences
    const size_t hw = (size_t)size * size;
    sv_synth_batch b;
    sv_synth_params dflt;  // held-out pairs: the generator's default distribution, whatever a run trains on
    sv_synth_params_default(&dflt, 2, size, size);
    if (sv_synth_batch_alloc(&b, G / 2, 2, size, dflt.static_share, e)) return -1;
    sv_spytrain *spy = sv_spytrain_create(m, size, size, G, sv_conv_preferred_blk(), 0, e);
    float *flows = sv_malloc((size_t)G * 2 * hw * sizeof(float), e);
    sv_rng rng;
    sv_rng_seed(&rng, seed);
    int rc = spy && flows ? 0 : -1;
    for (int done = 0; !rc && done < npairs; done += G) {
        const int np = npairs - done < G ? npairs - done : G;
        b.nseq = np / 2;  // the last call may render fewer sequences
        const float *ref[G], *supp[G], *gt[G], *valid[G];
        float *fl[G];
        if ((rc = sv_synth_batch_render(&b, ps, &rng, 0, 1, e))) break;
        for (int j = 0; j < np; j++) {
            sv_synth_batch_pair(&b, j, &ref[j], &supp[j], &gt[j], &valid[j]);
            fl[j] = flows + (size_t)j * 2 * hw;
        }
        if ((rc = sv_spytrain_forward(spy, ref, supp, np, fl, e))) break;
        for (int j = 0; j < np; j++) {
            long nv;
            const double epe = sv_flow_epe_forward(fl[j], gt[j], valid[j], size, size, 0.0f, &nv);
            if (!nv) continue;
            r->epe += epe;
            r->epe_zero += sv_flow_epe_forward(NULL, gt[j], valid[j], size, size, 0.0f, NULL);
            r->flow_mag += sv_flow_magnitude(fl[j], size, size);
            r->pairs++;
        }
    }
    b.nseq = G / 2;
    sv_synth_batch_free(&b);
    sv_spytrain_free(spy);
    free(flows);
    if (rc) return -1;
    if (!r->pairs) return sv_errf(e, "held-out synthetic pairs: none has a valid pixel");
    r->epe /= (double)r->pairs;
    r->epe_zero /= (double)r->pairs;
    r->flow_mag /= (double)r->pairs;
    return 0;
}
