// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// dataset_synth.c: the dataset's synthetic-motion samples (dataset.h, "Synthetic motion"): photos in,
// LR and GT patch sequences out.
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "train/dataset_internal.h"

// The rendered frame's side: the GT patch and its margin on both sides.
static int render_side(const sv_data_opts *o) { return SV_SCALE * o->patch + 2 * SV_SYNTH_MARGIN; }

static void synth_params(const sv_data_opts *o, sv_synth_params *p) {
    const int S = render_side(o);
    sv_synth_params_default(p, o->seq, S, S);
    p->motion_max = SV_SCALE * SV_SYNTH_LR_MOTION;  // rendered at GT scale
}

int sv_dataset_synth_open(sv_dataset *d, sv_err *e) {
    const sv_data_opts *o = &d->o;
    if (!(o->photo_share > 0)) return 0;
    const int S = render_side(o), L = S / SV_SCALE;
    sv_synth_params p;
    synth_params(o, &p);
    if (sv_synth_params_check(&p, e)) return sv_errprefix(e, "synthetic motion");
    if (sv_photos_load(&d->photos, o->photos, 2 * S, e)) return -1;
    for (int i = 0; i < d->photos.n; i++) d->bytes += (size_t)d->photos.v[i].w * d->photos.v[i].h * 3;
    if (d->bytes > o->mem_cap)
        return sv_errf(e, "--photos %s: the clips and the photos need %.0f MB, over the %.0f MB memory cap", o->photos,
                       d->bytes / 1e6, o->mem_cap / 1e6);
    if (sv_synth_seq_alloc(&d->synth, o->seq, S, S, e)) return -1;
    if (!(d->synth_u8 = sv_malloc((size_t)3 * S * S + (size_t)3 * L * L, e))) return -1;
    return 0;
}

void sv_dataset_synth_free(sv_dataset *d) {
    sv_photos_free(&d->photos);
    sv_synth_seq_free(&d->synth);
    free(d->synth_u8);
    d->synth_u8 = NULL;
}

// The side x side square at (off, off) of the [3,S,S] 8-bit planes into plain CHW float in [0, 1].
static void crop_planes(float *out, const unsigned char *planes, int S, int off, int side) {
    for (int c = 0; c < 3; c++)
        for (int y = 0; y < side; y++) {
            const unsigned char *row = planes + ((size_t)c * S + off + y) * S + off;
            float *o = out + ((size_t)c * side + y) * side;
            for (int x = 0; x < side; x++) o[x] = row[x] * (1.0f / 255.0f);
        }
}

int sv_dataset_synth_sample(sv_dataset *d, const sv_sample_info *s, float *lr, float *gt, sv_err *e) {
    const sv_data_opts *o = &d->o;
    const int S = render_side(o), L = S / SV_SCALE, T = o->seq, p = o->patch, gp = SV_SCALE * p;
    sv_synth_params sp;
    synth_params(o, &sp);
    sv_rng rng;
    sv_rng_seed(&rng, s->synth);
    if (sv_synth_render(&sp, d->photos.v, d->photos.n, &rng, &d->synth, e)) return sv_errprefix(e, "synthetic motion");
    unsigned char *g8 = d->synth_u8, *l8 = g8 + (size_t)3 * S * S;
    const size_t n = (size_t)3 * S * S;
    for (int t = 0; t < T; t++) {
        const float *f = d->synth.frames + (size_t)t * n;
        for (size_t i = 0; i < n; i++) g8[i] = (unsigned char)lrintf(fminf(fmaxf(f[i], 0.0f), 1.0f) * 255.0f);
        if (sv_degrade_u8(o->degradation, l8, g8, 3, S, S, e)) return -1;
        crop_planes(gt + (size_t)t * 3 * gp * gp, g8, S, SV_SYNTH_MARGIN, gp);
        crop_planes(lr + (size_t)t * 3 * p * p, l8, L, SV_SYNTH_MARGIN / SV_SCALE, p);
    }
    return 0;
}
