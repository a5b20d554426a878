// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// runner.c: the BasicVSR runner: plans and runs the model on a chunk of frames (see runner.h for the data
// flow; runner_api.c dispatches to it, bicubic_runner.c is the other runner).
//
// Tap names (test hook, plain CHW): "flow_backward" (pair i: spynet(x_i, x_{i+1})), "flow_forward"
// (pair i: spynet(x_{i+1}, x_i)), "spynet_bwd0_residual" (per level, pair 0), "backward_trunk_out",
// "forward_trunk_out", "fusion", "upconv1", "conv_last" (raw conv outputs, reference mode only),
// "bilinear_base".
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/layout.h"
#include "core/map_alloc.h"
#include "model/runner_internal.h"
#include "model/recon.h"
#include "model/spynet.h"
#include "ops/ops.h"

static float *alloc_buf(sv_vsr_runner *r, size_t nfloats, sv_err *e) {
    size_t bytes = nfloats * sizeof(float);
    float *p = sv_map_alloc(bytes);
    if (!p) {
        sv_errf(e, "out of memory allocating %zu MB of buffers", bytes >> 20);
        return NULL;
    }
    // zeroed (the blocked layout's padding channels stay zero) by all threads: the first touch of ~1 GB
    // of buffers is a good part of upscale's start-up
    const long chunk = 1 << 20, nchunks = (long)((bytes + chunk - 1) / chunk);
#pragma omp parallel for schedule(static)
    for (long c = 0; c < nchunks; c++) {
        const size_t at = (size_t)c * chunk;
        memset((char *)p + at, 0, bytes - at < (size_t)chunk ? bytes - at : (size_t)chunk);
    }
    r->base.bytes += bytes;
    return p;
}

// A failed conv is recorded here and reported after the frame (the op chain itself is void); the first
// failure's cause is kept.
static void conv_failed(sv_vsr_runner *r, const sv_conv_op *op) {
    if (!r->conv_failed) sv_errprefix(&r->conv_err, "%s", op->name);
    r->conv_failed = 1;
}

// Reference mode: the naive conv in plain CHW, then what the plan would fuse, step by step.
static void run_conv_ref(sv_vsr_runner *r, const sv_conv_op *op, float *out, const float *in, const float *residual,
                         int tap_index) {
    const sv_conv_desc *d = &op->d;
    int oh = d->h + 2 * d->pad - d->k + 1, ow = d->w + 2 * d->pad - d->k + 1;
    size_t n = (size_t)d->cout * oh * ow;
    // the raw conv output: to scratch before a residual add, to its own buffer before a shuffle (reference
    // mode is for tests: a malloc per call is fine; a failed one is reported like a failed conv)
    float *dst = residual ? r->scratch : d->shuffle ? malloc(n * sizeof(float)) : out;
    if (!dst) {
        if (!r->conv_failed) sv_errf(&r->conv_err, "out of memory for the conv output (%zu MB)", n >> 18);
        conv_failed(r, op);
        return;
    }
    conv2d_forward_ref(dst, in, op->weight, op->layer->b, d->cin, d->cout, d->h, d->w, d->k, d->pad, 1);
    if (op->tap) sv_tap_emit(r, op->tap, tap_index, dst, d->cout, oh, ow, 1);
    if (d->act) act_forward(dst, n, d->act_slope);
    if (residual) add_forward(out, dst, residual, n);
    if (d->shuffle) {
        pixel_shuffle_forward(out, dst, d->cout / (d->shuffle * d->shuffle), oh, ow, d->shuffle, 1);
        free(dst);
    }
}

// Every conv of the runner goes through here, and so into the per-layer profile (model/profile.h).
void sv_run_conv(sv_vsr_runner *r, const sv_conv_op *op, float *out, const float *in, const float *residual,
                 int tap_index) {
    const double t0 = sv_now();
    double before[3] = {0, 0, 0}, phase[3] = {0, 0, 0};
    if (r->mode == SV_EXEC_FAST) {
        sv_conv_plan_phases(op->plan, before);
        if (sv_conv_plan_run(op->plan, out, in, residual, r->conv_failed ? NULL : &r->conv_err))
            conv_failed(r, op);
        sv_conv_plan_phases(op->plan, phase);
        for (int i = 0; i < 3; i++) phase[i] -= before[i];
    } else {
        run_conv_ref(r, op, out, in, residual, tap_index);
    }
    sv_prof_run_conv(r, op, sv_now() - t0, phase);
}

