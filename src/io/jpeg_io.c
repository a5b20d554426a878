// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// jpeg_io.c: JPEG frames through libjpeg. libjpeg reports errors through its error manager, whose default
// prints and calls exit(); ours keeps the message and longjmps back to the one setjmp in read_jmp. That
// function keeps its state in a jpeg_job owned by its caller and in locals set before setjmp and never
// changed after it, so nothing read after a longjmp is indeterminate, and every path out destroys the
// decompressor.
#include "io/jpeg_io.h"

#include <errno.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>

#include <jpeglib.h>
#include <jerror.h>

#include "io/frames.h"

typedef struct {
    struct jpeg_error_mgr mgr;  // first: libjpeg hands us a pointer to it
    struct jpeg_decompress_struct d;
    jmp_buf jump;
    const char *path;
    FILE *f;
    char msg[JMSG_LENGTH_MAX];  // libjpeg's error text
} jpeg_job;

static void on_error(j_common_ptr c) {
    jpeg_job *job = (jpeg_job *)c->err;
    c->err->format_message(c, job->msg);
    longjmp(job->jump, 1);
}

// Level -1 is a warning: corrupt or missing data that libjpeg would otherwise fill in (grey blocks after a
// truncation). Levels 0 and up are trace messages, ignored.
static void on_message(j_common_ptr c, int level) {
    if (level >= 0) return;
    const int code = c->err->msg_code;
    if (code == JWRN_JFIF_MAJOR || code == JWRN_BOGUS_ICC) return;  // metadata we do not use
    on_error(c);
}

static void on_output(j_common_ptr c) { (void)c; }  // the library never prints

// Reads the header and, when rgb is not NULL, the pixels; may longjmp. *w, *h: in: the size expected
// (when rgb is not NULL), out: the size found.
static int decode(struct jpeg_decompress_struct *d, jpeg_job *job, unsigned char *rgb, int *w, int *h,
                  sv_err *e) {
    jpeg_stdio_src(d, job->f);
    jpeg_read_header(d, TRUE);
    const unsigned jw = d->image_width, jh = d->image_height;
    if (sv_frame_size_check(job->path, jw, jh, e)) return -1;
    const J_COLOR_SPACE cs = d->jpeg_color_space;
    if (cs == JCS_CMYK || cs == JCS_YCCK)
        return sv_errf(e, "%s: CMYK JPEG is not supported; convert the frames to RGB first", job->path);
    const int gray = cs == JCS_GRAYSCALE && d->num_components == 1;
    if (!gray && !((cs == JCS_YCbCr || cs == JCS_RGB) && d->num_components == 3))
        return sv_errf(e, "%s: unsupported JPEG colour space (%d components)", job->path, d->num_components);
    if (!rgb) {
        *w = (int)jw;
        *h = (int)jh;
        return 0;
    }
    if ((int)jw != *w || (int)jh != *h)
        return sv_errf(e, "%s: frame is %ux%u but the first frame is %dx%d", job->path, jw, jh, *w, *h);
    // Gray is decoded as gray and expanded here: not every libjpeg converts gray to RGB itself.
    d->out_color_space = gray ? JCS_GRAYSCALE : JCS_RGB;
    d->dct_method = JDCT_ISLOW;
    jpeg_start_decompress(d);
    if (d->output_width != jw || d->output_height != jh || d->output_components != (gray ? 1 : 3))
        return sv_errf(e, "%s: unexpected JPEG decoder output (%d components)", job->path, d->output_components);
    const size_t row = (size_t)jw * 3;
    while (d->output_scanline < jh) {
        unsigned char *line = rgb + (size_t)d->output_scanline * row;
        JSAMPROW rows[1] = {line};
        if (jpeg_read_scanlines(d, rows, 1) != 1)
            return sv_errf(e, "%s: JPEG decoder stopped at row %u", job->path, d->output_scanline);
        if (gray)  // from the end, so that no sample is overwritten before it is read
            for (size_t x = jw; x-- > 0;) line[3 * x] = line[3 * x + 1] = line[3 * x + 2] = line[x];
    }
    jpeg_finish_decompress(d);  // reads up to the end marker: a truncated file warns here too
    return 0;
}

// job->d is zeroed by the caller, so destroying it is safe however far jpeg_create_decompress got.
static int read_jmp(jpeg_job *job, unsigned char *rgb, int *w, int *h, sv_err *e) {
    job->d.err = jpeg_std_error(&job->mgr);
    job->mgr.error_exit = on_error;
    job->mgr.emit_message = on_message;
    job->mgr.output_message = on_output;
    if (setjmp(job->jump)) {
        jpeg_destroy_decompress(&job->d);
        return sv_errf(e, "%s: cannot decode JPEG: %s", job->path, job->msg);
    }
    jpeg_create_decompress(&job->d);
    const int rc = decode(&job->d, job, rgb, w, h, e);
    jpeg_destroy_decompress(&job->d);
    return rc;
}

static int read_jpeg(const char *path, unsigned char *rgb, int *w, int *h, sv_err *e) {
    jpeg_job job = {.path = path};
    job.f = fopen(path, "rb");
    if (!job.f) return sv_errf(e, "%s: cannot open: %s", path, strerror(errno));
    const int rc = read_jmp(&job, rgb, w, h, e);
    if (rc == 0 && ferror(job.f)) {
        fclose(job.f);
        return sv_errf(e, "%s: read error", path);
    }
    fclose(job.f);
    return rc;
}

int sv_jpeg_read_size(const char *path, int *w, int *h, sv_err *e) { return read_jpeg(path, NULL, w, h, e); }

int sv_jpeg_read_rgb(const char *path, unsigned char *rgb, int w, int h, sv_err *e) {
    return read_jpeg(path, rgb, &w, &h, e);
}
