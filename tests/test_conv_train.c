// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// test_conv_train.c: the training conv (ops/conv.h, "training").
//   1. conv2d_backward_ref against central finite differences of <g, conv(in, w, b)> computed by a
//      double-precision conv written here (odd shapes, k 1/3/5/7, pad k/2 and smaller), with gradient
//      buffers pre-filled (backwards accumulate) and each gradient skipped (NULL) in turn; then in blk 8
//      and 16 against blk 1, with garbage in the padding channels of its inputs (must not be read) and a
//      sentinel in those of din (must stay).
//   2. sv_conv_train, fast (oneDNN, and our Winograd F(4x4,3x3) where it applies) and reference paths,
//      against conv2d_forward_ref + an epilogue written here and conv2d_backward_ref per sample, on odd
//      shapes: channels 3..67, k 1/3/7, batch 1 and 3, blk 1/8/16, act none/ReLU/LeakyReLU 0.1, residual
//      none/separate/aliasing out, bias or none, and a backward with each of din/dw/db NULL in turn.
//      Relative error in norm: forward and din 2e-5, dw and db (sums over the whole batch) 1e-4.
//   3. Our Winograd inside the training conv (forced: sv_conv_train_create_algo), forward and backward-data
//      (and backward-weights for F(4x4,3x3), whose dw is then ours) against the same references, on odd shapes: 5x7, 23x37, 13x19, channels 5..67 (not multiples of 8),
//      blk 8 and 16, batch 1 and 3, act none/ReLU/LeakyReLU, residual none/separate/aliasing out, k 3
//      (F(4x4) and F(6x6)) and k 7 (F(2x2) and F(4x4)); three optimiser "steps" on one plan (new weights,
//      then one weight and one bias element changed) to check that changed weights are re-transformed.
//      Relative error in norm: forward and din 1e-5 for F(4x4,3x3) and F(2x2,7x7), 5e-5 for F(6x6,3x3),
//      2e-4 for F(4x4,7x7) (their transforms' rounding, as in test_conv); dw and db 1e-4.
//   4. Prints the implementation each phase uses for BasicVSR's shapes (informational).
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/layout.h"
#include "ops/conv.h"
#include "ops/conv_internal.h"
#include "testutil.h"

#define FD_TOL 1e-5
#define FD_EPS 1e-3
#define FWD_TOL 2e-5
#define DIN_TOL 2e-5
#define DW_TOL 1e-4
#define GARBAGE 3.5f
#define SENTINEL 7.25f

static uint64_t rng = 0xc0417a1bULL;

static float *frand(size_t n, float lo, float hi) {
    float *a = malloc(sizeof(float) * (n ? n : 1));
    tu_fill_uniform(a, n, lo, hi, &rng);
    return a;
}

static float *fcopy(const float *a, size_t n) {
    float *b = malloc(sizeof(float) * (n ? n : 1));
    memcpy(b, a, sizeof(float) * n);
    return b;
}

// ||got - want|| / ||scale|| in double (scale: the part of want that the code under test computed)
static double rel_err(const float *got, const double *want, const double *scale, size_t n) {
    double num = 0.0, den = 0.0;
    for (size_t i = 0; i < n; i++) {
        num += (got[i] - want[i]) * (got[i] - want[i]);
        den += scale[i] * scale[i];
    }
    return sqrt(num) / (den > 0.0 ? sqrt(den) : 1e-300);
}

// ---- 1. conv2d_backward_ref against finite differences ----

typedef struct {
    int cin, cout, h, w, k, pad, oh, ow;
} shape;

// <g, conv(in, w, b)> in double, plain CHW; o_only >= 0 sums output channel o_only alone (the only one a
// weight or bias of filter o_only reaches).
static double conv_dot(const shape *s, const double *in, const double *w, const double *b, const double *g,
                       int o_only) {
    double sum = 0.0;
    for (int o = 0; o < s->cout; o++) {
        if (o_only >= 0 && o != o_only) continue;
        for (int y = 0; y < s->oh; y++)
            for (int x = 0; x < s->ow; x++) {
                double v = b[o];
                for (int i = 0; i < s->cin; i++)
                    for (int ky = 0; ky < s->k; ky++)
                        for (int kx = 0; kx < s->k; kx++) {
                            const int iy = y + ky - s->pad, ix = x + kx - s->pad;
                            if (iy < 0 || iy >= s->h || ix < 0 || ix >= s->w) continue;
                            v += w[((o * s->cin + i) * s->k + ky) * s->k + kx] * in[(i * s->h + iy) * s->w + ix];
                        }
                sum += g[(o * s->oh + y) * s->ow + x] * v;
            }
    }
    return sum;
}

