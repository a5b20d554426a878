// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// test_grad_ops.c: the backward passes of the non-conv ops (ops.h, "backward passes").
// Each op gets a naive double-precision forward written here from the op's definition (PyTorch's
// semantics), independent of the library's code. Per op:
//   1. the library's float forward equals the double forward (1e-5);
//   2. the library's float backward, run on a gradient buffer pre-filled with random values (backwards
//      accumulate), equals prefill + the central finite difference of <g, f(x)> in double (eps 1e-6) for a
//      random upstream gradient g, relative error in norm <= 1e-4;
//   3. in the blocked layouts (blk 8, 16) the backward equals the plain CHW one after layout_convert, the
//      padding channels of the gradient buffer are left untouched, and those of its inputs are not read.
// Kinks are kept away from the finite differences: activation inputs have |x| >= 0.05, Charbonnier
// differences are >= 0.01 (eps 1e-12), and warp sampling positions have fractional parts in [0.1, 0.9].
// Shapes are odd (3, 5, 13 channels; 5x7, 9x11, 7x13) so no loop can rely on multiples of 2, 8 or 16.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/layout.h"
#include "ops/ops.h"
#include "testutil.h"

#define FWD_TOL 1e-5
#define GRAD_TOL 1e-4
#define FD_EPS 1e-6
#define BLK_TOL 1e-6
#define SENTINEL 7.25f  // value pre-filled into padding channels of blocked gradients
// Padding channels of blocked inputs and upstream gradients hold this instead of zero, so a backward
// that reads or writes padding channels shows in the results.
#define GARBAGE 3.5f

static uint64_t rng = 0x5eed1234abcdULL;

// ---- helpers ----

// Shapes and parameters of one op call, shared by the double forwards.
typedef struct {
    int c, h, w, oh, ow, r, ac, pad, n, cin, cout, src_c0, dst_c0;
    const int *idx;
    double slope, eps, scale;
} op_ctx;

typedef void (*dfwd)(const op_ctx *k, const double *x, double *y);

static float *frand(size_t n, float lo, float hi) {
    float *a = malloc(sizeof(float) * (n ? n : 1));
    tu_fill_uniform(a, n, lo, hi, &rng);
    return a;
}

static double *to_d(const float *a, size_t n) {
    double *d = malloc(sizeof(double) * (n ? n : 1));
    for (size_t i = 0; i < n; i++) d[i] = a[i];
    return d;
}

static float *fcopy(const float *a, size_t n) {
    float *b = malloc(sizeof(float) * (n ? n : 1));
    memcpy(b, a, sizeof(float) * n);
    return b;
}

static double max_abs_fd(const float *a, const double *b, size_t n) {
    double m = 0;
    for (size_t i = 0; i < n; i++) m = fmax(m, fabs((double)a[i] - b[i]));
    return m;
}

// ||(got - prefill) - want|| / ||want||, the backward's error once its prefill is taken away.
static double rel_err(const float *got, const float *prefill, const double *want, size_t n) {
    double num = 0, den = 0;
    for (size_t i = 0; i < n; i++) {
        double d = (double)got[i] - (prefill ? (double)prefill[i] : 0.0) - want[i];
        num += d * d;
        den += want[i] * want[i];
    }
    return den > 0 ? sqrt(num / den) : sqrt(num);
}

// Central finite differences of <g, f(x)> with respect to every x[i].
static void fd_grad(dfwd f, const op_ctx *k, const double *x0, size_t nx, const double *g, size_t ny,
                    double *grad) {
    double *x = malloc(sizeof(double) * nx), *y = malloc(sizeof(double) * ny);
    memcpy(x, x0, sizeof(double) * nx);
    for (size_t i = 0; i < nx; i++) {
        double s[2];
        for (int side = 0; side < 2; side++) {
            x[i] = x0[i] + (side ? -FD_EPS : FD_EPS);
            f(k, x, y);
            double acc = 0;
            for (size_t j = 0; j < ny; j++) acc += g[j] * y[j];
            s[side] = acc;
        }
        x[i] = x0[i];
        grad[i] = (s[0] - s[1]) / (2 * FD_EPS);
    }
    free(x), free(y);
}

// A plain CHW map in layout blk, padding channels set to pad_value (zero for data, SENTINEL for gradients).
static float *blocked(const float *chw, int c, int h, int w, int blk, float pad_value) {
    float *b = malloc(sizeof(float) * sv_fmap_floats(c, h, w, blk));
    layout_convert(sv_fmap_one(b, c, h, w, blk), sv_fmap_in(chw, c, h, w, 1));
    for (int ch = c; ch < sv_cpad(c, blk); ch++)
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) b[sv_fmap_index(ch, y, x, h, w, blk)] = pad_value;
    return b;
}

