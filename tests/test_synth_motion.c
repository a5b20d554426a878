// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// test_synth_motion.c: synthetic sequences with exact flow (train/synth_motion.h), on smooth random photos
// made here (sums of sinusoids, 8-bit), so no files are needed.
//   1. warping supp with the true flow (ops' flow_warp_forward, as the propagation warps) reproduces ref on
//      valid pixels within interpolation error, both directions of every pair; the flow shifted by 0.1 px
//      and the zero flow are clearly worse on the same pixels; most pixels are valid.
//   2. the same seed gives bit-identical frames, flows and masks (and leaves the rng in the same state);
//      another seed gives another sequence.
//   3. the flow magnitudes over many sequences follow docs/synthetic-motion.md: about 35% under 1 px,
//      a tail above 4 px, nothing beyond motion_max.
//   4. occlusion: with one foreground layer over a background, each a flat colour, the layer every pixel
//      shows is read off its colour; a pixel whose match leaves the frame, or lands on (or next to) a pixel
//      of another layer or a mixed edge pixel, is never valid; the others are valid.
//   5. bad parameters, photos and buffers give errors that name the problem.
//   6. anti-aliasing: a photo that is a 1-pixel checkerboard (all its energy at the Nyquist frequency), much
//      larger than the frames, renders as flat grey: the area pre-filter removed what the frames cannot hold.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ops/ops.h"
#include "testutil.h"
#include "train/rng.h"
#include "train/synth_motion.h"

#define PI 3.14159265358979323846




// A smooth random photo: per channel 128 + five sinusoids of periods 20..60 pixels, amplitudes summing to 110.
static unsigned char *smooth_photo(int w, int h, uint64_t seed) {
    sv_rng r;
    sv_rng_seed(&r, seed);
    double fx[3][5], fy[3][5], ph[3][5];
    for (int c = 0; c < 3; c++)
        for (int k = 0; k < 5; k++) {
            const double period = 20 + (double)sv_rng_below(&r, 4000) / 100, ang = (double)sv_rng_below(&r, 6283) / 1000;
            fx[c][k] = 2 * PI * cos(ang) / period, fy[c][k] = 2 * PI * sin(ang) / period;
            ph[c][k] = (double)sv_rng_below(&r, 6283) / 1000;
        }
    unsigned char *rgb = malloc((size_t)w * h * 3);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            for (int c = 0; c < 3; c++) {
                double v = 128;
                for (int k = 0; k < 5; k++) v += 22 * sin(fx[c][k] * x + fy[c][k] * y + ph[c][k]);
                rgb[((size_t)y * w + x) * 3 + c] = (unsigned char)lround(v);
            }
    return rgb;
}

#define NPHOTO 4
typedef struct {
    unsigned char *px[NPHOTO];
    sv_synth_image img[NPHOTO];
} photos;

static void photos_make(photos *ph, int w, int h) {
    for (int i = 0; i < NPHOTO; i++) {
        ph->px[i] = smooth_photo(w + 37 * i, h + 11 * i, 100 + i);
        ph->img[i] = (sv_synth_image){ph->px[i], w + 37 * i, h + 11 * i};
    }
}

static void photos_free(photos *ph) {
    for (int i = 0; i < NPHOTO; i++) free(ph->px[i]);
}

// ---- 1. the flow warps supp onto ref ----

// Mean |ref - warp(supp, flow + (shift, 0))| over the valid pixels (all channels) is added to *err, the same
// for the zero flow to *err0; returns the number of valid pixels.
static long warp_error(const float *ref, const float *supp, const float *flow, const float *valid, int h, int w,
                       float shift, double *err, double *err0) {
    const size_t hw = (size_t)h * w;
    float *out = malloc(sizeof(float) * 3 * hw), *fl = malloc(sizeof(float) * 2 * hw);
    memcpy(fl, flow, sizeof(float) * 2 * hw);
    for (size_t i = 0; i < hw; i++) fl[i] += shift;
    flow_warp_forward(out, supp, fl, 3, h, w, SV_PAD_ZEROS, 1);
    long n = 0;
    for (size_t i = 0; i < hw; i++) {
        if (valid[i] == 0) continue;
        n++;
        for (int c = 0; c < 3; c++) {
            *err += fabs(ref[c * hw + i] - out[c * hw + i]);
            *err0 += fabs(ref[c * hw + i] - supp[c * hw + i]);
        }
    }
    free(out);
    free(fl);
    return n;
}

