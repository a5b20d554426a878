// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// test_data.c: the training data pipeline. Degradations (train/degrade.h) against numpy vectors made
// independently by tests/data/degrade/make_vectors.py; datasets (train/dataset.h) over small clips this
// test writes itself: every GT patch is found back in the frames (position, flips/transpose, frame
// order), every LR patch is checked against the degradation of the whole frame, then repeatability,
// state save/restore, memory cap, paired GT/LR, video files and the error messages.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "io/frames.h"
#include "io/png_io.h"
#include "train/dataset.h"
#include "train/degrade.h"
#include "train/rng.h"
#include "testutil.h"

// ---- helpers ----


static void mkdirs(const char *path) {
    char p[1024];
    snprintf(p, sizeof p, "%s", path);
    for (char *s = p + 1; *s; s++)
        if (*s == '/') {
            *s = 0;
            mkdir(p, 0755);
            *s = '/';
        }
    mkdir(p, 0755);
}

static int has(const char *msg, const char *part) { return strstr(msg, part) != NULL; }

static void write_png(const char *path, const unsigned char *rgb, int w, int h) {
    sv_err e = {{0}};
    FILE *f = fopen(path, "wb");
    CHECKF(f, "cannot create %s", path);
    if (!f) return;
    CHECKF(sv_png_write_rgb(f, path, rgb, w, h, &e) == 0, "%s", e.msg);
    fclose(f);
}

static void write_text(const char *path, const char *text) {
    FILE *f = fopen(path, "wb");
    CHECK(f);
    if (!f) return;
    fputs(text, f);
    fclose(f);
}

// ---- a registry of the frames a test wrote, to find samples back in ----

#define MAX_FRAMES 256

typedef struct {
    unsigned char *rgb;  // w x h x 3 as written
    int w, h;
    int clip, idx;       // test's own clip id and frame index in it
    float *gt;           // rgb / 255
    float *lr;           // reference LR of the kept (multiple-of-4) part, or the paired LR frame
    int lw, lh;
} tframe;

static tframe frames[MAX_FRAMES];
static int n_frames;

static void frames_reset(void) {
    for (int i = 0; i < n_frames; i++) free(frames[i].rgb), free(frames[i].gt), free(frames[i].lr);
    memset(frames, 0, sizeof frames);
    n_frames = 0;
}

static unsigned char *random_rgb(int w, int h, uint64_t *st) {
    unsigned char *p = malloc((size_t)w * h * 3);
    sv_rng r;
    sv_rng_seed(&r, (*st)++);
    for (size_t i = 0; i < (size_t)w * h * 3; i++) p[i] = (unsigned char)(sv_rng_next(&r) >> 56);
    return p;
}

// LR reference of a frame: its top-left multiple-of-4 part through sv_degrade_u8 (checked against numpy
// in u8_vectors), as float interleaved like the frame.
static float *reference_lr(const unsigned char *rgb, int w, int h, int deg, int *lw, int *lh) {
    int gw = w & ~3, gh = h & ~3;
    *lw = gw / 4, *lh = gh / 4;
    size_t pl = (size_t)gw * gh, lpl = (size_t)*lw * *lh;
    unsigned char *in = malloc(3 * pl), *out = malloc(3 * lpl);
    for (int c = 0; c < 3; c++)
        for (int y = 0; y < gh; y++)
            for (int x = 0; x < gw; x++) in[c * pl + (size_t)y * gw + x] = rgb[((size_t)y * w + x) * 3 + c];
    sv_err e = {{0}};
    CHECKF(sv_degrade_u8(deg, out, in, 3, gh, gw, &e) == 0, "%s", e.msg);
    float *lr = malloc(sizeof(float) * 3 * lpl);
    for (int c = 0; c < 3; c++)
        for (size_t i = 0; i < lpl; i++) lr[i * 3 + c] = out[c * lpl + i] / 255.0f;
    free(in), free(out);
    return lr;
}

static float *to_float(const unsigned char *rgb, size_t n) {
    float *f = malloc(sizeof(float) * n);
    for (size_t i = 0; i < n; i++) f[i] = rgb[i] / 255.0f;
    return f;
}

// Registers a new random frame (with its reference LR for degradation deg).
static tframe *new_frame(int clip, int idx, int w, int h, int deg, uint64_t *st) {
    CHECK(n_frames < MAX_FRAMES);
    tframe *f = &frames[n_frames++];
    f->rgb = random_rgb(w, h, st);
    f->gt = to_float(f->rgb, (size_t)w * h * 3);
    f->w = w, f->h = h, f->clip = clip, f->idx = idx;
    f->lr = reference_lr(f->rgb, w, h, deg, &f->lw, &f->lh);
    return f;
}

// Writes a clip of n random frames into dir (named PREFIX + the index from `from`, zero-padded to
// `digits`, + ".png": "im1.png" or "00000000.png") and registers them under clip id `clip`.
static void make_clip(const char *dir, int clip, int n, int w, int h, const char *prefix, int digits, int from,
                      int deg, uint64_t *st) {
    mkdirs(dir);
    for (int i = 0; i < n; i++) {
        tframe *f = new_frame(clip, i, w, h, deg, st);
        char name[64];
        snprintf(name, sizeof name, "%s%0*d.png", prefix, digits, i + from);
        write_png(tu_join(dir, name), f->rgb, w, h);
    }
}

static tframe *frame_of(int clip, int idx) {
    for (int i = 0; i < n_frames; i++)
        if (frames[i].clip == clip && frames[i].idx == idx) return &frames[i];
    return NULL;
}

// crop (side s, 3 channels) of an interleaved float frame, as CHW, then BasicSR's augmentation steps one
// after another on whole arrays: horizontal flip, vertical flip, transpose.
static void crop_aug(float *out, const float *rgb, int w, int y0, int x0, int s, unsigned aug) {
    size_t pl = (size_t)s * s;
    float *a = malloc(sizeof(float) * 3 * pl), *b = malloc(sizeof(float) * 3 * pl);
    for (int c = 0; c < 3; c++)
        for (int y = 0; y < s; y++)
            for (int x = 0; x < s; x++) a[c * pl + y * s + x] = rgb[((size_t)(y0 + y) * w + x0 + x) * 3 + c];
    if (aug & SV_AUG_HFLIP) {
        for (int c = 0; c < 3; c++)
            for (int y = 0; y < s; y++)
                for (int x = 0; x < s; x++) b[c * pl + y * s + x] = a[c * pl + y * s + (s - 1 - x)];
        memcpy(a, b, sizeof(float) * 3 * pl);
    }
    if (aug & SV_AUG_VFLIP) {
        for (int c = 0; c < 3; c++)
            for (int y = 0; y < s; y++) memcpy(b + c * pl + y * s, a + c * pl + (s - 1 - y) * s, sizeof(float) * s);
        memcpy(a, b, sizeof(float) * 3 * pl);
    }
    if (aug & SV_AUG_TRANSPOSE) {
        for (int c = 0; c < 3; c++)
            for (int y = 0; y < s; y++)
                for (int x = 0; x < s; x++) b[c * pl + y * s + x] = a[c * pl + x * s + y];
        memcpy(a, b, sizeof(float) * 3 * pl);
    }
    memcpy(out, a, sizeof(float) * 3 * pl);
    free(a), free(b);
}

