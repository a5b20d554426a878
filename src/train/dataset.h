// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// dataset.h: training samples for x4 video super-resolution: random LR/GT patch sequences from clips
// held in memory as 8-bit frames.
//
// Sources (--data; several may be combined, their clips are pooled):
//   - a video file (any container libav opens, decoded by io/frames.h like `upscale` does);
//   - a folder, searched recursively (entries in name order, at most 16 levels): every folder that
//     directly holds PNG frames is one clip (REDS: ROOT/000/00000000.png; Vimeo-90K septuplets:
//     ROOT/00001/0001/im1.png..im7.png), frames in strcmp order of their names; every video file found
//     (.mp4 .mkv .avi .mov .webm .mpg ...) is one clip;
//   - a folder holding a GT/ sub-folder: only GT/ is read as ground truth (with the same clip layout);
//     the LR frames come from its sibling LR/ (any degradation), else BIx4/ (when degradation is BI) or
//     BDx4/ (BD), each clip at the same relative path, same frame count, GT exactly 4x the LR size; when
//     there is no such sibling the LR is made from GT/ on the fly. Paired clips are PNG folders only.
//
// LR on the fly: each GT frame is cropped to a multiple of 4 (the top-left part, as BasicSR's mod_crop)
// and degraded once, whole, when the dataset is opened (degrade.h: BI or BD, with MATLAB's uint8
// rounding, so the LR is the LR PNG MATLAB would have made, like the test sets' LR frames). Degrading the
// whole frame makes a patch's LR exactly the LR a dataset with pre-made LR frames would give (borders
// only at the real frame edges), and sampling then costs only copies.
//
// Memory: GT + LR frames as uint8 (a 448x256 frame is 344 KB + 22 KB). mem_cap bounds the total
// (default 2 GiB). When the sources would not fit, every clip is cut to its first K frames, K the largest
// value that fits (at least seq frames; a clip's later frames are then never sampled); the description
// says so. When even seq frames per clip do not fit, opening fails.
//
// One sample: a window of `seq` consecutive frames, chosen uniformly among all windows of all clips (so a
// clip weighs by its number of start positions: a 100-frame REDS clip with seq 15 has 86, a mirrored
// Vimeo septuplet 1): clip_weight SV_CLIP_WEIGHT_WINDOWS, the default, BasicSR's sampling when all clips
// are alike. Mixed sources are not: one 795-frame video would give 60% of the samples beside 26 DAVIS
// triplets' 2%. SV_CLIP_WEIGHT_SQRT draws a clip with probability proportional to the square root of its
// windows, then one of its windows uniformly (long clips still count more, not overwhelmingly);
// SV_CLIP_WEIGHT_EQUAL draws every clip alike. A clip shorter than seq is, when mirror is on, played forward then backward
// (BasicVSR's Vimeo setting: 7 frames -> 1..7,7..1 for seq 14) and needs seq <= 2 x its length; with
// mirror off it is an error. Then an LR patch of patch x patch at a uniform position, and the GT patch of
// 4*patch at 4x that position. Augmentations, each with probability 1/2 and the same for every frame and
// for LR and GT: horizontal flip, vertical flip, transpose (the 90-degree rotation of BasicSR: with the
// two flips it gives all 8 rotations/reflections), temporal reversal.
//
// Synthetic motion (photos, photo_share > 0): each sample is, with probability photo_share, a sequence of
// seq frames rendered from the photos (train/synth_motion.h: a background under a smooth camera motion and
// 2-6 textured shapes moving over it, with occlusion) instead of a window of a clip: real textures under
// known, varied and often fast motion that the clips may lack. It is rendered at GT scale (4 patch plus a
// margin of SV_SYNTH_MARGIN pixels on every side), rounded to 8 bits like a decoded frame, degraded whole
// (BI or BD, as the clips' LR on the fly) and cut to the patch, so its LR borders are no real frame's.
// Motion up to SV_SYNTH_LR_MOTION LR pixels per frame (docs/synthetic-motion.md's distribution, at LR
// scale). A synthetic sample takes two draws from the stream (its kind, its sequence's seed) and no
// augmentation (its motion is random anyway); its info has clip -1. The photos are shrunk to a longer side
// of at most twice the rendered side and count against mem_cap.
//
// Repeatability: the sample stream depends only on the seed, the options and the clips (not on batch:
// batches are consecutive samples). So ranks processes with batch B, each keeping its slice of every
// global batch, together see exactly the samples of one process with batch ranks x B, and every rank's
// sampler state is that one process's. sv_dataset_state/restore save and restore the position in it.
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "model/basicvsr.h"
#include "train/degrade.h"

