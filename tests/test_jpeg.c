// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// test_jpeg.c: JPEG frames (io/jpeg_io.h) and the order of frame and clip names (sv_frames_name_cmp).
// JPEGs are written here with libjpeg's compressor: decoded pixels against their source within JPEG's
// error, grayscale, CMYK refused, truncated and garbage files refused naming the file; JPEG folders as
// frame sources (natural order, one kind per folder, one size, names written back as .png) and as clips
// for the training data; natural order of names, as a total order.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jpeglib.h>

#include "io/clips.h"
#include "io/frames.h"
#include "io/jpeg_io.h"
#include "io/png_io.h"
#include "testutil.h"
#include "train/dataset.h"

// ---- helpers ----

static int has(const char *msg, const char *part) { return strstr(msg, part) != NULL; }

static int exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0;
}

// A smooth picture with some texture; t moves it. Channel c is shifted so that R, G, B differ.
static void fill_picture(unsigned char *rgb, int w, int h, int t) {
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            for (int c = 0; c < 3; c++) {
                double v = 128 + 60 * sin(0.15 * x + 0.3 * t + 2.1 * c) + 40 * cos(0.17 * y - 0.2 * t + c) +
                           12 * sin(0.9 * x * y / (w + h));
                rgb[((size_t)y * w + x) * 3 + c] = (unsigned char)lround(v);
            }
}

static int max_abs_diff(const unsigned char *a, const unsigned char *b, size_t n) {
    int m = 0;
    for (size_t i = 0; i < n; i++) {
        const int d = abs((int)a[i] - (int)b[i]);
        if (d > m) m = d;
    }
    return m;
}

// Writes pix (w x h, `comps` samples per pixel in colour space cs: JCS_RGB 3, JCS_GRAYSCALE 1, JCS_CMYK 4)
// as a baseline JPEG of the given quality, with no chroma subsampling (4:4:4).
static void write_jpeg(const char *path, const unsigned char *pix, int w, int h, int comps, J_COLOR_SPACE cs,
                       int quality) {
    FILE *f = fopen(path, "wb");
    CHECKF(f, "cannot create %s", path);
    if (!f) return;
    struct jpeg_compress_struct c;
    struct jpeg_error_mgr err;
    c.err = jpeg_std_error(&err);  // errors here exit: they are bugs of this test
    jpeg_create_compress(&c);
    jpeg_stdio_dest(&c, f);
    c.image_width = (JDIMENSION)w, c.image_height = (JDIMENSION)h;
    c.input_components = comps, c.in_color_space = cs;
    jpeg_set_defaults(&c);
    jpeg_set_quality(&c, quality, TRUE);
    for (int i = 0; i < c.num_components; i++) c.comp_info[i].h_samp_factor = c.comp_info[i].v_samp_factor = 1;
    jpeg_start_compress(&c, TRUE);
    while (c.next_scanline < c.image_height) {
        JSAMPROW row = (JSAMPROW)(pix + (size_t)c.next_scanline * w * comps);
        jpeg_write_scanlines(&c, &row, 1);
    }
    jpeg_finish_compress(&c);
    jpeg_destroy_compress(&c);
    fclose(f);
}

static void write_rgb_jpeg(const char *path, const unsigned char *rgb, int w, int h, int quality) {
    write_jpeg(path, rgb, w, h, 3, JCS_RGB, quality);
}

// A flat frame of one colour (v, 255 - v, v / 2) as a JPEG: frames told apart by their first pixel.
static void write_flat_jpeg(const char *path, int w, int h, int v) {
    unsigned char *rgb = malloc((size_t)w * h * 3);
    for (int i = 0; i < w * h; i++) rgb[3 * i] = (unsigned char)v, rgb[3 * i + 1] = (unsigned char)(255 - v),
                                   rgb[3 * i + 2] = (unsigned char)(v / 2);
    write_rgb_jpeg(path, rgb, w, h, 95);
    free(rgb);
}

