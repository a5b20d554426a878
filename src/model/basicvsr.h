// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// basicvsr.h: the BasicVSR x4 model (SSL-NOTES §1) as data: one flat parameter block, named views into
// it, and the per-layer channel counts and per-block RSC index lists that pruning produces (§3, §4).
//
// A dense model has every block's index lists NULL (all C channels, in order). A pruned model has, per
// residual block, S (kept input channels of conv1, conv1.cin entries) and K2 (kept filters of conv2,
// conv2.cout entries, scattered back into the C-channel hidden state); fusion/upconv/conv_hr may have
// fewer channels, which the next layer's cin follows.
#pragma once
#include <stddef.h>

#include "core/error.h"
#include "core/tensor_set.h"

typedef struct {
    int cin, cout, k;   // weight [cout, cin, k, k] (PyTorch OIHW), bias [cout]
    float *w, *b;       // views into sv_model.params
} sv_conv_layer;

typedef struct {
    sv_conv_layer conv1, conv2;  // conv1: |S| -> mid, ReLU; conv2: mid -> |K2|
    int *in_idx;                 // S, conv1.cin entries; NULL = all C channels in order
    int *out_idx;                // K2, conv2.cout entries; NULL = all C channels in order
} sv_resblock;

typedef struct {
    sv_conv_layer conv_first;    // cat[x (3), h (C)] -> C, then act
    sv_resblock *blocks;         // num_block
} sv_trunk;

enum { SV_SPY_LEVELS = 6, SV_SPY_CONVS = 5 };
// The upscaling factor: two pixel-shuffle x2 stages (upconv1, upconv2), so HR is 4x LR in each direction.
enum { SV_SCALE = 4 };
// SPyNet resizes its inputs to a multiple of SV_SPY_ALIGN (2^(SV_SPY_LEVELS-1): five halvings stay whole);
// its widest layer has SV_SPY_WIDEST channels (8-32-64-32-16-2).
enum { SV_SPY_ALIGN = 32, SV_SPY_WIDEST = 64 };
static inline int sv_spy_aligned(int n) { return (n + SV_SPY_ALIGN - 1) / SV_SPY_ALIGN * SV_SPY_ALIGN; }
enum { SV_BRANCH_BACKWARD = 0, SV_BRANCH_FORWARD = 1 };
// The widest hidden state a model file may declare (num_feat).
enum { SV_MAX_FEAT = 4096 };

// BasicVSR's activation (trunk conv_first and the reconstruction): LeakyReLU with this slope, as BasicSR and
// MMagic train it, or ReLU (slope 0, the SSL release). sv_act_name gives its name in the metadata
// ("leaky_relu_0.1" or "relu"); sv_act_parse reads it back (-1: not one of the two).
#define SV_LEAKY_SLOPE 0.1f
const char *sv_act_name(float slope);
int sv_act_parse(const char *name, float *slope);

// The flow that aligns each branch's previous hidden state onto the current frame: SPyNet's (BasicVSR), or
// zero (no alignment, issue 16: SPyNet never runs and the warp is the identity; its weights stay in the
// parameter block, unused, so a model can be switched either way). sv_flow_name gives its name in the
// metadata ("spynet" or "zero"); sv_flow_parse reads it back (-1: neither).
typedef enum { SV_FLOW_SPYNET = 0, SV_FLOW_ZERO = 1 } sv_flow_kind;
const char *sv_flow_name(sv_flow_kind flow);
int sv_flow_parse(const char *name, sv_flow_kind *flow);

// The propagation (issue 17 item 4): both branches (BasicVSR), or the forward branch alone (SV_DIR_UNI,
// "BasicVSR-uni": no backward_trunk, zero look-ahead: frame i's output depends on frames 0..i only). The
// reconstruction of a uni model reads F_i alone: fusion is a 1x1 conv C -> C (not 2C -> C), the rest as
// BasicVSR's. sv_direction_name gives its name in the metadata ("bi" or "uni"); sv_direction_parse reads it
// back (-1: neither).
typedef enum { SV_DIR_BI = 0, SV_DIR_UNI = 1 } sv_direction;
const char *sv_direction_name(sv_direction dir);
int sv_direction_parse(const char *name, sv_direction *dir);

