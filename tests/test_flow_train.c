// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// test_flow_train.c: the unsupervised flow loss of `slimvsr train-flow` (train/flow_train.h) and its loop.
//   1. photo + lambda * smooth and its gradient with respect to the flow, against a double-precision loss
//      written here from the definition (border-padded bilinear warp, Charbonnier with eps 1e-6) and its
//      central finite differences, on odd shapes, with the gradient buffer pre-filled (backwards accumulate);
//      some samples fall outside the image (clamped: no gradient), none within 0.1 px of a kink.
//   1b. the multi-scale loss (pooled pyramids of images and flow) against the same reference, pooled in
//      double, on odd shapes where pooling drops rows and columns.
//   2. learning: SPyNet from a random initialisation (heads zeroed, as train-flow starts), trained with the
//      multi-scale loss on one synthetic pair (a smooth analytic texture and the same texture moved by a
//      known sub-pixel shift), must bring the photometric error well below the zero flow's and its mean
//      flow close to the shift, both directions.
//   3. the loop: a run on a small synthetic clip writes model.safetensors (a whole BasicVSR whose only
//      changed part is SPyNet), state.safetensors and log.jsonl; stopping at 4 iterations and resuming to 6
//      gives the same weights as 6 iterations straight; a second fresh run into the folder is refused; a
//      start that fails (missing data, the data folder as the run folder) makes no run folder.
//   4. supervised (train/flow_supervised.h): the EPE over valid pixels and its gradient with respect to the
//      flow against a double-precision reference and its central finite differences (random masks, a
//      pre-filled gradient buffer); the same loss through SPyNet to single parameters (a head bias of the
//      finest level, and a weight of an inner conv of a middle level) against finite differences of the whole
//      forward; photos loaded from a folder tree (shrunk, in path order) and split (every 8th held out); the
//      true flow pooled to SPyNet's levels (exact on a linear field, validity per ancestor); the whole loss
//      with level terms (sv_flow_supervised_batch) against finite differences, coarse-level parameters
//      included; a short supervised run on synthetic photos with the default options (level terms on)
//      lowers the held-out EPE, and resumes exactly (the synthetic rng is in the state).
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "io/frames.h"
#include "model/basicvsr.h"
#include "ops/conv.h"
#include "testutil.h"
#include "io/png_io.h"
#include "ops/ops.h"
#include "train/flow_supervised.h"
#include "train/flow_train.h"
#include "train/optim.h"
#include "train/spynet_train.h"

static uint64_t rng = 0xf10e5eedULL;

// ---- 1. the loss against a double-precision reference ----

static double rho(double d) { return sqrt(d * d + (double)SV_FLOW_EPS); }

// grid_sample(bilinear, border, align_corners=True) of channel c at (sx, sy).
static double sample_border(const double *img, int h, int w, double sx, double sy) {
    sx = fmin(fmax(sx, 0.0), w - 1.0);
    sy = fmin(fmax(sy, 0.0), h - 1.0);
    int x0 = (int)floor(sx), y0 = (int)floor(sy);
    int x1 = x0 + 1 < w ? x0 + 1 : x0, y1 = y0 + 1 < h ? y0 + 1 : y0;
    double ax = sx - x0, ay = sy - y0;
    return (1 - ay) * ((1 - ax) * img[y0 * w + x0] + ax * img[y0 * w + x1]) +
           ay * ((1 - ax) * img[y1 * w + x0] + ax * img[y1 * w + x1]);
}

// L = photo + lambda * smooth, from the definitions in flow_train.h.
static double ref_loss(const double *ref, const double *supp, const double *flow, int h, int w, double lambda,
                       double *photo_out, double *smooth_out) {
    const size_t hw = (size_t)h * w;
    double photo = 0, smooth = 0;
    for (int c = 0; c < 3; c++)
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) {
                double v = sample_border(supp + c * hw, h, w, x + flow[y * w + x], y + flow[hw + y * w + x]);
                photo += rho(ref[c * hw + y * w + x] - v);
            }
    photo /= 3.0 * hw;
    size_t nd = 0;
    for (int c = 0; c < 2; c++)
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) {
                const double *f = flow + c * hw;
                if (x + 1 < w) smooth += rho(f[y * w + x + 1] - f[y * w + x]), nd++;
                if (y + 1 < h) smooth += rho(f[(y + 1) * w + x] - f[y * w + x]), nd++;
            }
    smooth = nd ? smooth / nd : 0;
    if (photo_out) *photo_out = photo;
    if (smooth_out) *smooth_out = smooth;
    return photo + lambda * smooth;
}

// 2x2 average pooling with floor, as ops.h's avgpool2 (c channels).
static void d_pool(double *out, const double *in, int c, int h, int w) {
    const int oh = h / 2, ow = w / 2;
    for (int ch = 0; ch < c; ch++)
        for (int y = 0; y < oh; y++)
            for (int x = 0; x < ow; x++) {
                const double *p = in + (size_t)ch * h * w;
                out[((size_t)ch * oh + y) * ow + x] =
                    0.25 * (p[2 * y * w + 2 * x] + p[2 * y * w + 2 * x + 1] + p[(2 * y + 1) * w + 2 * x] +
                            p[(2 * y + 1) * w + 2 * x + 1]);
            }
}

// The multi-scale loss of flow_train.h: photo summed over nscales pooled scales (flow pooled and halved),
// plus lambda * smooth at full resolution.
static double ref_ms_loss(const double *ref, const double *supp, const double *flow, int h, int w, int nscales,
                          double lambda) {
    double smooth, total = 0;
    const size_t hw = (size_t)h * w;
    double *r = malloc(sizeof(double) * 3 * hw), *s = malloc(sizeof(double) * 3 * hw), *f = malloc(sizeof(double) * 2 * hw);
    double *t = malloc(sizeof(double) * 3 * hw);
    memcpy(r, ref, sizeof(double) * 3 * hw), memcpy(s, supp, sizeof(double) * 3 * hw), memcpy(f, flow, sizeof(double) * 2 * hw);
    for (int k = 0; k < nscales; k++) {
        double ph;
        ref_loss(r, s, f, h, w, 0, &ph, k == 0 ? &smooth : NULL);
        total += ph;
        if (k + 1 == nscales) break;
        d_pool(t, r, 3, h, w), memcpy(r, t, sizeof(double) * 3 * (h / 2) * (w / 2));
        d_pool(t, s, 3, h, w), memcpy(s, t, sizeof(double) * 3 * (h / 2) * (w / 2));
        d_pool(t, f, 2, h, w);
        for (int i = 0; i < 2 * (h / 2) * (w / 2); i++) f[i] = 0.5 * t[i];
        h /= 2, w /= 2;
    }
    free(r), free(s), free(f), free(t);
    return total + lambda * smooth;
}

