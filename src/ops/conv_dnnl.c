// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// conv_dnnl.c: the oneDNN (2.6, C API) conv backend. One engine and stream for the whole process,
// created on first use (thread-safe); per layer one primitive whose weights are reordered once, at plan
// creation, into the layout the primitive prefers.
//
// Bias, activation and residual are fused through post-ops: eltwise relu (alpha = slope) when act,
// then sum (dst += its previous value) when residual. The feature maps stay in the library's layout
// (blk 1: nchw, 8: nChw8c, 16: nChw16c), so a layer normally runs with no reorder at all.
// oneDNN 2.6 falls back to its very slow reference kernel ("ref:any") for a few combinations; we then
// try, in this order, the next configuration that gets a JIT kernel:
//   1. user layouts, post-ops [eltwise, sum]            the normal case
//   2. user layouts, post-ops [eltwise], residual added here afterwards
//                                                        (jit:avx2 has no eltwise-then-sum)
//   3. src/dst in the layouts oneDNN prefers (e.g. nchw src when cin < 8, or nChw8c where nChw16c has
//      no AVX2 kernel), reordered at run time
// and keep the first that is not "ref" (or configuration 1 if all are).
#include "core/parallel.h"
#include "ops/conv_internal.h"

#include <oneapi/dnnl/dnnl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/layout.h"

struct sv_dnnl_conv {
    sv_conv_desc d;
    int oh, ow;
    int post_add;                // residual added after the primitive (configuration 2)
    dnnl_primitive_desc_t pd;
    dnnl_primitive_t prim;
    dnnl_memory_t src, wei, bias, dst;             // as the primitive sees them (handles set per run)
    dnnl_memory_t usrc, udst;                      // user layouts (configuration 3 only)
    dnnl_primitive_t r_src, r_dst, r_res;          // in -> src, dst -> out, residual -> dst (or NULL)
    float *wei_buf, *bias_buf, *src_buf, *dst_buf; // owned; src_buf/dst_buf only when reordered
    float *tmp;                  // [cout, oh, ow] user layout: conv result before the residual add
    char impl[64];
};

// ---- the shared engine and stream ----
static dnnl_engine_t g_engine;
static dnnl_stream_t g_stream;
static dnnl_status_t g_init_status = dnnl_runtime_error;
static pthread_once_t g_once = PTHREAD_ONCE_INIT;

static void init_engine(void) {
    g_init_status = dnnl_engine_create(&g_engine, dnnl_cpu, 0);
    if (g_init_status == dnnl_success) g_init_status = dnnl_stream_create(&g_stream, g_engine, dnnl_stream_default_flags);
}

static int get_engine(sv_err *e) {
    pthread_once(&g_once, init_engine);
    if (g_init_status != dnnl_success)
        return sv_errf(e, "oneDNN: cannot create the CPU engine (status %d)", (int)g_init_status);
    return 0;
}

int sv_dnnl_engine(dnnl_engine_t *engine, dnnl_stream_t *stream, sv_err *e) {
    if (get_engine(e)) return -1;
    *engine = g_engine;
    *stream = g_stream;
    return 0;
}

static dnnl_format_tag_t tag_for(int blk) { return blk == 16 ? dnnl_nChw16c : blk == 8 ? dnnl_nChw8c : dnnl_nchw; }

// A reorder primitive from md a to md b, or NULL when they are the same layout.
static int make_reorder(const dnnl_memory_desc_t *a, const dnnl_memory_desc_t *b, dnnl_primitive_t *r) {
    *r = NULL;
    if (dnnl_memory_desc_equal(a, b)) return 0;
    dnnl_primitive_desc_t rpd;
    if (dnnl_reorder_primitive_desc_create(&rpd, a, g_engine, b, g_engine, NULL) != dnnl_success) return -1;
    const dnnl_status_t st = dnnl_primitive_create(r, rpd);
    dnnl_primitive_desc_destroy(rpd);
    return st == dnnl_success ? 0 : -1;
}

static int run_reorder(dnnl_primitive_t r, dnnl_memory_t from, dnnl_memory_t to) {
    dnnl_exec_arg_t args[2] = {{DNNL_ARG_FROM, from}, {DNNL_ARG_TO, to}};
    return dnnl_primitive_execute(r, g_stream, 2, args) == dnnl_success ? 0 : -1;
}

