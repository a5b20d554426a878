// upscale.h: the whole `slimvsr upscale` job: stream frames from a folder or video, run the model in
// chunks with bounded memory, stream the x4 frames to a folder or video, publish the output atomically.
#pragma once
#include <stddef.h>

#include "core/error.h"
#include "model/basicvsr.h"
#include "model/runner.h"
#include "pipeline/progress.h"

// Bytes for the runner and the frame window when no chunk size is given (upscale and eval): with the
// process's other needs (code, libav, the model) this keeps a 180x320 clip under about 2 GB peak. Never
// more than the memory available; a frame size whose fixed part alone exceeds it runs one frame at a time.
#define SV_DEFAULT_MEM_BUDGET ((size_t)1700 << 20)

typedef struct {
    int chunk;              // frames emitted per chunk; 0: as many as mem_budget allows
    int lookahead;          // extra frames past each chunk that feed only the backward branch; -1: default
    size_t mem_budget;      // bytes for the runner and frame window when chunk == 0 (0: 1.7 GB); sv_upscale
                            // also caps it by the memory available (core/memory.h)
    sv_progress progress;   // reports "upscale" frames as they are written (from the writer thread)
    sv_exec_mode mode;      // SV_EXEC_FAST normally
    const char *encoder;    // NULL: default for the output's extension
    int replace;            // an existing output may be replaced (a folder only if slimvsr wrote it)
    sv_runner_profile *profile;  // when not NULL, receives the runner's stage times at the end
} sv_upscale_opts;

// The runner of a job (upscale, eval): BasicVSR for model m, or the bicubic baseline when m is NULL
// (`-m bicubic`); and its size, as sv_runner_estimate / sv_bicubic_runner_estimate.
sv_runner *sv_job_runner_create(const sv_model *m, int h, int w, int max_frames, sv_exec_mode mode, sv_err *e);
void sv_job_runner_estimate(const sv_model *m, int h, int w, sv_exec_mode mode, size_t *fixed, size_t *per_frame);
// Adds r's stage times to *sum (frames and seconds).
void sv_runner_profile_add(sv_runner_profile *sum, const sv_runner *r);

void sv_upscale_opts_default(sv_upscale_opts *o);
// Returns 0, or -1 with a message naming the file at fault; on failure no output is left behind. The output
// is never the input and never a folder holding it (io/paths.h); it is refused before any work.
int sv_upscale(const sv_model *m, const char *input, const char *output, const sv_upscale_opts *o, sv_err *e);
// A folder's frame count is exact; a video's is the container's estimate, so the window is planned for
// some more (10% + 2, at most INT_MAX). count <= 0 (unknown) is returned as it is.
int sv_upscale_count_hint(int count, int is_video);
// Chunk size and lookahead sv_upscale would choose for frames of h x w and a clip of count frames (-1 unknown).
void sv_upscale_plan_chunk(const sv_model *m, int h, int w, int count, const sv_upscale_opts *o, int *chunk,
                           int *lookahead);
