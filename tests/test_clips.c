// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// test_clips.c: the one clip source. io/clips.h's layouts (one level, LR/GT by name, a tree with GT/ and
// LR/), on folders this test writes: which paths are clips, their names and order, the pairs, the
// errors; a .ts and a .wmv clip is listed by every user (eval's pairing, the training data, train-flow's
// one-level listing); then pipeline/clip_stream.h's window over a real folder clip: every frame comes
// through once, in order, with its name, chunk by chunk, and max_frames stops it.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "io/clips.h"
#include "io/frames.h"
#include "io/png_io.h"
#include "pipeline/clip_stream.h"
#include "testutil.h"
#include "train/dataset.h"

static void touch(const char *path) {
    FILE *f = fopen(path, "wb");
    CHECKF(f, "cannot create %s", path);
    if (f) fputs("x", f), fclose(f);
}

static void mkdir_p(const char *path) { CHECKF(mkdir(path, 0755) == 0, "cannot create %s", path); }

// A PNG frame of w x h whose pixels hold `tag` (so frames can be told apart).
static void png(const char *path, int w, int h, int tag) {
    unsigned char *rgb = malloc((size_t)w * h * 3);
    for (int i = 0; i < w * h * 3; i++) rgb[i] = (unsigned char)(tag + i % 7);
    sv_err e;
    FILE *f = fopen(path, "wb");
    CHECKF(f && sv_png_write_rgb(f, path, rgb, w, h, &e) == 0, "cannot write %s", path);
    if (f) fclose(f);
    free(rgb);
}

// A folder clip of n frames of w x h: f0.png, f1.png, ...
static void folder_clip(const char *dir, int n, int w, int h) {
    mkdir_p(dir);
    char name[32];
    for (int i = 0; i < n; i++) {
        snprintf(name, sizeof name, "f%d.png", i);
        png(tu_join(dir, name), w, h, 10 * i);
    }
}

// A real video of n frames of w x h (FFV1 in Matroska) under any name: libav probes the content.
static void video_clip(const char *path, int n, int w, int h) {
    char tmp[600];
    snprintf(tmp, sizeof tmp, "%s.tmp.mkv", path);
    sv_err e;
    sv_frame_writer *wr = sv_frames_create(tmp, w, h, 25, 1, &e);
    CHECKF(wr, "%s", e.msg);
    if (!wr) return;
    unsigned char *rgb = calloc((size_t)w * h * 3, 1);
    for (int i = 0; i < n; i++) CHECKF(sv_frames_write(wr, rgb, NULL, &e) == 0, "%s", e.msg);
    CHECKF(sv_frames_writer_finish(wr, &e) == 0, "%s", e.msg);
    CHECK(rename(tmp, path) == 0);
    free(rgb);
}

static int ends(const char *s, const char *tail) {
    size_t n = strlen(s), k = strlen(tail);
    return n >= k && !strcmp(s + n - k, tail);
}