// Primitive desc for configuration cfg (1..3, see the top of the file), or NULL.
static dnnl_primitive_desc_t make_pd(const sv_conv_desc *d, int oh, int ow, int alg, int cfg) {
    dnnl_memory_desc_t src_md, dst_md, bias_md, wei_md;
    const dnnl_dims_t src_dims = {1, d->cin, d->h, d->w}, dst_dims = {1, d->cout, oh, ow};
    const dnnl_dims_t wei_dims = {d->cout, d->cin, d->k, d->k}, bias_dims = {d->cout};
    const dnnl_dims_t strides = {1, 1}, padding = {d->pad, d->pad};
    const dnnl_format_tag_t tag = cfg == 3 ? dnnl_format_tag_any : tag_for(d->blk);
    dnnl_post_ops_t po = NULL;
    dnnl_primitive_attr_t attr = NULL;
    dnnl_primitive_desc_t pd = NULL;
    dnnl_convolution_desc_t cd;
    if (dnnl_memory_desc_init_by_tag(&src_md, 4, src_dims, dnnl_f32, tag) ||
        dnnl_memory_desc_init_by_tag(&dst_md, 4, dst_dims, dnnl_f32, tag) ||
        dnnl_memory_desc_init_by_tag(&wei_md, 4, wei_dims, dnnl_f32, dnnl_format_tag_any) ||
        dnnl_memory_desc_init_by_tag(&bias_md, 1, bias_dims, dnnl_f32, dnnl_x) ||
        dnnl_convolution_forward_desc_init(&cd, dnnl_forward_inference,
                                           alg ? dnnl_convolution_auto : dnnl_convolution_direct, &src_md, &wei_md,
                                           &bias_md, &dst_md, strides, padding, padding) ||
        dnnl_post_ops_create(&po) || dnnl_primitive_attr_create(&attr))
        goto out;
    const int sum = d->residual && !(cfg >= 2 && d->act);  // configurations 2, 3 add act+residual afterwards
    if (d->act && dnnl_post_ops_append_eltwise(po, 1.0f, dnnl_eltwise_relu, d->act_slope, 0.0f)) goto out;
    if (sum && dnnl_post_ops_append_sum(po, 1.0f)) goto out;
    if (dnnl_primitive_attr_set_post_ops(attr, po) ||
        dnnl_primitive_desc_create(&pd, &cd, attr, g_engine, NULL) != dnnl_success)
        pd = NULL;
out:
    if (attr) dnnl_primitive_attr_destroy(attr);
    if (po) dnnl_post_ops_destroy(po);
    return pd;
}

static const char *pd_impl(dnnl_primitive_desc_t pd) {
    const char *s = NULL;
    dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &s);
    return s ? s : "?";
}

// Reorders the plain OIHW weights into an owned buffer in the primitive's layout.
static int load_weights(sv_dnnl_conv *c, const float *weight, sv_err *e) {
    const sv_conv_desc *d = &c->d;
    const dnnl_dims_t wei_dims = {d->cout, d->cin, d->k, d->k};
    dnnl_memory_desc_t user_md;
    const dnnl_memory_desc_t *md = dnnl_primitive_desc_query_md(c->pd, dnnl_query_weights_md, 0);
    dnnl_memory_t user = NULL;
    dnnl_primitive_t r = NULL;
    int rc = -1;
    c->wei_buf = sv_malloc(dnnl_memory_desc_get_size(md), e);
    if (!c->wei_buf) return -1;
    if (dnnl_memory_desc_init_by_tag(&user_md, 4, wei_dims, dnnl_f32, dnnl_oihw) ||
        dnnl_memory_create(&c->wei, md, g_engine, c->wei_buf) ||
        dnnl_memory_create(&user, &user_md, g_engine, (void *)weight) || make_reorder(&user_md, md, &r)) {
        sv_errf(e, "oneDNN: cannot reorder the conv weights");
        goto out;
    }
    if (r ? run_reorder(r, user, c->wei) : (memcpy(c->wei_buf, weight, dnnl_memory_desc_get_size(md)), 0)) {
        sv_errf(e, "oneDNN: weight reorder failed");
        goto out;
    }
    dnnl_stream_wait(g_stream);
    rc = 0;
out:
    if (r) dnnl_primitive_destroy(r);
    if (user) dnnl_memory_destroy(user);
    return rc;
}