static int padding_untouched(const float *b, int c, int h, int w, int blk) {
    for (int ch = c; ch < sv_cpad(c, blk); ch++)
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
                if (b[sv_fmap_index(ch, y, x, h, w, blk)] != SENTINEL) return 0;
    return 1;
}

// Max |unblock(b) - chw| over the real channels.
static double diff_unblocked(const float *b, int blk, const float *chw, int c, int h, int w) {
    float *u = malloc(sizeof(float) * (size_t)c * h * w);
    layout_convert(sv_fmap_one(u, c, h, w, 1), sv_fmap_in(b, c, h, w, blk));
    double d = tu_max_abs_diff(u, chw, (size_t)c * h * w);
    free(u);
    return d;
}

// ---- activation ----

static void d_act(const op_ctx *k, const double *x, double *y) {
    for (int i = 0; i < k->n; i++) y[i] = x[i] >= 0 ? x[i] : k->slope * x[i];
}

static void test_act(void) {
    const int n = 37;
    const float slopes[2] = {0.0f, 0.1f};
    for (int s = 0; s < 2; s++) {
        op_ctx k = {.n = n, .slope = slopes[s]};
        float *x = frand(n, 0.05f, 1.0f), *sign = frand(n, -1, 1);
        for (int i = 0; i < n; i++) x[i] *= sign[i] < 0 ? -1.0f : 1.0f;  // |x| >= 0.05: no kink within eps
        double *xd = to_d(x, n), *yd = malloc(sizeof(double) * n), *fd = malloc(sizeof(double) * n);
        float *y = fcopy(x, n);
        act_forward(y, n, slopes[s]);
        d_act(&k, xd, yd);
        CHECKF(max_abs_fd(y, yd, n) < FWD_TOL, "act forward slope %g", slopes[s]);

        float *g = frand(n, -1, 1), *pre = frand(n, -1, 1), *dx = fcopy(pre, n);
        double *gd = to_d(g, n);
        fd_grad(d_act, &k, xd, n, gd, n, fd);
        act_backward(dx, g, y, n, slopes[s]);
        double e = rel_err(dx, pre, fd, n);
        CHECKF(e < GRAD_TOL, "act backward slope %g: rel err %g", slopes[s], e);

        // dx aliasing dy: the gradient is scaled in place, not accumulated onto itself.
        float *d = fcopy(g, n);
        act_backward(d, d, y, n, slopes[s]);
        e = rel_err(d, NULL, fd, n);
        CHECKF(e < GRAD_TOL, "act backward in place slope %g: rel err %g", slopes[s], e);
        free(x), free(sign), free(xd), free(yd), free(fd), free(y), free(g), free(pre), free(dx), free(gd),
            free(d);
    }
}

static void test_accumulate(void) {
    const int n = 13;
    float *a = frand(n, -1, 1), *o = frand(n, -1, 1), *o0 = fcopy(o, n);
    accumulate(o, a, n);
    for (int i = 0; i < n; i++) CHECK(o[i] == o0[i] + a[i]);
    free(a), free(o), free(o0);
}

// ---- channel copy (concatenation) ----

static void d_copy(const op_ctx *k, const double *x, double *y) {
    size_t hw = (size_t)k->h * k->w;
    memset(y, 0, sizeof(double) * k->cout * hw);
    for (int i = 0; i < k->n; i++)
        for (size_t p = 0; p < hw; p++) y[(k->dst_c0 + i) * hw + p] = x[(k->src_c0 + i) * hw + p];
}