// One level: a folder of clips (sub-folders and videos by the one extension rule), in clip-name order;
// a frame folder and a file are one clip each; an empty or missing folder is an error.
static void test_one_level(void) {
    const char *d = tu_tmpdir();
    mkdir_p(tu_join(d, "zeta"));
    mkdir_p(tu_join(d, "alpha"));
    touch(tu_join(d, "mid.TS"));      // any case
    touch(tu_join(d, "beta.wmv"));
    touch(tu_join(d, "notes.txt"));   // neither frames nor video: ignored
    touch(tu_join(d, ".hidden.mp4")); // hidden: never looked at
    sv_clip_list l = {0};
    sv_err e;
    CHECKF(sv_clips_list(&l, d, &e) == 0, "%s", e.msg);
    const char *want[4] = {"alpha", "beta", "mid", "zeta"};
    const int video[4] = {0, 1, 1, 0};
    CHECKF(l.n == 4, "%d clips", l.n);
    for (int i = 0; i < l.n && i < 4; i++) {
        CHECKF(!strcmp(l.v[i].name, want[i]), "clip %d: %s, want %s", i, l.v[i].name, want[i]);
        CHECKF(l.v[i].is_video == video[i] && !l.v[i].lr_path, "clip %d: %s", i, l.v[i].path);
    }
    CHECK(l.n == 4 && ends(l.v[1].path, "/beta.wmv") && ends(l.v[2].path, "/mid.TS"));
    sv_clip_list_free(&l);

    // a folder holding PNG frames is one clip, whatever else it holds; so is a file
    folder_clip(tu_join(d, "alpha/frames"), 1, 8, 8);
    png(tu_join(d, "alpha/0.png"), 8, 8, 0);
    CHECKF(sv_clips_list(&l, tu_join(d, "alpha/"), &e) == 0, "%s", e.msg);
    CHECKF(l.n == 1 && !strcmp(l.v[0].name, "alpha") && !l.v[0].is_video, "%d clips", l.n);
    CHECKF(sv_clips_list(&l, tu_join(d, "beta.wmv"), &e) == 0, "%s", e.msg);
    CHECKF(l.n == 2 && !strcmp(l.v[1].name, "beta") && l.v[1].is_video, "%d clips", l.n);
    sv_clip_list_free(&l);

    mkdir_p(tu_join(d, "empty"));
    CHECK(sv_clips_list(&l, tu_join(d, "empty"), &e) == -1);
    CHECKF(strstr(e.msg, "empty") && strstr(e.msg, "no frames (PNG, JPEG, WebP, TIFF or BMP), clip folders or videos"), "%s", e.msg);
    CHECK(sv_clips_list(&l, tu_join(d, "nowhere"), &e) == -1);
    CHECKF(strstr(e.msg, "nowhere"), "%s", e.msg);
    CHECK(l.n == 0);
    sv_clip_list_free(&l);
}

// LR/GT by name (eval): pairs in LR clip-name order, extra GT clips ignored, the errors name the clip.
static void test_pairs(void) {
    const char *d = tu_tmpdir(), *lr = tu_join(d, "LR"), *gt = tu_join(d, "GT");
    mkdir_p(lr), mkdir_p(gt);
    mkdir_p(tu_join(lr, "c2")), mkdir_p(tu_join(gt, "c2"));
    touch(tu_join(lr, "c1.ts")), touch(tu_join(gt, "c1.wmv"));
    mkdir_p(tu_join(gt, "unused"));
    sv_clip_list l = {0};
    sv_err e;
    CHECKF(sv_clips_pair(&l, lr, gt, &e) == 0, "%s", e.msg);
    CHECKF(l.n == 2, "%d pairs", l.n);
    if (l.n == 2) {
        CHECK(!strcmp(l.v[0].name, "c1") && ends(l.v[0].lr_path, "LR/c1.ts") && ends(l.v[0].path, "GT/c1.wmv"));
        CHECK(l.v[0].is_video && !l.v[1].is_video);
        CHECK(!strcmp(l.v[1].name, "c2") && ends(l.v[1].lr_path, "LR/c2") && ends(l.v[1].path, "GT/c2"));
    }
    sv_clip_list_free(&l);
    // one clip each
    CHECKF(sv_clips_pair(&l, tu_join(lr, "c1.ts"), tu_join(gt, "c2"), &e) == 0, "%s", e.msg);
    CHECK(l.n == 1 && !strcmp(l.v[0].name, "c1") && ends(l.v[0].path, "GT/c2"));
    sv_clip_list_free(&l);
    // errors: nothing is paired
    mkdir_p(tu_join(lr, "c3"));
    CHECK(sv_clips_pair(&l, lr, gt, &e) == -1 && l.n == 0);
    CHECKF(strstr(e.msg, "no GT clip named 'c3'"), "%s", e.msg);
    mkdir_p(tu_join(gt, "c3")), touch(tu_join(gt, "c3.mp4"));
    CHECK(sv_clips_pair(&l, lr, gt, &e) == -1 && l.n == 0);
    CHECKF(strstr(e.msg, "two GT clips named 'c3'"), "%s", e.msg);
    CHECK(sv_clips_pair(&l, lr, tu_join(gt, "c3.mp4"), &e) == -1);
    CHECKF(strstr(e.msg, "GT must be a folder of clips"), "%s", e.msg);
    CHECK(sv_clips_pair(&l, tu_join(d, "nolr"), gt, &e) == -1);
    CHECKF(strstr(e.msg, "nolr") && strstr(e.msg, "LR input"), "%s", e.msg);
    sv_clip_list_free(&l);
}