void sv_tap_emit(sv_vsr_runner *r, const char *name, int index, const float *data, int c, int h, int w, int blk) {
    const sv_tap_fn tap = r->base.tap;
    if (!tap) return;
    if (blk == 1) {
        tap(r->base.tap_ud, name, index, data, c, h, w);
        return;
    }
    float *tmp = malloc((size_t)c * h * w * sizeof(float));
    if (!tmp) return;
    channel_copy(sv_fmap_one(tmp, c, h, w, 1), sv_fmap_in(data, c, h, w, blk));
    tap(r->base.tap_ud, name, index, tmp, c, h, w);
    free(tmp);
}

void sv_describe_conv(const sv_vsr_runner *r, sv_conv_op *op, const char *name, const sv_conv_layer *c, int h, int w,
                      int act, float slope, int flags, const char *tap) {
    op->layer = c;
    op->weight = c->w;
    op->tap = tap;
    snprintf(op->name, sizeof op->name, "%s", name);
    op->d = (sv_conv_desc){.cin = c->cin, .cout = c->cout, .k = c->k, .pad = c->k / 2, .h = h, .w = w,
                           .blk = r->blk, .act = act, .act_slope = slope, .residual = (flags & SV_OP_RESIDUAL) != 0,
                           .shuffle = flags & SV_OP_SHUFFLE ? 2 : 0};
}

int sv_plan_conv(sv_vsr_runner *r, sv_conv_op *op, const char *name, const sv_conv_layer *c, int h, int w,
                 int act, float slope, int flags, const char *tap, sv_err *e) {
    sv_describe_conv(r, op, name, c, h, w, act, slope, flags, tap);
    return sv_plan_op(r, op, e);
}

int sv_plan_op(sv_vsr_runner *r, sv_conv_op *op, sv_err *e) {
    if (r->mode != SV_EXEC_FAST) return 0;
    op->plan = sv_conv_plan_create(&op->d, op->weight, op->layer->b, e);
    return op->plan ? 0 : sv_errprefix(e, "planning %s", op->name);
}

// B_i of one frame: the runner's only per-frame buffer. feat_b holds one per emitted frame (run_chunk); a uni
// model has no backward branch, so none.
static size_t feat_floats(const sv_vsr_runner *r) {
    return sv_is_uni(r->m) ? 0 : sv_fmap_floats(r->C, r->h, r->w, r->blk);
}

// When a buffer is live: all along (KEEP), or only inside one stage of a frame: SPyNet's flow, a trunk
// step's conv_first (its input cat), the trunk step's residual blocks, the reconstruction and the output
// callback that takes its frame. The stages run one after another, so
// the buffers of different stages share one arena (the largest stage's size): a buffer's contents do not
// survive its stage.
enum { BUF_KEEP, BUF_SPYNET, BUF_CAT, BUF_BLOCKS, BUF_RECON, BUF_STAGES };

typedef struct {
    float **p;
    size_t n;   // floats
    int stage;  // BUF_*
} buf_spec;
enum { MAX_BUFS = 24 + 2 * SV_SPY_LEVELS };

static void add_buf(buf_spec *b, int *n, float **p, size_t floats, int stage) {
    b[(*n)++] = (buf_spec){p, floats, stage};
}

// Offsets in the arena (floats, whole cache lines) of the staged buffers; returns the arena's size.
static size_t arena_layout(const buf_spec *b, int n, size_t *off) {
    size_t used[BUF_STAGES] = {0}, size = 0;
    for (int i = 0; i < n; i++) {
        if (b[i].stage == BUF_KEEP) continue;
        off[i] = used[b[i].stage];
        used[b[i].stage] += (b[i].n + 15) / 16 * 16;
        if (used[b[i].stage] > size) size = used[b[i].stage];
    }
    return size;
}

