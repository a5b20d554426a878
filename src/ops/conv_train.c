// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// conv_train.c: the training conv (ops/conv.h, "training"): forward, backward-data and backward-weights
// over a batch of n feature maps, with the weights passed at every call.
//
// Fast path: three oneDNN 2.6 primitives made once at creation, batch N = n: forward_training (bias,
// activation and residual fused as post-ops), backward_data and backward_weights (with the bias gradient),
// the backward ones hinted by the forward. Weights are reordered from OIHW into each primitive's layout on
// every call (the optimiser changes them every step; the reorder costs little next to the conv).
// oneDNN writes its gradients rather than adding them, so diff_src, diff_weights (reordered back to OIHW)
// and diff_bias land in scratch buffers owned here and are then added into the caller's gradients.
//
// Layouts: the feature maps stay in the library's layout (blk 1: nchw, 8: nChw8c, 16: nChw16c) when oneDNN
// has a JIT kernel for it. On AVX2 (probed with oneDNN 2.6.3) it has none for nChw16c at all, none for
// forward with eltwise-then-sum post-ops, and none for forward and backward_weights with nChw8c when
// cin < 8 (it wants nchw there); then oneDNN's "ref" kernel would be chosen, orders of magnitude slower.
// So each primitive tries, in order, and keeps the first that is not "ref" (or the first that exists):
//   forward:  1. library layouts, post-ops [eltwise][sum]
//             2. library layouts, post-ops [eltwise], residual added here afterwards (with a residual)
//             3. src/dst in oneDNN's preferred layouts (format any, e.g. nchw src for cin 3), reordered
//                at each call, residual added here afterwards
//   backward: 1. library layouts   2. preferred layouts, reordered
// The naive path (conv2d_forward_ref / conv2d_backward_ref per sample) runs when asked for, or when
// oneDNN cannot create a primitive at all.
//
// Our own Winograd F(4x4,3x3) (conv_train_wino.c) replaces oneDNN's forward and backward-data where it
// takes the shape, chosen per phase at creation: k 3, blk 8 or 16, and for the forward at least 5 input
// channels (the 3-channel input conv keeps oneDNN's forward). At 64x64, batch 14, 32->32 and 64->64, it
// measured 2-3.5x faster than oneDNN's jit:avx2 on both phases (bench/conv_train_bench; F(6x6): see
// conv_train_wino.c). k 7 stays on oneDNN: Winograd's rounding is too much for SPyNet's gradients
// (conv_train_wino.c). Backward-weights always stays on oneDNN, and oneDNN's forward primitive is still
// made: it is backward's hint.
// sv_conv_train_create_algo (conv_internal.h) forces either for tests and benchmarks.
#include <oneapi/dnnl/dnnl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/parallel.h"
#include "core/layout.h"
#include "core/warn.h"
#include "ops/conv_internal.h"
#include "ops/ops.h"

// One tensor argument of a primitive: the caller's buffer (user layout) and the memory the primitive
// sees. When the two layouts differ, a reorder and an owned buffer sit between them.
typedef struct {
    dnnl_memory_t user, prim;
    dnnl_primitive_t reorder;  // user -> prim for an input, prim -> user for an output; NULL: same layout
    float *buf;                // the primitive's buffer when reordered
} io_arg;

typedef struct {
    dnnl_primitive_desc_t pd;
    dnnl_primitive_t prim;
    int any;  // activations in oneDNN's preferred layouts
} stage;

struct sv_conv_train {
    sv_conv_desc d;
    int n, oh, ow;
    int reference;
    char algo[192];
    dnnl_engine_t eng;
    dnnl_stream_t strm;
    stage fwd, bwd_d, bwd_w;
    int fwd_sum;   // forward fuses the residual through the sum post-op
    int post_add;  // forward adds the residual afterwards (into out, from tmp)
    io_arg f_src, f_dst, f_wei;          // forward
    io_arg d_ddst, d_dsrc, d_wei;        // backward data
    io_arg w_src, w_ddst, w_dwei;        // backward weights
    dnnl_memory_t f_bias, w_dbias;       // handles set per call
    float *zero_bias;  // [cout] for a forward without bias
    float *dsrc;       // [n * fmap(cin)] diff_src before it is added into din
    float *dwei;       // [cout*cin*k*k] diff_weights (OIHW) before it is added into dw
    float *dbias;      // [cout]
    float *tmp;        // forward result before the residual add: [n * fmap(cout)] (fast), one sample (ref)
    sv_train_wino *wino;  // our Winograd for forward and/or backward-data (conv_train_wino.c), or NULL
};

