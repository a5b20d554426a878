// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// net.c: the BasicVSR training graph (see net.h for the data flow).
//
// Every batched tensor holds `batch` feature maps back to back (sample s at s * fmap), in layout blk.
#include "train/net.h"

#include <stdlib.h>
#include <string.h>

#include "core/layout.h"
#include "core/map_alloc.h"
#include "ops/conv.h"
#include "ops/ops.h"
#include "train/spynet_train.h"

typedef struct {
    sv_conv_train *first, **c1, **c2;
    float *store;       // per frame: cat [C+3], kept block inputs x_b [C], (recompute 0) mids t_b [mid]
    size_t frame_floats;
} branch;

struct sv_trainnet {
    const sv_model *m;
    sv_net_cfg c;
    int blk, C, nb, k, dry;
    int spynet;           // the model runs SPyNet (sv_uses_spynet); 0: zero flow, each warp is the identity
    int d0;               // the first branch (sv_first_branch): SV_BRANCH_FORWARD for a uni model, whose
                          // backward branch (br[0], dstate[0], flows[0]) is never allocated nor run
    int *xslot;           // block input b (0..nb) -> slot in the frame store, or -1 (recomputed)
    const float **xs, **ts;  // backward: the block inputs and mids of the segment being processed
    size_t fC, fC3, fmid, ffuse; // floats of one sample's map: C, C+3, widest mid, fusion's input (2C; uni: C)
    branch br[2];
    sv_spytrain *spy;
    int spy_group;        // pairs per SPyNet call
    int spy_all;          // every pair of both directions in one call whose activations stay for the
                          // backward (no recompute): when they are at most SPY_KEEP_PAIRS
    // flows[dir] : batch*(seq-1) maps [2,h,w] plain, pair (s, i) at s*(seq-1)+i; dflows alike (spynet only)
    float *flows[2], *dflows[2];
    float *dstate[2];     // seq * batch * fC: dB_i, dF_i
    float *segx, *segt;   // recompute scratch: k block inputs, k mids (batch each)
    float *gath, *dgath, *res, *dres, *dt, *dcat, *dwarp, *warped;
    // reconstruction of one frame (batch each)
    sv_conv_train *fusion, *upconv1, *upconv2, *conv_hr, *conv_last;
    float *dplain, *flow_scratch;  // [3,4h,4w] loss gradient of one sample; [2,h,w] recomputed flows
    float *fuse_in, *fo, *u1, *p1, *u2, *p2, *hr, *out, *out_plain, *base, *dfuse, *dfo, *du1, *dp1, *dbig1,
        *dbig2, *dout;
    sv_state_loss_fn state_loss;
    void *state_loss_ud;
    size_t bytes;
};

static float *buf(sv_trainnet *t, size_t nfloats, sv_err *e) {
    size_t bytes = (nfloats ? nfloats : 1) * sizeof(float);
    t->bytes += bytes;
    if (t->dry) return (float *)t;  // counting only: a non-NULL marker, never dereferenced
    float *p = sv_map_alloc(bytes);
    if (!p) {
        sv_errf(e, "out of memory: training needs more than %zu MB (try a smaller --batch/--seq/--patch or "
                   "--recompute)", t->bytes >> 20);
        return NULL;
    }
    memset(p, 0, bytes);
    return p;
}

static sv_conv_train *conv(sv_trainnet *t, const sv_conv_layer *l, int h, int w, int act, float slope, int residual,
                           sv_err *e) {
    sv_conv_desc d = {.cin = l->cin, .cout = l->cout, .k = l->k, .pad = l->k / 2, .h = h, .w = w, .blk = t->blk,
                      .act = act, .act_slope = slope, .residual = residual};
    t->bytes += sv_conv_train_bytes(&d, t->c.batch);
    if (t->dry) return (sv_conv_train *)t;  // counting only, as buf()
    return sv_conv_train_create(&d, t->c.batch, t->c.reference, e);
}

static float *grad_of(const sv_trainnet *t, float *grads, const float *param) {
    return grads + (param - t->m->params);
}