// Every buffer of runner r with its size in floats and stage: the one list that sv_runner_create allocates
// and sv_runner_estimate sums. Needs r's model, mode, blk, C, h, w, max_frames and SPyNet sizes. Returns the count.
static int runner_buffers(sv_vsr_runner *r, buf_spec *b) {
    const sv_model *m = r->m;
    const int C = r->C, h = r->h, w = r->w, blk = r->blk;
    const size_t hw = (size_t)h * w, shw = (size_t)r->sh * r->sw;
    const int g1 = m->upconv1.cout / SV_SHUFFLE_GROUP, g2 = m->upconv2.cout / SV_SHUFFLE_GROUP;
    // mid serves the blocks run as separate convs; gath and res those of them with RSC index lists; rsc_ws
    // the fused ones (trunk.c)
    int maxmid = 0, maxgath = 0, maxres = 0, n = 0;
    size_t rsc_ws = 0;
    for (int t = sv_first_branch(m); t < 2; t++)
        for (int k = 0; k < m->num_block; k++) {
            const sv_resblock *rb = &m->trunk[t].blocks[k];
            if (sv_trunk_block_fused(r, rb)) {
                const size_t ws = sv_trunk_block_workspace(r, rb);
                if (ws > rsc_ws) rsc_ws = ws;
                continue;
            }
            if (rb->conv1.cout > maxmid) maxmid = rb->conv1.cout;
            if (rb->in_idx && rb->conv1.cin > maxgath) maxgath = rb->conv1.cin;
            if (rb->out_idx && rb->conv2.cout > maxres) maxres = rb->conv2.cout;
        }
    // The reconstruction's maps (recon.c) hold one tile's windows (rows n0 at LR, n1 at x2, n2 and n3 at x4):
    // at x4 they dominate. ps2 (upconv2's shuffled output) is reused for out_blk (conv_last's) once conv_hr
    // has consumed it.
    const int n0 = sv_recon_buffer_rows(r, 0), n1 = sv_recon_buffer_rows(r, 1), n2 = sv_recon_buffer_rows(r, 2),
              n3 = sv_recon_buffer_rows(r, 3), W = SV_SCALE * w;
    const size_t band = (size_t)3 * sv_recon_band_rows(r) * W;
    size_t big2 = sv_fmap_floats(g2, 2 * n1, W, blk), obn = sv_fmap_floats(3, n3, W, blk);
    if (obn > big2) big2 = obn;
    add_buf(b, &n, &r->feat_b, feat_floats(r) * (size_t)r->base.max_emit, BUF_KEEP);
    add_buf(b, &n, &r->hid, sv_fmap_floats(C, h, w, blk), BUF_KEEP);
    add_buf(b, &n, &r->cat, sv_fmap_floats(C + 3, h, w, blk), BUF_CAT);
    add_buf(b, &n, &r->mid, sv_fmap_floats(maxmid, h, w, blk), BUF_BLOCKS);
    add_buf(b, &n, &r->gath, sv_fmap_floats(maxgath, h, w, blk), BUF_BLOCKS);
    add_buf(b, &n, &r->res, sv_fmap_floats(maxres, h, w, blk), BUF_BLOCKS);
    add_buf(b, &n, &r->rsc_ws, rsc_ws, BUF_BLOCKS);
    add_buf(b, &n, &r->fuse_in, sv_fmap_floats(sv_branches(m) * C, n0, w, blk), BUF_RECON);
    add_buf(b, &n, &r->fuse_out, sv_fmap_floats(m->fusion.cout, n0, w, blk), BUF_RECON);
    add_buf(b, &n, &r->ps1, sv_fmap_floats(g1, 2 * n0, 2 * w, blk), BUF_RECON);
    add_buf(b, &n, &r->hr, sv_fmap_floats(m->conv_hr.cout, n2, W, blk), BUF_RECON);
    add_buf(b, &n, &r->ps2, big2, BUF_RECON);
    add_buf(b, &n, &r->out_band, band, BUF_RECON);  // the output callback reads it after each tile
    if (r->mode == SV_EXEC_REFERENCE) {  // a residual conv's raw output: a trunk conv's, or conv_last's
        const size_t lr = (size_t)C * hw, hr3 = (size_t)3 * n3 * W;
        add_buf(b, &n, &r->scratch, lr > hr3 ? lr : hr3, BUF_KEEP);
    }
    if (!sv_uses_spynet(m)) return n;  // zero flow: no SPyNet, no flow
    add_buf(b, &n, &r->flow, 2 * hw, BUF_KEEP);  // SPyNet's output, the trunk's input
    for (int l = 0; l < SV_SPY_LEVELS; l++) {
        add_buf(b, &n, &r->spy_ref[l], 3 * (size_t)r->lh[l] * r->lw[l], BUF_SPYNET);
        add_buf(b, &n, &r->spy_supp[l], 3 * (size_t)r->lh[l] * r->lw[l], BUF_SPYNET);
    }
    add_buf(b, &n, &r->spy_flow, 2 * shw, BUF_SPYNET);
    add_buf(b, &n, &r->spy_up, 2 * shw, BUF_SPYNET);
    add_buf(b, &n, &r->spy_warp, 3 * shw, BUF_SPYNET);
    // SPyNet's convs write a, b, a, b, a in turn (spynet.c): a holds the outputs of convs 0, 2, 4, b of 1, 3;
    // the 8-channel input of conv 0 lies in b (spy_in, set beside the allocation), which conv 1 overwrites
    int wa = 0, wb = sv_spy_width[0];
    for (int j = 0; j < SV_SPY_CONVS; j++) {
        int *wd = j % 2 ? &wb : &wa;
        if (sv_spy_width[j + 1] > *wd) *wd = sv_spy_width[j + 1];
    }
    add_buf(b, &n, &r->spy_a, sv_fmap_floats(wa, r->sh, r->sw, blk), BUF_SPYNET);
    add_buf(b, &n, &r->spy_b, sv_fmap_floats(wb, r->sh, r->sw, blk), BUF_SPYNET);
    return n;
}