// A flow whose sample positions keep 0.1 px away from integer coordinates (the bilinear kinks) and from
// the border lines; about one in six lands outside the image (clamped), where the gradient is zero.
static void kink_free_flow(float *flow, int h, int w) {
    const size_t hw = (size_t)h * w;
    for (int c = 0; c < 2; c++) {
        const int n = c ? h : w;
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) {
                float u[3];
                tu_fill_uniform(u, 3, 0, 1, &rng);
                int base = (int)(u[0] * (n - 1));  // cell [base, base + 1] inside the image
                if (u[2] < 1.0f / 6) base = u[2] < 1.0f / 12 ? -3 : n + 1;  // outside by more than a pixel
                double pos = base + 0.1 + 0.8 * u[1];
                flow[c * hw + y * w + x] = (float)(pos - (c ? y : x));
            }
    }
}

static void check_loss_grad(int h, int w, float lambda, float scale) {
    const size_t hw = (size_t)h * w;
    float *ref = malloc(sizeof(float) * 3 * hw), *supp = malloc(sizeof(float) * 3 * hw);
    float *flow = malloc(sizeof(float) * 2 * hw), *dflow = malloc(sizeof(float) * 2 * hw);
    float *pre = malloc(sizeof(float) * 2 * hw), *warped = malloc(sizeof(float) * 3 * hw);
    float *dwarp = malloc(sizeof(float) * 3 * hw);
    double *rd = malloc(sizeof(double) * 3 * hw), *sd = malloc(sizeof(double) * 3 * hw);
    double *fd = malloc(sizeof(double) * 2 * hw);
    tu_fill_uniform(ref, 3 * hw, 0, 1, &rng);
    tu_fill_uniform(supp, 3 * hw, 0, 1, &rng);
    kink_free_flow(flow, h, w);
    tu_fill_uniform(pre, 2 * hw, -1, 1, &rng);
    memcpy(dflow, pre, sizeof(float) * 2 * hw);
    for (size_t i = 0; i < 3 * hw; i++) rd[i] = ref[i], sd[i] = supp[i];
    for (size_t i = 0; i < 2 * hw; i++) fd[i] = flow[i];

    double want_photo, want_smooth;
    ref_loss(rd, sd, fd, h, w, lambda, &want_photo, &want_smooth);
    double photo = sv_flow_photo_forward(warped, ref, supp, flow, h, w);
    double smooth = sv_flow_smooth_forward(flow, h, w);
    CHECKF(fabs(photo - want_photo) < 1e-6 * fmax(1, want_photo), "%dx%d photo %.9g, want %.9g", h, w, photo,
           want_photo);
    CHECKF(fabs(smooth - want_smooth) < 1e-6 * fmax(1, want_smooth), "%dx%d smooth %.9g, want %.9g", h, w, smooth,
           want_smooth);

    sv_flow_photo_backward(dflow, dwarp, warped, ref, supp, flow, h, w, scale);
    sv_flow_smooth_backward(dflow, flow, h, w, scale * lambda);
    double num = 0, den = 0;
    const double eps = 1e-6;
    for (size_t i = 0; i < 2 * hw; i++) {
        const double f0 = fd[i];
        fd[i] = f0 + eps;
        double lp = ref_loss(rd, sd, fd, h, w, lambda, NULL, NULL);
        fd[i] = f0 - eps;
        double lm = ref_loss(rd, sd, fd, h, w, lambda, NULL, NULL);
        fd[i] = f0;
        double want = scale * (lp - lm) / (2 * eps), got = (double)dflow[i] - pre[i];
        num += (got - want) * (got - want);
        den += want * want;
    }
    double rel = sqrt(num / den);
    CHECKF(den > 0 && rel < 1e-3, "%dx%d lambda %g: gradient rel err %g", h, w, lambda, rel);
    free(ref), free(supp), free(flow), free(dflow), free(pre), free(warped), free(dwarp), free(rd), free(sd), free(fd);
}

static void check_ms_grad(int h, int w, int nscales, int want_scales, float lambda, float scale) {
    const size_t hw = (size_t)h * w;
    sv_err e;
    sv_flowloss *l = sv_flowloss_create(h, w, nscales, &e);
    CHECKF(l, "%s", e.msg);
    if (!l) return;
    CHECKF(sv_flowloss_scales(l) == want_scales, "%dx%d: %d scales, want %d", h, w, sv_flowloss_scales(l), want_scales);
    float *ref = malloc(sizeof(float) * 3 * hw), *supp = malloc(sizeof(float) * 3 * hw);
    float *flow = malloc(sizeof(float) * 2 * hw), *dflow = malloc(sizeof(float) * 2 * hw), *pre = malloc(sizeof(float) * 2 * hw);
    double *rd = malloc(sizeof(double) * 3 * hw), *sd = malloc(sizeof(double) * 3 * hw), *fd = malloc(sizeof(double) * 2 * hw);
    tu_fill_uniform(ref, 3 * hw, 0, 1, &rng);
    tu_fill_uniform(supp, 3 * hw, 0, 1, &rng);
    kink_free_flow(flow, h, w);
    tu_fill_uniform(pre, 2 * hw, -1, 1, &rng);
    memcpy(dflow, pre, sizeof(float) * 2 * hw);
    for (size_t i = 0; i < 3 * hw; i++) rd[i] = ref[i], sd[i] = supp[i];
    for (size_t i = 0; i < 2 * hw; i++) fd[i] = flow[i];
    const double want = ref_ms_loss(rd, sd, fd, h, w, want_scales, lambda);
    double photo0, smooth, want_photo0, want_smooth;
    ref_loss(rd, sd, fd, h, w, lambda, &want_photo0, &want_smooth);
    double got = sv_flowloss_pair(l, ref, supp, flow, lambda, scale, dflow, &photo0, &smooth);
    CHECKF(fabs(got - want) < 1e-6 * fmax(1, want), "%dx%d/%d: loss %.9g, want %.9g", h, w, nscales, got, want);
    CHECKF(fabs(photo0 - want_photo0) < 1e-6 && fabs(smooth - want_smooth) < 1e-6, "%dx%d: photo0/smooth", h, w);
    double num = 0, den = 0;
    const double eps = 1e-6;
    for (size_t i = 0; i < 2 * hw; i++) {
        const double f0 = fd[i];
        fd[i] = f0 + eps;
        double lp = ref_ms_loss(rd, sd, fd, h, w, want_scales, lambda);
        fd[i] = f0 - eps;
        double lm = ref_ms_loss(rd, sd, fd, h, w, want_scales, lambda);
        fd[i] = f0;
        double wg = scale * (lp - lm) / (2 * eps), g = (double)dflow[i] - pre[i];
        num += (g - wg) * (g - wg);
        den += wg * wg;
    }
    double rel = sqrt(num / den);
    CHECKF(den > 0 && rel < 1e-3, "%dx%d, %d scales: gradient rel err %g", h, w, want_scales, rel);
    // without dflow: the same loss, nothing written
    CHECK(sv_flowloss_pair(l, ref, supp, flow, lambda, scale, NULL, NULL, NULL) == got);
    sv_flowloss_free(l);
    free(ref), free(supp), free(flow), free(dflow), free(pre), free(rd), free(sd), free(fd);
}