// Central difference of conv_dot with respect to every element of x (which is one of in, w, b).
// owner(j) gives the o_only for element j (-1: all outputs).
static void fd_grad(const shape *s, double *in, double *w, double *b, const double *g, double *x, size_t nx,
                    int per_filter, double *out) {
    const size_t per_o = per_filter ? nx / (size_t)s->cout : 0;
    for (size_t j = 0; j < nx; j++) {
        const int o_only = per_filter ? (int)(j / per_o) : -1;
        const double keep = x[j];
        x[j] = keep + FD_EPS;
        const double lp = conv_dot(s, in, w, b, g, o_only);
        x[j] = keep - FD_EPS;
        const double lm = conv_dot(s, in, w, b, g, o_only);
        x[j] = keep;
        out[j] = (lp - lm) / (2.0 * FD_EPS);
    }
}

static double *to_d(const float *a, size_t n) {
    double *d = malloc(sizeof(double) * (n ? n : 1));
    for (size_t i = 0; i < n; i++) d[i] = a[i];
    return d;
}

// got == prefill + fd, measured against ||fd||
static double fd_err(const float *got, const float *prefill, const double *fd, size_t n) {
    double *want = malloc(sizeof(double) * n);
    for (size_t i = 0; i < n; i++) want[i] = (double)prefill[i] + fd[i];
    const double e = rel_err(got, want, fd, n);
    free(want);
    return e;
}

// Plain CHW -> layout blk, padding channels set to pad_value.
static float *to_blk(const float *plain, int c, int h, int w, int blk, float pad_value) {
    const size_t n = sv_fmap_floats(c, h, w, blk);
    float *x = malloc(sizeof(float) * n);
    for (size_t i = 0; i < n; i++) x[i] = pad_value;
    for (int i = 0; i < c; i++)
        for (int p = 0; p < h * w; p++) x[sv_fmap_index(i, p / w, p % w, h, w, blk)] = plain[(size_t)i * h * w + p];
    return x;
}

static void fd_case(int cin, int cout, int h, int w, int k, int pad) {
    shape s = {cin, cout, h, w, k, pad, h + 2 * pad - k + 1, w + 2 * pad - k + 1};
    const size_t nin = (size_t)cin * h * w, nout = (size_t)cout * s.oh * s.ow, nw = (size_t)cout * cin * k * k;
    float *in = frand(nin, -1, 1), *w_ = frand(nw, -1, 1), *b = frand(cout, -1, 1), *g = frand(nout, -1, 1);
    float *pin = frand(nin, -1, 1), *pw = frand(nw, -1, 1), *pb = frand(cout, -1, 1);
    double *din_d = to_d(in, nin), *w_d = to_d(w_, nw), *b_d = to_d(b, cout), *g_d = to_d(g, nout);
    double *fd_in = malloc(sizeof(double) * nin), *fd_w = malloc(sizeof(double) * nw),
           *fd_b = malloc(sizeof(double) * cout);
    fd_grad(&s, din_d, w_d, b_d, g_d, din_d, nin, 0, fd_in);
    fd_grad(&s, din_d, w_d, b_d, g_d, w_d, nw, 1, fd_w);
    fd_grad(&s, din_d, w_d, b_d, g_d, b_d, cout, 1, fd_b);

    // all three at once, accumulating onto the prefill
    float *gin = fcopy(pin, nin), *gw = fcopy(pw, nw), *gb = fcopy(pb, cout);
    conv2d_backward_ref(gin, gw, gb, g, in, w_, cin, cout, h, w, k, pad, 1);
    const double ein = fd_err(gin, pin, fd_in, nin), ew = fd_err(gw, pw, fd_w, nw), eb = fd_err(gb, pb, fd_b, cout);
    CHECKF(ein <= FD_TOL && ew <= FD_TOL && eb <= FD_TOL,
           "backward_ref %d->%d k%d pad%d %dx%d vs finite differences: din %.2e dw %.2e db %.2e", cin, cout, k, pad,
           h, w, ein, ew, eb);

    // each one alone (the others NULL): the same values
    float *g1 = fcopy(pin, nin), *g2 = fcopy(pw, nw), *g3 = fcopy(pb, cout);
    conv2d_backward_ref(g1, NULL, NULL, g, in, w_, cin, cout, h, w, k, pad, 1);
    conv2d_backward_ref(NULL, g2, NULL, g, in, w_, cin, cout, h, w, k, pad, 1);
    conv2d_backward_ref(NULL, NULL, g3, g, in, w_, cin, cout, h, w, k, pad, 1);
    CHECK(!memcmp(g1, gin, nin * sizeof(float)) && !memcmp(g2, gw, nw * sizeof(float)) &&
          !memcmp(g3, gb, cout * sizeof(float)));

    // blocked layouts: same gradients; input padding is garbage (unread), din padding a sentinel (untouched)
    for (int blk = 8; blk <= 16; blk *= 2) {
        float *in_b = to_blk(in, cin, h, w, blk, GARBAGE), *g_b = to_blk(g, cout, s.oh, s.ow, blk, GARBAGE);
        float *gin_b = to_blk(pin, cin, h, w, blk, SENTINEL), *gw_b = fcopy(pw, nw), *gb_b = fcopy(pb, cout);
        conv2d_backward_ref(gin_b, gw_b, gb_b, g_b, in_b, w_, cin, cout, h, w, k, pad, blk);
        double maxd = tu_max_abs_diff(gw_b, gw, nw) + tu_max_abs_diff(gb_b, gb, cout);
        int pad_ok = 1;
        for (int c = 0; c < sv_cpad(cin, blk); c++)
            for (int p = 0; p < h * w; p++) {
                const float v = gin_b[sv_fmap_index(c, p / w, p % w, h, w, blk)];
                if (c < cin)
                    maxd = fmax(maxd, fabs(v - gin[(size_t)c * h * w + p]));
                else if (v != SENTINEL)
                    pad_ok = 0;
            }
        CHECKF(maxd <= 1e-5 && pad_ok, "backward_ref blk %d %d->%d k%d: max diff to blk 1 %.2e, padding kept %d", blk,
               cin, cout, k, maxd, pad_ok);
        free(in_b), free(g_b), free(gin_b), free(gw_b), free(gb_b);
    }
    printf("  backward_ref %d->%d k%d pad%d %dx%d: rel err din %.1e dw %.1e db %.1e\n", cin, cout, k, pad, h, w, ein,
           ew, eb);
    free(in), free(w_), free(b), free(g), free(pin), free(pw), free(pb);
    free(din_d), free(w_d), free(b_d), free(g_d), free(fd_in), free(fd_w), free(fd_b);
    free(gin), free(gw), free(gb), free(g1), free(g2), free(g3);
}

