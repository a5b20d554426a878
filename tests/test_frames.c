// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// test_frames.c: the frame I/O layer (io/frames.h): PNG folders, FFV1 .mkv, H.264 .mp4, error messages,
// atomic output, and a real clip (cockatoo.mp4: tests/data/fetch_cockatoo.sh, path in $SLIMVSR_COCKATOO).
#include <dirent.h>
#include <math.h>
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/warn.h"
#include "io/atomic_file.h"
#include "io/frames.h"
#include "testutil.h"

// ---- helpers ----

// Temporary folders made by the tests of this run.

static int exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0;
}

static int count_entries(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return -1;
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d)))
        if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) n++;
    closedir(d);
    return n;
}

static int has(const char *msg, const char *part) { return strstr(msg, part) != NULL; }

// Deterministic noise: what a lossless path must keep bit for bit.
static void fill_noise(unsigned char *rgb, size_t n, unsigned seed) {
    uint64_t s = seed * 0x9E3779B97F4A7C15ULL + 1;
    for (size_t i = 0; i < n; i++) {
        s = s * 6364136223846793005ULL + 1442695040888963407ULL;
        rgb[i] = (unsigned char)(s >> 56);
    }
}

// A smooth moving picture: what a lossy codec must keep well.
static void fill_smooth(unsigned char *rgb, int w, int h, int t) {
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            for (int c = 0; c < 3; c++) {
                double v = 128 + 55 * sin(0.11 * x + 0.3 * t + 2.1 * c) + 45 * cos(0.13 * y - 0.2 * t + c);
                rgb[((size_t)y * w + x) * 3 + c] = (unsigned char)lround(v);
            }
}

static double psnr(const unsigned char *a, const unsigned char *b, size_t n) {
    double se = 0;
    for (size_t i = 0; i < n; i++) se += ((double)a[i] - b[i]) * ((double)a[i] - b[i]);
    if (se == 0) return 99;
    return 10 * log10(255.0 * 255.0 * (double)n / se);
}

static int max_abs_diff(const unsigned char *a, const unsigned char *b, size_t n) {
    int m = 0;
    for (size_t i = 0; i < n; i++) {
        int d = abs((int)a[i] - (int)b[i]);
        if (d > m) m = d;
    }
    return m;
}

