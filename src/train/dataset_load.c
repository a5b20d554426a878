// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// dataset_load.c: the memory plan (mem_cap, dataset.h) and the decoding of every clip into 8-bit GT and
// LR frames.
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "io/frames.h"
#include "ops/pixels.h"
#include "train/dataset_internal.h"

long long sv_clip_need(const sv_dataset *d, const sv_clip *c) {
    return c->count >= 0 && c->count < d->o.seq ? c->count : d->o.seq;
}

// Bytes one frame of the clip takes in memory (GT kept + LR).
static double frame_bytes(const sv_clip *c) {
    if (c->lr_path) return 3.0 * c->w * c->h + 3.0 * c->lw * c->lh;
    double gw = sv_mod_crop(c->w), gh = sv_mod_crop(c->h);
    return 3.0 * gw * gh + 3.0 * (gw / SV_SCALE) * (gh / SV_SCALE);
}

// Memory when every clip keeps at most k frames. A video of unknown length counts as endless.
static double plan_bytes(const sv_dataset *d, long long k) {
    double s = 0.0;
    for (int i = 0; i < d->nclips; i++) {
        const sv_clip *c = &d->clips[i];
        long long n = c->count < 0 ? k : c->count < k ? c->count : k;
        s += (double)n * frame_bytes(c);
    }
    return s;
}

static int plan(sv_dataset *d, sv_err *e) {
    double cap = (double)d->o.mem_cap;
    long long most = 0;
    int endless = 0;
    for (int i = 0; i < d->nclips; i++) {
        if (d->clips[i].count < 0) endless = 1;
        else if (d->clips[i].count > most) most = d->clips[i].count;
    }
    if (!endless && plan_bytes(d, most) <= cap) {
        d->limit = INT_MAX;
        return 0;
    }
    long long lo = d->o.seq, hi = endless ? INT_MAX : most;
    if (plan_bytes(d, lo) > cap)
        return sv_errf(e, "memory cap of %.0f MB is too small: %d clips need %.0f MB for %d frames each (8-bit "
                       "GT + LR); raise the cap or use fewer sources", cap / 1e6, d->nclips, plan_bytes(d, lo) / 1e6,
                       d->o.seq);
    while (lo < hi) {  // the largest k in [seq, hi] that fits
        long long mid = lo + (hi - lo + 1) / 2;
        if (plan_bytes(d, mid) <= cap) lo = mid;
        else hi = mid - 1;
    }
    d->limit = (int)lo;
    return 0;
}

static int push_frame(unsigned char ***frames, int n, unsigned char *f, sv_err *e) {
    unsigned char **g = realloc(*frames, sizeof *g * (n + 1));
    if (!g) return sv_errf(e, "out of memory");
    g[n] = f;
    *frames = g;
    return 0;
}

// LR of one GT frame (gh x gw x 3, 8-bit interleaved) -> (gh/SV_SCALE) x (gw/SV_SCALE) x 3, through 8-bit
// planes with MATLAB's uint8 rounding (degrade.h), so it is the LR frame MATLAB would have written.
static int make_lr(unsigned char *lr, const unsigned char *gt, int gw, int gh, int deg, unsigned char *pin,
                   unsigned char *pout, sv_err *e) {
    sv_rgb_to_planes(pin, gt, gh, gw);
    if (sv_degrade_u8(deg, pout, pin, 3, gh, gw, e)) return -1;
    sv_planes_to_rgb(lr, pout, gh / SV_SCALE, gw / SV_SCALE);
    return 0;
}

static int load_clip(sv_dataset *d, sv_clip *c, sv_err *e) {
    const int paired = c->lr_path != NULL;
    c->gw = paired ? c->w : sv_mod_crop(c->w);
    c->gh = paired ? c->h : sv_mod_crop(c->h);
    const size_t gbytes = (size_t)c->gw * c->gh * 3;
    const size_t lbytes = paired ? (size_t)c->lw * c->lh * 3 : (size_t)(c->gw / SV_SCALE) * (c->gh / SV_SCALE) * 3;
    const long long need = sv_clip_need(d, c);
    sv_frame_reader *r = sv_frames_open(c->path, e), *rl = NULL;
    if (!r) return -1;
    int rc = 0;
    if (sv_frames_width(r) != c->w || sv_frames_height(r) != c->h)
        rc = sv_errf(e, "%s: frame size changed while reading", c->path);
    if (!rc && paired && !(rl = sv_frames_open(c->lr_path, e))) rc = -1;
    unsigned char *raw = rc ? NULL : sv_malloc((size_t)c->w * c->h * 3, e);
    unsigned char *pin = NULL, *pout = NULL;  // planar scratch for make_lr
    if (!rc && !raw) rc = -1;
    if (!rc && !paired) {
        pin = sv_malloc(gbytes, e);
        pout = pin ? sv_malloc(lbytes, e) : NULL;
        if (!pout) rc = -1;
    }
    while (!rc) {
        int got = sv_frames_read(r, raw, e);
        if (got < 0) rc = -1;
        if (got <= 0) break;
        if (c->n >= d->limit || d->bytes + gbytes + lbytes > d->o.mem_cap) {
            // A frame beyond the plan (a video longer than its estimate also lands here).
            if (c->n < need) rc = sv_errf(e, "%s: memory cap of %.0f MB reached before %lld frames were loaded",
                                          c->path, d->o.mem_cap / 1e6, need);
            c->truncated = 1;
            break;
        }
        unsigned char *g = sv_malloc(gbytes, e), *l = g ? sv_malloc(lbytes, e) : NULL;
        if (!l) {
            free(g);
            rc = -1;
            break;
        }
        for (int y = 0; y < c->gh; y++) memcpy(g + (size_t)y * c->gw * 3, raw + (size_t)y * c->w * 3, (size_t)c->gw * 3);
        if (paired) {
            int lgot = sv_frames_read(rl, l, e);
            if (lgot == 0) rc = sv_errf(e, "%s: fewer LR frames than GT frames in %s", c->lr_path, c->path);
            if (lgot <= 0) rc = -1;
        } else {
            rc = make_lr(l, g, c->gw, c->gh, d->o.degradation, pin, pout, e);
            if (rc) sv_errprefix(e, "%s", c->path);
        }
        if (!rc && (rc = push_frame(&c->gt, c->n, g, e)) == 0 && (rc = push_frame(&c->lr, c->n, l, e)) == 0) {
            c->n++;
            d->bytes += gbytes + lbytes;
        } else {
            // g or l is not owned by the clip yet (the first push may have succeeded: the slot is
            // beyond c->n, so the clip never frees it).
            free(g);
            free(l);
            rc = -1;
        }
    }
    free(raw);
    free(pin);
    free(pout);
    sv_frames_close(r);
    sv_frames_close(rl);
    if (rc) return -1;
    if (!sv_clip_length_ok(d, c->n)) return sv_clip_length_error(d, c->path, c->n, e);
    if (c->truncated) d->n_truncated++;
    return 0;
}

int sv_dataset_load(sv_dataset *d, sv_err *e) {
    if (plan(d, e)) return -1;
    for (int i = 0; i < d->nclips; i++)
        if (load_clip(d, &d->clips[i], e)) return -1;
    return 0;
}