static void test_channel_copy(void) {
    // cat[x (3 ch), h (13 ch)] -> 16 channels: the backward of the second copy.
    const int cin = 13, cout = 16, n = 13, h = 5, w = 7, src_c0 = 0, dst_c0 = 3;
    const size_t hw = (size_t)h * w, nin = (size_t)cin * hw, nout = (size_t)cout * hw;
    op_ctx k = {.h = h, .w = w, .n = n, .cin = cin, .cout = cout, .src_c0 = src_c0, .dst_c0 = dst_c0};
    float *x = frand(nin, -1, 1), *g = frand(nout, -1, 1), *pre = frand(nin, -1, 1), *out = frand(nout, -1, 1);
    double *xd = to_d(x, nin), *yd = malloc(sizeof(double) * nout), *gd = to_d(g, nout);
    double *fd = malloc(sizeof(double) * nin);
    channel_copy(sv_fmap_slice(sv_fmap_one(out, cout, h, w, 1), dst_c0, n),
                 sv_fmap_slice(sv_fmap_in(x, cin, h, w, 1), src_c0, n));
    d_copy(&k, xd, yd);
    double m = 0;
    for (size_t i = dst_c0 * hw; i < (dst_c0 + n) * hw; i++) m = fmax(m, fabs(out[i] - yd[i]));
    CHECKF(m < FWD_TOL, "channel_copy forward %g", m);

    float *din = fcopy(pre, nin);
    fd_grad(d_copy, &k, xd, nin, gd, nout, fd);
    channel_copy_backward(sv_fmap_slice(sv_fmap_one(din, cin, h, w, 1), src_c0, n),
                          sv_fmap_slice(sv_fmap_in(g, cout, h, w, 1), dst_c0, n));
    double e = rel_err(din, pre, fd, nin);
    CHECKF(e < GRAD_TOL, "channel_copy backward rel err %g", e);

    // A partial copy (channels 4..8 of the input into 2..6 of a 9-channel output), all layout pairs.
    const int pc = 5, ps = 4, pd = 2, pcout = 9;
    op_ctx kp = {.h = h, .w = w, .n = pc, .cin = cin, .cout = pcout, .src_c0 = ps, .dst_c0 = pd};
    double *fdp = malloc(sizeof(double) * nin);
    fd_grad(d_copy, &kp, xd, nin, gd, (size_t)pcout * hw, fdp);
    float *ref = fcopy(pre, nin);
    channel_copy_backward(sv_fmap_slice(sv_fmap_one(ref, cin, h, w, 1), ps, pc),
                          sv_fmap_slice(sv_fmap_in(g, pcout, h, w, 1), pd, pc));
    e = rel_err(ref, pre, fdp, nin);
    CHECKF(e < GRAD_TOL, "partial channel_copy backward rel err %g", e);
    const int blks[4][2] = {{8, 1}, {1, 16}, {8, 8}, {16, 8}};  // {blk_in, blk_out}
    for (int t = 0; t < 4; t++) {
        int bi = blks[t][0], bo = blks[t][1];
        float *gb = blocked(g, pcout, h, w, bo, GARBAGE), *db = blocked(pre, cin, h, w, bi, SENTINEL);
        channel_copy_backward(sv_fmap_slice(sv_fmap_one(db, cin, h, w, bi), ps, pc),
                              sv_fmap_slice(sv_fmap_in(gb, pcout, h, w, bo), pd, pc));
        CHECKF(diff_unblocked(db, bi, ref, cin, h, w) < BLK_TOL, "channel_copy backward blk %d<-%d", bi, bo);
        CHECKF(padding_untouched(db, cin, h, w, bi), "channel_copy backward padding blk %d", bi);
        free(gb), free(db);
    }
    free(x), free(g), free(pre), free(out), free(xd), free(yd), free(gd), free(fd), free(din), free(fdp),
        free(ref);
}

// ---- RSC gather / scatter-add ----

static const int rsc_idx[5] = {11, 0, 7, 3, 12};

// y = y0 + scatter(r): the constant y0 does not change the gradient, so it is left out.
static void d_scatter_add(const op_ctx *k, const double *r, double *y) {
    size_t hw = (size_t)k->h * k->w;
    memset(y, 0, sizeof(double) * k->cout * hw);
    for (int i = 0; i < k->n; i++)
        for (size_t p = 0; p < hw; p++) y[k->idx[i] * hw + p] += r[i * hw + p];
}

static void d_gather(const op_ctx *k, const double *x, double *y) {
    size_t hw = (size_t)k->h * k->w;
    for (int i = 0; i < k->n; i++)
        for (size_t p = 0; p < hw; p++) y[i * hw + p] = x[k->idx[i] * hw + p];
}