// The reconstruction's buffers and convs, for the batch's frame i at a time (sizes: see recon_forward).
static int plan_recon(sv_trainnet *t, sv_err *e) {
    const sv_model *m = t->m;
    const int B = t->c.batch, h = t->c.h, w = t->c.w, blk = t->blk;
    const float slope = m->act_slope;
    const int g1 = m->upconv1.cout / SV_SHUFFLE_GROUP, g2 = m->upconv2.cout / SV_SHUFFLE_GROUP;
    size_t fo = sv_fmap_floats(m->fusion.cout, h, w, blk), u1 = sv_fmap_floats(m->upconv1.cout, h, w, blk);
    size_t p1 = sv_fmap_floats(g1, 2 * h, 2 * w, blk), u2 = sv_fmap_floats(m->upconv2.cout, 2 * h, 2 * w, blk);
    const int H = SV_SCALE * h, W = SV_SCALE * w;  // the output size
    size_t p2 = sv_fmap_floats(g2, H, W, blk), hr = sv_fmap_floats(m->conv_hr.cout, H, W, blk);
    size_t ob = sv_fmap_floats(3, H, W, blk), big = u2 > hr ? u2 : hr;
    if (p2 > big) big = p2;
    size_t HW = (size_t)H * W;
    if (!(t->fuse_in = buf(t, B * t->ffuse, e)) || !(t->fo = buf(t, B * fo, e)) || !(t->u1 = buf(t, B * u1, e)) ||
        !(t->p1 = buf(t, B * p1, e)) || !(t->u2 = buf(t, B * u2, e)) || !(t->p2 = buf(t, B * p2, e)) ||
        !(t->hr = buf(t, B * hr, e)) || !(t->out = buf(t, B * ob, e)) || !(t->out_plain = buf(t, 3 * HW, e)) ||
        !(t->base = buf(t, B * ob, e)) || !(t->dfuse = buf(t, B * t->ffuse, e)) || !(t->dfo = buf(t, B * fo, e)) ||
        !(t->du1 = buf(t, B * u1, e)) || !(t->dp1 = buf(t, B * (p1 > u1 ? p1 : u1), e)) ||
        !(t->dbig1 = buf(t, B * big, e)) || !(t->dbig2 = buf(t, B * big, e)) || !(t->dout = buf(t, B * ob, e)) ||
        !(t->dplain = buf(t, 3 * HW, e)))
        return -1;
    if (!(t->fusion = conv(t, &m->fusion, h, w, 1, slope, 0, e)) ||
        !(t->upconv1 = conv(t, &m->upconv1, h, w, 1, slope, 0, e)) ||
        !(t->upconv2 = conv(t, &m->upconv2, 2 * h, 2 * w, 1, slope, 0, e)) ||
        !(t->conv_hr = conv(t, &m->conv_hr, H, W, 1, slope, 0, e)) ||
        !(t->conv_last = conv(t, &m->conv_last, H, W, 0, 0.0f, 1, e)))
        return -1;
    return 0;
}

// The most pairs (both directions together) whose SPyNet activations are kept from the forward to the
// backward instead of recomputed: batch 2 x 7 frames (24 pairs) at patch 64 then keeps about 80 MB more.
enum { SPY_KEEP_PAIRS = 32 };

static sv_trainnet *create(const sv_model *m, const sv_net_cfg *c, int dry, sv_err *e) {
    if (c->batch < 1 || c->seq < 2 || c->h < 1 || c->w < 1 || c->recompute < 0) {
        sv_errf(e, "training: invalid batch %d x %d frames of %dx%d (at least 2 frames per clip)", c->batch, c->seq,
                c->h, c->w);
        return NULL;
    }
    sv_trainnet *t = sv_calloc(1, sizeof *t, e);
    if (!t) return NULL;
    t->m = m;
    t->c = *c;
    t->dry = dry;
    t->blk = c->reference ? 1 : sv_conv_preferred_blk();
    t->C = m->num_feat;
    t->nb = m->num_block;
    t->k = c->recompute > t->nb ? t->nb : c->recompute;
    t->spynet = sv_uses_spynet(m);
    t->d0 = sv_first_branch(m);
    t->spy_group = c->spy_group > 0 ? c->spy_group : 16;
    const int B = c->batch, T = c->seq, h = c->h, w = c->w, C = t->C, nb = t->nb, blk = t->blk, k = t->k;
    const float slope = m->act_slope;
    int mid = 1, maxS = 1, maxK = 1;
    for (int b = t->d0 * nb; b < 2 * nb; b++) {
        const sv_resblock *rb = &m->trunk[b / nb].blocks[b % nb];
        if (rb->conv1.cout > mid) mid = rb->conv1.cout;
        if (rb->conv1.cin > maxS) maxS = rb->conv1.cin;
        if (rb->conv2.cout > maxK) maxK = rb->conv2.cout;
    }
    t->fC = sv_fmap_floats(C, h, w, blk);
    t->fC3 = sv_fmap_floats(C + 3, h, w, blk);
    t->fmid = sv_fmap_floats(mid, h, w, blk);
    t->ffuse = sv_fmap_floats(sv_branches(m) * C, h, w, blk);
    if (!dry && (!(t->xslot = sv_calloc((size_t)nb + 1, sizeof(int), e)) ||
                 !(t->xs = sv_calloc((size_t)nb + 1, sizeof *t->xs, e)) ||
                 !(t->ts = sv_calloc((size_t)nb + 1, sizeof *t->ts, e))))
        goto fail;
    int nkept = 0;
    for (int b = 0; b <= nb; b++) {
        int kept = k == 0 || b % k == 0 || b == nb;
        if (t->xslot) t->xslot[b] = kept ? nkept : -1;
        nkept += kept;
    }
    const size_t per_frame = (size_t)B * (t->fC3 + (size_t)nkept * t->fC + (k == 0 ? (size_t)nb * t->fmid : 0));
    for (int d = t->d0; d < 2; d++) {
        branch *br = &t->br[d];
        const sv_trunk *tr = &m->trunk[d];
        br->frame_floats = per_frame;
        if (!(br->store = buf(t, per_frame * T, e))) goto fail;
        if (!(t->dstate[d] = buf(t, (size_t)T * B * t->fC, e))) goto fail;
        size_t np = (size_t)B * (T - 1) * 2 * h * w;
        if (t->spynet && (!(t->flows[d] = buf(t, np, e)) || !(t->dflows[d] = buf(t, np, e)))) goto fail;
        br->c1 = sv_calloc((size_t)nb + 1, sizeof *br->c1, e);
        br->c2 = sv_calloc((size_t)nb + 1, sizeof *br->c2, e);
        if (!br->c1 || !br->c2) goto fail;
        if (!(br->first = conv(t, &tr->conv_first, h, w, 1, slope, 0, e))) goto fail;
        for (int b = 0; b < nb; b++) {
            const sv_resblock *rb = &tr->blocks[b];
            if (!(br->c1[b] = conv(t, &rb->conv1, h, w, 1, 0.0f, 0, e)) ||
                !(br->c2[b] = conv(t, &rb->conv2, h, w, 0, 0.0f, rb->out_idx == NULL, e)))
                goto fail;
        }
    }
    if (k > 0 && (!(t->segx = buf(t, (size_t)k * B * t->fC, e)) || !(t->segt = buf(t, (size_t)k * B * t->fmid, e))))
        goto fail;
    if (!(t->gath = buf(t, B * sv_fmap_floats(maxS, h, w, blk), e)) ||
        !(t->dgath = buf(t, B * sv_fmap_floats(maxS, h, w, blk), e)) ||
        !(t->res = buf(t, B * sv_fmap_floats(maxK, h, w, blk), e)) ||
        !(t->dres = buf(t, B * sv_fmap_floats(maxK, h, w, blk), e)) || !(t->dt = buf(t, B * t->fmid, e)) ||
        !(t->dcat = buf(t, B * t->fC3, e)))
        goto fail;
    if (t->spynet && (!(t->dwarp = buf(t, B * t->fC, e)) || !(t->warped = buf(t, t->fC, e)) ||
                      !(t->flow_scratch = buf(t, 2 * (size_t)h * w, e))))
        goto fail;
    if (plan_recon(t, e)) goto fail;
    if (!t->spynet) return t;  // zero flow: no SPyNet
    const int nd = 2 - t->d0;  // flow directions: both, or a uni model's forward one
    t->spy_all = nd * B * (T - 1) <= SPY_KEEP_PAIRS;
    const int P = t->spy_all ? nd * B * (T - 1) : B * (T - 1) < t->spy_group ? B * (T - 1) : t->spy_group;
    if (dry) {
        t->bytes += sv_spytrain_estimate(m, h, w, P, blk);
        return t;
    }
    if (!(t->spy = sv_spytrain_create(m, h, w, P, blk, c->reference, e))) goto fail;
    t->bytes += sv_spytrain_bytes(t->spy);
    return t;
fail:
    sv_trainnet_free(t);
    return NULL;
}