// A tree (training data): frame folders at any depth and videos, in natural name order (a folder's videos,
// then the folder, then its sub-folders); GT/ beside LR/ or BIx4/ pairs clips by relative path.
static void test_tree(void) {
    const char *d = tu_tmpdir();
    mkdir_p(tu_join(d, "set"));
    folder_clip(tu_join(d, "set/b"), 1, 8, 8);
    mkdir_p(tu_join(d, "set/a"));
    folder_clip(tu_join(d, "set/a/0001"), 1, 8, 8);
    touch(tu_join(d, "set/a/x.wmv"));
    touch(tu_join(d, "set/a/y.ts"));
    png(tu_join(d, "set/a/0.png"), 8, 8, 0);
    folder_clip(tu_join(d, "set/b10"), 1, 8, 8);  // natural order: b2 before b10
    folder_clip(tu_join(d, "set/b2"), 1, 8, 8);
    sv_clip_list l = {0};
    sv_err e;
    CHECKF(sv_clips_find(&l, tu_join(d, "set"), NULL, 0, &e) == 0, "%s", e.msg);
    const char *want[7] = {"set/a/x.wmv", "set/a/y.ts", "set/a", "set/a/0001", "set/b", "set/b2", "set/b10"};
    CHECKF(l.n == 7, "%d clips", l.n);
    for (int i = 0; i < l.n && i < 7; i++) CHECKF(ends(l.v[i].path, want[i]), "clip %d: %s, want %s", i, l.v[i].path, want[i]);
    sv_clip_list_free(&l);

    // GT/ + BIx4/: only GT/ is walked, each clip paired with its LR folder (LR/ would come first)
    const char *p = tu_join(d, "paired");
    mkdir_p(p), mkdir_p(tu_join(p, "GT")), mkdir_p(tu_join(p, "BIx4"));
    folder_clip(tu_join(p, "GT/000"), 1, 8, 8);
    folder_clip(tu_join(p, "BIx4/000"), 1, 2, 2);
    const char *lr_dirs[2] = {"LR", "BIx4"};
    CHECKF(sv_clips_find(&l, p, lr_dirs, 2, &e) == 0, "%s", e.msg);
    CHECKF(l.n == 1 && ends(l.v[0].path, "paired/GT/000") && l.v[0].lr_path && ends(l.v[0].lr_path, "paired/BIx4/000"),
           "%d clips", l.n);
    sv_clip_list_free(&l);
    touch(tu_join(p, "GT/clip.mp4"));  // paired data are frame folders
    CHECK(sv_clips_find(&l, p, lr_dirs, 2, &e) == -1);
    CHECKF(strstr(e.msg, "clip.mp4") && strstr(e.msg, "paired GT/LR data must be folders of frames"), "%s", e.msg);
    sv_clip_list_free(&l);

    // nothing found is no error here (the caller says what it looked for); a missing root is
    mkdir_p(tu_join(d, "empty"));
    CHECK(sv_clips_find(&l, tu_join(d, "empty"), NULL, 0, &e) == 0 && l.n == 0);
    CHECK(sv_clips_find(&l, tu_join(d, "nowhere"), NULL, 0, &e) == -1);
    CHECKF(strstr(e.msg, "nowhere"), "%s", e.msg);
    sv_clip_list_free(&l);
}

