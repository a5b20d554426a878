// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// spynet_train.h: SPyNet (SSL-NOTES §1) forward with saved activations and its backward, for a batch of
// image pairs, so that the flow learns from the VSR loss (gradients reach SPyNet through the warps).
//
// Per pair: ref, supp [3,h,w] -> pyramids (no gradient: the images are data) -> per level l, coarse to fine:
//   up_l   = upsample(flow_{l-1})                               [2,lh,lw]  (zero at l = 0)
//   in8_l  = cat[ref_l, warp_border(supp_l, up_l), up_l]        [8,lh,lw]
//   a1..a4 = relu(conv_j(...)), res = conv_4(a4)                32, 64, 32, 16, 2 channels, 7x7
//   flow_l = res + up_l
// flow = resize(flow_5, h x w) * (w/sw, h/sh). Backward runs the same chain in reverse: the flow's gradient
// reaches a level's up_l three ways (the added skip, in8's last two channels, and the border warp's
// coordinates), then the coarser level through the upsampling.
#pragma once
#include "core/error.h"
#include "model/basicvsr.h"

typedef struct sv_spytrain sv_spytrain;

// Up to max_pairs pairs of h x w frames per call; blk: feature layout of the convs (1, 8, 16).
sv_spytrain *sv_spytrain_create(const sv_model *m, int h, int w, int max_pairs, int blk, int reference, sv_err *e);
// flow[p] [2,h,w] (plain CHW) = spynet(ref[p], supp[p]) for p < np; keeps the activations for backward.
int sv_spytrain_forward(sv_spytrain *s, const float *const *ref, const float *const *supp, int np,
                        float *const *flow, sv_err *e);
// grads (the model's flat gradient block, mirrors m->params) += d/dparams of sum_p <dflow[p], flow[p]>,
// for the np pairs of the last forward.
int sv_spytrain_backward(sv_spytrain *s, const float *const *dflow, int np, float *grads, sv_err *e);
// Deep supervision: as sv_spytrain_backward (dflow may be NULL: no gradient on the final flow), plus dlevel
// (may be NULL; else SV_SPY_LEVELS entries, each NULL or [np][2,lh,lw]): the gradient of each level's flow
// (sv_spytrain_level_flow) added where the backward reaches that level.
int sv_spytrain_backward_levels(sv_spytrain *s, const float *const *dflow, const float *const *dlevel, int np,
                                float *grads, sv_err *e);
// Level l's flow of pair p < np of the last forward, [2,lh,lw] plain CHW in level-l pixels; *h, *w get its
// size (the finest level, SV_SPY_LEVELS - 1, is sv_spynet_sizes' sh x sw: the final flow is its resize).
const float *sv_spytrain_level_flow(const sv_spytrain *s, int l, int p, int *h, int *w);
size_t sv_spytrain_bytes(const sv_spytrain *s);
// What sv_spytrain_create would allocate (sv_spytrain_bytes of it), without allocating: memory checks.
size_t sv_spytrain_estimate(const sv_model *m, int h, int w, int max_pairs, int blk);
void sv_spytrain_free(sv_spytrain *s);
