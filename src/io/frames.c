// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// frames.c: the frames.h API; picks the source or sink kind from the path and dispatches to
// frame_folder.c (PNG or JPEG folders) or video_read.c / video_write.c (libav); the names of frames.
#include "io/frames.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "io/frames_internal.h"
#include "io/image_av.h"
#include "io/libav_util.h"
#include "io/video_formats.h"

int sv_frame_size_check(const char *name, long long w, long long h, sv_err *e) {
    if (w < 1 || h < 1) return sv_errf(e, "%s: invalid frame size %lldx%lld", name, w, h);
    if (w > SV_FRAME_MAX_SIDE || h > SV_FRAME_MAX_SIDE)
        return sv_errf(e, "%s: frame size %lldx%lld is over the %dx%d limit", name, w, h, SV_FRAME_MAX_SIDE,
                       SV_FRAME_MAX_SIDE);
    if ((unsigned long long)w * (unsigned long long)h > SIZE_MAX / 3)
        return sv_errf(e, "%s: frame size %lldx%lld is too large for this machine", name, w, h);
    return 0;
}

// ---- reading ----

const char *sv_stream_name(const char *path, int output) {
    return sv_path_is_stream(path) ? (output ? "standard output" : "standard input") : path;
}

sv_frame_reader *sv_frames_open(const char *path, sv_err *e) {
    if (!path || !path[0]) {
        sv_errf(e, "no input path given");
        return NULL;
    }
    if (strlen(path) >= sizeof ((sv_frame_reader *)0)->path) {
        sv_errf(e, "%.200s...: input path too long", path);
        return NULL;
    }
    const int stream = sv_path_is_stream(path);
    struct stat st;
    if (!stream && stat(path, &st) != 0) {
        sv_errf(e, "%s: cannot open input: %s", path, strerror(errno));
        return NULL;
    }
    sv_frame_reader *r = sv_calloc(1, sizeof *r, e);
    if (!r) return NULL;
    strcpy(r->path, path);
    r->depth = 8;
    int rc;
    if (!stream && S_ISDIR(st.st_mode)) {
        rc = sv_folder_reader_open(r, e);
    } else {
        r->video = sv_video_in_open(path, &r->w, &r->h, &r->count, &r->fps_num, &r->fps_den, &r->depth, e);
        rc = r->video ? 0 : -1;
    }
    if (rc) {
        sv_frames_close(r);
        return NULL;
    }
    return r;
}

int sv_frames_depth(const sv_frame_reader *r) { return r->depth; }
int sv_frames_width(const sv_frame_reader *r) { return r->w; }
int sv_frames_height(const sv_frame_reader *r) { return r->h; }
int sv_frames_count(const sv_frame_reader *r) { return r->count; }
int sv_frames_is_video(const sv_frame_reader *r) { return r->video != NULL; }
int sv_frames_has_alpha(const sv_frame_reader *r) { return r->alpha; }
int sv_frames_other_streams(const sv_frame_reader *r) { return r->video ? sv_video_in_others(r->video) : 0; }

double sv_frames_fps(const sv_frame_reader *r) { return r->fps_den ? (double)r->fps_num / r->fps_den : 0.0; }

int sv_frames_fps_rational(const sv_frame_reader *r, int *num, int *den) {
    *num = r->fps_num;
    *den = r->fps_den;
    return r->fps_den ? 0 : -1;
}

int sv_frames_read(sv_frame_reader *r, unsigned char *rgb, sv_err *e) {
    if (r->video) return sv_video_in_read(r->video, rgb, e);
    return sv_folder_reader_read(r, rgb, e);
}

const char *sv_frames_last_name(const sv_frame_reader *r) { return r->last_name; }

int sv_frames_read_alpha(const sv_frame_reader *r, const char *name, void *a, int bits, sv_err *e) {
    if (r->video || !name) return sv_errf(e, "%s: a video's frames have no alpha here", r->path);
    return sv_folder_reader_alpha(r, name, a, bits, e);
}

int sv_frames_read16(sv_frame_reader *r, uint16_t *rgb, sv_err *e) {
    if (r->video || r->depth != 16) return sv_errf(e, "%s: not a folder of 16-bit frames", r->path);
    return sv_folder_reader_read16(r, rgb, e);
}
int64_t sv_frames_last_pts(const sv_frame_reader *r) {
    const int64_t pts = r->video ? sv_video_in_last_pts(r->video) : AV_NOPTS_VALUE;
    return pts == AV_NOPTS_VALUE ? SV_NO_PTS : pts;
}
const char *sv_frames_first_name(const sv_frame_reader *r) {
    return r->video || r->n_names < 1 ? NULL : r->names[0];
}

