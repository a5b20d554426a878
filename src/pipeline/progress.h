// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// progress.h: how a pipeline job (upscale, eval) reports its progress. The library never prints: the
// caller passes a callback in the job's options (the command line's progress bar is cli/progress.c).
// A job with label L and an expected total of N frames (-1: unknown) calls
//   fn(ud, L, 0, N, 0)        once when it starts (eval: once per clip, L = "eval CLIP"),
//   fn(ud, L, done, N, 0)     after each frame done (upscale: from its writer thread),
//   fn(ud, L, done, done, 1)  once at the end (a video's N was only the container's estimate).
#pragma once

typedef void (*sv_progress_fn)(void *ud, const char *label, int done, int total, int final);

typedef struct {
    sv_progress_fn fn;  // NULL: no reports
    void *ud;
} sv_progress;

// One job's reports: its callback, label and expected total.
typedef struct {
    sv_progress cb;
    const char *label;
    int total;
} sv_progress_job;

static inline void sv_progress_start(sv_progress_job *j, sv_progress cb, const char *label, int total) {
    j->cb = cb, j->label = label, j->total = total;
    if (cb.fn) cb.fn(cb.ud, label, 0, total, 0);
}
static inline void sv_progress_update(const sv_progress_job *j, int done) {
    if (j->cb.fn) j->cb.fn(j->cb.ud, j->label, done, j->total, 0);
}
static inline void sv_progress_finish(const sv_progress_job *j, int done) {
    if (j->cb.fn) j->cb.fn(j->cb.ud, j->label, done, done, 1);
}