static void test_backward_ref_fd(void) {
    fd_case(3, 4, 6, 9, 3, 1);
    fd_case(5, 7, 6, 9, 7, 3);
    fd_case(5, 4, 6, 9, 1, 0);
    fd_case(3, 7, 6, 9, 3, 0);
    fd_case(5, 4, 6, 9, 5, 1);  // pad below k/2: output 4x7
}

// ---- 2. sv_conv_train against the reference ops ----

typedef struct {
    int cin, cout, k, pad, h, w, n, blk;
    int act;        // 0 none, 1 ReLU, 2 LeakyReLU 0.1
    int residual;   // 0 none, 1 separate buffer, 2 aliasing out
    int nobias;
} tcase;

// A batch of n random feature maps in layout blk, zero padding channels.
static float *rand_batch(int n, int c, int h, int w, int blk) {
    const size_t per = sv_fmap_floats(c, h, w, blk);
    float *x = calloc((size_t)n * per, sizeof(float));
    float *plain = frand((size_t)n * c * h * w, -1, 1);
    for (int s = 0; s < n; s++)
        for (int i = 0; i < c; i++)
            for (int p = 0; p < h * w; p++)
                x[s * per + sv_fmap_index(i, p / w, p % w, h, w, blk)] = plain[((size_t)s * c + i) * h * w + p];
    free(plain);
    return x;
}

// Whether the padding channels of a batch are all zero.
static int padding_zero(const float *x, int n, int c, int h, int w, int blk) {
    const size_t per = sv_fmap_floats(c, h, w, blk);
    for (int s = 0; s < n; s++)
        for (int i = c; i < sv_cpad(c, blk); i++)
            for (int p = 0; p < h * w; p++)
                if (x[s * per + sv_fmap_index(i, p / w, p % w, h, w, blk)] != 0.0f) return 0;
    return 1;
}

static double worst_fwd, worst_din, worst_dw, worst_db;

// What a training conv must give for case t: the reference conv per sample with the epilogue written out
// here (want; want_conv without the residual, the scale of the error), and the naive backward onto the
// prefills pin, pw, pb (want_in, want_w, want_b; sc_*: the gradients alone, the scale of their errors).
typedef struct {
    double *want, *want_conv, *want_in, *want_w, *want_b, *sc_in, *sc_w, *sc_b;
} expect;

