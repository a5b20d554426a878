// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// stats.h: parameters and FLOPs of a model per output frame, layer by layer.
// FLOPs of a conv = 2 * cin * cout * k * k * H * W (H, W: the size it runs at), times its calls per frame:
// trunk and reconstruction convs run once per frame; SPyNet runs twice per frame (one flow for each
// branch; strictly 2(n-1)/n for an n-frame clip), at the pyramid level's size (frame size rounded up to a
// multiple of 32, halved per level); a uni model's once (its one branch). A zero-flow model runs no SPyNet:
// its layers count 0 calls, 0 FLOPs and 0 parameters (the weights it stores are unused).
#pragma once
#include "model/basicvsr.h"

typedef struct {
    char name[64];
    int cin, cout, k, h, w, calls, is_spynet;
    double params, flops;  // flops per output frame (calls included)
} sv_layer_stat;

typedef struct {
    double params, params_spynet, flops, flops_spynet;
} sv_model_totals;

// FLOPs of one call of a k x k conv from cin to cout channels whose output is oh x ow (2 per multiply-add):
// the formula above, named once (sv_model_stats and the runner's profile use it).
double sv_conv_flops(int cin, int cout, int k, int oh, int ow);

// Fills out[0..n) (n may be 0 to count) and totals; returns the number of layers.
int sv_model_stats(const sv_model *m, int h, int w, sv_layer_stat *out, int n, sv_model_totals *totals);
