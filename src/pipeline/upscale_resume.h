// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// upscale_resume.h: upscale.c's side of a resumable job (resume.h's files in a folder output's partial
// folder). Private to pipeline/.
#pragma once
#include "io/atomic_file.h"
#include "io/frames.h"
#include "model/runner.h"
#include "pipeline/clip_stream.h"
#include "pipeline/resume.h"
#include "pipeline/upscale.h"
#include "pipeline/write_thread.h"

typedef struct {
    const char *dir;       // the partial folder (path); NULL: the output keeps none (standard output, a segment)
    char path[SV_ATOMIC_PATH];
    int video;             // 1: a video output's partial folder, removed once the video is published
    sv_resume_record rec;  // this job's record
    float *plane;          // one plane of the runner's state, the buffer its checkpoints go through
    int next;              // the frame the next chunk starts at
    int saved;             // the frame the last saved state goes on at
    int every;             // frames between checkpoints: 1 chunk, or at least SV_RESUME_UNI_FRAMES for a
                           // forward-only model, whose chunks are single frames (upscale_resume.c)
    int locked, lock_fd;   // the partial folder, open and flock()ed while the job runs
} sv_upscale_resume;

// Before planning: when output's partial folder holds a record, its chunk and lookahead become o's where o
// leaves them automatic (explicit ones stay, and are compared later). Fails for o->resume without a
// partial output to continue.
int sv_upscale_resume_defaults(const char *output, sv_upscale_opts *o, sv_err *e);
// Before the writer, for a new resumable video output (no partial folder yet) of count frames of w x h
// (count <= 0: unknown, nothing checked): when its PNG frames would not fit the free space of the output's
// file system at SV_PARTIAL_PNG_BYTES_TYPICAL, o->direct is set (the video is encoded as the frames come)
// with a warning; when only SV_PARTIAL_PNG_BYTES_MOST would not fit, a warning.
void sv_upscale_partial_room(const char *output, int w, int h, long long count, sv_upscale_opts *o);
// After the writer, window and runner exist: a new partial folder gets the job's record; a continued one
// is checked against it (and refused while another job holds it), and its checkpoint restores the runner's state and moves the window past the
// frames already written. *o->resumed_at is set to that frame (when o->resumed_at is not NULL).
int sv_upscale_resume_begin(sv_upscale_resume *r, sv_frame_writer *wr, const char *output, const sv_model *m,
                            const char *input, const sv_upscale_plan *pl, const sv_upscale_opts *o, sv_runner *run,
                            sv_clip_window *win, sv_err *e);
// After a chunk of n_emit frames: once the writer has written them, saves the runner's state (a forward-only
// model's: once SV_RESUME_UNI_FRAMES frames have passed since the last save).
int sv_upscale_resume_chunk(sv_upscale_resume *r, sv_runner *run, sv_write_thread *wt, int n_emit, sv_err *e);
// After the writer has written the last frame: saves the state of the last chunk when it is not saved yet,
// so that a job stopped while its video is encoded goes on with the encode alone.
int sv_upscale_resume_last(sv_upscale_resume *r, sv_runner *run, sv_err *e);
// Before the writer publishes a folder: removes the record and checkpoint (the folder is published as it
// is). A video's stay until the video is published: a kill while it is encoded leaves a folder to continue.
void sv_upscale_resume_end(sv_upscale_resume *r);
// After the writer published a video (and removed its frames from the folder): removes the record and
// checkpoint, then the folder (kept, with a warning, when it holds anything else).
void sv_upscale_resume_published(sv_upscale_resume *r);
void sv_upscale_resume_free(sv_upscale_resume *r);