// Bytes of the conv plans (fast mode): Winograd keeps (m+2)^2 <= 64 transformed taps per 3x3 kernel and
// (4+6)^2 = 100 per 7x7 (SPyNet), on channels padded to blk: at most 8x and 3x the weights with the
// padding; and each thread's scratch while a Winograd conv runs (under 0.5 MB at 64 channels). Reference
// mode: the conv output before a pixel shuffle, allocated per call (upconv2's on a window is the largest).
// A shorter last window of the reconstruction (tail) has its own plans: its convs' weights count twice.
static size_t plans_bytes(const sv_model *m, int rows2, int w, int tail, sv_exec_mode mode) {
    if (mode == SV_EXEC_REFERENCE) return (size_t)m->upconv2.cout * rows2 * (2 * w) * sizeof(float);
    size_t spy, recon = 0;
    sv_model_param_count(m, &spy);
    const size_t unplanned = sv_uses_spynet(m) ? 0 : spy;  // a zero-flow model's SPyNet weights
    const sv_conv_layer *rc[SV_RECON_CONVS] = {&m->fusion, &m->upconv1, &m->upconv2, &m->conv_hr, &m->conv_last};
    for (int j = 0; tail && j < SV_RECON_CONVS; j++)
        recon += (size_t)rc[j]->cout * rc[j]->cin * rc[j]->k * rc[j]->k + (size_t)rc[j]->cout;
    return ((m->nparams - spy + recon) * 8 + (spy - unplanned) * 3) * sizeof(float) +
           ((size_t)1 << 20) * (size_t)omp_get_max_threads();
}

static int runner_blk(sv_exec_mode mode) { return mode == SV_EXEC_FAST ? sv_conv_preferred_blk() : 1; }

