// upscale.h: the whole `slimvsr upscale` job: stream frames from a folder or video, run the model in
// chunks with bounded memory, stream the x4 frames to a folder or video, publish the output atomically.
#pragma once
#include <stddef.h>

#include "core/error.h"
#include "model/basicvsr.h"
#include "model/runner.h"

typedef struct {
    int chunk;              // frames emitted per chunk; 0: as many as mem_budget allows
    int lookahead;          // extra frames past each chunk that feed only the backward branch; -1: default
    size_t mem_budget;      // bytes for the runner and frame window when chunk == 0 (0: 1.7 GB); sv_upscale
                            // also caps it by the memory available (core/memory.h)
    int quiet;              // no progress output
    sv_exec_mode mode;      // SV_EXEC_FAST normally
    const char *encoder;    // NULL: default for the output's extension
    int replace;            // an existing output may be replaced (a folder only if slimvsr wrote it)
} sv_upscale_opts;

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