static dnnl_format_tag_t tag_for(int blk) { return blk == 16 ? dnnl_nChw16c : blk == 8 ? dnnl_nChw8c : dnnl_nchw; }

static const char *pd_impl(const_dnnl_primitive_desc_t pd) {
    const char *s = NULL;
    dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &s);
    return s ? s : "?";
}

static int is_ref(const_dnnl_primitive_desc_t pd) { return !strncmp(pd_impl(pd), "ref", 3); }

enum { FWD, BWD_DATA, BWD_WEIGHTS };

// The primitive desc of one kind; any: format any for the activations; act/sum: forward post-ops.
static dnnl_primitive_desc_t make_pd(const sv_conv_train *p, int kind, int any, int act, int sum,
                                     const_dnnl_primitive_desc_t hint) {
    const sv_conv_desc *d = &p->d;
    dnnl_memory_desc_t src_md, dst_md, wei_md, bias_md;
    const dnnl_dims_t src_dims = {p->n, d->cin, d->h, d->w}, dst_dims = {p->n, d->cout, p->oh, p->ow};
    const dnnl_dims_t wei_dims = {d->cout, d->cin, d->k, d->k}, bias_dims = {d->cout};
    const dnnl_dims_t strides = {1, 1}, padding = {d->pad, d->pad};
    const dnnl_format_tag_t tag = any ? dnnl_format_tag_any : tag_for(d->blk);
    dnnl_convolution_desc_t cd;
    dnnl_post_ops_t po = NULL;
    dnnl_primitive_attr_t attr = NULL;
    dnnl_primitive_desc_t pd = NULL;
    if (dnnl_memory_desc_init_by_tag(&src_md, 4, src_dims, dnnl_f32, tag) ||
        dnnl_memory_desc_init_by_tag(&dst_md, 4, dst_dims, dnnl_f32, tag) ||
        dnnl_memory_desc_init_by_tag(&wei_md, 4, wei_dims, dnnl_f32, dnnl_format_tag_any) ||
        dnnl_memory_desc_init_by_tag(&bias_md, 1, bias_dims, dnnl_f32, dnnl_x))
        return NULL;
    dnnl_status_t st;
    if (kind == FWD)
        st = dnnl_convolution_forward_desc_init(&cd, dnnl_forward_training, dnnl_convolution_direct, &src_md,
                                                &wei_md, &bias_md, &dst_md, strides, padding, padding);
    else if (kind == BWD_DATA)
        st = dnnl_convolution_backward_data_desc_init(&cd, dnnl_convolution_direct, &src_md, &wei_md, &dst_md,
                                                      strides, padding, padding);
    else
        st = dnnl_convolution_backward_weights_desc_init(&cd, dnnl_convolution_direct, &src_md, &wei_md, &bias_md,
                                                         &dst_md, strides, padding, padding);
    if (st != dnnl_success) return NULL;
    if (act || sum) {
        if (dnnl_post_ops_create(&po) || dnnl_primitive_attr_create(&attr) ||
            (act && dnnl_post_ops_append_eltwise(po, 1.0f, dnnl_eltwise_relu, d->act_slope, 0.0f)) ||
            (sum && dnnl_post_ops_append_sum(po, 1.0f)) || dnnl_primitive_attr_set_post_ops(attr, po))
            goto out;
    }
    if (dnnl_primitive_desc_create(&pd, &cd, attr, p->eng, hint) != dnnl_success) pd = NULL;
out:
    if (attr) dnnl_primitive_attr_destroy(attr);
    if (po) dnnl_post_ops_destroy(po);
    return pd;
}

