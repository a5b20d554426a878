// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// eval.h: quality of a model on clips with ground truth (`slimvsr eval`, and the trainer's validation).
// The model runs on each LR clip in chunks exactly as `slimvsr upscale` does (bounded memory), and each
// x4 output frame is compared with its GT frame as it comes out (ops/metrics.h: PSNR and SSIM under
// the protocol of SSL-NOTES §7); nothing holds a whole clip.
//
// Inputs (LR and GT alike):
//   - one clip: a folder of PNG frames or a video file;
//   - a folder of clips (REDS / Vid4 layout): sub-folders of PNG frames and/or video files, a clip named
//     by its folder name or its file name without the extension. Every LR clip needs a GT clip of the
//     same name; extra GT clips are ignored. A folder holding any *.png file is one clip. (io/clips.h:
//     sv_clips_pair, the layout rule shared with the training data and train-flow.)
// Frames pair up in sorted order; frame counts must match and GT frames must be exactly 4x the LR size.
// (Folder counts are compared up front; a video's length is only known once decoded, so with max_frames
// a video is checked over those frames only.)
//
// Averages: per clip, the mean over its frames; overall, the mean over clips (each clip counts once,
// whatever its length). A frame equal to its GT has PSNR +INFINITY, and so does any mean that includes
// it (as in BasicSR).
#pragma once
#include <stddef.h>

#include "core/error.h"
#include "model/basicvsr.h"
#include "model/runner.h"
#include "pipeline/progress.h"

typedef struct {
    int y_only;          // measure on BT.601 Y (Vid4, Vimeo-90K-T) instead of RGB (REDS4)
    int crop_border;     // pixels removed at each side of the x4 frames before measuring
    int flip;            // test-time augmentation: mean output over the clip and its h, v, h+v flips
    int max_frames;      // only the first N frames of each clip (0: all)
    int chunk;           // frames per chunk (0: as many as mem_budget allows), as in sv_upscale_opts
    int lookahead;       // frames past a chunk that feed its backward branch (-1: default)
    size_t mem_budget;   // bytes for the runners when chunk == 0 (--max-memory; 0: sv_upscale_default_budget)
    sv_progress progress;  // reports "eval CLIP" frames as they are measured, clip by clip
    sv_exec_mode mode;   // SV_EXEC_FAST normally
    sv_runner_profile *profile;  // when not NULL, receives the stage times of every runner (summed)
} sv_eval_opts;

typedef struct {
    char name[256];      // clip name ("mean" for the mean)
    int frames;          // frames measured (for the mean: over all clips)
    double psnr, ssim;
} sv_eval_result;

void sv_eval_opts_default(sv_eval_opts *o);

// One clip: lr and gt are each a PNG folder or a video. r->name is set from lr's name.
int sv_eval_clip(const sv_model *m, const char *lr, const char *gt, const sv_eval_opts *o, sv_eval_result *r,
                 sv_err *e);

// lr and gt: one clip each, or folders of clips (see above). On success *per_clip is a malloc'd array of
// *nclips results in clip-name order (free it), and *mean holds the mean over clips. On failure nothing
// is allocated and the message names the clip or file at fault.
int sv_eval_dirs(const sv_model *m, const char *lr, const char *gt, const sv_eval_opts *o,
                 sv_eval_result **per_clip, int *nclips, sv_eval_result *mean, sv_err *e);