static void test_scatter_gather(void) {
    const int cy = 13, n = 5, h = 9, w = 11;
    const size_t hw = (size_t)h * w, ny = (size_t)cy * hw, nr = (size_t)n * hw;
    op_ctx k = {.h = h, .w = w, .n = n, .cout = cy, .cin = cy, .idx = rsc_idx};
    float *r = frand(nr, -1, 1), *g = frand(ny, -1, 1), *pre = frand(nr, -1, 1);
    double *rd = to_d(r, nr), *gd = to_d(g, ny), *fd = malloc(sizeof(double) * nr);
    fd_grad(d_scatter_add, &k, rd, nr, gd, ny, fd);
    float *dr = fcopy(pre, nr);
    channel_scatter_add_backward(sv_fmap_one(dr, n, h, w, 1), sv_fmap_in(g, cy, h, w, 1), rsc_idx);
    double e = rel_err(dr, pre, fd, nr);
    CHECKF(e < GRAD_TOL, "scatter_add backward rel err %g", e);
    for (int blk = 8; blk <= 16; blk *= 2) {
        float *gb = blocked(g, cy, h, w, blk, GARBAGE), *db = blocked(pre, n, h, w, blk, SENTINEL);
        channel_scatter_add_backward(sv_fmap_one(db, n, h, w, blk), sv_fmap_in(gb, cy, h, w, blk), rsc_idx);
        CHECKF(diff_unblocked(db, blk, dr, n, h, w) < BLK_TOL, "scatter_add backward blk %d", blk);
        CHECKF(padding_untouched(db, n, h, w, blk), "scatter_add backward padding blk %d", blk);
        free(gb), free(db);
    }

    // channel_gather's backward is channel_scatter_add (ops.h): check that pairing against FD too.
    float *x = frand(ny, -1, 1), *gg = frand(nr, -1, 1), *pre2 = frand(ny, -1, 1), *out = malloc(sizeof(float) * nr);
    double *xd = to_d(x, ny), *ggd = to_d(gg, nr), *yd = malloc(sizeof(double) * nr);
    double *fd2 = malloc(sizeof(double) * ny);
    channel_gather(sv_fmap_one(out, n, h, w, 1), sv_fmap_in(x, cy, h, w, 1), rsc_idx);
    d_gather(&k, xd, yd);
    CHECKF(max_abs_fd(out, yd, nr) < FWD_TOL, "gather forward");
    fd_grad(d_gather, &k, xd, ny, ggd, nr, fd2);
    float *dx = fcopy(pre2, ny);
    channel_scatter_add(sv_fmap_one(dx, cy, h, w, 1), sv_fmap_in(gg, n, h, w, 1), rsc_idx);
    e = rel_err(dx, pre2, fd2, ny);
    CHECKF(e < GRAD_TOL, "gather backward rel err %g", e);
    free(r), free(g), free(pre), free(rd), free(gd), free(fd), free(dr), free(x), free(gg), free(pre2), free(out),
        free(xd), free(ggd), free(yd), free(fd2), free(dx);
}

// ---- generic single-input op: forward check, FD check, blocked check ----

typedef struct {
    const char *name;
    dfwd f;
    void (*lib_fwd)(const op_ctx *k, float *out, const float *in, int blk);
    void (*lib_bwd)(const op_ctx *k, float *din, const float *dout, int blk);
    int cin, hin, win, cout, hout, wout;
} unary_op;

static void check_unary(const unary_op *op, const op_ctx *k) {
    const size_t nin = (size_t)op->cin * op->hin * op->win, nout = (size_t)op->cout * op->hout * op->wout;
    float *x = frand(nin, -1, 1), *out = malloc(sizeof(float) * nout);
    double *xd = to_d(x, nin), *yd = malloc(sizeof(double) * nout);
    op->lib_fwd(k, out, x, 1);
    op->f(k, xd, yd);
    double m = max_abs_fd(out, yd, nout);
    CHECKF(m < FWD_TOL, "%s forward max abs diff %g", op->name, m);

    float *g = frand(nout, -1, 1), *pre = frand(nin, -1, 1), *din = fcopy(pre, nin);
    double *gd = to_d(g, nout), *fd = malloc(sizeof(double) * nin);
    fd_grad(op->f, k, xd, nin, gd, nout, fd);
    op->lib_bwd(k, din, g, 1);
    double e = rel_err(din, pre, fd, nin);
    CHECKF(e < GRAD_TOL, "%s backward rel err %g", op->name, e);

    for (int blk = 8; blk <= 16; blk *= 2) {
        float *gb = blocked(g, op->cout, op->hout, op->wout, blk, GARBAGE);
        float *db = blocked(pre, op->cin, op->hin, op->win, blk, SENTINEL);
        op->lib_bwd(k, db, gb, blk);
        double d = diff_unblocked(db, blk, din, op->cin, op->hin, op->win);
        CHECKF(d < BLK_TOL, "%s backward blk %d differs from CHW by %g", op->name, blk, d);
        CHECKF(padding_untouched(db, op->cin, op->hin, op->win, blk), "%s backward padding blk %d", op->name, blk);
        free(gb), free(db);
    }
    free(x), free(out), free(xd), free(yd), free(g), free(pre), free(din), free(gd), free(fd);
}

