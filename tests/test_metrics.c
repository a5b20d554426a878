// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// test_metrics.c: PSNR/SSIM against an independent numpy implementation (tests/data/metrics, made by
// make_vectors.py), closed-form cases, and `eval` end to end on small clips with the tiny model: its
// outputs checked against GT made from whole-clip runner passes (flip averaging done here by hand), the
// per-clip and overall means, the clip-folder layout, a video input, and the errors.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "io/frames.h"
#include "model/basicvsr.h"
#include "model/runner.h"
#include "testutil.h"
#include "pipeline/eval.h"
#include "ops/metrics.h"

#define REL 1e-10  // the C code agrees with numpy to about 1e-14

static int close_rel(double got, double want) { return fabs(got - want) <= REL * fabs(want); }

// ---- metrics ----

static void test_quantize_rounds_half_to_even(void) {
    CHECK(sv_quantize_u8(-0.3f) == 0);
    CHECK(sv_quantize_u8(1.7f) == 255);
    CHECK(sv_quantize_u8(NAN) == 0);
    CHECK(sv_quantize_u8(1.0f) == 255);
    CHECK(sv_quantize_u8(0.0f) == 0);
    int ties = 0;
    for (int k = 0; k < 255; k++) {
        // a float whose product with 255 is exactly k + 0.5: rounds to the even neighbour
        float v = (float)((k + 0.5) / 255.0);
        for (int it = 0; it < 8 && v * 255.0f != (float)k + 0.5f; it++)
            v = nextafterf(v, v * 255.0f < (float)k + 0.5f ? 2.0f : -1.0f);
        if (v * 255.0f != (float)k + 0.5f) continue;
        ties++;
        int want = k % 2 ? k + 1 : k;
        CHECKF(sv_quantize_u8(v) == want, "tie %d.5 -> %d, want %d", k, sv_quantize_u8(v), want);
    }
    CHECKF(ties > 200, "only %d ties found", ties);
}

typedef struct {
    char name[32];
    int h, w, y_only, crop;
    double psnr, ssim;
} vec_case;

static int read_cases(vec_case *c, int max) {
    FILE *f = fopen(tu_data("metrics/expected.txt"), "r");
    CHECKF(f != NULL, "cannot open metrics/expected.txt");
    if (!f) return 0;
    int n = 0;
    while (n < max && fscanf(f, "%31s %d %d %d %d %lf %lf", c[n].name, &c[n].h, &c[n].w, &c[n].y_only, &c[n].crop,
                             &c[n].psnr, &c[n].ssim) == 7)
        n++;
    fclose(f);
    return n;
}

static void test_metrics_match_numpy(void) {
    vec_case c[16];
    int n = read_cases(c, 16);
    CHECKF(n == 8, "expected 8 cases, read %d", n);
    for (int i = 0; i < n; i++) {
        char p[1100];
        size_t cnt = (size_t)3 * c[i].h * c[i].w, nb;
        snprintf(p, sizeof p, "metrics/%s_a.f32", c[i].name);
        float *a = tu_read_f32(tu_data(p), cnt);
        snprintf(p, sizeof p, "metrics/%s_b.f32", c[i].name);
        float *b = tu_read_f32(tu_data(p), cnt);
        snprintf(p, sizeof p, "metrics/%s_a.u8", c[i].name);
        unsigned char *qa = tu_read_file(tu_data(p), &nb);
        snprintf(p, sizeof p, "metrics/%s_b.u8", c[i].name);
        unsigned char *qb = tu_read_file(tu_data(p), &nb);
        if (!a || !b || !qa || !qb) return;
        // the quantisation itself (values outside [0,1] and exact ties included)
        unsigned char *q = malloc(cnt);
        sv_quantize_n(q, a, cnt);
        size_t bad = 0;
        for (size_t k = 0; k < cnt; k++) bad += q[k] != qa[k];
        CHECKF(bad == 0, "%s: %zu of %zu quantised values differ from numpy's", c[i].name, bad, cnt);
        sv_err e;
        double ps, ss, ps8, ss8;
        CHECK(sv_metrics_f32(a, b, c[i].h, c[i].w, c[i].y_only, c[i].crop, &ps, &ss, &e) == 0);
        CHECK(sv_metrics_u8(qa, qb, c[i].h, c[i].w, c[i].y_only, c[i].crop, &ps8, &ss8, &e) == 0);
        CHECKF(close_rel(ps, c[i].psnr) && close_rel(ss, c[i].ssim), "%s y=%d crop=%d: psnr %.10f ssim %.10f, want %.10f %.10f",
               c[i].name, c[i].y_only, c[i].crop, ps, ss, c[i].psnr, c[i].ssim);
        CHECK(ps == ps8 && ss == ss8);
        free(a), free(b), free(qa), free(qb), free(q);
    }
}

