// runner.c: plans and runs BasicVSR on a chunk of frames (see runner.h for the data flow).
//
// Tap names (test hook, plain CHW): "flow_backward" (pair i: spynet(x_i, x_{i+1})), "flow_forward"
// (pair i: spynet(x_{i+1}, x_i)), "spynet_bwd0_residual" (per level, pair 0), "backward_trunk_out",
// "forward_trunk_out", "fusion", "upconv1", "conv_last" (raw conv outputs, reference mode only),
// "bilinear_base".
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/layout.h"
#include "core/progress.h"
#include "model/runner_internal.h"
#include "ops/imresize.h"  // sv_imresize_scaled: the bicubic runner (m == NULL)
#include "ops/ops.h"

static float *alloc_buf(sv_runner *r, size_t nfloats, sv_err *e) {
    size_t bytes = nfloats * sizeof(float);
    float *p = NULL;
    if (posix_memalign((void **)&p, 64, bytes ? bytes : 64)) {
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
    r->bytes += bytes;
    return p;
}

void sv_run_conv(sv_runner *r, const sv_conv_op *op, float *out, const float *in, const float *residual,
                 int tap_index) {
    const sv_conv_desc *d = &op->d;
    if (r->mode == SV_EXEC_FAST) {
        // recorded here, reported by sv_runner_run_chunk after the frame (the op chain itself is void)
        if (sv_conv_plan_run(op->plan, out, in, residual)) r->conv_failed = op->layer;
        return;
    }
    int oh = d->h + 2 * d->pad - d->k + 1, ow = d->w + 2 * d->pad - d->k + 1;
    size_t n = (size_t)d->cout * oh * ow;
    // the raw conv output: to scratch before a residual add, to its own buffer before a shuffle (reference
    // mode is for tests: a malloc per call is fine; a failed one is reported like a failed conv)
    float *dst = residual ? r->scratch : d->shuffle ? malloc(n * sizeof(float)) : out;
    if (!dst) {
        r->conv_failed = op->layer;
        return;
    }
    conv2d_forward_ref(dst, in, op->layer->w, op->layer->b, d->cin, d->cout, d->h, d->w, d->k, d->pad, 1);
    if (op->tap) sv_tap_emit(r, op->tap, tap_index, dst, d->cout, oh, ow, 1);
    if (d->act) act_forward(dst, n, d->act_slope);
    if (residual) add_forward(out, dst, residual, n);
    if (d->shuffle) {
        pixel_shuffle_forward(out, dst, d->cout / 4, oh, ow, 2, 1);
        free(dst);
    }
}

void sv_tap_emit(sv_runner *r, const char *name, int index, const float *data, int c, int h, int w, int blk) {
    if (!r->tap) return;
    if (blk == 1) {
        r->tap(r->tap_ud, name, index, data, c, h, w);
        return;
    }
    float *tmp = malloc((size_t)c * h * w * sizeof(float));
    if (!tmp) return;
    channel_copy(tmp, c, 0, 1, data, c, 0, blk, c, h, w);
    r->tap(r->tap_ud, name, index, tmp, c, h, w);
    free(tmp);
}

void sv_runner_set_tap(sv_runner *r, sv_tap_fn tap, void *ud) {
    r->tap = tap;
    r->tap_ud = ud;
}

enum { RESIDUAL = 1, SHUFFLE = 2 };  // plan_conv's epilogue flags: + residual, 2x pixel shuffle

static int plan_conv(sv_runner *r, sv_conv_op *op, const sv_conv_layer *c, int h, int w, int act, float slope,
                     int flags, const char *tap, sv_err *e) {
    op->layer = c;
    op->tap = tap;
    op->d = (sv_conv_desc){.cin = c->cin, .cout = c->cout, .k = c->k, .pad = c->k / 2, .h = h, .w = w,
                           .blk = r->blk, .act = act, .act_slope = slope, .residual = (flags & RESIDUAL) != 0,
                           .shuffle = flags & SHUFFLE ? 2 : 0};
    if (r->mode != SV_EXEC_FAST) return 0;
    op->plan = sv_conv_plan_create(&op->d, c->w, c->b, e);
    return op->plan ? 0 : -1;
}

// B_i of one frame: the runner's only per-frame buffer (feat_b holds max_frames of them)
static size_t feat_floats(const sv_runner *r) { return sv_fmap_floats(r->C, r->h, r->w, r->blk); }

typedef struct {
    float **p;
    size_t n;  // floats
} buf_spec;
enum { MAX_BUFS = 24 + 2 * SV_SPY_LEVELS };

static void add_buf(buf_spec *b, int *n, float **p, size_t floats) { b[(*n)++] = (buf_spec){p, floats}; }

// Every buffer of runner r with its size in floats: the one list that sv_runner_create allocates and
// sv_runner_estimate sums. Needs r's model, mode, blk, C, h, w, max_frames and SPyNet sizes. Returns the count.
static int runner_buffers(sv_runner *r, buf_spec *b) {
    const sv_model *m = r->m;
    const int C = r->C, h = r->h, w = r->w, blk = r->blk;
    const size_t hw = (size_t)h * w, shw = (size_t)r->sh * r->sw;
    const int g1 = m->upconv1.cout / 4, g2 = m->upconv2.cout / 4;
    int maxmid = 1, n = 0;
    for (int t = 0; t < 2; t++)
        for (int k = 0; k < m->num_block; k++)
            if (m->trunk[t].blocks[k].conv1.cout > maxmid) maxmid = m->trunk[t].blocks[k].conv1.cout;
    // The 4x-resolution maps dominate the fixed memory: ps2 (upconv2's shuffled output) is reused for
    // out_blk (conv_last's output) once conv_hr has consumed it.
    size_t big2 = sv_fmap_floats(g2, 4 * h, 4 * w, blk), obn = sv_fmap_floats(3, 4 * h, 4 * w, blk);
    if (obn > big2) big2 = obn;
    add_buf(b, &n, &r->feat_b, feat_floats(r) * (size_t)r->max_frames);
    add_buf(b, &n, &r->hid, sv_fmap_floats(C, h, w, blk));
    add_buf(b, &n, &r->warped, sv_fmap_floats(C, h, w, blk));
    add_buf(b, &n, &r->cat, sv_fmap_floats(C + 3, h, w, blk));
    add_buf(b, &n, &r->mid, sv_fmap_floats(maxmid, h, w, blk));
    add_buf(b, &n, &r->gath, sv_fmap_floats(C, h, w, blk));
    add_buf(b, &n, &r->res, sv_fmap_floats(C, h, w, blk));
    add_buf(b, &n, &r->flow, 2 * hw);
    add_buf(b, &n, &r->fuse_in, sv_fmap_floats(2 * C, h, w, blk));
    add_buf(b, &n, &r->fuse_out, sv_fmap_floats(m->fusion.cout, h, w, blk));
    add_buf(b, &n, &r->ps1, sv_fmap_floats(g1, 2 * h, 2 * w, blk));
    add_buf(b, &n, &r->hr, sv_fmap_floats(m->conv_hr.cout, 4 * h, 4 * w, blk));
    add_buf(b, &n, &r->ps2, big2);
    add_buf(b, &n, &r->out_chw, 3 * hw * 16);
    if (r->mode == SV_EXEC_REFERENCE)
        add_buf(b, &n, &r->scratch, (size_t)C * hw > 3 * hw * 16 ? (size_t)C * hw : 3 * hw * 16);
    for (int l = 0; l < SV_SPY_LEVELS; l++) {
        add_buf(b, &n, &r->spy_ref[l], 3 * (size_t)r->lh[l] * r->lw[l]);
        add_buf(b, &n, &r->spy_supp[l], 3 * (size_t)r->lh[l] * r->lw[l]);
    }
    add_buf(b, &n, &r->spy_flow, 2 * shw);
    add_buf(b, &n, &r->spy_up, 2 * shw);
    add_buf(b, &n, &r->spy_warp, 3 * shw);
    add_buf(b, &n, &r->spy_in, sv_fmap_floats(8, r->sh, r->sw, blk));
    add_buf(b, &n, &r->spy_a, sv_fmap_floats(64, r->sh, r->sw, blk));
    add_buf(b, &n, &r->spy_b, sv_fmap_floats(64, r->sh, r->sw, blk));
    return n;
}

// SPyNet's working size (h, w rounded up to multiples of 32) and its pyramid, level 0 the coarsest (the
// sizes sv_spynet_plan gives the runner)
static void spynet_sizes(sv_runner *r) {
    r->sh = (r->h + 31) / 32 * 32;
    r->sw = (r->w + 31) / 32 * 32;
    for (int l = 0; l < SV_SPY_LEVELS; l++) {
        r->lh[l] = r->sh >> (SV_SPY_LEVELS - 1 - l);
        r->lw[l] = r->sw >> (SV_SPY_LEVELS - 1 - l);
    }
}

// Bytes of the conv plans (fast mode): Winograd keeps (m+2)^2 <= 64 transformed taps per 3x3 kernel and
// (4+6)^2 = 100 per 7x7 (SPyNet), on channels padded to blk: at most 8x and 3x the weights with the
// padding; and each thread's scratch while a Winograd conv runs (under 0.5 MB at 64 channels). Reference
// mode: the conv output before a pixel shuffle, allocated per call (upconv2's is the largest).
static size_t plans_bytes(const sv_model *m, int h, int w, sv_exec_mode mode) {
    if (mode == SV_EXEC_REFERENCE) return (size_t)m->upconv2.cout * 4 * h * w * sizeof(float);
    size_t spy;
    sv_model_param_count(m, &spy);
    return ((m->nparams - spy) * 8 + spy * 3) * sizeof(float) + ((size_t)1 << 20) * (size_t)omp_get_max_threads();
}

static int runner_blk(sv_exec_mode mode) { return mode == SV_EXEC_FAST ? sv_conv_preferred_blk() : 1; }

void sv_runner_estimate(const sv_model *m, int h, int w, sv_exec_mode mode, size_t *fixed, size_t *per_frame) {
    if (!m) {  // bicubic: one output frame, plus imresize's intermediate and its tap tables
        *fixed = (size_t)48 * h * w * sizeof(float) * 2;
        *per_frame = 0;
        return;
    }
    sv_runner r = {.m = m, .mode = mode, .blk = runner_blk(mode), .h = h, .w = w, .C = m->num_feat};
    spynet_sizes(&r);
    buf_spec b[MAX_BUFS];
    const int n = runner_buffers(&r, b);  // max_frames 0: the fixed part
    size_t floats = 0;
    for (int i = 0; i < n; i++) floats += b[i].n;
    *fixed = floats * sizeof(float) + plans_bytes(m, h, w, mode);
    *per_frame = feat_floats(&r) * sizeof(float);
}

sv_runner *sv_runner_create(const sv_model *m, int h, int w, int max_frames, sv_exec_mode mode, sv_err *e) {
    if (h < 1 || w < 1 || max_frames < 1) {
        sv_errf(e, "invalid runner size %dx%d, %d frames", h, w, max_frames);
        return NULL;
    }
    sv_runner *r = calloc(1, sizeof *r);
    if (!r) {
        sv_errf(e, "out of memory");
        return NULL;
    }
    r->m = m;
    r->mode = mode;
    r->blk = runner_blk(mode);
    r->h = h;
    r->w = w;
    r->max_frames = max_frames;
    if (!m) {  // bicubic: no network, one output buffer
        r->bytes = (size_t)48 * h * w * sizeof(float);
        if ((r->out_chw = malloc(r->bytes))) return r;
        sv_errf(e, "out of memory for a %dx%d output frame", 4 * w, 4 * h);
        goto fail;
    }
    r->C = m->num_feat;
    const float slope = m->act_slope;
    if (sv_spynet_plan(r, e)) goto fail;
    static const char *tname[2] = {"backward_trunk", "forward_trunk"};
    for (int t = 0; t < 2; t++) {
        const sv_trunk *tr = &m->trunk[t];
        sv_trunk_ops *to = &r->trunk[t];
        to->conv1 = calloc((size_t)m->num_block + 1, sizeof(sv_conv_op));
        to->conv2 = calloc((size_t)m->num_block + 1, sizeof(sv_conv_op));
        if (!to->conv1 || !to->conv2) {
            sv_errf(e, "out of memory");
            goto fail;
        }
        if (plan_conv(r, &to->conv_first, &tr->conv_first, h, w, 1, slope, 0, NULL, e)) goto fail;
        for (int k = 0; k < m->num_block; k++) {
            const sv_resblock *b = &tr->blocks[k];
            int dense_out = b->out_idx == NULL;
            if (plan_conv(r, &to->conv1[k], &b->conv1, h, w, 1, 0.0f, 0, NULL, e) ||
                plan_conv(r, &to->conv2[k], &b->conv2, h, w, 0, 0.0f, dense_out ? RESIDUAL : 0, NULL, e)) {
                sv_errprefix(e, "planning %s block %d", tname[t], k);
                goto fail;
            }
        }
    }
    if (plan_conv(r, &r->fusion, &m->fusion, h, w, 1, slope, 0, "fusion", e) ||
        plan_conv(r, &r->upconv1, &m->upconv1, h, w, 1, slope, SHUFFLE, "upconv1", e) ||
        plan_conv(r, &r->upconv2, &m->upconv2, 2 * h, 2 * w, 1, slope, SHUFFLE, NULL, e) ||
        plan_conv(r, &r->conv_hr, &m->conv_hr, 4 * h, 4 * w, 1, slope, 0, NULL, e) ||
        plan_conv(r, &r->conv_last, &m->conv_last, 4 * h, 4 * w, 0, 0.0f, RESIDUAL, "conv_last", e))
        goto fail;
    // The pixel shuffles are fused into the convs before them (upconv1/2 write the shuffled map), and so is
    // the activation after each, which is element-wise.
    buf_spec bufs[MAX_BUFS];
    const int nbufs = runner_buffers(r, bufs);
    for (int i = 0; i < nbufs; i++)
        if (!(*bufs[i].p = alloc_buf(r, bufs[i].n, e))) goto fail;
    r->out_blk = r->ps2;
    return r;
fail:
    sv_runner_free(r);
    return NULL;
}

// One step of a propagation branch: hid = trunk(cat[x, warp(prev, flow)]) (prev NULL: zeros).
static void trunk_step(sv_runner *r, int t, const float *x, const float *prev, const float *flow, float *hid) {
    const sv_model *m = r->m;
    const sv_trunk_ops *to = &r->trunk[t];
    const int C = r->C, h = r->h, w = r->w, blk = r->blk;
    size_t fm = sv_fmap_floats(C, h, w, blk);
    channel_copy(r->cat, C + 3, 0, blk, x, 3, 0, 1, 3, h, w);
    if (prev) {
        flow_warp_forward(r->warped, prev, flow, C, h, w, SV_PAD_ZEROS, blk);
        channel_copy(r->cat, C + 3, 3, blk, r->warped, C, 0, blk, C, h, w);
    } else {
        memset(r->warped, 0, fm * sizeof(float));
        channel_copy(r->cat, C + 3, 3, blk, r->warped, C, 0, blk, C, h, w);
    }
    sv_run_conv(r, &to->conv_first, hid, r->cat, NULL, 0);
    for (int k = 0; k < m->num_block; k++) {
        const sv_resblock *b = &m->trunk[t].blocks[k];
        const float *in = hid;
        if (b->in_idx) {
            channel_gather(r->gath, hid, b->in_idx, b->conv1.cin, C, h, w, blk);
            in = r->gath;
        }
        sv_run_conv(r, &to->conv1[k], r->mid, in, NULL, 0);
        if (b->out_idx) {
            sv_run_conv(r, &to->conv2[k], r->res, r->mid, NULL, 0);
            channel_scatter_add(hid, r->res, b->out_idx, b->conv2.cout, C, h, w, blk);
        } else {
            sv_run_conv(r, &to->conv2[k], hid, r->mid, hid, 0);
        }
    }
}

// y_i = conv_last(act(conv_hr(ps(act(upconv2(ps(act(upconv1(act(fusion(cat[B_i, F_i])))))))))) + up4(x_i)
static void reconstruct(sv_runner *r, int i, const float *x, const float *fb, const float *ff) {
    const int C = r->C, h = r->h, w = r->w, blk = r->blk;
    channel_copy(r->fuse_in, 2 * C, 0, blk, fb, C, 0, blk, C, h, w);
    channel_copy(r->fuse_in, 2 * C, C, blk, ff, C, 0, blk, C, h, w);
    sv_run_conv(r, &r->fusion, r->fuse_out, r->fuse_in, NULL, i);
    sv_run_conv(r, &r->upconv1, r->ps1, r->fuse_out, NULL, i);  // + pixel shuffle
    sv_run_conv(r, &r->upconv2, r->ps2, r->ps1, NULL, i);       // + pixel shuffle
    sv_run_conv(r, &r->conv_hr, r->hr, r->ps2, NULL, i);
    // base = bilinear x4 of the LR frame, written into the output, then conv_last adds onto it
    resize_bilinear_forward(r->out_chw, x, 3, h, w, 4 * h, 4 * w, 0, 1);
    sv_tap_emit(r, "bilinear_base", i, r->out_chw, 3, 4 * h, 4 * w, 1);
    if (blk != 1) channel_copy(r->out_blk, 3, 0, blk, r->out_chw, 3, 0, 1, 3, 4 * h, 4 * w);
    float *ob = blk == 1 ? r->out_chw : r->out_blk;
    sv_run_conv(r, &r->conv_last, ob, r->hr, ob, i);
    if (blk != 1) channel_copy(r->out_chw, 3, 0, 1, r->out_blk, 3, 0, blk, 3, 4 * h, 4 * w);
}

static int conv_error(sv_runner *r, sv_err *e) {
    r->conv_failed = NULL;
    return sv_errf(e, "a convolution failed to run (out of memory for its scratch, or a oneDNN error)");
}

int sv_runner_run_chunk(sv_runner *r, const float *const *frames, int n, int n_emit, const float *prev_frame,
                        sv_output_fn out, void *ud, sv_err *e) {
    if (n < 1 || n > r->max_frames || n_emit < 1 || n_emit > n)
        return sv_errf(e, "runner: %d frames (%d emitted), planned for 1..%d", n, n_emit, r->max_frames);
    const int C = r->C, h = r->h, w = r->w, blk = r->blk;
    if (!r->m) {  // bicubic: each frame on its own
        for (int i = 0; i < n_emit; i++)
            if (sv_imresize_scaled(r->out_chw, frames[i], 3, h, w, 4.0, 4.0, 4 * h, 4 * w, e) ||
                out(ud, i, r->out_chw, e))
                return -1;
        return 0;
    }
    const size_t fm = feat_floats(r);
    // backward branch over all n frames
    for (int i = n - 1; i >= 0; i--) {
        float *fb = r->feat_b + (size_t)i * fm;
        const float *prev = NULL;
        double t0 = sv_now();
        if (i < n - 1) {
            sv_spynet_flow(r, frames[i], frames[i + 1], r->flow, i == 0 ? "spynet_bwd0_residual" : NULL);
            sv_tap_emit(r, "flow_backward", i, r->flow, 2, h, w, 1);
            prev = r->feat_b + (size_t)(i + 1) * fm;
        }
        double t1 = sv_now();
        trunk_step(r, SV_BRANCH_BACKWARD, frames[i], prev, r->flow, fb);
        if (r->conv_failed) return conv_error(r, e);
        r->t_spynet += t1 - t0;
        r->t_trunk += sv_now() - t1;
        sv_tap_emit(r, "backward_trunk_out", i, fb, C, h, w, blk);
    }
    // forward branch and reconstruction; r->hid carries the forward state from one chunk to the next
    for (int i = 0; i < n_emit; i++) {
        const float *prev = NULL, *prev_x = i > 0 ? frames[i - 1] : prev_frame;
        double t0 = sv_now();
        if (prev_x) {
            sv_spynet_flow(r, frames[i], prev_x, r->flow, NULL);
            if (i > 0) sv_tap_emit(r, "flow_forward", i - 1, r->flow, 2, h, w, 1);
            prev = r->hid;
        }
        double t1 = sv_now();
        trunk_step(r, SV_BRANCH_FORWARD, frames[i], prev, r->flow, r->hid);
        sv_tap_emit(r, "forward_trunk_out", i, r->hid, C, h, w, blk);
        double t2 = sv_now();
        reconstruct(r, i, frames[i], r->feat_b + (size_t)i * fm, r->hid);
        if (r->conv_failed) return conv_error(r, e);
        double t3 = sv_now();
        if (out && out(ud, i, r->out_chw, e)) return -1;
        r->t_spynet += t1 - t0;
        r->t_trunk += t2 - t1;
        r->t_recon += t3 - t2;
        r->t_emit += sv_now() - t3;
        r->frames_done++;
    }
    return 0;
}

int sv_runner_run(sv_runner *r, const float *const *frames, int n, sv_output_fn out, void *ud, sv_err *e) {
    return sv_runner_run_chunk(r, frames, n, n, NULL, out, ud, e);
}

size_t sv_runner_bytes(const sv_runner *r) { return r->bytes; }

static void free_op(sv_conv_op *op) {
    if (op->plan) sv_conv_plan_free(op->plan);
    op->plan = NULL;
}

void sv_runner_free(sv_runner *r) {
    if (!r) return;
    const char *prof = getenv("SLIMVSR_PROFILE");
    if (prof && *prof && *prof != '0' && r->frames_done > 0) {
        double n = r->frames_done;
        fprintf(stderr, "profile: %d frames, per frame: spynet %.3f s, trunks %.3f s, reconstruction %.3f s, "
                        "output (convert + encode) %.3f s\n",
                r->frames_done, r->t_spynet / n, r->t_trunk / n, r->t_recon / n, r->t_emit / n);
    }
    for (int l = 0; l < SV_SPY_LEVELS; l++)
        for (int j = 0; j < SV_SPY_CONVS; j++) free_op(&r->spy[l][j]);
    for (int t = 0; t < 2; t++) {
        free_op(&r->trunk[t].conv_first);
        for (int k = 0; r->trunk[t].conv1 && r->m && k < r->m->num_block; k++) {
            free_op(&r->trunk[t].conv1[k]);
            free_op(&r->trunk[t].conv2[k]);
        }
        free(r->trunk[t].conv1);
        free(r->trunk[t].conv2);
    }
    free_op(&r->fusion);
    free_op(&r->upconv1);
    free_op(&r->upconv2);
    free_op(&r->conv_hr);
    free_op(&r->conv_last);
    float *bufs[] = {r->feat_b, r->hid, r->warped, r->cat, r->mid, r->gath, r->res, r->flow, r->fuse_in,
                     r->fuse_out, r->ps1, r->hr, r->ps2, r->out_chw, r->scratch,
                     r->spy_flow, r->spy_up, r->spy_warp, r->spy_in, r->spy_a, r->spy_b};
    for (size_t i = 0; i < sizeof bufs / sizeof *bufs; i++) free(bufs[i]);
    for (int l = 0; l < SV_SPY_LEVELS; l++) {
        free(r->spy_ref[l]);
        free(r->spy_supp[l]);
    }
    free(r);
}