static void test_ms_loss_gradient(void) {
    check_ms_grad(13, 11, 3, 3, 0.2f, 1.0f);   // 13x11 -> 6x5 -> 3x2 (odd rows and columns dropped)
    check_ms_grad(9, 6, 4, 2, 0.05f, 0.5f);    // 9x6 -> 4x3, then a side would drop below 2
    check_ms_grad(7, 5, 1, 1, 0.1f, 1.0f);     // one scale: the plain loss
}

static void test_loss_gradient(void) {
    check_loss_grad(5, 7, 0.3f, 1.0f);
    check_loss_grad(9, 6, 0.05f, 0.25f);
    check_loss_grad(1, 11, 1.0f, 1.0f);  // one row: no y differences
    check_loss_grad(13, 3, 0.0f, 2.0f);  // photometric term alone
}

// Zero flow: the warp is the identity, so photo is the plain Charbonnier of ref - supp; a constant flow has
// only the eps floor as smoothness.
static void test_loss_values(void) {
    enum { H = 6, W = 9 };
    const size_t hw = H * W;
    float ref[3 * hw], supp[3 * hw], flow[2 * hw], warped[3 * hw];
    tu_fill_uniform(ref, 3 * hw, 0, 1, &rng);
    tu_fill_uniform(supp, 3 * hw, 0, 1, &rng);
    memset(flow, 0, sizeof flow);
    double want = 0;
    for (size_t i = 0; i < 3 * hw; i++) want += rho((double)ref[i] - supp[i]);
    want /= 3.0 * hw;
    CHECK(fabs(sv_flow_photo_forward(warped, ref, supp, flow, H, W) - want) < 1e-7);
    for (size_t i = 0; i < 2 * hw; i++) flow[i] = i < hw ? 1.7f : -0.4f;
    CHECK(fabs(sv_flow_smooth_forward(flow, H, W) - sqrt((double)SV_FLOW_EPS)) < 1e-9);
}

// ---- 2. learning a known shift ----

// A smooth texture, different per channel, at continuous coordinates.
static double texture(int c, double x, double y) {
    return 0.5 + 0.18 * sin(0.55 * x + 0.9 * c + 0.3) * cos(0.47 * y - 0.4 * c) + 0.12 * sin(0.31 * (x + 1.3 * y) + c) +
           0.08 * cos(0.83 * x - 0.61 * y + 2.0 * c);
}

// The best single translation finds a sub-pixel shift of a smooth texture (to its 1/16-pixel grid).
static void test_best_translation(void) {
    enum { H = 40, W = 52 };
    const size_t hw = (size_t)H * W;
    const double sx = -5.3, sy = 2.65;  // supp's content at ref's position + (sx, sy): the flow is (sx, sy)
    float *ref = malloc(3 * hw * sizeof(float)), *supp = malloc(3 * hw * sizeof(float));
    float *flow = malloc(2 * hw * sizeof(float)), *warped = malloc(3 * hw * sizeof(float));
    for (int c = 0; c < 3; c++)
        for (int y = 0; y < H; y++)
            for (int x = 0; x < W; x++) {
                ref[(size_t)c * hw + (size_t)y * W + x] = (float)texture(c, x, y);
                supp[(size_t)c * hw + (size_t)y * W + x] = (float)texture(c, x - sx, y - sy);
            }
    float dx, dy;
    const double best = sv_flow_best_translation(ref, supp, H, W, flow, warped, &dx, &dy);
    const double zero = charbonnier_forward(ref, supp, 3 * hw, SV_FLOW_EPS);
    CHECKF(fabs(dx - sx) <= 0.07 && fabs(dy - sy) <= 0.07, "found (%g, %g), want (%g, %g)", dx, dy, sx, sy);
    // what remains is the border: the pixels whose match lies outside the frame (~17% of them here)
    CHECKF(best < 0.3 * zero, "error %g at the best translation, %g at zero", best, zero);
    free(ref), free(supp), free(flow), free(warped);
}

static void test_learns_shift(void) {
    enum { S = 32, ITERS = 60 };
    const size_t hw = (size_t)S * S;
    const double sx = 1.3, sy = -0.8;  // supp's content sits at ref's position + (sx, sy): flow(ref, supp) = s
    sv_err e;
    sv_model m;
    if (tu_random_model(&m, 4, 1, 7)) return;
    sv_flow_zero_head(&m);  // as train-flow starts a random model: from the zero flow
    size_t nspy;
    sv_model_param_count(&m, &nspy);
    float *img[2], *fl[2], *dfl[2], *warped = malloc(sizeof(float) * 3 * hw);
    for (int k = 0; k < 2; k++) {
        img[k] = malloc(sizeof(float) * 3 * hw);
        fl[k] = malloc(sizeof(float) * 2 * hw);
        dfl[k] = malloc(sizeof(float) * 2 * hw);
    }
    for (int c = 0; c < 3; c++)
        for (int y = 0; y < S; y++)
            for (int x = 0; x < S; x++) {
                img[0][c * hw + y * S + x] = (float)texture(c, x, y);
                img[1][c * hw + y * S + x] = (float)texture(c, x - sx, y - sy);
            }
    float *grads = calloc(m.nparams, sizeof(float)), *am = calloc(nspy, sizeof(float)), *av = calloc(nspy, sizeof(float));
    sv_spytrain *spy = sv_spytrain_create(&m, S, S, 2, sv_conv_preferred_blk(), 0, &e);
    CHECKF(spy, "%s", e.msg);
    sv_flowloss *loss = sv_flowloss_create(S, S, 3, &e);
    CHECKF(loss, "%s", e.msg);
    const float *ref[2] = {img[0], img[1]}, *supp[2] = {img[1], img[0]}, *dflc[2] = {dfl[0], dfl[1]};
    memset(fl[0], 0, sizeof(float) * 2 * hw);
    const double zero = sv_flow_photo_forward(warped, img[0], img[1], fl[0], S, S);
    double photo = 0;
    for (int it = 0; spy && loss && it <= ITERS; it++) {
        if (sv_spytrain_forward(spy, ref, supp, 2, fl, &e)) {
            CHECKF(0, "%s", e.msg);
            break;
        }
        photo = 0;
        memset(dfl[0], 0, sizeof(float) * 2 * hw);
        memset(dfl[1], 0, sizeof(float) * 2 * hw);
        for (int j = 0; j < 2; j++) {
            double ph;
            sv_flowloss_pair(loss, ref[j], supp[j], fl[j], 0.01f, 0.5f, dfl[j], &ph, NULL);
            photo += ph / 2;
        }
        if (it == ITERS) break;  // the last forward only measures
        memset(grads, 0, sizeof(float) * nspy);
        if (sv_spytrain_backward(spy, dflc, 2, grads, &e)) {
            CHECKF(0, "%s", e.msg);
            break;
        }
        sv_adam_step(m.params, grads, am, av, nspy, 2e-3f, 0.9f, 0.999f, 1e-8f, it + 1);
    }
    double mean[2][2] = {{0}};
    for (int j = 0; j < 2; j++)
        for (int c = 0; c < 2; c++) {
            for (size_t i = 0; i < hw; i++) mean[j][c] += fl[j][c * hw + i];
            mean[j][c] /= (double)hw;
        }
    printf("  shift (%.2f, %.2f): photo %.5f (zero flow %.5f); mean flow (%.3f, %.3f), reversed (%.3f, %.3f)\n", sx,
           sy, photo, zero, mean[0][0], mean[0][1], mean[1][0], mean[1][1]);
    CHECKF(photo < 0.5 * zero, "photometric error %g not well below the zero flow's %g", photo, zero);
    const double err = hypot(mean[0][0] - sx, mean[0][1] - sy), rerr = hypot(mean[1][0] + sx, mean[1][1] + sy);
    CHECKF(err < 0.4 * hypot(sx, sy), "mean flow (%g, %g), want about (%g, %g)", mean[0][0], mean[0][1], sx, sy);
    CHECKF(rerr < 0.4 * hypot(sx, sy), "reversed mean flow (%g, %g), want about (%g, %g)", mean[1][0], mean[1][1],
           -sx, -sy);
    sv_spytrain_free(spy);
    sv_flowloss_free(loss);
    for (int k = 0; k < 2; k++) free(img[k]), free(fl[k]), free(dfl[k]);
    free(warped), free(grads), free(am), free(av);
    sv_model_free(&m);
}

