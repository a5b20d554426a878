// dataset_scan.c: turns --data sources into clips (layout rules in dataset.h). Only sizes and frame
// counts are read here, so every source is checked before any frame is decoded.
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "io/frames.h"
#include "train/dataset_internal.h"

#define MAX_DEPTH 16

static int ends_with(const char *name, const char *ext) {
    size_t n = strlen(name), k = strlen(ext);
    return n > k && name[n - k - 1] == '.' && !strcasecmp(name + n - k, ext);
}

static int is_png(const char *name) { return ends_with(name, "png"); }

static char *join(const char *dir, const char *name, sv_err *e) {
    size_t d = strlen(dir);
    char *p = NULL;
    if (asprintf(&p, "%s%s%s", dir, d && dir[d - 1] == '/' ? "" : "/", name) < 0) {
        sv_errf(e, "%s/%s: out of memory", dir, name);
        return NULL;
    }
    return p;
}

static int is_dir(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

// The visible entries of a folder, sorted by name (readdir order differs between file systems and a
// seeded run must see the same clip order everywhere).
typedef struct {
    char **names;
    int n;
} listing;

static void listing_free(listing *l) {
    for (int i = 0; i < l->n; i++) free(l->names[i]);
    free(l->names);
}

static int cmp_names(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static int list_dir(listing *l, const char *dir, sv_err *e) {
    l->names = NULL, l->n = 0;
    DIR *dh = opendir(dir);
    if (!dh) return sv_errf(e, "%s: cannot open folder: %s", dir, strerror(errno));
    int cap = 0, rc = 0;
    struct dirent *de;
    while ((de = readdir(dh))) {
        if (de->d_name[0] == '.') continue;  // ".", "..", hidden files and our own temporaries
        if (l->n == cap) {
            cap = cap ? 2 * cap : 64;
            char **g = realloc(l->names, sizeof *g * cap);
            if (!g) {
                rc = sv_errf(e, "%s: out of memory listing the folder", dir);
                break;
            }
            l->names = g;
        }
        if (!(l->names[l->n] = strdup(de->d_name))) {
            rc = sv_errf(e, "%s: out of memory listing the folder", dir);
            break;
        }
        l->n++;
    }
    closedir(dh);
    if (rc) {
        listing_free(l);
        return -1;
    }
    if (l->n) qsort(l->names, l->n, sizeof *l->names, cmp_names);
    return 0;
}

static sv_clip *add_clip(sv_dataset *d, sv_err *e) {
    if (d->nclips == d->cap) {
        int cap = d->cap ? 2 * d->cap : 64;
        sv_clip *g = realloc(d->clips, sizeof *g * cap);
        if (!g) {
            sv_errf(e, "out of memory listing clips");
            return NULL;
        }
        d->clips = g, d->cap = cap;
    }
    sv_clip *c = &d->clips[d->nclips++];
    memset(c, 0, sizeof *c);
    return c;
}

// Frame size and count through the same reader that loading uses.
static int probe(const char *path, int *w, int *h, long long *count, sv_err *e) {
    sv_frame_reader *r = sv_frames_open(path, e);
    if (!r) return -1;
    *w = sv_frames_width(r), *h = sv_frames_height(r), *count = sv_frames_count(r);
    sv_frames_close(r);
    return 0;
}

int sv_clip_length_ok(const sv_dataset *d, long long count) {
    return count >= d->o.seq || (d->o.mirror && 2 * count >= d->o.seq);
}

int sv_clip_length_error(const sv_dataset *d, const char *path, long long count, sv_err *e) {
    if (d->o.mirror)
        return sv_errf(e, "%s: clip has %lld frames, too short for --seq %d even when mirrored (needs %d)", path,
                       count, d->o.seq, (d->o.seq + 1) / 2);
    return sv_errf(e, "%s: clip has %lld frames, fewer than --seq %d (mirroring is off)", path, count, d->o.seq);
}

static int add_folder_clip(sv_dataset *d, const char *dir, const char *first, const char *lr_dir, sv_err *e) {
    const int p = d->o.patch, gp = SV_DATA_SCALE * p;
    int w, h;
    long long count;
    if (probe(dir, &w, &h, &count, e)) return -1;
    char *fp = join(dir, first, e);
    if (!fp) return -1;
    int rc = 0;
    if (!lr_dir && ((w & ~3) < gp || (h & ~3) < gp))
        rc = sv_errf(e, "%s: frame is %dx%d, smaller than the GT patch %dx%d (4 x patch %d)", fp, w, h, gp, gp, p);
    else if (!sv_clip_length_ok(d, count))
        rc = sv_clip_length_error(d, dir, count, e);
    sv_clip *c = NULL;
    int lw = 0, lh = 0;
    if (!rc && lr_dir) {
        long long lcount;
        if (!is_dir(lr_dir))
            rc = sv_errf(e, "%s: paired LR folder %s is missing", dir, lr_dir);
        else if (probe(lr_dir, &lw, &lh, &lcount, e))
            rc = -1;
        else if (lcount != count)
            rc = sv_errf(e, "%s: %lld LR frames but %s has %lld GT frames", lr_dir, lcount, dir, count);
        else if (w != SV_DATA_SCALE * lw || h != SV_DATA_SCALE * lh)
            rc = sv_errf(e, "%s: GT frame %dx%d is not 4x its LR frame %dx%d in %s", fp, w, h, lw, lh, lr_dir);
        else if (lw < p || lh < p)
            rc = sv_errf(e, "%s: LR frames are %dx%d, smaller than the patch %dx%d", lr_dir, lw, lh, p, p);
    }
    if (!rc && !(c = add_clip(d, e))) rc = -1;
    if (!rc) {
        c->path = strdup(dir);
        c->lr_path = lr_dir ? strdup(lr_dir) : NULL;
        if (!c->path || (lr_dir && !c->lr_path)) rc = sv_errf(e, "%s: out of memory", dir);
        c->w = w, c->h = h, c->lw = lw, c->lh = lh, c->count = count;
        if (lr_dir) d->n_paired++;
        else d->n_folders++;
    }
    free(fp);
    return rc;
}

static int add_video_clip(sv_dataset *d, const char *path, sv_err *e) {
    const int gp = SV_DATA_SCALE * d->o.patch;
    int w, h;
    long long count;
    if (probe(path, &w, &h, &count, e)) return -1;
    if ((w & ~3) < gp || (h & ~3) < gp)
        return sv_errf(e, "%s: frame is %dx%d, smaller than the GT patch %dx%d (4 x patch %d)", path, w, h, gp, gp,
                       d->o.patch);
    // The count of a video may be an estimate: its length is checked again once it is decoded.
    sv_clip *c = add_clip(d, e);
    if (!c) return -1;
    if (!(c->path = strdup(path))) return sv_errf(e, "%s: out of memory", path);
    c->is_video = 1, c->w = w, c->h = h, c->count = count;
    d->n_videos++;
    return 0;
}

// The LR sibling of a GT/ folder for this degradation, or NULL (then LR is made on the fly).
static char *paired_lr_dir(const sv_dataset *d, const char *dir, sv_err *e, int *failed) {
    const char *cand[2] = {"LR", d->o.degradation == SV_DEG_BD ? "BDx4" : "BIx4"};
    *failed = 0;
    for (int i = 0; i < 2; i++) {
        char *p = join(dir, cand[i], e);
        if (!p) {
            *failed = 1;
            return NULL;
        }
        if (is_dir(p)) return p;
        free(p);
    }
    return NULL;
}

// dir: a folder to search; lr: the LR folder mirroring dir (paired data) or NULL; in_gt: dir is inside a
// GT/ tree (a GT/ below it is then an ordinary clip folder).
static int walk(sv_dataset *d, const char *dir, const char *lr, int in_gt, int depth, sv_err *e) {
    if (depth > MAX_DEPTH) return sv_errf(e, "%s: folders nested deeper than %d levels (a link loop?)", dir, MAX_DEPTH);
    listing l;
    if (list_dir(&l, dir, e)) return -1;
    int rc = 0;
    if (!in_gt) {
        for (int i = 0; i < l.n && !rc; i++) {
            if (strcmp(l.names[i], "GT") != 0) continue;
            char *gt = join(dir, "GT", e);
            if (!gt) {
                rc = -1;
                break;
            }
            if (is_dir(gt)) {
                int failed;
                char *lrd = paired_lr_dir(d, dir, e, &failed);
                rc = failed ? -1 : walk(d, gt, lrd, 1, depth + 1, e);
                free(lrd);
                free(gt);
                listing_free(&l);
                return rc;
            }
            free(gt);
        }
    }
    const char *first_png = NULL;
    for (int i = 0; i < l.n && !rc; i++) {
        char *p = join(dir, l.names[i], e);
        if (!p) {
            rc = -1;
            break;
        }
        struct stat st;
        if (stat(p, &st) == 0 && S_ISREG(st.st_mode)) {
            if (is_png(l.names[i]) && !first_png) first_png = l.names[i];
            if (sv_frames_is_video_name(l.names[i])) {
                if (lr) rc = sv_errf(e, "%s: paired GT/LR data must be PNG folders, not video files", p);
                else rc = add_video_clip(d, p, e);
            }
        }
        free(p);
    }
    if (!rc && first_png) rc = add_folder_clip(d, dir, first_png, lr, e);
    for (int i = 0; i < l.n && !rc; i++) {
        char *p = join(dir, l.names[i], e);
        if (!p) {
            rc = -1;
            break;
        }
        if (is_dir(p)) {
            char *lrsub = lr ? join(lr, l.names[i], e) : NULL;
            if (lr && !lrsub) rc = -1;
            else rc = walk(d, p, lrsub, in_gt, depth + 1, e);
            free(lrsub);
        }
        free(p);
    }
    listing_free(&l);
    return rc;
}

int sv_dataset_scan(sv_dataset *d, const char *source, sv_err *e) {
    struct stat st;
    if (stat(source, &st) != 0) return sv_errf(e, "%s: training data not found: %s", source, strerror(errno));
    int before = d->nclips;
    if (S_ISREG(st.st_mode)) {
        if (is_png(source))
            return sv_errf(e, "%s: a single PNG is not a clip; give the folder that holds the clip's frames", source);
        return add_video_clip(d, source, e);
    }
    if (!S_ISDIR(st.st_mode)) return sv_errf(e, "%s: neither a folder nor a video file", source);
    if (walk(d, source, NULL, 0, 0, e)) return -1;
    if (d->nclips == before)
        return sv_errf(e, "%s: no training clips found (no folder holding PNG frames, no video file)", source);
    return 0;
}