// Buffers and reorders between the user layouts and the primitive's (configuration 3).
static int setup_layouts(sv_dnnl_conv *c, sv_err *e) {
    const sv_conv_desc *d = &c->d;
    const dnnl_dims_t src_dims = {1, d->cin, d->h, d->w}, dst_dims = {1, d->cout, c->oh, c->ow};
    dnnl_memory_desc_t usrc_md, udst_md;
    const dnnl_memory_desc_t *src_md = dnnl_primitive_desc_query_md(c->pd, dnnl_query_src_md, 0);
    const dnnl_memory_desc_t *dst_md = dnnl_primitive_desc_query_md(c->pd, dnnl_query_dst_md, 0);
    if (dnnl_memory_desc_init_by_tag(&usrc_md, 4, src_dims, dnnl_f32, tag_for(d->blk)) ||
        dnnl_memory_desc_init_by_tag(&udst_md, 4, dst_dims, dnnl_f32, tag_for(d->blk)) ||
        dnnl_memory_create(&c->src, src_md, g_engine, DNNL_MEMORY_NONE) ||
        dnnl_memory_create(&c->dst, dst_md, g_engine, DNNL_MEMORY_NONE))
        return sv_errf(e, "oneDNN: cannot create conv memories");
    if (make_reorder(&usrc_md, src_md, &c->r_src) || make_reorder(dst_md, &udst_md, &c->r_dst) ||
        (c->r_dst && !c->post_add && d->residual && make_reorder(&udst_md, dst_md, &c->r_res)))
        return sv_errf(e, "oneDNN: cannot create the conv's layout reorders");
    if (c->r_src || c->r_dst) {
        if (dnnl_memory_create(&c->usrc, &usrc_md, g_engine, DNNL_MEMORY_NONE) ||
            dnnl_memory_create(&c->udst, &udst_md, g_engine, DNNL_MEMORY_NONE))
            return sv_errf(e, "oneDNN: cannot create conv memories");
    }
    if (c->r_src && !(c->src_buf = sv_calloc(1, dnnl_memory_desc_get_size(src_md), e))) return -1;
    if (c->r_dst && !(c->dst_buf = sv_calloc(1, dnnl_memory_desc_get_size(dst_md), e))) return -1;
    if (c->src_buf) dnnl_memory_set_data_handle(c->src, c->src_buf);
    if (c->dst_buf) dnnl_memory_set_data_handle(c->dst, c->dst_buf);
    return 0;
}

sv_dnnl_conv *sv_dnnl_conv_create(const sv_conv_desc *d, const float *weight, const float *bias, int alg, sv_err *e) {
    if (get_engine(e)) return NULL;
    sv_dnnl_conv *c = sv_calloc(1, sizeof *c, e);
    if (!c) return NULL;
    c->d = *d;
    c->oh = d->h + 2 * d->pad - d->k + 1;
    c->ow = d->w + 2 * d->pad - d->k + 1;
    int cfg = 1;
    c->pd = make_pd(d, c->oh, c->ow, alg, 1);
    for (int alt = 2; alt <= 3 && (!c->pd || !strncmp(pd_impl(c->pd), "ref", 3)); alt++) {
        if (alt == 2 && !(d->act && d->residual)) continue;
        dnnl_primitive_desc_t pd = make_pd(d, c->oh, c->ow, alg, alt);
        if (pd && strncmp(pd_impl(pd), "ref", 3)) {
            if (c->pd) dnnl_primitive_desc_destroy(c->pd);
            c->pd = pd, cfg = alt;
        } else if (pd) {
            dnnl_primitive_desc_destroy(pd);
        }
    }
    if (!c->pd) {
        sv_errf(e, "oneDNN: no convolution for cin %d cout %d k %d pad %d %dx%d blk %d", d->cin, d->cout, d->k, d->pad,
                d->h, d->w, d->blk);
        goto fail;
    }
    c->post_add = cfg >= 2 && d->act && d->residual;
    snprintf(c->impl, sizeof c->impl, "%s%s%s", pd_impl(c->pd), cfg == 3 ? "+reorder" : "",
             c->post_add ? "+add" : "");
    if (dnnl_primitive_create(&c->prim, c->pd)) {
        sv_errf(e, "oneDNN: cannot create the convolution primitive (%s)", c->impl);
        goto fail;
    }
    if (load_weights(c, weight, e)) goto fail;
    const dnnl_dims_t bias_dims = {d->cout};
    dnnl_memory_desc_t bias_md;
    c->bias_buf = sv_calloc((size_t)d->cout, sizeof(float), e);
    if (!c->bias_buf) goto fail;
    if (bias) memcpy(c->bias_buf, bias, (size_t)d->cout * sizeof(float));
    if (dnnl_memory_desc_init_by_tag(&bias_md, 1, bias_dims, dnnl_f32, dnnl_x) ||
        dnnl_memory_create(&c->bias, &bias_md, g_engine, c->bias_buf)) {
        sv_errf(e, "oneDNN: cannot create the bias memory");
        goto fail;
    }
    if (setup_layouts(c, e)) goto fail;
    if (c->post_add && !(c->tmp = sv_malloc(sv_fmap_floats(d->cout, c->oh, c->ow, d->blk) * sizeof(float), e)))
        goto fail;
    return c;
fail:
    sv_dnnl_conv_free(c);
    return NULL;
}

