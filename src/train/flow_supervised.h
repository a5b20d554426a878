// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// flow_supervised.h: supervised SPyNet training on synthetic motion (issue 16, item 2): `slimvsr train-flow
// --supervised --photos DIR` and the held-out end-point error of `train-flow --eval --photos DIR`.
//
// Data: photos (JPEG or PNG, a folder searched recursively) loaded once and shrunk, then every iteration
// renders `batch` sequences of `seq` frames at the LR patch size with exact flow and validity masks
// (train/synth_motion.h). Pairs in flow_step.c's order: pair q of sequence s = q / (2 (T-1)), neighbours
// i = (q / 2) % (T-1); even q: ref i, supp i+1, gt flow_b[i], valid_b[i]; odd q: ref i+1, supp i, flow_f[i].
//
// Loss of a pair: the end-point error of SPyNet's final flow f [2,h,w] against the true flow g, averaged over
// the valid pixels V (mask 1):
//   epe = (1/|V|) sum_{p in V} sqrt((f_x - g_x)^2 + (f_y - g_y)^2 + eps)
// plus, with a level weight w > 0 (deep supervision, as SPyNet itself was trained: each level learnt its own
// flow against the pooled true flow), w times the same EPE of every coarser level's flow f_l against the
// true flow pooled to that level (sv_flow_gt_levels), in that level's pixels:
//   loss = epe(f, g) + w * sum_{l < SV_SPY_LEVELS-1} epe(f_l, g_l)
// The step's loss is the mean over pairs that have valid pixels. Why the level terms: the final EPE's
// gradient reaches every level through the skips (spynet_train.h), but it reaches a coarse level only after
// passing through every finer one; a run with the final EPE alone (patch 48, 16 pairs a step) was still at
// 2.4 px on held-out pairs after 2600 iterations (zero flow 3.44 px). In their own pixels the level terms
// give each level a gradient of the same size (a unit vector per pixel). docs/flow-pretraining.md has the
// comparison. Their cost: pooling mixes layers
// at motion boundaries (the pooled flow there is no layer's), which coarse levels cannot resolve anyway.
// The final flow alone (w = 0) is what BasicVSR consumes; the level terms are for learning motion first.
// The EPE (not its square) is robust: each pixel's gradient has length <= 1, so a few large errors (fast
// layers early in training) do not dominate; eps (SV_EPE_EPS, px^2) makes it smooth at 0.
#pragma once
#include <stdint.h>

#include "core/error.h"
#include "model/basicvsr.h"
#include "train/rng.h"
#include "train/spynet_train.h"
#include "train/photos.h"
#include "train/synth_motion.h"

#define SV_EPE_EPS 1e-4f  // px^2: smooths sqrt at 0 (adds at most 0.01 px to a pixel's error)

// ---- the loss ----
// flow, gt [2,h,w] (plain CHW: channel 0 = dx, 1 = dy), valid [h,w] (1 or 0). Returns the mean over valid
// pixels of sqrt(|flow - gt|^2 + eps) (0 when none is valid; flow NULL: the zero flow); *nvalid (may be
// NULL) gets their count.
double sv_flow_epe_forward(const float *flow, const float *gt, const float *valid, int h, int w, float eps,
                           long *nvalid);
// dflow [2,h,w] += scale * d(epe)/d(flow).
void sv_flow_epe_backward(float *dflow, const float *flow, const float *gt, const float *valid, int h, int w,
                          float eps, float scale);

// ---- the true flow at SPyNet's levels ----
// gt [2,h,w], valid [h,w] -> gl[l] [2,lh,lw], vl[l] [lh,lw] for every level l (sv_spynet_sizes(h, w)): the
// finest level is gt resized as SPyNet resizes the frames (bilinear, its values scaled to the new pixels;
// a copy when h, w are multiples of SV_SPY_ALIGN) with valid where every source pixel is; each coarser level
// the 2 x 2 mean of the finer one, halved (its pixels are twice as large), valid where all four are.
void sv_flow_gt_levels(const float *gt, const float *valid, int h, int w, float *const *gl, float *const *vl);

// ---- a batch of synthetic sequences ----
typedef struct {
    sv_synth_params p;
    int nseq;
    sv_synth_seq *seq;    // nseq sequences of p.T frames, p.H x p.W
} sv_synth_batch;

// nseq sequences of T frames of size x size, the generator's defaults but for static_share (sv_synth_params).
int sv_synth_batch_alloc(sv_synth_batch *b, int nseq, int T, int size, double static_share, sv_err *e);
// Rank `rank`'s slice of a global batch of ranks x nseq sequences drawn from rng in turn: sequences
// rank x nseq .. (rank + 1) x nseq - 1 rendered into b from the photos, the other ranks' drawn but not
// rendered (sv_synth_skip), so rng ends where one process rendering all of them leaves it (rank 0 of 1:
// every sequence of b). 0 or -1.
int sv_synth_batch_render(sv_synth_batch *b, const sv_photo_set *ps, sv_rng *rng, int rank, int ranks, sv_err *e);
// 2 * nseq * (T - 1) pairs; pair q as above.
int sv_synth_batch_pairs(const sv_synth_batch *b);
// The pairs with at least one valid pixel (returned) and the valid pixels of all pairs (*nvalid).
int sv_synth_batch_used(const sv_synth_batch *b, long *nvalid);
void sv_synth_batch_pair(const sv_synth_batch *b, int q, const float **ref, const float **supp, const float **gt,
                         const float **valid);
void sv_synth_batch_free(sv_synth_batch *b);

// One training batch: every pair of b through spy (made for G pairs) in groups of at most G; loss = the sum,
// over the pairs that have valid pixels, of their loss above (eps SV_EPE_EPS, level weight w: 0 = the final
// flow only) divided by `used`: the mean when used is b's count of such pairs (sv_synth_batch_used); on
// several ranks that count over the global batch divided by the number of ranks, so that the ranks'
// average is the global batch's mean. grads (the model's flat block) += d(loss)/d(params). terms[4]: the
// exact EPE (eps 0), the zero flow's, mean |f| (px) (each summed over the pairs as the loss), the fraction
// of valid pixels. flows, dflows: scratch of [G,2,size,size].
int sv_flow_supervised_batch(sv_spytrain *spy, int G, const sv_synth_batch *b, float level_weight, double used,
                             float *flows, float *dflows, float *grads, double *loss, double *terms, sv_err *e);

// The synthetic streams of a run with seed `seed`: training draws from train_seed, evaluation from
// heldout_seed (a different stream, so the held-out sequences are never trained on).
uint64_t sv_flow_synth_train_seed(uint64_t seed);
uint64_t sv_flow_synth_heldout_seed(uint64_t seed);

// ---- held-out evaluation ----
typedef struct {
    double epe, epe_zero;   // mean over pairs of the exact EPE (eps 0) over valid pixels: model, zero flow
    double flow_mag;        // mean |f| in pixels
    long pairs;
} sv_flow_synth_eval_result;

// npairs (even, >= 2) pairs: npairs / 2 two-frame sequences of size x size rendered from ps with rng seeded
// by seed, both directions; pairs without valid pixels are skipped (not counted).
int sv_flow_eval_synth(const sv_model *m, const sv_photo_set *ps, int npairs, int size, uint64_t seed,
                       sv_flow_synth_eval_result *r, sv_err *e);