// ---- 3. the loop, checkpoints and resume ----

// One clip of 3 frames of 160x144 (LR 40x36) of the texture moving by (2, 1) GT pixels per frame.
static const char *make_clip(void) {
    const char *dir = tu_join(tu_tmpdir(), "clip");
    enum { W = 160, H = 144 };
    sv_err e;
    sv_frame_writer *wr = sv_frames_create(dir, W, H, 0, 0, &e);
    CHECKF(wr, "%s", e.msg);
    if (!wr) return NULL;
    unsigned char *rgb = malloc(W * H * 3);
    for (int t = 0; t < 3; t++) {
        for (int y = 0; y < H; y++)
            for (int x = 0; x < W; x++)
                for (int c = 0; c < 3; c++)
                    rgb[(y * W + x) * 3 + c] = (unsigned char)lrint(255 * texture(c, (x - 2.0 * t) / 4, (y - t) / 4.0));
        if (sv_frames_write(wr, rgb, NULL, &e)) CHECKF(0, "%s", e.msg);
    }
    free(rgb);
    if (sv_frames_writer_finish(wr, &e)) {
        CHECKF(0, "%s", e.msg);
        return NULL;
    }
    return dir;
}

// Resumes the run in out to iters iterations with default options: what the run's state says wins.
static void resume_to(const char *out, long iters) {
    sv_flowtrain_opts r;
    sv_err e;
    sv_flowtrain_opts_default(&r);
    r.run.out = out;
    r.run.iters = iters;
    r.run.resume = 1;
    r.run.quiet = 1;
    CHECKF(!sv_flow_train(&r, NULL, &e), "%s", e.msg);
}

static int load(sv_model *m, const char *dir) {
    sv_err e;
    if (sv_model_load(m, tu_join(dir, "model.safetensors"), -1, &e)) {
        CHECKF(0, "%s", e.msg);
        return -1;
    }
    return 0;
}

static int count_lines(const char *path, long *last_iter) {
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    char line[4096];
    int n = 0;
    while (fgets(line, sizeof line, f)) {
        n++;
        const char *p = strstr(line, "\"iter\":");
        if (p) *last_iter = strtol(p + 7, NULL, 10);
        CHECKF(strstr(line, "\"photo_zero\":") && strstr(line, "\"smooth\":"), "log line: %s", line);
    }
    fclose(f);
    return n;
}

// The memory check's estimate is what create allocates, byte for byte, on odd sizes and every layout.
static void test_estimate_matches(void) {
    sv_err e;
    sv_model m;
    if (tu_random_model(&m, 4, 1, 7)) return;
    const int sizes[3][3] = {{37, 45, 3}, {64, 64, 1}, {33, 20, 5}}, blks[3] = {1, 8, 16};
    for (int i = 0; i < 3; i++)
        for (int b = 0; b < 3; b++) {
            const int h = sizes[i][0], w = sizes[i][1], np = sizes[i][2];
            sv_spytrain *s = sv_spytrain_create(&m, h, w, np, blks[b], 0, &e);
            CHECKF(s, "%s", e.msg);
            if (!s) continue;
            const size_t got = sv_spytrain_estimate(&m, h, w, np, blks[b]), want = sv_spytrain_bytes(s);
            CHECKF(got == want && want > (size_t)np * h * w * 64, "%dx%d, %d pairs, blk %d: estimate %zu, allocated %zu",
                   h, w, np, blks[b], got, want);
            sv_spytrain_free(s);
        }
    sv_model_free(&m);
}