sv_trainnet *sv_trainnet_create(const sv_model *m, const sv_net_cfg *c, sv_err *e) { return create(m, c, 0, e); }

size_t sv_trainnet_estimate(const sv_model *m, const sv_net_cfg *c) {
    sv_trainnet *t = create(m, c, 1, NULL);
    if (!t) return 0;
    size_t n = t->bytes;
    sv_trainnet_free(t);
    return n;
}

size_t sv_trainnet_bytes(const sv_trainnet *t) { return t->bytes; }

// ---- storage of one frame of a branch ----
static float *frame_cat(sv_trainnet *t, int d, int i) { return t->br[d].store + (size_t)i * t->br[d].frame_floats; }
static float *frame_x(sv_trainnet *t, int d, int i, int b) {
    int s = t->xslot[b];
    return s < 0 ? NULL : frame_cat(t, d, i) + (size_t)t->c.batch * (t->fC3 + (size_t)s * t->fC);
}
static float *frame_t(sv_trainnet *t, int d, int i, int b) {
    if (t->k) return NULL;
    return frame_cat(t, d, i) + (size_t)t->c.batch * (t->fC3 + (size_t)(t->nb + 1) * t->fC + (size_t)b * t->fmid);
}
// state of frame i: the output of its last block
static float *frame_h(sv_trainnet *t, int d, int i) { return frame_x(t, d, i, t->nb); }

// flow pair i of sample s (dir 0: flow_b[i] = spy(x_i, x_{i+1}); 1: flow_f[i] = spy(x_{i+1}, x_i))
static float *pair_ptr(sv_trainnet *t, float *base, int s, int i) {
    return base + ((size_t)s * (t->c.seq - 1) + i) * 2 * t->c.h * t->c.w;
}

// ---- views (core/layout.h) of the batch: one map per clip ----
// maps of c channels at the patch size in the net's layout, written (maps) or read (maps_in)
static sv_fmap maps(const sv_trainnet *t, float *p, int c) {
    return sv_fmap_batch(p, c, t->c.h, t->c.w, t->blk, t->c.batch);
}
static sv_fmap maps_in(const sv_trainnet *t, const float *p, int c) {
    return sv_fmap_batch_in(p, c, t->c.h, t->c.w, t->blk, t->c.batch);
}
// frame i of every clip of x, batch*seq plain [3, fh, fw] frames (clip s frame i at s*seq + i): lr, gt
static sv_fmap clip_frames(const sv_trainnet *t, const float *x, int i, int fh, int fw) {
    const size_t frame = (size_t)3 * fh * fw;
    return sv_fmap_strided(sv_fmap_in(x + i * frame, 3, fh, fw, 1), t->c.batch, t->c.seq * frame);
}

