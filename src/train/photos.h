// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// photos.h: a folder of photos held in memory, shrunk, for synthetic motion (train/synth_motion.h): what
// `train-flow --supervised` renders its sequences from, and `train --photos` its synthetic-motion clips.
#pragma once
#include "core/error.h"
#include "train/synth_motion.h"

// Training shrinks the photos to a longer side of at most this many times the LR patch side: a texture is
// sampled at about one texel per frame pixel, so more resolution is never seen; 4x leaves room for the
// zoom and the choice of crop, and bounds memory (200 photos of 256 px: 39 MB).
#define SV_PHOTO_SIDE_PER_PATCH 4
typedef struct {
    sv_synth_image *v;    // n photos (their rgb owned here unless borrowed)
    int n, borrowed;      // borrowed: the rgb buffers belong to another set (sv_photos_split)
} sv_photo_set;

// Every .jpg, .jpeg and .png (any case, not starting with '.') under dir, sub-folders included (at most 16
// levels), in strcmp order of their paths, each read through io/frames.h (libav) and shrunk by an integer
// area average so that its longer side is at most max_side (0: not shrunk). Returns 0, or -1 with a
// message naming the folder (no photos) or the photo (unreadable, corrupt, smaller than 8 x 8).
int sv_photos_load(sv_photo_set *ps, const char *dir, int max_side, sv_err *e);
void sv_photos_free(sv_photo_set *ps);
// The held-out split: every SV_HELDOUT_EVERY-th photo in path order (indices 7, 15, ...) moves from ps to
// held, so held-out pairs are drawn from photos that training never sees; the same folder always gives the
// same split, in training and in `train-flow --eval`. With fewer than SV_HELDOUT_EVERY photos nothing moves
// and held borrows all of ps's (returns 0: the held-out pairs then share their photos with training, only
// their draws differ; the caller says so). Returns the number of photos moved, or -1 (out of memory).
#define SV_HELDOUT_EVERY 8
int sv_photos_split(sv_photo_set *ps, sv_photo_set *held, sv_err *e);