// Tries the configurations cfg[0..ncfg) ({any, sum} each) and keeps the first that is not oneDNN's
// reference kernel, else the first that exists. Returns the index kept, or -1 when none exists.
static int choose_pd(sv_conv_train *p, stage *s, int kind, const int (*cfg)[2], int ncfg,
                     const_dnnl_primitive_desc_t hint) {
    int kept = -1;
    for (int c = 0; c < ncfg; c++) {
        dnnl_primitive_desc_t pd = make_pd(p, kind, cfg[c][0], kind == FWD && p->d.act, cfg[c][1], hint);
        if (!pd) continue;
        if (kept < 0 || (is_ref(s->pd) && !is_ref(pd))) {
            if (s->pd) dnnl_primitive_desc_destroy(s->pd);
            s->pd = pd, kept = c;
        } else {
            dnnl_primitive_desc_destroy(pd);
        }
        if (!is_ref(s->pd)) break;
    }
    s->any = kept >= 0 ? cfg[kept][0] : 0;
    return kept;
}

// Memories (and a reorder when the layouts differ) for one argument whose user layout is user_md.
static int io_init(sv_conv_train *p, io_arg *a, const dnnl_memory_desc_t *user_md, const dnnl_memory_desc_t *prim_md,
                   int output) {
    if (dnnl_memory_create(&a->prim, prim_md, p->eng, DNNL_MEMORY_NONE)) return -1;
    if (dnnl_memory_desc_equal(user_md, prim_md)) return 0;
    dnnl_primitive_desc_t rpd;
    const dnnl_memory_desc_t *from = output ? prim_md : user_md, *to = output ? user_md : prim_md;
    if (dnnl_reorder_primitive_desc_create(&rpd, from, p->eng, to, p->eng, NULL) != dnnl_success) return -1;
    const dnnl_status_t st = dnnl_primitive_create(&a->reorder, rpd);
    dnnl_primitive_desc_destroy(rpd);
    // calloc: blocked layouts pad channels, and the padding must hold zeros, not garbage
    if (st != dnnl_success || dnnl_memory_create(&a->user, user_md, p->eng, DNNL_MEMORY_NONE) ||
        !(a->buf = calloc(1, dnnl_memory_desc_get_size(prim_md))))
        return -1;
    return dnnl_memory_set_data_handle(a->prim, a->buf) ? -1 : 0;
}

static void io_free(io_arg *a) {
    if (a->reorder) dnnl_primitive_destroy(a->reorder);
    if (a->user) dnnl_memory_destroy(a->user);
    if (a->prim) dnnl_memory_destroy(a->prim);
    free(a->buf);
}

static int run_reorder(sv_conv_train *p, dnnl_primitive_t r, dnnl_memory_t from, dnnl_memory_t to) {
    dnnl_exec_arg_t args[2] = {{DNNL_ARG_FROM, from}, {DNNL_ARG_TO, to}};
    return dnnl_primitive_execute(r, p->strm, 2, args) == dnnl_success ? 0 : -1;
}

// An input: the primitive's memory comes to hold data (reordered when needed).
static int io_in(sv_conv_train *p, io_arg *a, const float *data) {
    if (!a->reorder) return dnnl_memory_set_data_handle(a->prim, (void *)data) ? -1 : 0;
    if (dnnl_memory_set_data_handle(a->user, (void *)data)) return -1;
    return run_reorder(p, a->reorder, a->user, a->prim);
}

// An output, before the primitive runs: it writes straight into data when no reorder is needed.
static int io_out_begin(io_arg *a, float *data) {
    return a->reorder ? 0 : (dnnl_memory_set_data_handle(a->prim, data) ? -1 : 0);
}

// An output, after the primitive ran: reorder its result into data.
static int io_out_end(sv_conv_train *p, io_arg *a, float *data) {
    if (!a->reorder) return 0;
    if (dnnl_memory_set_data_handle(a->user, data)) return -1;
    return run_reorder(p, a->reorder, a->prim, a->user);
}

static const dnnl_memory_desc_t *q_md(const stage *s, dnnl_query_t what) {
    return dnnl_primitive_desc_query_md(s->pd, what, 0);
}