static void test_identical_and_constant_images(void) {
    const int h = 19, w = 23;
    size_t n = (size_t)3 * h * w;
    float *a = malloc(n * sizeof(float));
    uint64_t st = 7;
    tu_fill_uniform(a, n, -0.1f, 1.1f, &st);
    sv_err e;
    double p, s;
    for (int y = 0; y < 2; y++) {
        CHECK(sv_metrics_f32(a, a, h, w, y, 3, &p, &s, &e) == 0);
        CHECKF(isinf(p) && p > 0, "identical images: PSNR %g", p);
        CHECKF(fabs(s - 1.0) < 1e-12, "identical images: SSIM %.15f", s);
    }
    // constant planes: no variance, so SSIM = (2 a b + C1) / (a^2 + b^2 + C1); PSNR from the one difference
    unsigned char *qa = malloc(n), *qb = malloc(n);
    memset(qa, 100, n), memset(qb, 130, n);
    CHECK(sv_metrics_u8(qa, qb, h, w, 0, 0, &p, &s, &e) == 0);
    const double c1 = 6.5025;
    CHECKF(fabs(p - 10 * log10(255.0 * 255.0 / 900.0)) < 1e-9, "constant PSNR %.12f", p);
    CHECKF(fabs(s - (2 * 100.0 * 130 + c1) / (100.0 * 100 + 130.0 * 130 + c1)) < 1e-9, "constant SSIM %.12f", s);
    // Y of gray g is 16 + 219 g / 255
    double ya = 16 + 219 * 100 / 255.0, yb = 16 + 219 * 130 / 255.0;
    CHECK(sv_metrics_u8(qa, qb, h, w, 1, 2, &p, &s, &e) == 0);
    CHECKF(fabs(p - 10 * log10(255.0 * 255.0 / ((ya - yb) * (ya - yb)))) < 1e-9, "constant Y PSNR %.12f", p);
    CHECKF(fabs(s - (2 * ya * yb + c1) / (ya * ya + yb * yb + c1)) < 1e-9, "constant Y SSIM %.12f", s);
    // too small for the window once cropped
    CHECK(sv_metrics_u8(qa, qb, h, w, 0, 5, &p, &s, &e) == -1);
    CHECKF(strstr(e.msg, "window") != NULL, "message: %s", e.msg);
    free(a), free(qa), free(qb);
}

// ---- eval ----

#define LH 20
#define LW 24
#define NF 4

static sv_model model;
static int model_ok;

static void load_model(void) {
    sv_err e;
    model_ok = sv_model_load(&model, tu_data("tiny/tiny_basicvsr.pth"), -1, &e) == 0;
    CHECKF(model_ok, "%s", e.msg);
}

// n LR frames of LH x LW with moving content, as uint8 RGB interleaved (what a PNG folder gives back)
static unsigned char *make_lr(int n, int seed) {
    unsigned char *f = malloc((size_t)n * LH * LW * 3);
    uint64_t st = (uint64_t)seed;
    for (int i = 0; i < n; i++)
        for (int y = 0; y < LH; y++)
            for (int x = 0; x < LW; x++)
                for (int c = 0; c < 3; c++) {
                    float r;
                    tu_fill_uniform(&r, 1, 0, 40, &st);
                    double v = 110 + 90 * sin(0.4 * (x + 2 * i) + 0.3 * y * (c + 1)) + r - 20;
                    f[(((size_t)i * LH + y) * LW + x) * 3 + c] = (unsigned char)(v < 0 ? 0 : v > 255 ? 255 : v);
                }
    return f;
}