static void write_png(const char *path, const unsigned char *rgb, int w, int h) {
    sv_err e;
    FILE *f = fopen(path, "wb");
    CHECKF(f && sv_png_write_rgb(f, path, rgb, w, h, &e) == 0, "cannot write %s", path);
    if (f) fclose(f);
}

static void write_bytes(const char *path, const void *data, size_t n) {
    FILE *f = fopen(path, "wb");
    CHECKF(f, "cannot create %s", path);
    if (!f) return;
    CHECK(fwrite(data, 1, n, f) == n);
    fclose(f);
}

static void mkdir_p(const char *path) { CHECKF(mkdir(path, 0755) == 0, "cannot create %s", path); }

// ---- decoding ----

// Quality 100, 4:4:4, an odd size: every pixel within a few levels of its source.
static void test_decode_rgb(void) {
    enum { W = 37, H = 23 };
    static unsigned char src[W * H * 3], got[W * H * 3];
    fill_picture(src, W, H, 0);
    const char *p = tu_join(tu_tmpdir(), "q100.jpg");
    write_rgb_jpeg(p, src, W, H, 100);
    sv_err e = {{0}};
    int w = 0, h = 0;
    CHECKF(sv_jpeg_read_size(p, &w, &h, &e) == 0, "%s", e.msg);
    CHECKF(w == W && h == H, "size %dx%d", w, h);
    CHECKF(sv_jpeg_read_rgb(p, got, W, H, &e) == 0, "%s", e.msg);
    const int d = max_abs_diff(src, got, sizeof src);
    CHECKF(d <= 3, "max abs error %d at quality 100", d);
    // the same file decodes the same way every time (the accurate integer IDCT)
    static unsigned char again[W * H * 3];
    CHECKF(sv_jpeg_read_rgb(p, again, W, H, &e) == 0, "%s", e.msg);
    CHECK(!memcmp(got, again, sizeof got));
    // a size other than the one expected is an error naming the file
    CHECK(sv_jpeg_read_rgb(p, got, W + 1, H, &e) == -1);
    CHECKF(has(e.msg, p) && has(e.msg, "37x23") && has(e.msg, "38x23"), "%s", e.msg);
}

// Grayscale is copied to R, G and B.
static void test_decode_gray(void) {
    enum { W = 20, H = 13 };
    static unsigned char gray[W * H], got[W * H * 3];
    for (int i = 0; i < W * H; i++) gray[i] = (unsigned char)(40 + (i * 7) % 170);
    const char *p = tu_join(tu_tmpdir(), "gray.JPEG");
    write_jpeg(p, gray, W, H, 1, JCS_GRAYSCALE, 100);
    sv_err e = {{0}};
    CHECKF(sv_jpeg_read_rgb(p, got, W, H, &e) == 0, "%s", e.msg);
    int worst = 0, same = 1;
    for (int i = 0; i < W * H; i++) {
        same &= got[3 * i] == got[3 * i + 1] && got[3 * i] == got[3 * i + 2];
        const int d = abs((int)got[3 * i] - gray[i]);
        if (d > worst) worst = d;
    }
    CHECK(same);
    CHECKF(worst <= 2, "max abs error %d", worst);
}

// CMYK is refused, naming the file and what to do.
static void test_cmyk_refused(void) {
    enum { W = 16, H = 16 };
    static unsigned char cmyk[W * H * 4];
    memset(cmyk, 100, sizeof cmyk);
    const char *p = tu_join(tu_tmpdir(), "cmyk.jpg");
    write_jpeg(p, cmyk, W, H, 4, JCS_CMYK, 90);
    sv_err e = {{0}};
    int w, h;
    CHECK(sv_jpeg_read_size(p, &w, &h, &e) == -1);
    CHECKF(has(e.msg, p) && has(e.msg, "CMYK"), "%s", e.msg);
}

