// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// resume.h: what lets an interrupted `slimvsr upscale` continue: two files that the job keeps in its
// partial output folder (io/frames.h: sv_writer_opts.partial), beside the finished frames.
//
//   .slimvsr-resume  the job's record: "key value" lines (input, model, frame size and count, chunk,
//                    lookahead, execution mode). A later job continues the folder only when its own record
//                    is the same, line for line.
//   .slimvsr-state   the checkpoint: "slimvsr-state 1 next K floats N", a newline, then N native floats:
//                    the runner's state after frame K - 1 (model/runner.h: sv_runner_state_get), saved
//                    after every chunk once frames 0..K-1 are written. A job continues at frame K (a chunk
//                    border: chunks after it are computed from the input, this state and frame K - 1).
// Both are written under a temporary name, fsynced and renamed, so a kill leaves the old or the new one.
#pragma once
#include <stddef.h>

#include "core/error.h"
#include "model/runner.h"

#define SV_RESUME_RECORD ".slimvsr-resume"
#define SV_RESUME_STATE ".slimvsr-state"
#define SV_RESUME_RECORD_MAX 8192

typedef struct {
    char text[SV_RESUME_RECORD_MAX];  // "key value\n" lines
    size_t len;
} sv_resume_record;

void sv_resume_record_init(sv_resume_record *r);
// Adds the line "key value"; value is any string (never a format).
void sv_resume_record_add(sv_resume_record *r, const char *key, const char *value);
void sv_resume_record_add_int(sv_resume_record *r, const char *key, long long value);
// The int value of key: 0, or -1 when the record has no such line.
int sv_resume_record_int(const sv_resume_record *r, const char *key, int *value);
// Reads dir's record: 1 when read, 0 when dir holds none, -1 on error (a message naming the file).
int sv_resume_record_read(const char *dir, sv_resume_record *r, sv_err *e);
int sv_resume_record_write(const char *dir, const sv_resume_record *r, sv_err *e);
// 0 when job's record equals saved's; else -1 naming dir and the first key that differs, with both values.
int sv_resume_record_check(const char *dir, const sv_resume_record *saved, const sv_resume_record *job, sv_err *e);

// Saves the checkpoint: run's state after frame next - 1, a plane at a time through plane (a buffer of
// one plane's floats, model/runner.h: sv_runner_state_shape), so the state is never copied whole.
int sv_resume_state_save(const char *dir, int next, const sv_runner *run, float *plane, sv_err *e);
// Loads the checkpoint into run's state (through plane, as above): returns its frame K (0 when dir holds
// none, the state untouched), or -1 with a message naming the file (damaged, or not run's size: then the
// state is untouched too, except when the file shrinks while it is read).
int sv_resume_state_load(const char *dir, sv_runner *run, float *plane, sv_err *e);
// Removes the two files (before the folder is published).
void sv_resume_clear(const char *dir);