#define SV_DATA_STATE_WORDS 7

typedef struct {
    int seq;          // T frames per sample (default 7)
    int patch;        // LR patch side (default 64); GT patch side is 4 * patch
    int batch;        // samples per sv_dataset_next (default 8)
    int ranks, rank;  // data-parallel: each sv_dataset_next draws the global batch of ranks x batch samples
                      // and keeps samples rank x batch .. (rank + 1) x batch - 1 (default 1, 0)
    int degradation;  // SV_DEG_BI (default) or SV_DEG_BD, for clips without LR frames
    int hflip, vflip, rot, reverse;  // augmentations on/off (default all on)
    int mirror;       // clips shorter than seq are mirrored (default on)
    uint64_t seed;    // default 0
    size_t mem_cap;   // bytes of frames kept in memory (default 2 GiB)
    const char *photos;   // a folder of photos for synthetic-motion samples (train/photos.h), or NULL
    double photo_share;   // the share of samples that are synthetic, 0..1 (default 0; > 0 needs photos)
    int clip_weight;      // SV_CLIP_WEIGHT_* (default WINDOWS)
} sv_data_opts;

enum { SV_CLIP_WEIGHT_WINDOWS = 0, SV_CLIP_WEIGHT_SQRT = 1, SV_CLIP_WEIGHT_EQUAL = 2 };
// "windows" / "sqrt" / "equal"; NULL for an unknown value. And back: -1 for an unknown name.
const char *sv_clip_weight_name(int clip_weight);
int sv_clip_weight_parse(const char *name);

#define SV_SYNTH_MARGIN 16    // GT pixels rendered beyond a synthetic patch on every side: more than the
                              // BI (8) and BD (6) kernels reach, so the patch's LR has no border effects
#define SV_SYNTH_LR_MOTION 8  // the largest motion of a synthetic layer, LR pixels per frame

void sv_data_opts_default(sv_data_opts *o);

typedef struct sv_dataset sv_dataset;

// Scans every source, checks it (missing paths, folders without clips, clips too short for seq, frames
// of different sizes in a clip, frames smaller than the GT patch, unreadable PNGs, paired LR that does
// not match its GT) and loads the frames. Every failure names the file and the problem.
sv_dataset *sv_dataset_open(const char *const *sources, int nsources, const sv_data_opts *o, sv_err *e);

// One batch. lr: batch x seq x [3, patch, patch], gt: batch x seq x [3, 4 patch, 4 patch], plain CHW
// float in [0, 1]; sample b, frame t starts at ((b * seq) + t) * 3 * side * side. Returns 0, or -1 when
// a synthetic sample cannot be rendered (out of memory).
int sv_dataset_next(sv_dataset *d, float *lr, float *gt, sv_err *e);

// Where the samples of the last sv_dataset_next came from (batch entries: this rank's), for logs and tests.
enum { SV_AUG_HFLIP = 1, SV_AUG_VFLIP = 2, SV_AUG_TRANSPOSE = 4, SV_AUG_REVERSE = 8 };
typedef struct {
    int clip;       // index, see sv_dataset_clip_name
    int start;      // first frame of the window (0 for a mirrored clip)
    int y, x;       // LR patch position (GT: 4y, 4x) in the frame before augmentation
    unsigned aug;   // SV_AUG_* bits
    uint64_t synth; // clip -1: the seed of the synthetic sequence (the other fields are 0)
} sv_sample_info;
const sv_sample_info *sv_dataset_last(const sv_dataset *d);
const char *sv_dataset_clip_name(const sv_dataset *d, int clip);
int sv_dataset_num_clips(const sv_dataset *d);

// The sampler position (random state + samples drawn + a fingerprint of clips and options) in
// SV_DATA_STATE_WORDS words, to store in a checkpoint. Returns the number of words written, or -1 when
// n < SV_DATA_STATE_WORDS.
int sv_dataset_state(const sv_dataset *d, uint64_t *state, int n);
// Continues the stream from a saved position. Fails when the state is malformed or was saved for other
// clips or options (the stream would silently differ).
int sv_dataset_restore(sv_dataset *d, const uint64_t *state, int n, sv_err *e);
// Samples drawn so far (since open, or as restored).
uint64_t sv_dataset_samples_drawn(const sv_dataset *d);

// One line: "16 clips (16 folders), 112 frames 448x256, LR: bi on the fly, seq 7, 16 windows, 40.9 MB".
void sv_dataset_describe(const sv_dataset *d, char *buf, size_t n);
void sv_dataset_free(sv_dataset *d);