static int within(const float *a, const float *b, size_t n, float tol) {
    for (size_t i = 0; i < n; i++)
        if (a[i] - b[i] > tol || b[i] - a[i] > tol) return 0;
    return 1;
}

static int same(const float *a, const float *b, size_t n) { return within(a, b, n, 1e-6f); }

// Searches every registered frame, every 4-aligned position and all 8 augmentations for a GT patch.
// Returns the number of matches (1 expected: frames are random); fills the first.
static int locate(const float *gtp, int gp, tframe **ff, int *gy, int *gx, unsigned *aug) {
    float *buf = malloc(sizeof(float) * 3 * gp * gp);
    int found = 0;
    for (int i = 0; i < n_frames; i++) {
        tframe *f = &frames[i];
        for (int y = 0; y + gp <= (f->h & ~3); y += 4)
            for (int x = 0; x + gp <= (f->w & ~3); x += 4) {
                // quick reject: patch(0,0) is one of the crop's four corners under any augmentation
                float v = gtp[0] * 255.0f;
                int corner = 0;
                for (int cy = 0; cy < 2; cy++)
                    for (int cx = 0; cx < 2; cx++) {
                        float u = f->rgb[((size_t)(y + cy * (gp - 1)) * f->w + x + cx * (gp - 1)) * 3];
                        if (u - v < 0.01f && v - u < 0.01f) corner = 1;
                    }
                if (!corner) continue;
                for (unsigned a = 0; a < 8; a++) {
                    crop_aug(buf, f->gt, f->w, y, x, gp, a);
                    if (same(buf, gtp, (size_t)3 * gp * gp)) {
                        if (!found) *ff = f, *gy = y, *gx = x, *aug = a;
                        found++;
                    }
                }
            }
    }
    free(buf);
    return found;
}

// Checks one batch: each sample's first GT frame is searched in all frames; it must match the sample
// info (clip, position, augmentation); then every frame t of GT and LR must be the expected frame of
// the window (reversal and mirroring applied here independently), cropped and augmented alike.
// clip_ids[i]: the test's clip id of dataset clip i. Returns the OR of the augmentations seen.
static unsigned check_batch(sv_dataset *d, const float *lr, const float *gt, int batch, int T, int p,
                            const int *clip_ids, int *clip_hits) {
    const int gp = 4 * p;
    const sv_sample_info *info = sv_dataset_last(d);
    float *want = malloc(sizeof(float) * 3 * gp * gp);
    unsigned seen = 0;
    for (int b = 0; b < batch; b++) {
        const sv_sample_info *s = &info[b];
        if (s->clip < 0) continue;  // synthetic: test_synthetic_motion
        const float *g0 = gt + (size_t)b * T * 3 * gp * gp;
        tframe *f;
        int gy, gx;
        unsigned aug;
        int nfound = locate(g0, gp, &f, &gy, &gx, &aug);
        CHECKF(nfound == 1, "sample %d: GT frame 0 found %d times", b, nfound);
        if (nfound != 1) continue;
        CHECKF(gy == 4 * s->y && gx == 4 * s->x && aug == (s->aug & 7u) && f->clip == clip_ids[s->clip],
               "sample %d: found at clip %d (%d,%d) aug %u, info says clip %d (%d,%d) aug %u", b, f->clip, gy, gx, aug,
               clip_ids[s->clip], 4 * s->y, 4 * s->x, s->aug);
        if (clip_hits) clip_hits[s->clip]++;
        seen |= s->aug;
        int n = 0;
        while (frame_of(f->clip, n)) n++;
        for (int t = 0; t < T; t++) {
            int q = s->start + ((s->aug & SV_AUG_REVERSE) ? T - 1 - t : t);
            if (q >= n) q = 2 * n - 1 - q;
            tframe *ft = frame_of(f->clip, q);
            CHECK(ft != NULL);
            if (!ft) break;
            size_t i = (size_t)b * T + t;
            crop_aug(want, ft->gt, ft->w, 4 * s->y, 4 * s->x, gp, s->aug & 7u);
            CHECKF(same(want, gt + i * 3 * gp * gp, (size_t)3 * gp * gp), "sample %d frame %d: GT is not frame %d", b, t,
                   q);
            crop_aug(want, ft->lr, ft->lw, s->y, s->x, p, s->aug & 7u);
            CHECKF(same(want, lr + i * 3 * p * p, (size_t)3 * p * p), "sample %d frame %d: LR is not the LR of frame %d", b,
                   t, q);
        }
    }
    free(want);
    return seen;
}

// ---- degradations against numpy ----

static void compare_vec(const char *name, int c, int h, int w, int oh, int ow, double sy, double sx, int mode) {
    char pin[128], pout[128];
    snprintf(pin, sizeof pin, "degrade/%s_in.f32", name);
    snprintf(pout, sizeof pout, "degrade/%s_out.f32", name);
    float *in = tu_read_f32(tu_data(pin), (size_t)c * h * w), *ex = tu_read_f32(tu_data(pout), (size_t)c * oh * ow);
    if (!in || !ex) return;
    float *out = malloc(sizeof(float) * c * oh * ow);
    sv_err e = {{0}};
    int rc = mode == 0   ? sv_imresize_scaled(out, in, c, h, w, sy, sx, oh, ow, &e)
             : mode == 1 ? sv_imresize(out, in, c, h, w, oh, ow, &e)
             : mode == 2 ? sv_degrade_bi(out, in, c, h, w, &e)
                         : sv_degrade_bd(out, in, c, h, w, &e);
    CHECKF(rc == 0, "%s: %s", name, e.msg);
    double diff = tu_max_abs_diff(out, ex, (size_t)c * oh * ow);
    CHECKF(diff < 1e-5, "%s (mode %d): max abs diff %g", name, mode, diff);
    free(in), free(ex), free(out);
}

static void test_bi_matlab_vectors(void) {
    CHECK(sv_imresize_out_len(37, 0.25) == 10 && sv_imresize_out_len(53, 0.25) == 14);
    compare_vec("bi_37x53", 3, 37, 53, 10, 14, 0, 0, 2);
    compare_vec("bi_37x53", 3, 37, 53, 10, 14, 0.25, 0.25, 0);
    compare_vec("bi_20x28", 3, 20, 28, 5, 7, 0, 0, 2);
    compare_vec("bi_20x28", 3, 20, 28, 5, 7, 0, 0, 1);  // [5 7] is exactly 1/4 here
    compare_vec("bi_3x5", 2, 3, 5, 1, 2, 0, 0, 2);
    compare_vec("up2_9x13", 3, 9, 13, 18, 26, 2.0, 2.0, 0);
    compare_vec("up2_9x13", 3, 9, 13, 18, 26, 0, 0, 1);
    compare_vec("size_20x28_to_9x11", 3, 20, 28, 9, 11, 0, 0, 1);
}

static void test_bd_vectors(void) { compare_vec("bd_37x53", 3, 37, 53, 10, 14, 0, 0, 3); }