// ---- pixel shuffle ----

static void d_shuffle(const op_ctx *k, const double *x, double *y) {
    int r = k->r, oh = k->h * r, ow = k->w * r;
    for (int c = 0; c < k->c; c++)
        for (int Y = 0; Y < oh; Y++)
            for (int X = 0; X < ow; X++)
                y[((size_t)c * oh + Y) * ow + X] =
                    x[((size_t)(c * r * r + (Y % r) * r + X % r) * k->h + Y / r) * k->w + X / r];
}
static void lib_shuffle_f(const op_ctx *k, float *out, const float *in, int blk) {
    pixel_shuffle_forward(out, in, k->c, k->h, k->w, k->r, blk);
}
static void lib_shuffle_b(const op_ctx *k, float *din, const float *dout, int blk) {
    pixel_shuffle_backward(din, dout, k->c, k->h, k->w, k->r, blk);
}

static void test_pixel_shuffle(void) {
    const int shapes[3][4] = {{3, 5, 7, 2}, {5, 7, 13, 2}, {3, 5, 7, 3}};  // c_out, h, w, r
    for (int s = 0; s < 3; s++) {
        int c = shapes[s][0], h = shapes[s][1], w = shapes[s][2], r = shapes[s][3];
        op_ctx k = {.c = c, .h = h, .w = w, .r = r};
        unary_op op = {"pixel_shuffle", d_shuffle, lib_shuffle_f, lib_shuffle_b, c * r * r, h, w, c, h * r, w * r};
        check_unary(&op, &k);
    }
}

// ---- 2x2 average pooling ----

static void d_pool(const op_ctx *k, const double *x, double *y) {
    int oh = k->h / 2, ow = k->w / 2;
    for (int c = 0; c < k->c; c++)
        for (int Y = 0; Y < oh; Y++)
            for (int X = 0; X < ow; X++) {
                double s = 0;
                for (int i = 0; i < 2; i++)
                    for (int j = 0; j < 2; j++) s += x[((size_t)c * k->h + 2 * Y + i) * k->w + 2 * X + j];
                y[((size_t)c * oh + Y) * ow + X] = s / 4;
            }
}
static void lib_pool_f(const op_ctx *k, float *out, const float *in, int blk) {
    avgpool2_forward(out, in, k->c, k->h, k->w, blk);
}
static void lib_pool_b(const op_ctx *k, float *din, const float *dout, int blk) {
    avgpool2_backward(din, dout, k->c, k->h, k->w, blk);
}

static void test_avgpool2(void) {
    const int shapes[3][3] = {{5, 9, 11}, {3, 7, 13}, {13, 6, 4}};
    for (int s = 0; s < 3; s++) {
        int c = shapes[s][0], h = shapes[s][1], w = shapes[s][2];
        op_ctx k = {.c = c, .h = h, .w = w};
        unary_op op = {"avgpool2", d_pool, lib_pool_f, lib_pool_b, c, h, w, c, h / 2, w / 2};
        check_unary(&op, &k);
    }
}

// ---- bilinear resize (PyTorch's upsample_bilinear2d) ----

// Taps along one axis: PyTorch's area_pixel_compute_source_index with its clamp at 0, then i0 = floor,
// i1 = i0 + 1 except at the last pixel.
static void d_taps(int d, int in, int out, int ac, int *i0, int *i1, double *l1) {
    double src;
    if (ac) {
        src = out > 1 ? d * (double)(in - 1) / (double)(out - 1) : 0.0;
    } else {
        src = (d + 0.5) * (double)in / (double)out - 0.5;
        if (src < 0) src = 0;
    }
    int i = (int)floor(src);
    if (i > in - 1) i = in - 1;
    *i0 = i;
    *i1 = i + (i < in - 1);
    *l1 = src - i;
}

