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
// and the step's loss is the mean over pairs that have valid pixels. Why the final flow and not SPyNet's
// multi-level loss (each level's flow against the pooled true flow): the final flow is the only thing
// BasicVSR's propagation consumes, and since each level's flow is the upsampled coarser one plus a residual,
// the final EPE's gradient reaches every level (through the skip of spynet_train.h) and lets the levels
// share the work as suits them; a per-level target would force each coarse level towards a pooled flow that
// is wrong at motion boundaries and occlusions (pooling mixes layers) and needs masks pooled too. It is also
// what train/spynet_train.h offers (the final flow only): a multi-level loss would need per-level outputs
// from it. The EPE (not its square) is robust: each pixel's gradient has length <= 1, so a few large
// errors (fast layers early in training) do not dominate; eps (SV_EPE_EPS, px^2) makes it smooth at 0.
#pragma once
#include <stdint.h>

#include "core/error.h"
#include "model/basicvsr.h"
#include "train/rng.h"
#include "train/spynet_train.h"
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

// ---- photos ----
// Training shrinks the photos to a longer side of at most this many times the LR patch side: a texture is
// sampled at about one texel per frame pixel, so more resolution is never seen; 4x leaves room for the
// zoom and the choice of crop, and bounds memory (200 photos of 256 px: 39 MB).
#define SV_PHOTO_SIDE_PER_PATCH 4
typedef struct {
    sv_synth_image *v;    // n photos (their rgb owned here)
    int n;
} sv_photo_set;

// Every .jpg, .jpeg and .png (any case, not starting with '.') under dir, sub-folders included (at most 16
// levels), in strcmp order of their paths, each read through io/frames.h (libav) and shrunk by an integer
// area average so that its longer side is at most max_side (0: not shrunk). Returns 0, or -1 with a
// message naming the folder (no photos) or the photo (unreadable, corrupt, smaller than 8 x 8).
int sv_photos_load(sv_photo_set *ps, const char *dir, int max_side, sv_err *e);
void sv_photos_free(sv_photo_set *ps);

// ---- a batch of synthetic sequences ----
typedef struct {
    sv_synth_params p;
    int nseq;
    sv_synth_seq *seq;    // nseq sequences of p.T frames, p.H x p.W
} sv_synth_batch;

int sv_synth_batch_alloc(sv_synth_batch *b, int nseq, int T, int size, sv_err *e);
// Renders every sequence from the photos, drawing from rng. 0 or -1.
int sv_synth_batch_render(sv_synth_batch *b, const sv_photo_set *ps, sv_rng *rng, sv_err *e);
// 2 * nseq * (T - 1) pairs; pair q as above.
int sv_synth_batch_pairs(const sv_synth_batch *b);
void sv_synth_batch_pair(const sv_synth_batch *b, int q, const float **ref, const float **supp, const float **gt,
                         const float **valid);
void sv_synth_batch_free(sv_synth_batch *b);

// One training batch: every pair of b through spy (made for G pairs) in groups of at most G; loss = the mean,
// over the P' pairs that have valid pixels, of their epe (eps SV_EPE_EPS); grads (the model's flat block)
// += d(loss)/d(params). terms[4]: the exact EPE (eps 0), the zero flow's, mean |f| (px), the fraction of
// valid pixels. flows, dflows: scratch of [G,2,size,size].
int sv_flow_supervised_batch(sv_spytrain *spy, int G, const sv_synth_batch *b, float *flows, float *dflows,
                             float *grads, double *loss, double *terms, sv_err *e);

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