void sv_runner_estimate_tiled(const sv_model *m, int h, int w, sv_exec_mode mode, int tile_rows, size_t *fixed,
                              size_t *per_frame) {
    sv_vsr_runner r = {.m = m, .mode = mode, .blk = runner_blk(mode), .h = h, .w = w, .C = m->num_feat};
    sv_spynet_sizes(h, w, &r.sh, &r.sw, r.lh, r.lw);
    sv_recon_layout(&r, tile_rows);
    buf_spec b[MAX_BUFS];
    const int n = runner_buffers(&r, b);  // no frames: the fixed part
    size_t off[MAX_BUFS], floats = arena_layout(b, n, off);
    for (int i = 0; i < n; i++)
        if (b[i].stage == BUF_KEEP) floats += b[i].n;
    *fixed = floats * sizeof(float) + plans_bytes(m, sv_recon_buffer_rows(&r, 1), w, r.recon_tail_rows[0], mode);
    *per_frame = feat_floats(&r) * sizeof(float);
}

int sv_runner_tile_rows(const sv_model *m, int h, int w, sv_exec_mode mode, size_t budget) {
    size_t fixed, per;
    sv_runner_estimate_tiled(m, h, w, mode, 0, &fixed, &per);
    if (fixed <= budget) return 0;
    // the largest tile whose fixed part fits (estimates allocate nothing: a few dozen are cheap)
    for (int t = (h - 1) / SV_RECON_ALIGN * SV_RECON_ALIGN; t > SV_RECON_ALIGN; t -= SV_RECON_ALIGN) {
        sv_runner_estimate_tiled(m, h, w, mode, t, &fixed, &per);
        if (fixed <= budget) return t;
    }
    return SV_RECON_ALIGN;
}

// Without a budget (runner.h): the whole frame within SV_RECON_WHOLE_BYTES of tiles of SV_RECON_FAST_ROWS,
// else the largest tiles within SV_RECON_PIXEL_BYTES per input pixel, those of SV_RECON_FAST_ROWS at least.
int sv_runner_default_tile_rows(const sv_model *m, int h, int w, sv_exec_mode mode) {
    size_t fast, whole, per;
    sv_runner_estimate_tiled(m, h, w, mode, SV_RECON_FAST_ROWS, &fast, &per);
    sv_runner_estimate_tiled(m, h, w, mode, 0, &whole, &per);
    if (whole <= fast + SV_RECON_WHOLE_BYTES) return 0;
    const size_t room = (size_t)h * w * SV_RECON_PIXEL_BYTES;
    return sv_runner_tile_rows(m, h, w, mode, room > fast ? room : fast);
}

void sv_runner_estimate(const sv_model *m, int h, int w, sv_exec_mode mode, size_t *fixed, size_t *per_frame) {
    sv_runner_estimate_tiled(m, h, w, mode, sv_runner_default_tile_rows(m, h, w, mode), fixed, per_frame);
}

static const sv_runner_impl vsr_impl;

sv_runner *sv_runner_create(const sv_model *m, int h, int w, int max_frames, sv_exec_mode mode, sv_err *e) {
    if (h < 1 || w < 1) return sv_runner_create_tiled(m, h, w, max_frames, mode, 0, e);  // refused there
    return sv_runner_create_tiled(m, h, w, max_frames, mode, sv_runner_default_tile_rows(m, h, w, mode), e);
}

sv_runner *sv_runner_create_tiled(const sv_model *m, int h, int w, int max_frames, sv_exec_mode mode,
                                  int tile_rows, sv_err *e) {
    return sv_runner_create_window(m, h, w, max_frames, max_frames, mode, tile_rows, e);
}