static void test_loop_resume(void) {
    const char *clip = make_clip();
    if (!clip) return;
    sv_flowtrain_opts o;
    sv_flowtrain_opts_default(&o);
    o.run.data[0] = clip;
    o.run.ndata = 1;
    o.run.feat = 5;
    o.run.blocks = 1;
    o.run.batch = 2;
    o.run.seq = 2;
    o.run.patch = 32;
    o.run.lr = o.run.lr_min = 1e-3;  // a constant rate: extending a run with --iters changes no schedule
    o.run.log_every = 2;
    o.ckpt_every = 2;
    o.run.seed = 11;
    o.run.quiet = 1;
    sv_err e;
    const char *a = tu_join(tu_tmpdir(), "a"), *b = tu_join(tu_tmpdir(), "b");
    o.run.out = a;
    o.run.iters = 6;
    CHECKF(!sv_flow_train(&o, NULL, &e), "%s", e.msg);
    o.run.out = b;
    o.run.iters = 4;
    CHECKF(!sv_flow_train(&o, NULL, &e), "%s", e.msg);
    CHECK(sv_flow_train(&o, NULL, &e) == -1 && strstr(e.msg, "--resume"));  // a second fresh run into b
    struct stat st;
    o.run.out = tu_join(tu_tmpdir(), "c");
    o.run.data[0] = tu_join(clip, "nowhere");
    CHECKF(sv_flow_train(&o, NULL, &e) == -1 && strstr(e.msg, "nowhere") && stat(o.run.out, &st) != 0, "%s", e.msg);
    o.run.data[0] = clip;
    o.run.out = clip;  // the data would be written into
    CHECKF(sv_flow_train(&o, NULL, &e) == -1 && strstr(e.msg, "is the input") && stat(tu_join(clip, ".lock"), &st) != 0,
           "%s", e.msg);
    resume_to(b, 6);

    sv_model ma, mb, m0;
    if (load(&ma, a)) return;
    if (load(&mb, b)) return;
    if (tu_random_model(&m0, 5, 1, 11)) return;
    size_t nspy;
    sv_model_param_count(&m0, &nspy);
    CHECK(ma.nparams == m0.nparams && mb.nparams == m0.nparams);
    if (ma.nparams == m0.nparams && mb.nparams == m0.nparams) {
        double dres = 0, dspy = 0, drest = 0;
        for (size_t i = 0; i < m0.nparams; i++) {
            dres = fmax(dres, fabs(ma.params[i] - mb.params[i]));
            if (i < nspy) dspy = fmax(dspy, fabs(ma.params[i] - m0.params[i]));
            else drest = fmax(drest, fabs(ma.params[i] - m0.params[i]));
        }
        CHECKF(dres == 0, "4 + 2 resumed iterations differ from 6 straight by %g", dres);
        CHECKF(dspy > 1e-4, "SPyNet did not change (%g)", dspy);
        CHECKF(drest == 0, "the rest of the model changed (%g)", drest);
    }
    long last = 0;
    CHECKF(count_lines(tu_join(a, "log.jsonl"), &last) == 3 && last == 6, "log of the straight run");
    CHECKF(count_lines(tu_join(b, "log.jsonl"), &last) == 3 && last == 6, "log of the resumed run");

    // evaluation on the clip's frames: the API counts both orderings of each neighbour pair
    sv_flow_eval_result ev;
    const char *src[1] = {clip};
    CHECKF(!sv_flow_eval(&ma, src, 1, 0, &ev, &e), "%s", e.msg);
    CHECK(ev.clips == 1 && ev.pairs == 4 && ev.photo_zero > 0 && ev.photo_model > 0);
    // the clip moves by (2, 1) pixels a frame: one translation per pair removes nearly all of the error
    CHECKF(ev.photo_translation < 0.2 * ev.photo_zero, "translation %g, zero flow %g", ev.photo_translation,
           ev.photo_zero);
    sv_model_free(&ma), sv_model_free(&mb), sv_model_free(&m0);
}

// ---- 4. supervised ----

// the short supervised run: iterations, constant learning rate, and the held-out EPE it must reach (x before)
#define SUP_ITERS 150
#define SUP_LR 1e-3
#define SUP_GAIN 0.98

// (1/|V|) sum_V sqrt(|flow - gt|^2 + eps), in double.
static double ref_epe(const double *flow, const float *gt, const float *valid, int h, int w, double eps) {
    const size_t hw = (size_t)h * w;
    double sum = 0;
    long n = 0;
    for (size_t i = 0; i < hw; i++) {
        if (!valid[i]) continue;
        const double dx = flow[i] - gt[i], dy = flow[hw + i] - gt[hw + i];
        sum += sqrt(dx * dx + dy * dy + eps);
        n++;
    }
    return n ? sum / n : 0;
}

static void check_epe_grad(int h, int w, float scale) {
    const size_t hw = (size_t)h * w;
    float *flow = malloc(sizeof(float) * 2 * hw), *gt = malloc(sizeof(float) * 2 * hw);
    float *valid = malloc(sizeof(float) * hw), *dflow = malloc(sizeof(float) * 2 * hw);
    float *pre = malloc(sizeof(float) * 2 * hw);
    double *fd = malloc(sizeof(double) * 2 * hw);
    tu_fill_uniform(gt, 2 * hw, -4, 4, &rng);
    tu_fill_uniform(flow, 2 * hw, -4, 4, &rng);
    tu_fill_uniform(valid, hw, 0, 1, &rng);
    for (size_t i = 0; i < hw; i++) valid[i] = valid[i] < 0.7f;  // about 30% invalid
    for (size_t i = 0; i < hw / 7; i++) flow[i] = gt[i], flow[hw + i] = gt[hw + i];  // exact matches: eps's region
    tu_fill_uniform(pre, 2 * hw, -1, 1, &rng);
    memcpy(dflow, pre, sizeof(float) * 2 * hw);
    for (size_t i = 0; i < 2 * hw; i++) fd[i] = flow[i];
    const double eps = SV_EPE_EPS;
    long nv;
    const double got_l = sv_flow_epe_forward(flow, gt, valid, h, w, SV_EPE_EPS, &nv);
    const double want_l = ref_epe(fd, gt, valid, h, w, eps);
    CHECKF(fabs(got_l - want_l) < 1e-6 * fmax(1, want_l) && nv > 0, "%dx%d: epe %.9g, want %.9g", h, w, got_l, want_l);
    sv_flow_epe_backward(dflow, flow, gt, valid, h, w, SV_EPE_EPS, scale);
    double num = 0, den = 0;
    const double step = 1e-6;
    for (size_t i = 0; i < 2 * hw; i++) {
        const double f0 = fd[i];
        fd[i] = f0 + step;
        const double lp = ref_epe(fd, gt, valid, h, w, eps);
        fd[i] = f0 - step;
        const double lm = ref_epe(fd, gt, valid, h, w, eps);
        fd[i] = f0;
        const double want = scale * (lp - lm) / (2 * step), got = (double)dflow[i] - pre[i];
        num += (got - want) * (got - want);
        den += want * want;
    }
    const double rel = sqrt(num / den);
    CHECKF(den > 0 && rel < 1e-3, "%dx%d: EPE gradient rel err %g", h, w, rel);
    // the zero flow (NULL) and an empty mask
    memset(fd, 0, sizeof(double) * 2 * hw);
    CHECK(fabs(sv_flow_epe_forward(NULL, gt, valid, h, w, 0, NULL) - ref_epe(fd, gt, valid, h, w, 0)) < 1e-9);
    memset(valid, 0, sizeof(float) * hw);
    memcpy(dflow, pre, sizeof(float) * 2 * hw);
    CHECK(sv_flow_epe_forward(flow, gt, valid, h, w, SV_EPE_EPS, &nv) == 0 && nv == 0);
    sv_flow_epe_backward(dflow, flow, gt, valid, h, w, SV_EPE_EPS, scale);
    CHECK(!memcmp(dflow, pre, sizeof(float) * 2 * hw));
    free(flow), free(gt), free(valid), free(dflow), free(pre), free(fd);
}

static void test_epe_gradient(void) {
    check_epe_grad(5, 7, 1.0f);
    check_epe_grad(13, 4, 0.37f);
}

// The EPE of SPyNet's flow on one pair (ref = texture, supp = texture shifted; gt the shift, a border of
// invalid pixels), as a function of the parameters: the gradient from sv_spytrain_backward against central
// differences of the whole forward for single parameters.
static double spy_epe(sv_spytrain *spy, const float *ref, const float *supp, float *flow, const float *gt,
                      const float *valid, int S) {
    sv_err e;
    const float *r[1] = {ref}, *s[1] = {supp};
    float *f[1] = {flow};
    if (sv_spytrain_forward(spy, r, s, 1, f, &e)) {
        CHECKF(0, "%s", e.msg);
        return NAN;
    }
    return sv_flow_epe_forward(flow, gt, valid, S, S, SV_EPE_EPS, NULL);
}