static int setup_dnnl(sv_conv_train *p, sv_err *e) {
    const sv_conv_desc *d = &p->d;
    if (sv_dnnl_engine(&p->eng, &p->strm, e)) return -1;
    // forward configurations (top of the file); the second differs from the first only with a residual
    const int res = d->residual;
    const int fcfg[3][2] = {{0, res}, {0, 0}, {1, 0}}, fcfg_nores[2][2] = {{0, 0}, {1, 0}};
    const int fkept =
        res ? choose_pd(p, &p->fwd, FWD, fcfg, 3, NULL) : choose_pd(p, &p->fwd, FWD, fcfg_nores, 2, NULL);
    if (fkept < 0) return sv_errf(e, "oneDNN: no training convolution forward");
    p->fwd_sum = res ? fcfg[fkept][1] : 0;
    p->post_add = res && !p->fwd_sum;
    const int bcfg[2][2] = {{0, 0}, {1, 0}};
    if (choose_pd(p, &p->bwd_d, BWD_DATA, bcfg, 2, p->fwd.pd) < 0)
        return sv_errf(e, "oneDNN: no convolution backward_data");
    if (choose_pd(p, &p->bwd_w, BWD_WEIGHTS, bcfg, 2, p->fwd.pd) < 0)
        return sv_errf(e, "oneDNN: no convolution backward_weights");
    stage *st[3] = {&p->fwd, &p->bwd_d, &p->bwd_w};
    for (int i = 0; i < 3; i++)
        if (dnnl_primitive_create(&st[i]->prim, st[i]->pd))
            return sv_errf(e, "oneDNN: cannot create a training convolution primitive (%s)", pd_impl(st[i]->pd));

    dnnl_memory_desc_t src_md, dst_md, wei_md, bias_md;
    const dnnl_dims_t src_dims = {p->n, d->cin, d->h, d->w}, dst_dims = {p->n, d->cout, p->oh, p->ow};
    const dnnl_dims_t wei_dims = {d->cout, d->cin, d->k, d->k}, bias_dims = {d->cout};
    if (dnnl_memory_desc_init_by_tag(&src_md, 4, src_dims, dnnl_f32, tag_for(d->blk)) ||
        dnnl_memory_desc_init_by_tag(&dst_md, 4, dst_dims, dnnl_f32, tag_for(d->blk)) ||
        dnnl_memory_desc_init_by_tag(&wei_md, 4, wei_dims, dnnl_f32, dnnl_oihw) ||
        dnnl_memory_desc_init_by_tag(&bias_md, 1, bias_dims, dnnl_f32, dnnl_x) ||
        io_init(p, &p->f_src, &src_md, q_md(&p->fwd, dnnl_query_src_md), 0) ||
        io_init(p, &p->f_dst, &dst_md, q_md(&p->fwd, dnnl_query_dst_md), 1) ||
        io_init(p, &p->f_wei, &wei_md, q_md(&p->fwd, dnnl_query_weights_md), 0) ||
        io_init(p, &p->d_ddst, &dst_md, q_md(&p->bwd_d, dnnl_query_diff_dst_md), 0) ||
        io_init(p, &p->d_dsrc, &src_md, q_md(&p->bwd_d, dnnl_query_diff_src_md), 1) ||
        io_init(p, &p->d_wei, &wei_md, q_md(&p->bwd_d, dnnl_query_weights_md), 0) ||
        io_init(p, &p->w_src, &src_md, q_md(&p->bwd_w, dnnl_query_src_md), 0) ||
        io_init(p, &p->w_ddst, &dst_md, q_md(&p->bwd_w, dnnl_query_diff_dst_md), 0) ||
        io_init(p, &p->w_dwei, &wei_md, q_md(&p->bwd_w, dnnl_query_diff_weights_md), 1) ||
        dnnl_memory_create(&p->f_bias, &bias_md, p->eng, DNNL_MEMORY_NONE) ||
        dnnl_memory_create(&p->w_dbias, &bias_md, p->eng, DNNL_MEMORY_NONE))
        return sv_errf(e, "oneDNN: cannot create the training convolution's memories and reorders");
    // the sum post-op accumulates onto dst in place: it needs dst in the user layout
    if (p->fwd_sum && p->f_dst.reorder) return sv_errf(e, "oneDNN: internal: fused residual with a reordered dst");
    return 0;
}

