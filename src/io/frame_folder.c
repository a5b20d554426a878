// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// frame_folder.c: a folder of PNG, JPEG, WebP, TIFF or BMP frames as a frame source (names in natural order, one kind per
// folder) and as a sink (PNG files written into the writer's temporary folder, each fsynced before the
// folder is published).
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/warn.h"
#include "io/frames_internal.h"
#include "io/image_av.h"
#include "io/jpeg_io.h"
#include "io/png_io.h"

// Frames are the visible .png, .jpg, .jpeg, .webp, .tif, .tiff and .bmp files; dot files (editor and OS litter, our own temporaries)
// are skipped.
static int is_frame_name(const char *name) { return name[0] != '.' && sv_frames_is_frame_name(name); }

static int cmp_names(const void *a, const void *b) {
    return sv_frames_name_cmp(*(char *const *)a, *(char *const *)b);
}

// The length of a name without its .jpg / .jpeg / .png extension.
static size_t stem_len(const char *name) {
    const char *dot = strrchr(name, '.');
    return dot ? (size_t)(dot - name) : strlen(name);
}

static int cmp_stems(const void *a, const void *b) {
    const char *x = *(char *const *)a, *y = *(char *const *)b;
    const size_t nx = stem_len(x), ny = stem_len(y);
    const int c = memcmp(x, y, nx < ny ? nx : ny);
    return c ? c : (nx > ny) - (nx < ny);
}

// "dir/name" into buf; the folder may be given with a trailing '/'.
static int join(char *buf, size_t n, const char *dir, const char *name, sv_err *e) {
    size_t d = strlen(dir);
    const char *sep = d && dir[d - 1] == '/' ? "" : "/";
    if ((size_t)snprintf(buf, n, "%s%s%s", dir, sep, name) >= n)
        return sv_errf(e, "%s/%s: path too long", dir, name);
    return 0;
}

// The visible frame files of r->path (regular files) into r->names, unsorted.
static int list_frames(sv_frame_reader *r, sv_err *e) {
    DIR *d = opendir(r->path);
    if (!d) return sv_errf(e, "%s: cannot open folder: %s", r->path, strerror(errno));
    int cap = 0, rc = 0;
    struct dirent *de;
    char p[8192];
    while ((de = readdir(d))) {
        if (!is_frame_name(de->d_name)) continue;
        struct stat st;
        if (join(p, sizeof p, r->path, de->d_name, e)) {
            rc = -1;
            break;
        }
        if (stat(p, &st) != 0 || !S_ISREG(st.st_mode)) continue;  // a sub-folder called x.png, a dead link
        if (r->n_names == cap) {
            cap = cap ? 2 * cap : 256;
            char **grown = realloc(r->names, (size_t)cap * sizeof *grown);
            if (!grown) {
                rc = sv_errf(e, "%s: out of memory listing frames", r->path);
                break;
            }
            r->names = grown;
        }
        if (!(r->names[r->n_names] = strdup(de->d_name))) {
            rc = sv_errf(e, "%s: out of memory listing frames", r->path);
            break;
        }
        r->n_names++;
    }
    closedir(d);
    return rc;
}

static const char *const kind_names[SV_FRAME_KINDS] = {"PNG", "JPEG", "WebP", "TIFF", "BMP"};

// The kind of a frame name (sv_frames_is_frame_name holds).
static sv_frame_kind kind_of(const char *name) {
    const char *dot = strrchr(name, '.');
    if (sv_frames_is_png_name(name)) return SV_FRAME_PNG;
    if (sv_frames_is_jpeg_name(name)) return SV_FRAME_JPEG;
    if (!strcasecmp(dot, ".webp")) return SV_FRAME_WEBP;
    return strcasecmp(dot, ".bmp") ? SV_FRAME_TIFF : SV_FRAME_BMP;
}