static void test_epe_through_spynet(void) {
    enum { S = 32 };
    const size_t hw = (size_t)S * S;
    sv_model m;
    if (tu_random_model(&m, 4, 1, 5)) return;  // heads not zeroed: every parameter moves the flow
    sv_err e;
    sv_spytrain *spy = sv_spytrain_create(&m, S, S, 1, sv_conv_preferred_blk(), 0, &e);
    CHECKF(spy, "%s", e.msg);
    if (!spy) return;
    float *ref = malloc(sizeof(float) * 3 * hw), *supp = malloc(sizeof(float) * 3 * hw);
    float *gt = malloc(sizeof(float) * 2 * hw), *valid = malloc(sizeof(float) * hw);
    float *flow = malloc(sizeof(float) * 2 * hw), *dflow = calloc(2 * hw, sizeof(float));
    float *grads = calloc(m.nparams, sizeof(float));
    const double sx = 1.7, sy = -0.6;
    for (int c = 0; c < 3; c++)
        for (int y = 0; y < S; y++)
            for (int x = 0; x < S; x++) {
                ref[c * hw + y * S + x] = (float)texture(c, x, y);
                supp[c * hw + y * S + x] = (float)texture(c, x - sx, y - sy);
            }
    for (int y = 0; y < S; y++)
        for (int x = 0; x < S; x++) {
            gt[y * S + x] = (float)sx, gt[hw + y * S + x] = (float)sy;
            valid[y * S + x] = x >= 2 && x < S - 2 && y >= 2 && y < S - 2;
        }
    spy_epe(spy, ref, supp, flow, gt, valid, S);
    sv_flow_epe_backward(dflow, flow, gt, valid, S, S, SV_EPE_EPS, 1.0f);
    const float *dfc[1] = {dflow};
    CHECKF(!sv_spytrain_backward(spy, dfc, 1, grads, &e), "%s", e.msg);
    // a head bias of the finest level (the flow moves linearly with it), and an inner weight of level 3
    // (through ReLUs, warps and the upsampling chain)
    const sv_conv_layer *head = &m.spynet[SV_SPY_LEVELS - 1][SV_SPY_CONVS - 1], *inner = &m.spynet[3][1];
    struct {
        float *p;
        double step, tol;
        const char *what;
    } cases[] = {{head->b, 1e-3, 0.01, "finest head bias"}, {head->b + 1, 1e-3, 0.01, "finest head bias 1"},
                 {inner->w + 37, 1e-2, 0.05, "level 3 conv 1 weight"},
                 {inner->b + 5, 1e-2, 0.05, "level 3 conv 1 bias"}};
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
        float *p = cases[k].p;
        const float p0 = *p;
        *p = p0 + (float)cases[k].step;
        const double lp = spy_epe(spy, ref, supp, flow, gt, valid, S);
        *p = p0 - (float)cases[k].step;
        const double lm = spy_epe(spy, ref, supp, flow, gt, valid, S);
        *p = p0;
        const double want = (lp - lm) / (2 * cases[k].step), got = grads[p - m.params];
        printf("  %s: gradient %.6g, finite differences %.6g\n", cases[k].what, got, want);
        CHECKF(fabs(got - want) <= cases[k].tol * fmax(fabs(want), 1e-6), "%s: gradient %g, finite differences %g",
               cases[k].what, got, want);
    }
    sv_spytrain_free(spy);
    free(ref), free(supp), free(gt), free(valid), free(flow), free(dflow), free(grads);
    sv_model_free(&m);
}

// Photos for the supervised tests: n PNGs of a random smooth texture (a sum of random sinusoids) under
// dir/sub (and one at the top), 96 x 72; dir = the test folder's `folder`.
static const char *make_photos(const char *folder, int n) {
    const char *dir = tu_join(tu_tmpdir(), folder), *sub = tu_join(dir, "sub");
    mkdir(dir, 0755);
    mkdir(sub, 0755);
    enum { W = 96, H = 72, K = 6 };
    unsigned char *rgb = malloc((size_t)W * H * 3);
    for (int i = 0; i < n; i++) {
        float a[K * 5];
        tu_fill_uniform(a, K * 5, 0, 1, &rng);
        for (int y = 0; y < H; y++)
            for (int x = 0; x < W; x++)
                for (int c = 0; c < 3; c++) {
                    double v = 0.5;
                    for (int k = 0; k < K; k++) {
                        const float *q = a + 5 * k;
                        v += 0.12 * sin((0.05 + 0.6 * q[0]) * x + (0.6 * q[1] - 0.3) * y + 6.3 * q[2] + 1.1 * c * q[3]);
                    }
                    rgb[((size_t)y * W + x) * 3 + c] = (unsigned char)fmin(255, fmax(0, 255 * v));
                }
        char name[32];
        snprintf(name, sizeof name, "p%02d.png", i);
        const char *path = tu_join(i ? sub : dir, name);
        FILE *f = fopen(path, "wb");
        sv_err e;
        CHECKF(f && !sv_png_write_rgb(f, path, rgb, W, H, &e), "%s", path);
        if (f) fclose(f);
    }
    free(rgb);
    return dir;
}

static void test_photos(void) {
    const char *dir = make_photos("photos", 3);
    sv_photo_set ps;
    sv_err e;
    CHECKF(!sv_photos_load(&ps, dir, 40, &e), "%s", e.msg);
    CHECK(ps.n == 3);
    // 96 x 72 to a longer side of at most 40: 3 x 3 blocks, 32 x 24
    for (int i = 0; i < ps.n; i++)
        CHECKF(ps.v[i].w == 32 && ps.v[i].h == 24, "photo %d: %dx%d", i, ps.v[i].w, ps.v[i].h);
    // in path order: DIR/p00.png, then DIR/sub/p01.png, p02.png (the generator's first photo is the top one)
    sv_photos_free(&ps);
    CHECKF(!sv_photos_load(&ps, dir, 0, &e) && ps.n == 3 && ps.v[0].w == 96, "%s", e.msg);
    sv_photos_free(&ps);
    const char *empty = tu_join(tu_tmpdir(), "nophotos");
    mkdir(empty, 0755);
    CHECKF(sv_photos_load(&ps, empty, 40, &e) == -1 && strstr(e.msg, "no photos") && strstr(e.msg, empty), "%s", e.msg);
}