// Truncated, garbage, empty and missing files: errors naming the file, never a grey frame.
static void test_broken_files(void) {
    enum { W = 64, H = 48 };
    static unsigned char src[W * H * 3], got[W * H * 3];
    fill_picture(src, W, H, 1);
    const char *d = tu_tmpdir(), *good = tu_join(d, "good.jpg");
    write_rgb_jpeg(good, src, W, H, 90);
    size_t n = 0;
    unsigned char *bytes = tu_read_file(good, &n);
    if (!bytes) return;
    sv_err e = {{0}};
    // cut in the middle of the picture data, and just before the end marker
    const size_t cuts[] = {n / 2, n - 2};
    for (int i = 0; i < 2; i++) {
        const char *p = tu_join(d, i ? "cut_end.jpg" : "cut_half.jpg");
        write_bytes(p, bytes, cuts[i]);
        int w = 0, h = 0;
        CHECKF(sv_jpeg_read_size(p, &w, &h, &e) == 0 && w == W && h == H, "header of %s: %s", p, e.msg);
        e.msg[0] = 0;
        CHECKF(sv_jpeg_read_rgb(p, got, W, H, &e) == -1, "%s decoded", p);
        CHECKF(has(e.msg, p) && has(e.msg, "Premature end of JPEG file"), "%s", e.msg);
    }
    // a byte flipped in the entropy-coded data is corrupt data, reported (whatever libjpeg calls it) or, when
    // the flip lands where it decodes anyway, a picture; never a crash
    bytes[n * 2 / 3] ^= 0xFF;
    const char *flipped = tu_join(d, "flipped.jpg");
    write_bytes(flipped, bytes, n);
    if (sv_jpeg_read_rgb(flipped, got, W, H, &e) == -1) CHECKF(has(e.msg, flipped), "%s", e.msg);
    free(bytes);
    const char *garbage = tu_join(d, "garbage.jpg");
    write_bytes(garbage, "GARBAGE, not a JPEG at all", 26);
    int w, h;
    CHECK(sv_jpeg_read_size(garbage, &w, &h, &e) == -1);
    CHECKF(has(e.msg, garbage) && has(e.msg, "Not a JPEG file"), "%s", e.msg);
    const char *empty = tu_join(d, "empty.jpeg");
    write_bytes(empty, "", 0);
    CHECK(sv_jpeg_read_rgb(empty, got, W, H, &e) == -1);
    CHECKF(has(e.msg, empty) && has(e.msg, "Empty input file"), "%s", e.msg);
    const char *missing = tu_join(d, "missing.jpg");
    CHECK(sv_jpeg_read_size(missing, &w, &h, &e) == -1);
    CHECKF(has(e.msg, missing) && has(e.msg, "cannot open"), "%s", e.msg);
}

static void test_jpeg_names(void) {
    const char *yes[] = {"a.jpg", "B.JPG", "c.jpeg", "d.JpEg", "x.y.jpg", "dir/f.jpeg"};
    const char *no[] = {".jpg", ".jpeg", "jpg", "a.jpg.txt", "a.jp", "a.png", "a.jpe", ""};
    for (size_t i = 0; i < sizeof yes / sizeof *yes; i++)
        CHECKF(sv_frames_is_jpeg_name(yes[i]) && sv_frames_is_frame_name(yes[i]), "%s", yes[i]);
    for (size_t i = 0; i < sizeof no / sizeof *no; i++) CHECKF(!sv_frames_is_jpeg_name(no[i]), "%s", no[i]);
    CHECK(sv_frames_is_frame_name("a.PNG") && !sv_frames_is_frame_name("a.gif"));
}

// ---- natural order ----

static int sign(int v) { return (v > 0) - (v < 0); }

static int cmp_names(const void *a, const void *b) { return sv_frames_name_cmp(*(char *const *)a, *(char *const *)b); }