// pixel shuffle x2 of each map of the batch: in [4c,h,w] -> out [c,2h,2w]; backward: din += unshuffle(dout)
static void shuffle_maps(const sv_trainnet *t, float *out, const float *in, int c, int h, int w) {
    const size_t fo = sv_fmap_floats(c, 2 * h, 2 * w, t->blk), fi = sv_fmap_floats(4 * c, h, w, t->blk);
    for (int s = 0; s < t->c.batch; s++) pixel_shuffle_forward(out + s * fo, in + s * fi, c, h, w, 2, t->blk);
}
static void shuffle_maps_backward(const sv_trainnet *t, float *din, const float *dout, int c, int h, int w) {
    const size_t fo = sv_fmap_floats(c, 2 * h, 2 * w, t->blk), fi = sv_fmap_floats(4 * c, h, w, t->blk);
    for (int s = 0; s < t->c.batch; s++) pixel_shuffle_backward(din + s * fi, dout + s * fo, c, h, w, 2, t->blk);
}

// ---- one residual block: xo = xi + scatter_K2(conv2(relu(conv1(gather_S(xi))))) ----
static int block_forward(sv_trainnet *t, int d, int b, const float *xi, float *tb, float *xo, sv_err *e) {
    const sv_resblock *rb = &t->m->trunk[d].blocks[b];
    const float *in = xi;
    if (rb->in_idx) {
        channel_gather(maps(t, t->gath, rb->conv1.cin), maps_in(t, xi, t->C), rb->in_idx);
        in = t->gath;
    }
    if (sv_conv_train_forward(t->br[d].c1[b], tb, in, rb->conv1.w, rb->conv1.b, NULL, e)) return -1;
    if (!xo) return 0;
    if (!rb->out_idx) return sv_conv_train_forward(t->br[d].c2[b], xo, tb, rb->conv2.w, rb->conv2.b, xi, e);
    if (sv_conv_train_forward(t->br[d].c2[b], t->res, tb, rb->conv2.w, rb->conv2.b, NULL, e)) return -1;
    memcpy(xo, xi, (size_t)t->c.batch * t->fC * sizeof(float));
    channel_scatter_add(maps(t, xo, t->C), maps(t, t->res, rb->conv2.cout), rb->out_idx);
    return 0;
}

// g: d(xo) on entry, d(xi) on return (in place: the skip path passes g through unchanged).
static int block_backward(sv_trainnet *t, int d, int b, const float *xi, const float *tb, float *g, float *grads,
                          sv_err *e) {
    const sv_resblock *rb = &t->m->trunk[d].blocks[b];
    const int B = t->c.batch;
    const float *dres = g;
    if (rb->out_idx) {
        const sv_fmap dr = maps(t, t->dres, rb->conv2.cout);
        memset(t->dres, 0, B * dr.stride * sizeof(float));
        channel_scatter_add_backward(dr, maps_in(t, g, t->C), rb->out_idx);
        dres = t->dres;
    }
    size_t nt = (size_t)B * maps(t, t->dt, rb->conv1.cout).stride;
    memset(t->dt, 0, nt * sizeof(float));
    if (sv_conv_train_backward(t->br[d].c2[b], t->dt, grad_of(t, grads, rb->conv2.w), grad_of(t, grads, rb->conv2.b),
                               dres, tb, rb->conv2.w, e))
        return -1;
    act_backward(t->dt, t->dt, tb, nt, 0.0f);
    if (!rb->in_idx)
        return sv_conv_train_backward(t->br[d].c1[b], g, grad_of(t, grads, rb->conv1.w),
                                      grad_of(t, grads, rb->conv1.b), t->dt, xi, rb->conv1.w, e);
    const sv_fmap dgath = maps(t, t->dgath, rb->conv1.cin);
    channel_gather(maps(t, t->gath, rb->conv1.cin), maps_in(t, xi, t->C), rb->in_idx);
    memset(t->dgath, 0, B * dgath.stride * sizeof(float));
    if (sv_conv_train_backward(t->br[d].c1[b], t->dgath, grad_of(t, grads, rb->conv1.w),
                               grad_of(t, grads, rb->conv1.b), t->dt, t->gath, rb->conv1.w, e))
        return -1;
    channel_scatter_add(maps(t, g, t->C), dgath, rb->in_idx);  // gather's backward
    return 0;
}

// ---- one step of a branch: frame i, previous state prev (NULL: zeros) warped by flow pair fp ----
// The state of frame pi of sample s aligned onto frame i: warped by flow pair `pair` into t->warped, or, with
// zero flow, the state itself (the identity warp). [C, h, w] in the net's layout.
static const float *aligned_state(sv_trainnet *t, int d, int pi, int pair, int s) {
    const float *prev = frame_h(t, d, pi) + s * t->fC;
    if (!t->spynet) return prev;
    flow_warp_forward(t->warped, prev, pair_ptr(t, t->flows[d], s, pair), t->C, t->c.h, t->c.w, SV_PAD_ZEROS, t->blk);
    return t->warped;
}