// One kind per folder; names of a kind other than PNG distinct without their extension (each is written as
// STEM.png).
static int check_kinds(sv_frame_reader *r, sv_err *e) {
    const char *first[SV_FRAME_KINDS] = {NULL};  // the first of each kind in reading order
    for (int i = 0; i < r->n_names; i++) {
        const sv_frame_kind k = kind_of(r->names[i]);
        if (!first[k]) first[k] = r->names[i];
    }
    int a = -1;
    for (int k = 0; k < SV_FRAME_KINDS; k++) {
        if (!first[k]) continue;
        if (a >= 0)
            return sv_errf(e, "%s: holds both %s and %s frames (%s, %s); put one kind of frame in a folder", r->path,
                           kind_names[a], kind_names[k], first[a], first[k]);
        a = k;
    }
    r->kind = a;
    if (r->kind == SV_FRAME_PNG) return 0;
    char **by_stem = malloc((size_t)r->n_names * sizeof *by_stem);
    if (!by_stem) return sv_errf(e, "%s: out of memory listing frames", r->path);
    memcpy(by_stem, r->names, (size_t)r->n_names * sizeof *by_stem);
    qsort(by_stem, (size_t)r->n_names, sizeof *by_stem, cmp_stems);
    int rc = 0;
    for (int i = 1; i < r->n_names && !rc; i++)
        if (!cmp_stems(&by_stem[i - 1], &by_stem[i]))
            rc = sv_errf(e, "%s: frames %s and %s differ only in their extension (one frame twice?)", r->path,
                         by_stem[i - 1], by_stem[i]);
    free(by_stem);
    return rc;
}

// Numbers of different widths (9.png, 10.png) order otherwise than their bytes do: a warning, once per
// folder, that the numbers decide (a tool sorting by name would read 10 before 9).
static void warn_mixed_widths(const sv_frame_reader *r) {
    for (int i = 1; i < r->n_names; i++)
        if (strcmp(r->names[i - 1], r->names[i]) > 0) {
            sv_warnf("%s: frame names hold numbers of different widths (%s, %s): read in numeric order, %s "
                     "first; pad them with zeros if that is not the frames' order", r->path, r->names[i - 1],
                     r->names[i], r->names[i - 1]);
            return;
        }
}

// The first frame's size, whether it carries alpha and its bits per sample (8 or 16), by its kind's decoder.
static int read_first(sv_frame_reader *r, const char *p, sv_err *e) {
    int depth = 8;
    r->alpha = 0;
    switch (r->kind) {
    case SV_FRAME_PNG:
        if (sv_png_read_size(p, &r->w, &r->h, e) || sv_png_read_info(p, &r->alpha, &depth, e)) return -1;
        break;
    case SV_FRAME_JPEG:
        if (sv_jpeg_read_size(p, &r->w, &r->h, e)) return -1;
        break;
    default:
        if (sv_image_av_read_size(p, &r->w, &r->h, &r->alpha, &depth, e)) return -1;
        break;
    }
    r->depth = depth > 8 ? 16 : 8;
    return 0;
}

static int read_rgb(const sv_frame_reader *r, const char *p, unsigned char *rgb, sv_err *e) {
    switch (r->kind) {
    case SV_FRAME_PNG: return sv_png_read_rgb(p, rgb, r->w, r->h, e);
    case SV_FRAME_JPEG: return sv_jpeg_read_rgb(p, rgb, r->w, r->h, e);
    default: return sv_image_av_read(p, rgb, SV_PX_RGB8, r->w, r->h, e);
    }
}

int sv_folder_reader_open(sv_frame_reader *r, sv_err *e) {
    if (list_frames(r, e)) return -1;
    if (r->n_names == 0) return sv_errf(e, "no frames (" SV_FRAME_KINDS_TEXT ") in %s", r->path);
    qsort(r->names, (size_t)r->n_names, sizeof *r->names, cmp_names);
    warn_mixed_widths(r);
    if (check_kinds(r, e)) return -1;
    char p[8192];
    if (join(p, sizeof p, r->path, r->names[0], e)) return -1;
    if (read_first(r, p, e)) return -1;
    r->count = r->n_names;
    return 0;
}

// The path of the next frame into p (0), or 1 at the end, or -1.
static int next_path(const sv_frame_reader *r, char *p, size_t n, sv_err *e) {
    if (r->next >= r->n_names) return 1;
    return join(p, n, r->path, r->names[r->next], e);
}