typedef struct {
    int num_feat, num_block;
    float act_slope;   // activation of trunk conv_first and the reconstruction: SV_LEAKY_SLOPE or 0 (ReLU)
    sv_flow_kind flow; // SV_FLOW_SPYNET (0, the default) or SV_FLOW_ZERO
    sv_direction dir;  // SV_DIR_BI (0, the default) or SV_DIR_UNI (trunk[SV_BRANCH_BACKWARD] then unused: no
                       // weights, its blocks zeroed)
    float *params;     // one flat block holding every weight and bias
    size_t nparams;
    int *indices;      // one flat block holding every RSC index list (NULL when dense)
    size_t nindices;
    float spy_mean[3], spy_std[3];
    sv_conv_layer spynet[SV_SPY_LEVELS][SV_SPY_CONVS];  // level 0 = coarsest; 8-32-64-32-16-2, 7x7
    sv_trunk trunk[2];                                   // SV_BRANCH_BACKWARD, SV_BRANCH_FORWARD
    sv_conv_layer fusion, upconv1, upconv2, conv_hr, conv_last;
} sv_model;

// Whether the model runs SPyNet (its flow is SPyNet's, not zero).
static inline int sv_uses_spynet(const sv_model *m) { return m->flow == SV_FLOW_SPYNET; }
// Whether the model is forward-only (SV_DIR_UNI), and its first branch: the branches it has are
// sv_first_branch(m) .. SV_BRANCH_FORWARD.
static inline int sv_is_uni(const sv_model *m) { return m->dir == SV_DIR_UNI; }
static inline int sv_first_branch(const sv_model *m) { return sv_is_uni(m) ? SV_BRANCH_FORWARD : SV_BRANCH_BACKWARD; }
// The branches: 2, or 1 for a uni model. Fusion reads one hidden state per branch (cat[B_i, F_i], or F_i
// alone), and SPyNet runs once per branch for each pair of neighbouring frames.
static inline int sv_branches(const sv_model *m) { return sv_is_uni(m) ? 1 : 2; }

// The model's topology, named once: what each conv is, where it sits and which conv feeds it.
typedef enum {
    SV_LAYER_SPYNET,      // SPyNet level `level`, conv `spy` (0..4): 7x7, sv_spy_width[spy] -> [spy + 1]
    SV_LAYER_FIRST,       // a trunk's conv_first: cat[x (3), h (C)] -> C, 3x3
    SV_LAYER_CONV1,       // residual block conv1: |S| (gathered from the C-channel hidden state) -> mid, ReLU
    SV_LAYER_CONV2,       // residual block conv2: mid -> |K2| (scattered back into the hidden state)
    SV_LAYER_FUSION,      // 1x1: cat[backward h (C), forward h (C)] -> C; a uni model's: forward h (C) -> C
    SV_LAYER_UPCONV1,     // C -> SV_SHUFFLE_GROUP C, then pixel shuffle x2
    SV_LAYER_UPCONV2,     // -> SV_SHUFFLE_GROUP SV_HR_FEAT, then pixel shuffle x2
    SV_LAYER_CONV_HR,     // SV_HR_FEAT -> SV_HR_FEAT
    SV_LAYER_CONV_LAST,   // SV_HR_FEAT -> 3
} sv_layer_kind;

// SPyNet's widths, conv j reads sv_spy_width[j] channels and writes sv_spy_width[j + 1] (8-32-64-32-16-2).
extern const int sv_spy_width[SV_SPY_CONVS + 1];
// A pixel shuffle x2 turns each group of SV_SHUFFLE_GROUP (2 x 2) consecutive channels into one channel.
// The HR part of the reconstruction (upconv2's shuffled output, conv_hr) is SV_HR_FEAT wide whatever C is.
enum { SV_SHUFFLE_GROUP = 4, SV_HR_FEAT = 64 };

