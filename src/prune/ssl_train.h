// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// ssl_train.h: the two training phases of SSL (SSL-NOTES §2, §5) as pieces a training loop calls around
// its step, so that `train`'s loop, checkpoints and validation serve pruning unchanged.
//
// Sparsity learning. The loop trains the base model's weights W as usual, but the training graph runs
// on a copy whose weights are W' = apply(W, scales) (ssl.h):
//   sv_ssl_before_step   eff.params = apply(base.params, scales); lambda schedule
//   (the loop's forward/backward on eff, giving dL/dW')
//   sv_ssl_after_backward  dL/dW' -> dL/dW in place, and the data's dL/dscale
//   (on several ranks the loop averages dL/dW and dL/dscale over them)
//   sv_ssl_update        dL/dscale + the penalty's gradient (once, after the average), Adam on the scales
//   (the loop's Adam on W with the mapped gradient)
// Temporal finetuning. sv_tf_* hold a teacher (the dense model) run on the same batch; the student's
// training graph gets L_tf = weight * mean |H_student - H_teacher| over both branches, all frames and the
// student's hidden channels through its hidden-state loss hook (train/net.h). A student whose hidden state
// is as wide as the teacher's (ssl's RSC, l1-keep-last) is compared channel for channel; a narrower one
// (l1-aligned) through a map from each of its channels to the teacher channel it was kept from.
#pragma once
#include "core/error.h"
#include "io/safetensors.h"
#include "model/basicvsr.h"
#include "prune/ssl.h"
#include "train/net.h"

typedef struct {
    sv_units u;
    sv_model *base;   // the weights W being trained (not owned)
    sv_model eff;     // W' = apply(W, scales): the model the training graph runs on
    float *dscale, *adam_m, *adam_v;
    long step;
    int lambda_every;
    float lambda_step, lambda_max;
    double last_penalty;
} sv_ssl_state;

// Units of base with the chosen ones marked: copied from `pruned` (u.nunits flags) when given, else
// chosen by sel on scores (L1 of the weights, or |scale|); eff is base's copy.
int sv_ssl_begin(sv_ssl_state *s, sv_model *base, const sv_select_opts *sel, int score_by_scale,
                 const unsigned char *pruned, sv_err *e);
// The state a resumed run needs (scales, their Adam moments, lambdas, the choice, the step count) as
// tensors "prune.*" and metadata "prune" of a checkpoint, and back.
int sv_ssl_save(const sv_ssl_state *s, sv_tensor_set *ts, sv_err *e);
int sv_ssl_restore(sv_ssl_state *s, sv_tensor_set *ts, const char *what, sv_err *e);
int sv_ssl_before_step(sv_ssl_state *s, long iter, sv_err *e);
// grads: dL/dW' on entry (laid out as params), dL/dW on return; dscale: the data's dL/dscale.
int sv_ssl_after_backward(sv_ssl_state *s, float *grads, sv_err *e);
// Adds the penalty's gradient to dscale and moves the scales with Adam at lr.
void sv_ssl_update(sv_ssl_state *s, double lr);
void sv_ssl_end(sv_ssl_state *s);

typedef struct {
    sv_trainnet *teacher;  // the dense model's graph, same batch shape
    float weight;
    double last;           // L_tf of the last step (without the weight)
    double count;          // state entries over both branches, all frames and the student's channels (the
                           // mean's divisor), set by sv_tf_prepare
    int seq;
    const int *map[2];     // per branch (SV_BRANCH_*): the teacher channel of each student channel, or NULL
                           // (not owned): the same channels; set after sv_tf_begin
    int sc, tc, h, w, blk; // the student's and the teacher's channels, the map's layout (sv_tf_prepare)
} sv_tf_state;

int sv_tf_begin(sv_tf_state *t, const sv_model *teacher, const sv_net_cfg *c, float weight, sv_err *e);
// Runs the teacher on the batch and attaches the L_tf hook to the student's graph.
int sv_tf_prepare(sv_tf_state *t, sv_trainnet *student, const float *lr, sv_err *e);
void sv_tf_end(sv_tf_state *t);