static int trunk_forward(sv_trainnet *t, int d, int i, const float *lr, sv_err *e) {
    const int B = t->c.batch, T = t->c.seq, h = t->c.h, w = t->c.w, C = t->C, blk = t->blk, nb = t->nb;
    const int has_prev = d == 0 ? i < T - 1 : i > 0, pair = d == 0 ? i : i - 1, pi = d == 0 ? i + 1 : i - 1;
    // cat = [x_i (3), warp(state of the previous frame, flow) (C)] (zero flow: the state itself), zero when
    // there is none
    const sv_fmap cat = maps(t, frame_cat(t, d, i), C + 3);
    memset(cat.data, 0, (size_t)B * t->fC3 * sizeof(float));
    channel_copy(sv_fmap_slice(cat, 0, 3), clip_frames(t, lr, i, h, w));
    for (int s = 0; has_prev && s < B; s++) {
        const float *prev = aligned_state(t, d, pi, pair, s);
        channel_copy(sv_fmap_slice(sv_fmap_sample(cat, s), 3, C), sv_fmap_in(prev, C, h, w, blk));
    }
    const sv_conv_layer *cf = &t->m->trunk[d].conv_first;
    float *x = frame_x(t, d, i, 0);
    if (sv_conv_train_forward(t->br[d].first, x, cat.data, cf->w, cf->b, NULL, e)) return -1;
    // without recompute every x_b and t_b is kept; with it, only kept x_b, the rest goes through segx
    for (int b = 0; b < nb; b++) {
        float *tb = t->k ? t->segt : frame_t(t, d, i, b);
        float *xo = frame_x(t, d, i, b + 1);
        if (!xo) xo = t->segx + (size_t)((b + 1) % 2) * t->c.batch * t->fC;  // ping-pong between kept slots
        if (block_forward(t, d, b, x, tb, xo, e)) return -1;
        x = xo;
    }
    return 0;
}

// g = d(state of frame i) on entry (it is modified). Sends the gradient through the blocks and conv_first,
// then the warp: into dstate of the previous frame of the branch and into dflows (when train_spynet).
static int trunk_backward(sv_trainnet *t, int d, int i, float *g, float *grads, int train_spynet, sv_err *e) {
    const int B = t->c.batch, T = t->c.seq, h = t->c.h, w = t->c.w, C = t->C, blk = t->blk, nb = t->nb, k = t->k;
    for (int s1 = nb, s0; s1 > 0; s1 = s0) {
        s0 = k ? (s1 - 1) / k * k : 0;
        // block inputs and mids of [s0, s1): stored, or recomputed from the kept input x_{s0}
        const float **xs = t->xs, **ts = t->ts;
        int n = s1 - s0;
        if (!k) {
            for (int b = s0; b < s1; b++) {
                xs[b - s0] = frame_x(t, d, i, b);
                ts[b - s0] = frame_t(t, d, i, b);
            }
        } else {
            xs[0] = frame_x(t, d, i, s0);
            for (int j = 0; j < n; j++) {
                float *tb = t->segt + (size_t)j * B * t->fmid;
                float *xo = j + 1 < n ? t->segx + (size_t)(j + 1) * B * t->fC : NULL;
                if (block_forward(t, d, s0 + j, xs[j], tb, xo, e)) return -1;
                ts[j] = tb;
                xs[j + 1] = xo;
            }
        }
        for (int b = s1 - 1; b >= s0; b--)
            if (block_backward(t, d, b, xs[b - s0], ts[b - s0], g, grads, e)) return -1;
    }
    const sv_conv_layer *cf = &t->m->trunk[d].conv_first;
    const size_t n = (size_t)B * t->fC;
    act_backward(g, g, frame_x(t, d, i, 0), n, t->m->act_slope);
    const int has_prev = d == 0 ? i < T - 1 : i > 0, pair = d == 0 ? i : i - 1, pi = d == 0 ? i + 1 : i - 1;
    if (has_prev) memset(t->dcat, 0, (size_t)B * t->fC3 * sizeof(float));
    if (sv_conv_train_backward(t->br[d].first, has_prev ? t->dcat : NULL, grad_of(t, grads, cf->w),
                               grad_of(t, grads, cf->b), g, frame_cat(t, d, i), cf->w, e))
        return -1;
    if (!has_prev) return 0;
    float *dprev = t->dstate[d] + (size_t)pi * B * t->fC;  // d(state of frame pi), batch maps
    const sv_fmap dcat_prev = sv_fmap_slice(maps_in(t, t->dcat, C + 3), 3, C);
    if (!t->spynet) {  // zero flow: the identity warp passes the gradient straight on
        channel_copy_backward(maps(t, dprev, C), dcat_prev);
        return 0;
    }
    memset(t->dwarp, 0, n * sizeof(float));
    channel_copy_backward(maps(t, t->dwarp, C), dcat_prev);
    for (int s = 0; s < B; s++)
        flow_warp_backward(dprev + s * t->fC, train_spynet ? pair_ptr(t, t->dflows[d], s, pair) : NULL,
                           t->dwarp + s * t->fC, frame_h(t, d, pi) + s * t->fC, pair_ptr(t, t->flows[d], s, pair), C,
                           h, w, SV_PAD_ZEROS, blk);
    return 0;
}