// One conv layer of the model with its canonical (BasicSR) name, e.g. "backward_trunk.main.2.3.conv1".
typedef struct {
    char name[64];
    sv_conv_layer *conv;   // NULL for block layers when the model has no blocks allocated yet
    sv_layer_kind kind;
    int is_spynet;         // kind == SV_LAYER_SPYNET
    int branch;            // trunk layers (FIRST, CONV1, CONV2): SV_BRANCH_*; else -1
    int block;             // CONV1, CONV2: the residual block; else -1
    int level, spy;        // SPYNET: pyramid level (0 = coarsest) and conv 0..4; else -1
    int feeder;            // the layer (index in this table) whose output channels are exactly this conv's
                           // input channels, or -1: the input is images, flows, the hidden state or a concat
    int shuffled;          // 1: the feeder's output reaches this conv through a pixel shuffle x2
    int states;            // FUSION: the hidden states it reads (sv_branches: 2, or 1 in a uni model); else 0
} sv_layer_ref;

// Lists every conv layer in canonical order; returns the count (n may be 0 to only count). Names, kinds
// and feeders need only m->num_block and m->dir (a uni model has no backward_trunk layers); conv pointers of
// blocks need m->trunk[].blocks.
int sv_model_layers(sv_model *m, sv_layer_ref *out, int n);
// The weight shape [cout, cin, k, k] of layer L in the dense BasicVSR with C features.
void sv_layer_dense_shape(const sv_layer_ref *L, int C, int *cin, int *cout, int *k);

// BasicSR's layer names, built only by these (layers.c; each returns snprintf's count; >= n means truncated):
//   the branch            "backward_trunk" | "forward_trunk"          (branch: SV_BRANCH_*)
//   a trunk's conv_first  "backward_trunk.main.0"
//   a residual block      "backward_trunk.main.2.K" + suffix          (suffix "", ".conv1", ".conv2", or NULL)
//   a SPyNet conv         "spynet.basic_module.L.basic_module.2J"
const char *sv_branch_name(int branch);
int sv_first_name(char *out, size_t n, int branch);
int sv_block_name(char *out, size_t n, int branch, int block, const char *suffix);
int sv_spynet_name(char *out, size_t n, int level, int conv);

// Builds a model from canonical names (see io/checkpoint.h); checks every shape. Metadata key
// "slimvsr" (JSON: num_feat, num_block, act, flow, direction, rsc lists) is used when present; without it (a
// .pth), act_slope_default is used (0.1 for BasicSR/MMagic checkpoints), the flow is SPyNet's and both branches
// are expected. The direction must match the tensors: a file saying "uni" with backward_trunk tensors, or one
// without them that does not say "uni", is refused. `what` names the source in errors.
int sv_model_from_tensors(sv_model *m, const sv_tensor_set *s, float act_slope_default, const char *what,
                          sv_err *e);
// Loads a .pth or .safetensors file. act_slope_override < 0 keeps what the file says (or 0.1).
int sv_model_load(sv_model *m, const char *path, float act_slope_override, sv_err *e);
// Exports the model as canonical tensors + metadata (copies the data).
int sv_model_to_tensors(const sv_model *m, sv_tensor_set *s, sv_err *e);
// Writes the model to path in the native format (safetensors), atomically.
int sv_model_save(const sv_model *m, const char *path, sv_err *e);
// A deep copy (own parameters and index lists, same layout of the parameter block).
int sv_model_clone(const sv_model *src, sv_model *dst, sv_err *e);
void sv_model_free(sv_model *m);

// Parameter counts: everything, and SPyNet's share.
size_t sv_model_param_count(const sv_model *m, size_t *spynet_params);
// dst's SPyNet weights and biases := src's (SPyNet has the same shape in every model); nothing else changes.
void sv_model_copy_spynet(sv_model *dst, const sv_model *src);