typedef struct {
    double mae, worst, shifted, zero, valid;  // mean abs errors: true flow, its worst pair, flow + 0.1 px, zero flow
} warp_stats;

// Warp errors over n sequences of p from photos of w x h, both directions of every pair.
static warp_stats warp_run(const sv_synth_params *p, int w, int h, int n) {
    photos ph;
    photos_make(&ph, w, h);
    sv_synth_seq s;
    sv_err e = {{0}};
    CHECKF(sv_synth_seq_alloc(&s, p->T, p->H, p->W, &e) == 0, "%s", e.msg);
    sv_rng r;
    sv_rng_seed(&r, 1234);
    const size_t hw = (size_t)p->H * p->W;
    double sum = 0, sum0 = 0, shifted = 0, unused = 0;
    warp_stats st = {0};
    long valid = 0, total = 0;
    for (int k = 0; k < n; k++) {
        CHECKF(sv_synth_render(p, ph.img, NPHOTO, &r, &s, &e) == 0, "%s", e.msg);
        for (int i = 0; i + 1 < p->T; i++)
            for (int dir = 0; dir < 2; dir++) {
                const float *xi = s.frames + (size_t)i * 3 * hw, *xn = xi + 3 * hw;
                const float *ref = dir ? xn : xi, *supp = dir ? xi : xn;
                const float *flow = (dir ? s.flow_f : s.flow_b) + (size_t)i * 2 * hw;
                const float *v = (dir ? s.valid_f : s.valid_b) + (size_t)i * hw;
                double err = 0;
                const long m = warp_error(ref, supp, flow, v, p->H, p->W, 0.0f, &err, &sum0);
                warp_error(ref, supp, flow, v, p->H, p->W, 0.1f, &shifted, &unused);
                sum += err, valid += m, total += (long)hw;
                if (m > 0) st.worst = fmax(st.worst, err / (3.0 * m));
            }
    }
    st.mae = sum / (3.0 * valid), st.zero = sum0 / (3.0 * valid), st.shifted = shifted / (3.0 * valid);
    st.valid = (double)valid / total;
    printf("  %dx%d photos: mean abs error %.5f (worst pair %.5f), flow + 0.1 px %.5f, zero flow %.5f; %.1f%% of "
           "pixels valid\n", w, h, st.mae, st.worst, st.shifted, st.zero, 100 * st.valid);
    sv_synth_seq_free(&s);
    photos_free(&ph);
    return st;
}

// Measured (12 sequences of 7 x 64 x 80, photos of about 300 x 220): mean abs error 0.0013 with these photos
// (sinusoids of periods 20..60 pixels). It is interpolation error (bilinear rendering, then bilinear
// warping): 0.0030, 0.0013, 0.00045, 0.00019 for shortest periods 10, 20, 40, 80; shifting the flow by
// 0.05 px either way raises it by 60% in x and in y (the flow is unbiased to well under 0.05 px). The zero
// flow's error is 40 times larger. Photos of 48 x 40 are smaller than the frames: their textures are
// upsampled (bilinear), smoother, and the error lower.
static void test_warp_reproduces(void) {
    sv_synth_params p;
    sv_synth_params_default(&p, 7, 64, 80);
    const int sizes[2][2] = {{300, 220}, {48, 40}};
    for (int k = 0; k < 2; k++) {
        const warp_stats st = warp_run(&p, sizes[k][0], sizes[k][1], 12);
        CHECKF(st.mae < 0.002, "mean abs error %g on valid pixels", st.mae);
        CHECKF(st.worst < 0.008, "worst pair's mean abs error %g", st.worst);
        CHECKF(st.shifted > 1.5 * st.mae, "a flow 0.1 px off gives %g, not clearly above the true flow's %g",
               st.shifted, st.mae);
        CHECKF(st.zero > 10 * st.mae, "zero flow error %g is not far above the true flow's %g", st.zero, st.mae);
        CHECKF(st.valid > 0.6, "only %.1f%% of pixels valid", 100 * st.valid);
    }
}