static void d_resize(const op_ctx *k, const double *x, double *y) {
    for (int Y = 0; Y < k->oh; Y++) {
        int y0, y1;
        double ly;
        d_taps(Y, k->h, k->oh, k->ac, &y0, &y1, &ly);
        for (int X = 0; X < k->ow; X++) {
            int x0, x1;
            double lx;
            d_taps(X, k->w, k->ow, k->ac, &x0, &x1, &lx);
            for (int c = 0; c < k->c; c++) {
                const double *p = x + (size_t)c * k->h * k->w;
                y[((size_t)c * k->oh + Y) * k->ow + X] =
                    (1 - ly) * ((1 - lx) * p[y0 * k->w + x0] + lx * p[y0 * k->w + x1]) +
                    ly * ((1 - lx) * p[y1 * k->w + x0] + lx * p[y1 * k->w + x1]);
            }
        }
    }
}
static void lib_resize_f(const op_ctx *k, float *out, const float *in, int blk) {
    resize_bilinear_forward(out, in, k->c, k->h, k->w, k->oh, k->ow, k->ac, blk);
}
static void lib_resize_b(const op_ctx *k, float *din, const float *dout, int blk) {
    resize_bilinear_backward(din, dout, k->c, k->h, k->w, k->oh, k->ow, k->ac, blk);
}

static void test_resize_bilinear(void) {
    // Upsampling x2 / x4 / non-integer, downsampling, and single-row/column outputs.
    const int shapes[6][5] = {{3, 5, 7, 10, 14},  {5, 9, 11, 36, 44}, {3, 7, 13, 11, 17},
                              {13, 9, 11, 5, 4}, {3, 5, 7, 1, 9},    {5, 7, 5, 7, 1}};
    for (int ac = 0; ac < 2; ac++)
        for (int s = 0; s < 6; s++) {
            int c = shapes[s][0], h = shapes[s][1], w = shapes[s][2], oh = shapes[s][3], ow = shapes[s][4];
            op_ctx k = {.c = c, .h = h, .w = w, .oh = oh, .ow = ow, .ac = ac};
            unary_op op = {ac ? "resize(align_corners)" : "resize", d_resize, lib_resize_f, lib_resize_b,
                           c, h, w, c, oh, ow};
            check_unary(&op, &k);
        }
}

// ---- flow warp: grid_sample(bilinear, align_corners=True), zeros or border padding ----

// x = [in (c,h,w) ; flow (2,h,w)]
static void d_warp(const op_ctx *k, const double *x, double *y) {
    const int c = k->c, h = k->h, w = k->w;
    const size_t hw = (size_t)h * w;
    const double *in = x, *flow = x + (size_t)c * hw;
    for (int Y = 0; Y < h; Y++)
        for (int X = 0; X < w; X++) {
            double sx = X + flow[(size_t)Y * w + X], sy = Y + flow[hw + (size_t)Y * w + X];
            if (k->pad == SV_PAD_BORDER) sx = fmin(fmax(sx, 0), w - 1), sy = fmin(fmax(sy, 0), h - 1);
            int x0 = (int)floor(sx), y0 = (int)floor(sy);
            double ax = sx - x0, ay = sy - y0;
            for (int ch = 0; ch < c; ch++) {
                double v = 0;
                for (int i = 0; i < 2; i++)
                    for (int j = 0; j < 2; j++) {
                        int yy = y0 + i, xx = x0 + j;
                        if (yy < 0 || yy >= h || xx < 0 || xx >= w) continue;  // zero outside
                        v += (i ? ay : 1 - ay) * (j ? ax : 1 - ax) * in[(size_t)ch * hw + (size_t)yy * w + xx];
                    }
                y[(size_t)ch * hw + (size_t)Y * w + X] = v;
            }
        }
}

// A coordinate at integer + fraction in [0.1, 0.9], the integer part uniform in [lo, hi].
static float coord_away_from_grid(int lo, int hi) {
    float u[2];
    tu_fill_uniform(u, 2, 0, 1, &rng);
    int i = lo + (int)(u[0] * (hi - lo + 1));
    if (i > hi) i = hi;
    return (float)i + 0.1f + 0.8f * u[1];
}