static void expect_make(expect *x, const tcase *t, const float *in, const float *res, const float *dout,
                        const float *w, const float *b, const float *pin, const float *pw, const float *pb) {
    const int oh = t->h + 2 * t->pad - t->k + 1, ow = t->w + 2 * t->pad - t->k + 1;
    const size_t nin1 = sv_fmap_floats(t->cin, t->h, t->w, t->blk), nout1 = sv_fmap_floats(t->cout, oh, ow, t->blk);
    const size_t nin = (size_t)t->n * nin1, nout = (size_t)t->n * nout1, nw = (size_t)t->cout * t->cin * t->k * t->k;
    const float slope = t->act == 2 ? 0.1f : 0.0f;
    x->want = malloc(sizeof(double) * nout), x->want_conv = malloc(sizeof(double) * nout);
    float *tmp = malloc(sizeof(float) * nout1);
    for (int s = 0; s < t->n; s++) {
        conv2d_forward_ref(tmp, in + s * nin1, w, b, t->cin, t->cout, t->h, t->w, t->k, t->pad, t->blk);
        for (size_t i = 0; i < nout1; i++) {
            const double y = t->act && tmp[i] < 0 ? slope * tmp[i] : tmp[i];
            x->want_conv[s * nout1 + i] = y;
            x->want[s * nout1 + i] = y + (t->residual ? res[s * nout1 + i] : 0.0);
        }
    }
    float *ein = fcopy(pin, nin), *ew = fcopy(pw, nw), *eb = fcopy(pb, t->cout);
    for (int s = 0; s < t->n; s++)
        conv2d_backward_ref(ein + s * nin1, ew, eb, dout + s * nout1, in + s * nin1, w, t->cin, t->cout, t->h, t->w,
                            t->k, t->pad, t->blk);
    x->want_in = to_d(ein, nin), x->want_w = to_d(ew, nw), x->want_b = to_d(eb, t->cout);
    x->sc_in = malloc(sizeof(double) * nin), x->sc_w = malloc(sizeof(double) * nw);
    x->sc_b = malloc(sizeof(double) * t->cout);
    for (size_t i = 0; i < nin; i++) x->sc_in[i] = x->want_in[i] - pin[i];
    for (size_t i = 0; i < nw; i++) x->sc_w[i] = x->want_w[i] - pw[i];
    for (int i = 0; i < t->cout; i++) x->sc_b[i] = x->want_b[i] - pb[i];
    free(tmp), free(ein), free(ew), free(eb);
}

static void expect_free(expect *x) {
    free(x->want), free(x->want_conv), free(x->want_in), free(x->want_w), free(x->want_b);
    free(x->sc_in), free(x->sc_w), free(x->sc_b);
}

