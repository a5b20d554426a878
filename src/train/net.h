// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// net.h: BasicVSR training graph: forward over a batch of clips with saved activations, Charbonnier loss,
// and backpropagation through time over both propagation branches, the warps and SPyNet.
//
// One step over clips x[b][0..T-1] (LR patches h x w) and targets y[b][0..T-1] (4h x 4w):
//   1. flows for every neighbour pair (batched SPyNet):  flow_b[i] = spy(x_i, x_{i+1}), flow_f[i] = spy(x_{i+1}, x_i)
//   2. backward branch i = T-1..0 and forward branch i = 0..T-1 (SSL-NOTES §1), keeping per frame the
//      trunk input cat[x_i, warp(h)] and the residual blocks' inputs x_b and mid activations t_b
//      (with recompute = k: only every k-th x_b; the rest is recomputed segment by segment in backward)
//   3. per frame: reconstruction, loss and its backward at once (the 4x-resolution activations of one
//      frame are all that is ever held), giving dB_i and dF_i
//   4. BPTT: forward branch i = T-1..0 (each warp passes its gradient to F_{i-1} and flow_f[i-1]), then the
//      backward branch i = 0..T-1 (to B_{i+1} and flow_b[i])
//   5. SPyNet backward for every pair, when trained: of the forward's activations when every pair of both
//      directions fits one call (SPY_KEEP_PAIRS in net.c; batch 2 x 7 frames does), else recomputing the
//      forward pair group by pair group.
// A zero-flow model (sv_model.flow) skips 1 and 5: each warp is the identity (forward: the previous state is
// copied into cat; backward: its gradient goes straight into the previous state's), SPyNet's gradients stay 0.
// A uni model (sv_model.dir) has no backward branch: 2 and 4 run the forward branch only, 1 and 5 only its
// flows (flow_f), and the reconstruction reads F_i alone.
// Gradients accumulate (+=) into a flat block that mirrors sv_model.params.
#pragma once
#include <stddef.h>

#include "core/error.h"
#include "model/basicvsr.h"

typedef struct {
    int batch, seq;   // clips per step, frames per clip
    int h, w;         // LR patch size
    int recompute;    // 0: keep every activation; k > 0: keep every k-th block input, recompute the rest
    int reference;    // 1: naive convs in plain CHW (tests); 0: fast convs in the blocked layout
    int spy_group;    // SPyNet pairs per batched call (0: 16)
} sv_net_cfg;

typedef struct sv_trainnet sv_trainnet;

sv_trainnet *sv_trainnet_create(const sv_model *m, const sv_net_cfg *c, sv_err *e);
// lr: batch*seq frames [3,h,w], gt: batch*seq frames [3,4h,4w] (clip b frame t at index b*seq+t), CHW in
// [0,1]. *loss = mean Charbonnier (eps 1e-12) over every output element. When grads is not NULL,
// grads += dloss/dparams (SPyNet's part only when train_spynet; otherwise the flows are constants).
int sv_trainnet_step(sv_trainnet *t, const float *lr, const float *gt, float *grads, int train_spynet, double *loss,
                     sv_err *e);
// Forward of SPyNet and both branches only (no reconstruction, no loss): the hidden states a teacher
// model provides for temporal finetuning.
int sv_trainnet_forward_states(sv_trainnet *t, const float *lr, sv_err *e);
// The hidden state of frame i of a branch (SV_BRANCH_BACKWARD: B_i, SV_BRANCH_FORWARD: F_i) after the last
// step or forward: batch feature maps back to back, *n floats in all, in the net's layout. NULL (*n 0) for
// SV_BRANCH_BACKWARD of a uni model.
const float *sv_trainnet_state(const sv_trainnet *t, int branch, int frame, size_t *n);
// The layout of one sample's hidden state: channels, rows, columns and channel block (core/layout.h).
void sv_trainnet_state_shape(const sv_trainnet *t, int *c, int *h, int *w, int *blk);
// An extra loss on the hidden states (temporal finetuning, SSL-NOTES §5). Called during sv_trainnet_step
// for every branch and frame once both branches have run: returns its loss term (added to *loss) and adds
// its gradient to dstate (same shape as state; NULL when the step computes no gradients). NULL removes it.
typedef double (*sv_state_loss_fn)(void *ud, int branch, int frame, const float *state, float *dstate, size_t n);
void sv_trainnet_set_state_loss(sv_trainnet *t, sv_state_loss_fn fn, void *ud);

// Bytes of activations and buffers (what sv_trainnet_create allocated, or would allocate).
size_t sv_trainnet_bytes(const sv_trainnet *t);
size_t sv_trainnet_estimate(const sv_model *m, const sv_net_cfg *c);
void sv_trainnet_free(sv_trainnet *t);