// After setup_dnnl, with p->wino chosen: the buffers of the phases that run on oneDNN, and the name.
static int finish_fast(sv_conv_train *p, sv_err *e) {
    const sv_conv_desc *d = &p->d;
    const int wf = sv_train_wino_tile(p->wino, 0), wb = sv_train_wino_tile(p->wino, 1);
    const size_t nsrc = (size_t)p->n * sv_fmap_floats(d->cin, d->h, d->w, d->blk);
    const size_t ndst = (size_t)p->n * sv_fmap_floats(d->cout, p->oh, p->ow, d->blk);
    if (!wb && !(p->dsrc = sv_calloc(nsrc, sizeof(float), e))) return -1;
    if (!wf && p->post_add && !(p->tmp = sv_malloc(ndst * sizeof(float), e))) return -1;
    char f[64], b[64];
    const char *isa = sv_train_wino_lanes(p->wino) == 16 ? "avx512" : "avx2";
    if (wf)
        snprintf(f, sizeof f, "winograd-f%dx%d-%s", wf, wf, isa);
    else
        snprintf(f, sizeof f, "onednn %s%s%s", pd_impl(p->fwd.pd), p->fwd.any ? "+reorder" : "",
                 p->post_add ? "+add" : "");
    if (wb)
        snprintf(b, sizeof b, "winograd-f%dx%d-%s", wb, wb, isa);
    else
        snprintf(b, sizeof b, "onednn %s%s", pd_impl(p->bwd_d.pd), p->bwd_d.any ? "+reorder" : "");
    if (sv_train_wino_wgrad(p->wino))
        snprintf(p->algo, sizeof p->algo, "fwd %s, bwd-data %s, bwd-weights winograd-f4x4-%s", f, b, isa);
    else
        snprintf(p->algo, sizeof p->algo, "fwd %s, bwd-data %s, bwd-weights onednn %s%s", f, b,
                 pd_impl(p->bwd_w.pd), p->bwd_w.any ? "+reorder" : "");
    return 0;
}

static int check_desc(const sv_conv_desc *d, int n, sv_err *e) {
    if (n < 1 || d->cin < 1 || d->cout < 1 || d->k < 1 || d->pad < 0 || d->h < 1 || d->w < 1 ||
        (d->blk != 1 && d->blk != 8 && d->blk != 16))
        return sv_errf(e, "training conv: bad shape n %d cin %d cout %d k %d pad %d %dx%d blk %d", n, d->cin, d->cout,
                       d->k, d->pad, d->h, d->w, d->blk);
    if (d->h + 2 * d->pad - d->k + 1 < 1 || d->w + 2 * d->pad - d->k + 1 < 1)
        return sv_errf(e, "training conv: %dx%d input with k %d pad %d gives an empty output", d->h, d->w, d->k,
                       d->pad);
    return 0;
}


static void free_dnnl(sv_conv_train *p) {
    io_arg *io[] = {&p->f_src, &p->f_dst, &p->f_wei, &p->d_ddst, &p->d_dsrc, &p->d_wei, &p->w_src, &p->w_ddst,
                    &p->w_dwei};
    for (size_t i = 0; i < sizeof io / sizeof *io; i++) io_free(io[i]);
    stage *st[3] = {&p->fwd, &p->bwd_d, &p->bwd_w};
    for (int i = 0; i < 3; i++) {
        if (st[i]->prim) dnnl_primitive_destroy(st[i]->prim);
        if (st[i]->pd) dnnl_primitive_desc_destroy(st[i]->pd);
    }
    if (p->f_bias) dnnl_memory_destroy(p->f_bias);
    if (p->w_dbias) dnnl_memory_destroy(p->w_dbias);
}

void sv_conv_train_free(sv_conv_train *p) {
    if (!p) return;
    if (!p->reference) free_dnnl(p);
    sv_train_wino_free(p->wino);
    free(p->zero_bias);
    free(p->dsrc);
    free(p->dwei);
    free(p->dbias);
    free(p->tmp);
    free(p);
}