static void train_case(const tcase *t, int null_sel) {
    const int oh = t->h + 2 * t->pad - t->k + 1, ow = t->w + 2 * t->pad - t->k + 1;
    const size_t nin1 = sv_fmap_floats(t->cin, t->h, t->w, t->blk), nout1 = sv_fmap_floats(t->cout, oh, ow, t->blk);
    const size_t nin = (size_t)t->n * nin1, nout = (size_t)t->n * nout1, nw = (size_t)t->cout * t->cin * t->k * t->k;
    const float slope = t->act == 2 ? 0.1f : 0.0f;
    float *in = rand_batch(t->n, t->cin, t->h, t->w, t->blk), *res = rand_batch(t->n, t->cout, oh, ow, t->blk);
    float *dout = rand_batch(t->n, t->cout, oh, ow, t->blk);
    float *w = frand(nw, -0.3f, 0.3f), *b = t->nobias ? NULL : frand(t->cout, -1, 1);
    float *pin = rand_batch(t->n, t->cin, t->h, t->w, t->blk), *pw = frand(nw, -1, 1), *pb = frand(t->cout, -1, 1);

    expect x;
    expect_make(&x, t, in, res, dout, w, b, pin, pw, pb);
    const double *want = x.want, *want_conv = x.want_conv, *want_in = x.want_in, *want_w = x.want_w,
                 *want_b = x.want_b, *sc_in = x.sc_in, *sc_w = x.sc_w, *sc_b = x.sc_b;

    const sv_conv_desc d = {.cin = t->cin, .cout = t->cout, .k = t->k, .pad = t->pad, .h = t->h, .w = t->w,
                            .blk = t->blk, .act = t->act != 0, .act_slope = slope, .residual = t->residual != 0};
    char label[160];
    snprintf(label, sizeof label, "%d->%d k%d pad%d %dx%d n%d blk%d act%d res%d%s null%d", t->cin, t->cout, t->k,
             t->pad, t->h, t->w, t->n, t->blk, t->act, t->residual, t->nobias ? " nobias" : "", null_sel);
    for (int reference = 0; reference <= 1; reference++) {
        sv_err e = {{0}};
        sv_conv_train *p = sv_conv_train_create(&d, t->n, reference, &e);
        CHECKF(p != NULL, "%s: create: %s", label, e.msg);
        if (!p) continue;
        CHECKF(reference || strcmp(sv_conv_train_algo(p), "reference"), "%s: fast path fell back to the reference",
               label);
        // forward; out starts as garbage, or as the residual when aliased
        float *out = t->residual == 2 ? fcopy(res, nout) : frand(nout, 50, 60);
        const float *r = t->residual == 1 ? res : t->residual == 2 ? out : NULL;
        CHECKF(!sv_conv_train_forward(p, out, in, w, b, r, &e), "%s: forward: %s", label, e.msg);
        const double ef = rel_err(out, want, want_conv, nout);
        CHECKF(ef <= FWD_TOL, "%s ref%d (%s): forward rel err %.2e", label, reference, sv_conv_train_algo(p), ef);
        CHECKF(padding_zero(out, t->n, t->cout, oh, ow, t->blk), "%s ref%d: output padding channels not zero", label,
               reference);
        // backward; null_sel 1..3 skips din, dw, db
        float *gin = fcopy(pin, nin), *gw = fcopy(pw, nw), *gb = fcopy(pb, t->cout);
        CHECKF(!sv_conv_train_backward(p, null_sel == 1 ? NULL : gin, null_sel == 2 ? NULL : gw,
                                       null_sel == 3 ? NULL : gb, dout, in, w, &e),
               "%s: backward: %s", label, e.msg);
        const double e_in = null_sel == 1 ? 0 : rel_err(gin, want_in, sc_in, nin);
        const double e_w = null_sel == 2 ? 0 : rel_err(gw, want_w, sc_w, nw);
        const double e_b = null_sel == 3 ? 0 : rel_err(gb, want_b, sc_b, t->cout);
        CHECKF(e_in <= DIN_TOL && e_w <= DW_TOL && e_b <= DW_TOL,
               "%s ref%d (%s): backward rel err din %.2e dw %.2e db %.2e", label, reference, sv_conv_train_algo(p),
               e_in, e_w, e_b);
        // a skipped gradient is left alone
        CHECKF((null_sel != 1 || !memcmp(gin, pin, nin * sizeof(float))) &&
                   (null_sel != 2 || !memcmp(gw, pw, nw * sizeof(float))) &&
                   (null_sel != 3 || !memcmp(gb, pb, t->cout * sizeof(float))),
               "%s ref%d: a NULL gradient's buffer changed", label, reference);
        CHECKF(padding_zero(gin, t->n, t->cin, t->h, t->w, t->blk), "%s ref%d: din padding channels not zero", label,
               reference);
        if (!reference) {
            worst_fwd = fmax(worst_fwd, ef), worst_din = fmax(worst_din, e_in);
            worst_dw = fmax(worst_dw, e_w), worst_db = fmax(worst_db, e_b);
        }
        free(out), free(gin), free(gw), free(gb);
        sv_conv_train_free(p);
    }
    free(in), free(res), free(dout), free(w), free(b), free(pin), free(pw), free(pb);
    expect_free(&x);
}