// Writes n frames (interleaved RGB w x h) to a PNG folder or a video.
static int write_clip(const char *path, const unsigned char *rgb, int n, int h, int w) {
    sv_err e;
    sv_frame_writer *wr = sv_frames_create(path, w, h, 25, 1, &e);
    CHECKF(wr != NULL, "%s", wr ? "" : e.msg);
    if (!wr) return -1;
    for (int i = 0; i < n; i++) {
        char nm[32];
        snprintf(nm, sizeof nm, "f%03d.png", i);
        if (sv_frames_write(wr, rgb + (size_t)i * h * w * 3, nm, &e)) {
            CHECKF(0, "%s", e.msg);
            sv_frames_writer_abort(wr);
            return -1;
        }
    }
    CHECKF(sv_frames_writer_finish(wr, &e) == 0, "%s", e.msg);
    return 0;
}

typedef struct {
    float *out;  // n x [3, 4h, 4w]
} collect;

static int collect_fn(void *ud, int index, int y0, int rows, const float *chw, sv_err *e) {
    collect *c = ud;
    const size_t f = (size_t)3 * 16 * LH * LW;
    tu_band(c->out + (size_t)index * f, f, 4 * LW, y0, rows, chw);
    return 0;
}

static float get(const float *f, int h, int w, int c, int y, int x) { return f[((size_t)c * h + y) * w + x]; }

// The model's outputs for the whole clip in one runner pass (flip: the mean over the four flipped
// inputs, summed in the order identity, h, h+v, v), quantised and interleaved: the GT that makes eval
// report PSNR = inf.
static unsigned char *expected_out(const unsigned char *lr, int n, int flip) {
    const int h = LH, w = LW, H = 4 * LH, W = 4 * LW;
    const size_t fs = (size_t)3 * h * w, os = (size_t)3 * H * W;
    float *in = malloc(n * fs * sizeof(float)), *out = malloc(n * os * sizeof(float));
    float *sum = calloc(n * os, sizeof(float));
    const float **ptr = malloc(n * sizeof *ptr);
    sv_err e;
    sv_runner *r = sv_runner_create(&model, h, w, n, SV_EXEC_FAST, &e);
    CHECKF(r != NULL, "%s", r ? "" : e.msg);
    static const int fh[4] = {0, 1, 1, 0}, fv[4] = {0, 0, 1, 1};
    for (int v = 0; v < (flip ? 4 : 1); v++) {
        for (int i = 0; i < n; i++) {
            for (int c = 0; c < 3; c++)
                for (int y = 0; y < h; y++)
                    for (int x = 0; x < w; x++) {
                        int sy = fv[v] ? h - 1 - y : y, sx = fh[v] ? w - 1 - x : x;
                        in[i * fs + ((size_t)c * h + y) * w + x] = lr[(((size_t)i * h + sy) * w + sx) * 3 + c] * (1.0f / 255.0f);
                    }
            ptr[i] = in + i * fs;
        }
        collect col = {out};
        CHECKF(sv_runner_run(r, ptr, n, collect_fn, &col, &e) == 0, "%s", e.msg);
        for (int i = 0; i < n; i++)
            for (int c = 0; c < 3; c++)
                for (int y = 0; y < H; y++)
                    for (int x = 0; x < W; x++)
                        sum[i * os + ((size_t)c * H + y) * W + x] +=
                            get(out + i * os, H, W, c, fv[v] ? H - 1 - y : y, fh[v] ? W - 1 - x : x);
    }
    unsigned char *gt = malloc(n * os);
    for (int i = 0; i < n; i++)
        for (int c = 0; c < 3; c++)
            for (size_t p = 0; p < (size_t)H * W; p++) {
                float v = sum[i * os + c * H * W + p];
                if (flip) v *= 0.25f;
                gt[i * os + p * 3 + c] = sv_quantize_u8(v);
            }
    sv_runner_free(r);
    free(in), free(out), free(sum), free(ptr);
    return gt;
}

