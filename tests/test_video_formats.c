// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// test_video_formats.c: io/video_formats.h, the container and encoder tables (pure data, no libav): which
// encoder goes in which container, the lookups by name, muxer and extension, and the option checks with
// their messages.
#include <stdio.h>
#include <string.h>

#include "io/video_formats.h"
#include "testutil.h"

static int has(const char *s, const char *sub) { return strstr(s, sub) != NULL; }

static const sv_container *C(const char *name) { return sv_container_find(name); }

static void test_lookups(void) {
    CHECK(C("mkv") && C("matroska") == C("mkv") && C(".MKV") == C("mkv"));
    CHECK(C("y4m") && C("yuv4mpegpipe") == C("y4m"));
    CHECK(!C("avi") && !C(""));
    CHECK(sv_container_of_path("a/b/out.MP4") == C("mp4"));
    CHECK(sv_container_of_path("x.webm") == C("webm") && sv_container_of_path("x.mov") == C("mov"));
    CHECK(!sv_container_of_path("x.avi") && !sv_container_of_path("frames") && !sv_container_of_path(".mkv"));
    CHECK(!sv_container_of_path("out.mkv/frames"));
    CHECK(sv_codec_info_find("libx264") && !sv_codec_info_find("x264"));
    CHECK(sv_word_in("medium", "fast medium slow") && !sv_word_in("med", "fast medium slow"));
    CHECK(!sv_word_in("", "a b") && sv_word_in("1", "0 1 2") && !sv_word_in("1", "0 11 2"));
}

// Every container's default encoder (and fallback) is in the table and fits it; the pairs libavformat
// refuses are refused here.
static void test_pairs(void) {
    int n;
    const sv_container *k = sv_containers(&n);
    for (int i = 0; i < n; i++) {
        const sv_codec_info *c = sv_codec_info_find(k[i].codec);
        CHECKF(c && sv_codec_fits(c, &k[i]), "%s: default %s", k[i].name, k[i].codec);
        if (k[i].fallback) CHECKF(sv_codec_fits(sv_codec_info_find(k[i].fallback), &k[i]), "%s", k[i].name);
    }
    static const struct {
        const char *codec, *container;
        int fits;
    } pairs[] = {{"libx264", "mp4", 1},    {"libx264", "webm", 0},    {"prores_ks", "webm", 0},
                 {"prores_ks", "mov", 1},  {"prores_ks", "mp4", 0},   {"ffv1", "mp4", 0},
                 {"ffv1", "mkv", 1},       {"libsvtav1", "mov", 0},   {"libsvtav1", "webm", 1},
                 {"libvpx-vp9", "webm", 1}, {"libx265", "webm", 0},   {"wrapped_avframe", "y4m", 1},
                 {"libx264", "y4m", 0}};
    for (size_t i = 0; i < sizeof pairs / sizeof *pairs; i++)
        CHECKF(sv_codec_fits(sv_codec_info_find(pairs[i].codec), C(pairs[i].container)) == pairs[i].fits,
               "%s in %s", pairs[i].codec, pairs[i].container);
    char buf[256];
    CHECKF(!strcmp(sv_codecs_for(C("webm"), buf, sizeof buf), "libsvtav1, libaom-av1 or libvpx-vp9"), "%s", buf);
    CHECKF(!strcmp(sv_container_names(buf, sizeof buf), "mp4, mkv, mov, webm or y4m"), "%s", buf);
}

// expect_refused: the check fails with a message holding both words
static void expect_refused(const char *container, sv_writer_opts o, const char *w1, const char *w2) {
    sv_err e = {{0}};
    CHECKF(!sv_video_choice_check("out.x", C(container), &o, &e), "accepted (%s)", w1);
    CHECKF(has(e.msg, "out.x") && has(e.msg, w1) && has(e.msg, w2), "message: %s", e.msg);
}

static void test_choice_check(void) {
    sv_err e = {{0}};
    const sv_codec_info *c = sv_video_choice_check("o", C("mp4"), &(sv_writer_opts){0}, &e);
    CHECK(c && !strcmp(c->name, "libx264") && c->crf_default == 17 && !strcmp(c->preset_default, "medium"));
    c = sv_video_choice_check("o", C("mkv"), &(sv_writer_opts){0}, &e);
    CHECK(c && !strcmp(c->name, "ffv1"));
    c = sv_video_choice_check("o", C("mkv"), &(sv_writer_opts){.encoder = "libx265", .crf_set = 1, .crf = 51,
                                                                .preset = "veryslow"}, &e);
    CHECKF(c && !strcmp(c->name, "libx265"), "%s", e.msg);
    c = sv_video_choice_check("o", C("webm"), &(sv_writer_opts){.encoder = "libsvtav1", .crf_set = 1, .crf = 63,
                                                                 .preset = "8"}, &e);
    CHECKF(c && !strcmp(c->name, "libsvtav1"), "%s", e.msg);
    expect_refused("mp4", (sv_writer_opts){.encoder = "x264"}, "'x264'", "libx264");
    expect_refused("webm", (sv_writer_opts){.encoder = "prores_ks"}, "prores_ks", "webm takes");
    expect_refused("mp4", (sv_writer_opts){.crf_set = 1, .crf = 52}, "crf 52", "0-51");
    expect_refused("webm", (sv_writer_opts){.crf_set = 1, .crf = 64}, "crf 64", "0-63");
    expect_refused("mkv", (sv_writer_opts){.crf_set = 1, .crf = 0}, "crf", "ffv1");
    expect_refused("mp4", (sv_writer_opts){.preset = "fastest"}, "'fastest'", "libx264");
    expect_refused("webm", (sv_writer_opts){.encoder = "libsvtav1", .preset = "14"}, "'14'", "libsvtav1");
    expect_refused("webm", (sv_writer_opts){.preset = "fast"}, "preset", "libvpx-vp9");
}

int main(void) {
    run_test("lookups", test_lookups);
    run_test("pairs", test_pairs);
    run_test("choice_check", test_choice_check);
    return test_summary();
}
