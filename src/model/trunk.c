// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// trunk.c: the propagation trunks of the BasicVSR runner: per step conv_first on cat[warped hidden state,
// x] (a zero-flow model: the hidden state as it is), then the residual blocks. The model's conv_first reads
// cat[x, h]; its input channels are reordered once at plan time, so that the warp (or copy) writes the
// hidden state straight into cat (channels from 0, the blocks of a C-channel map) instead of into a map of
// its own copied after x. A block with RSC index lists
// (a pruned one) runs in fast mode as one planned op (ops/rsc.h, which picks its algorithm per shape).
// Every other block runs as two planned convs, conv2 adding the skip.
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/layout.h"
#include "model/runner_internal.h"
#include "ops/ops.h"

// A map of c channels at the LR frame size in the runner's layout, and a plain CHW one.
static sv_fmap lr_map(const sv_vsr_runner *r, float *p, int c) { return sv_fmap_one(p, c, r->h, r->w, r->blk); }
static sv_fmap lr_plain(const sv_vsr_runner *r, const float *p, int c) { return sv_fmap_in(p, c, r->h, r->w, 1); }

int sv_trunk_block_fused(const sv_vsr_runner *r, const sv_resblock *b) {
    return r->mode == SV_EXEC_FAST && (r->blk == 8 || r->blk == 16) && (b->in_idx || b->out_idx);
}

static sv_rsc_desc block_desc(const sv_vsr_runner *r, const sv_resblock *b) {
    return (sv_rsc_desc){.C = r->C, .h = r->h, .w = r->w, .blk = r->blk, .nin = b->conv1.cin,
                         .nmid = b->conv1.cout, .nout = b->conv2.cout, .k = b->conv1.k, .in_idx = b->in_idx,
                         .out_idx = b->out_idx, .w1 = b->conv1.w, .b1 = b->conv1.b, .w2 = b->conv2.w,
                         .b2 = b->conv2.b};
}

size_t sv_trunk_block_workspace(const sv_vsr_runner *r, const sv_resblock *b) {
    const sv_rsc_desc d = block_desc(r, b);
    return sv_rsc_workspace(&d);
}

// Block k of trunk t: conv1 (ReLU) and conv2 (+ the skip when dense), or the fused op.
static int plan_block(sv_vsr_runner *r, int t, int k, sv_err *e) {
    const sv_resblock *b = &r->m->trunk[t].blocks[k];
    sv_trunk_ops *to = &r->trunk[t];
    char n1[sizeof to->conv1[k].name], n2[sizeof n1];
    sv_block_name(n1, sizeof n1, t, k, ".conv1");
    sv_block_name(n2, sizeof n2, t, k, ".conv2");
    if (!sv_trunk_block_fused(r, b)) {
        if (sv_plan_conv(r, &to->conv1[k], n1, &b->conv1, r->h, r->w, 1, 0.0f, 0, NULL, e)) return -1;
        return sv_plan_conv(r, &to->conv2[k], n2, &b->conv2, r->h, r->w, 0, 0.0f, b->out_idx ? 0 : SV_OP_RESIDUAL,
                            NULL, e);
    }
    // the ops keep the layers' whole-frame shapes, for the profile's FLOPs
    sv_describe_conv(r, &to->conv1[k], n1, &b->conv1, r->h, r->w, 1, 0.0f, 0, NULL);
    sv_describe_conv(r, &to->conv2[k], n2, &b->conv2, r->h, r->w, 0, 0.0f, 0, NULL);
    const sv_rsc_desc d = block_desc(r, b);
    if (!(to->rsc[k] = sv_rsc_plan_create(&d, e))) return sv_errprefix(e, "planning %s", n1);
    to->conv1[k].fused = to->conv2[k].fused = sv_rsc_plan_algo(to->rsc[k]);
    return 0;
}

// conv_first of trunk t for cat[h (C), x (3)]: input channel i of the copy is the model's (i + 3) % (C + 3).
static int plan_first(sv_vsr_runner *r, int t, sv_err *e) {
    const sv_conv_layer *c = &r->m->trunk[t].conv_first;
    sv_trunk_ops *to = &r->trunk[t];
    const size_t kk = (size_t)c->k * c->k;
    if (!(to->first_w = sv_malloc((size_t)c->cout * c->cin * kk * sizeof(float), e))) return -1;
    for (int o = 0; o < c->cout; o++)
        for (int i = 0; i < c->cin; i++)
            memcpy(to->first_w + ((size_t)o * c->cin + i) * kk, c->w + ((size_t)o * c->cin + (i + 3) % c->cin) * kk,
                   kk * sizeof(float));
    char name[sizeof to->conv_first.name];
    sv_first_name(name, sizeof name, t);
    sv_describe_conv(r, &to->conv_first, name, c, r->h, r->w, 1, r->m->act_slope, 0, NULL);
    to->conv_first.weight = to->first_w;
    return sv_plan_op(r, &to->conv_first, e);
}

int sv_trunk_plan(sv_vsr_runner *r, sv_err *e) {
    const sv_model *m = r->m;
    for (int t = sv_first_branch(m); t < 2; t++) {  // a uni model plans no backward branch
        sv_trunk_ops *to = &r->trunk[t];
        const size_t nb = (size_t)m->num_block + 1;
        if (!(to->conv1 = sv_calloc(nb, sizeof(sv_conv_op), e)) || !(to->conv2 = sv_calloc(nb, sizeof(sv_conv_op), e)) ||
            !(to->rsc = sv_calloc(nb, sizeof(sv_rsc_plan *), e)))
            return -1;
        if (plan_first(r, t, e)) return -1;
        for (int k = 0; k < m->num_block; k++)
            if (plan_block(r, t, k, e)) return -1;
    }
    return 0;
}