// MATLAB's uint8 path: rounding after each dimension, so the dimension order matters; exact match.
static void compare_u8(const char *name, int c, int h, int w, int oh, int ow, int mode) {
    char pin[128], pout[128];
    snprintf(pin, sizeof pin, "degrade/%s_in.u8", name);
    snprintf(pout, sizeof pout, "degrade/%s_out.u8", name);
    size_t nin, nout;
    unsigned char *in = tu_read_file(tu_data(pin), &nin), *ex = tu_read_file(tu_data(pout), &nout);
    if (!in || !ex || nin != (size_t)c * h * w || nout != (size_t)c * oh * ow) {
        CHECKF(0, "%s: bad vector files", name);
        free(in), free(ex);
        return;
    }
    unsigned char *out = malloc(nout);
    sv_err e = {{0}};
    int rc = mode == 0 ? sv_imresize_u8(out, in, c, h, w, (double)oh / h, (double)ow / w, oh, ow, &e)
                       : sv_degrade_u8(mode == 1 ? SV_DEG_BI : SV_DEG_BD, out, in, c, h, w, &e);
    CHECKF(rc == 0, "%s: %s", name, e.msg);
    int bad = 0;
    for (size_t i = 0; i < nout; i++) bad += out[i] != ex[i];
    CHECKF(bad == 0, "%s: %d of %zu values differ", name, bad, nout);
    free(in), free(ex), free(out);
}

static void test_u8_vectors(void) {
    compare_u8("u8_bi_37x53", 3, 37, 53, 10, 14, 1);
    compare_u8("u8_size_20x28_to_9x11", 3, 20, 28, 9, 11, 0);
    compare_u8("u8_size_28x20_to_11x9", 3, 28, 20, 11, 9, 0);
    compare_u8("u8_bd_37x53", 3, 37, 53, 10, 14, 2);
}

// A constant image stays constant (weights sum to 1) for every scale, and bad sizes are refused.
static void test_resize_constant_and_errors(void) {
    float in[2 * 11 * 7], out[2 * 40 * 40];
    for (int i = 0; i < 2 * 11 * 7; i++) in[i] = i < 77 ? 0.25f : 0.75f;
    int sizes[][2] = {{3, 2}, {1, 1}, {11, 7}, {23, 40}, {40, 15}};
    sv_err e = {{0}};
    for (int k = 0; k < 5; k++) {
        int oh = sizes[k][0], ow = sizes[k][1];
        CHECK(sv_imresize(out, in, 2, 11, 7, oh, ow, &e) == 0);
        for (int i = 0; i < 2 * oh * ow; i++) {
            float want = i < oh * ow ? 0.25f : 0.75f;
            CHECKF(out[i] - want < 1e-6f && want - out[i] < 1e-6f, "%dx%d: %g", oh, ow, out[i]);
        }
    }
    CHECK(sv_degrade_bd(out, in, 2, 11, 7, &e) == 0);
    for (int i = 0; i < 2 * 3 * 2; i++) CHECK(out[i] - (i < 6 ? 0.25f : 0.75f) < 1e-6f);
    CHECK(sv_imresize(out, in, 2, 0, 7, 3, 2, &e) == -1 && has(e.msg, "invalid"));
    CHECK(sv_degrade(7, out, in, 2, 11, 7, &e) == -1);
}

static void test_rng(void) {
    sv_rng a, b;
    sv_rng_seed(&a, 42), sv_rng_seed(&b, 42);
    for (int i = 0; i < 100; i++) CHECK(sv_rng_next(&a) == sv_rng_next(&b));
    sv_rng_seed(&b, 43);
    CHECK(sv_rng_next(&a) != sv_rng_next(&b));
    sv_rng_seed(&a, 0);
    CHECK(a.s[0] | a.s[1] | a.s[2] | a.s[3]);
    int hist[5] = {0};
    for (int i = 0; i < 5000; i++) {
        uint64_t v = sv_rng_below(&a, 5);
        CHECK(v < 5);
        if (v < 5) hist[v]++;
    }
    for (int i = 0; i < 5; i++) CHECKF(hist[i] > 850 && hist[i] < 1150, "bucket %d: %d", i, hist[i]);
}

// ---- datasets ----

static sv_data_opts small_opts(int seq, int patch, int batch) {
    sv_data_opts o;
    sv_data_opts_default(&o);
    o.seq = seq, o.patch = patch, o.batch = batch, o.seed = 7;
    return o;
}

// A REDS-like folder (ROOT/000, ROOT/001, frame sizes not multiples of 4) and a Vimeo-like two-level
// folder (ROOT/00001/0001, ROOT/00001/0002, ROOT/00002/0001) as two sources; all augmentations on.
static void test_layouts_and_augmentation(void) {
    uint64_t st = 100;
    const char *reds = tu_tmpdir(), *vimeo = tu_tmpdir();
    make_clip(tu_join(reds, "000"), 0, 9, 42, 30, "", 8, 0, SV_DEG_BI, &st);
    make_clip(tu_join(reds, "001"), 1, 9, 42, 30, "", 8, 0, SV_DEG_BI, &st);
    make_clip(tu_join(vimeo, "00001/0001"), 2, 7, 36, 20, "im", 1, 1, SV_DEG_BI, &st);
    make_clip(tu_join(vimeo, "00001/0002"), 3, 7, 36, 20, "im", 1, 1, SV_DEG_BI, &st);
    make_clip(tu_join(vimeo, "00002/0001"), 4, 7, 36, 20, "im", 1, 1, SV_DEG_BI, &st);
    write_text(tu_join(vimeo, "readme.txt"), "not a frame");
    const char *src[] = {reds, vimeo};
    sv_data_opts o = small_opts(5, 4, 3);
    sv_err e = {{0}};
    sv_dataset *d = sv_dataset_open(src, 2, &o, &e);
    CHECKF(d, "%s", e.msg);
    if (!d) goto done;
    CHECK(sv_dataset_num_clips(d) == 5);
    CHECK(has(sv_dataset_clip_name(d, 3), "00001/0002"));
    int ids[5] = {0, 1, 2, 3, 4}, hits[5] = {0};
    char desc[512];
    sv_dataset_describe(d, desc, sizeof desc);
    CHECKF(has(desc, "5 clips") && has(desc, "39 frames") && has(desc, "bi") && has(desc, "19 windows"), "%s", desc);
    float lr[3 * 5 * 3 * 16], gt[3 * 5 * 3 * 256];
    unsigned any = 0, all = ~0u;
    int counts[4] = {0};
    for (int it = 0; it < 40; it++) {
        CHECK(sv_dataset_next(d, lr, gt, &e) == 0);
        unsigned seen = check_batch(d, lr, gt, 3, 5, 4, ids, hits);
        any |= seen, all &= seen;
        for (int b = 0; b < 3; b++)
            for (int k = 0; k < 4; k++) counts[k] += !!(sv_dataset_last(d)[b].aug & (1u << k));
    }
    CHECK(any == 15);
    for (int k = 0; k < 4; k++) CHECKF(counts[k] > 35 && counts[k] < 85, "augmentation %d in %d/120 samples", k, counts[k]);
    // windows: 5 per REDS-like clip, 3 per septuplet
    for (int i = 0; i < 5; i++) CHECKF(hits[i] > 5, "clip %d sampled %d times", i, hits[i]);
    CHECK(sv_dataset_samples_drawn(d) == 120);
    sv_dataset_free(d);
done:
    frames_reset();
}

