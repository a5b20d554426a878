// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// flow_train.h: unsupervised pretraining of SPyNet (`slimvsr train-flow`), for a BasicVSR trained from
// scratch where no pretrained SPyNet exists.
//
// Per ordered pair of neighbouring LR frames (ref, supp), f = spynet(ref, supp) is the flow that warps supp
// onto ref (the convention of BasicVSR's propagation, train/net.h). The loss of the pair is built from
//   photo  = mean over [3,h,w] of rho(ref - warp_border(supp, f))
//   smooth = mean over the 2 * (h*(w-1) + (h-1)*w) first differences of f (x and y, both channels) of rho(diff)
//   rho(d) = sqrt(d^2 + SV_FLOW_EPS)  (Charbonnier)
// as photo summed over a pyramid of scales, plus lambda * smooth (sv_flowloss below).
// Border padding, no mask: a sample that falls outside the patch takes the nearest edge pixel, and a clamped
// coordinate has no gradient (ops.h), so an out-of-patch pixel costs a constant instead of pulling its flow
// anywhere. Zero padding would compare a black pixel with the real content that lies outside the patch and
// push correct flows at the edges inward; a validity mask makes "point everything outside" a zero-loss
// solution and makes the photometric errors of two different flows incomparable. Border is also how
// SPyNet warps inside its own pyramid.
//
// Both directions of every neighbour pair are used. Only SPyNet's parameters (the first part of the model's
// flat block) are trained, with Adam and cosine annealing; the rest of the model stays as initialised (or as
// --init gave it), so RUN_DIR/model.safetensors is a whole BasicVSR for `slimvsr train --init`.
#pragma once
#include <stdint.h>

#include "core/error.h"
#include "model/basicvsr.h"
#include "train/loop.h"
#include "train/run_opts.h"

#define SV_FLOW_EPS 1e-6f

// ---- the loss and its gradient with respect to the flow ----
// ref, supp [3,h,w], flow [2,h,w] (channel 0 = dx, 1 = dy, pixels), all plain CHW.
// warped [3,h,w] receives warp_border(supp, flow). Returns photo.
double sv_flow_photo_forward(float *warped, const float *ref, const float *supp, const float *flow, int h, int w);
// dflow [2,h,w] += scale * d(photo)/d(flow). warped is the forward's output; dwarp [3,h,w] is scratch.
void sv_flow_photo_backward(float *dflow, float *dwarp, const float *warped, const float *ref, const float *supp,
                            const float *flow, int h, int w, float scale);
// Returns smooth (0 when there are no differences: h = w = 1).
double sv_flow_smooth_forward(const float *flow, int h, int w);
// dflow [2,h,w] += scale * d(smooth)/d(flow).
void sv_flow_smooth_backward(float *dflow, const float *flow, int h, int w, float scale);

// ---- the multi-scale loss of one pair ----
// Bilinear warping sees only about a pixel around each sample, while neighbouring LR frames of Vimeo-90K
// move by 2-3 pixels; so the photometric term is summed over a pyramid of the images and of the flow:
//   L = sum_{s < nscales} photo(P^s ref, P^s supp, P^s f / 2^s) + lambda * smooth(f)
// P = 2x2 average pooling (floor, ops.h), so that at scale s a motion of d pixels is one of d / 2^s.
// Scales stop early where a side would drop below 2 pixels.
typedef struct sv_flowloss sv_flowloss;
sv_flowloss *sv_flowloss_create(int h, int w, int nscales, sv_err *e);
int sv_flowloss_scales(const sv_flowloss *l);
// Returns L for one pair; photo0/smooth (may be NULL) get the full-resolution photo and smooth. When dflow
// is not NULL: dflow [2,h,w] += scale * dL/dflow.
double sv_flowloss_pair(sv_flowloss *l, const float *ref, const float *supp, const float *flow, float lambda,
                        float scale, float *dflow, double *photo0, double *smooth);
void sv_flowloss_free(sv_flowloss *l);

