// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// runner_internal.h: what the runners share. Every runner (runner.h) begins with sv_runner: the interface
// functions of runner_api.c check the frame counts and dispatch through impl. Two implementations:
// BasicVSR (runner.c, with spynet.c) and the bicubic baseline (bicubic_runner.c).
#pragma once
#include "model/profile.h"
#include "model/runner.h"
#include "ops/conv.h"
#include "ops/rsc.h"

typedef struct {
    // emits frames 0..n_emit-1 (see sv_runner_run_chunk); n and n_emit are already checked
    int (*run_chunk)(sv_runner *r, const float *const *frames, int n, int n_emit, const float *prev,
                     sv_output_fn out, void *ud, sv_err *e);
    // the forward branch alone over frames 0..n-1 (see sv_runner_warm_up); n is already checked
    int (*warm_up)(sv_runner *r, const float *const *frames, int n, const float *prev, sv_err *e);
    void (*free)(sv_runner *r);
    // the state carried from one chunk to the next (runner.h: sv_runner_state_*): its planes and their
    // floats, and planes c0..c0+nc-1 of it copied out of or into plain CHW; NULL for a runner that carries none
    void (*state_shape)(const sv_runner *r, int *planes, size_t *plane_floats);
    void (*state_get)(const sv_runner *r, int c0, int nc, float *chw);
    void (*state_set)(sv_runner *r, int c0, int nc, const float *chw);
} sv_runner_impl;

struct sv_runner {
    const sv_runner_impl *impl;
    int max_frames;            // frames per run
    int max_emit;              // of which emitted (the rest is lookahead): <= max_frames
    size_t bytes;              // held by the runner's buffers (sv_runner_bytes)
    sv_runner_profile prof;    // filled by the implementation as it runs
    sv_tap_fn tap;             // BasicVSR's test hook (the bicubic runner has no intermediates)
    void *tap_ud;
    sv_prof_table table;       // per-layer profile (model/profile.h): sv_run_conv and the non-conv call sites
                               // (sv_prof_add / sv_prof_lap) fill it
};

// ======== the BasicVSR runner (runner.c, spynet.c) ========

// One planned conv: its shape, what is fused after it, and (fast mode) its plan.
typedef struct {
    const sv_conv_layer *layer;
    const float *weight;  // the weights it runs with: the layer's, or the runner's reordered copy (conv_first)
    sv_conv_desc d;
    sv_conv_plan *plan;   // SV_EXEC_FAST only
    const char *tap;      // name of the raw (pre-activation) output for the tap hook, or NULL
    char name[64];        // the layer's canonical name (basicvsr.h), for errors: "backward_trunk.main.2.3.conv1"
    const char *fused;    // the fused op's algorithm when the conv runs inside one (plan NULL), else NULL
} sv_conv_op;

enum { SV_RECON_CONVS = 5, SV_RECON_STAGES = 4 };  // fusion, upconv1, upconv2, conv_hr, conv_last; windows
enum { SV_OP_RESIDUAL = 1, SV_OP_SHUFFLE = 2 };  // sv_plan_conv's epilogue flags: + residual, 2x pixel shuffle

typedef struct {
    sv_conv_op conv_first;
    sv_conv_op *conv1, *conv2;  // num_block each
    sv_rsc_plan **rsc;          // num_block: the block as one op (ops/rsc.h), or NULL: conv1, conv2
    float *first_w;             // conv_first's weights for cat[h, x] (the model's are for cat[x, h])
} sv_trunk_ops;