// Every augmentation switched off: patches are plain crops, frames in order.
static void test_no_augmentation(void) {
    uint64_t st = 200;
    const char *root = tu_tmpdir();
    make_clip(tu_join(root, "a"), 0, 6, 24, 24, "", 3, 0, SV_DEG_BI, &st);
    sv_data_opts o = small_opts(4, 5, 2);
    o.hflip = o.vflip = o.rot = o.reverse = 0;
    sv_err e = {{0}};
    sv_dataset *d = sv_dataset_open(&root, 1, &o, &e);
    CHECKF(d, "%s", e.msg);
    if (!d) goto done;
    int ids[1] = {0};
    float lr[2 * 4 * 3 * 25], gt[2 * 4 * 3 * 400];
    for (int it = 0; it < 10; it++) {
        sv_dataset_next(d, lr, gt, &e);
        CHECK(check_batch(d, lr, gt, 2, 4, 5, ids, NULL) == 0);
    }
    sv_dataset_free(d);
done:
    frames_reset();
}

// A 3-frame clip with seq 5 is played 0 1 2 2 1 (BasicVSR's mirroring); with mirroring off it is an error.
static void test_mirror(void) {
    uint64_t st = 300;
    const char *root = tu_tmpdir();
    make_clip(tu_join(root, "short"), 0, 3, 20, 20, "", 1, 0, SV_DEG_BI, &st);
    sv_data_opts o = small_opts(5, 4, 4);
    sv_err e = {{0}};
    sv_dataset *d = sv_dataset_open(&root, 1, &o, &e);
    CHECKF(d, "%s", e.msg);
    if (d) {
        int ids[1] = {0};
        float lr[4 * 5 * 3 * 16], gt[4 * 5 * 3 * 256];
        for (int it = 0; it < 5; it++) {
            sv_dataset_next(d, lr, gt, &e);
            check_batch(d, lr, gt, 4, 5, 4, ids, NULL);
            for (int b = 0; b < 4; b++) CHECK(sv_dataset_last(d)[b].start == 0);
        }
        char desc[512];
        sv_dataset_describe(d, desc, sizeof desc);
        CHECKF(has(desc, "mirrored"), "%s", desc);
        sv_dataset_free(d);
    }
    o.seq = 7;  // more than twice the clip
    CHECK(sv_dataset_open(&root, 1, &o, &e) == NULL);
    CHECKF(has(e.msg, "short") && has(e.msg, "3 frames") && has(e.msg, "mirrored"), "%s", e.msg);
    o.seq = 4, o.mirror = 0;
    CHECK(sv_dataset_open(&root, 1, &o, &e) == NULL);
    CHECKF(has(e.msg, "short") && has(e.msg, "3 frames") && has(e.msg, "--seq 4"), "%s", e.msg);
    frames_reset();
}

static void test_bd_dataset(void) {
    uint64_t st = 400;
    const char *root = tu_tmpdir();
    make_clip(tu_join(root, "c"), 0, 4, 35, 29, "", 2, 0, SV_DEG_BD, &st);
    sv_data_opts o = small_opts(3, 4, 4);
    o.degradation = SV_DEG_BD;
    sv_err e = {{0}};
    sv_dataset *d = sv_dataset_open(&root, 1, &o, &e);
    CHECKF(d, "%s", e.msg);
    if (d) {
        int ids[1] = {0};
        float lr[4 * 3 * 3 * 16], gt[4 * 3 * 3 * 256];
        for (int it = 0; it < 8; it++) {
            sv_dataset_next(d, lr, gt, &e);
            check_batch(d, lr, gt, 4, 3, 4, ids, NULL);
        }
        char desc[512];
        sv_dataset_describe(d, desc, sizeof desc);
        CHECKF(has(desc, "bd on the fly"), "%s", desc);
        sv_dataset_free(d);
    }
    frames_reset();
}

static int batches_equal(sv_dataset *a, sv_dataset *b, int n, size_t nl, size_t ng) {
    float *l1 = malloc(sizeof(float) * nl), *l2 = malloc(sizeof(float) * nl);
    float *g1 = malloc(sizeof(float) * ng), *g2 = malloc(sizeof(float) * ng);
    int eq = 1;
    for (int i = 0; i < n; i++) {
        sv_dataset_next(a, l1, g1, NULL);
        sv_dataset_next(b, l2, g2, NULL);
        eq &= !memcmp(l1, l2, sizeof(float) * nl) && !memcmp(g1, g2, sizeof(float) * ng);
    }
    free(l1), free(l2), free(g1), free(g2);
    return eq;
}

// Same seed -> same batches; another seed -> others; the stream does not depend on the batch size;
// a saved state continues the stream exactly; a state from other options is refused.
static void test_repeatable_and_resume(void) {
    uint64_t st = 500;
    const char *root = tu_tmpdir();
    make_clip(tu_join(root, "x"), 0, 10, 40, 32, "", 2, 0, SV_DEG_BI, &st);
    make_clip(tu_join(root, "y"), 1, 8, 44, 36, "", 2, 0, SV_DEG_BI, &st);
    sv_data_opts o = small_opts(4, 4, 3);
    const size_t nl = 3 * 4 * 3 * 16, ng = 3 * 4 * 3 * 256;
    sv_err e = {{0}};
    sv_dataset *a = sv_dataset_open(&root, 1, &o, &e), *b = sv_dataset_open(&root, 1, &o, &e);
    CHECKF(a && b, "%s", e.msg);
    if (!a || !b) goto done;
    CHECK(batches_equal(a, b, 5, nl, ng));
    uint64_t s[SV_DATA_STATE_WORDS + 1];
    CHECK(sv_dataset_state(a, s, SV_DATA_STATE_WORDS - 1) == -1);
    CHECK(sv_dataset_state(a, s, SV_DATA_STATE_WORDS + 1) == SV_DATA_STATE_WORDS);
    uint64_t drawn = sv_dataset_samples_drawn(a);
    sv_dataset *c = sv_dataset_open(&root, 1, &o, &e);
    CHECK(c && sv_dataset_restore(c, s, SV_DATA_STATE_WORDS, &e) == 0);
    if (c) {
        CHECK(sv_dataset_samples_drawn(c) == drawn);
        CHECK(batches_equal(a, c, 4, nl, ng));  // continues exactly where a was
        sv_dataset_free(c);
    }
    // other seed
    sv_data_opts o2 = o;
    o2.seed = 8;
    c = sv_dataset_open(&root, 1, &o2, &e);
    sv_dataset_free(b);
    b = sv_dataset_open(&root, 1, &o, &e);
    CHECK(c && b && !batches_equal(b, c, 1, nl, ng));
    sv_dataset_free(c);
    // batch 1 x 3 calls gives the same samples as batch 3 x 1 call
    o2 = o, o2.batch = 1;
    c = sv_dataset_open(&root, 1, &o2, &e);
    sv_dataset_free(b);
    b = sv_dataset_open(&root, 1, &o, &e);
    if (c && b) {
        float *l3 = malloc(sizeof(float) * nl), *g3 = malloc(sizeof(float) * ng);
        float *l1 = malloc(sizeof(float) * nl), *g1 = malloc(sizeof(float) * ng);
        sv_dataset_next(b, l3, g3, &e);
        for (int i = 0; i < 3; i++) sv_dataset_next(c, l1 + i * nl / 3, g1 + i * ng / 3, &e);
        CHECK(!memcmp(l1, l3, sizeof(float) * nl) && !memcmp(g1, g3, sizeof(float) * ng));
        free(l3), free(g3), free(l1), free(g1);
    }
    sv_dataset_free(c);
    // a state saved with another patch size is refused, and so is garbage
    o2 = o, o2.patch = 5;
    c = sv_dataset_open(&root, 1, &o2, &e);
    CHECK(c != NULL);
    if (c) {
        CHECK(sv_dataset_restore(c, s, SV_DATA_STATE_WORDS, &e) == -1);
        CHECKF(has(e.msg, "other training clips or data options"), "%s", e.msg);
        s[0] ^= 1;
        CHECK(sv_dataset_restore(c, s, SV_DATA_STATE_WORDS, &e) == -1);
        sv_dataset_free(c);
    }
done:
    sv_dataset_free(a);
    sv_dataset_free(b);
    frames_reset();
}