void sv_frames_close(sv_frame_reader *r) {
    if (!r) return;
    sv_video_in_close(r->video);
    sv_folder_reader_free(r);
    free(r);
}

int sv_frames_is_video_name(const char *name) {
    static const char *const ext[] = {"mp4", "mkv", "avi", "mov", "webm", "mpg", "mpeg", "m4v", "wmv",
                                      "flv", "ts",  "mts", "m2ts", "y4m", "ogv", "3gp", "vob"};
    const char *dot = strrchr(name, '.');
    if (!dot || dot == name || strchr(dot, '/')) return 0;
    for (size_t i = 0; i < sizeof ext / sizeof *ext; i++)
        if (!strcasecmp(dot + 1, ext[i])) return 1;
    return 0;
}

int sv_frames_is_png_name(const char *name) {
    const size_t n = strlen(name);
    return n > 4 && !strcasecmp(name + n - 4, ".png");
}

int sv_frames_is_jpeg_name(const char *name) {
    const size_t n = strlen(name);
    return (n > 4 && !strcasecmp(name + n - 4, ".jpg")) || (n > 5 && !strcasecmp(name + n - 5, ".jpeg"));
}

int sv_frames_is_frame_name(const char *name) {
    return sv_frames_is_png_name(name) || sv_frames_is_jpeg_name(name) || sv_image_av_is_name(name);
}

static int is_digit(unsigned char c) { return c >= '0' && c <= '9'; }  // ASCII, whatever the locale

int sv_frames_name_cmp(const char *a, const char *b) {
    const unsigned char *p = (const unsigned char *)a, *q = (const unsigned char *)b;
    while (*p && *q) {
        if (is_digit(*p) && is_digit(*q)) {  // two numbers: by value, as many digits as they have
            while (*p == '0') p++;
            while (*q == '0') q++;
            const unsigned char *p0 = p, *q0 = q;
            while (is_digit(*p)) p++;
            while (is_digit(*q)) q++;
            if (p - p0 != q - q0) return p - p0 < q - q0 ? -1 : 1;
            const int c = memcmp(p0, q0, (size_t)(p - p0));
            if (c) return c < 0 ? -1 : 1;
            continue;
        }
        // bytes; a digit against another byte compares as that digit, and no other byte lies between '0'
        // and '9', so every number ranks alike against it
        if (*p != *q) return *p < *q ? -1 : 1;
        p++, q++;
    }
    if (*p || *q) return *p ? 1 : -1;  // a prefix first
    return strcmp(a, b);
}

// ---- writing ----

