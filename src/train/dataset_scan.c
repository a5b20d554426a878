// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// dataset_scan.c: turns --data sources into clips. Where the clips are is io/clips.h's tree layout
// (sv_clips_find; dataset.h says it for --data); here every clip found is checked (sizes, frame counts,
// its paired LR), reading only sizes and counts, so every source is checked before any frame is decoded.
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "io/clips.h"
#include "io/frames.h"
#include "train/dataset_internal.h"

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

// Frame size and count through the same reader that loading uses; first (may be NULL): the path of a
// folder's first frame, for messages (malloc'd).
static int probe(const char *path, int *w, int *h, long long *count, char **first, sv_err *e) {
    sv_frame_reader *r = sv_frames_open(path, e);
    if (!r) return -1;
    *w = sv_frames_width(r), *h = sv_frames_height(r), *count = sv_frames_count(r);
    int rc = 0;
    if (first) {
        const char *f = sv_frames_first_name(r);
        const size_t n = strlen(path);
        if (asprintf(first, "%s%s%s", path, n && path[n - 1] == '/' ? "" : "/", f ? f : "") < 0) {
            *first = NULL;
            rc = sv_errf(e, "%s: out of memory", path);
        }
    }
    sv_frames_close(r);
    return rc;
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

static int add_folder_clip(sv_dataset *d, const char *dir, const char *lr_dir, sv_err *e) {
    const int p = d->o.patch, gp = SV_SCALE * p;
    int w, h;
    long long count;
    char *fp = NULL;  // the first frame, named in messages
    if (probe(dir, &w, &h, &count, &fp, e)) return -1;
    int rc = 0;
    if (!lr_dir && (sv_mod_crop(w) < gp || sv_mod_crop(h) < gp))
        rc = sv_errf(e, "%s: frame is %dx%d, smaller than the GT patch %dx%d (4 x patch %d)", fp, w, h, gp, gp, p);
    else if (!sv_clip_length_ok(d, count))
        rc = sv_clip_length_error(d, dir, count, e);
    sv_clip *c = NULL;
    int lw = 0, lh = 0;
    if (!rc && lr_dir) {
        long long lcount;
        struct stat st;
        if (stat(lr_dir, &st) != 0 || !S_ISDIR(st.st_mode))
            rc = sv_errf(e, "%s: paired LR folder %s is missing", dir, lr_dir);
        else if (probe(lr_dir, &lw, &lh, &lcount, NULL, e))
            rc = -1;
        else if (lcount != count)
            rc = sv_errf(e, "%s: %lld LR frames but %s has %lld GT frames", lr_dir, lcount, dir, count);
        else if (w != SV_SCALE * lw || h != SV_SCALE * lh)
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
    const int gp = SV_SCALE * d->o.patch;
    int w, h;
    long long count;
    if (probe(path, &w, &h, &count, NULL, e)) return -1;
    if (sv_mod_crop(w) < gp || sv_mod_crop(h) < gp)
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

int sv_dataset_scan(sv_dataset *d, const char *source, sv_err *e) {
    struct stat st;
    if (stat(source, &st) != 0) return sv_errf(e, "%s: training data not found: %s", source, strerror(errno));
    int before = d->nclips;
    if (S_ISREG(st.st_mode)) {
        if (sv_frames_is_frame_name(source))
            return sv_errf(e, "%s: a single frame is not a clip; give the folder that holds the clip's frames", source);
        return add_video_clip(d, source, e);
    }
    if (!S_ISDIR(st.st_mode)) return sv_errf(e, "%s: neither a folder nor a video file", source);
    // the LR beside a GT/ folder: LR/ for any degradation, else the folder of this one
    const char *lr_dirs[2] = {"LR", d->o.degradation == SV_DEG_BD ? "BDx4" : "BIx4"};
    sv_clip_list found = {0};
    int rc = sv_clips_find(&found, source, lr_dirs, 2, e);
    for (int i = 0; i < found.n && !rc; i++) {
        const sv_clip_ref *c = &found.v[i];
        rc = c->is_video ? add_video_clip(d, c->path, e) : add_folder_clip(d, c->path, c->lr_path, e);
    }
    sv_clip_list_free(&found);
    if (rc) return -1;
    if (d->nclips == before)
        return sv_errf(e, "%s: no training clips found (no folder holding frames (" SV_FRAME_KINDS_TEXT
                       "), no video file)", source);
    return 0;
}