static void test_natural_order(void) {
    // pairs in order
    const char *less[][2] = {{"1", "2"},         {"2", "10"},         {"9", "10"},       {"09a", "9b"},
                             {"9b", "10"},       {"a9", "a10"},       {"a01", "a1"},     {"a1", "a01b"},
                             {"img2.png", "img10.png"}, {"0001.png", "0002.png"}, {"0009.png", "0010.png"},
                             {"x.png", "x1.png"}, {"1.png", "1a.png"}, {"B1", "a1"},     {"a", "ab"},
                             {"clip2", "clip10"}, {"f99999999999999999999", "f100000000000000000000"},
                             {"1.jpg", "1.png"},  {"a-1", "a0"}};
    for (size_t i = 0; i < sizeof less / sizeof *less; i++) {
        CHECKF(sv_frames_name_cmp(less[i][0], less[i][1]) < 0, "%s < %s", less[i][0], less[i][1]);
        CHECKF(sv_frames_name_cmp(less[i][1], less[i][0]) > 0, "%s > %s", less[i][1], less[i][0]);
    }
    CHECK(sv_frames_name_cmp("a10b", "a10b") == 0);
    // the brief's names, sorted
    const char *names[] = {"10.png", "09a.png", "2.png", "9b.png", "1.png"};
    const char *want[] = {"1.png", "2.png", "09a.png", "9b.png", "10.png"};
    qsort(names, 5, sizeof *names, cmp_names);
    for (int i = 0; i < 5; i++) CHECKF(!strcmp(names[i], want[i]), "sorted %d: %s, want %s", i, names[i], want[i]);
    // a total order: antisymmetric, transitive, 0 only for equal strings (all triples of a mixed set)
    const char *set[] = {"", "0", "00", "1", "01", "001", "1a", "01a", "a", "a0", "a00", "a1", "a01", "a10", "a9",
                         "a9b", "a09b", "A9", "a.png", "a1.png", "a01.png", "10", "9", "x99", "x100", "x0100", "-1"};
    const int n = (int)(sizeof set / sizeof *set);
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) {
            const int ij = sign(sv_frames_name_cmp(set[i], set[j])), ji = sign(sv_frames_name_cmp(set[j], set[i]));
            CHECKF(ij == -ji, "%s vs %s not antisymmetric", set[i], set[j]);
            CHECKF((ij == 0) == (i == j), "%s vs %s: %d", set[i], set[j], ij);
            for (int k = 0; k < n; k++)
                if (ij < 0 && sv_frames_name_cmp(set[j], set[k]) < 0)
                    CHECKF(sv_frames_name_cmp(set[i], set[k]) < 0, "%s < %s < %s but not %s < %s", set[i], set[j],
                           set[k], set[i], set[k]);
        }
}

// ---- JPEG folders ----

// Frames 1.jpg ... 10.jpg (and 11.jpeg, 12.JPG) are read in natural order, each within JPEG error of its
// source; their names come back as read; written to a folder, they come out as N.png.
static void test_jpeg_folder(void) {
    enum { W = 24, H = 16, N = 12 };
    const char *d = tu_tmpdir();
    char name[32];
    for (int i = 1; i <= N; i++) {
        snprintf(name, sizeof name, "%d.%s", i, i == 11 ? "jpeg" : i == 12 ? "JPG" : "jpg");
        write_flat_jpeg(tu_join(d, name), W, H, 20 * i);
    }
    write_bytes(tu_join(d, "notes.txt"), "x", 1);
    write_bytes(tu_join(d, ".hidden.jpg"), "x", 1);
    mkdir_p(tu_join(d, "sub.jpg"));
    sv_err e = {{0}};
    sv_frame_reader *r = sv_frames_open(d, &e);
    CHECKF(r, "open: %s", e.msg);
    if (!r) return;
    CHECK(sv_frames_count(r) == N && sv_frames_width(r) == W && sv_frames_height(r) == H);
    CHECK(!sv_frames_is_video(r) && !strcmp(sv_frames_first_name(r), "1.jpg"));
    const char *out = tu_join(tu_tmpdir(), "out");
    sv_frame_writer *wr = sv_frames_create(out, W, H, 0, 0, &e);
    CHECKF(wr, "%s", e.msg);
    static unsigned char got[W * H * 3];
    for (int i = 1; i <= N; i++) {
        CHECKF(sv_frames_read(r, got, &e) == 1, "read %d: %s", i, e.msg);
        snprintf(name, sizeof name, "%d.%s", i, i == 11 ? "jpeg" : i == 12 ? "JPG" : "jpg");
        CHECKF(!strcmp(sv_frames_last_name(r), name), "frame %d is %s", i, sv_frames_last_name(r));
        const int v = 20 * i;
        CHECKF(abs(got[0] - v) <= 2 && abs(got[1] - (255 - v)) <= 2 && abs(got[2] - v / 2) <= 2,
               "frame %d: %d %d %d", i, got[0], got[1], got[2]);
        if (wr) CHECKF(sv_frames_write(wr, got, sv_frames_last_name(r), &e) == 0, "%s", e.msg);
    }
    CHECK(sv_frames_read(r, got, &e) == 0);
    sv_frames_close(r);
    if (!wr) return;
    CHECKF(sv_frames_writer_finish(wr, &e) == 0, "%s", e.msg);
    CHECK(exists(tu_join(out, "1.png")) && exists(tu_join(out, "10.png")) && exists(tu_join(out, "11.png")) &&
          exists(tu_join(out, "12.png")) && !exists(tu_join(out, "1.jpg")));
}