// Data-parallel ranks (issue 19): rank r of 3 with batch 1 gets sample r of every batch of one dataset with
// batch 3, and every rank's sampler state is that dataset's; a rank outside 0..ranks-1 is refused.
static void test_ranks(void) {
    uint64_t st = 900;
    const char *root = tu_tmpdir();
    make_clip(tu_join(root, "x"), 0, 10, 40, 32, "", 2, 0, SV_DEG_BI, &st);
    sv_data_opts o = small_opts(4, 4, 3), o1 = o;
    const size_t nl = 4 * 3 * 16, ng = 4 * 3 * 256;  // one sample
    sv_err e = {{0}};
    sv_dataset *whole = sv_dataset_open(&root, 1, &o, &e), *rank[3] = {0};
    o1.batch = 1, o1.ranks = 3;
    for (int r = 0; r < 3; r++) {
        o1.rank = r;
        rank[r] = sv_dataset_open(&root, 1, &o1, &e);
    }
    CHECKF(whole && rank[0] && rank[1] && rank[2], "%s", e.msg);
    float *l3 = malloc(sizeof(float) * 3 * nl), *g3 = malloc(sizeof(float) * 3 * ng);
    float *l1 = malloc(sizeof(float) * nl), *g1 = malloc(sizeof(float) * ng);
    for (int it = 0; it < 3 && whole && rank[0] && rank[1] && rank[2]; it++) {
        sv_dataset_next(whole, l3, g3, &e);
        uint64_t s3[SV_DATA_STATE_WORDS], s1[SV_DATA_STATE_WORDS];
        sv_dataset_state(whole, s3, SV_DATA_STATE_WORDS);
        for (int r = 0; r < 3; r++) {
            sv_dataset_next(rank[r], l1, g1, &e);
            CHECKF(!memcmp(l1, l3 + r * nl, sizeof(float) * nl) && !memcmp(g1, g3 + r * ng, sizeof(float) * ng),
                   "batch %d, rank %d: not sample %d of the whole batch", it, r, r);
            CHECK(sv_dataset_last(rank[r])->clip == sv_dataset_last(whole)[r].clip &&
                  sv_dataset_last(rank[r])->y == sv_dataset_last(whole)[r].y);
            sv_dataset_state(rank[r], s1, SV_DATA_STATE_WORDS);
            CHECK(!memcmp(s1, s3, sizeof s1));
        }
    }
    free(l3), free(g3), free(l1), free(g1);
    o1.rank = 3;
    sv_dataset *bad = sv_dataset_open(&root, 1, &o1, &e);
    CHECKF(!bad && has(e.msg, "rank 3 of 3"), "%s", e.msg);
    sv_dataset_free(bad);
    sv_dataset_free(whole);
    for (int r = 0; r < 3; r++) sv_dataset_free(rank[r]);
    frames_reset();
}

// A folder of n random photos of w x h (PNG).
static const char *make_photo_folder(int n, int w, int h, uint64_t *st) {
    const char *dir = tu_tmpdir();
    for (int i = 0; i < n; i++) {
        char name[32];
        snprintf(name, sizeof name, "p%d.png", i);
        unsigned char *rgb = random_rgb(w, h, st);
        write_png(tu_join(dir, name), rgb, w, h);
        free(rgb);
    }
    return dir;
}

// The LR of one synthetic frame against sv_degrade_u8 (deg) of its own GT patch: equal wherever the kernel
// (BI: 16 GT pixels wide, BD: 13) stays inside the patch, LR pixels 2..p-3 (elsewhere the patch's LR saw
// the margin).
static int synth_lr_consistent(const float *lr, const float *gt, int p, int deg) {
    const int gp = 4 * p;
    const size_t pl = (size_t)gp * gp, lpl = (size_t)p * p;
    unsigned char *in = malloc(3 * pl), *out = malloc(3 * lpl);
    for (size_t i = 0; i < 3 * pl; i++) in[i] = (unsigned char)lrintf(gt[i] * 255.0f);
    sv_err e = {{0}};
    int ok = sv_degrade_u8(deg, out, in, 3, gp, gp, &e) == 0;
    for (int c = 0; c < 3 && ok; c++)
        for (int y = 2; y <= p - 3; y++)
            for (int x = 2; x <= p - 3; x++) {
                const size_t i = c * lpl + (size_t)y * p + x;
                ok &= (unsigned char)lrintf(lr[i] * 255.0f) == out[i];
            }
    free(in), free(out);
    return ok;
}

