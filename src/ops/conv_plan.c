// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// conv_plan.c: the conv plan (ops/conv.h). At creation it picks one backend for the layer's shape and
// lets that backend transform the weights; run only dispatches. Backends (conv_internal.h):
//   SV_CONV_WINO6 own Winograd F(6x6,3x3), AVX2/FMA    k = 3, blk 8/16, cin >= 5, output >= 24x24
//   SV_CONV_WINO  own Winograd F(4x4,3x3)               the same below 24x24
//   SV_CONV_WINO7 own Winograd F(2x2,7x7), AVX2/FMA    k = 7, blk 8/16 (SPyNet): see choose_algo
//   SV_CONV_WINO7F4 own Winograd F(4x4,7x7), AVX2/FMA  the same
//   SV_CONV_DNNL  oneDNN direct convolution            everything else (blk 1 too: plain nchw)
//   SV_CONV_DNNL_AUTO  oneDNN's own choice (its Winograd exists for AVX-512 only); benchmarks only
//   SV_CONV_REF   conv2d_forward_ref + epilogue        last resort when oneDNN refuses a shape
// A pixel shuffle after the conv (desc shuffle) is fused into the Winograd output transform; the other
// backends write the conv to tmp and shuffle it from there.
// sv_conv_configure (the CLI's SLIMVSR_CONV_ALGO) forces one for every layer where it applies (wino6 and
// wino need k = 3, wino7 and wino7f4 k = 7, all four blk 8/16).
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <oneapi/dnnl/dnnl.h>

#include "core/layout.h"
#include "core/warn.h"
#include "ops/conv_internal.h"
#include "ops/ops.h"
#include "ops/tune.h"

struct sv_conv_plan {
    sv_conv_desc d;
    int oh, ow, algo;
    char name[80];
    sv_wino *wino;
    sv_dnnl_conv *dnnl;
    float *w, *b;        // SV_CONV_REF: plain copies of the weights
    float *tmp;          // SV_CONV_REF, or shuffle without Winograd: the conv result before the shuffle
};

static const char *algo_name[SV_CONV_NALGO] = {"auto", "wino", "dnnl", "dnnl_auto", "ref", "wino6", "wino7",
                                                "wino7f4"};

// The process-wide choices of sv_conv_configure: set once before any plan, read-only afterwards.
static int g_forced_algo = SV_CONV_AUTO, g_forced_blk = 0, g_avx2_only = 0;
static sv_wisdom *g_wisdom;

int sv_conv_configure(const sv_conv_config *c, sv_err *e) {
    int algo = SV_CONV_AUTO;
    if (c->algo) {
        algo = -1;
        for (int a = 0; a < SV_CONV_NALGO; a++)
            if (!strcmp(c->algo, algo_name[a])) algo = a;
        if (algo < 0)
            return sv_errf(e, "unknown convolution algorithm '%s' (auto, wino6, wino, wino7, wino7f4, dnnl, "
                              "dnnl_auto, ref)", c->algo);
    }
    if (c->blk != 0 && c->blk != 8 && c->blk != 16)
        return sv_errf(e, "convolution layout blk %d: 8 or 16 (0: the CPU's choice)", c->blk);
    g_forced_algo = algo;
    g_forced_blk = c->blk;
    g_avx2_only = c->avx2_only;
    g_wisdom = c->wisdom;
    return 0;
}

const char *sv_conv_algo_name(int algo) { return algo >= 0 && algo < SV_CONV_NALGO ? algo_name[algo] : "?"; }

sv_wisdom *sv_tune_wisdom(void) { return g_wisdom; }

int sv_wino_takes(int algo, const sv_conv_desc *d) {
    if (d->blk != 8 && d->blk != 16) return 0;
    if (algo == SV_CONV_WINO || algo == SV_CONV_WINO6) return d->k == 3;
    if (algo == SV_CONV_WINO7 || algo == SV_CONV_WINO7F4) return d->k == 7;
    return 1;
}