// One kind, one size, one name per frame; JPEG frames that are not JPEGs fail at their read, naming them.
static void test_jpeg_folder_errors(void) {
    enum { W = 16, H = 16 };
    sv_err e = {{0}};
    static unsigned char px[W * H * 3], got[W * H * 3];
    // PNG and JPEG in one folder: refused, naming one frame of each kind
    const char *mixed = tu_tmpdir();
    write_flat_jpeg(tu_join(mixed, "1.jpg"), W, H, 10);
    write_flat_jpeg(tu_join(mixed, "3.jpg"), W, H, 30);
    write_png(tu_join(mixed, "2.png"), px, W, H);
    CHECK(sv_frames_open(mixed, &e) == NULL);
    CHECKF(has(e.msg, mixed) && has(e.msg, "2.png") && has(e.msg, "1.jpg") && has(e.msg, "PNG and JPEG"), "%s",
           e.msg);
    // a.jpg and a.JPEG: one output name
    const char *twice = tu_tmpdir();
    write_flat_jpeg(tu_join(twice, "a.jpg"), W, H, 10);
    write_flat_jpeg(tu_join(twice, "a.JPEG"), W, H, 10);
    write_flat_jpeg(tu_join(twice, "a1.jpg"), W, H, 10);
    CHECK(sv_frames_open(twice, &e) == NULL);
    CHECKF(has(e.msg, "a.jpg") && has(e.msg, "a.JPEG") && has(e.msg, "extension"), "%s", e.msg);
    // another size: an error of the read, naming the frame and both sizes
    const char *sizes = tu_tmpdir();
    write_flat_jpeg(tu_join(sizes, "1.jpg"), W, H, 10);
    write_flat_jpeg(tu_join(sizes, "2.jpg"), W + 8, H, 10);
    sv_frame_reader *r = sv_frames_open(sizes, &e);
    CHECKF(r, "%s", e.msg);
    if (r) {
        CHECK(sv_frames_read(r, got, &e) == 1);
        CHECK(sv_frames_read(r, got, &e) == -1);
        CHECKF(has(e.msg, tu_join(sizes, "2.jpg")) && has(e.msg, "24x16") && has(e.msg, "16x16"), "%s", e.msg);
        sv_frames_close(r);
    }
    // a garbage frame after a good one; a garbage first frame fails at open
    const char *bad = tu_tmpdir();
    write_flat_jpeg(tu_join(bad, "1.jpg"), W, H, 10);
    write_bytes(tu_join(bad, "2.jpg"), "not a jpeg", 10);
    r = sv_frames_open(bad, &e);
    CHECKF(r, "%s", e.msg);
    if (r) {
        CHECK(sv_frames_read(r, got, &e) == 1);
        CHECK(sv_frames_read(r, got, &e) == -1);
        CHECKF(has(e.msg, tu_join(bad, "2.jpg")) && has(e.msg, "JPEG"), "%s", e.msg);
        sv_frames_close(r);
    }
    write_bytes(tu_join(bad, "0.jpg"), "not a jpeg", 10);
    CHECK(sv_frames_open(bad, &e) == NULL);
    CHECKF(has(e.msg, tu_join(bad, "0.jpg")), "%s", e.msg);
}

