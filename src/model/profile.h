// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// profile.h: where a BasicVSR runner's time goes, layer by layer. The runner (runner.c, spynet.c) fills a
// table as it runs: per conv layer (by canonical name) its calls, seconds, FLOPs and the conv plan's
// backend, and the seconds of the work between the convs per kind. Seconds are wall-clock seconds of
// the runner's thread (the convs run in parallel inside); the Winograd phases are thread-seconds (summed
// over the threads that ran the conv). Recording costs two clock reads per call.
// sv_runner_get_layers (runner.h) hands the table out; sv_prof_groups sums it into the layer groups that
// the CLI prints (SLIMVSR_PROFILE=2, `slimvsr info --profile`).
#pragma once
#include "model/basicvsr.h"
#include "model/runner.h"

// The work between the convs.
typedef enum {
    SV_PROF_SPY_PYRAMID,   // SPyNet: both frames resized to the aligned size, normalised, pooled to a pyramid
    SV_PROF_SPY_UPSAMPLE,  // SPyNet: the coarser level's flow upsampled x2 (zeros at the coarsest level)
    SV_PROF_SPY_WARP,      // SPyNet: the support frame warped by the upsampled flow
    SV_PROF_SPY_CONCAT,    // SPyNet: the 8-channel input assembled, the residual added to the flow
    SV_PROF_SPY_RESIZE,    // SPyNet: the flow resized to the frame size and scaled
    SV_PROF_WARP,          // the hidden state warped by the flow (each trunk step)
    SV_PROF_CONCAT,        // concat and layout copies: cat[x, h] of a trunk step, fusion's input, the output
    SV_PROF_GATHER,        // RSC: the kept channels S gathered before a block's conv1
    SV_PROF_SCATTER,       // RSC: conv2's |K2| outputs scatter-added into the hidden state
    SV_PROF_BILINEAR,      // the bilinear x4 base of each output frame, and conv_last's output added onto it
    SV_PROF_NKINDS
} sv_prof_kind;

// The groups that the CLI and bench/profile.sh print.
typedef enum {
    SV_GROUP_SPYNET,     // SPyNet's convs and SV_PROF_SPY_*
    SV_GROUP_FIRST,      // the trunks' conv_first
    SV_GROUP_CONV1,      // the residual blocks' conv1
    SV_GROUP_CONV2,      // the residual blocks' conv2
    SV_GROUP_RSC,        // gather and scatter-add
    SV_GROUP_WARP,       // SV_PROF_WARP
    SV_GROUP_FUSION,
    SV_GROUP_UPCONV1,
    SV_GROUP_UPCONV2,
    SV_GROUP_CONV_HR,
    SV_GROUP_CONV_LAST,
    SV_GROUP_OTHER,      // concat copies, the bilinear base, the output callback, and what nothing above timed
    SV_NGROUPS
} sv_prof_group;

enum { SV_PROF_MAX_LAYERS = 512 };  // more than a model of 200 blocks per branch has

typedef struct {
    char name[64];       // canonical name (basicvsr.h), e.g. "forward_trunk.main.2.3.conv1"
    char backend[80];    // the conv plan's algorithm (sv_conv_plan_algo); "reference" in reference mode
    int kind;            // sv_layer_kind, or -1 when the layer is not one of the model's
    long calls;
    double seconds;      // summed over the calls
    double flops;        // summed over the calls (sv_conv_flops of each call's shape)
    double phase[3];     // Winograd: thread-seconds of the input transforms, GEMMs, output transforms; else 0
} sv_prof_layer;

struct sv_prof_table {
    int n;                      // layers in layer[], in the order of their first call
    int hint;                   // where the next lookup starts (the calls repeat in the same order)
    sv_prof_layer layer[SV_PROF_MAX_LAYERS];
    long lost_calls;            // calls of layers past SV_PROF_MAX_LAYERS; their time is in lost_seconds
    double lost_seconds;
    long kind_calls[SV_PROF_NKINDS];
    double kind_seconds[SV_PROF_NKINDS];
};

const char *sv_prof_kind_name(sv_prof_kind k);
const char *sv_prof_group_name(sv_prof_group g);
// The group of a layer of kind (sv_layer_kind, or -1: SV_GROUP_OTHER).
sv_prof_group sv_prof_layer_group(int kind);

// Adds seconds of non-conv work of kind k.
void sv_prof_add(sv_prof_table *t, sv_prof_kind k, double seconds);
// Adds the time since `since` (sv_now, core/clock.h) to kind k and returns now, to time a sequence of steps:
//   double t = sv_now(); copy(...); t = sv_prof_lap(tab, SV_PROF_CONCAT, t); warp(...); t = sv_prof_lap(...)
double sv_prof_lap(sv_prof_table *t, sv_prof_kind k, double since);
// dst += src, layer by layer (matched by name) and kind by kind: the sum of several runners.
void sv_prof_table_merge(sv_prof_table *dst, const sv_prof_table *src);

// Seconds and FLOPs (summed over all frames) per group. p's stage times give the total: SV_GROUP_OTHER
// also gets the output callback (p->emit) and the part of p's stages that no entry of t accounts for.
// Returns the total: p->spynet + p->trunk + p->recon + p->emit.
double sv_prof_groups(const sv_runner_profile *p, const sv_prof_table *t, double sec[SV_NGROUPS],
                      double flops[SV_NGROUPS]);