// The choice for a shape, measured on 2-core Zen 3 (AVX2) with bench/conv_bench.c and a sweep of channel
// counts (8..256) and sizes (5x7 .. 720x1280): own Winograd beats oneDNN's direct conv 1.4-3x for every
// 3x3 shape except a tiny cin (3 -> 64: oneDNN's direct "first layer" kernel is 2x faster; Winograd
// pads cin to 8). F(6x6) is 1.15-1.45x faster than F(4x4) once the image is a few tiles wide, about
// equal below. Accuracy: in a chain of 30 (120) BasicVSR-like residual blocks both stay within
// 3.4e-6 (6.5e-6) of a double-precision reference, where oneDNN's direct conv (PyTorch's) drifts by
// 4e-5 (1e-4): the Winograd sums are shorter.
//
// 7x7 (SPyNet, 2-core Zen 3, bench/conv_bench.c, cpu/T): F(4x4,7x7) is about 2x faster than F(2x2,7x7)
// from 24x40 up to 192x320 for every SPyNet layer (cin 8 included; e.g. 32->64 at 192x320: 15.7 against
// 33.5 ms, oneDNN direct 66 ms), and at least ties both at 12x20 and 6x10. F(2x2,7x7) is the more
// accurate (test_conv: ~2e-6 of the terms' magnitude against ~5e-5, about F(6x6,3x3)'s ~2e-5; SPyNet's
// flow then differs from PyTorch's by ~1e-5 px at the test vectors' scale, test_model); it remains
// available through SLIMVSR_CONV_ALGO=wino7.
static int choose_algo(const sv_conv_desc *d, int oh, int ow) {
    const int blocked = d->blk == 8 || d->blk == 16;
    if (d->k == 3 && blocked && d->cin >= 5) return oh >= 24 && ow >= 24 ? SV_CONV_WINO6 : SV_CONV_WINO;
    if (d->k == 7 && blocked) return SV_CONV_WINO7F4;
    return SV_CONV_DNNL;
}

// tmp: room for the conv's output before the shuffle or the epilogue (cout x oh x ow in layout blk)
static float *alloc_tmp(const sv_conv_plan *p, sv_err *e) {
    return sv_malloc(sv_fmap_floats(p->d.cout, p->oh, p->ow, p->d.blk) * sizeof(float), e);
}

static int check_desc(const sv_conv_desc *d, sv_err *e) {
    if (d->cin < 1 || d->cout < 1 || d->k < 1 || d->k % 2 == 0 || d->pad < 0 || d->h < 1 || d->w < 1 ||
        (d->blk != 1 && d->blk != 8 && d->blk != 16))
        return sv_errf(e, "conv plan: bad shape cin %d cout %d k %d pad %d %dx%d blk %d", d->cin, d->cout, d->k,
                       d->pad, d->h, d->w, d->blk);
    if (d->h + 2 * d->pad - d->k + 1 < 1 || d->w + 2 * d->pad - d->k + 1 < 1)
        return sv_errf(e, "conv plan: %dx%d input with k %d pad %d gives an empty output", d->h, d->w, d->k,
                       d->pad);
    if (d->shuffle != 0 && (d->shuffle != 2 || d->cout % 4 || d->residual))
        return sv_errf(e, "conv plan: pixel shuffle %d needs factor 2, cout a multiple of 4 (got %d) and no residual",
                       d->shuffle, d->cout);
    return 0;
}