// An object with its small buffers; the path-specific ones come later.
static sv_conv_train *alloc_train(const sv_conv_desc *d, int n, int reference, sv_err *e) {
    sv_conv_train *p = sv_calloc(1, sizeof *p, e);
    if (!p) return NULL;
    p->d = *d;
    p->n = n;
    p->oh = d->h + 2 * d->pad - d->k + 1;
    p->ow = d->w + 2 * d->pad - d->k + 1;
    p->reference = reference;
    const size_t nw = (size_t)d->cout * d->cin * d->k * d->k;
    if (!(p->zero_bias = sv_calloc((size_t)d->cout, sizeof(float), e)) ||
        !(p->dwei = sv_malloc(nw * sizeof(float), e)) || !(p->dbias = sv_malloc((size_t)d->cout * sizeof(float), e))) {
        sv_conv_train_free(p);
        return NULL;
    }
    return p;
}

size_t sv_conv_train_bytes(const sv_conv_desc *d, int n) {
    const size_t src = sv_fmap_floats(d->cin, d->h, d->w, d->blk), dst = sv_fmap_floats(d->cout, d->h, d->w, d->blk);
    const size_t wts = (size_t)d->cout * d->cin * d->k * d->k + 2 * (size_t)d->cout;
    return ((size_t)n * src + (d->residual ? (size_t)n * dst : 0) + wts) * sizeof(float) + sv_train_wino_bytes(d);
}

sv_conv_train *sv_conv_train_create(const sv_conv_desc *d, int n, int reference, sv_err *e) {
    return sv_conv_train_create_algo(d, n, reference ? SV_CONV_REF : SV_CONV_AUTO, e);
}

sv_conv_train *sv_conv_train_create_algo(const sv_conv_desc *d, int n, int algo, sv_err *e) {
    if (check_desc(d, n, e)) return NULL;
    const int forced_wino = algo == SV_CONV_WINO || algo == SV_CONV_WINO6 || algo == SV_CONV_WINO7 ||
                            algo == SV_CONV_WINO7F4;
    if (algo != SV_CONV_AUTO && algo != SV_CONV_DNNL && algo != SV_CONV_REF && !forced_wino) {
        sv_errf(e, "training conv: no backend %d (auto, dnnl, ref, wino, wino6, wino7, wino7f4)", algo);
        return NULL;
    }
    sv_conv_train *p = NULL;
    if (algo != SV_CONV_REF) {
        sv_err de = {{0}};
        if (!(p = alloc_train(d, n, 0, e))) return NULL;
        if (!setup_dnnl(p, &de)) {
            // Winograd where it applies (a forced one must); oneDNN where not, and always for backward-weights
            sv_err we = {{0}};
            if (algo != SV_CONV_DNNL) p->wino = sv_train_wino_create(d, n, forced_wino ? algo : 0, &we);
            if (forced_wino && !p->wino) {
                sv_errf(e, "%s", we.msg);
                sv_conv_train_free(p);
                return NULL;
            }
            if (!finish_fast(p, e)) return p;
            sv_conv_train_free(p);
            return NULL;
        }
        sv_conv_train_free(p);
        // oneDNN refused: the naive conv is slow but right
        sv_warnf("%s; using the reference training conv", de.msg);
    }
    if (!(p = alloc_train(d, n, 1, e))) return NULL;
    if (!(p->tmp = sv_malloc(sv_fmap_floats(d->cout, p->oh, p->ow, d->blk) * sizeof(float), e))) {
        sv_conv_train_free(p);
        return NULL;
    }
    snprintf(p->algo, sizeof p->algo, "reference");
    return p;
}

const char *sv_conv_train_algo(const sv_conv_train *p) { return p->algo; }