// The split: 17 photos -> indices 7 and 15 held out, the other 15 kept in order; 6 photos -> none moved,
// the held-out set borrows all six (freeing it frees nothing of ps).
static void test_photo_split(void) {
    const char *dir = make_photos("photos17", 17);
    sv_photo_set ps, all, held;
    sv_err e;
    if (sv_photos_load(&ps, dir, 0, &e) || sv_photos_load(&all, dir, 0, &e)) {
        CHECKF(0, "%s", e.msg);
        return;
    }
    CHECKF(sv_photos_split(&ps, &held, &e) == 2 && ps.n == 15 && held.n == 2 && !held.borrowed, "split: %d + %d",
           ps.n, held.n);
    CHECK(held.n == 2 && !memcmp(held.v[0].rgb, all.v[7].rgb, 96 * 72 * 3) &&
          !memcmp(held.v[1].rgb, all.v[15].rgb, 96 * 72 * 3));
    for (int i = 0, k = 0; i < all.n; i++)
        if (i % SV_HELDOUT_EVERY != SV_HELDOUT_EVERY - 1) {
            CHECKF(k < ps.n && !memcmp(ps.v[k].rgb, all.v[i].rgb, 96 * 72 * 3), "kept photo %d is not photo %d", k, i);
            k++;
        }
    sv_photos_free(&held);
    sv_photos_free(&ps);
    sv_photos_free(&all);
    CHECKF(!sv_photos_load(&ps, make_photos("photos6b", 6), 0, &e), "%s", e.msg);
    CHECK(sv_photos_split(&ps, &held, &e) == 0 && held.n == 6 && held.borrowed && held.v[5].rgb == ps.v[5].rgb);
    sv_photos_free(&held);
    CHECK(ps.n == 6 && ps.v[5].rgb[0] == ps.v[5].rgb[0]);  // still owned and readable (ASan: not freed)
    sv_photos_free(&ps);
}

// The true flow at SPyNet's levels: a linear flow field on 64 x 64 pools exactly (2 x 2 means, halved); on
// 48 x 48 the finest level is the 64 x 64 resize with its values scaled by 4/3; one invalid pixel invalidates
// exactly one pixel per level (its ancestors), and nothing else.
static void test_gt_levels(void) {
    for (int pass = 0; pass < 2; pass++) {
        const int S = pass ? 48 : 64, L = SV_SPY_LEVELS - 1;
        const size_t hw = (size_t)S * S;
        float *gt = malloc(sizeof(float) * 2 * hw), *valid = malloc(sizeof(float) * hw);
        float *gl[SV_SPY_LEVELS], *vl[SV_SPY_LEVELS];
        for (int l = 0; l < SV_SPY_LEVELS; l++) {
            gl[l] = malloc(sizeof(float) * 2 * 64 * 64);
            vl[l] = malloc(sizeof(float) * 64 * 64);
        }
        // flow = (0.5 + 0.02 x, -1 + 0.03 y) in pixels of the S x S frame
        for (int y = 0; y < S; y++)
            for (int x = 0; x < S; x++) {
                gt[y * S + x] = 0.5f + 0.02f * x;
                gt[hw + y * S + x] = -1.0f + 0.03f * y;
                valid[y * S + x] = 1;
            }
        valid[10 * S + 37] = 0;
        sv_flow_gt_levels(gt, valid, S, S, gl, vl);
        const double k = 64.0 / S;  // frame pixel -> finest level pixel
        double err = 0;
        int bad_valid = 0;
        for (int l = 0; l <= L; l++) {
            const int n = 64 >> (L - l);
            const double f = (double)n / 64.0;  // finest level pixel -> level l pixel
            int invalid = 0;
            for (int y = 0; y < n; y++)
                for (int x = 0; x < n; x++) {
                    // the level pixel's centre in frame pixels: ((x + 0.5) / n) * S - 0.5
                    const double fx = (x + 0.5) / n * S - 0.5, fy = (y + 0.5) / n * S - 0.5;
                    const double wx = (0.5 + 0.02 * fx) * k * f, wy = (-1.0 + 0.03 * fy) * k * f;
                    // away from the border (a resize clamps there)
                    if (fx > 1 && fx < S - 2 && fy > 1 && fy < S - 2) {
                        err = fmax(err, fabs(gl[l][y * n + x] - wx));
                        err = fmax(err, fabs(gl[l][n * n + y * n + x] - wy));
                    }
                    invalid += vl[l][y * n + x] == 0;
                }
            // 64 x 64: exactly one invalid pixel per level; 48 -> 64 resize: the pixels whose bilinear
            // footprint touches it (at most 4), then their ancestors
            if (pass == 0 ? invalid != 1 : invalid < 1 || invalid > 4) bad_valid++;
        }
        CHECKF(err < 1e-4, "%d x %d: pooled flow off by %g", S, S, err);
        CHECKF(!bad_valid, "%d x %d: %d levels with a wrong count of invalid pixels", S, S, bad_valid);
        CHECK(pass || vl[L - 2][(10 / 4) * 16 + 37 / 4] == 0);  // the ancestor of (37, 10) two levels up
        free(gt), free(valid);
        for (int l = 0; l < SV_SPY_LEVELS; l++) free(gl[l]), free(vl[l]);
    }
}

// The whole supervised loss with level terms (sv_flow_supervised_batch, level weight 0.7) on a rendered batch of
// two pairs, against central differences of the same call for single parameters, among them a coarse level's
// head bias (its gradient comes mostly from its own level term).
static double sup_loss(sv_spytrain *spy, const sv_synth_batch *b, float w, float *flows, float *dflows,
                       float *grads) {
    double loss, terms[4];
    long nvalid;
    sv_err e;
    if (sv_flow_supervised_batch(spy, 2, b, w, sv_synth_batch_used(b, &nvalid), flows, dflows, grads, &loss, terms, &e)) {
        CHECKF(0, "%s", e.msg);
        return NAN;
    }
    return loss;
}