// ---- reconstruction of frame i, its loss and backward (dstate[0][i] = dB_i, dstate[1][i] = dF_i) ----
// y = conv_last(act(conv_hr(ps(act(upconv2(ps(act(upconv1(act(fusion(cat[B_i, F_i])))))))))) + bilinear(x_i)
// A uni model's fusion reads F_i alone: fuse_in = F_i, and its gradient goes to dF_i only.
static int recon_forward(sv_trainnet *t, int i, const float *lr, sv_err *e) {
    const sv_model *m = t->m;
    const int h = t->c.h, w = t->c.w, C = t->C, H = SV_SCALE * h, W = SV_SCALE * w;
    // fuse_in = cat[B_i, F_i] (uni: F_i); base = bilinear upscaling of x_i, which conv_last adds onto
    const int nst = 2 - t->d0;
    const sv_fmap fuse_in = maps(t, t->fuse_in, nst * C), lr_i = clip_frames(t, lr, i, h, w);
    const sv_fmap base = sv_fmap_batch(t->base, 3, H, W, t->blk, t->c.batch);
    const sv_fmap plain = sv_fmap_one(t->out_plain, 3, H, W, 1);
    for (int d = t->d0; d < 2; d++)
        channel_copy(sv_fmap_slice(fuse_in, (d - t->d0) * C, C), maps_in(t, frame_h(t, d, i), C));
    for (int s = 0; s < t->c.batch; s++) {
        resize_bilinear_forward(plain.data, sv_fmap_sample(lr_i, s).data, 3, h, w, H, W, 0, 1);
        channel_copy(sv_fmap_sample(base, s), plain);
    }
    if (sv_conv_train_forward(t->fusion, t->fo, t->fuse_in, m->fusion.w, m->fusion.b, NULL, e) ||
        sv_conv_train_forward(t->upconv1, t->u1, t->fo, m->upconv1.w, m->upconv1.b, NULL, e))
        return -1;
    shuffle_maps(t, t->p1, t->u1, m->upconv1.cout / SV_SHUFFLE_GROUP, h, w);
    if (sv_conv_train_forward(t->upconv2, t->u2, t->p1, m->upconv2.w, m->upconv2.b, NULL, e)) return -1;
    shuffle_maps(t, t->p2, t->u2, m->upconv2.cout / SV_SHUFFLE_GROUP, 2 * h, 2 * w);
    if (sv_conv_train_forward(t->conv_hr, t->hr, t->p2, m->conv_hr.w, m->conv_hr.b, NULL, e) ||
        sv_conv_train_forward(t->conv_last, t->out, t->hr, m->conv_last.w, m->conv_last.b, t->base, e))
        return -1;
    return 0;
}

// From t->dout (the loss gradient of the output) back to fusion's input, into dstate of frame i.
static int recon_backward(sv_trainnet *t, int i, float *grads, sv_err *e) {
    const sv_model *m = t->m;
    const int B = t->c.batch, h = t->c.h, w = t->c.w, C = t->C, blk = t->blk;
    const int g1 = m->upconv1.cout / SV_SHUFFLE_GROUP, g2 = m->upconv2.cout / SV_SHUFFLE_GROUP;
    const int H = SV_SCALE * h, W = SV_SCALE * w;
    const size_t fo = sv_fmap_floats(m->fusion.cout, h, w, blk), u1 = sv_fmap_floats(m->upconv1.cout, h, w, blk);
    const size_t p1 = sv_fmap_floats(g1, 2 * h, 2 * w, blk), u2 = sv_fmap_floats(m->upconv2.cout, 2 * h, 2 * w, blk);
    const size_t p2 = sv_fmap_floats(g2, H, W, blk), hr = sv_fmap_floats(m->conv_hr.cout, H, W, blk);
    // conv_last <- hr <- conv_hr <- p2 <- shuffle <- u2 <- upconv2 <- p1 <- shuffle <- u1 <- upconv1 <- fo <- fusion
    float *dhr = t->dbig1, *dp2 = t->dbig2, *du2 = t->dbig1;
    memset(dhr, 0, B * hr * sizeof(float));
    if (sv_conv_train_backward(t->conv_last, dhr, grad_of(t, grads, m->conv_last.w), grad_of(t, grads, m->conv_last.b),
                               t->dout, t->hr, m->conv_last.w, e))
        return -1;
    act_backward(dhr, dhr, t->hr, B * hr, m->act_slope);
    memset(dp2, 0, B * p2 * sizeof(float));
    if (sv_conv_train_backward(t->conv_hr, dp2, grad_of(t, grads, m->conv_hr.w), grad_of(t, grads, m->conv_hr.b), dhr,
                               t->p2, m->conv_hr.w, e))
        return -1;
    memset(du2, 0, B * u2 * sizeof(float));
    shuffle_maps_backward(t, du2, dp2, g2, 2 * h, 2 * w);
    act_backward(du2, du2, t->u2, B * u2, m->act_slope);
    memset(t->dp1, 0, B * p1 * sizeof(float));
    if (sv_conv_train_backward(t->upconv2, t->dp1, grad_of(t, grads, m->upconv2.w), grad_of(t, grads, m->upconv2.b),
                               du2, t->p1, m->upconv2.w, e))
        return -1;
    memset(t->du1, 0, B * u1 * sizeof(float));
    shuffle_maps_backward(t, t->du1, t->dp1, g1, h, w);
    act_backward(t->du1, t->du1, t->u1, B * u1, m->act_slope);
    memset(t->dfo, 0, B * fo * sizeof(float));
    if (sv_conv_train_backward(t->upconv1, t->dfo, grad_of(t, grads, m->upconv1.w), grad_of(t, grads, m->upconv1.b),
                               t->du1, t->fo, m->upconv1.w, e))
        return -1;
    act_backward(t->dfo, t->dfo, t->fo, B * fo, m->act_slope);
    memset(t->dfuse, 0, B * t->ffuse * sizeof(float));
    if (sv_conv_train_backward(t->fusion, t->dfuse, grad_of(t, grads, m->fusion.w), grad_of(t, grads, m->fusion.b),
                               t->dfo, t->fuse_in, m->fusion.w, e))
        return -1;
    const sv_fmap dfuse = maps_in(t, t->dfuse, (2 - t->d0) * C);
    for (int d = t->d0; d < 2; d++)
        channel_copy_backward(maps(t, t->dstate[d] + (size_t)i * B * t->fC, C),
                              sv_fmap_slice(dfuse, (d - t->d0) * C, C));
    return 0;
}

