// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// clips.c: the clip layouts of clips.h. Folders are read in sv_frames_name_cmp order of their entries
// (readdir's order differs between file systems, and a seeded training run must see the same clips
// everywhere; natural order puts clip2 before clip10, as people number them).
#include "io/clips.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "io/frames.h"

static int is_dir(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static int is_file(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

// "dir/name" (malloc'd); the folder may be given with a trailing '/'.
static char *join(const char *dir, const char *name, sv_err *e) {
    const size_t d = strlen(dir);
    char *p = NULL;
    if (asprintf(&p, "%s%s%s", dir, d && dir[d - 1] == '/' ? "" : "/", name) < 0) {
        sv_errf(e, "%s/%s: out of memory", dir, name);
        return NULL;
    }
    return p;
}

void sv_clip_name(char *dst, size_t n, const char *path) {
    size_t len = strlen(path);
    while (len > 1 && path[len - 1] == '/') len--;
    size_t start = len;
    while (start > 0 && path[start - 1] != '/') start--;
    size_t end = len;
    if (!is_dir(path))
        for (size_t i = len; i > start + 1; i--)
            if (path[i - 1] == '.') {
                end = i - 1;
                break;
            }
    snprintf(dst, n, "%.*s", (int)(end - start), path + start);
}

// ---- a folder's visible entries, sorted ----

typedef struct {
    char **names;
    int n;
} listing;

static void listing_free(listing *l) {
    for (int i = 0; i < l->n; i++) free(l->names[i]);
    free(l->names);
}

static int cmp_names(const void *a, const void *b) {
    return sv_frames_name_cmp(*(char *const *)a, *(char *const *)b);
}

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

// 1 when the folder directly holds a frame (sv_frames_is_frame_name; a regular file)
static int holds_frames(const char *dir, const listing *l, sv_err *e) {
    for (int i = 0; i < l->n; i++) {
        if (!sv_frames_is_frame_name(l->names[i])) continue;
        char *p = join(dir, l->names[i], e);
        if (!p) return -1;
        const int f = is_file(p);
        free(p);
        if (f) return 1;
    }
    return 0;
}

// ---- the list ----

void sv_clip_list_free(sv_clip_list *l) {
    for (int i = 0; i < l->n; i++) free(l->v[i].path), free(l->v[i].lr_path), free(l->v[i].name);
    free(l->v);
    memset(l, 0, sizeof *l);
}

// Appends a clip (path and lr_path are copied; lr_path may be NULL).
static int add(sv_clip_list *l, const char *path, const char *lr_path, int is_video, sv_err *e) {
    if (l->n == l->cap) {
        const int cap = l->cap ? 2 * l->cap : 64;
        sv_clip_ref *g = realloc(l->v, sizeof *g * cap);
        if (!g) return sv_errf(e, "%s: out of memory listing clips", path);
        l->v = g, l->cap = cap;
    }
    sv_clip_ref *c = &l->v[l->n];
    char name[256];
    sv_clip_name(name, sizeof name, lr_path ? lr_path : path);
    c->path = strdup(path);
    c->lr_path = lr_path ? strdup(lr_path) : NULL;
    c->name = strdup(name);
    c->is_video = is_video;
    if (!c->path || !c->name || (lr_path && !c->lr_path)) {
        free(c->path), free(c->lr_path), free(c->name);
        return sv_errf(e, "%s: out of memory listing clips", path);
    }
    l->n++;
    return 0;
}

// ---- one level ----

static int cmp_clips(const void *a, const void *b) {
    const sv_clip_ref *x = a, *y = b;
    const int c = sv_frames_name_cmp(x->name, y->name);
    return c ? c : strcmp(x->path, y->path);
}

int sv_clips_list(sv_clip_list *l, const char *path, sv_err *e) {
    struct stat st;
    if (stat(path, &st) != 0) return sv_errf(e, "%s: cannot open input: %s", path, strerror(errno));
    if (!S_ISDIR(st.st_mode)) return add(l, path, NULL, 1, e);
    listing d;
    if (list_dir(&d, path, e)) return -1;
    int rc = holds_frames(path, &d, e);
    if (rc == 1) rc = add(l, path, NULL, 0, e);
    else if (rc == 0) {
        const int first = l->n;
        for (int i = 0; i < d.n && !rc; i++) {
            char *p = join(path, d.names[i], e);
            if (!p) rc = -1;
            else if (is_dir(p)) rc = add(l, p, NULL, 0, e);
            else if (sv_frames_is_video_name(d.names[i]) && is_file(p)) rc = add(l, p, NULL, 1, e);
            free(p);
        }
        if (!rc && l->n == first)
            rc = sv_errf(e, "%s: no frames (" SV_FRAME_KINDS_TEXT "), clip folders or videos", path);
        if (!rc) qsort(l->v + first, (size_t)(l->n - first), sizeof *l->v, cmp_clips);
    }
    listing_free(&d);
    return rc ? -1 : 0;
}

// ---- LR and GT by name ----

int sv_clips_pair(sv_clip_list *l, const char *lr, const char *gt, sv_err *e) {
    struct stat st;
    if (stat(lr, &st) != 0) return sv_errf(e, "%s: cannot open LR input: %s", lr, strerror(errno));
    if (stat(gt, &st) != 0) return sv_errf(e, "%s: cannot open GT input: %s", gt, strerror(errno));
    sv_clip_list ls = {0}, gs = {0};
    if (sv_clips_list(&ls, lr, e)) goto fail;
    if (ls.n == 1 && !strcmp(ls.v[0].path, lr)) {  // one clip
        sv_clip_list_free(&ls);
        return add(l, gt, lr, !is_dir(gt), e);
    }
    if (!is_dir(gt)) {
        sv_errf(e, "%s: GT must be a folder of clips, as LR %s is", gt, lr);
        goto fail;
    }
    if (sv_clips_list(&gs, gt, e)) goto fail;
    const int first = l->n;
    for (int i = 0; i < ls.n; i++) {  // pair every clip before anyone runs anything
        const sv_clip_ref *pair = NULL;
        for (int j = 0; j < gs.n; j++) {
            if (strcmp(gs.v[j].name, ls.v[i].name)) continue;
            if (pair) {
                sv_errf(e, "%s: two GT clips named '%s': %s and %s", gt, ls.v[i].name, pair->path, gs.v[j].path);
                goto unpair;
            }
            pair = &gs.v[j];
        }
        if (!pair) {
            sv_errf(e, "%s: no GT clip named '%s' (for %s)", gt, ls.v[i].name, ls.v[i].path);
            goto unpair;
        }
        if (add(l, pair->path, ls.v[i].path, pair->is_video, e)) goto unpair;
    }
    sv_clip_list_free(&ls), sv_clip_list_free(&gs);
    return 0;
unpair:
    while (l->n > first) {
        sv_clip_ref *c = &l->v[--l->n];
        free(c->path), free(c->lr_path), free(c->name);
    }
fail:
    sv_clip_list_free(&ls), sv_clip_list_free(&gs);
    return -1;
}

// ---- a tree ----

typedef struct {
    sv_clip_list *l;
    const char *const *lr_dirs;
    int n_lr_dirs;
} finder;

// The first of lr_dirs beside GT/ in dir that exists (malloc'd), or NULL with *failed 0.
static char *lr_sibling(const finder *f, const char *dir, int *failed, sv_err *e) {
    *failed = 0;
    for (int i = 0; i < f->n_lr_dirs; i++) {
        char *p = join(dir, f->lr_dirs[i], e);
        if (!p) {
            *failed = 1;
            return NULL;
        }
        if (is_dir(p)) return p;
        free(p);
    }
    return NULL;
}

static int walk(const finder *f, const char *dir, const char *lr, int in_gt, int depth, sv_err *e);

// dir holds GT/: walks GT/ only, paired with its LR sibling. Returns 1 when dir has no GT/ folder.
static int walk_gt(const finder *f, const char *dir, const listing *d, int depth, sv_err *e) {
    if (!d->n || !bsearch(&(const char *){"GT"}, d->names, d->n, sizeof *d->names, cmp_names)) return 1;
    char *gt = join(dir, "GT", e);
    if (!gt) return -1;
    int rc = 1;
    if (is_dir(gt)) {
        int failed;
        char *lrd = lr_sibling(f, dir, &failed, e);
        rc = failed ? -1 : walk(f, gt, lrd, 1, depth + 1, e);
        free(lrd);
    }
    free(gt);
    return rc;
}

// dir: a folder to search; lr: the LR folder mirroring dir (paired data) or NULL; in_gt: dir is inside a
// GT/ tree (a GT/ below it is then an ordinary clip folder).
static int walk(const finder *f, const char *dir, const char *lr, int in_gt, int depth, sv_err *e) {
    if (depth > SV_CLIPS_MAX_DEPTH)
        return sv_errf(e, "%s: folders nested deeper than %d levels (a link loop?)", dir, SV_CLIPS_MAX_DEPTH);
    listing d;
    if (list_dir(&d, dir, e)) return -1;
    int rc = in_gt ? 1 : walk_gt(f, dir, &d, depth, e);
    if (rc != 1) {
        listing_free(&d);
        return rc;
    }
    rc = 0;
    for (int i = 0; i < d.n && !rc; i++) {  // the videos, then the folder itself, then its sub-folders
        if (!sv_frames_is_video_name(d.names[i])) continue;
        char *p = join(dir, d.names[i], e);
        if (!p) rc = -1;
        else if (is_file(p))
            rc = lr ? sv_errf(e, "%s: paired GT/LR data must be folders of frames, not video files", p) : add(f->l, p, NULL, 1, e);
        free(p);
    }
    if (!rc && (rc = holds_frames(dir, &d, e)) == 1) rc = add(f->l, dir, lr, 0, e);
    for (int i = 0; i < d.n && !rc; i++) {
        char *p = join(dir, d.names[i], e), *lrsub = NULL;
        if (!p || (lr && !(lrsub = join(lr, d.names[i], e)))) rc = -1;
        else if (is_dir(p)) rc = walk(f, p, lrsub, in_gt, depth + 1, e);
        free(p), free(lrsub);
    }
    listing_free(&d);
    return rc;
}

int sv_clips_find(sv_clip_list *l, const char *root, const char *const *lr_dirs, int n_lr_dirs, sv_err *e) {
    const finder f = {l, lr_dirs, n_lr_dirs};
    return walk(&f, root, NULL, 0, 0, e);
}