// Writes a PNG of any colour type/depth with libpng directly (rows given as packed bytes).
static void write_png_raw(const char *path, int w, int h, int color, int depth, int interlace,
                          const unsigned char *data, size_t rowbytes, const png_color *palette, int npal) {
    FILE *f = fopen(path, "wb");
    CHECK(f != NULL);
    if (!f) return;
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png_create_info_struct(png);
    if (setjmp(png_jmpbuf(png))) {
        CHECKF(0, "libpng failed writing %s", path);
        png_destroy_write_struct(&png, &info);
        fclose(f);
        return;
    }
    png_init_io(png, f);
    png_set_IHDR(png, info, w, h, depth, color, interlace, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    if (palette) png_set_PLTE(png, info, palette, npal);
    png_write_info(png, info);
    int passes = png_set_interlace_handling(png);
    for (int p = 0; p < passes; p++)
        for (int y = 0; y < h; y++) png_write_row(png, data + (size_t)y * rowbytes);
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    fclose(f);
}

// Writes rgb (w x h) as an 8-bit RGB PNG with libpng directly.
static void write_rgb_png(const char *path, const unsigned char *rgb, int w, int h) {
    write_png_raw(path, w, h, PNG_COLOR_TYPE_RGB, 8, PNG_INTERLACE_NONE, rgb, (size_t)w * 3, NULL, 0);
}

static void write_text(const char *path, const char *text, int repeat) {
    FILE *f = fopen(path, "wb");
    CHECK(f != NULL);
    if (!f) return;
    for (int i = 0; i < repeat; i++) fputs(text, f);
    fclose(f);
}

// ---- PNG folders ----

static void test_png_roundtrip_odd(void) {
    const char *dir = tu_tmpdir();
    const char *out = tu_join(dir, "frames");
    enum { W = 37, H = 23, N = 3 };
    unsigned char src[N][W * H * 3], got[W * H * 3];
    sv_err e = {{0}};
    sv_frame_writer *wr = sv_frames_create(out, W, H, 0, 0, &e);
    CHECKF(wr, "create: %s", e.msg);
    if (!wr) return;
    CHECK(!strcmp(sv_frames_writer_codec(wr), "png"));
    for (int i = 0; i < N; i++) {
        fill_noise(src[i], sizeof src[i], 10 + i);
        CHECKF(sv_frames_write(wr, src[i], NULL, &e) == 0, "write: %s", e.msg);
    }
    CHECK(!exists(out));  // not published before finish
    CHECKF(sv_frames_writer_finish(wr, &e) == 0, "finish: %s", e.msg);
    CHECK(count_entries(dir) == 1);  // the temporary folder is gone
    CHECK(count_entries(out) == N + 1);  // the frames and the list of what slimvsr wrote
    CHECK(exists(tu_join(out, "00000000.png")) && exists(tu_join(out, "00000002.png")));
    CHECK(exists(tu_join(out, SV_ATOMIC_LIST)));

    sv_frame_reader *r = sv_frames_open(out, &e);
    CHECKF(r, "open: %s", e.msg);
    if (!r) return;
    CHECK(sv_frames_width(r) == W && sv_frames_height(r) == H);
    CHECK(sv_frames_count(r) == N);
    CHECK(sv_frames_fps(r) == 0);
    int num = 1, den = 1;
    CHECK(sv_frames_fps_rational(r, &num, &den) == -1 && num == 0 && den == 0);
    CHECK(sv_frames_last_name(r) == NULL);
    for (int i = 0; i < N; i++) {
        CHECKF(sv_frames_read(r, got, &e) == 1, "read %d: %s", i, e.msg);
        CHECKF(!memcmp(got, src[i], sizeof got), "frame %d differs", i);
    }
    CHECK(!strcmp(sv_frames_last_name(r), "00000002.png"));
    CHECK(sv_frames_read(r, got, &e) == 0);
    sv_frames_close(r);

    // Writing the same output again is refused without `replace`; with it the folder slimvsr wrote is
    // replaced whole, and one holding a file slimvsr did not write is refused even so.
    CHECK(sv_frames_create(out, W, H, 0, 0, &e) == NULL);
    CHECKF(has(e.msg, "frames") && has(e.msg, "-y"), "message: %s", e.msg);
    const sv_writer_opts replace = {.replace = 1};
    wr = sv_frames_create_with(out, W, H, 0, 0, &replace, &e);
    CHECKF(wr, "create again: %s", e.msg);
    if (!wr) return;
    CHECK(sv_frames_write(wr, src[0], "only.png", &e) == 0);
    CHECKF(sv_frames_writer_finish(wr, &e) == 0, "finish again: %s", e.msg);
    CHECK(count_entries(out) == 2 && exists(tu_join(out, "only.png")));
    CHECK(count_entries(dir) == 1);  // the previous output, moved aside, is gone too
    write_text(tu_join(out, "notes.txt"), "mine", 1);
    CHECK(sv_frames_create_with(out, W, H, 0, 0, &replace, &e) == NULL);
    CHECKF(has(e.msg, "notes.txt") && has(e.msg, "did not write"), "message: %s", e.msg);
    CHECK(exists(tu_join(out, "notes.txt")) && exists(tu_join(out, "only.png")));
}

// Gray, gray+alpha, 1-bit, 16-bit, palette, RGBA, interlaced: all read as 8-bit RGB.
static void test_png_color_types(void) {
    const char *dir = tu_tmpdir();
    enum { W = 5, H = 3, NPIX = W * H };
    unsigned char g8[NPIX], ga8[NPIX * 2], g16[NPIX * 2], pal[NPIX], rgba16[NPIX * 8], rgb8[NPIX * 3];
    unsigned char g1[H][1];
    unsigned char want[7][NPIX * 3];
    png_color palette[4] = {{10, 20, 30}, {200, 100, 0}, {0, 255, 128}, {77, 77, 77}};
    for (int i = 0; i < NPIX; i++) {
        int v = (i * 37 + 5) % 256;
        unsigned char rgb[3] = {(unsigned char)v, (unsigned char)(255 - v), (unsigned char)(v / 2)};
        g8[i] = (unsigned char)v;
        ga8[2 * i] = (unsigned char)v, ga8[2 * i + 1] = (unsigned char)(i * 10);
        g16[2 * i] = g16[2 * i + 1] = (unsigned char)v;  // v * 257, big-endian: exact in 8 bits
        pal[i] = (unsigned char)(i % 4);
        for (int c = 0; c < 3; c++) {
            rgba16[8 * i + 2 * c] = rgba16[8 * i + 2 * c + 1] = rgb[c];
            rgb8[3 * i + c] = rgb[c];
            want[0][3 * i + c] = want[1][3 * i + c] = want[2][3 * i + c] = (unsigned char)v;
            want[4][3 * i + c] = want[5][3 * i + c] = rgb[c];
        }
        rgba16[8 * i + 6] = 0x12, rgba16[8 * i + 7] = 0x34;
        want[3][3 * i + 0] = palette[i % 4].red;
        want[3][3 * i + 1] = palette[i % 4].green;
        want[3][3 * i + 2] = palette[i % 4].blue;
    }
    for (int y = 0; y < H; y++) g1[y][0] = (unsigned char)(y == 1 ? 0xA8 : 0x50);  // 10101 / 01010
    for (int i = 0; i < NPIX; i++) {
        int y = i / W, x = i % W;
        int bit = (g1[y][0] >> (7 - x)) & 1;
        memset(want[6] + 3 * i, bit ? 255 : 0, 3);
    }
    write_png_raw(tu_join(dir, "0_gray8.png"), W, H, PNG_COLOR_TYPE_GRAY, 8, 0, g8, W, NULL, 0);
    write_png_raw(tu_join(dir, "1_gray_alpha.png"), W, H, PNG_COLOR_TYPE_GRAY_ALPHA, 8, 0, ga8, W * 2, NULL, 0);
    write_png_raw(tu_join(dir, "2_gray16.png"), W, H, PNG_COLOR_TYPE_GRAY, 16, 0, g16, W * 2, NULL, 0);
    unsigned char pal2[H][2];
    memset(pal2, 0, sizeof pal2);
    for (int i = 0; i < NPIX; i++) {
        int y = i / W, x = i % W;
        pal2[y][x / 4] |= (unsigned char)(pal[i] << (6 - 2 * (x % 4)));
    }
    write_png_raw(tu_join(dir, "3_palette.png"), W, H, PNG_COLOR_TYPE_PALETTE, 2, 0, &pal2[0][0], 2, palette, 4);
    write_png_raw(tu_join(dir, "4_rgba16.png"), W, H, PNG_COLOR_TYPE_RGB_ALPHA, 16, 0, rgba16, W * 8, NULL, 0);
    write_png_raw(tu_join(dir, "5_interlaced.png"), W, H, PNG_COLOR_TYPE_RGB, 8, PNG_INTERLACE_ADAM7, rgb8, W * 3,
                  NULL, 0);
    write_png_raw(tu_join(dir, "6_gray1.png"), W, H, PNG_COLOR_TYPE_GRAY, 1, 0, &g1[0][0], 1, NULL, 0);

    sv_err e = {{0}};
    sv_frame_reader *r = sv_frames_open(dir, &e);
    CHECKF(r, "open: %s", e.msg);
    if (!r) return;
    CHECK(sv_frames_count(r) == 7);
    unsigned char got[NPIX * 3];
    for (int k = 0; k < 7; k++) {
        int rc = sv_frames_read(r, got, &e);
        CHECKF(rc == 1, "read %d: %s", k, e.msg);
        if (rc != 1) break;
        CHECKF(!memcmp(got, want[k], sizeof got), "%s: wrong pixels", sv_frames_last_name(r));
    }
    sv_frames_close(r);
}

static char g_warning[1024];
static int g_warnings;
static void keep_warning(void *ud, const char *msg) {
    (void)ud;
    snprintf(g_warning, sizeof g_warning, "%s", msg);
    g_warnings++;
}

// Opens dir and returns the number of warnings it gave (the last in g_warning).
static int warnings_of_open(const char *dir) {
    g_warnings = 0;
    sv_set_warning_handler(keep_warning, NULL);
    sv_err e = {{0}};
    sv_frame_reader *r = sv_frames_open(dir, &e);
    CHECKF(r, "open: %s", e.msg);
    sv_frames_close(r);
    sv_set_warning_handler(NULL, NULL);
    return g_warnings;
}

static void test_folder_sorted(void) {
    const char *dir = tu_tmpdir();
    unsigned char px[2 * 2 * 3], got[2 * 2 * 3];
    const char *names[] = {"b.png", "a.png", "C.PNG", "a10.png", "a9.png"};
    for (int i = 0; i < 5; i++) {
        memset(px, 10 * (i + 1), sizeof px);
        write_rgb_png(tu_join(dir, names[i]), px, 2, 2);
    }
    write_text(tu_join(dir, "notes.txt"), "not a frame\n", 1);
    write_text(tu_join(dir, ".hidden.png"), "not a frame either\n", 1);
    mkdir(tu_join(dir, "sub.png"), 0777);
    sv_err e = {{0}};
    sv_frame_reader *r = sv_frames_open(dir, &e);
    CHECKF(r, "open: %s", e.msg);
    if (!r) return;
    CHECK(sv_frames_count(r) == 5);
    // natural order (sv_frames_name_cmp): upper case before lower case, "a9" before "a10".
    const char *order[] = {"C.PNG", "a.png", "a9.png", "a10.png", "b.png"};
    const int value[] = {30, 20, 50, 40, 10};
    for (int i = 0; i < 5; i++) {
        CHECKF(sv_frames_read(r, got, &e) == 1, "read: %s", e.msg);
        CHECKF(!strcmp(sv_frames_last_name(r), order[i]), "frame %d is %s, expected %s", i,
               sv_frames_last_name(r), order[i]);
        CHECK(got[0] == value[i] && got[11] == value[i]);
    }
    CHECK(sv_frames_read(r, got, &e) == 0);
    sv_frames_close(r);
    // a9 / a10: numbers of mixed widths, one warning naming the pair; zero-padded numbers: none
    CHECKF(warnings_of_open(dir) == 1 && strstr(g_warning, "different widths (a9.png, a10.png)"), "%d: %s",
           g_warnings, g_warning);
    const char *padded = tu_tmpdir();
    for (int i = 8; i <= 11; i++) {
        char name[32];
        snprintf(name, sizeof name, "f%02d.png", i);
        write_rgb_png(tu_join(padded, name), px, 2, 2);
    }
    CHECKF(warnings_of_open(padded) == 0, "zero-padded names: %s", g_warning);
}

static void test_folder_size_mismatch(void) {
    const char *dir = tu_tmpdir();
    unsigned char px[9 * 8 * 3] = {0}, got[8 * 8 * 3];
    write_rgb_png(tu_join(dir, "f1.png"), px, 8, 8);
    write_rgb_png(tu_join(dir, "f2.png"), px, 9, 8);
    sv_err e = {{0}};
    sv_frame_reader *r = sv_frames_open(dir, &e);
    CHECKF(r, "open: %s", e.msg);
    if (!r) return;
    CHECK(sv_frames_read(r, got, &e) == 1);
    CHECK(sv_frames_read(r, got, &e) == -1);
    CHECKF(has(e.msg, tu_join(dir, "f2.png")) && has(e.msg, "9x8") && has(e.msg, "8x8"), "message: %s", e.msg);
    sv_frames_close(r);
}

static void test_folder_empty(void) {
    const char *dir = tu_tmpdir();
    sv_err e = {{0}};
    CHECK(sv_frames_open(dir, &e) == NULL);
    CHECKF(has(e.msg, "no frames (PNG, JPEG, WebP, TIFF or BMP) in") && has(e.msg, dir), "message: %s", e.msg);
    write_text(tu_join(dir, "readme.txt"), "x", 1);
    CHECK(sv_frames_open(dir, &e) == NULL);
    CHECKF(has(e.msg, "no frames (PNG, JPEG, WebP, TIFF or BMP) in"), "message: %s", e.msg);
}

static void test_png_corrupt(void) {
    enum { W = 64, H = 64 };
    static unsigned char px[W * H * 3], got[W * H * 3];
    fill_noise(px, sizeof px, 3);
    sv_err e = {{0}};

    // Truncated in the middle of the image data: the header reads, the pixels do not.
    const char *dir = tu_tmpdir();
    const char *p = tu_join(dir, "cut.png");
    write_rgb_png(p, px, W, H);
    struct stat st;
    CHECK(stat(p, &st) == 0);
    CHECK(truncate(p, st.st_size / 2) == 0);
    sv_frame_reader *r = sv_frames_open(dir, &e);
    CHECKF(r, "open: %s", e.msg);
    if (r) {
        CHECK(sv_frames_read(r, got, &e) == -1);
        CHECKF(has(e.msg, p) && has(e.msg, "truncated"), "message: %s", e.msg);
        sv_frames_close(r);
    }

    // A flipped byte in the image data: a CRC or zlib error.
    dir = tu_tmpdir();
    p = tu_join(dir, "flip.png");
    write_rgb_png(p, px, W, H);
    FILE *f = fopen(p, "r+b");
    CHECK(f && fseek(f, 200, SEEK_SET) == 0);
    if (f) {
        fputc(0x5A ^ 0xFF, f);
        fclose(f);
    }
    r = sv_frames_open(dir, &e);
    CHECKF(r, "open: %s", e.msg);
    if (r) {
        CHECK(sv_frames_read(r, got, &e) == -1);
        CHECKF(has(e.msg, p) && has(e.msg, "corrupt PNG"), "message: %s", e.msg);
        sv_frames_close(r);
    }

    // Not a PNG at all, as the first frame: open fails.
    dir = tu_tmpdir();
    p = tu_join(dir, "text.png");
    write_text(p, "hello", 1);
    CHECK(sv_frames_open(dir, &e) == NULL);
    CHECKF(has(e.msg, p) && has(e.msg, "not a PNG"), "message: %s", e.msg);
}

static void test_too_large(void) {
    const char *dir = tu_tmpdir();
    sv_err e = {{0}};
    CHECK(sv_frames_create(tu_join(dir, "big.mkv"), 20000, 8, 0, 0, &e) == NULL);
    CHECKF(has(e.msg, "big.mkv") && has(e.msg, "limit"), "message: %s", e.msg);
    CHECK(sv_frames_create(tu_join(dir, "zero"), 0, 8, 0, 0, &e) == NULL);
    CHECKF(has(e.msg, "invalid frame size"), "message: %s", e.msg);
    CHECK(count_entries(dir) == 0);
    // A PNG whose header claims 20000 columns is refused before its pixels are allocated.
    static unsigned char row[20000];
    const char *p = tu_join(dir, "wide.png");
    write_png_raw(p, 20000, 1, PNG_COLOR_TYPE_GRAY, 8, 0, row, sizeof row, NULL, 0);
    CHECK(sv_frames_open(dir, &e) == NULL);
    CHECKF(has(e.msg, p) && has(e.msg, "limit"), "message: %s", e.msg);
    int ok = sv_frame_size_check("x", 16384, 16384, &e) == 0 && sv_frame_size_check("x", 16385, 1, &e) == -1 &&
             sv_frame_size_check("x", 1, -3, &e) == -1;
    CHECK(ok);
}

static void test_missing_input(void) {
    sv_err e = {{0}};
    const char *p = "/nonexistent-slimvsr/clip.mp4";
    CHECK(sv_frames_open(p, &e) == NULL);
    CHECKF(has(e.msg, p) && has(e.msg, "No such file"), "message: %s", e.msg);
}

static void test_garbage_video(void) {
    const char *dir = tu_tmpdir();
    const char *p = tu_join(dir, "garbage.mp4");
    write_text(p, "this is not a video file, only text\n", 200);
    sv_err e = {{0}};
    CHECK(sv_frames_open(p, &e) == NULL);
    CHECKF(has(e.msg, p) && (has(e.msg, "cannot open video") || has(e.msg, "no video stream")), "message: %s",
           e.msg);
    p = tu_join(dir, "empty.mkv");
    write_text(p, "", 0);
    CHECK(sv_frames_open(p, &e) == NULL);
    CHECKF(has(e.msg, p), "message: %s", e.msg);
}

// ---- video ----

static void test_mkv_lossless(void) {
    const int sizes[][2] = {{37, 23}, {1, 1}, {64, 48}};
    for (int s = 0; s < 3; s++) {
        int w = sizes[s][0], h = sizes[s][1], n = 5;
        size_t fs = (size_t)w * h * 3;
        unsigned char *src = malloc(fs * n), *got = malloc(fs);
        const char *dir = tu_tmpdir();
        const char *out = tu_join(dir, "clip.mkv");
        sv_err e = {{0}};
        sv_frame_writer *wr = sv_frames_create(out, w, h, 24000, 1001, &e);
        CHECKF(wr, "%dx%d create: %s", w, h, e.msg);
        if (!wr) goto next;
        CHECK(!strcmp(sv_frames_writer_codec(wr), "ffv1"));
        for (int i = 0; i < n; i++) {
            fill_noise(src + i * fs, fs, 100 * s + i);
            CHECKF(sv_frames_write(wr, src + i * fs, NULL, &e) == 0, "write: %s", e.msg);
        }
        CHECK(!exists(out));
        CHECKF(sv_frames_writer_finish(wr, &e) == 0, "finish: %s", e.msg);
        CHECK(count_entries(dir) == 1);
        sv_frame_reader *r = sv_frames_open(out, &e);
        CHECKF(r, "open: %s", e.msg);
        if (!r) goto next;
        int num, den;
        CHECK(sv_frames_width(r) == w && sv_frames_height(r) == h);
        CHECKF(sv_frames_fps_rational(r, &num, &den) == 0 && num == 24000 && den == 1001, "fps %d/%d", num, den);
        CHECKF(sv_frames_count(r) == n, "count %d", sv_frames_count(r));
        CHECK(sv_frames_last_name(r) == NULL);
        for (int i = 0; i < n; i++) {
            CHECKF(sv_frames_read(r, got, &e) == 1, "read %d: %s", i, e.msg);
            CHECKF(!memcmp(got, src + i * fs, fs), "%dx%d frame %d not bit-exact (max diff %d)", w, h, i,
                   max_abs_diff(got, src + i * fs, fs));
        }
        CHECK(sv_frames_read(r, got, &e) == 0);
        CHECK(sv_frames_read(r, got, &e) == 0);  // stays at the end
        sv_frames_close(r);
    next:
        free(src);
        free(got);
    }
}

// Writes n smooth frames to out with the given encoder and rate, reads them back and checks size, count,
// rate and PSNR.
static void mp4_roundtrip(const char *out, const char *encoder, int w, int h, int num, int den, double min_psnr) {
    enum { N = 12 };
    size_t fs = (size_t)w * h * 3;
    unsigned char *src = malloc(fs), *got = malloc(fs);
    sv_err e = {{0}};
    sv_frame_writer *wr = sv_frames_create_with(out, w, h, num, den, &(sv_writer_opts){.encoder = encoder}, &e);
    CHECKF(wr, "%s: create: %s", out, e.msg);
    if (!wr) goto done;
    CHECKF(!strcmp(sv_frames_writer_codec(wr), encoder ? encoder : "libx264"), "codec %s",
           sv_frames_writer_codec(wr));
    for (int i = 0; i < N; i++) {
        fill_smooth(src, w, h, i);
        CHECKF(sv_frames_write(wr, src, NULL, &e) == 0, "write: %s", e.msg);
    }
    CHECKF(sv_frames_writer_finish(wr, &e) == 0, "finish: %s", e.msg);
    sv_frame_reader *r = sv_frames_open(out, &e);
    CHECKF(r, "open: %s", e.msg);
    if (!r) goto done;
    int rn, rd;
    CHECK(sv_frames_width(r) == w && sv_frames_height(r) == h);
    CHECKF(sv_frames_count(r) == N, "%s: count %d", out, sv_frames_count(r));
    CHECKF(sv_frames_fps_rational(r, &rn, &rd) == 0 && rn == num && rd == den, "%s: fps %d/%d, wrote %d/%d", out,
           rn, rd, num, den);
    CHECK(fabs(sv_frames_fps(r) - (double)num / den) < 1e-6);
    int i = 0;
    double worst = 99;
    for (;; i++) {
        int rc = sv_frames_read(r, got, &e);
        CHECKF(rc >= 0, "read: %s", e.msg);
        if (rc <= 0) break;
        fill_smooth(src, w, h, i);
        double p = psnr(src, got, fs);
        if (p < worst) worst = p;
    }
    CHECKF(i == N, "%s: read %d frames, wrote %d", out, i, N);
    CHECKF(worst > min_psnr, "%s: PSNR %.2f dB", out, worst);
    printf("  %s (%s %dx%d @ %d/%d): worst PSNR %.1f dB\n", strrchr(out, '/') + 1, encoder ? encoder : "libx264",
           w, h, num, den, worst);
    sv_frames_close(r);
done:
    free(src);
    free(got);
}

static void test_mp4_roundtrip(void) {
    const char *dir = tu_tmpdir();
    mp4_roundtrip(tu_join(dir, "ntsc.mp4"), NULL, 96, 64, 24000, 1001, 35);
    mp4_roundtrip(tu_join(dir, "thirty.mp4"), NULL, 96, 64, 30, 1, 35);
    mp4_roundtrip(tu_join(dir, "odd.mp4"), NULL, 37, 23, 25, 1, 35);  // odd size: 4:4:4
    mp4_roundtrip(tu_join(dir, "UPPER.MP4"), NULL, 64, 48, 60000, 1001, 35);
    CHECK(count_entries(dir) == 4);
}

static void test_mpeg4_encoder(void) {
    const char *dir = tu_tmpdir();
    mp4_roundtrip(tu_join(dir, "m4.mp4"), "mpeg4", 96, 64, 25, 1, 30);
    sv_err e = {{0}};
    CHECK(sv_frames_create_with(tu_join(dir, "odd.mp4"), 37, 23, 25, 1, &(sv_writer_opts){.encoder = "mpeg4"}, &e) == NULL);
    CHECKF(has(e.msg, "odd.mp4") && has(e.msg, "even"), "message: %s", e.msg);
    CHECK(sv_frames_create_with(tu_join(dir, "x.mp4"), 32, 32, 25, 1, &(sv_writer_opts){.encoder = "ffv1"}, &e) == NULL);
    CHECKF(has(e.msg, "x.mp4") && has(e.msg, "ffv1"), "message: %s", e.msg);
    CHECK(count_entries(dir) == 1);
}

// Saturated flat colours survive the RGB -> BT.709 YUV -> RGB trip: the writer's matrix, its tags and the
// reader's matrix agree (a BT.601/BT.709 mix-up moves such colours by 10 or more).
static void test_mp4_colours(void) {
    const char *dir = tu_tmpdir();
    const char *out = tu_join(dir, "colours.mp4");
    enum { W = 64, H = 64 };
    const unsigned char colours[][3] = {{220, 30, 40}, {30, 200, 60}, {40, 50, 210}, {250, 250, 20}};
    unsigned char px[W * H * 3];
    sv_err e = {{0}};
    sv_frame_writer *wr = sv_frames_create(out, W, H, 25, 1, &e);
    CHECKF(wr, "create: %s", e.msg);
    if (!wr) return;
    for (int k = 0; k < 4; k++) {
        for (int i = 0; i < W * H; i++) memcpy(px + 3 * i, colours[k], 3);
        CHECK(sv_frames_write(wr, px, NULL, &e) == 0);
    }
    CHECKF(sv_frames_writer_finish(wr, &e) == 0, "finish: %s", e.msg);
    sv_frame_reader *r = sv_frames_open(out, &e);
    CHECKF(r, "open: %s", e.msg);
    if (!r) return;
    for (int k = 0; k < 4; k++) {
        CHECK(sv_frames_read(r, px, &e) == 1);
        int m = 0;
        for (int i = 0; i < W * H; i++)
            for (int c = 0; c < 3; c++) {
                int d = abs((int)px[3 * i + c] - colours[k][c]);
                if (d > m) m = d;
            }
        CHECKF(m <= 4, "colour %d: max error %d", k, m);
    }
    sv_frames_close(r);
}

// ---- output paths ----

static void test_output_missing_dir(void) {
    const char *dir = tu_tmpdir();
    const char *outs[] = {"missing/out.mp4", "missing/out.mkv", "missing/frames"};
    for (int i = 0; i < 3; i++) {
        sv_err e = {{0}};
        const char *p = tu_join(dir, outs[i]);
        CHECK(sv_frames_create(p, 16, 16, 25, 1, &e) == NULL);
        CHECKF(has(e.msg, p) && has(e.msg, "does not exist"), "message: %s", e.msg);
    }
    CHECK(count_entries(dir) == 0);
    // Unwritable directory (root may write anywhere, so only checked for other users).
    if (geteuid() != 0) {
        const char *ro = tu_join(dir, "ro");
        mkdir(ro, 0555);
        sv_err e = {{0}};
        CHECK(sv_frames_create(tu_join(ro, "out.mkv"), 16, 16, 25, 1, &e) == NULL);
        CHECKF(has(e.msg, "not writable"), "message: %s", e.msg);
        rmdir(ro);
    }
}

static void test_abort_and_nothing_written(void) {
    const char *dir = tu_tmpdir();
    const char *outs[] = {"a.mp4", "a.mkv", "frames", "frames2/"};
    unsigned char px[32 * 16 * 3];
    fill_smooth(px, 32, 16, 0);
    for (int i = 0; i < 4; i++) {
        sv_err e = {{0}};
        const char *p = tu_join(dir, outs[i]);
        sv_frame_writer *wr = sv_frames_create(p, 32, 16, 30, 1, &e);
        CHECKF(wr, "create %s: %s", p, e.msg);
        if (!wr) continue;
        CHECK(sv_frames_write(wr, px, NULL, &e) == 0 && sv_frames_write(wr, px, NULL, &e) == 0);
        CHECK(count_entries(dir) == 1);  // the temporary
        sv_frames_writer_abort(wr);
        CHECKF(count_entries(dir) == 0, "%s: abort left files behind", p);
        // Finishing without a frame is an error and also leaves nothing.
        wr = sv_frames_create(p, 32, 16, 30, 1, &e);
        CHECK(wr != NULL);
        if (!wr) continue;
        CHECK(sv_frames_writer_finish(wr, &e) == -1);
        CHECKF(has(e.msg, "no frames"), "message: %s", e.msg);
        CHECK(count_entries(dir) == 0);
    }
    sv_frames_writer_abort(NULL);
}

static void test_output_names(void) {
    const char *dir = tu_tmpdir();
    sv_err e = {{0}};
    CHECK(sv_frames_create(tu_join(dir, "out.avi"), 16, 16, 25, 1, &e) == NULL);
    CHECKF(has(e.msg, "out.avi") && has(e.msg, "unsupported output format"), "message: %s", e.msg);
    CHECK(sv_frames_create(tu_join(dir, "out.mkv"), 16, 16, -1, 1, &e) == NULL);
    CHECKF(has(e.msg, "frame rate"), "message: %s", e.msg);
    // A file where a folder would go, and a folder where a file would go, fail before any work.
    write_text(tu_join(dir, "plain"), "x", 1);
    CHECK(sv_frames_create(tu_join(dir, "plain"), 16, 16, 0, 0, &e) == NULL);
    CHECKF(has(e.msg, "plain: exists and is not a folder"), "message: %s", e.msg);
    mkdir(tu_join(dir, "dir.mkv"), 0777);
    CHECK(sv_frames_create(tu_join(dir, "dir.mkv"), 16, 16, 0, 0, &e) == NULL);
    CHECKF(has(e.msg, "dir.mkv: exists and is a folder"), "message: %s", e.msg);
    unsigned char px[16 * 16 * 3] = {0};
    const char *out = tu_join(dir, "frames");
    sv_frame_writer *wr = sv_frames_create(out, 16, 16, 0, 0, &e);
    CHECKF(wr, "create: %s", e.msg);
    if (!wr) return;
    CHECK(sv_frames_write(wr, px, "f1.png", &e) == 0);
    CHECK(sv_frames_write(wr, px, "f1.png", &e) == -1);
    CHECKF(has(e.msg, "frames/f1.png") && has(e.msg, "twice"), "message: %s", e.msg);
    CHECK(sv_frames_write(wr, px, "../escape.png", &e) == -1);
    CHECKF(has(e.msg, "invalid frame file name"), "message: %s", e.msg);
    CHECK(sv_frames_write(wr, px, "f2.gif", &e) == -1);
    CHECKF(has(e.msg, ".png"), "message: %s", e.msg);
    // a JPEG input frame's name: written as PNG under the same stem
    CHECK(sv_frames_write(wr, px, "f2.jpg", &e) == 0);
    CHECK(sv_frames_write(wr, px, "f1.JPEG", &e) == -1);
    CHECKF(has(e.msg, "frames/f1.png") && has(e.msg, "twice"), "message: %s", e.msg);
    CHECK(sv_frames_write(wr, px, "F3.PNG", &e) == 0);
    CHECKF(sv_frames_writer_finish(wr, &e) == 0, "finish: %s", e.msg);
    CHECK(count_entries(out) == 4);  // f1.png, f2.png, F3.PNG and the list of what slimvsr wrote
    CHECK(exists(tu_join(out, "f2.png")));
    CHECK(!exists(tu_join(dir, "escape.png")));
}

// ---- a real clip ----

static void test_cockatoo(void) {
    const char *p = getenv("SLIMVSR_COCKATOO");
    CHECKF(p && p[0], "SLIMVSR_COCKATOO is not set: run tests/data/fetch_cockatoo.sh and export the path it "
                      "prints");
    if (!p || !p[0]) return;
    CHECKF(exists(p), "SLIMVSR_COCKATOO=%s does not exist: run tests/data/fetch_cockatoo.sh", p);
    if (!exists(p)) return;
    sv_err e = {{0}};
    sv_frame_reader *r = sv_frames_open(p, &e);
    CHECKF(r, "open: %s", e.msg);
    if (!r) return;
    int w = sv_frames_width(r), h = sv_frames_height(r);
    double fps = sv_frames_fps(r);
    printf("  cockatoo.mp4: %dx%d, %d frames, %.3f fps\n", w, h, sv_frames_count(r), fps);
    CHECK(w == 1280 && h == 720);
    CHECK(sv_frames_count(r) == 280);
    CHECKF(fps >= 20 && fps <= 30, "fps %.3f", fps);
    unsigned char *prev = malloc((size_t)w * h * 3), *cur = malloc((size_t)w * h * 3);
    size_t n = (size_t)w * h * 3;
    int frames = 0;
    for (;; frames++) {
        int rc = sv_frames_read(r, cur, &e);
        CHECKF(rc >= 0, "read %d: %s", frames, e.msg);
        if (rc <= 0) break;
        if (frames >= 10) continue;  // the rest only counts frames
        // Plausible content: mid-range mean, real texture, and neighbours alike but not identical.
        double sum = 0, sq = 0;
        for (size_t i = 0; i < n; i++) sum += cur[i], sq += (double)cur[i] * cur[i];
        double mean = sum / n, sd = sqrt(sq / n - mean * mean);
        CHECKF(mean > 30 && mean < 225 && sd > 15, "frame %d: mean %.1f sd %.1f", frames, mean, sd);
        if (frames > 0) {
            double diff = 0;
            for (size_t i = 0; i < n; i++) diff += abs((int)cur[i] - (int)prev[i]);
            diff /= n;
            CHECKF(diff > 0.5 && diff < 40, "frame %d: mean change %.2f from the previous frame", frames, diff);
        }
        memcpy(prev, cur, n);
    }
    CHECKF(frames == 280, "decoded %d frames", frames);
    free(prev);
    free(cur);
    sv_frames_close(r);
}

// One rule for which files are clips (dataset, eval and train-flow had three lists that disagreed: .ts,
// .wmv, .ogv were training data but not eval or train-flow clips).
static void test_video_names(void) {
    const char *yes[] = {"a.mp4", "B.MKV", "c.ts", "d.m2ts", "e.wmv", "f.ogv", "g.y4m", "h.3gp", "x.y.Webm"};
    const char *no[] = {"a.png", "mp4", ".ts", "a.mp4.txt", "a.tsx", "dir.d/file", "a.", ""};
    for (size_t i = 0; i < sizeof yes / sizeof *yes; i++) CHECKF(sv_frames_is_video_name(yes[i]), "%s", yes[i]);
    for (size_t i = 0; i < sizeof no / sizeof *no; i++) CHECKF(!sv_frames_is_video_name(no[i]), "%s", no[i]);
}

static void test_png_names(void) {
    const char *yes[] = {"a.png", "B.PNG", "x.y.Png", "dir/f.png"};
    const char *no[] = {".png", "png", "a.png.txt", "a.pn", "a.jpg", ""};
    for (size_t i = 0; i < sizeof yes / sizeof *yes; i++) CHECKF(sv_frames_is_png_name(yes[i]), "%s", yes[i]);
    for (size_t i = 0; i < sizeof no / sizeof *no; i++) CHECKF(!sv_frames_is_png_name(no[i]), "%s", no[i]);
}

static void note_warning(void *ud, const char *msg) { snprintf(ud, 256, "%s", msg); }

// Warnings go to the installed handler only (core/warn.h): formatted once, never a format themselves.
static void test_warning_handler(void) {
    char got[256] = "";
    sv_warnf("dropped %d", 1);  // no handler: nothing happens
    sv_set_warning_handler(note_warning, got);
    sv_warnf("%s: fell back to %s", "out%n%s.mp4", "mpeg4");
    CHECKF(!strcmp(got, "out%n%s.mp4: fell back to mpeg4"), "got '%s'", got);
    sv_set_warning_handler(NULL, NULL);
    got[0] = 0;
    sv_warnf("dropped again");
    CHECK(got[0] == 0);
}

int main(void) {
    run_test("video_names", test_video_names);
    run_test("png_names", test_png_names);
    run_test("warning_handler", test_warning_handler);
    run_test("png_roundtrip_odd", test_png_roundtrip_odd);
    run_test("png_color_types", test_png_color_types);
    run_test("folder_sorted", test_folder_sorted);
    run_test("folder_size_mismatch", test_folder_size_mismatch);
    run_test("folder_empty", test_folder_empty);
    run_test("png_corrupt", test_png_corrupt);
    run_test("too_large", test_too_large);
    run_test("missing_input", test_missing_input);
    run_test("garbage_video", test_garbage_video);
    run_test("mkv_lossless", test_mkv_lossless);
    run_test("mp4_roundtrip", test_mp4_roundtrip);
    run_test("mpeg4_encoder", test_mpeg4_encoder);
    run_test("mp4_colours", test_mp4_colours);
    run_test("output_missing_dir", test_output_missing_dir);
    run_test("abort_and_nothing_written", test_abort_and_nothing_written);
    run_test("output_names", test_output_names);
    run_test("cockatoo", test_cockatoo);
    return test_summary();
}