// Names and order through the one clip source: a JPEG folder is a clip; clip folders in natural order;
// the training data reads JPEG clips.
static void test_jpeg_clips(void) {
    enum { W = 40, H = 36 };
    const char *root = tu_tmpdir();
    static unsigned char px[W * H * 3];
    const char *clips[] = {"clip10", "clip2", "clip1"};
    char name[32];
    for (int c = 0; c < 3; c++) {
        const char *dir = tu_join(root, clips[c]);
        mkdir_p(dir);
        for (int i = 1; i <= 3; i++) {
            snprintf(name, sizeof name, "%d.jpg", i);
            fill_picture(px, W, H, i + 5 * c);
            write_rgb_jpeg(tu_join(dir, name), px, W, H, 90);
        }
    }
    sv_err e = {{0}};
    sv_clip_list l = {0};
    CHECKF(sv_clips_list(&l, root, &e) == 0, "%s", e.msg);
    CHECKF(l.n == 3 && !strcmp(l.v[0].name, "clip1") && !strcmp(l.v[1].name, "clip2") &&
               !strcmp(l.v[2].name, "clip10"),
           "%d clips, first %s", l.n, l.n ? l.v[0].name : "-");
    sv_clip_list_free(&l);
    CHECKF(sv_clips_list(&l, tu_join(root, "clip2"), &e) == 0, "%s", e.msg);
    CHECK(l.n == 1 && !l.v[0].is_video);
    sv_clip_list_free(&l);
    CHECKF(sv_clips_find(&l, root, NULL, 0, &e) == 0, "%s", e.msg);
    CHECKF(l.n == 3 && !strcmp(l.v[2].name, "clip10"), "%d clips", l.n);
    sv_clip_list_free(&l);
    sv_data_opts o;
    sv_data_opts_default(&o);
    o.seq = 3, o.patch = 8, o.batch = 2;
    sv_dataset *ds = sv_dataset_open(&root, 1, &o, &e);
    CHECKF(ds, "%s", e.msg);
    if (!ds) return;
    CHECKF(sv_dataset_num_clips(ds) == 3, "%d clips", sv_dataset_num_clips(ds));
    float *lr = malloc(sizeof(float) * 2 * 3 * 3 * 8 * 8), *gt = malloc(sizeof(float) * 2 * 3 * 3 * 32 * 32);
    CHECKF(sv_dataset_next(ds, lr, gt, &e) == 0, "%s", e.msg);
    float lo = 1, hi = 0;
    for (int i = 0; i < 2 * 3 * 3 * 32 * 32; i++) lo = fminf(lo, gt[i]), hi = fmaxf(hi, gt[i]);
    CHECKF(lo >= 0 && hi <= 1 && hi - lo > 0.2f, "GT range %g..%g", lo, hi);
    free(lr), free(gt);
    sv_dataset_free(ds);
}

int main(void) {
    run_test("jpeg_names", test_jpeg_names);
    run_test("decode_rgb", test_decode_rgb);
    run_test("decode_gray", test_decode_gray);
    run_test("cmyk_refused", test_cmyk_refused);
    run_test("broken_files", test_broken_files);
    run_test("natural_order", test_natural_order);
    run_test("jpeg_folder", test_jpeg_folder);
    run_test("jpeg_folder_errors", test_jpeg_folder_errors);
    run_test("jpeg_clips", test_jpeg_clips);
    return test_summary();
}
