// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// frametool.c: a helper for the command-line tests, built on the library's own frame I/O.
//   frametool downscale IN OUT N FACTOR       first N frames of IN, box-averaged by FACTOR (OUT: folder or video)
//   frametool probe PATH                      prints "frames W H fps_num/fps_den"
//   frametool psnr A B                        same frame count and size, prints the lowest per-frame PSNR
//   frametool png OUT.png W H                 writes one W x H test frame (a gradient)
//   frametool raw IN OUT.rgb                  every frame of IN, RGB24 back to back (what the API examples read)
//   frametool unraw IN.rgb W H OUT            raw RGB24 frames of W x H -> a folder or video
//   frametool degrade IN OUT bi|bd            every frame of IN made x4 smaller as training makes LR frames
//                                             (train/degrade.h: MATLAB bicubic, or Gaussian blur + subsampling)
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/frames.h"
#include "io/png_io.h"
#include "train/degrade.h"

static int die(const char *msg) {
    fprintf(stderr, "frametool: %s\n", msg);
    return 1;
}

static int downscale(const char *in, const char *out, int n, int f) {
    sv_err e;
    sv_frame_reader *r = sv_frames_open(in, &e);
    if (!r) return die(e.msg);
    int w = sv_frames_width(r), h = sv_frames_height(r), ow = w / f, oh = h / f;
    unsigned char *a = malloc((size_t)w * h * 3), *b = malloc((size_t)ow * oh * 3);
    int num = 0, den = 0;
    sv_frames_fps_rational(r, &num, &den);  // kept when OUT is a video
    sv_frame_writer *wr = sv_frames_create(out, ow, oh, num, den, &e);
    if (!wr) return die(e.msg);
    for (int i = 0; i < n; i++) {
        int rc = sv_frames_read(r, a, &e);
        if (rc <= 0) return die(rc ? e.msg : "input ended early");
        for (int y = 0; y < oh; y++)
            for (int x = 0; x < ow; x++)
                for (int c = 0; c < 3; c++) {
                    int s = 0;
                    for (int dy = 0; dy < f; dy++)
                        for (int dx = 0; dx < f; dx++) s += a[((size_t)(y * f + dy) * w + x * f + dx) * 3 + c];
                    b[((size_t)y * ow + x) * 3 + c] = (unsigned char)((s + f * f / 2) / (f * f));
                }
        if (sv_frames_write(wr, b, NULL, &e)) return die(e.msg);
    }
    if (sv_frames_writer_finish(wr, &e)) return die(e.msg);
    sv_frames_close(r);
    free(a), free(b);
    return 0;
}

static int probe(const char *path) {
    sv_err e;
    sv_frame_reader *r = sv_frames_open(path, &e);
    if (!r) return die(e.msg);
    int w = sv_frames_width(r), h = sv_frames_height(r), num = 0, den = 0, n = 0;
    sv_frames_fps_rational(r, &num, &den);
    unsigned char *a = malloc((size_t)w * h * 3);
    int rc;
    while ((rc = sv_frames_read(r, a, &e)) == 1) n++;
    if (rc < 0) return die(e.msg);
    printf("%d %d %d %d/%d\n", n, w, h, num, den);
    sv_frames_close(r);
    free(a);
    return 0;
}

static int psnr(const char *pa, const char *pb) {
    sv_err e;
    sv_frame_reader *a = sv_frames_open(pa, &e), *b = a ? sv_frames_open(pb, &e) : NULL;
    if (!a || !b) return die(e.msg);
    int w = sv_frames_width(a), h = sv_frames_height(a);
    if (w != sv_frames_width(b) || h != sv_frames_height(b)) return die("frame sizes differ");
    unsigned char *x = malloc((size_t)w * h * 3), *y = malloc((size_t)w * h * 3);
    double worst = INFINITY;
    int n = 0;
    for (;;) {
        int ra = sv_frames_read(a, x, &e);
        if (ra < 0) return die(e.msg);
        int rb = sv_frames_read(b, y, &e);
        if (rb < 0) return die(e.msg);
        if (ra != rb) return die("frame counts differ");
        if (!ra) break;
        double se = 0;
        for (size_t i = 0; i < (size_t)w * h * 3; i++) se += (double)(x[i] - y[i]) * (x[i] - y[i]);
        double mse = se / ((double)w * h * 3), p = mse > 0 ? 10 * log10(255.0 * 255.0 / mse) : 99.0;
        if (p < worst) worst = p;
        n++;
    }
    printf("%.2f %d\n", worst, n);
    sv_frames_close(a), sv_frames_close(b);
    free(x), free(y);
    return 0;
}

