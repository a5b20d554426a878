// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// upscale_batch.h: `slimvsr upscale VIDEO_DIR OUT_DIR`, a folder of videos as a batch (issue 18 item 5).
#pragma once
#include "model/basicvsr.h"
#include "pipeline/upscale.h"

// 1 when input is a folder that holds video files (io/clips.h: sv_frames_is_video_name) and no frames:
// a batch. 0 otherwise, also when input cannot be listed (sv_upscale then says what is wrong with it).
int cli_upscale_is_batch(const char *input);

// How a batch runs: the model (m NULL: bicubic) and its -m argument (so that no output is the model
// file), the container of every output (ext, without the dot; NULL: each input's own extension), the job
// options of every video (o->out.replace: -y), quiet: no progress lines.
typedef struct {
    const sv_model *m;
    const char *model_arg, *ext;
    sv_upscale_opts *o;
    int quiet;
} cli_batch;

// Upscales every video of in_dir, in natural name order, to out_dir/NAME.EXT (out_dir is created when
// missing; it may not be in_dir). A video that fails (a corrupt file, an output in the way without -y,
// two inputs with one output name) does not stop the others. Prints one line per video on stdout
// ("ok IN -> OUT (N frames, T s)" or "failed IN: why") and a total. Returns the exit status: 0 when every
// video was upscaled, 1 otherwise.
int cli_upscale_batch(const cli_batch *b, const char *in_dir, const char *out_dir);