static void test_eval_exact_gt(void) {
    if (!model_ok) return;
    char lr[512], gt[512], gtf[512], lrv[512];
    const char *d = tu_tmpdir();
    snprintf(lr, sizeof lr, "%s/lr", d), snprintf(gt, sizeof gt, "%s/gt", d), snprintf(gtf, sizeof gtf, "%s/gtflip", d);
    snprintf(lrv, sizeof lrv, "%s/lr.mkv", d);
    unsigned char *lr_rgb = make_lr(NF, 1);
    unsigned char *g = expected_out(lr_rgb, NF, 0), *gf = expected_out(lr_rgb, NF, 1);
    if (write_clip(lr, lr_rgb, NF, LH, LW) || write_clip(gt, g, NF, 4 * LH, 4 * LW) ||
        write_clip(gtf, gf, NF, 4 * LH, 4 * LW) || write_clip(lrv, lr_rgb, NF, LH, LW))
        return;
    sv_eval_opts o;
    sv_eval_opts_default(&o);

    sv_eval_result r;
    sv_err e;
    // chunks of 2 with a lookahead that reaches the end are exact, so every frame matches
    o.chunk = 2, o.lookahead = 2;
    CHECKF(sv_eval_clip(&model, lr, gt, &o, &r, &e) == 0, "%s", e.msg);
    CHECKF(r.frames == NF && isinf(r.psnr) && fabs(r.ssim - 1) < 1e-12, "%d frames, %g dB, SSIM %.15f", r.frames,
           r.psnr, r.ssim);
    CHECK(!strcmp(r.name, "lr"));
    // the same frames from a lossless video
    CHECKF(sv_eval_clip(&model, lrv, gt, &o, &r, &e) == 0, "%s", e.msg);
    CHECKF(r.frames == NF && isinf(r.psnr), "video: %d frames, %g dB", r.frames, r.psnr);
    CHECK(!strcmp(r.name, "lr"));
    // flip: the mean of the four flipped runs, flipped back
    o.flip = 1;
    CHECKF(sv_eval_clip(&model, lr, gtf, &o, &r, &e) == 0, "%s", e.msg);
    CHECKF(r.frames == NF && isinf(r.psnr) && fabs(r.ssim - 1) < 1e-12, "flip: %d frames, %g dB, SSIM %.15f",
           r.frames, r.psnr, r.ssim);
    // first frames only (the backward branch then sees only those frames: different outputs, so measure
    // against a GT made from the first 2 frames)
    o.flip = 0, o.max_frames = 2, o.chunk = 0, o.lookahead = -1;
    unsigned char *g2 = expected_out(lr_rgb, 2, 0);
    char gt2[512];
    snprintf(gt2, sizeof gt2, "%s/gt2", d);
    write_clip(gt2, g2, 2, 4 * LH, 4 * LW);
    // a video's length is only known by decoding it all, so with max_frames only those frames are checked
    CHECKF(sv_eval_clip(&model, lrv, gt2, &o, &r, &e) == 0, "%s", e.msg);
    CHECKF(r.frames == 2 && isinf(r.psnr), "video, max_frames 2: %d frames, %g dB", r.frames, r.psnr);
    CHECKF(sv_eval_clip(&model, lr, gt2, &o, &r, &e) == -1, "a 2-frame GT for a 4-frame folder must fail");
    CHECKF(strstr(e.msg, gt2) != NULL, "message: %s", e.msg);
    o.max_frames = 2;
    // with max_frames, frame counts of folders must still agree: compare the first 2 of the full GT instead
    CHECKF(sv_eval_clip(&model, lr, gt, &o, &r, &e) == 0, "%s", e.msg);
    CHECKF(r.frames == 2 && isfinite(r.psnr), "max_frames: %d frames, %g dB", r.frames, r.psnr);
    // ...which is what the metrics say for those two frames against the 2-frame outputs
    double want_p = 0, want_s = 0;
    const size_t os = (size_t)48 * LH * LW;
    unsigned char *ca = malloc(os), *cb = malloc(os);
    for (int i = 0; i < 2; i++) {
        for (size_t p = 0; p < os / 3; p++)
            for (int c = 0; c < 3; c++) ca[c * os / 3 + p] = g2[i * os + p * 3 + c], cb[c * os / 3 + p] = g[i * os + p * 3 + c];
        double p, s;
        sv_metrics_u8(ca, cb, 4 * LH, 4 * LW, 0, 0, &p, &s, &e);
        want_p += p / 2, want_s += s / 2;
    }
    CHECKF(fabs(r.psnr - want_p) < 1e-9 && fabs(r.ssim - want_s) < 1e-12, "max_frames: %.9f %.9f, want %.9f %.9f",
           r.psnr, r.ssim, want_p, want_s);
    free(ca), free(cb), free(lr_rgb), free(g), free(gf), free(g2);
}