// Synthetic-motion samples (photo_share): about that share of the samples, the others real windows as
// before; every GT value a multiple of 1/255 (rendered frames are rounded to 8 bits like decoded ones);
// the LR is the GT degraded (inside the patch); the frames move; the stream is repeatable, resumes from a
// saved state, and splits over ranks as without photos; share 0 gives the stream of a dataset without
// photos; bad options are refused.
static void test_synthetic_motion(void) {
    uint64_t st = 1300;
    const char *root = tu_tmpdir(), *photos = make_photo_folder(3, 80, 64, &st);
    make_clip(tu_join(root, "x"), 0, 10, 48, 40, "", 2, 0, SV_DEG_BI, &st);
    const int T = 3, p = 8, B = 6, gp = 4 * p;
    const size_t nl = (size_t)B * T * 3 * p * p, ng = (size_t)B * T * 3 * gp * gp;
    sv_data_opts o = small_opts(T, p, B);
    o.photos = photos, o.photo_share = 0.5;
    sv_err e = {{0}};
    sv_dataset *a = sv_dataset_open(&root, 1, &o, &e), *b = sv_dataset_open(&root, 1, &o, &e);
    CHECKF(a && b, "%s", e.msg);
    float *lr = malloc(sizeof(float) * nl), *gt = malloc(sizeof(float) * ng);
    const int clip_ids[1] = {0};
    int nsynth = 0, nreal = 0, moving = 0;
    for (int it = 0; it < 8 && a; it++) {
        CHECKF(sv_dataset_next(a, lr, gt, &e) == 0, "%s", e.msg);
        check_batch(a, lr, gt, B, T, p, clip_ids, NULL);  // the real ones
        const sv_sample_info *info = sv_dataset_last(a);
        for (int s = 0; s < B; s++) {
            if (info[s].clip >= 0) {
                nreal++;
                continue;
            }
            nsynth++;
            CHECK(info[s].y == 0 && info[s].x == 0 && info[s].aug == 0);
            const float *g = gt + (size_t)s * T * 3 * gp * gp, *l = lr + (size_t)s * T * 3 * p * p;
            int on_grid = 1;
            for (size_t i = 0; i < (size_t)T * 3 * gp * gp; i++) on_grid &= g[i] == rintf(g[i] * 255.0f) * (1.0f / 255.0f);
            CHECKF(on_grid, "synthetic sample %d of batch %d: GT not 8-bit values", s, it);
            for (int t = 0; t < T; t++)
                CHECKF(synth_lr_consistent(l + (size_t)t * 3 * p * p, g + (size_t)t * 3 * gp * gp, p, SV_DEG_BI),
                       "synthetic sample %d frame %d: LR is not its GT degraded", s, t);
            moving += memcmp(g, g + (size_t)(T - 1) * 3 * gp * gp, sizeof(float) * 3 * gp * gp) != 0;
        }
    }
    CHECKF(nsynth >= 12 && nreal >= 12, "%d synthetic and %d real samples of 48 at share 0.5", nsynth, nreal);
    CHECKF(moving >= nsynth / 2, "only %d of %d synthetic samples move", moving, nsynth);
    char desc[512];
    if (a) sv_dataset_describe(a, desc, sizeof desc);
    CHECKF(a && has(desc, "50% of samples synthetic motion from 3 photos"), "%s", a ? desc : "");
    // repeatable, and a saved state continues the stream
    if (a && b) {
        CHECK(batches_equal(a, b, 0, nl, ng) && batches_equal(b, b, 0, nl, ng));
        for (int it = 0; it < 8; it++) sv_dataset_next(b, lr, gt, &e);
        CHECK(batches_equal(a, b, 3, nl, ng));
        uint64_t s[SV_DATA_STATE_WORDS];
        sv_dataset_state(a, s, SV_DATA_STATE_WORDS);
        sv_dataset *c = sv_dataset_open(&root, 1, &o, &e);
        CHECKF(c && sv_dataset_restore(c, s, SV_DATA_STATE_WORDS, &e) == 0, "%s", e.msg);
        if (c) CHECK(batches_equal(a, c, 3, nl, ng));
        sv_dataset_free(c);
        // the state of a run without photos does not fit
        sv_data_opts o0 = o;
        o0.photos = NULL, o0.photo_share = 0;
        c = sv_dataset_open(&root, 1, &o0, &e);
        CHECK(c && sv_dataset_restore(c, s, SV_DATA_STATE_WORDS, &e) == -1);
        sv_dataset_free(c);
    }
    // ranks: rank r of 2 with batch 3 gets samples 3r..3r+2 of the batch of 6
    sv_data_opts o1 = o;
    o1.batch = 3, o1.ranks = 2;
    sv_dataset *whole = sv_dataset_open(&root, 1, &o, &e), *rk[2];
    for (int r = 0; r < 2; r++) o1.rank = r, rk[r] = sv_dataset_open(&root, 1, &o1, &e);
    float *l1 = malloc(sizeof(float) * nl / 2), *g1 = malloc(sizeof(float) * ng / 2);
    for (int it = 0; it < 3 && whole && rk[0] && rk[1]; it++) {
        sv_dataset_next(whole, lr, gt, &e);
        for (int r = 0; r < 2; r++) {
            sv_dataset_next(rk[r], l1, g1, &e);
            CHECKF(!memcmp(l1, lr + r * nl / 2, sizeof(float) * nl / 2) && !memcmp(g1, gt + r * ng / 2, sizeof(float) * ng / 2),
                   "batch %d rank %d: not its half of the whole batch", it, r);
        }
    }
    free(l1), free(g1);
    sv_dataset_free(whole), sv_dataset_free(rk[0]), sv_dataset_free(rk[1]);
    // BD: the synthetic LR is the GT's BD degradation
    sv_data_opts obd = o;
    obd.degradation = SV_DEG_BD, obd.photo_share = 1;
    sv_dataset *bd = sv_dataset_open(&root, 1, &obd, &e);
    CHECKF(bd && sv_dataset_next(bd, lr, gt, &e) == 0, "%s", e.msg);
    for (int s = 0; bd && s < B; s++)
        for (int t = 0; t < T; t++)
            CHECKF(synth_lr_consistent(lr + ((size_t)s * T + t) * 3 * p * p, gt + ((size_t)s * T + t) * 3 * gp * gp, p,
                                       SV_DEG_BD),
                   "BD synthetic sample %d frame %d: LR is not its GT degraded", s, t);
    sv_dataset_free(bd);
    // share 0 with photos: the stream of no photos at all
    sv_data_opts o0 = o, on = o;
    o0.photo_share = 0, on.photos = NULL, on.photo_share = 0;
    sv_dataset_free(b);
    b = sv_dataset_open(&root, 1, &o0, &e);
    sv_dataset *n0 = sv_dataset_open(&root, 1, &on, &e);
    CHECK(b && n0 && batches_equal(b, n0, 3, nl, ng));
    sv_dataset_free(n0);
    // refused: a share without photos, a share out of range, a folder without photos
    sv_data_opts bad = o;
    bad.photos = NULL;
    sv_dataset *x = sv_dataset_open(&root, 1, &bad, &e);
    CHECKF(!x && has(e.msg, "needs a folder of photos"), "%s", e.msg);
    bad = o, bad.photo_share = 1.5;
    x = sv_dataset_open(&root, 1, &bad, &e);
    CHECKF(!x && has(e.msg, "out of range"), "%s", e.msg);
    bad = o, bad.photos = tu_tmpdir();
    x = sv_dataset_open(&root, 1, &bad, &e);
    CHECKF(!x && has(e.msg, "no photos") && has(e.msg, bad.photos), "%s", e.msg);
    free(lr), free(gt);
    sv_dataset_free(a);
    sv_dataset_free(b);
    frames_reset();
}