static void plan_phases(const sv_conv_plan *p, double sec[3]) {
    if (p) sv_conv_plan_phases(p, sec);
    else sec[0] = sec[1] = sec[2] = 0;
}

// The fused block: its wall time goes to the profile's gather, conv1, conv2 and scatter-add in the shares
// of the passes' thread-seconds (a copy of all channels counts as conv1's, an add of all as conv2's, as
// when the block runs as separate convs), with the Winograd phases of its convs.
static void run_fused(sv_vsr_runner *r, const sv_trunk_ops *to, const sv_resblock *b, int k, float *hid) {
    double ph[2][3], ph0[2][3], sec[4], sum = 0;
    for (int i = 0; i < 2; i++) plan_phases(sv_rsc_plan_conv(to->rsc[k], i), ph0[i]);
    const double t0 = sv_now();
    sv_err err = {0};
    const int failed = sv_rsc_plan_run(to->rsc[k], hid, r->rsc_ws, &err);
    const double wall = sv_now() - t0;
    if (failed && !r->conv_failed) {
        r->conv_err = err;
        sv_errprefix(&r->conv_err, "%s", to->conv1[k].name);
        r->conv_failed = 1;
    }
    sv_rsc_plan_phases(to->rsc[k], sec);
    for (int i = 0; i < 4; i++) sum += sec[i];
    for (int i = 0; i < 2; i++) {
        plan_phases(sv_rsc_plan_conv(to->rsc[k], i), ph[i]);
        for (int j = 0; j < 3; j++) ph[i][j] -= ph0[i][j];
    }
    const double f = sum > 0 ? wall / sum : 0, g = sec[0] * f, s = sec[3] * f;
    if (b->in_idx) sv_prof_add(&r->base.table, SV_PROF_GATHER, g);
    sv_prof_run_conv(r, &to->conv1[k], sec[1] * f + (b->in_idx ? 0 : g), ph[0]);
    sv_prof_run_conv(r, &to->conv2[k], sec[2] * f + (b->out_idx ? 0 : s), ph[1]);
    if (b->out_idx) sv_prof_add(&r->base.table, SV_PROF_SCATTER, s);
}

// Block k as separate passes: gather, conv1, conv2, scatter-add (or conv2 with the skip).
static void run_block(sv_vsr_runner *r, const sv_trunk_ops *to, const sv_resblock *b, int k, float *hid) {
    const sv_fmap hmap = lr_map(r, hid, r->C);
    sv_prof_table *pt = &r->base.table;
    const float *in = hid;
    if (b->in_idx) {
        const double t0 = sv_now();
        channel_gather(lr_map(r, r->gath, b->conv1.cin), hmap, b->in_idx);
        sv_prof_lap(pt, SV_PROF_GATHER, t0);
        in = r->gath;
    }
    sv_run_conv(r, &to->conv1[k], r->mid, in, NULL, 0);
    if (b->out_idx) {
        sv_run_conv(r, &to->conv2[k], r->res, r->mid, NULL, 0);
        const double t0 = sv_now();
        channel_scatter_add(hmap, lr_map(r, r->res, b->conv2.cout), b->out_idx);
        sv_prof_lap(pt, SV_PROF_SCATTER, t0);
    } else {
        sv_run_conv(r, &to->conv2[k], hid, r->mid, hid, 0);
    }
}

void sv_trunk_step(sv_vsr_runner *r, int t, const float *x, const float *prev, const float *flow, float *hid) {
    const sv_trunk_ops *to = &r->trunk[t];
    const int C = r->C;
    const sv_fmap cat = lr_map(r, r->cat, C + 3);
    sv_prof_table *pt = &r->base.table;
    double t0 = sv_now();
    // the first C channels of cat are the blocks of a C-channel map: the warp (or, with zero flow, the copy
    // of prev, whose padding is zero) writes them whole (a block shared with x gets zeros past C), then x
    // follows; cat lies in the runner's arena, so its padding channels past C + 3 are zeroed
    const size_t nprev = sv_fmap_floats(C, r->h, r->w, r->blk);
    if (prev && flow) flow_warp_forward(r->cat, prev, flow, C, r->h, r->w, SV_PAD_ZEROS, r->blk);
    else if (prev) memcpy(r->cat, prev, nprev * sizeof(float));
    else memset(r->cat, 0, nprev * sizeof(float));
    t0 = sv_prof_lap(pt, SV_PROF_WARP, t0);
    channel_zero_padding(cat);
    channel_copy(sv_fmap_slice(cat, C, 3), lr_plain(r, x, 3));
    sv_prof_lap(pt, SV_PROF_CONCAT, t0);
    sv_run_conv(r, &to->conv_first, hid, r->cat, NULL, 0);
    for (int k = 0; k < r->m->num_block; k++) {
        if (to->rsc[k]) run_fused(r, to, &r->m->trunk[t].blocks[k], k, hid);
        else run_block(r, to, &r->m->trunk[t].blocks[k], k, hid);
    }
}

void sv_trunk_free(sv_vsr_runner *r) {
    for (int t = 0; t < 2; t++) {
        sv_trunk_ops *to = &r->trunk[t];
        for (int k = 0; to->conv1 && to->conv2 && to->rsc && k < r->m->num_block; k++) {
            sv_free_op(&to->conv1[k]);
            sv_free_op(&to->conv2[k]);
            sv_rsc_plan_free(to->rsc[k]);
        }
        sv_free_op(&to->conv_first);
        free(to->conv1);
        free(to->conv2);
        free(to->rsc);
        free(to->first_w);
    }
}