// Clip folders: per-clip results in name order, the mean over clips, and the errors.
static void test_eval_clip_folders(void) {
    if (!model_ok) return;
    const char *d = tu_tmpdir();
    char lr[512], gt[512], p[700];
    snprintf(lr, sizeof lr, "%s/LR", d), snprintf(gt, sizeof gt, "%s/GT", d);
    mkdir(lr, 0755), mkdir(gt, 0755);
    const int n[2] = {3, 4};
    const char *names[2] = {"clipB", "clipA"};
    const size_t os = (size_t)48 * LH * LW;
    double want_p[2], want_s[2];
    for (int k = 0; k < 2; k++) {
        unsigned char *l = make_lr(n[k], 10 + k), *g = expected_out(l, n[k], 0);
        snprintf(p, sizeof p, "%s/%s", lr, names[k]);
        write_clip(p, l, n[k], LH, LW);
        // perturb the GT: frame i gets +-(i+1+k) on every 7th value, so PSNRs differ per frame and clip
        unsigned char *gp = malloc(n[k] * os), *ca = malloc(os), *cb = malloc(os);
        memcpy(gp, g, n[k] * os);
        for (int i = 0; i < n[k]; i++)
            for (size_t q = 0; q < os; q += 7) {
                int v = gp[i * os + q] + ((q / 7) % 2 ? 1 : -1) * (i + 1 + k);
                gp[i * os + q] = (unsigned char)(v < 0 ? 0 : v > 255 ? 255 : v);
            }
        want_p[k] = want_s[k] = 0;
        for (int i = 0; i < n[k]; i++) {
            for (size_t q = 0; q < os / 3; q++)
                for (int c = 0; c < 3; c++) ca[c * os / 3 + q] = g[i * os + q * 3 + c], cb[c * os / 3 + q] = gp[i * os + q * 3 + c];
            double ps, ss;
            sv_err e;
            sv_metrics_u8(ca, cb, 4 * LH, 4 * LW, 1, 4, &ps, &ss, &e);
            want_p[k] += ps / n[k], want_s[k] += ss / n[k];
        }
        snprintf(p, sizeof p, "%s/%s", gt, names[k]);
        write_clip(p, gp, n[k], 4 * LH, 4 * LW);
        free(l), free(g), free(gp), free(ca), free(cb);
    }
    snprintf(p, sizeof p, "%s/extra", gt);  // an extra GT clip is ignored
    mkdir(p, 0755);
    snprintf(p, sizeof p, "%s/notes.txt", lr);  // so is a file that is neither frames nor video
    FILE *f = fopen(p, "w");
    if (f) fputs("x", f), fclose(f);
    sv_eval_opts o;
    sv_eval_opts_default(&o);
    o.y_only = 1, o.crop_border = 4;
    sv_eval_result *res = NULL, mean;
    int nc = 0;
    sv_err e;
    CHECKF(sv_eval_dirs(&model, lr, gt, &o, &res, &nc, &mean, &e) == 0, "%s", e.msg);
    CHECKF(nc == 2, "%d clips", nc);
    if (nc == 2) {
        CHECK(!strcmp(res[0].name, "clipA") && !strcmp(res[1].name, "clipB"));
        CHECK(res[0].frames == 4 && res[1].frames == 3 && mean.frames == 7);
        CHECKF(fabs(res[0].psnr - want_p[1]) < 1e-9 && fabs(res[1].psnr - want_p[0]) < 1e-9, "psnr %.9f %.9f, want %.9f %.9f",
               res[0].psnr, res[1].psnr, want_p[1], want_p[0]);
        CHECK(fabs(res[0].ssim - want_s[1]) < 1e-12 && fabs(res[1].ssim - want_s[0]) < 1e-12);
        CHECKF(fabs(mean.psnr - (want_p[0] + want_p[1]) / 2) < 1e-9, "mean %.9f", mean.psnr);
        CHECK(fabs(mean.ssim - (want_s[0] + want_s[1]) / 2) < 1e-12);
        CHECK(!strcmp(mean.name, "mean"));
    }
    free(res);
    // one clip given directly to sv_eval_dirs
    char l1[600], g1[600];
    snprintf(l1, sizeof l1, "%s/clipA/", lr), snprintf(g1, sizeof g1, "%s/clipA", gt);
    CHECKF(sv_eval_dirs(&model, l1, g1, &o, &res, &nc, &mean, &e) == 0, "%s", e.msg);
    CHECK(nc == 1 && !strcmp(res[0].name, "clipA") && fabs(mean.psnr - want_p[1]) < 1e-9);
    free(res);

    // errors: the message names the file or clip at fault, nothing is returned
    snprintf(p, sizeof p, "%s/clipC", lr);  // an LR clip without GT
    unsigned char *l = make_lr(2, 3);
    write_clip(p, l, 2, LH, LW);
    res = (sv_eval_result *)1;
    CHECK(sv_eval_dirs(&model, lr, gt, &o, &res, &nc, &mean, &e) == -1);
    CHECKF(strstr(e.msg, "clipC") != NULL, "message: %s", e.msg);
    CHECK(res == NULL && nc == 0);
    // GT of the wrong size
    unsigned char *big = calloc(2, (size_t)3 * 4 * LH * 4 * (LW + 1));
    snprintf(p, sizeof p, "%s/clipC", gt);
    write_clip(p, big, 2, 4 * LH, 4 * (LW + 1));
    CHECK(sv_eval_dirs(&model, lr, gt, &o, &res, &nc, &mean, &e) == -1);
    CHECKF(strstr(e.msg, "clipC") && strstr(e.msg, "expected 96x80"), "message: %s", e.msg);
    // missing folders
    CHECK(sv_eval_dirs(&model, "/nonexistent/lr", gt, &o, &res, &nc, &mean, &e) == -1);
    CHECKF(strstr(e.msg, "/nonexistent/lr") != NULL, "message: %s", e.msg);
    CHECK(sv_eval_dirs(&model, lr, "/nonexistent/gt", &o, &res, &nc, &mean, &e) == -1);
    CHECKF(strstr(e.msg, "/nonexistent/gt") != NULL, "message: %s", e.msg);
    // an empty folder
    snprintf(p, sizeof p, "%s/empty", d);
    mkdir(p, 0755);
    CHECK(sv_eval_dirs(&model, p, gt, &o, &res, &nc, &mean, &e) == -1);
    CHECKF(strstr(e.msg, "empty") != NULL, "message: %s", e.msg);
    free(l), free(big);
}

int main(void) {
    run_test("quantize_rounds_half_to_even", test_quantize_rounds_half_to_even);
    run_test("metrics_match_numpy", test_metrics_match_numpy);
    run_test("identical_and_constant_images", test_identical_and_constant_images);
    load_model();
    run_test("eval_exact_gt", test_eval_exact_gt);
    run_test("eval_clip_folders", test_eval_clip_folders);
    if (model_ok) sv_model_free(&model);
    return test_summary();
}
