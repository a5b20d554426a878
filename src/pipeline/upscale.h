// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// upscale.h: the whole `slimvsr upscale` job: stream frames from a folder or video, run the model in
// chunks with bounded memory, stream the x4 frames to a folder or video, publish the output atomically.
#pragma once
#include <stddef.h>

#include "core/error.h"
#include "io/frames.h"
#include "model/basicvsr.h"
#include "model/runner.h"
#include "pipeline/progress.h"

// The default --max-memory: 1/SV_DEFAULT_MEM_SHARE of the memory available (core/memory.h: MemAvailable,
// the cgroup's limit, ulimits). Half, because what is available is shared: the page cache, the encoder's
// threads and other processes grow while a job runs, and the plan's estimate is not exact (measured peak
// RSS: 0.85-1.0 of the estimate from 180x320 to 1920x1080). A job that does not fit in half is planned in
// all of it before it is refused. When nothing can be read, SV_MEM_FALLBACK_BUDGET.
#define SV_DEFAULT_MEM_SHARE 2
#define SV_MEM_FALLBACK_BUDGET ((size_t)2 << 30)
size_t sv_upscale_default_budget(void);

// What a resumable video output's PNG frames take on disk, per output pixel: measured on the SSL model's
// output of cockatoo.mp4 (README: Resume), and raw RGB, about the most a PNG frame takes. A new job whose
// frames would not fit the free space at the measured rate encodes directly instead (with a warning).
#define SV_PARTIAL_PNG_BYTES_TYPICAL 0.63
#define SV_PARTIAL_PNG_BYTES_MOST 3.0

typedef struct {
    int chunk;              // frames emitted per chunk; 0: as many as mem_budget allows
    int lookahead;          // extra frames past each chunk that feed only the backward branch; -1: default
    size_t mem_budget;      // sv_upscale: bytes the whole job may take (--max-memory), 0: the default
                            // (sv_upscale_default_budget), never more than is available; it chooses the
                            // chunk (when chunk == 0) and the reconstruction's tiles. sv_upscale_plan_chunk:
                            // bytes for the runner and the frame window.
    int tile_rows;          // LR rows per reconstruction tile (model/runner.h); 0: sv_upscale chooses them from
                            // mem_budget, sv_upscale_plan_chunk counts the runner's default
    sv_progress progress;   // reports "upscale" frames as they are written (from the writer thread)
    sv_exec_mode mode;      // SV_EXEC_FAST normally
    sv_writer_opts out;     // the encoder, its CRF, preset and pixel format, the container of standard
                            // output, -y (io/frames.h); out.depth is the input's, set by sv_upscale
    sv_runner_profile *profile;  // when not NULL, receives the runner's stage times at the end
    int resume;             // the output's partial folder must exist (--resume): fail when there is none;
                            // a segment (first, end) keeps no partial folder and refuses it
    int *resumed_at;        // when not NULL and a partial folder is continued: the frame the job went on at
    int direct;             // no partial folder (--no-resume): a video is encoded as its frames come, a folder
                            // written under a hidden temporary name; an interrupted job starts over
    long long first, end;   // a segment: only frames first..end-1 of the clip (end 0: to its end), each
                            // bit-identical to the same frame of a whole run with the same chunk and
                            // lookahead; needs an explicit chunk (see sv_upscale)
} sv_upscale_opts;

// The runner of a job (upscale, eval): BasicVSR for model m, or the bicubic baseline when m is NULL
// (`-m bicubic`); and its size, as sv_runner_estimate / sv_bicubic_runner_estimate.
// tile_rows: the reconstruction's tiles (sv_runner_create_tiled; >= h: the whole frame), 0: the runner's
// default (sv_runner_create).
// A runner for chunks of up to chunk frames emitted, with lookahead frames after them (sv_runner_create_window).
sv_runner *sv_job_runner_create(const sv_model *m, int h, int w, int chunk, int lookahead, sv_exec_mode mode,
                                sv_err *e);
sv_runner *sv_job_runner_create_tiled(const sv_model *m, int h, int w, int chunk, int lookahead, sv_exec_mode mode,
                                      int tile_rows, sv_err *e);