static void test_train_vs_ref(void) {
    static const tcase cases[] = {
        // cin cout k pad  h  w  n blk act res nobias
        {3, 13, 3, 1, 13, 19, 1, 8, 1, 0, 0},    // cin 3 (the frames): oneDNN wants nchw src
        {3, 64, 3, 1, 23, 41, 3, 8, 2, 0, 0},
        {64, 64, 3, 1, 13, 19, 3, 8, 0, 1, 0},   // residual block conv2
        {64, 64, 3, 1, 13, 19, 3, 8, 1, 2, 1},   // act + residual aliasing out, no bias
        {37, 13, 3, 1, 13, 19, 3, 8, 0, 2, 0},   // residual aliasing out, fused as oneDNN's sum post-op
        {67, 64, 3, 1, 13, 19, 1, 8, 2, 0, 0},   // trunk first conv
        {37, 13, 1, 0, 23, 41, 3, 8, 1, 1, 0},   // 1x1, act + separate residual
        {13, 37, 7, 3, 13, 19, 3, 8, 1, 0, 0},   // SPyNet-like 7x7
        {13, 3, 3, 1, 23, 41, 3, 1, 0, 2, 0},    // plain nchw
        {37, 67, 3, 1, 13, 19, 1, 16, 2, 2, 0},  // nChw16c (no AVX2 kernel: reordered)
        {3, 13, 7, 3, 13, 19, 3, 16, 0, 0, 0},
        {64, 3, 3, 0, 13, 19, 1, 1, 1, 1, 0},    // pad 0
        {13, 13, 1, 0, 13, 19, 3, 16, 0, 1, 1},
        {5, 7, 3, 0, 13, 19, 3, 1, 2, 2, 0},
        {67, 64, 3, 1, 13, 19, 3, 16, 1, 0, 0},
    };
    const int ncases = (int)(sizeof cases / sizeof *cases);
    for (int i = 0; i < ncases; i++) train_case(&cases[i], i % 4);
    printf("  fast path worst rel err: forward %.1e din %.1e dw %.1e db %.1e\n", worst_fwd, worst_din, worst_dw,
           worst_db);

    sv_err e = {{0}};
    const sv_conv_desc bad = {.cin = 3, .cout = 4, .k = 5, .pad = 0, .h = 3, .w = 9, .blk = 8};
    CHECK(sv_conv_train_create(&bad, 1, 0, &e) == NULL && e.msg[0]);
}

// ---- 3. our Winograd forced, against the reference ----

typedef struct {
    int cin, cout, k, pad, h, w, n, blk, act, residual, nobias;
    int algo;  // SV_CONV_WINO (F(4x4,3x3)), WINO6, WINO7 (F(2x2,7x7)), WINO7F4
} wcase;

static double wino_tol(int algo) {
    return algo == SV_CONV_WINO6 ? 5e-5 : algo == SV_CONV_WINO7F4 ? 2e-4 : 1e-5;
}

// One optimiser "step" on plan p: forward and backward with weights w, b against the reference ops.
static void wino_step(sv_conv_train *p, const wcase *t, const char *label, int step, const float *w, const float *b) {
    const int oh = t->h + 2 * t->pad - t->k + 1, ow = t->w + 2 * t->pad - t->k + 1;
    const size_t nin1 = sv_fmap_floats(t->cin, t->h, t->w, t->blk), nout1 = sv_fmap_floats(t->cout, oh, ow, t->blk);
    const size_t nin = (size_t)t->n * nin1, nout = (size_t)t->n * nout1, nw = (size_t)t->cout * t->cin * t->k * t->k;
    float *in = rand_batch(t->n, t->cin, t->h, t->w, t->blk), *res = rand_batch(t->n, t->cout, oh, ow, t->blk);
    float *dout = rand_batch(t->n, t->cout, oh, ow, t->blk), *pin = rand_batch(t->n, t->cin, t->h, t->w, t->blk);
    float *pw = frand(nw, -1, 1), *pb = frand(t->cout, -1, 1);
    const tcase tc = {.cin = t->cin, .cout = t->cout, .k = t->k, .pad = t->pad, .h = t->h, .w = t->w, .n = t->n,
                      .blk = t->blk, .act = t->act, .residual = t->residual, .nobias = t->nobias};
    expect x;
    expect_make(&x, &tc, in, res, dout, w, b, pin, pw, pb);
    const double *want = x.want, *want_conv = x.want_conv, *want_in = x.want_in, *want_w = x.want_w,
                 *want_b = x.want_b, *sc_in = x.sc_in, *sc_w = x.sc_w, *sc_b = x.sc_b;

    sv_err e = {{0}};
    float *out = t->residual == 2 ? fcopy(res, nout) : frand(nout, 50, 60);
    const float *r = t->residual == 1 ? res : t->residual == 2 ? out : NULL;
    CHECKF(!sv_conv_train_forward(p, out, in, w, b, r, &e), "%s step %d: forward: %s", label, step, e.msg);
    float *gin = fcopy(pin, nin), *gw = fcopy(pw, nw), *gb = fcopy(pb, t->cout);
    CHECKF(!sv_conv_train_backward(p, gin, gw, gb, dout, in, w, &e), "%s step %d: backward: %s", label, step, e.msg);
    // the same backward again gives the same bits (threads sum fixed ranges: training runs resume exactly)
    float *gw2 = fcopy(pw, nw);
    CHECKF(!sv_conv_train_backward(p, NULL, gw2, NULL, dout, in, w, &e) && !memcmp(gw, gw2, nw * sizeof(float)),
           "%s step %d: dw differs between two identical backwards", label, step);
    free(gw2);
    // our weight gradient called from inside another parallel region (a team smaller than
    // omp_get_max_threads says) is still right (oneDNN's is not asked: it crashes on a worker thread)
    if (t->algo == SV_CONV_WINO && t->k == 3) {
        float *gw3 = fcopy(pw, nw);
        int rc3 = 0;
#pragma omp parallel num_threads(2)
        {
#pragma omp single
            rc3 = sv_conv_train_backward(p, NULL, gw3, NULL, dout, in, w, &e);
        }
        const double e_w3 = rel_err(gw3, x.want_w, x.sc_w, nw);
        CHECKF(rc3 == 0 && e_w3 <= DW_TOL, "%s step %d: dw inside a parallel region: rel err %.2e", label, step, e_w3);
        free(gw3);
    }
    const double tol = wino_tol(t->algo);
    const double ef = rel_err(out, want, want_conv, nout), e_in = rel_err(gin, want_in, sc_in, nin);
    const double e_w = rel_err(gw, want_w, sc_w, nw), e_b = rel_err(gb, want_b, sc_b, t->cout);
    CHECKF(ef <= tol && e_in <= tol && e_w <= DW_TOL && e_b <= DW_TOL,
           "%s step %d: rel err forward %.2e din %.2e (tolerance %.0e) dw %.2e db %.2e", label, step, ef, e_in, tol,
           e_w, e_b);
    CHECKF(padding_zero(out, t->n, t->cout, oh, ow, t->blk) && padding_zero(gin, t->n, t->cin, t->h, t->w, t->blk),
           "%s step %d: padding channels of out or din not zero", label, step);
    if (step == 0)
        printf("  %-46s fwd %.1e din %.1e dw %.1e\n", label, ef, e_in, e_w);
    free(in), free(res), free(dout), free(pin), free(pw), free(pb), free(out), free(gin), free(gw), free(gb);
    expect_free(&x);
}

