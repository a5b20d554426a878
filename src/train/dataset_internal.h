// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// dataset_internal.h: what dataset.c (sampling), dataset_scan.c (finding clips) and dataset_load.c
// (memory plan, decoding, degradation) share.
#pragma once
#include "train/dataset.h"
#include "train/photos.h"
#include "train/rng.h"

// BasicSR's mod_crop: a GT side made from its frame on the fly, cut down to a multiple of SV_SCALE.
static inline int sv_mod_crop(int n) { return n / SV_SCALE * SV_SCALE; }

typedef struct {
    char *path;        // GT clip: a folder of PNG frames or a video file
    char *lr_path;     // paired LR folder; NULL when the LR is made from GT
    int is_video;
    int w, h;          // source frame size
    int lw, lh;        // paired: LR frame size
    long long count;   // frames in the source (folder: exact; video: estimate, -1 when unknown)
    // filled by sv_dataset_load
    int n;             // frames in memory
    int gw, gh;        // GT size kept (on the fly: w, h rounded down to multiples of 4; paired: w, h)
    unsigned char **gt, **lr;  // n frames each, 8-bit RGB interleaved: gh*gw*3 and (gh/4)*(gw/4)*3 bytes
    int truncated;     // 1 when the memory cap cut the clip
} sv_clip;

struct sv_dataset {
    sv_data_opts o;
    sv_clip *clips;
    int nclips, cap;
    long long *cum;    // cum[i]: sample windows in clips 0..i
    double *cumw;      // cumw[i]: the weights of clips 0..i (WINDOWS: their windows, = cum; SQRT: the
                       // square roots of their windows; EQUAL: 1 each)
    long long windows;
    sv_rng rng;
    uint64_t drawn, fingerprint;
    size_t bytes;      // frame memory in use
    int limit;         // frames per clip allowed by the memory cap (INT_MAX: no cut)
    int n_folders, n_videos, n_paired, n_truncated;
    sv_sample_info *last;
    sv_photo_set photos;    // photo_share > 0: the photos of the synthetic samples
    sv_synth_seq synth;     // one rendered sequence
    unsigned char *synth_u8;  // [3,S,S] + [3,S/4,S/4]: a rendered frame in 8 bits and its LR
};

// Adds the clips of one source to d->clips (sizes and counts only, no pixels).
int sv_dataset_scan(sv_dataset *d, const char *source, sv_err *e);
// Chooses the per-clip frame limit from mem_cap, then decodes every clip and makes its LR frames.
int sv_dataset_load(sv_dataset *d, sv_err *e);
// Whether a clip of count frames gives at least one window of seq frames (mirrored when allowed), and
// the error that says it does not.
int sv_clip_length_ok(const sv_dataset *d, long long count);
int sv_clip_length_error(const sv_dataset *d, const char *path, long long count, sv_err *e);
// Frames a clip must keep to give one window: min(count, seq) (a mirrored clip needs all of its frames).
long long sv_clip_need(const sv_dataset *d, const sv_clip *c);

// Synthetic samples (dataset_synth.c): loads the photos and the render buffers when photo_share > 0;
// renders the sample s into lr [T,3,p,p] and gt [T,3,4p,4p]; frees what open made.
int sv_dataset_synth_open(sv_dataset *d, sv_err *e);
int sv_dataset_synth_sample(sv_dataset *d, const sv_sample_info *s, float *lr, float *gt, sv_err *e);
void sv_dataset_synth_free(sv_dataset *d);