static int forward_ref(sv_conv_train *p, float *out, const float *in, const float *w, const float *b,
                       const float *residual) {
    const sv_conv_desc *d = &p->d;
    const size_t nin = sv_fmap_floats(d->cin, d->h, d->w, d->blk);
    const size_t nout = sv_fmap_floats(d->cout, p->oh, p->ow, d->blk);
    const float slope = d->act ? d->act_slope : 1.0f;
    for (int s = 0; s < p->n; s++) {
        conv2d_forward_ref(p->tmp, in + s * nin, w, b, d->cin, d->cout, d->h, d->w, d->k, d->pad, d->blk);
        float *o = out + s * nout;
        const float *r = residual ? residual + s * nout : NULL;
        for (size_t i = 0; i < nout; i++) {
            const float y = p->tmp[i] >= 0.0f ? p->tmp[i] : slope * p->tmp[i];
            o[i] = r ? y + r[i] : y;
        }
    }
    return 0;
}

int sv_conv_train_forward(sv_conv_train *p, float *out, const float *in, const float *w, const float *b,
                          const float *residual, sv_err *e) {
    const sv_conv_desc *d = &p->d;
    if (!d->residual) residual = NULL;
    if (p->reference) return forward_ref(p, out, in, w, b, residual);
    if (sv_train_wino_tile(p->wino, 0)) return sv_train_wino_forward(p->wino, out, in, w, b, residual, e);
    const size_t nout = (size_t)p->n * sv_fmap_floats(d->cout, p->oh, p->ow, d->blk);
    float *target = p->post_add ? p->tmp : out;  // where the primitive's result lands, in the user layout
    if (p->fwd_sum) {  // the sum post-op adds onto what dst holds: put the residual there
        if (!residual)
            memset(out, 0, nout * sizeof(float));
        else if (residual != out)
            memcpy(out, residual, nout * sizeof(float));
    }
    // Setting a handle makes oneDNN zero the padding channels of a blocked buffer; those are zero by the
    // layout's convention, so nothing the caller holds changes.
    if (io_in(p, &p->f_wei, w) || io_in(p, &p->f_src, in) || io_out_begin(&p->f_dst, target) ||
        dnnl_memory_set_data_handle(p->f_bias, (void *)(b ? b : p->zero_bias)))
        return sv_errf(e, "oneDNN: training conv forward: cannot prepare the arguments");
    dnnl_exec_arg_t args[4] = {{DNNL_ARG_SRC, p->f_src.prim},
                               {DNNL_ARG_WEIGHTS, p->f_wei.prim},
                               {DNNL_ARG_BIAS, p->f_bias},
                               {DNNL_ARG_DST, p->f_dst.prim}};
    if (dnnl_primitive_execute(p->fwd.prim, p->strm, 4, args) != dnnl_success || io_out_end(p, &p->f_dst, target) ||
        dnnl_stream_wait(p->strm) != dnnl_success)
        return sv_errf(e, "oneDNN: training conv forward failed (%s)", pd_impl(p->fwd.pd));
    if (p->post_add) {
#pragma omp parallel for schedule(static) if (nout > SV_OMP_MIN_WORK)
        for (size_t i = 0; i < nout; i++) out[i] = p->tmp[i] + (residual ? residual[i] : 0.0f);
    }
    return 0;
}

// r[l] += row[x * blk + l] over the row's ow pixels, lane by lane in pixel order; inlined with blk a
// constant, so that the lanes are one vector.
static inline __attribute__((always_inline)) void row_sums(float *r, const float *row, int ow, int blk) {
    for (int x = 0; x < ow; x++)
        for (int l = 0; l < blk; l++) r[l] += row[(size_t)x * blk + l];
}

// db[o] += sum over the batch and the pixels of dout[o] (when oneDNN's backward-weights does not make it):
// per block of blk channels, each row summed in float lane by lane (vectorised), the rows in double.
static void bias_grad(sv_conv_train *p, float *db, const float *dout) {
    const sv_conv_desc *d = &p->d;
    const int blk = d->blk, nb = sv_cpad(d->cout, blk) / blk;
    const size_t nout = sv_fmap_floats(d->cout, p->oh, p->ow, blk), plane = (size_t)p->oh * p->ow * blk;
#pragma omp parallel for schedule(static) if (nb > 1)
    for (int b = 0; b < nb; b++) {
        double acc[SV_MAX_BLK] = {0};
        for (int s = 0; s < p->n; s++)
            for (int y = 0; y < p->oh; y++) {
                const float *row = dout + s * nout + b * plane + (size_t)y * p->ow * blk;
                float r[SV_MAX_BLK] = {0};
                if (blk == 16) row_sums(r, row, p->ow, 16);
                else if (blk == 8) row_sums(r, row, p->ow, 8);
                else row_sums(r, row, p->ow, blk);
                for (int l = 0; l < blk; l++) acc[l] += r[l];
            }
        for (int l = 0; l < blk && b * blk + l < d->cout; l++) db[b * blk + l] += (float)acc[l];
    }
}