// ---- 2. determinism ----

static int seq_equal(const sv_synth_seq *a, const sv_synth_seq *b) {
    const size_t hw = (size_t)a->H * a->W, np = (size_t)a->T - 1;
    return !memcmp(a->frames, b->frames, sizeof(float) * a->T * 3 * hw) &&
           !memcmp(a->flow_b, b->flow_b, sizeof(float) * np * 2 * hw) &&
           !memcmp(a->flow_f, b->flow_f, sizeof(float) * np * 2 * hw) &&
           !memcmp(a->valid_b, b->valid_b, sizeof(float) * np * hw) &&
           !memcmp(a->valid_f, b->valid_f, sizeof(float) * np * hw) && a->layers == b->layers;
}

static void test_deterministic(void) {
    photos ph;
    photos_make(&ph, 200, 150);
    sv_synth_params p;
    sv_synth_params_default(&p, 5, 40, 56);
    sv_synth_seq a, b;
    sv_err e = {{0}};
    CHECKF(sv_synth_seq_alloc(&a, p.T, p.H, p.W, &e) == 0 && sv_synth_seq_alloc(&b, p.T, p.H, p.W, &e) == 0, "%s",
           e.msg);
    sv_rng ra, rb;
    sv_rng_seed(&ra, 77);
    sv_rng_seed(&rb, 77);
    for (int n = 0; n < 3; n++) {  // consecutive sequences of one stream
        CHECKF(sv_synth_render(&p, ph.img, NPHOTO, &ra, &a, &e) == 0, "%s", e.msg);
        CHECKF(sv_synth_render(&p, ph.img, NPHOTO, &rb, &b, &e) == 0, "%s", e.msg);
        CHECKF(seq_equal(&a, &b), "sequence %d differs between two renders of the same seed", n);
        CHECK(!memcmp(&ra, &rb, sizeof ra));
    }
    // skipping a sequence (another rank's) leaves the stream where rendering it does: the next one is the same
    sv_rng_seed(&ra, 77);
    sv_rng_seed(&rb, 77);
    CHECKF(sv_synth_render(&p, ph.img, NPHOTO, &ra, &a, &e) == 0 && sv_synth_skip(&p, ph.img, NPHOTO, &rb, &e) == 0,
           "%s", e.msg);
    CHECK(!memcmp(&ra, &rb, sizeof ra));
    CHECKF(sv_synth_render(&p, ph.img, NPHOTO, &ra, &a, &e) == 0 && sv_synth_render(&p, ph.img, NPHOTO, &rb, &b, &e) == 0,
           "%s", e.msg);
    CHECKF(seq_equal(&a, &b), "the sequence after a skipped one differs from the one after a rendered one");
    sv_rng_seed(&rb, 78);
    CHECKF(sv_synth_render(&p, ph.img, NPHOTO, &rb, &b, &e) == 0, "%s", e.msg);
    CHECK(memcmp(a.frames, b.frames, sizeof(float) * 3 * p.H * p.W) != 0);
    CHECK(memcmp(a.flow_b, b.flow_b, sizeof(float) * 2 * p.H * p.W) != 0);
    sv_synth_seq_free(&a);
    sv_synth_seq_free(&b);
    photos_free(&ph);
}

// ---- 3. the motion distribution ----

