// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// dataset.c: opening a training set and drawing samples from it (behaviour in dataset.h).
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/frames.h"
#include "train/dataset_internal.h"

#define STATE_MAGIC 0x7376647300000001ull  // "svds", version 1

void sv_data_opts_default(sv_data_opts *o) {
    memset(o, 0, sizeof *o);
    o->seq = 7;
    o->patch = 64;
    o->batch = 8;
    o->ranks = 1;
    o->degradation = SV_DEG_BI;
    o->hflip = o->vflip = o->rot = o->reverse = 1;
    o->mirror = 1;
    o->seed = 0;
    o->mem_cap = (size_t)2 << 30;
}

static const char *const k_clip_weight[] = {"windows", "sqrt", "equal"};

const char *sv_clip_weight_name(int clip_weight) {
    return clip_weight >= 0 && clip_weight < (int)(sizeof k_clip_weight / sizeof *k_clip_weight) ? k_clip_weight[clip_weight]
                                                                                                : NULL;
}

int sv_clip_weight_parse(const char *name) {
    for (int i = 0; name && i < (int)(sizeof k_clip_weight / sizeof *k_clip_weight); i++)
        if (!strcmp(name, k_clip_weight[i])) return i;
    return -1;
}

static uint64_t fnv(uint64_t h, uint64_t v) {
    for (int i = 0; i < 8; i++) h = (h ^ ((v >> (8 * i)) & 0xff)) * 0x100000001b3ull;
    return h;
}

// What the sample stream depends on besides the random state: the clips as loaded and the options.
// Batch size is not part of it (batches are consecutive samples).
static uint64_t fingerprint(const sv_dataset *d) {
    const sv_data_opts *o = &d->o;
    uint64_t h = 0xcbf29ce484222325ull;
    uint64_t opts[] = {o->seq, o->patch, o->degradation, !!o->hflip, !!o->vflip, !!o->rot, !!o->reverse, !!o->mirror};
    for (size_t i = 0; i < sizeof opts / sizeof *opts; i++) h = fnv(h, opts[i]);
    h = fnv(h, (uint64_t)d->nclips);
    for (int i = 0; i < d->nclips; i++) {
        const sv_clip *c = &d->clips[i];
        h = fnv(fnv(fnv(fnv(h, (uint64_t)c->n), (uint64_t)c->gw), (uint64_t)c->gh), c->lr_path != NULL);
    }
    if (o->clip_weight) h = fnv(h, 0x100 + (uint64_t)o->clip_weight);  // windows: the fingerprint it always had
    if (o->photo_share > 0) {  // not otherwise: the streams of runs without photos stay what they were
        uint64_t share;
        memcpy(&share, &o->photo_share, sizeof share);
        h = fnv(fnv(h, share), (uint64_t)d->photos.n);
        for (int i = 0; i < d->photos.n; i++) h = fnv(fnv(h, (uint64_t)d->photos.v[i].w), (uint64_t)d->photos.v[i].h);
    }
    return h;
}

static int check_opts(const sv_data_opts *o, sv_err *e) {
    if (o->seq < 1 || o->seq > 100000) return sv_errf(e, "sequence length %d out of range (1..100000)", o->seq);
    if (o->patch < 1 || o->patch > SV_FRAME_MAX_SIDE / SV_SCALE)
        return sv_errf(e, "patch %d out of range (1..%d)", o->patch, SV_FRAME_MAX_SIDE / SV_SCALE);
    if (o->batch < 1 || o->batch > 100000) return sv_errf(e, "batch %d out of range (1..100000)", o->batch);
    if (o->ranks < 1 || o->rank < 0 || o->rank >= o->ranks || (int64_t)o->batch * o->ranks > 100000)
        return sv_errf(e, "rank %d of %d with batch %d out of range (global batch at most 100000)", o->rank, o->ranks,
                       o->batch);
    if (!sv_degrade_name(o->degradation)) return sv_errf(e, "unknown degradation %d", o->degradation);
    if (!sv_clip_weight_name(o->clip_weight)) return sv_errf(e, "unknown clip weighting %d", o->clip_weight);
    if (!(o->photo_share >= 0 && o->photo_share <= 1))
        return sv_errf(e, "photo share %g out of range (0..1)", o->photo_share);
    if (o->photo_share > 0 && !o->photos) return sv_errf(e, "a photo share of %g needs a folder of photos", o->photo_share);
    return 0;
}

