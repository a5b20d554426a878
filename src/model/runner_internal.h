// runner_internal.h: the runner's state, shared by runner.c (trunks, reconstruction) and spynet.c.
#pragma once
#include "model/runner.h"
#include "ops/conv.h"

// One planned conv: its shape, what is fused after it, and (fast mode) its plan.
typedef struct {
    const sv_conv_layer *layer;
    sv_conv_desc d;
    sv_conv_plan *plan;   // SV_EXEC_FAST only
    const char *tap;      // name of the raw (pre-activation) output for the tap hook, or NULL
} sv_conv_op;

typedef struct {
    sv_conv_op conv_first;
    sv_conv_op *conv1, *conv2;  // num_block each
} sv_trunk_ops;

struct sv_runner {
    const sv_model *m;
    sv_exec_mode mode;
    int blk;                 // layout of feature maps: 1 (reference) or sv_conv_preferred_blk()
    int h, w, max_frames;
    int C;                   // num_feat
    // SPyNet: working size (multiple of 32) and its pyramid sizes, level 0 = coarsest
    int sh, sw, lh[SV_SPY_LEVELS], lw[SV_SPY_LEVELS];
    sv_conv_op spy[SV_SPY_LEVELS][SV_SPY_CONVS];
    sv_trunk_ops trunk[2];
    sv_conv_op fusion, upconv1, upconv2, conv_hr, conv_last;
    // buffers (floats)
    float *feat_b;           // max_frames x [C, h, w]: backward features B_i
    float *hid, *warped;     // [C, h, w]
    float *cat;              // [C+3, h, w]
    float *mid, *gath, *res; // [mid/|S|/|K2| <= C ... , h, w] (block scratch)
    float *flow;             // [2, h, w] plain CHW
    float *fuse_in, *fuse_out, *ps1, *ps2, *hr, *out_blk, *out_chw, *scratch;
    float *spy_ref[SV_SPY_LEVELS], *spy_supp[SV_SPY_LEVELS];   // [3, lh, lw] CHW
    float *spy_flow, *spy_up, *spy_warp, *spy_a, *spy_b, *spy_in;  // at the finest level size
    size_t bytes;
    double t_spynet, t_trunk, t_recon, t_emit;  // seconds spent per stage (SLIMVSR_PROFILE=1 prints them)
    int frames_done;
    const sv_conv_layer *conv_failed;  // set by sv_run_conv when a planned conv fails; checked per frame
    sv_tap_fn tap;
    void *tap_ud;
};

// out = [act](conv(in) + b) [+ residual], per the op's desc, in the runner's mode.
void sv_run_conv(sv_runner *r, const sv_conv_op *op, float *out, const float *in, const float *residual, int tap_index);
// Emits data (layout blk) to the tap hook as plain CHW; no-op without a hook.
void sv_tap_emit(sv_runner *r, const char *name, int index, const float *data, int c, int h, int w, int blk);
// Plans SPyNet's convs and sizes (called from sv_runner_create).
int sv_spynet_plan(sv_runner *r, sv_err *e);
// flow [2, h, w] (plain CHW) that warps supp onto ref. ref, supp: [3, h, w] CHW in [0, 1].
void sv_spynet_flow(sv_runner *r, const float *ref, const float *supp, float *flow, const char *tap_name);