sv_output_kind sv_frames_output_kind(const char *path) {
    if (sv_path_is_stream(path)) return SV_OUTPUT_STREAM;
    size_t n = strlen(path);
    if (n && path[n - 1] == '/') return SV_OUTPUT_FOLDER;
    if (sv_container_of_path(path)) return SV_OUTPUT_VIDEO;
    const char *slash = strrchr(path, '/');
    const char *dot = strrchr(slash ? slash + 1 : path, '.');
    if (!dot) return SV_OUTPUT_FOLDER;
    static const char *const refused[] = {".avi", ".m4v", ".mpg", ".mpeg", ".wmv", ".flv", ".ts", ".gif", ".png",
                                          ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp"};
    for (size_t i = 0; i < sizeof refused / sizeof *refused; i++)
        if (!strcasecmp(dot, refused[i])) return SV_OUTPUT_REFUSED;
    return SV_OUTPUT_FOLDER;
}

// The container of a video output (sv_output_container), or NULL with a message: an unknown --format.
static const sv_container *output_container(const char *path, const sv_writer_opts *o, sv_err *e) {
    const sv_container *k = sv_output_container(path, o);
    char names[128];
    if (!k) sv_errf(e, "standard output: unknown format '%s' (one of %s)", o->format,
                    sv_container_names(names, sizeof names));
    return k;
}

// The checks that need no libav: the kind of output, the options that apply to it, the rate, and a file or
// folder in the way.
static int check_kind(const char *path, sv_output_kind kind, int fps_num, int fps_den, const sv_writer_opts *o,
                      sv_err *e) {
    char names[128];
    if (kind == SV_OUTPUT_REFUSED)
        return sv_errf(e, "%s: unsupported output format; name a video file (%s), - for standard output or a "
                          "folder for PNG frames", path, sv_container_names(names, sizeof names));
    if (fps_num < 0 || fps_den < 0) return sv_errf(e, "%s: invalid frame rate %d/%d", path, fps_num, fps_den);
    if (o->format && kind != SV_OUTPUT_STREAM)
        return sv_errf(e, "%s: format '%s' applies only to standard output (-); a file's extension names its "
                          "container", path, o->format);
    if (kind == SV_OUTPUT_FOLDER && o->encoder && strcmp(o->encoder, "png"))
        return sv_errf(e, "%s: encoder '%s' does not apply to a folder of PNG frames", path, o->encoder);
    if (kind != SV_OUTPUT_FOLDER && (o->alpha || o->bits == 16))
        return sv_errf(e, "%s: a video output takes 8-bit RGB frames here; %s frames go to a folder of PNG frames",
                       path, o->alpha ? "RGBA" : "16-bit");
    if (kind == SV_OUTPUT_FOLDER && (o->crf_set || o->preset || o->pix_fmt))
        return sv_errf(e, "%s: %s does not apply to a folder of PNG frames", path,
                       o->crf_set ? "crf" : o->preset ? "preset" : "pixel format");
    // A file where a folder goes (or the reverse) would only fail at the final rename, after all the work.
    struct stat st;
    if (kind != SV_OUTPUT_STREAM && stat(path, &st) == 0 && S_ISDIR(st.st_mode) != (kind == SV_OUTPUT_FOLDER))
        return sv_errf(e, "%s: exists and is %s", path, S_ISDIR(st.st_mode) ? "a folder" : "not a folder");
    return 0;
}

int sv_frames_output_check(const char *path, int w, int h, int fps_num, int fps_den, const sv_writer_opts *o,
                           sv_err *e) {
    const sv_writer_opts none = {0};
    if (!o) o = &none;
    if (!path || !path[0]) return sv_errf(e, "no output path given");
    const char *name = sv_stream_name(path, 1);
    const sv_output_kind kind = sv_frames_output_kind(path);
    if (sv_frame_size_check(name, w, h, e) || check_kind(path, kind, fps_num, fps_den, o, e)) return -1;
    if (kind == SV_OUTPUT_FOLDER) return 0;
    const sv_container *k = output_container(path, o, e);
    if (!k) return -1;
    if (fps_num == 0 || fps_den == 0) fps_num = 25, fps_den = 1;
    sv_video_out *v = sv_video_out_open(NULL, kind == SV_OUTPUT_STREAM, name, k, o, w, h, fps_num, fps_den, e);
    sv_video_out_free(v);
    return v ? 0 : -1;
}

// Publishes the output: the temporary renamed onto the final name, or standard output flushed.
static int out_commit(sv_frame_writer *wr, sv_err *e) {
    if (!wr->stream) return sv_atomic_commit(&wr->out, e);
    if (fflush(wr->out.f) != 0 || ferror(wr->out.f))
        return sv_errf(e, "%s: write failed: %s", wr->out.final_path, strerror(errno));
    return 0;
}

static void out_abort(sv_frame_writer *wr) {
    if (!wr->stream) sv_atomic_abort(&wr->out);
}

// Standard output as the writer's file: nothing to register, rename or remove.
static void open_stream(sv_frame_writer *wr) {
    wr->stream = 1;
    wr->out.f = stdout;
    wr->out.slot = -1;
    snprintf(wr->out.final_path, sizeof wr->out.final_path, "%s", sv_stream_name("-", 1));
}

// A video file written through its partial folder: the frames there, the video at the end (video_partial.c).
static sv_frame_writer *create_partial_video(sv_frame_writer *wr, const char *path, const sv_writer_opts *o,
                                             int fps_num, int fps_den, sv_err *e) {
    if (sv_atomic_open_dir(&wr->out, path, (o->replace ? SV_ATOMIC_REPLACE : 0) | SV_ATOMIC_PARTIAL, e)) {
        free(wr);
        return NULL;
    }
    const sv_container *k = output_container(path, o, e);
    if (k && (wr->later = sv_video_partial_open(wr->out.tmp_path, path, k, o, wr->w, wr->h, fps_num, fps_den, e)))
        return wr;
    out_abort(wr);
    free(wr);
    return NULL;
}

sv_frame_writer *sv_frames_create_with(const char *path, int w, int h, int fps_num, int fps_den,
                                       const sv_writer_opts *o, sv_err *e) {
    const sv_writer_opts none = {0};
    if (!o) o = &none;
    const int flags = o->replace ? SV_ATOMIC_REPLACE : 0;
    if (sv_frames_output_check(path, w, h, fps_num, fps_den, o, e)) return NULL;
    if (fps_num == 0 || fps_den == 0) fps_num = 25, fps_den = 1;
    const sv_output_kind sink = sv_frames_output_kind(path);
    sv_frame_writer *wr = sv_calloc(1, sizeof *wr, e);
    if (!wr) return NULL;
    wr->w = w;
    wr->h = h;
    wr->channels = o->alpha ? 4 : 3;
    wr->bits = o->bits == 16 ? 16 : 8;
    if (sink == SV_OUTPUT_FOLDER) {
        if (sv_atomic_open_dir(&wr->out, path, flags | (o->partial ? SV_ATOMIC_PARTIAL : 0), e)) {
            free(wr);
            return NULL;
        }
        return wr;
    }
    if (sink == SV_OUTPUT_VIDEO && o->partial) return create_partial_video(wr, path, o, fps_num, fps_den, e);
    if (sink == SV_OUTPUT_STREAM) {
        open_stream(wr);
    } else if (sv_atomic_open_file(&wr->out, path, flags, e)) {
        free(wr);
        return NULL;
    }
    const sv_container *k = output_container(path, o, e);
    wr->video = k ? sv_video_out_open(wr->out.f, wr->stream, wr->stream ? wr->out.final_path : path, k, o, w, h,
                                      fps_num, fps_den, e)
                  : NULL;
    if (!wr->video) {
        out_abort(wr);
        free(wr);
        return NULL;
    }
    return wr;
}

sv_frame_writer *sv_frames_create(const char *path, int w, int h, int fps_num, int fps_den, sv_err *e) {
    return sv_frames_create_with(path, w, h, fps_num, fps_den, NULL, e);
}

int sv_frames_write(sv_frame_writer *wr, const void *rgb, const char *name, sv_err *e) {
    return sv_frames_write_at(wr, rgb, name, SV_NO_PTS, e);
}

int sv_frames_write_at(sv_frame_writer *wr, const void *rgb, const char *name, int64_t pts, sv_err *e) {
    int rc = wr->video   ? sv_video_out_write(wr->video, rgb, pts, e)
             : wr->later ? sv_video_partial_write(wr->later, rgb, wr->frames, pts, e)
                         : sv_folder_writer_write(wr, rgb, name, e);
    if (rc == 0) wr->frames++;
    return rc;
}

// A failed encode leaves the frames, which took the time: the message says where, and how to go on.
static void say_frames_kept(const sv_frame_writer *wr, sv_err *e) {
    if (!e) return;
    char why[sizeof e->msg];
    snprintf(why, sizeof why, "%s", e->msg);
    sv_errf(e, "%s (the frames stay in %s: the same command encodes them again)", why, wr->out.tmp_path);
}

int sv_frames_writer_finish(sv_frame_writer *wr, sv_err *e) {
    int rc = 0;
    if (wr->frames == 0) rc = sv_errf(e, "%s: no frames were written", wr->out.final_path);
    if (wr->later && rc == 0) {  // the partial folder is not published: the video encoded from it is
        rc = sv_video_partial_finish(wr->later, wr->frames, e);
        if (rc) say_frames_kept(wr, e);
        sv_video_partial_free(wr->later);
        free(wr);
        return rc;
    }
    sv_video_partial_free(wr->later);
    if (wr->video) {
        if (rc == 0) rc = sv_video_out_finish(wr->video, e);
        sv_video_out_free(wr->video);
        wr->video = NULL;
    }
    if (rc == 0)
        rc = out_commit(wr, e);  // removes the temporary itself on failure
    else
        out_abort(wr);
    free(wr);
    return rc;
}

void sv_frames_writer_abort(sv_frame_writer *wr) {
    if (!wr) return;
    sv_video_out_free(wr->video);
    sv_video_partial_free(wr->later);
    out_abort(wr);
    free(wr);
}

const char *sv_frames_writer_partial(const sv_frame_writer *wr, int *resumed) {
    if (!(wr->out.flags & SV_ATOMIC_PARTIAL)) return NULL;
    if (resumed) *resumed = wr->out.resumed;
    return wr->out.tmp_path;
}

void sv_frames_writer_seek(sv_frame_writer *wr, long long frame) {
    if (wr->out.resumed) wr->frames = frame;
}

const char *sv_frames_writer_codec(const sv_frame_writer *wr) {
    return wr->video ? sv_video_out_codec(wr->video) : wr->later ? sv_video_partial_codec(wr->later) : "png";
}