static void test_flow_warp(void) {
    // 21 channels: full blocks of 8 and 16 besides partial ones. 3 x 5 x 71: rows longer than the
    // backward's tiles of 32 pixels, with a partial last tile.
    const int shapes[5][3] = {{5, 7, 13}, {3, 9, 11}, {13, 5, 7}, {21, 5, 7}, {3, 5, 71}};
    for (int pad = 0; pad < 2; pad++)
        for (int s = 0; s < 5; s++) {
            const int c = shapes[s][0], h = shapes[s][1], w = shapes[s][2];
            const size_t hw = (size_t)h * w, nin = (size_t)c * hw, nx = nin + 2 * hw;
            op_ctx k = {.c = c, .h = h, .w = w, .pad = pad};
            // Sampling positions from 3 pixels left/above the image to 2 right/below: taps fully inside,
            // partly outside (x0 = -1 or w-1), and fully outside (x0 <= -2 or >= w), or clamped (border).
            float *x = frand(nx, -1, 1), *flow = x + nin;
            for (int Y = 0; Y < h; Y++)
                for (int X = 0; X < w; X++) {
                    flow[(size_t)Y * w + X] = coord_away_from_grid(-3, w + 1) - (float)X;
                    flow[hw + (size_t)Y * w + X] = coord_away_from_grid(-3, h + 1) - (float)Y;
                }
            // Half of the pixels sample well inside, so most gradients are non-trivial.
            for (size_t p = 0; p < hw; p += 2) {
                int X = (int)(p % w), Y = (int)(p / w);
                flow[p] = coord_away_from_grid(0, w - 2) - (float)X;
                flow[hw + p] = coord_away_from_grid(0, h - 2) - (float)Y;
            }
            double *xd = to_d(x, nx), *yd = malloc(sizeof(double) * nin), *fd = malloc(sizeof(double) * nx);
            float *out = malloc(sizeof(float) * nin);
            flow_warp_forward_ref(out, x, flow, c, h, w, pad, 1);
            d_warp(&k, xd, yd);
            double m = max_abs_fd(out, yd, nin);
            CHECKF(m < FWD_TOL, "warp pad %d forward max abs diff %g", pad, m);

            float *g = frand(nin, -1, 1), *pre = frand(nx, -1, 1);
            float *din = fcopy(pre, nin), *dflow = fcopy(pre + nin, 2 * hw);
            double *gd = to_d(g, nin);
            fd_grad(d_warp, &k, xd, nx, gd, nin, fd);
            flow_warp_backward(din, dflow, g, x, flow, c, h, w, pad, 1);
            double ei = rel_err(din, pre, fd, nin), ef = rel_err(dflow, pre + nin, fd + nin, 2 * hw);
            CHECKF(ei < GRAD_TOL, "warp pad %d %dx%dx%d d/din rel err %g", pad, c, h, w, ei);
            CHECKF(ef < GRAD_TOL, "warp pad %d %dx%dx%d d/dflow rel err %g", pad, c, h, w, ef);

            // NULL skips one gradient and leaves the other unchanged.
            float *din2 = fcopy(pre, nin), *dflow2 = fcopy(pre + nin, 2 * hw);
            flow_warp_backward(din2, NULL, g, x, flow, c, h, w, pad, 1);
            flow_warp_backward(NULL, dflow2, g, x, flow, c, h, w, pad, 1);
            CHECK(tu_max_abs_diff(din2, din, nin) == 0.0);
            CHECK(tu_max_abs_diff(dflow2, dflow, 2 * hw) == 0.0);

            for (int blk = 8; blk <= 16; blk *= 2) {
                float *ib = blocked(x, c, h, w, blk, GARBAGE), *gb = blocked(g, c, h, w, blk, GARBAGE);
                float *db = blocked(pre, c, h, w, blk, SENTINEL), *dfb = fcopy(pre + nin, 2 * hw);
                flow_warp_backward(db, dfb, gb, ib, flow, c, h, w, pad, blk);
                double d = diff_unblocked(db, blk, din, c, h, w);
                CHECKF(d < BLK_TOL, "warp pad %d d/din blk %d differs from CHW by %g", pad, blk, d);
                CHECKF(padding_untouched(db, c, h, w, blk), "warp d/din padding blk %d", blk);
                d = tu_max_abs_diff(dfb, dflow, 2 * hw);
                CHECKF(d < BLK_TOL, "warp pad %d d/dflow blk %d differs from CHW by %g", pad, blk, d);
                free(ib), free(gb), free(db), free(dfb);
            }
            free(x), free(xd), free(yd), free(fd), free(out), free(g), free(pre), free(din), free(dflow), free(gd),
                free(din2), free(dflow2);
        }
}