// Reconstruction of frame i, the Charbonnier loss against gt (added to *loss, times scale), and with grads
// its backward.
static int recon_step(sv_trainnet *t, int i, const float *lr, const float *gt, float *grads, double *loss,
                      double scale, sv_err *e) {
    const int B = t->c.batch, H = SV_SCALE * t->c.h, W = SV_SCALE * t->c.w;
    const size_t HW = (size_t)H * W;
    if (recon_forward(t, i, lr, e)) return -1;
    // the loss per clip in plain CHW, and its gradient in the blocked layout
    const sv_fmap out = sv_fmap_batch(t->out, 3, H, W, t->blk, B), dout = sv_fmap_batch(t->dout, 3, H, W, t->blk, B);
    const sv_fmap plain = sv_fmap_one(t->out_plain, 3, H, W, 1), dplain = sv_fmap_one(t->dplain, 3, H, W, 1);
    const sv_fmap gt_i = clip_frames(t, gt, i, H, W);
    memset(t->dout, 0, B * dout.stride * sizeof(float));
    for (int s = 0; s < B; s++) {
        const float *y = sv_fmap_sample(gt_i, s).data;
        channel_copy(plain, sv_fmap_sample(out, s));
        *loss += charbonnier_forward(plain.data, y, 3 * HW, 1e-12f) * (double)(3 * HW) * scale;
        if (!grads) continue;
        memset(dplain.data, 0, 3 * HW * sizeof(float));
        charbonnier_backward(dplain.data, plain.data, y, 3 * HW, 1e-12f, (float)scale);
        channel_copy(sv_fmap_sample(dout, s), dplain);
    }
    return grads ? recon_backward(t, i, grads, e) : 0;
}

// What spynet_pass does with each group of pairs: the forward (flows kept), the forward again and the
// backward (recompute), or the backward of the last forward (its activations kept: spy_all).
typedef enum { SPY_FORWARD, SPY_RECOMPUTE_BACKWARD, SPY_BACKWARD } spy_mode;

// SPyNet over every pair of directions d0 .. d0+nd-1, in groups of spy_group pairs (spy_all: one group).
static int spynet_pass(sv_trainnet *t, int d0, int nd, const float *lr, float *grads, spy_mode mode, sv_err *e) {
    const int B = t->c.batch, T = t->c.seq, h = t->c.h, w = t->c.w, P = B * (T - 1);
    const int G = t->spy_all ? nd * P : t->spy_group;
    const float *ref[64], *supp[64];
    float *flow[64];
    const float *dflow[64];
    if (G > 64) return sv_errf(e, "training: SPyNet group of %d pairs is too large (at most 64)", G);
    for (int q0 = 0; q0 < nd * P; q0 += G) {
        int np = nd * P - q0 < G ? nd * P - q0 : G;
        for (int j = 0; j < np; j++) {
            const int d = d0 + (q0 + j) / P, s = (q0 + j) % P / (T - 1), i = (q0 + j) % P % (T - 1);
            const float *xi = lr + ((size_t)s * T + i) * 3 * h * w, *xn = xi + 3 * (size_t)h * w;
            ref[j] = d == 0 ? xi : xn;
            supp[j] = d == 0 ? xn : xi;
            // when recomputing for backward the flows are already kept: write them to a scratch map
            flow[j] = mode == SPY_RECOMPUTE_BACKWARD ? t->flow_scratch : pair_ptr(t, t->flows[d], s, i);
            dflow[j] = pair_ptr(t, t->dflows[d], s, i);
        }
        if (mode != SPY_BACKWARD && sv_spytrain_forward(t->spy, ref, supp, np, flow, e)) return -1;
        if (mode != SPY_FORWARD && sv_spytrain_backward(t->spy, dflow, np, grads, e)) return -1;
    }
    return 0;
}