static int png(const char *out, int w, int h) {
    sv_err e;
    unsigned char *a = malloc((size_t)w * h * 3);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            a[((size_t)y * w + x) * 3 + 0] = (unsigned char)(x * 255 / (w > 1 ? w - 1 : 1));
            a[((size_t)y * w + x) * 3 + 1] = (unsigned char)(y * 255 / (h > 1 ? h - 1 : 1));
            a[((size_t)y * w + x) * 3 + 2] = 128;
        }
    FILE *f = fopen(out, "wb");
    if (!f) return die("cannot create the PNG");
    int rc = sv_png_write_rgb(f, out, a, w, h, &e);
    if (fclose(f) != 0 && !rc) return die("cannot write the PNG");
    if (rc) return die(e.msg);
    free(a);
    return 0;
}

static int degrade(const char *in, const char *out, const char *kind) {
    sv_err e;
    const int deg = !strcmp(kind, "bd") ? SV_DEG_BD : SV_DEG_BI;
    if (strcmp(kind, "bi") && strcmp(kind, "bd")) return die("degradation must be bi or bd");
    sv_frame_reader *r = sv_frames_open(in, &e);
    if (!r) return die(e.msg);
    const int w = sv_frames_width(r), h = sv_frames_height(r), ow = (w + 3) / 4, oh = (h + 3) / 4;
    const size_t n = (size_t)w * h, on = (size_t)ow * oh;
    unsigned char *a = malloc(n * 3), *p = malloc(n * 3), *q = malloc(on * 3), *b = malloc(on * 3);
    sv_frame_writer *wr = sv_frames_create(out, ow, oh, 0, 0, &e);
    if (!wr) return die(e.msg);
    int rc;
    while ((rc = sv_frames_read(r, a, &e)) == 1) {
        for (size_t i = 0; i < n; i++)
            for (int c = 0; c < 3; c++) p[c * n + i] = a[i * 3 + c];  // interleaved -> planar
        if (sv_degrade_u8(deg, q, p, 3, h, w, &e)) return die(e.msg);
        for (size_t i = 0; i < on; i++)
            for (int c = 0; c < 3; c++) b[i * 3 + c] = q[c * on + i];
        if (sv_frames_write(wr, b, NULL, &e)) return die(e.msg);
    }
    if (rc < 0 || sv_frames_writer_finish(wr, &e)) return die(e.msg);
    sv_frames_close(r);
    free(a), free(p), free(q), free(b);
    return 0;
}

static int raw(const char *in, const char *out) {
    sv_err e;
    sv_frame_reader *r = sv_frames_open(in, &e);
    if (!r) return die(e.msg);
    const size_t n = (size_t)sv_frames_width(r) * sv_frames_height(r) * 3;
    unsigned char *a = malloc(n);
    FILE *f = fopen(out, "wb");
    if (!a || !f) return die("cannot create the raw file");
    int rc;
    while ((rc = sv_frames_read(r, a, &e)) == 1)
        if (fwrite(a, 1, n, f) != n) return die("cannot write the raw file");
    if (rc < 0) return die(e.msg);
    if (fclose(f)) return die("cannot write the raw file");
    sv_frames_close(r);
    free(a);
    return 0;
}

static int unraw(const char *in, int w, int h, const char *out) {
    sv_err e;
    const size_t n = (size_t)w * h * 3;
    unsigned char *a = malloc(n);
    FILE *f = fopen(in, "rb");
    if (!a || !f) return die("cannot open the raw file");
    sv_frame_writer *wr = sv_frames_create(out, w, h, 0, 0, &e);
    if (!wr) return die(e.msg);
    while (fread(a, 1, n, f) == n)
        if (sv_frames_write(wr, a, NULL, &e)) return die(e.msg);
    if (sv_frames_writer_finish(wr, &e)) return die(e.msg);
    fclose(f);
    free(a);
    return 0;
}

int main(int argc, char **argv) {
    if (argc == 6 && !strcmp(argv[1], "downscale")) return downscale(argv[2], argv[3], atoi(argv[4]), atoi(argv[5]));
    if (argc == 3 && !strcmp(argv[1], "probe")) return probe(argv[2]);
    if (argc == 4 && !strcmp(argv[1], "psnr")) return psnr(argv[2], argv[3]);
    if (argc == 5 && !strcmp(argv[1], "png")) return png(argv[2], atoi(argv[3]), atoi(argv[4]));
    if (argc == 4 && !strcmp(argv[1], "raw")) return raw(argv[2], argv[3]);
    if (argc == 6 && !strcmp(argv[1], "unraw")) return unraw(argv[2], atoi(argv[3]), atoi(argv[4]), argv[5]);
    if (argc == 5 && !strcmp(argv[1], "degrade")) return degrade(argv[2], argv[3], argv[4]);
    return die("usage: frametool downscale IN OUT N F | probe PATH | psnr A B | png OUT W H | degrade IN OUT bi|bd");
}