sv_dataset *sv_dataset_open(const char *const *sources, int nsources, const sv_data_opts *o, sv_err *e) {
    if (check_opts(o, e)) return NULL;
    if (nsources < 1) {
        sv_errf(e, "no training data given");
        return NULL;
    }
    sv_dataset *d = sv_calloc(1, sizeof *d, e);
    if (!d) return NULL;
    d->o = *o;
    int rc = 0;
    for (int i = 0; i < nsources && !rc; i++) rc = sv_dataset_scan(d, sources[i], e);
    if (!rc) rc = sv_dataset_load(d, e);
    if (!rc) rc = sv_dataset_synth_open(d, e);
    if (!rc && (!(d->cum = sv_malloc(sizeof *d->cum * d->nclips, e)) ||
                !(d->cumw = sv_malloc(sizeof *d->cumw * d->nclips, e)) ||
                !(d->last = sv_calloc((size_t)o->batch * o->ranks, sizeof *d->last, e))))
        rc = -1;
    if (rc) {
        sv_dataset_free(d);
        return NULL;
    }
    double total = 0;
    for (int i = 0; i < d->nclips; i++) {
        const sv_clip *c = &d->clips[i];
        const long long win = c->n >= o->seq ? c->n - o->seq + 1 : 1;
        d->windows += win;
        d->cum[i] = d->windows;
        total += o->clip_weight == SV_CLIP_WEIGHT_WINDOWS ? (double)win
               : o->clip_weight == SV_CLIP_WEIGHT_SQRT  ? sqrt((double)win)
                                                         : 1.0;
        d->cumw[i] = total;
    }
    sv_rng_seed(&d->rng, o->seed);
    d->fingerprint = fingerprint(d);
    return d;
}

// Copies one frame's patch at (y0, x0) of side p from an 8-bit interleaved frame of width w into plain
// CHW float, applying the augmentation: output (y, x) reads source (sy, sx) with (sy, sx) = (x, y) when
// transposed, then sy -> p-1-sy for a vertical flip and sx -> p-1-sx for a horizontal one. That equals
// BasicSR's order (hflip, vflip, then transpose) on the whole patch.
static void copy_patch(float *out, const unsigned char *frame, int w, int y0, int x0, int p, unsigned aug) {
    const float k = 1.0f / 255.0f;
    const size_t plane = (size_t)p * p;
    for (int y = 0; y < p; y++)
        for (int x = 0; x < p; x++) {
            int sy = aug & SV_AUG_TRANSPOSE ? x : y, sx = aug & SV_AUG_TRANSPOSE ? y : x;
            if (aug & SV_AUG_VFLIP) sy = p - 1 - sy;
            if (aug & SV_AUG_HFLIP) sx = p - 1 - sx;
            const unsigned char *px = frame + ((size_t)(y0 + sy) * w + x0 + sx) * 3;
            float *o = out + (size_t)y * p + x;
            o[0] = px[0] * k, o[plane] = px[1] * k, o[2 * plane] = px[2] * k;
        }
}

// A uniform double in [0, 1) from the top 53 bits.
static double uniform01(sv_rng *r) { return (sv_rng_next(r) >> 11) * 0x1p-53; }

// The first clip whose cumulative weight exceeds x.
static int first_above(const sv_dataset *d, double x) {
    int lo = 0, hi = d->nclips - 1;
    while (lo < hi) {
        const int mid = (lo + hi) / 2;
        if (d->cumw[mid] > x) hi = mid;
        else lo = mid + 1;
    }
    return lo;
}