// clip_weight: a 40-frame clip (37 windows of 4) beside a 4-frame one (1 window). The short clip's share of
// 3000 samples: 1/38 by windows, 1/(1+sqrt 37) by sqrt, 1/2 equal (binomial sd under 1%, the stream fixed
// by the seed); every sample is the window its info says (check_batch); a state saved under one weighting
// is refused by another.
static void test_clip_weight(void) {
    uint64_t st = 1700;
    const char *root = tu_tmpdir();
    make_clip(tu_join(root, "long"), 0, 40, 24, 20, "", 2, 0, SV_DEG_BI, &st);
    make_clip(tu_join(root, "short"), 1, 4, 24, 20, "", 2, 0, SV_DEG_BI, &st);
    const int T = 4, p = 4, B = 100, clip_ids[2] = {0, 1};
    const double want[3] = {1.0 / 38, 1.0 / (1 + sqrt(37.0)), 0.5};
    float *lr = malloc(sizeof(float) * B * T * 3 * p * p), *gt = malloc(sizeof(float) * B * T * 3 * 16 * p * p);
    uint64_t s[3][SV_DATA_STATE_WORDS];
    sv_err e = {{0}};
    for (int mode = 0; mode < 3; mode++) {
        sv_data_opts o = small_opts(T, p, B);
        o.clip_weight = mode;
        sv_dataset *d = sv_dataset_open(&root, 1, &o, &e);
        CHECKF(d, "%s", e.msg);
        if (!d) continue;
        int hits[2] = {0, 0};
        for (int it = 0; it < 30; it++) {
            sv_dataset_next(d, lr, gt, &e);
            if (it < 2) check_batch(d, lr, gt, B, T, p, clip_ids, NULL);
            for (int b = 0; b < B; b++) hits[sv_dataset_last(d)[b].clip]++;
        }
        const double share = hits[1] / 3000.0;
        CHECKF(fabs(share - want[mode]) < 0.03, "%s: the short clip got %.3f of the samples, expected %.3f",
               sv_clip_weight_name(mode), share, want[mode]);
        sv_dataset_state(d, s[mode], SV_DATA_STATE_WORDS);
        char desc[512];
        sv_dataset_describe(d, desc, sizeof desc);
        CHECKF(mode == 0 ? !has(desc, "weighted") : has(desc, sv_clip_weight_name(mode)), "%s", desc);
        sv_dataset_free(d);
    }
    sv_data_opts o = small_opts(T, p, B);
    o.clip_weight = SV_CLIP_WEIGHT_SQRT;
    sv_dataset *d = sv_dataset_open(&root, 1, &o, &e);
    CHECK(d && sv_dataset_restore(d, s[0], SV_DATA_STATE_WORDS, &e) == -1 &&
          sv_dataset_restore(d, s[1], SV_DATA_STATE_WORDS, &e) == 0);
    sv_dataset_free(d);
    o.clip_weight = 3;
    d = sv_dataset_open(&root, 1, &o, &e);
    CHECKF(!d && has(e.msg, "clip weighting"), "%s", e.msg);
    CHECK(sv_clip_weight_parse("sqrt") == SV_CLIP_WEIGHT_SQRT && sv_clip_weight_parse("bogus") == -1);
    free(lr), free(gt);
    frames_reset();
}

// ROOT/GT/<clip> with ROOT/LR/<clip> (and ROOT/BIx4 as the fallback name): LR patches come from the LR
// files at the position of the GT patch / 4.
static void test_paired(void) {
    uint64_t st = 600;
    const char *root = tu_tmpdir();
    const char *clips[2] = {"GT/000", "GT/001"}, *lrs[2] = {"BIx4/000", "BIx4/001"};
    for (int k = 0; k < 2; k++) {
        make_clip(tu_join(root, clips[k]), k, 5, 32, 24, "", 8, 0, SV_DEG_BI, &st);
        mkdirs(tu_join(root, lrs[k]));
        for (int i = 0; i < 5; i++) {  // own random LR, unrelated to GT: only the files can give it
            tframe *f = frame_of(k, i);
            free(f->lr);
            f->lw = 8, f->lh = 6;
            unsigned char *lr8 = random_rgb(8, 6, &st);
            f->lr = to_float(lr8, 8 * 6 * 3);
            char name[32];
            snprintf(name, sizeof name, "%08d.png", i);
            write_png(tu_join(tu_join(root, lrs[k]), name), lr8, 8, 6);
            free(lr8);
        }
    }
    sv_data_opts o = small_opts(3, 4, 4);
    sv_err e = {{0}};
    sv_dataset *d = sv_dataset_open(&root, 1, &o, &e);
    CHECKF(d, "%s", e.msg);
    if (d) {
        CHECK(sv_dataset_num_clips(d) == 2);
        char desc[512];
        sv_dataset_describe(d, desc, sizeof desc);
        CHECKF(has(desc, "2 paired") && has(desc, "LR from files"), "%s", desc);
        int ids[2] = {0, 1};
        float lr[4 * 3 * 3 * 16], gt[4 * 3 * 3 * 256];
        for (int it = 0; it < 8; it++) {
            sv_dataset_next(d, lr, gt, &e);
            check_batch(d, lr, gt, 4, 3, 4, ids, NULL);
        }
        sv_dataset_free(d);
    }
    // BD asks for BDx4/, which is absent: LR is made from GT/ on the fly (BIx4/ is not used as GT)
    o.degradation = SV_DEG_BD;
    d = sv_dataset_open(&root, 1, &o, &e);
    CHECKF(d, "%s", e.msg);
    if (d) {
        char desc[512];
        sv_dataset_describe(d, desc, sizeof desc);
        CHECKF(has(desc, "2 clips (2 folders)") && has(desc, "bd on the fly"), "%s", desc);
        sv_dataset_free(d);
    }
    // mismatches: an LR frame missing, then an LR frame of the wrong size
    o.degradation = SV_DEG_BI;
    const char *gone = tu_join(tu_join(root, lrs[1]), "00000004.png");
    remove(gone);
    CHECK(sv_dataset_open(&root, 1, &o, &e) == NULL);
    CHECKF(has(e.msg, "BIx4/001") && has(e.msg, "4 LR frames") && has(e.msg, "5 GT frames"), "%s", e.msg);
    unsigned char px[3 * 9 * 6] = {0};
    for (int i = 0; i < 5; i++) {
        char name[32];
        snprintf(name, sizeof name, "%08d.png", i);
        write_png(tu_join(tu_join(root, lrs[1]), name), px, 9, 6);
    }
    CHECK(sv_dataset_open(&root, 1, &o, &e) == NULL);
    CHECKF(has(e.msg, "GT/001/00000000.png") && has(e.msg, "not 4x"), "%s", e.msg);
    frames_reset();
}

// Video files: a file given directly and a folder of videos (lossless FFV1, so frames decode exactly).
static void write_video(const char *path, int clip, int n, int w, int h, uint64_t *st) {
    sv_err e = {{0}};
    sv_frame_writer *wr = sv_frames_create(path, w, h, 25, 1, &e);
    CHECKF(wr, "%s", e.msg);
    if (!wr) return;
    for (int i = 0; i < n; i++) {
        tframe *f = new_frame(clip, i, w, h, SV_DEG_BI, st);
        CHECK(sv_frames_write(wr, f->rgb, NULL, &e) == 0);
    }
    CHECKF(sv_frames_writer_finish(wr, &e) == 0, "%s", e.msg);
}

