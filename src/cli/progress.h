// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// progress.h: the command line's progress report on stderr, fed by a job's callback (pipeline/progress.h).
// On a terminal: one line redrawn in place with a bar, frames done, frames/s and ETA. Otherwise (a log
// file, CI): a plain line at most every 5 seconds, and one at the end.
#pragma once
#include <stdio.h>

#include "model/runner.h"
#include "model/profile.h"
#include "pipeline/progress.h"

typedef struct {
    int tty;
    double t0, last_print;
} cli_progress;

// The callback for a job's options: {cli_progress_report, &p}; a job's first report (done 0) restarts
// the clock. With quiet, the callback is NULL and nothing is printed.
void cli_progress_report(void *ud, const char *label, int done, int total, int final);
sv_progress cli_progress_callback(cli_progress *p, int quiet);

// SLIMVSR_PROFILE (set, not "0"): where a job's time went. cli_profile_wanted returns p zeroed when it is
// set (for the job's options: sv_upscale_opts.profile, sv_eval_opts.profile), else NULL; with
// SLIMVSR_PROFILE=2, p->layers points at a table (the command line's one) that the job fills.
// cli_profile_print prints p per frame on stderr when p is not NULL and frames were run, and then the
// per-layer table (cli_profile_table) when there is one and it holds layers.
sv_runner_profile *cli_profile_wanted(sv_runner_profile *p);
void cli_profile_print(const sv_runner_profile *p);

// The per-layer table of p and t (profile.c): every conv layer (backend, calls, ms per call, share of the
// total, GFLOP per call, GFLOP/s, the Winograd phases' split), the non-conv work, the layer groups.
void cli_profile_table(FILE *f, const sv_runner_profile *p, const sv_prof_table *t);
// `slimvsr info MODEL --profile`: runs `frames` random frames of h x w through a runner for m and prints
// its table on stdout. Returns the exit status.
int cli_info_profile(const sv_model *m, int h, int w, int frames);