// Draws one sample: with photos first its kind (a synthetic one then takes its seed alone), then the clip
// and window (clip_weight WINDOWS: one of all windows; else a clip by its weight, then one of its windows),
// the position and the augmentation. Every sample of a kind takes the same draws in the same order whatever
// the augmentation options, so switching one off changes nothing else.
static void draw(sv_dataset *d, sv_sample_info *s) {
    const sv_data_opts *o = &d->o;
    *s = (sv_sample_info){0};
    d->drawn++;
    if (o->photo_share > 0 && uniform01(&d->rng) < o->photo_share) {
        s->clip = -1;
        s->synth = sv_rng_next(&d->rng);
        return;
    }
    int lo;
    if (o->clip_weight == SV_CLIP_WEIGHT_WINDOWS) {
        const long long k = (long long)sv_rng_below(&d->rng, (uint64_t)d->windows);
        lo = first_above(d, (double)k);  // cumw = cum here, exact in a double
        s->start = (int)(k - (lo ? d->cum[lo - 1] : 0));
    } else {
        const double u = uniform01(&d->rng) * d->cumw[d->nclips - 1];
        lo = first_above(d, u);
        s->start = (int)sv_rng_below(&d->rng, (uint64_t)(d->cum[lo] - (lo ? d->cum[lo - 1] : 0)));
    }
    const sv_clip *c = &d->clips[lo];
    s->clip = lo;
    int lh = c->lr_path ? c->lh : c->gh / SV_SCALE, lw = c->lr_path ? c->lw : c->gw / SV_SCALE;
    s->y = (int)sv_rng_below(&d->rng, (uint64_t)(lh - o->patch + 1));
    s->x = (int)sv_rng_below(&d->rng, (uint64_t)(lw - o->patch + 1));
    uint64_t bits = sv_rng_next(&d->rng) >> 60;  // the top bits are xoshiro256**'s best
    unsigned mask = (o->hflip ? SV_AUG_HFLIP : 0) | (o->vflip ? SV_AUG_VFLIP : 0) | (o->rot ? SV_AUG_TRANSPOSE : 0) |
                    (o->reverse ? SV_AUG_REVERSE : 0);
    s->aug = (unsigned)bits & mask;
}

int sv_dataset_next(sv_dataset *d, float *lr, float *gt, sv_err *e) {
    const int T = d->o.seq, p = d->o.patch, gp = SV_SCALE * p;
    for (int b = 0; b < d->o.batch * d->o.ranks; b++) draw(d, &d->last[b]);  // the global batch
    const sv_sample_info *mine = sv_dataset_last(d);
#pragma omp parallel for collapse(2) schedule(static)
    for (int b = 0; b < d->o.batch; b++)
        for (int t = 0; t < T; t++) {
            const sv_sample_info *s = &mine[b];
            if (s->clip < 0) continue;  // synthetic: below
            const sv_clip *c = &d->clips[s->clip];
            int q = s->start + (s->aug & SV_AUG_REVERSE ? T - 1 - t : t);
            if (q >= c->n) q = 2 * c->n - 1 - q;  // mirrored clip: n-1, n-2, ... after the last frame
            int lw = c->lr_path ? c->lw : c->gw / SV_SCALE;
            size_t i = (size_t)b * T + t;
            copy_patch(lr + i * 3 * p * p, c->lr[q], lw, s->y, s->x, p, s->aug);
            copy_patch(gt + i * 3 * gp * gp, c->gt[q], c->gw, SV_SCALE * s->y, SV_SCALE * s->x, gp, s->aug);
        }
    for (int b = 0; b < d->o.batch; b++)
        if (mine[b].clip < 0 && sv_dataset_synth_sample(d, &mine[b], lr + (size_t)b * T * 3 * p * p,
                                                        gt + (size_t)b * T * 3 * gp * gp, e))
            return -1;
    return 0;
}

const sv_sample_info *sv_dataset_last(const sv_dataset *d) { return d->last + (size_t)d->o.rank * d->o.batch; }
const char *sv_dataset_clip_name(const sv_dataset *d, int clip) {
    return clip >= 0 && clip < d->nclips ? d->clips[clip].path : NULL;
}
int sv_dataset_num_clips(const sv_dataset *d) { return d->nclips; }
uint64_t sv_dataset_samples_drawn(const sv_dataset *d) { return d->drawn; }

int sv_dataset_state(const sv_dataset *d, uint64_t *state, int n) {
    if (n < SV_DATA_STATE_WORDS) return -1;
    state[0] = STATE_MAGIC;
    state[1] = d->fingerprint;
    for (int i = 0; i < SV_RNG_WORDS; i++) state[2 + i] = d->rng.s[i];
    state[2 + SV_RNG_WORDS] = d->drawn;
    return SV_DATA_STATE_WORDS;
}