static void test_video_sources(void) {
    uint64_t st = 700;
    const char *root = tu_tmpdir(), *vids = tu_tmpdir();
    const char *one = tu_join(root, "one.mkv");
    write_video(one, 0, 6, 34, 22, &st);
    write_video(tu_join(vids, "b.mkv"), 2, 5, 24, 24, &st);
    write_video(tu_join(vids, "a.mkv"), 1, 5, 24, 20, &st);
    const char *src[] = {one, vids};
    sv_data_opts o = small_opts(4, 4, 3);
    sv_err e = {{0}};
    sv_dataset *d = sv_dataset_open(src, 2, &o, &e);
    CHECKF(d, "%s", e.msg);
    if (d) {
        CHECK(sv_dataset_num_clips(d) == 3);
        CHECK(has(sv_dataset_clip_name(d, 1), "a.mkv") && has(sv_dataset_clip_name(d, 2), "b.mkv"));
        char desc[512];
        sv_dataset_describe(d, desc, sizeof desc);
        CHECKF(has(desc, "3 videos") && has(desc, "16 frames"), "%s", desc);
        int ids[3] = {0, 1, 2};
        float lr[3 * 4 * 3 * 16], gt[3 * 4 * 3 * 256];
        for (int it = 0; it < 8; it++) {
            sv_dataset_next(d, lr, gt, &e);
            check_batch(d, lr, gt, 3, 4, 4, ids, NULL);
        }
        sv_dataset_free(d);
    }
    frames_reset();
}

// The memory cap cuts clips to their first K frames (K >= seq); a cap below seq frames per clip fails.
static void test_memory_cap(void) {
    uint64_t st = 800;
    const char *root = tu_tmpdir();
    make_clip(tu_join(root, "long"), 0, 20, 32, 32, "", 3, 0, SV_DEG_BI, &st);
    write_video(tu_join(root, "v.mkv"), 1, 12, 32, 32, &st);
    const size_t fb = 32 * 32 * 3 + 8 * 8 * 3;  // GT + LR bytes of one frame
    sv_data_opts o = small_opts(3, 4, 4);
    o.mem_cap = 16 * fb;  // 8 frames per clip
    sv_err e = {{0}};
    sv_dataset *d = sv_dataset_open(&root, 1, &o, &e);
    CHECKF(d, "%s", e.msg);
    if (d) {
        char desc[512];
        sv_dataset_describe(d, desc, sizeof desc);
        CHECKF(has(desc, "16 frames") && has(desc, "2 clips cut to their first 8 frames"), "%s", desc);
        int ids[2] = {1, 0};  // a folder's videos come before its sub-folders
        float lr[4 * 3 * 3 * 16], gt[4 * 3 * 3 * 256];
        for (int it = 0; it < 10; it++) {
            sv_dataset_next(d, lr, gt, &e);
            check_batch(d, lr, gt, 4, 3, 4, ids, NULL);
            for (int b = 0; b < 4; b++) CHECK(sv_dataset_last(d)[b].start <= 8 - 3);
        }
        sv_dataset_free(d);
    }
    o.mem_cap = 5 * fb;  // not even 3 frames per clip
    CHECK(sv_dataset_open(&root, 1, &o, &e) == NULL);
    CHECKF(has(e.msg, "memory cap") && has(e.msg, "too small"), "%s", e.msg);
    frames_reset();
}

static void test_errors(void) {
    uint64_t st = 900;
    sv_data_opts o = small_opts(3, 4, 2);
    sv_err e = {{0}};
    const char *root = tu_tmpdir();
    const char *p = tu_join(root, "nothing-here");
    CHECK(sv_dataset_open(&p, 1, &o, &e) == NULL);
    CHECKF(has(e.msg, "nothing-here") && has(e.msg, "not found"), "%s", e.msg);

    const char *empty = tu_join(root, "empty");
    mkdirs(tu_join(empty, "sub"));
    write_text(tu_join(empty, "notes.txt"), "x");
    CHECK(sv_dataset_open(&empty, 1, &o, &e) == NULL);
    CHECKF(has(e.msg, "empty") && has(e.msg, "no training clips"), "%s", e.msg);

    const char *sizes = tu_join(root, "sizes");
    make_clip(tu_join(sizes, "c"), 0, 3, 24, 24, "", 1, 0, SV_DEG_BI, &st);
    unsigned char *big = random_rgb(28, 24, &st);
    write_png(tu_join(tu_join(sizes, "c"), "3.png"), big, 28, 24);
    free(big);
    CHECK(sv_dataset_open(&sizes, 1, &o, &e) == NULL);
    CHECKF(has(e.msg, "c/3.png") && has(e.msg, "28x24") && has(e.msg, "24x24"), "%s", e.msg);

    const char *small = tu_join(root, "small");
    make_clip(tu_join(small, "c"), 0, 3, 15, 40, "", 1, 0, SV_DEG_BI, &st);
    CHECK(sv_dataset_open(&small, 1, &o, &e) == NULL);
    CHECKF(has(e.msg, "c/0.png") && has(e.msg, "15x40") && has(e.msg, "smaller than the GT patch 16x16"), "%s", e.msg);

    const char *bad = tu_join(root, "bad");
    make_clip(tu_join(bad, "c"), 0, 3, 16, 16, "", 1, 0, SV_DEG_BI, &st);
    write_text(tu_join(tu_join(bad, "c"), "2.png"), "this is not a PNG file at all");
    CHECK(sv_dataset_open(&bad, 1, &o, &e) == NULL);
    CHECKF(has(e.msg, "c/2.png") && has(e.msg, "PNG"), "%s", e.msg);

    const char *single = tu_join(tu_join(sizes, "c"), "0.png");
    CHECK(sv_dataset_open(&single, 1, &o, &e) == NULL);
    CHECKF(has(e.msg, "0.png") && has(e.msg, "single frame is not a clip"), "%s", e.msg);
    const char *jpg = tu_join(root, "photo.JPG");  // a JPEG too, not taken for a video (by its name)
    write_text(jpg, "not even a JPEG");
    CHECK(sv_dataset_open(&jpg, 1, &o, &e) == NULL);
    CHECKF(has(e.msg, "photo.JPG") && has(e.msg, "single frame is not a clip"), "%s", e.msg);

    const char *notvideo = tu_join(root, "clip.mp4");
    write_text(notvideo, "garbage");
    CHECK(sv_dataset_open(&notvideo, 1, &o, &e) == NULL);
    CHECKF(has(e.msg, "clip.mp4"), "%s", e.msg);

    o.patch = 0;
    CHECK(sv_dataset_open(&bad, 1, &o, &e) == NULL && has(e.msg, "patch"));
    o.patch = 4;
    CHECK(sv_dataset_open(&bad, 0, &o, &e) == NULL && has(e.msg, "no training data"));
    frames_reset();
}

int main(void) {
    run_test("bi_matlab_vectors", test_bi_matlab_vectors);
    run_test("bd_vectors", test_bd_vectors);
    run_test("u8_vectors", test_u8_vectors);
    run_test("resize_constant_and_errors", test_resize_constant_and_errors);
    run_test("rng", test_rng);
    run_test("layouts_and_augmentation", test_layouts_and_augmentation);
    run_test("no_augmentation", test_no_augmentation);
    run_test("mirror", test_mirror);
    run_test("bd_dataset", test_bd_dataset);
    run_test("repeatable_and_resume", test_repeatable_and_resume);
    run_test("ranks", test_ranks);
    run_test("paired", test_paired);
    run_test("synthetic_motion", test_synthetic_motion);
    run_test("clip_weight", test_clip_weight);
    run_test("video_sources", test_video_sources);
    run_test("memory_cap", test_memory_cap);
    run_test("errors", test_errors);
    return test_summary();
}