sv_conv_plan *sv_conv_plan_create_algo(const sv_conv_desc *d, const float *weight, const float *bias, int algo,
                                       sv_err *e) {
    if (check_desc(d, e)) return NULL;
    sv_conv_plan *p = sv_calloc(1, sizeof *p, e);
    if (!p) return NULL;
    p->d = *d;
    p->oh = d->h + 2 * d->pad - d->k + 1;
    p->ow = d->w + 2 * d->pad - d->k + 1;
    if (algo == SV_CONV_AUTO) {
        algo = g_forced_algo;
        if (!sv_wino_takes(algo, d)) algo = SV_CONV_AUTO;
        if (algo == SV_CONV_AUTO) algo = sv_conv_tune(d, weight, bias, choose_algo(d, p->oh, p->ow));
    }
    p->algo = algo;
    sv_conv_desc plain = *d;  // what a backend without the fused shuffle computes, into tmp
    plain.shuffle = 0;
    if (d->shuffle && (algo == SV_CONV_DNNL || algo == SV_CONV_DNNL_AUTO || algo == SV_CONV_REF) &&
        !(p->tmp = alloc_tmp(p, e)))
        goto fail;
    switch (algo) {
    case SV_CONV_WINO:
    case SV_CONV_WINO6:
    case SV_CONV_WINO7:
    case SV_CONV_WINO7F4: {
        const int m = algo == SV_CONV_WINO || algo == SV_CONV_WINO7F4 ? 4 : algo == SV_CONV_WINO6 ? 6 : 2;
        p->wino = sv_wino_create(d, weight, bias, m, 0, e);
        if (!p->wino) goto fail;
        snprintf(p->name, sizeof p->name, "winograd-f%dx%d%s-%s", m, m, d->k == 7 ? "-7x7" : "",
                 sv_wino_lanes(p->wino) == 16 ? "avx512" : "avx2");
        return p;
    }
    case SV_CONV_DNNL:
    case SV_CONV_DNNL_AUTO:
        p->dnnl = sv_dnnl_conv_create(&plain, weight, bias, algo == SV_CONV_DNNL_AUTO, e);
        if (p->dnnl) {
            snprintf(p->name, sizeof p->name, "onednn-%s:%s", algo == SV_CONV_DNNL_AUTO ? "auto" : "direct",
                     sv_dnnl_conv_impl(p->dnnl));
            return p;
        }
        // oneDNN refused this shape: the naive conv is slow but right
        sv_warnf("%s; using the reference conv", e ? e->msg : "oneDNN conv unavailable");
        p->algo = SV_CONV_REF;
        // fall through
    case SV_CONV_REF: {
        const size_t nw = (size_t)d->cout * d->cin * d->k * d->k;
        p->w = sv_malloc(nw * sizeof(float), e);
        p->b = p->w ? sv_calloc((size_t)d->cout, sizeof(float), e) : NULL;
        if (p->b && !p->tmp) p->tmp = alloc_tmp(p, e);
        if (!p->tmp) goto fail;
        memcpy(p->w, weight, nw * sizeof(float));
        if (bias) memcpy(p->b, bias, (size_t)d->cout * sizeof(float));
        snprintf(p->name, sizeof p->name, "reference");
        return p;
    }
    default:
        sv_errf(e, "conv plan: unknown algorithm %d", algo);
        goto fail;
    }
fail:
    sv_conv_plan_free(p);
    return NULL;
}

sv_conv_plan *sv_conv_plan_create(const sv_conv_desc *d, const float *weight, const float *bias, sv_err *e) {
    return sv_conv_plan_create_algo(d, weight, bias, SV_CONV_AUTO, e);
}

int sv_conv_plan_run(sv_conv_plan *p, float *out, const float *in, const float *residual, sv_err *e) {
    const sv_conv_desc *d = &p->d;
    if (!d->residual) residual = NULL;
    if (p->wino) return sv_wino_run(p->wino, out, in, residual, e);  // fails only to allocate its scratch
    float *dst = d->shuffle ? p->tmp : out;
    if (p->dnnl) {
        if (sv_dnnl_conv_run(p->dnnl, dst, in, residual, e)) return -1;
    } else {
        conv2d_forward_ref(p->tmp, in, p->w, p->b, d->cin, d->cout, d->h, d->w, d->k, d->pad, d->blk);
        const size_t n = sv_fmap_floats(d->cout, p->oh, p->ow, d->blk);
        const float s = d->act ? d->act_slope : 1.0f;
        for (size_t i = 0; i < n; i++) {
            const float y = p->tmp[i] >= 0.0f ? p->tmp[i] : s * p->tmp[i];
            dst[i] = residual ? y + residual[i] : y;
        }
    }
    if (d->shuffle)
        pixel_shuffle_forward(out, p->tmp, d->cout / (d->shuffle * d->shuffle), p->oh, p->ow, d->shuffle, d->blk);
    return 0;
}

const char *sv_conv_plan_algo(const sv_conv_plan *p) { return p->name; }

int sv_conv_plan_algo_id(const sv_conv_plan *p) { return p->algo; }

void sv_conv_plan_phases(const sv_conv_plan *p, double sec[3]) {
    if (p->wino) sv_wino_phases(p->wino, sec);
    else sec[0] = sec[1] = sec[2] = 0;
}

void sv_conv_plan_free(sv_conv_plan *p) {
    if (!p) return;
    sv_wino_free(p->wino);
    sv_dnnl_conv_free(p->dnnl);
    free(p->w);
    free(p->b);
    free(p->tmp);
    free(p);
}

int sv_conv_avx512(void) { return !g_avx2_only && __builtin_cpu_supports("avx512f"); }

// 16 where oneDNN runs AVX-512 kernels (they need nChw16c; the Winograd path handles 16 as two groups of
// 8), else 8. sv_conv_configure's blk overrides it (to compare both on one CPU).
int sv_conv_preferred_blk(void) {
    if (g_forced_blk) return g_forced_blk;
    const dnnl_cpu_isa_t isa = dnnl_get_effective_cpu_isa();
    return (isa & dnnl_cpu_isa_avx512_core) == dnnl_cpu_isa_avx512_core ? 16 : 8;
}