static void wino_case(const wcase *t) {
    const sv_conv_desc d = {.cin = t->cin, .cout = t->cout, .k = t->k, .pad = t->pad, .h = t->h, .w = t->w,
                            .blk = t->blk, .act = t->act != 0, .act_slope = t->act == 2 ? 0.1f : 0.0f,
                            .residual = t->residual != 0};
    char label[128];
    snprintf(label, sizeof label, "%s %d->%d k%d pad%d %dx%d n%d blk%d act%d res%d%s", sv_conv_algo_name(t->algo),
             t->cin, t->cout, t->k, t->pad, t->h, t->w, t->n, t->blk, t->act, t->residual, t->nobias ? " nobias" : "");
    sv_err e = {{0}};
    sv_conv_train *p = sv_conv_train_create_algo(&d, t->n, t->algo, &e);
    CHECKF(p != NULL, "%s: create: %s", label, e.msg);
    if (!p) return;
    const char *name = sv_conv_train_algo(p);
    CHECKF(!strncmp(name, "fwd winograd", 12) && strstr(name, "bwd-data winograd"), "%s: not Winograd: %s", label,
           name);
    // F(4x4,3x3) also computes the weight gradient (sv_wino_backward_weights); the others leave it to oneDNN
    CHECKF(!!strstr(name, "bwd-weights winograd") == (t->algo == SV_CONV_WINO && t->k == 3),
           "%s: backward-weights: %s", label, name);
    const size_t nw = (size_t)t->cout * t->cin * t->k * t->k;
    float *w = frand(nw, -0.3f, 0.3f), *b = t->nobias ? NULL : frand(t->cout, -1, 1);
    for (int step = 0; step < 3; step++) {
        if (step == 1) tu_fill_uniform(w, nw, -0.3f, 0.3f, &rng);  // all new
        if (step == 2) {                                            // one weight and one bias changed
            w[nw / 2] += 0.25f;
            if (b) b[t->cout - 1] -= 0.5f;
        }
        wino_step(p, t, label, step, w, b);
    }
    free(w), free(b);
    sv_conv_train_free(p);
}