// The same .ts and .wmv clips (real videos) are clips for every user: the training data, eval's pairs,
// train-flow's one-level listing.
static void test_every_user_lists_ts_wmv(void) {
    const char *d = tu_tmpdir(), *data = tu_join(d, "data");
    mkdir_p(data);
    video_clip(tu_join(data, "a.ts"), 3, 32, 32);
    video_clip(tu_join(data, "b.wmv"), 3, 32, 32);
    sv_data_opts o;
    sv_data_opts_default(&o);
    o.seq = 3, o.patch = 8, o.batch = 1;
    sv_err e;
    sv_dataset *ds = sv_dataset_open(&data, 1, &o, &e);
    CHECKF(ds, "%s", e.msg);
    if (ds) {
        CHECKF(sv_dataset_num_clips(ds) == 2, "%d clips", sv_dataset_num_clips(ds));
        CHECK(ends(sv_dataset_clip_name(ds, 0), "a.ts") && ends(sv_dataset_clip_name(ds, 1), "b.wmv"));
        sv_dataset_free(ds);
    }
    sv_clip_list l = {0};
    CHECKF(sv_clips_pair(&l, data, data, &e) == 0, "%s", e.msg);
    CHECK(l.n == 2 && !strcmp(l.v[0].name, "a") && !strcmp(l.v[1].name, "b"));
    sv_clip_list_free(&l);
    CHECKF(sv_clips_list(&l, data, &e) == 0, "%s", e.msg);
    CHECK(l.n == 2 && l.v[0].is_video && l.v[1].is_video);
    sv_clip_list_free(&l);
    // an empty folder: an error for each user
    mkdir_p(tu_join(d, "empty"));
    const char *empty = tu_join(d, "empty");
    CHECK(sv_dataset_open(&empty, 1, &o, &e) == NULL);
    CHECKF(strstr(e.msg, "empty") && strstr(e.msg, "no training clips"), "%s", e.msg);
    CHECK(sv_clips_pair(&l, empty, data, &e) == -1);
    CHECKF(strstr(e.msg, "empty") && strstr(e.msg, "no frames (PNG, JPEG, WebP, TIFF or BMP), clip folders or videos"), "%s", e.msg);
    sv_clip_list_free(&l);
}

typedef struct {
    int chunks, frames, first_tag[16];
    char names[16][16];
    int had_prev[16];
} seen;

static int note_chunk(void *ud, sv_clip_window *w, int n_emit, sv_err *e) {
    seen *s = ud;
    CHECK(n_emit >= 1 && n_emit <= w->have && w->have <= w->win);
    s->had_prev[s->chunks++] = w->prev != NULL;
    for (int k = 0; k < n_emit && s->frames < 16; k++, s->frames++) {
        s->first_tag[s->frames] = (int)(w->frames[k][0] * 255.0f + 0.5f);
        snprintf(s->names[s->frames], sizeof s->names[0], "%s", w->names[k] ? w->names[k] : "");
    }
    return 0;
}

// The window: 5 frames in chunks of 2 with a lookahead of 1 come through once each, in order, with their
// names; prev is set from the second chunk on; max_frames 3 stops after 3 frames.
static void test_window(void) {
    const char *d = tu_tmpdir(), *c = tu_join(d, "clip");
    folder_clip(c, 5, 6, 4);
    sv_err e;
    for (int max = 0; max <= 3; max += 3) {
        sv_frame_reader *rd = sv_frames_open(c, &e);
        CHECKF(rd, "%s", e.msg);
        if (!rd) return;
        sv_clip_window w;
        seen s = {0};
        CHECKF(sv_clip_window_init(&w, c, rd, 2, 1, max, 1, &e) == 0, "%s", e.msg);
        CHECKF(sv_clip_stream(&w, note_chunk, &s, &e) == 0, "%s", e.msg);
        const int n = max ? max : 5;
        CHECKF(s.frames == n && s.chunks == (n + 1) / 2, "max %d: %d frames in %d chunks", max, s.frames, s.chunks);
        for (int i = 0; i < s.frames; i++) {
            char want[16];
            snprintf(want, sizeof want, "f%d.png", i);
            CHECKF(s.first_tag[i] == 10 * i && !strcmp(s.names[i], want), "frame %d: tag %d, name %s", i,
                   s.first_tag[i], s.names[i]);
        }
        CHECK(!s.had_prev[0] && s.had_prev[1]);
        CHECK(w.limited == (max > 0));
        sv_clip_window_free(&w);
        sv_frames_close(rd);
    }
}

int main(void) {
    run_test("one_level", test_one_level);
    run_test("pairs", test_pairs);
    run_test("tree", test_tree);
    run_test("every_user_lists_ts_wmv", test_every_user_lists_ts_wmv);
    run_test("window", test_window);
    return test_summary();
}