static void test_distribution(void) {
    photos ph;
    photos_make(&ph, 160, 120);
    sv_synth_params p;
    sv_synth_params_default(&p, 3, 48, 64);
    p.static_share = 0.2;
    sv_synth_seq s;
    sv_err e = {{0}};
    CHECKF(sv_synth_seq_alloc(&s, p.T, p.H, p.W, &e) == 0, "%s", e.msg);
    sv_rng r;
    sv_rng_seed(&r, 5);
    const size_t hw = (size_t)p.H * p.W;
    long n = 0, still = 0, under1 = 0, over4 = 0, over6 = 0;
    double mx = 0, sum = 0;
    for (int k = 0; k < 300; k++) {
        CHECKF(sv_synth_render(&p, ph.img, NPHOTO, &r, &s, &e) == 0, "%s", e.msg);
        for (size_t i = 0; i < (size_t)(p.T - 1) * hw; i++) {
            const size_t pair = i / hw, j = i % hw;
            const float *f = s.flow_b + pair * 2 * hw;
            const double m = hypot(f[j], f[hw + j]);
            n++, sum += m, mx = fmax(mx, m);
            still += m < 1e-4, under1 += m < 1, over4 += m > 4, over6 += m > 6;
        }
    }
    const double f0 = (double)still / n, f1 = (double)under1 / n, f4 = (double)over4 / n, f6 = (double)over6 / n;
    printf("  flow magnitude over %ld pixels: mean %.2f px, max %.2f px; still %.1f%%, < 1 px %.1f%%, > 4 px %.1f%%, "
           "> 6 px %.1f%%\n", n, sum / n, mx, 100 * f0, 100 * f1, 100 * f4, 100 * f6);
    // a still layer with probability 0.2, else sqrt(1/8) of speeds under 1 px, sqrt(1/2) over 4 px
    CHECKF(f0 > 0.1 && f0 < 0.3, "%.1f%% of flows exactly still (static_share 0.2)", 100 * f0);
    CHECKF(f1 > 0.38 && f1 < 0.58, "%.1f%% of flows under 1 px (documented: 48%%)", 100 * f1);
    CHECKF(f4 > 0.12 && f4 < 0.35, "%.1f%% of flows over 4 px (documented: 23%%)", 100 * f4);
    CHECKF(f6 > 0.03, "%.1f%% of flows over 6 px", 100 * f6);
    CHECKF(mx <= 1.01 * p.motion_max && mx > 0.9 * p.motion_max, "largest flow %.3f px (motion_max %g)", mx,
           p.motion_max);
    sv_synth_seq_free(&s);
    photos_free(&ph);
}

// ---- 4. occlusion ----

// The layer a pixel shows, read off flat colours: 0 pure red, 1 pure blue, -1 a mix.
static int colour_layer(const float *fr, size_t hw, size_t i) {
    const float R = fr[i], B = fr[2 * hw + i];
    if (R > 1 - 1e-4f && B < 1e-4f) return 0;
    if (B > 1 - 1e-4f && R < 1e-4f) return 1;
    return -1;
}

// Counts, for the pair (ref, supp): pixels expected occluded or leaving the frame that are valid (must be
// none), visible pixels that are invalid, and occluded pixels seen.
static void check_mask(const float *ref, const float *supp, const float *flow, const float *valid, int h, int w,
                       long *bad_valid, long *bad_invalid, long *occluded) {
    const size_t hw = (size_t)h * w;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            const size_t i = (size_t)y * w + x;
            const double qx = x + flow[i], qy = y + flow[hw + i];
            const int l = colour_layer(ref, hw, i);
            int vis = l >= 0 && qx >= 0 && qx <= w - 1 && qy >= 0 && qy <= h - 1, occ = 0;
            if (vis) {
                const int x0 = (int)qx, y0 = (int)qy, x1 = x0 + 1 < w ? x0 + 1 : x0, y1 = y0 + 1 < h ? y0 + 1 : y0;
                const int xs[4] = {x0, x1, x0, x1}, ys[4] = {y0, y0, y1, y1};
                for (int t = 0; t < 4; t++) occ |= colour_layer(supp, hw, (size_t)ys[t] * w + xs[t]) != l;
            }
            *occluded += vis && occ;
            vis = vis && !occ;
            *bad_valid += !vis && valid[i] != 0;
            *bad_invalid += vis && valid[i] == 0;
        }
}