// A border-padded warp whose coordinates are all clamped passes no gradient to the flow (PyTorch's rule),
// and with zeros padding a coordinate whose four taps are all outside passes nothing at all.
static void test_flow_warp_outside(void) {
    const int c = 3, h = 5, w = 7;
    const size_t hw = (size_t)h * w, n = (size_t)c * hw;
    float *in = frand(n, -1, 1), *g = frand(n, -1, 1), flow[2 * 5 * 7];
    for (size_t p = 0; p < hw; p++) flow[p] = (p % 2 ? 20.3f : -20.6f), flow[hw + p] = (p % 3 ? -9.2f : 11.7f);
    float din[3 * 5 * 7] = {0}, dflow[2 * 5 * 7] = {0};
    flow_warp_backward(din, dflow, g, in, flow, c, h, w, SV_PAD_ZEROS, 1);
    for (size_t i = 0; i < n; i++) CHECK(din[i] == 0.0f);
    for (size_t i = 0; i < 2 * hw; i++) CHECK(dflow[i] == 0.0f);
    flow_warp_backward(din, dflow, g, in, flow, c, h, w, SV_PAD_BORDER, 1);
    for (size_t i = 0; i < 2 * hw; i++) CHECK(dflow[i] == 0.0f);
    double s = 0;  // every output sampled exactly one corner pixel: the gradient mass is conserved
    for (size_t i = 0; i < n; i++) s += din[i] - g[i];
    CHECKF(fabs(s) < 1e-4, "border warp gradient mass %g", s);
    free(in), free(g);
}

// ---- Charbonnier loss ----

static void d_charb(const op_ctx *k, const double *x, double *y) {
    // x = [y (n) ; t (n)], output: scale * sum sqrt(d^2 + eps), whose gradient charbonnier_backward gives
    double s = 0;
    for (int i = 0; i < k->n; i++) {
        double d = x[i] - x[k->n + i];
        s += sqrt(d * d + k->eps);
    }
    y[0] = k->scale * s;
}

static void test_charbonnier(void) {
    const int n = 37;
    const float epss[2] = {1e-12f, 1e-3f};
    for (int e_i = 0; e_i < 2; e_i++) {
        float eps = epss[e_i], scale = 1.0f / n;
        float *x = frand(2 * (size_t)n, 0, 1);
        for (int i = 0; i < n; i++) {
            float d = x[i] - x[n + i];
            // With eps = 1e-12 the loss has a kink at y = t: keep |y - t| >= 0.01 there. With eps = 1e-3 the
            // loss is smooth, so let a few differences be 0 or tiny.
            if (e_i == 0 && fabsf(d) < 0.01f) x[i] = x[n + i] + (d < 0 ? -0.02f : 0.02f);
            if (e_i == 1 && i % 7 == 0) x[i] = x[n + i] + (i % 14 ? 0.0f : 1e-4f);
        }
        // The float eps is what the library uses: the reference takes the same value.
        op_ctx km = {.n = n, .eps = eps, .scale = 1.0 / n}, k = {.n = n, .eps = eps, .scale = scale};
        double *xd = to_d(x, 2 * (size_t)n), yd, fd[2 * 37];
        d_charb(&km, xd, &yd);
        double L = charbonnier_forward(x, x + n, n, eps);
        CHECKF(fabs(L - yd) < 1e-9 * fabs(yd), "charbonnier forward %.12g vs %.12g", L, yd);

        double one = 1.0;
        fd_grad(d_charb, &k, xd, 2 * (size_t)n, &one, 1, fd);  // fd[0..n): w.r.t. y
        float *pre = frand(n, -1, 1), *dy = fcopy(pre, n);
        charbonnier_backward(dy, x, x + n, n, eps, scale);
        double e = rel_err(dy, pre, fd, n);
        CHECKF(e < GRAD_TOL, "charbonnier backward eps %g rel err %g", eps, e);
        free(x), free(xd), free(pre), free(dy);
    }
    // The independent value sqrt(0.09 + 1e-12) ~ 0.3 per element; mean of {0.3, 0.4}.
    float y[2] = {0.5f, 0.1f}, t[2] = {0.2f, 0.5f};
    double L = charbonnier_forward(y, t, 2, 1e-12f);
    CHECKF(fabs(L - 0.35) < 1e-6, "charbonnier of {0.3, 0.4} = %g", L);
    CHECK(charbonnier_forward(y, t, 0, 1e-12f) == 0.0);
}

int main(void) {
    run_test("act_backward", test_act);
    run_test("accumulate", test_accumulate);
    run_test("channel_copy_backward", test_channel_copy);
    run_test("channel_scatter_add_backward", test_scatter_gather);
    run_test("pixel_shuffle_backward", test_pixel_shuffle);
    run_test("avgpool2_backward", test_avgpool2);
    run_test("resize_bilinear_backward", test_resize_bilinear);
    run_test("flow_warp_backward", test_flow_warp);
    run_test("flow_warp_backward_outside", test_flow_warp_outside);
    run_test("charbonnier", test_charbonnier);
    return test_summary();
}
