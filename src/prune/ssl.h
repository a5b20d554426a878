// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// ssl.h: the pieces of Structured Sparsity Learning (SSL-NOTES §2-4) that act on a model: prunable
// units and their scaling factors, unit scores and selection, the scales' effect on the weights and their
// gradient, the growing L2 penalty, and the physical cut into a smaller model with RSC index lists.
//
// Prunable units ("unit layers"), never SPyNet, a trunk's first conv or conv_last:
//   trunk conv1   OUT  one gamma per filter (its mid channel)     and IN one beta per input channel (S)
//   trunk conv2   OUT  one gamma per filter (K2: where the residual is scattered into the hidden state)
//   fusion        OUT  per filter (upconv1 loses the matching input channel)
//   upconv1/2     OUT4 one gamma per group of 4 consecutive filters (one channel after the pixel shuffle;
//                      the next conv loses that input channel)
//   conv_hr       OUT  per filter (conv_last loses the input channel)
// With scales, a conv computes gamma_o * (W * (beta * x) + b)_o, i.e. it is the plain conv with
//   W'[o,i] = gamma_o * beta_i * W[o,i],  b'_o = gamma_o * b_o
// so training with scales is training the plain network on W' (sv_units_apply) and mapping the gradient
// back (sv_units_backward): the training graph needs no change.
#pragma once
#include <stddef.h>

#include "core/error.h"
#include "model/basicvsr.h"

typedef enum { SV_UNIT_OUT = 0, SV_UNIT_OUT4 = 1, SV_UNIT_IN = 2 } sv_unit_kind;

typedef struct {
    char name[80];          // e.g. "backward_trunk.main.2.3.conv1" (+ " in" for IN units)
    int conv;               // index into sv_model_layers() order
    sv_layer_kind conv_kind;  // what that conv is
    sv_unit_kind kind;
    int n;                  // units in this layer
    size_t off;             // its first unit in the flat arrays below
} sv_unit_layer;

typedef struct {
    int nlayers;
    sv_unit_layer *layers;
    size_t nunits;
    float *scale;           // gamma / beta per unit (1 at start)
    float *score;           // importance (sv_units_score_*)
    float *lambda;          // penalty strength per unit (0 for kept units)
    unsigned char *pruned;  // 1: chosen to be pruned
    // per conv of the model (sv_model_layers order): its OUT/OUT4 and IN unit layer, or -1
    int nconvs;
    int *out_layer, *in_layer;
} sv_units;

// Lists the unit layers of m (a dense or already pruned model); scales 1, nothing chosen.
int sv_units_build(sv_units *u, sv_model *m, sv_err *e);
void sv_units_free(sv_units *u);

// Scores: the L1 norm of each filter, of each group of 4 filters, or of each input channel's kernels
// (all output filters) — of the effective weights W' (scales applied) — divided by its number of weights
// (so that one global threshold treats wide and narrow layers alike); or |scale|.
void sv_units_score_l1(sv_units *u, sv_model *m);
void sv_units_score_scale(sv_units *u);

typedef struct {
    double ratio;   // fraction of the prunable units to prune, in (0, 1)
    int global;     // 1: one threshold over all units pooled (SSL-NOTES §2); 0: the same ratio in every layer
    int round;      // keep a multiple of this many units per layer (1, 8, 16): channel counts SIMD likes
    int only_filters;  // 1: leave every conv1's inputs (S) and conv2's filters (K2) whole: the baselines
                       // l1-keep-last, and l1-aligned (which prunes the hidden state separately)
    int recon_own;       // 0: the reconstruction's units (fusion, upconvs, conv_hr) are chosen with the
                         // trunk's as above; 1: instead recon_ratio (in [0, 1)) of each of its layers, lowest
    double recon_ratio;  // score first, so that schemes that differ in the trunk cut the reconstruction alike
} sv_select_opts;

// Whether a unit layer belongs to the reconstruction (fusion, upconv1/2, conv_hr) rather than the trunks.
int sv_unit_layer_is_recon(const sv_unit_layer *l);
// Marks units to prune by score (lowest first). At least one unit per layer is kept (and, with round r,
// a multiple of r, or the whole layer when it has fewer than r units). Returns the number chosen.
long sv_units_select(sv_units *u, const sv_select_opts *o, sv_err *e);

// dst (a parameter block laid out as m->params) = m's weights with the scales applied.
int sv_units_apply(const sv_units *u, sv_model *m, float *dst, sv_err *e);
// Given grads = dL/dW' (laid out as m->params), turns it in place into dL/dW and adds dL/dscale to dscale.
int sv_units_backward(const sv_units *u, sv_model *m, float *grads, float *dscale, sv_err *e);
// The penalty 0.5 * sum_j lambda_j * scale_j^2: returns it and adds lambda_j * scale_j to dscale.
double sv_units_penalty(const sv_units *u, float *dscale);
// The schedule of SSL-NOTES §2: every `every` iterations each chosen unit's lambda grows by `step` up to
// `max` (1e-4, 5, 0.1 in the paper). Call once per iteration with the iteration count done so far.
void sv_units_lambda_step(sv_units *u, long iter, int every, float step, float max);
// Norms of the chosen and of the kept units' scales (so the collapse can be logged).
void sv_units_scale_norms(const sv_units *u, double *chosen, double *kept);

// The aligned baseline: L1 score of each hidden channel of a branch (its conv_first filter and every
// block's conv2 filter writing it), and the cut that drops hidden_pruned[branch][c] channels from the
// skip path and every block of that branch (both branches must keep as many). m must have no RSC lists.
void sv_hidden_scores(sv_model *m, int branch, float *score);
int sv_prune_cut_aligned(const unsigned char *const hidden_pruned[2], sv_model *m, sv_model *out, sv_err *e);

// In canonical tensors s, replaces LAYER.weight [cout, cin, k, k] and LAYER.bias by their rows out[0..nout)
// and columns in[0..nin) (both cuts use it).
int sv_prune_reslice(sv_tensor_set *s, const char *layer, const int *out, int nout, const int *in, int nin,
                     sv_err *e);
// Folds the scales into m's weights (W = W', scales = 1).
int sv_units_fold(sv_units *u, sv_model *m, sv_err *e);
// Builds the physically smaller model: every pruned unit cut out (and the inputs of the layers after
// it), residual blocks with their own S and K2 index lists. m must already be folded.
int sv_prune_cut(const sv_units *u, sv_model *m, sv_model *out, sv_err *e);