static void test_occlusion_mask(void) {
    const int pw = 120, phh = 90;
    unsigned char *red = malloc((size_t)pw * phh * 3), *blue = malloc((size_t)pw * phh * 3);
    for (int i = 0; i < pw * phh; i++) {
        red[3 * i] = 255, red[3 * i + 1] = 0, red[3 * i + 2] = 0;
        blue[3 * i] = 0, blue[3 * i + 1] = 0, blue[3 * i + 2] = 255;
    }
    const sv_synth_image img[2] = {{red, pw, phh}, {blue, pw, phh}};
    sv_synth_params p;
    sv_synth_params_default(&p, 4, 40, 48);
    p.layers_min = p.layers_max = 1;
    p.size_min = 0.25;
    p.static_share = 0.2;  // still layers: their flow must be exactly 0 for the integer taps to match
    sv_synth_seq s;
    sv_err e = {{0}};
    CHECKF(sv_synth_seq_alloc(&s, p.T, p.H, p.W, &e) == 0, "%s", e.msg);
    sv_rng r;
    sv_rng_seed(&r, 9);
    const size_t hw = (size_t)p.H * p.W;
    long bad_valid = 0, bad_invalid = 0, occluded = 0, pixels = 0;
    for (int n = 0; n < 40; n++) {
        CHECKF(sv_synth_render(&p, img, 2, &r, &s, &e) == 0, "%s", e.msg);
        for (int i = 0; i + 1 < p.T; i++)
            for (int dir = 0; dir < 2; dir++) {
                const float *xi = s.frames + (size_t)i * 3 * hw, *xn = xi + 3 * hw;
                check_mask(dir ? xn : xi, dir ? xi : xn, (dir ? s.flow_f : s.flow_b) + (size_t)i * 2 * hw,
                           (dir ? s.valid_f : s.valid_b) + (size_t)i * hw, p.H, p.W, &bad_valid, &bad_invalid,
                           &occluded);
                pixels += (long)hw;
            }
    }
    printf("  occlusion: %ld of %ld pixels occluded; marked valid though occluded, mixed or leaving the frame: %ld; "
           "visible but invalid: %ld\n", occluded, pixels, bad_valid, bad_invalid);
    CHECKF(occluded > pixels / 200, "only %ld occluded pixels: the test sees too little occlusion", occluded);
    CHECKF(bad_valid == 0, "%ld occluded or out-of-frame pixels marked valid", bad_valid);
    CHECKF(bad_invalid <= pixels / 1000, "%ld visible pixels marked invalid", bad_invalid);
    sv_synth_seq_free(&s);
    free(red);
    free(blue);
}

// ---- 5. errors ----

static int has(const char *msg, const char *part) { return strstr(msg, part) != NULL; }

// Renders with p (into a 4 x 32 x 32 sequence) and expects an error containing part.
static void expect_error(const sv_synth_params *p, const sv_synth_image *img, int nsrc, const char *part) {
    sv_synth_seq s;
    sv_err e = {{0}};
    CHECKF(sv_synth_seq_alloc(&s, 4, 32, 32, &e) == 0, "%s", e.msg);
    sv_rng r;
    sv_rng_seed(&r, 1);
    CHECKF(sv_synth_render(p, img, nsrc, &r, &s, &e) == -1, "expected an error about '%s'", part);
    CHECKF(has(e.msg, part), "message '%s' does not say '%s'", e.msg, part);
    sv_synth_seq_free(&s);
}