typedef struct {
    sv_runner base;
    const sv_model *m;
    sv_exec_mode mode;
    int blk;                 // layout of feature maps: 1 (reference) or sv_conv_preferred_blk()
    int h, w;
    int C;                   // num_feat
    // SPyNet: working size (multiple of SV_SPY_ALIGN) and its pyramid sizes, level 0 = coarsest
    int sh, sw, lh[SV_SPY_LEVELS], lw[SV_SPY_LEVELS];
    sv_conv_op spy[SV_SPY_LEVELS][SV_SPY_CONVS];
    sv_trunk_ops trunk[2];
    sv_conv_op fusion, upconv1, upconv2, conv_hr, conv_last;  // planned for a full tile's windows
    // reconstruction tiles (recon.c): LR rows emitted per tile (h: untiled); each stage's input window rows
    // (fusion and upconv1 at LR, upconv2 at x2, conv_hr and conv_last at x4) for a full tile and for the
    // last one when they differ (else 0), and the last one's convs
    int tile_rows, recon_rows[SV_RECON_STAGES], recon_tail_rows[SV_RECON_STAGES];
    sv_conv_op tail[SV_RECON_CONVS];
    // buffers (floats); all but feat_b, hid, flow and scratch lie in the arena, shared by the stages
    // of a frame (runner.c: a buffer's contents do not survive its stage, and the padding channels of a map
    // that no conv writes, cat and fuse_in, are zeroed by the stage)
    float *arena;
    float *feat_b;           // max_emit x [C, h, w]: backward features B_i (runner.c: run_chunk)
    float *hid;              // [C, h, w]
    float *cat;              // [C+3, h, w]: cat[warp(h), x] (trunk.c: conv_first's input channels reordered)
    float *mid, *gath, *res; // [mid/|S|/|K2| <= C ... , h, w] (scratch of the blocks run as separate convs)
    float *rsc_ws;           // the fused blocks' workspace (sv_rsc_plan_run)
    float *flow;             // [2, h, w] plain CHW (NULL: a zero-flow model, which plans no SPyNet either)
    float *fuse_in, *fuse_out, *ps1, *ps2, *hr, *out_blk, *scratch;
    float *out_band;         // [3, rows, 4w]: a tile's output rows, handed to the output callback
    float *spy_ref[SV_SPY_LEVELS], *spy_supp[SV_SPY_LEVELS];   // [3, lh, lw] CHW
    float *spy_flow, *spy_up, *spy_warp, *spy_a, *spy_b, *spy_in;  // at the finest level size
    int conv_failed;         // set by sv_run_conv when a conv fails (conv_err says why); checked per frame
    sv_err conv_err;
} sv_vsr_runner;

// ======== the propagation trunks (trunk.c) ========
// Plans conv_first and every residual block of the model's trunks (a uni model's forward trunk alone).
int sv_trunk_plan(sv_vsr_runner *r, sv_err *e);
// One step of branch t: hid = trunk(cat[x, warp(prev, flow)]) (prev NULL: zeros; flow NULL: prev as it is,
// a zero-flow model). x: [3, h, w] CHW.
void sv_trunk_step(sv_vsr_runner *r, int t, const float *x, const float *prev, const float *flow, float *hid);
// Whether block b runs fused (fast mode, RSC index lists), and the floats of its workspace then.
int sv_trunk_block_fused(const sv_vsr_runner *r, const sv_resblock *b);
size_t sv_trunk_block_workspace(const sv_vsr_runner *r, const sv_resblock *b);
void sv_trunk_free(sv_vsr_runner *r);

// out = [act](conv(in) + b) [+ residual], per the op's desc, in the runner's mode.
void sv_run_conv(sv_vsr_runner *r, const sv_conv_op *op, float *out, const float *in, const float *residual,
                 int tap_index);
// Fills op's name and desc for conv layer c on an h x w input: act (slope), flags SV_OP_*, tap name or NULL.
void sv_describe_conv(const sv_vsr_runner *r, sv_conv_op *op, const char *name, const sv_conv_layer *c, int h, int w,
                      int act, float slope, int flags, const char *tap);
// Plans op (fast mode) from its desc and weight.
int sv_plan_op(sv_vsr_runner *r, sv_conv_op *op, sv_err *e);
// sv_describe_conv, then sv_plan_op.
int sv_plan_conv(sv_vsr_runner *r, sv_conv_op *op, const char *name, const sv_conv_layer *c, int h, int w,
                 int act, float slope, int flags, const char *tap, sv_err *e);
void sv_free_op(sv_conv_op *op);
// Emits data (layout blk) to the tap hook as plain CHW; no-op without a hook.
void sv_tap_emit(sv_vsr_runner *r, const char *name, int index, const float *data, int c, int h, int w, int blk);
// Plans SPyNet's convs and sizes (called from sv_runner_create).
int sv_spynet_plan(sv_vsr_runner *r, sv_err *e);
// flow [2, h, w] (plain CHW) that warps supp onto ref. ref, supp: [3, h, w] CHW in [0, 1].
void sv_spynet_flow(sv_vsr_runner *r, const float *ref, const float *supp, float *flow, const char *tap_name);
// Records one call of op into r's profile (profile.c; sv_run_conv calls it): seconds, and the Winograd
// phases' thread-seconds (sv_conv_plan_phases) of this call.
void sv_prof_run_conv(sv_vsr_runner *r, const sv_conv_op *op, double seconds, const double phase[3]);