static void test_level_loss_gradient(void) {
    enum { S = 32 };
    sv_model m;
    if (tu_random_model(&m, 4, 1, 7)) return;
    sv_err e;
    sv_photo_set ps;
    sv_synth_batch b;
    CHECKF(!sv_photos_load(&ps, make_photos("photos_lv", 2), 4 * S, &e), "%s", e.msg);
    CHECKF(!sv_synth_batch_alloc(&b, 1, 2, S, 0.0, &e), "%s", e.msg);
    sv_rng r;
    sv_rng_seed(&r, 11);
    CHECKF(!sv_synth_batch_render(&b, &ps, &r, 0, 1, &e), "%s", e.msg);
    sv_spytrain *spy = sv_spytrain_create(&m, S, S, 2, sv_conv_preferred_blk(), 0, &e);
    CHECKF(spy, "%s", e.msg);
    float *flows = malloc(sizeof(float) * 2 * 2 * S * S), *dflows = malloc(sizeof(float) * 2 * 2 * S * S);
    float *grads = calloc(m.nparams, sizeof(float)), *scratch = calloc(m.nparams, sizeof(float));
    const float w = 0.7f;
    const double l0 = sup_loss(spy, &b, 0.0f, flows, dflows, scratch), l1 = sup_loss(spy, &b, w, flows, dflows, grads);
    CHECKF(l1 > l0 + 1e-3, "level terms add nothing: %g vs %g", l1, l0);
    const sv_conv_layer *fine = &m.spynet[SV_SPY_LEVELS - 1][SV_SPY_CONVS - 1], *coarse = &m.spynet[1][SV_SPY_CONVS - 1];
    struct {
        float *p;
        double step, tol;
        const char *what;
    } cases[] = {{fine->b, 1e-3, 0.01, "finest head bias"},    {coarse->b, 1e-3, 0.02, "level 1 head bias"},
                 {coarse->b + 1, 1e-3, 0.02, "level 1 head bias 1"}, {m.spynet[2][3].b + 2, 1e-4, 0.05, "level 2 conv 3 bias"}};
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
        float *p = cases[k].p;
        const float p0 = *p;
        *p = p0 + (float)cases[k].step;
        const double lp = sup_loss(spy, &b, w, flows, dflows, scratch);
        *p = p0 - (float)cases[k].step;
        const double lm = sup_loss(spy, &b, w, flows, dflows, scratch);
        *p = p0;
        const double want = (lp - lm) / (2 * cases[k].step), got = grads[p - m.params];
        printf("  %s: gradient %.6g, finite differences %.6g\n", cases[k].what, got, want);
        CHECKF(fabs(got - want) <= cases[k].tol * fmax(fabs(want), 1e-6), "%s: gradient %g, finite differences %g",
               cases[k].what, got, want);
    }
    sv_spytrain_free(spy);
    sv_synth_batch_free(&b);
    sv_photos_free(&ps);
    free(flows), free(dflows), free(grads), free(scratch);
    sv_model_free(&m);
}

// A short supervised run (library API, as `train-flow --supervised`) lowers the held-out EPE; stopping at
// half and resuming gives the same weights.
static void test_supervised_run(void) {
    const char *photos = make_photos("photos6", 6);
    sv_flowtrain_opts o;
    sv_flowtrain_opts_default(&o);  // no clips: the step makes its own batches
    o.run.feat = 4;
    o.run.blocks = 1;
    o.run.batch = 8;
    o.run.seq = 2;
    o.run.patch = 32;
    o.run.iters = SUP_ITERS;
    o.run.lr = SUP_LR;
    o.run.lr_min = SUP_LR;  // constant: a resumed run follows the same schedule
    o.run.log_every = 10;
    o.ckpt_every = SUP_ITERS / 2;
    o.warmup = 0;
    o.run.seed = 3;
    o.run.quiet = 1;
    o.supervised = 1;
    o.photos = photos;
    o.eval_pairs = 64;
    sv_err e;
    sv_model m0;
    sv_photo_set ps;
    if (tu_random_model(&m0, 4, 1, 3)) return;  // supervised runs keep the random heads by default
    CHECKF(!sv_photos_load(&ps, photos, SV_PHOTO_SIDE_PER_PATCH * 32, &e), "%s", e.msg);
    sv_flow_synth_eval_result before, after;
    CHECKF(!sv_flow_eval_synth(&m0, &ps, 64, 32, sv_flow_synth_heldout_seed(3), &before, &e), "%s", e.msg);
    const char *a = tu_join(tu_tmpdir(), "supA"), *b = tu_join(tu_tmpdir(), "supB"), *c = tu_join(tu_tmpdir(), "supC");
    o.run.out = a;
    CHECKF(!sv_flow_train(&o, NULL, &e), "%s", e.msg);
    // resume: 8 iterations straight (c) against 4, then --resume to 8 (b)
    o.run.batch = 2;
    o.ckpt_every = 4;
    o.run.out = c;
    o.run.iters = 8;
    CHECKF(!sv_flow_train(&o, NULL, &e), "%s", e.msg);
    o.run.out = b;
    o.run.iters = 4;
    CHECKF(!sv_flow_train(&o, NULL, &e), "%s", e.msg);
    resume_to(b, 8);  // not supervised, no photos: the state says
    sv_model ma, mb, mc;
    if (load(&ma, a)) return;
    if (load(&mb, b)) return;
    if (load(&mc, c)) return;
    CHECKF(!sv_flow_eval_synth(&ma, &ps, 64, 32, sv_flow_synth_heldout_seed(3), &after, &e), "%s", e.msg);
    printf("  held-out EPE %.4f px -> %.4f px after %d iterations (zero flow %.4f)\n", before.epe, after.epe,
           SUP_ITERS, before.epe_zero);
    CHECKF(after.epe < before.epe && after.epe < SUP_GAIN * before.epe_zero,
           "held-out EPE %g: not below the random start's %g and %g x the zero flow's %g", after.epe, before.epe,
           SUP_GAIN, before.epe_zero);
    double d = 0, dc0 = 0;
    for (size_t i = 0; i < mc.nparams && mc.nparams == mb.nparams; i++) {
        d = fmax(d, fabs(mc.params[i] - mb.params[i]));
        dc0 = fmax(dc0, fabs(mc.params[i] - m0.params[i]));
    }
    CHECKF(mc.nparams == mb.nparams && d == 0 && dc0 > 0, "4 + 4 resumed iterations differ from 8 straight by %g", d);
    // the held-out EPE logged at the last checkpoint is the one measured here
    FILE *f = fopen(tu_join(a, "log.jsonl"), "r");
    char line[2048], last[2048] = "";
    while (f && fgets(line, sizeof line, f)) memcpy(last, line, sizeof line);
    if (f) fclose(f);
    const char *h = strstr(last, "\"heldout_epe\":");
    CHECKF(h && fabs(strtod(h + 14, NULL) - after.epe) < 1e-9, "last log line: %s", last);
    sv_photos_free(&ps);
    sv_model_free(&m0), sv_model_free(&ma), sv_model_free(&mb), sv_model_free(&mc);
}

int main(void) {
    run_test("flow loss gradient vs finite differences", test_loss_gradient);
    run_test("flow loss values", test_loss_values);
    run_test("multi-scale flow loss gradient vs finite differences", test_ms_loss_gradient);
    run_test("SPyNet learns a known shift", test_learns_shift);
    run_test("SPyNet training memory estimate equals its allocation", test_estimate_matches);
    run_test("train-flow loop, checkpoint and resume", test_loop_resume);
    run_test("best single translation", test_best_translation);
    run_test("supervised EPE gradient vs finite differences", test_epe_gradient);
    run_test("supervised EPE through SPyNet vs finite differences", test_epe_through_spynet);
    run_test("photos: a folder tree, shrunk", test_photos);
    run_test("photos: the held-out split", test_photo_split);
    run_test("true flow at SPyNet's levels", test_gt_levels);
    run_test("supervised loss with level terms vs finite differences", test_level_loss_gradient);
    run_test("supervised run lowers the held-out EPE and resumes exactly", test_supervised_run);
    return test_summary();
}