int sv_trainnet_forward_states(sv_trainnet *t, const float *lr, sv_err *e) {
    const int T = t->c.seq, d0 = t->d0;
    if (t->spynet && t->spy_all && spynet_pass(t, d0, 2 - d0, lr, NULL, SPY_FORWARD, e)) return -1;
    for (int d = d0; d < 2 && t->spynet && !t->spy_all; d++)
        if (spynet_pass(t, d, 1, lr, NULL, SPY_FORWARD, e)) return -1;
    for (int i = T - 1; i >= 0 && d0 == SV_BRANCH_BACKWARD; i--)
        if (trunk_forward(t, 0, i, lr, e)) return -1;
    for (int i = 0; i < T; i++)
        if (trunk_forward(t, 1, i, lr, e)) return -1;
    return 0;
}

const float *sv_trainnet_state(const sv_trainnet *t, int dir, int frame, size_t *n) {
    if (n) *n = dir < t->d0 ? 0 : (size_t)t->c.batch * t->fC;
    if (dir < t->d0) return NULL;  // a uni model has no backward branch
    return frame_h((sv_trainnet *)t, dir, frame);
}

void sv_trainnet_state_shape(const sv_trainnet *t, int *c, int *h, int *w, int *blk) {
    *c = t->C, *h = t->c.h, *w = t->c.w, *blk = t->blk;
}

void sv_trainnet_set_state_loss(sv_trainnet *t, sv_state_loss_fn fn, void *ud) {
    t->state_loss = fn;
    t->state_loss_ud = ud;
}

int sv_trainnet_step(sv_trainnet *t, const float *lr, const float *gt, float *grads, int train_spynet, double *loss,
                     sv_err *e) {
    const int B = t->c.batch, T = t->c.seq, h = t->c.h, w = t->c.w, d0 = t->d0;
    *loss = 0.0;
    train_spynet = train_spynet && grads && t->spynet;
    if (sv_trainnet_forward_states(t, lr, e)) return -1;
    if (grads)
        for (int d = d0; d < 2; d++) {
            memset(t->dstate[d], 0, (size_t)T * B * t->fC * sizeof(float));
            if (t->spynet) memset(t->dflows[d], 0, (size_t)B * (T - 1) * 2 * h * w * sizeof(float));
        }
    if (t->state_loss)  // its term is part of the loss with or without gradients
        for (int d = d0; d < 2; d++)
            for (int i = 0; i < T; i++)
                *loss += t->state_loss(t->state_loss_ud, d, i, frame_h(t, d, i),
                                       grads ? t->dstate[d] + (size_t)i * B * t->fC : NULL, (size_t)B * t->fC);
    const double scale = 1.0 / ((double)B * T * 3 * (SV_SCALE * h) * (SV_SCALE * w));  // a mean over every output value
    for (int i = 0; i < T; i++)
        if (recon_step(t, i, lr, gt, grads, loss, scale, e)) return -1;
    if (!grads) return 0;
    for (int i = T - 1; i >= 0; i--)
        if (trunk_backward(t, 1, i, t->dstate[1] + (size_t)i * B * t->fC, grads, train_spynet, e)) return -1;
    for (int i = 0; i < T && d0 == SV_BRANCH_BACKWARD; i++)
        if (trunk_backward(t, 0, i, t->dstate[0] + (size_t)i * B * t->fC, grads, train_spynet, e)) return -1;
    if (train_spynet && t->spy_all) return spynet_pass(t, d0, 2 - d0, lr, grads, SPY_BACKWARD, e);
    for (int d = d0; d < 2 && train_spynet; d++)
        if (spynet_pass(t, d, 1, lr, grads, SPY_RECOMPUTE_BACKWARD, e)) return -1;
    return 0;
}

void sv_trainnet_free(sv_trainnet *t) {
    if (!t) return;
    if (!t->dry) {
        for (int d = 0; d < 2; d++) {
            branch *br = &t->br[d];
            if (br->first) sv_conv_train_free(br->first);
            for (int b = 0; b < t->nb; b++) {
                if (br->c1 && br->c1[b]) sv_conv_train_free(br->c1[b]);
                if (br->c2 && br->c2[b]) sv_conv_train_free(br->c2[b]);
            }
            free(br->store), free(t->dstate[d]), free(t->flows[d]), free(t->dflows[d]);
        }
        sv_conv_train *cs[] = {t->fusion, t->upconv1, t->upconv2, t->conv_hr, t->conv_last};
        for (int i = 0; i < 5; i++)
            if (cs[i]) sv_conv_train_free(cs[i]);
        float *bufs[] = {t->segx, t->segt, t->gath, t->dgath, t->res, t->dres, t->dt, t->dcat, t->dwarp, t->warped,
                         t->fuse_in, t->fo, t->u1, t->p1, t->u2, t->p2, t->hr, t->out, t->out_plain, t->base,
                         t->dfuse, t->dfo, t->du1, t->dp1, t->dbig1, t->dbig2, t->dout, t->dplain,
                         t->flow_scratch};
        for (size_t i = 0; i < sizeof bufs / sizeof *bufs; i++) free(bufs[i]);
        sv_spytrain_free(t->spy);
    }
    for (int d = 0; d < 2; d++) free(t->br[d].c1), free(t->br[d].c2);  // dry too: the arrays are real
    free(t->xslot), free(t->xs), free(t->ts);
    free(t);
}