int sv_folder_reader_read(sv_frame_reader *r, unsigned char *rgb, sv_err *e) {
    char p[8192];
    const int rc = next_path(r, p, sizeof p, e);
    if (rc) return rc > 0 ? 0 : -1;
    if (read_rgb(r, p, rgb, e)) return -1;
    r->last_name = r->names[r->next++];
    return 1;
}

int sv_folder_reader_read16(sv_frame_reader *r, uint16_t *rgb, sv_err *e) {
    char p[8192];
    const int rc = next_path(r, p, sizeof p, e);
    if (rc) return rc > 0 ? 0 : -1;
    if (r->kind == SV_FRAME_PNG ? sv_png_read_rgb16(p, rgb, r->w, r->h, e)
                                : sv_image_av_read(p, rgb, SV_PX_RGB16, r->w, r->h, e))
        return -1;
    r->last_name = r->names[r->next++];
    return 1;
}

int sv_folder_reader_alpha(const sv_frame_reader *r, const char *name, void *a, int bits, sv_err *e) {
    char p[8192];
    if (join(p, sizeof p, r->path, name, e)) return -1;
    switch (r->kind) {
    case SV_FRAME_PNG: return sv_png_read_alpha(p, a, bits, r->w, r->h, e);
    case SV_FRAME_JPEG: memset(a, 255, (size_t)r->w * r->h * (bits == 16 ? 2 : 1)); return 0;
    default: return sv_image_av_read(p, a, bits == 16 ? SV_PX_ALPHA16 : SV_PX_ALPHA8, r->w, r->h, e);
    }
}

void sv_folder_reader_free(sv_frame_reader *r) {
    for (int i = 0; i < r->n_names; i++) free(r->names[i]);
    free(r->names);
    r->names = NULL;
    r->n_names = 0;
}

int sv_folder_writer_write(sv_frame_writer *wr, const void *rgb, const char *name, sv_err *e) {
    const char *out = wr->out.final_path;
    char auto_name[32];
    if (!name) {
        snprintf(auto_name, sizeof auto_name, "%08lld.png", wr->frames);
        name = auto_name;
    }
    if (!name[0] || name[0] == '.' || strchr(name, '/') || strlen(name) > 255)
        return sv_errf(e, "%s: invalid frame file name '%s' (a plain name not starting with '.')", out, name);
    char as_png[260];
    if (sv_frames_is_frame_name(name) && !sv_frames_is_png_name(name)) {  // 7.jpg, 7.webp ...: the output is PNG
        snprintf(as_png, sizeof as_png, "%.*s.png", (int)stem_len(name), name);
        name = as_png;
    }
    if (!sv_frames_is_png_name(name)) return sv_errf(e, "%s: frame file name '%s' does not end in .png", out, name);
    char tmp[8192], shown[8192];
    if (join(tmp, sizeof tmp, wr->out.tmp_path, name, e) || join(shown, sizeof shown, out, name, e)) return -1;
    return sv_frame_file_write(tmp, shown, rgb, wr->w, wr->h, wr->channels, wr->bits,
                               (wr->out.flags & SV_ATOMIC_PARTIAL) != 0, e);
}

int sv_frame_file_write(const char *path, const char *shown, const void *pix, int w, int h, int channels, int bits,
                        int again, sv_err *e) {
    if (again) unlink(path);  // a frame a continued job writes again
    FILE *f = fopen(path, "wbx");
    if (!f) {
        if (errno == EEXIST) return sv_errf(e, "%s: frame file name written twice", shown);
        return sv_errf(e, "%s: cannot create: %s", shown, strerror(errno));
    }
    int rc = sv_png_write(f, shown, pix, w, h, channels, bits, e);
    if (rc == 0 && (fflush(f) != 0 || fsync(fileno(f)) != 0))
        rc = sv_errf(e, "%s: write failed: %s", shown, strerror(errno));
    if (fclose(f) != 0 && rc == 0) rc = sv_errf(e, "%s: write failed: %s", shown, strerror(errno));
    if (rc) unlink(path);
    return rc;
}