int sv_dataset_restore(sv_dataset *d, const uint64_t *state, int n, sv_err *e) {
    if (n != SV_DATA_STATE_WORDS || state[0] != STATE_MAGIC)
        return sv_errf(e, "data sampler state: not a sampler state of this version (%d words)", n);
    if (state[1] != d->fingerprint)
        return sv_errf(e, "data sampler state: saved for other training clips or data options (seq, patch, "
                          "degradation, augmentations); the sample stream would differ");
    uint64_t any = 0;
    for (int i = 0; i < SV_RNG_WORDS; i++) any |= state[2 + i];
    if (!any) return sv_errf(e, "data sampler state: random state is all zero");
    for (int i = 0; i < SV_RNG_WORDS; i++) d->rng.s[i] = state[2 + i];
    d->drawn = state[2 + SV_RNG_WORDS];
    return 0;
}

void sv_dataset_describe(const sv_dataset *d, char *buf, size_t n) {
    if (!n) return;
    long long frames = 0;
    int minw = INT_MAX, maxw = 0, minh = INT_MAX, maxh = 0, mirrored = 0;
    for (int i = 0; i < d->nclips; i++) {
        const sv_clip *c = &d->clips[i];
        frames += c->n;
        if (c->gw < minw) minw = c->gw;
        if (c->gw > maxw) maxw = c->gw;
        if (c->gh < minh) minh = c->gh;
        if (c->gh > maxh) maxh = c->gh;
        if (c->n < d->o.seq) mirrored++;
    }
    char kinds[160] = "", size[80], lr[80], cut[200] = "";
    int k = 0;
    if (d->n_folders) k += snprintf(kinds + k, sizeof kinds - k, "%d folders", d->n_folders);
    if (d->n_videos) k += snprintf(kinds + k, sizeof kinds - k, "%s%d videos", k ? ", " : "", d->n_videos);
    if (d->n_paired) snprintf(kinds + k, sizeof kinds - k, "%s%d paired GT/LR", k ? ", " : "", d->n_paired);
    if (minw == maxw && minh == maxh) snprintf(size, sizeof size, "%dx%d", maxw, maxh);
    else snprintf(size, sizeof size, "%dx%d to %dx%d", minw, minh, maxw, maxh);
    if (d->n_paired == d->nclips) snprintf(lr, sizeof lr, "LR from files");
    else snprintf(lr, sizeof lr, "LR: %s on the fly%s", sv_degrade_name(d->o.degradation),
                  d->n_paired ? " (paired clips: from files)" : "");
    if (d->n_truncated)
        snprintf(cut, sizeof cut, "; %d clips cut to their first %d frames by the %.0f MB memory cap", d->n_truncated,
                 d->limit, d->o.mem_cap / 1e6);
    char synth[200] = "";
    int k2 = 0;
    if (d->o.clip_weight) k2 = snprintf(synth, sizeof synth, "; clips weighted %s", sv_clip_weight_name(d->o.clip_weight));
    if (d->o.photo_share > 0)
        snprintf(synth + k2, sizeof synth - k2, "; %.0f%% of samples synthetic motion from %d photos",
                 100 * d->o.photo_share, d->photos.n);
    snprintf(buf, n, "%d clips (%s), %lld frames %s, %s, seq %d%s, %lld windows, %.1f MB%s%s", d->nclips, kinds, frames,
             size, lr, d->o.seq, mirrored ? " (short clips mirrored)" : "", d->windows, d->bytes / 1e6, cut, synth);
}

void sv_dataset_free(sv_dataset *d) {
    if (!d) return;
    for (int i = 0; i < d->nclips; i++) {
        sv_clip *c = &d->clips[i];
        for (int j = 0; j < c->n; j++) free(c->gt[j]), free(c->lr[j]);
        free(c->gt);
        free(c->lr);
        free(c->path);
        free(c->lr_path);
    }
    free(d->clips);
    sv_dataset_synth_free(d);
    free(d->cum);
    free(d->cumw);
    free(d->last);
    free(d);
}