void sv_job_runner_estimate(const sv_model *m, int h, int w, sv_exec_mode mode, int tile_rows, size_t *fixed,
                            size_t *per_frame);
// Adds r's stage times to *sum (frames and seconds).
void sv_runner_profile_add(sv_runner_profile *sum, const sv_runner *r);

void sv_upscale_opts_default(sv_upscale_opts *o);
// Resume (pipeline/resume.h): a folder output is written in the visible folder OUTPUT.partial, with the
// job's record and, after each chunk, a checkpoint of the runner's state; a job killed or interrupted leaves
// it, and the same job on the same output continues it at the first chunk whose frames were not all
// written, with exactly the frames an uninterrupted job writes (a job with another model, input, chunk,
// lookahead or mode is refused, naming the difference; an automatic chunk and lookahead are the record's).
// A video file output is written the same way: its frames go to OUTPUT.partial as PNG files with their
// timestamps (io/frames.h: sv_writer_opts.partial), and the video is encoded from them once every frame is
// there (a kill then leaves the folder whole: the next job only encodes); then the folder is removed.
// Standard output is written from the first frame again.
// Returns 0, or -1 with a message naming the file at fault; on failure no output is left behind (a
// partial folder this job continued stays, and so does a video's whose frames were all written). The output
// is never the input and never a folder holding it (io/paths.h); it is refused before any work, and so is
// an output the writer would refuse (sv_frames_output_check: the encoder, the container, the options).
// input "-": standard input (a video stream); output "-": standard output (io/frames.h).
// A segment (o->first, o->end) reads the clip from its first frame: the chunks before the one that holds
// frame first only carry the forward branch's state (sv_runner_warm_up), the chunks from there on run as in
// a whole run and emit the frames of the segment alone, and reading stops after the lookahead of the chunk
// that holds frame end - 1. A folder output names each frame as a whole run does (a video input's frame i:
// %08d.png of i), so segments' folders merge; a video output holds the segment's frames at their
// timestamps, without the input's other streams. Refused: no chunk (the automatic one depends on the
// machine's memory), end <= first, or a range past the clip's end (before any work when the count is
// exact, a folder's; else when the clip ends, leaving no output).
int sv_upscale(const sv_model *m, const char *input, const char *output, const sv_upscale_opts *o, sv_err *e);
// A folder's frame count is exact; a video's is the container's estimate, so the window is planned for
// some more (10% + 2, at most INT_MAX). count <= 0 (unknown) is returned as it is.
int sv_upscale_count_hint(int count, int is_video);
// What sv_upscale plans for a job (upscale --dry-run prints it).
typedef struct {
    int w, h, count;                  // input frame size; frame count (a video's: the container's estimate; -1 unknown)
    int chunk, lookahead, tile_rows;  // tile_rows: LR rows per reconstruction tile (h: the whole frame)
    size_t peak, budget;              // the job's estimated peak bytes; the bytes it was planned within
} sv_upscale_plan;
// Opens the input, plans the job as sv_upscale would, checks the output (sv_frames_output_check) and closes
// the input: runs nothing, writes nothing. Fails as sv_upscale would before its first frame is upscaled (a
// job that cannot fit in the budget included).
int sv_upscale_dry_run(const sv_model *m, const char *input, const char *output, const sv_upscale_opts *o,
                       sv_upscale_plan *plan, sv_err *e);
// A forward-only model refuses an explicit chunk > 1 or lookahead > 0 (they would only add latency), naming
// input; 0 otherwise.
int sv_upscale_check_window(const sv_model *m, const char *input, const sv_upscale_opts *o, sv_err *e);
// Chunk size and lookahead sv_upscale would choose for frames of h x w and a clip of count frames (-1 unknown).
// A forward-only model (sv_is_uni) always gets chunk 1 and lookahead 0: no frame waits for a later one.
void sv_upscale_plan_chunk(const sv_model *m, int h, int w, int count, const sv_upscale_opts *o, int *chunk,
                           int *lookahead);