// ---- training (flow_step.c: a step of the training loop, train/loop.h) ----
// RUN_DIR (created if missing) holds, written atomically at every checkpoint:
//   model.safetensors  the whole BasicVSR with the SPyNet trained so far
//   state.safetensors  the model, SPyNet's Adam moments and, in the metadata "flowtrain", the iteration, the
//                      data sampler's position, the synthetic rng (supervised) and the options (what --resume
//                      needs)
//   log.jsonl          per logged step: iter, loss (the multi-scale total), photo (full resolution), smooth,
//                      photo_zero (the photometric error of the zero flow on the same pairs), flow_mag (mean
//                      |f| in pixels), lr, seconds; means over the pairs since the previous line. Supervised:
//                      loss (EPE with eps), epe, epe_zero (the zero flow's), flow_mag, valid (fraction of
//                      valid pixels), and at every checkpoint heldout_epe, heldout_epe_zero (eval_pairs
//                      held-out pairs, sv_flow_eval_synth with sv_flow_synth_heldout_seed(seed))
//   .lock              the run's advisory lock, as for train (run_lock.h)
// As for train, RUN_DIR is never an input and a start that fails leaves nothing.
typedef struct {
    sv_run_opts run;       // data, out, init (a model whose SPyNet is trained further), the model's shape,
                           // iters, lr, batch, seq, patch, log, seed (data sampling, and the random model:
                           // same seed, same model as `slimvsr train`)...
    double smooth;         // lambda
    int scales;            // pyramid scales of the photometric term (default 4)
    long warmup;           // iterations of linear learning-rate warm-up (default 20): Adam's first steps move
                           // every weight by about lr, and the flow sums six levels doubled at each upsampling
    int zero_head;         // zero the last conv of every SPyNet level first: 1 yes, 0 no, -1 (default) when the
                           // model is random (no --init) and the loss photometric. A random SPyNet's flows are
                           // pixels off (its biases add up over the levels, doubled at each upsampling), too far
                           // for the bilinear photometric gradient to see; zeroed heads start from the zero
                           // flow. The supervised loss sees any error, and zeroed heads learnt slower there (a
                           // 200-step test run did not get below the zero flow with them, did without).
    int group;             // pairs per batched SPyNet call (0: 16)
    long ckpt_every;
    // Supervised (flow_supervised.h): the loss is the end-point error against the exact flow of synthetic
    // sequences rendered every iteration from the photos (batch sequences of seq frames at the patch size,
    // from their own rng stream, saved in the state); --data is still read by the loop but not trained on.
    int supervised;        // 1: supervised, 0 (default): the unsupervised loss above
    const char *photos;    // the folder of photos (JPEG or PNG, sub-folders too); needed by supervised
    int eval_pairs;        // held-out synthetic pairs for the EPE reported at every checkpoint (default 64)
    double level_weight;   // weight of the coarser levels' EPE terms (flow_supervised.h; default 1, 0: the
                           // final flow only)
    double static_share;   // share of synthetic layers that stay still (sv_synth_params; default 0: from
                           // scratch, still layers pulled every flow to zero; for a second stage)
} sv_flowtrain_opts;

void sv_flowtrain_opts_default(sv_flowtrain_opts *o);
// The learning rate `train-flow --supervised` uses unless --lr is given (the default 3e-3 is the unsupervised
// loss's: supervised at 3e-3 the flow stayed at zero for 200 steps, docs/flow-pretraining.md).
#define SV_FLOW_SUPERVISED_LR 1e-3
// Zeroes the weights and bias of the last conv of every SPyNet level: the flow becomes exactly zero.
void sv_flow_zero_head(sv_model *m);
// Runs (or resumes, o->run.resume) a train-flow run. Returns 0, or -1 with a message naming the file or
// option at fault; res (may be NULL) tells how far it got.
int sv_flow_train(const sv_flowtrain_opts *o, sv_train_result *res, sv_err *e);

// ---- evaluation ----
// Mean |f| over the pixels of a flow [2,h,w].
double sv_flow_magnitude(const float *flow, int h, int w);
// Mean photometric error (photo above) over every ordered neighbour pair of whole frames, for the zero flow
// and for the model's SPyNet. Each source is one clip (a folder of PNG frames or a video) or a folder whose
// sub-folders / video files are clips. max_frames > 0: only the first N frames of each clip.
// photo_translation: the error of the best single translation per pair (sv_flow_best_translation), the
// yardstick of issue 16: a flow should remove at least half of what it removes from photo_zero.
typedef struct {
    double photo_zero, photo_model, photo_translation, smooth_model, flow_mag;  // flow_mag: mean |f| in pixels
    long pairs;
    int clips;
} sv_flow_eval_result;

// Whole-pixel translations searched (each axis, both signs), then refined to 1/16 pixel: the LR motion of
// neighbouring frames that BasicVSR meets (docs/synthetic-motion.md).
#define SV_FLOW_TRANS_RANGE 8
// The photometric error (photo above) of the best single translation of supp onto ref, the flow that is
// (*dx, *dy) everywhere: a grid over whole pixels within SV_FLOW_TRANS_RANGE, then two finer grids (1/4 and
// 1/16 pixel, 7 x 7 each) around the best so far. flow [2,h,w] and warped [3,h,w] are scratch.
double sv_flow_best_translation(const float *ref, const float *supp, int h, int w, float *flow, float *warped,
                                float *dx, float *dy);

int sv_flow_eval(const sv_model *m, const char *const *sources, int nsources, int max_frames,
                 sv_flow_eval_result *r, sv_err *e);