int sv_conv_train_backward(sv_conv_train *p, float *din, float *dw, float *db, const float *dout, const float *in,
                           const float *w, sv_err *e) {
    const sv_conv_desc *d = &p->d;
    const size_t nin = sv_fmap_floats(d->cin, d->h, d->w, d->blk);
    if (p->reference) {
        const size_t nout = sv_fmap_floats(d->cout, p->oh, p->ow, d->blk);
        for (int s = 0; s < p->n; s++)
            conv2d_backward_ref(din ? din + s * nin : NULL, dw, db, dout + s * nout, in + s * nin, w, d->cin, d->cout,
                                d->h, d->w, d->k, d->pad, d->blk);
        return 0;
    }
    if (din && sv_train_wino_tile(p->wino, 1)) {
        if (sv_train_wino_backward_data(p->wino, din, dout, w, e)) return -1;
    } else if (din) {
        if (io_in(p, &p->d_wei, w) || io_in(p, &p->d_ddst, dout) || io_out_begin(&p->d_dsrc, p->dsrc))
            return sv_errf(e, "oneDNN: training conv backward_data: cannot prepare the arguments");
        dnnl_exec_arg_t args[3] = {{DNNL_ARG_DIFF_DST, p->d_ddst.prim},
                                   {DNNL_ARG_WEIGHTS, p->d_wei.prim},
                                   {DNNL_ARG_DIFF_SRC, p->d_dsrc.prim}};
        if (dnnl_primitive_execute(p->bwd_d.prim, p->strm, 3, args) != dnnl_success ||
            io_out_end(p, &p->d_dsrc, p->dsrc) || dnnl_stream_wait(p->strm) != dnnl_success)
            return sv_errf(e, "oneDNN: training conv backward_data failed (%s)", pd_impl(p->bwd_d.pd));
        accumulate(din, p->dsrc, (size_t)p->n * nin);
    }
    if (dw && sv_train_wino_wgrad(p->wino)) {
        if (sv_train_wino_backward_weights(p->wino, dw, dout, in, e)) return -1;
        if (db) bias_grad(p, db, dout);
    } else if (dw) {
        if (io_in(p, &p->w_src, in) || io_in(p, &p->w_ddst, dout) || io_out_begin(&p->w_dwei, p->dwei) ||
            dnnl_memory_set_data_handle(p->w_dbias, p->dbias))
            return sv_errf(e, "oneDNN: training conv backward_weights: cannot prepare the arguments");
        dnnl_exec_arg_t args[4] = {{DNNL_ARG_SRC, p->w_src.prim},
                                   {DNNL_ARG_DIFF_DST, p->w_ddst.prim},
                                   {DNNL_ARG_DIFF_WEIGHTS, p->w_dwei.prim},
                                   {DNNL_ARG_DIFF_BIAS, p->w_dbias}};
        if (dnnl_primitive_execute(p->bwd_w.prim, p->strm, 4, args) != dnnl_success ||
            io_out_end(p, &p->w_dwei, p->dwei) || dnnl_stream_wait(p->strm) != dnnl_success)
            return sv_errf(e, "oneDNN: training conv backward_weights failed (%s)", pd_impl(p->bwd_w.pd));
        accumulate(dw, p->dwei, (size_t)d->cout * d->cin * d->k * d->k);
        if (db) accumulate(db, p->dbias, (size_t)d->cout);
    } else if (db) {
        bias_grad(p, db, dout);
    }
    return 0;
}
