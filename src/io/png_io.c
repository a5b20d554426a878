// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// libpng reports errors by longjmp. Each function below that calls setjmp keeps its state in locals that
// are set before setjmp and never changed after it, and in a png_job owned by its caller, so nothing it
// reads after a longjmp is indeterminate, and every path out frees the png structs.
#include "io/png_io.h"

#include <errno.h>
#include <png.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "io/frames.h"

typedef struct {
    const char *path;
    FILE *f;
    char msg[256];      // libpng's error text
    int alpha;          // out: the image carries alpha (an alpha channel or a tRNS chunk)
    int depth;          // out: bits per sample in the file (1, 2, 4, 8 or 16)
    int want_alpha;     // in: decode the alpha plane into the caller's buffer instead of RGB
    int bytes;          // in: bytes per decoded sample: 1 (8 bits), 2 (16 bits, native byte order)
    unsigned char *rgba;  // the whole image as RGBA while its alpha plane is taken (freed by the caller)
} png_job;

static void on_error(png_structp png, png_const_charp msg) {
    png_job *job = png_get_error_ptr(png);
    snprintf(job->msg, sizeof job->msg, "%s", msg);
    png_longjmp(png, 1);
}

static void on_warning(png_structp png, png_const_charp msg) {
    (void)png;  // warnings (odd sRGB profiles, extra chunks) do not stop a frame
    (void)msg;
}

static void on_read(png_structp png, png_bytep data, size_t n) {
    png_job *job = png_get_io_ptr(png);
    if (fread(data, 1, n, job->f) != n) png_error(png, ferror(job->f) ? "read error" : "file is truncated");
}

static void on_write(png_structp png, png_bytep data, size_t n) {
    png_job *job = png_get_io_ptr(png);
    if (fwrite(data, 1, n, job->f) != n) {
        char m[160];
        snprintf(m, sizeof m, "write failed: %s", strerror(errno));
        png_error(png, m);
    }
}

static void on_flush(png_structp png) { (void)png; }

static int little_endian(void) {
    const uint16_t one = 1;
    return *(const unsigned char *)&one == 1;
}

// The decoder's transforms: RGB, or with want_alpha RGBA (opaque where the image has no alpha), of 8 bits
// (16-bit samples rounded) or 16 (narrower ones widened, v * 257 for 8 bits), in native byte order.
static void set_transforms(png_structp png, const png_job *job, int depth, int color) {
    png_set_expand(png);  // palette -> RGB, 1/2/4-bit gray -> 8-bit, tRNS -> alpha
    if (job->bytes == 2 && depth < 16) png_set_expand_16(png);
    if (job->bytes == 1 && depth == 16) png_set_scale_16(png);
    if (job->bytes == 2 && little_endian()) png_set_swap(png);
    if (!job->want_alpha) png_set_strip_alpha(png);
    else if (!job->alpha) png_set_add_alpha(png, job->bytes == 2 ? 0xffff : 0xff, PNG_FILLER_AFTER);
    if (!(color & PNG_COLOR_MASK_COLOR)) png_set_gray_to_rgb(png);
}

// Reads the pixels (after the transforms) into out, n channels of `bytes` bytes; interlaced passes fill in
// the rows already there, so out holds the whole image.
static int read_pixels(png_structp png, png_infop info, unsigned char *out, int n, int bytes) {
    int passes = png_set_interlace_handling(png);
    png_read_update_info(png, info);
    const png_uint_32 pw = png_get_image_width(png, info), ph = png_get_image_height(png, info);
    size_t row = (size_t)pw * n * bytes;
    if (png_get_rowbytes(png, info) != row || png_get_channels(png, info) != n ||
        png_get_bit_depth(png, info) != 8 * bytes)
        return -1;
    for (int p = 0; p < passes; p++)
        for (png_uint_32 y = 0; y < ph; y++) png_read_row(png, out + y * row, NULL);
    png_read_end(png, NULL);
    return 0;
}

// The alpha plane out of the decoded RGBA image.
static void take_alpha(const png_job *job, unsigned char *a, size_t n) {
    if (job->bytes == 1)
        for (size_t i = 0; i < n; i++) a[i] = job->rgba[i * 4 + 3];
    else
        for (size_t i = 0; i < n; i++) memcpy(a + i * 2, job->rgba + (i * 4 + 3) * 2, 2);
}

// Reads the header and, when rgb is not NULL, the pixels (RGB, or the alpha plane with job->want_alpha);
// may longjmp. *w, *h: in: the size expected (when rgb is not NULL), out: the size found.
static int decode(png_structp png, png_infop info, png_job *job, unsigned char *rgb, int *w, int *h,
                  sv_err *e) {
    png_set_sig_bytes(png, 8);
    png_read_info(png, info);
    png_uint_32 pw, ph;
    int depth, color, interlace;
    png_get_IHDR(png, info, &pw, &ph, &depth, &color, &interlace, NULL, NULL);
    if (sv_frame_size_check(job->path, pw, ph, e)) return -1;
    job->alpha = (color & PNG_COLOR_MASK_ALPHA) || png_get_valid(png, info, PNG_INFO_tRNS);
    job->depth = depth;
    if (!rgb) {
        *w = (int)pw;
        *h = (int)ph;
        return 0;
    }
    if ((int)pw != *w || (int)ph != *h)
        return sv_errf(e, "%s: frame is %ux%u but the first frame is %dx%d", job->path, (unsigned)pw,
                       (unsigned)ph, *w, *h);
    set_transforms(png, job, depth, color);
    const size_t n = (size_t)pw * ph;
    if (job->want_alpha && !(job->rgba = malloc(n * 4 * job->bytes)))
        return sv_errf(e, "%s: out of memory decoding its alpha", job->path);
    if (read_pixels(png, info, job->want_alpha ? job->rgba : rgb, job->want_alpha ? 4 : 3, job->bytes))
        return sv_errf(e, "%s: unsupported PNG layout (colour type %d, %d bits)", job->path, color, depth);
    if (job->want_alpha) take_alpha(job, rgb, n);
    return 0;
}