static void test_errors(void) {
    unsigned char *px = smooth_photo(64, 64, 1);
    const sv_synth_image ok = {px, 64, 64}, tiny = {px, 4, 64}, missing = {NULL, 64, 64};
    sv_synth_params d, p;
    sv_synth_params_default(&d, 4, 32, 32);
    p = d, p.T = 1;
    expect_error(&p, &ok, 1, "T = 1 frames");
    p = d, p.W = 4;
    expect_error(&p, &ok, 1, "frame size 4 x 32");
    p = d, p.layers_min = 5, p.layers_max = 3;
    expect_error(&p, &ok, 1, "layers 5..3");
    p = d, p.layers_max = 17;
    expect_error(&p, &ok, 1, "layers 2..17 (need 0 <= min <= max <= 16)");
    p = d, p.motion_max = NAN;
    expect_error(&p, &ok, 1, "motion_max nan");
    p = d, p.motion_max = 100;
    expect_error(&p, &ok, 1, "motion_max 100 (0..64");
    p = d, p.size_min = 0.5, p.size_max = 0.2;
    expect_error(&p, &ok, 1, "shape size 0.5..0.2");
    p = d, p.edge_min = -1;
    expect_error(&p, &ok, 1, "edge width -1..2");
    expect_error(&d, &ok, 0, "no source images");
    const sv_synth_image two[2] = {ok, tiny};
    expect_error(&d, two, 2, "source image 1 is 4 x 64");
    expect_error(&d, &missing, 1, "source image 0 is missing");
    p = d, p.H = 48;  // the sequence was allocated for 32 x 32
    expect_error(&p, &ok, 1, "the output sequence is 4 frames of 32 x 32, the parameters ask for 4 of 32 x 48");
    sv_synth_seq s;
    sv_err e = {{0}};
    CHECKF(sv_synth_seq_alloc(&s, 4, 32, 32, &e) == 0, "%s", e.msg);
    CHECK(sv_synth_render(&d, &ok, 1, NULL, &s, &e) == -1 && has(e.msg, "no random state"));
    sv_synth_seq_free(&s);
    CHECK(sv_synth_seq_alloc(&s, 0, 32, 32, &e) == -1 && has(e.msg, "T = 0 frames"));
    sv_synth_seq_free(NULL);
    free(px);
}

// ---- 6. pre-filtering ----

// 2000 x 2000 photo, 32 x 32 frames: every texture is at least 3.5 photo pixels per texel (kmax / 8 with
// kmax >= 28), where a k x k area average of the checkerboard is within 0.5 / k^2 <= 0.041 of grey.
// Bilinear sampling of the photo itself would give values anywhere in [0, 1].
static void test_prefilter(void) {
    const int n = 2000;
    unsigned char *px = malloc((size_t)n * n * 3);
    for (int y = 0; y < n; y++)
        for (int x = 0; x < n; x++) memset(px + ((size_t)y * n + x) * 3, (x + y) % 2 ? 255 : 0, 3);
    const sv_synth_image img = {px, n, n};
    sv_synth_params p;
    sv_synth_params_default(&p, 3, 32, 32);
    sv_synth_seq s;
    sv_err e = {{0}};
    CHECKF(sv_synth_seq_alloc(&s, p.T, p.H, p.W, &e) == 0, "%s", e.msg);
    sv_rng r;
    sv_rng_seed(&r, 3);
    double worst = 0;
    for (int k = 0; k < 4; k++) {
        CHECKF(sv_synth_render(&p, &img, 1, &r, &s, &e) == 0, "%s", e.msg);
        for (size_t i = 0; i < (size_t)p.T * 3 * p.H * p.W; i++) worst = fmax(worst, fabs(s.frames[i] - 0.5));
    }
    printf("  1-pixel checkerboard photo: frames within %.4f of grey\n", worst);
    CHECKF(worst < 0.045, "a frame pixel is %.4f away from grey: the checkerboard aliased", worst);
    sv_synth_seq_free(&s);
    free(px);
}

int main(void) {
    run_test("synthetic motion: the true flow warps supp onto ref", test_warp_reproduces);
    run_test("synthetic motion: deterministic for a seed", test_deterministic);
    run_test("synthetic motion: flow magnitude distribution", test_distribution);
    run_test("synthetic motion: occluded pixels are invalid", test_occlusion_mask);
    run_test("synthetic motion: errors", test_errors);
    run_test("synthetic motion: photos are area-averaged before sampling", test_prefilter);
    return test_summary();
}