static void test_wino_vs_ref(void) {
    static const wcase cases[] = {
        // cin cout k pad  h  w  n blk act res nobias algo
        {5, 7, 3, 1, 5, 7, 3, 8, 1, 0, 0, SV_CONV_WINO},       // tiny map: partial tiles only
        {13, 37, 3, 1, 23, 37, 3, 8, 2, 2, 0, SV_CONV_WINO},   // LeakyReLU, residual aliasing out
        {37, 13, 3, 1, 23, 37, 3, 8, 0, 1, 1, SV_CONV_WINO6},  // separate residual, no bias
        {64, 64, 3, 1, 29, 31, 3, 8, 1, 0, 0, SV_CONV_WINO6},  // trunk conv1
        {64, 64, 3, 1, 29, 31, 1, 8, 0, 2, 0, SV_CONV_WINO6},  // trunk conv2 (+res aliasing)
        {5, 67, 3, 1, 23, 37, 3, 16, 2, 0, 0, SV_CONV_WINO6},  // blk 16, cout padded to 80
        {67, 5, 3, 1, 5, 7, 3, 16, 0, 2, 0, SV_CONV_WINO},     // blk 16, din channels padded
        {13, 20, 3, 0, 23, 37, 3, 8, 1, 1, 0, SV_CONV_WINO6},  // pad 0 (backward pad 2)
        {3, 13, 3, 2, 5, 7, 3, 8, 0, 0, 0, SV_CONV_WINO},      // pad 2 = k-1 (backward pad 0), cin 3
        {13, 37, 7, 3, 13, 19, 3, 8, 1, 0, 0, SV_CONV_WINO7},  // SPyNet-like 7x7
        {37, 13, 7, 3, 23, 37, 3, 16, 0, 2, 0, SV_CONV_WINO7F4},
        {8, 32, 7, 3, 5, 7, 1, 8, 2, 1, 1, SV_CONV_WINO7F4},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) wino_case(&cases[i]);

    // shapes Winograd does not take: a forced one fails with a message, the automatic choice keeps oneDNN
    sv_err e = {{0}};
    const sv_conv_desc k1 = {.cin = 13, .cout = 13, .k = 1, .pad = 0, .h = 5, .w = 7, .blk = 8};
    CHECK(sv_conv_train_create_algo(&k1, 1, SV_CONV_WINO6, &e) == NULL && e.msg[0]);
    const sv_conv_desc plain = {.cin = 13, .cout = 13, .k = 3, .pad = 1, .h = 5, .w = 7, .blk = 1};
    CHECK(sv_conv_train_create_algo(&plain, 1, SV_CONV_WINO, &e) == NULL);
    sv_conv_train *p = sv_conv_train_create_algo(&plain, 1, SV_CONV_AUTO, &e);
    CHECKF(p && !strstr(sv_conv_train_algo(p), "winograd"), "blk 1: %s", p ? sv_conv_train_algo(p) : e.msg);
    sv_conv_train_free(p);
}

// ---- 4. what each phase uses ----

static void test_print_algos(void) {
    static const struct {
        const char *what;
        int cin, cout, k, act, residual;
    } shapes[] = {
        {"trunk block conv1 64->64 3x3 relu", 64, 64, 3, 1, 0},
        {"trunk block conv2 64->64 3x3 +res", 64, 64, 3, 0, 1},
        {"trunk first conv 67->64 3x3 lrelu", 67, 64, 3, 1, 0},
        {"fusion 1x1 128->64 lrelu", 128, 64, 1, 1, 0},
        {"upconv 64->256 3x3", 64, 256, 3, 0, 0},
        {"conv_last 64->3 3x3 +res", 64, 3, 3, 0, 1},
        {"spynet 7x7 8->32 relu", 8, 32, 7, 1, 0},
        {"spynet 7x7 16->2", 16, 2, 7, 0, 0},
        {"3->64 3x3 (rgb in) lrelu", 3, 64, 3, 1, 0},
    };
    const int blks[] = {8, 1, 16};
    for (int bi = 0; bi < 3; bi++)
        for (size_t i = 0; i < sizeof shapes / sizeof *shapes; i++) {
            if (blks[bi] != 8 && i > 1) continue;  // the other layouts: the common block only
            const sv_conv_desc d = {.cin = shapes[i].cin, .cout = shapes[i].cout, .k = shapes[i].k,
                                    .pad = shapes[i].k / 2, .h = 64, .w = 64, .blk = blks[bi],
                                    .act = shapes[i].act, .act_slope = 0.1f, .residual = shapes[i].residual};
            sv_err e = {{0}};
            sv_conv_train *p = sv_conv_train_create(&d, 8, 0, &e);
            CHECKF(p != NULL, "%s: %s", shapes[i].what, e.msg);
            if (p) printf("  n8 64x64 blk%-2d %-36s %s\n", blks[bi], shapes[i].what, sv_conv_train_algo(p));
            sv_conv_train_free(p);
        }
}

int main(void) {
    run_test("conv2d_backward_ref vs finite differences", test_backward_ref_fd);
    run_test("sv_conv_train fast and reference vs reference ops", test_train_vs_ref);
    run_test("sv_conv_train Winograd (forced) vs reference ops", test_wino_vs_ref);
    run_test("sv_conv_train algorithms (printed)", test_print_algos);
    return test_summary();
}