int sv_dnnl_conv_run(sv_dnnl_conv *c, float *out, const float *in, const float *residual, sv_err *e) {
    int rc = 0;
    const sv_conv_desc *d = &c->d;
    const size_t nout = sv_fmap_floats(d->cout, c->oh, c->ow, d->blk);
    // where the conv writes in the user layout: out, or tmp when the residual is added afterwards
    float *target = c->post_add ? c->tmp : out;
    if (c->r_src) {
        dnnl_memory_set_data_handle(c->usrc, (void *)in);
        rc |= run_reorder(c->r_src, c->usrc, c->src);
    } else {
        dnnl_memory_set_data_handle(c->src, (void *)in);
    }
    if (!c->r_dst) dnnl_memory_set_data_handle(c->dst, target);
    if (d->residual && !c->post_add) {  // the sum post-op accumulates onto dst: put the residual there
        if (c->r_dst) {
            if (residual) {
                dnnl_memory_set_data_handle(c->udst, (void *)residual);
                rc |= run_reorder(c->r_res, c->udst, c->dst);
            } else {
                memset(c->dst_buf, 0, dnnl_memory_desc_get_size(dnnl_primitive_desc_query_md(c->pd, dnnl_query_dst_md, 0)));
            }
        } else if (residual && residual != out) {
            memcpy(out, residual, nout * sizeof(float));
        } else if (!residual) {
            memset(out, 0, nout * sizeof(float));
        }
    }
    dnnl_exec_arg_t args[4] = {
        {DNNL_ARG_SRC, c->src}, {DNNL_ARG_WEIGHTS, c->wei}, {DNNL_ARG_BIAS, c->bias}, {DNNL_ARG_DST, c->dst}};
    if (dnnl_primitive_execute(c->prim, g_stream, 4, args) != dnnl_success) rc = -1;
    if (c->r_dst) {
        dnnl_memory_set_data_handle(c->udst, target);
        rc |= run_reorder(c->r_dst, c->dst, c->udst);
    }
    if (dnnl_stream_wait(g_stream) != dnnl_success) rc = -1;
    if (c->post_add) {
#pragma omp parallel for schedule(static) if (nout > SV_OMP_MIN_WORK)
        for (size_t i = 0; i < nout; i++) out[i] = c->tmp[i] + (residual ? residual[i] : 0.0f);
    }
    if (rc)
        return sv_errf(e, "oneDNN conv %d -> %d at %dx%d (%s): a primitive failed to execute", d->cin, d->cout,
                       d->h, d->w, c->impl);
    return 0;
}

const char *sv_dnnl_conv_impl(const sv_dnnl_conv *c) { return c->impl; }

void sv_dnnl_conv_free(sv_dnnl_conv *c) {
    if (!c) return;
    dnnl_primitive_t prims[] = {c->prim, c->r_src, c->r_dst, c->r_res};
    dnnl_memory_t mems[] = {c->src, c->dst, c->wei, c->bias, c->usrc, c->udst};
    for (size_t i = 0; i < sizeof prims / sizeof *prims; i++)
        if (prims[i]) dnnl_primitive_destroy(prims[i]);
    for (size_t i = 0; i < sizeof mems / sizeof *mems; i++)
        if (mems[i]) dnnl_memory_destroy(mems[i]);
    if (c->pd) dnnl_primitive_desc_destroy(c->pd);
    free(c->wei_buf);
    free(c->bias_buf);
    free(c->src_buf);
    free(c->dst_buf);
    free(c->tmp);
    free(c);
}
