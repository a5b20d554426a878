// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// photos.c: listing, reading and shrinking a folder of photos (photos.h).
#include "train/photos.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "core/memory.h"
#include "io/frames.h"

typedef struct {
    char **v;
    int n, cap;
} path_list;

static int is_photo_name(const char *name) {
    const char *dot = strrchr(name, '.');
    return name[0] != '.' && dot && dot > name &&
           (!strcasecmp(dot, ".jpg") || !strcasecmp(dot, ".jpeg") || !strcasecmp(dot, ".png"));
}

static int list_photos(path_list *l, const char *dir, int depth, sv_err *e) {
    DIR *d = opendir(dir);
    if (!d) return sv_errf(e, "--photos %s: not a readable folder", dir);
    int rc = 0;
    struct dirent *de;
    while (!rc && (de = readdir(d))) {
        if (de->d_name[0] == '.') continue;
        const size_t n = strlen(dir) + strlen(de->d_name) + 2;
        char *p = sv_malloc(n, e);
        if (!p) {
            rc = -1;
            break;
        }
        snprintf(p, n, "%s/%s", dir, de->d_name);
        struct stat st;
        if (stat(p, &st) == 0 && S_ISDIR(st.st_mode) && depth < 16) {
            rc = list_photos(l, p, depth + 1, e);
            free(p);
        } else if (stat(p, &st) == 0 && S_ISREG(st.st_mode) && is_photo_name(de->d_name)) {
            if (l->n == l->cap) {
                char **v = realloc(l->v, (size_t)(l->cap = l->cap ? 2 * l->cap : 64) * sizeof *v);
                if (!v) {
                    free(p);
                    rc = sv_errf(e, "out of memory listing %s", dir);
                    break;
                }
                l->v = v;
            }
            l->v[l->n++] = p;
        } else {
            free(p);
        }
    }
    closedir(d);
    return rc;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

// rgb [h,w,3] -> out [h/k, w/k, 3]: the mean of each k x k block (rows and columns beyond a multiple of k dropped).
static void shrink_area(unsigned char *out, const unsigned char *rgb, int h, int w, int k) {
    const int oh = h / k, ow = w / k;
    for (int y = 0; y < oh; y++)
        for (int x = 0; x < ow; x++)
            for (int c = 0; c < 3; c++) {
                unsigned s = 0;
                for (int dy = 0; dy < k; dy++)
                    for (int dx = 0; dx < k; dx++) s += rgb[((size_t)(y * k + dy) * w + x * k + dx) * 3 + c];
                out[((size_t)y * ow + x) * 3 + c] = (unsigned char)((s + (unsigned)(k * k) / 2) / (unsigned)(k * k));
            }
}

// One photo into im, shrunk so that its longer side is at most max_side (never below 8 on its shorter side).
static int load_photo(sv_synth_image *im, const char *path, int max_side, sv_err *e) {
    sv_frame_reader *rd = sv_frames_open(path, e);
    if (!rd) return -1;
    const int w = sv_frames_width(rd), h = sv_frames_height(rd);
    unsigned char *rgb = NULL;
    int rc = w < 8 || h < 8 ? sv_errf(e, "%s: photo of %d x %d, smaller than 8 x 8", path, w, h) : 0;
    if (!rc && !(rgb = sv_malloc((size_t)w * h * 3, e))) rc = -1;
    if (!rc) {
        const int got = sv_frames_read(rd, rgb, e);
        if (got == 0) rc = sv_errf(e, "%s: no picture in the file", path);
        else if (got < 0) rc = -1;
    }
    sv_frames_close(rd);
    if (rc) {
        free(rgb);
        return -1;
    }
    const int side = w > h ? w : h, shorter = w < h ? w : h;
    int k = max_side > 0 ? (side + max_side - 1) / max_side : 1;
    while (k > 1 && shorter / k < 8) k--;
    if (k > 1) {
        unsigned char *small = sv_malloc((size_t)(w / k) * (h / k) * 3, e);
        if (!small) {
            free(rgb);
            return -1;
        }
        shrink_area(small, rgb, h, w, k);
        free(rgb);
        rgb = small;
    }
    *im = (sv_synth_image){.rgb = rgb, .w = w / k, .h = h / k};
    return 0;
}

int sv_photos_load(sv_photo_set *ps, const char *dir, int max_side, sv_err *e) {
    memset(ps, 0, sizeof *ps);
    path_list l = {0};
    int rc = list_photos(&l, dir, 0, e);
    if (!rc && !l.n)
        rc = sv_errf(e, "--photos %s: no photos (.jpg, .jpeg, .png) in the folder or its sub-folders", dir);
    if (!rc) qsort(l.v, (size_t)l.n, sizeof *l.v, cmp_str);
    if (!rc && !(ps->v = sv_calloc((size_t)l.n, sizeof *ps->v, e))) rc = -1;
    for (int i = 0; !rc && i < l.n; i++) {
        if (load_photo(&ps->v[i], l.v[i], max_side, e)) rc = sv_errprefix(e, "--photos");
        else ps->n++;
    }
    for (int i = 0; i < l.n; i++) free(l.v[i]);
    free(l.v);
    if (rc) sv_photos_free(ps);
    return rc;
}

void sv_photos_free(sv_photo_set *ps) {
    for (int i = 0; ps->v && !ps->borrowed && i < ps->n; i++) free((void *)ps->v[i].rgb);
    free(ps->v);
    memset(ps, 0, sizeof *ps);
}

int sv_photos_split(sv_photo_set *ps, sv_photo_set *held, sv_err *e) {
    const int moved = ps->n >= SV_HELDOUT_EVERY ? ps->n / SV_HELDOUT_EVERY : 0;
    memset(held, 0, sizeof *held);
    if (!(held->v = sv_calloc((size_t)(moved ? moved : ps->n), sizeof *held->v, e))) return -1;
    if (!moved) {
        memcpy(held->v, ps->v, (size_t)ps->n * sizeof *ps->v);
        held->n = ps->n;
        held->borrowed = 1;
        return 0;
    }
    int kept = 0;
    for (int i = 0; i < ps->n; i++) {
        if (i % SV_HELDOUT_EVERY == SV_HELDOUT_EVERY - 1) held->v[held->n++] = ps->v[i];
        else ps->v[kept++] = ps->v[i];
    }
    ps->n = kept;
    return moved;
}