static int read_jmp(png_job *job, unsigned char *rgb, int *w, int *h, sv_err *e) {
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, job, on_error, on_warning);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!info) {
        png_destroy_read_struct(&png, NULL, NULL);
        return sv_errf(e, "%s: out of memory starting the PNG decoder", job->path);
    }
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_read_struct(&png, &info, NULL);
        return sv_errf(e, "%s: corrupt PNG: %s", job->path, job->msg);
    }
    png_set_read_fn(png, job, on_read);
    int rc = decode(png, info, job, rgb, w, h, e);
    png_destroy_read_struct(&png, &info, NULL);
    return rc;
}

static int read_png(png_job *job, unsigned char *rgb, int *w, int *h, sv_err *e) {
    const char *path = job->path;
    job->f = fopen(path, "rb");
    if (!job->f) return sv_errf(e, "%s: cannot open: %s", path, strerror(errno));
    unsigned char sig[8];
    int rc;
    if (fread(sig, 1, 8, job->f) != 8 || png_sig_cmp(sig, 0, 8))
        rc = sv_errf(e, "%s: not a PNG file", path);
    else
        rc = read_jmp(job, rgb, w, h, e);
    fclose(job->f);
    free(job->rgba);
    return rc;
}

int sv_png_read_size(const char *path, int *w, int *h, sv_err *e) {
    png_job job = {.path = path};
    return read_png(&job, NULL, w, h, e);
}

int sv_png_read_info(const char *path, int *alpha, int *depth, sv_err *e) {
    png_job job = {.path = path};
    int w, h;
    if (read_png(&job, NULL, &w, &h, e)) return -1;
    *alpha = job.alpha, *depth = job.depth;
    return 0;
}

int sv_png_read_rgb(const char *path, unsigned char *rgb, int w, int h, sv_err *e) {
    png_job job = {.path = path, .bytes = 1};
    return read_png(&job, rgb, &w, &h, e);
}

int sv_png_read_rgb16(const char *path, uint16_t *rgb, int w, int h, sv_err *e) {
    png_job job = {.path = path, .bytes = 2};
    return read_png(&job, (unsigned char *)rgb, &w, &h, e);
}

int sv_png_read_alpha(const char *path, void *a, int bits, int w, int h, sv_err *e) {
    png_job job = {.path = path, .want_alpha = 1, .bytes = bits == 16 ? 2 : 1};
    return read_png(&job, a, &w, &h, e);
}

static int write_jmp(png_job *job, const unsigned char *rgb, int w, int h, int channels, sv_err *e) {
    const int bytes = job->bytes;
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, job, on_error, on_warning);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!info) {
        png_destroy_write_struct(&png, NULL);
        return sv_errf(e, "%s: out of memory starting the PNG encoder", job->path);
    }
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(&png, &info);
        return sv_errf(e, "%s: cannot write PNG: %s", job->path, job->msg);
    }
    png_set_write_fn(png, job, on_write, on_flush);
    png_set_IHDR(png, info, (png_uint_32)w, (png_uint_32)h, 8 * bytes, channels == 4 ? PNG_COLOR_TYPE_RGBA : PNG_COLOR_TYPE_RGB,
                 PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    // Paeth prediction with run-length-only deflate: on video frames (natural or upscaled) both smaller
    // and 2-3x faster to write than libpng's default adaptive filters with zlib level 3-6.
    png_set_filter(png, PNG_FILTER_TYPE_BASE, PNG_FILTER_PAETH);
    png_set_compression_strategy(png, Z_RLE);
    png_set_compression_level(png, 3);
    png_write_info(png, info);
    if (bytes == 2 && little_endian()) png_set_swap(png);
    size_t row = (size_t)w * channels * bytes;
    for (int y = 0; y < h; y++) png_write_row(png, rgb + (size_t)y * row);
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    return 0;
}

int sv_png_write(FILE *f, const char *path, const void *pix, int w, int h, int channels, int bits, sv_err *e) {
    if (sv_frame_size_check(path, w, h, e)) return -1;
    png_job job = {.path = path, .f = f, .bytes = bits == 16 ? 2 : 1};
    return write_jmp(&job, pix, w, h, channels, e);
}

int sv_png_write_rgb(FILE *f, const char *path, const unsigned char *rgb, int w, int h, sv_err *e) {
    return sv_png_write(f, path, rgb, w, h, 3, 8, e);
}