sv_runner *sv_runner_create_window(const sv_model *m, int h, int w, int max_frames, int max_emit,
                                   sv_exec_mode mode, int tile_rows, sv_err *e) {
    if (h < 1 || w < 1 || max_frames < 1 || max_emit < 1 || max_emit > max_frames) {
        sv_errf(e, "invalid runner size %dx%d, %d frames (%d emitted)", h, w, max_frames, max_emit);
        return NULL;
    }
    sv_vsr_runner *r = sv_calloc(1, sizeof *r, e);
    if (!r) return NULL;
    r->base = (sv_runner){.impl = &vsr_impl, .max_frames = max_frames, .max_emit = max_emit};
    r->m = m;
    r->mode = mode;
    r->blk = runner_blk(mode);
    r->h = h;
    r->w = w;
    r->C = m->num_feat;
    sv_recon_layout(r, tile_rows);
    if ((sv_uses_spynet(m) && sv_spynet_plan(r, e)) || sv_trunk_plan(r, e) || sv_recon_plan(r, e)) goto fail;
    buf_spec bufs[MAX_BUFS];
    size_t off[MAX_BUFS];
    const int nbufs = runner_buffers(r, bufs);
    if (!(r->arena = alloc_buf(r, arena_layout(bufs, nbufs, off), e))) goto fail;
    for (int i = 0; i < nbufs; i++) {
        if (bufs[i].stage != BUF_KEEP) *bufs[i].p = r->arena + off[i];
        else if (!(*bufs[i].p = alloc_buf(r, bufs[i].n, e))) goto fail;
    }
    r->spy_in = r->spy_b;  // runner_buffers: conv 0's input, dead when conv 1 writes b
    r->out_blk = r->ps2;
    return &r->base;
fail:
    sv_runner_free(&r->base);
    return NULL;
}

static int conv_error(sv_vsr_runner *r, sv_err *e) {
    r->conv_failed = 0;
    return sv_errf(e, "%s", r->conv_err.msg);
}

// The flow [2, h, w] that aligns the hidden state of frame supp onto frame ref: SPyNet's, in r->flow, timed as
// the profile's SPyNet share; NULL for a zero-flow model (the trunk step takes the state as it is).
static const float *align_flow(sv_vsr_runner *r, const float *ref, const float *supp, const char *tap_name) {
    if (!sv_uses_spynet(r->m)) return NULL;
    const double t0 = sv_now();
    sv_spynet_flow(r, ref, supp, r->flow, tap_name);
    r->base.prof.spynet += sv_now() - t0;
    return r->flow;
}

// The forward branch's step at frame i of a chunk: r->hid from the previous frame's (frames[i - 1], or
// prev_frame from the previous chunk; none at the clip's first frame) to frame i's, timed as the profile's
// SPyNet and trunk shares.
static void forward_step(sv_vsr_runner *r, const float *const *frames, int i, const float *prev_frame) {
    const float *prev = NULL, *flow = NULL, *prev_x = i > 0 ? frames[i - 1] : prev_frame;
    if (prev_x) {
        flow = align_flow(r, frames[i], prev_x, NULL);
        if (flow && i > 0) sv_tap_emit(r, "flow_forward", i - 1, flow, 2, r->h, r->w, 1);
        prev = r->hid;
    }
    const double t0 = sv_now();
    sv_trunk_step(r, SV_BRANCH_FORWARD, frames[i], prev, flow, r->hid);
    r->base.prof.trunk += sv_now() - t0;
    sv_tap_emit(r, "forward_trunk_out", i, r->hid, r->C, r->h, r->w, r->blk);
}

static int warm_up(sv_runner *base, const float *const *frames, int n, const float *prev_frame, sv_err *e) {
    sv_vsr_runner *r = (sv_vsr_runner *)base;
    for (int i = 0; i < n; i++) {
        forward_step(r, frames, i, prev_frame);
        if (r->conv_failed) return conv_error(r, e);
    }
    return 0;
}

static int run_chunk(sv_runner *base, const float *const *frames, int n, int n_emit, const float *prev_frame,
                     sv_output_fn out, void *ud, sv_err *e) {
    sv_vsr_runner *r = (sv_vsr_runner *)base;
    sv_runner_profile *prof = &base->prof;
    const int C = r->C, h = r->h, w = r->w, blk = r->blk;
    const size_t fm = feat_floats(r);
    // backward branch over all n frames (a uni model has none: its window holds no lookahead frames either)
    // B_i of an emitted frame stays in slot i for the reconstruction; the lookahead frames' B_i (i >= n_emit)
    // are only the next step's input, so they all pass through the last emitted frame's slot before that
    // frame's own B is written there: a step reads its prev (warping it into cat) before it writes its
    // output, which may be the same map (as the forward branch's hidden state always is)
    for (int i = sv_is_uni(r->m) ? -1 : n - 1; i >= 0; i--) {
        float *fb = r->feat_b + (size_t)(i < n_emit ? i : n_emit - 1) * fm;
        const float *prev = NULL, *flow = NULL;
        if (i < n - 1) {
            flow = align_flow(r, frames[i], frames[i + 1], i == 0 ? "spynet_bwd0_residual" : NULL);
            if (flow) sv_tap_emit(r, "flow_backward", i, flow, 2, h, w, 1);
            prev = r->feat_b + (size_t)(i + 1 < n_emit ? i + 1 : n_emit - 1) * fm;
        }
        double t1 = sv_now();
        sv_trunk_step(r, SV_BRANCH_BACKWARD, frames[i], prev, flow, fb);
        if (r->conv_failed) return conv_error(r, e);
        prof->trunk += sv_now() - t1;
        sv_tap_emit(r, "backward_trunk_out", i, fb, C, h, w, blk);
    }
    // forward branch and reconstruction; r->hid carries the forward state from one chunk to the next
    for (int i = 0; i < n_emit; i++) {
        forward_step(r, frames, i, prev_frame);
        const double t2 = sv_now();
        double emit = 0;
        const int rc = sv_reconstruct(r, i, frames[i], fm ? r->feat_b + (size_t)i * fm : NULL, r->hid, out, ud,
                                      &emit, e);
        if (r->conv_failed) return conv_error(r, e);
        if (rc) return -1;
        prof->recon += sv_now() - t2 - emit;
        prof->emit += emit;
        prof->frames++;
    }
    return 0;
}

void sv_free_op(sv_conv_op *op) {
    if (op->plan) sv_conv_plan_free(op->plan);
    op->plan = NULL;
}

static void free_runner(sv_runner *base) {
    sv_vsr_runner *r = (sv_vsr_runner *)base;
    for (int l = 0; l < SV_SPY_LEVELS; l++)
        for (int j = 0; j < SV_SPY_CONVS; j++) sv_free_op(&r->spy[l][j]);
    sv_trunk_free(r);
    sv_free_op(&r->fusion);
    sv_free_op(&r->upconv1);
    sv_free_op(&r->upconv2);
    sv_free_op(&r->conv_hr);
    sv_free_op(&r->conv_last);
    for (int j = 0; j < SV_RECON_CONVS; j++) sv_free_op(&r->tail[j]);
    buf_spec bufs[MAX_BUFS];
    const int nbufs = runner_buffers(r, bufs);
    for (int i = 0; i < nbufs; i++)
        if (bufs[i].stage == BUF_KEEP) free(*bufs[i].p);
    free(r->arena);  // every other buffer lies in it
    free(r);
}

// The forward branch's hidden state [C, h, w], the one thing a chunk hands to the next.
void sv_runner_state_shape_for(const sv_model *m, int h, int w, int *planes, size_t *plane_floats) {
    *planes = m ? m->num_feat : 0;
    *plane_floats = m ? (size_t)h * w : 0;
}

static void state_shape(const sv_runner *base, int *planes, size_t *plane_floats) {
    const sv_vsr_runner *r = (const sv_vsr_runner *)base;
    sv_runner_state_shape_for(r->m, r->h, r->w, planes, plane_floats);
}

static void state_get(const sv_runner *base, int c0, int nc, float *chw) {
    const sv_vsr_runner *r = (const sv_vsr_runner *)base;
    channel_copy(sv_fmap_one(chw, nc, r->h, r->w, 1),
                 sv_fmap_slice(sv_fmap_in(r->hid, r->C, r->h, r->w, r->blk), c0, nc));
}

static void state_set(sv_runner *base, int c0, int nc, const float *chw) {
    sv_vsr_runner *r = (sv_vsr_runner *)base;
    // a copy into the window alone (layout_convert would clear the whole map first)
    channel_copy(sv_fmap_slice(sv_fmap_one(r->hid, r->C, r->h, r->w, r->blk), c0, nc),
                 sv_fmap_in(chw, nc, r->h, r->w, 1));
}

static const sv_runner_impl vsr_impl = {run_chunk, warm_up, free_runner, state_shape, state_get, state_set};
