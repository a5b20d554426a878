// progress.h: the command line's progress report on stderr, fed by a job's callback (pipeline/progress.h).
// On a terminal: one line redrawn in place with a bar, frames done, frames/s and ETA. Otherwise (a log
// file, CI): a plain line at most every 5 seconds, and one at the end.
#pragma once
#include "model/runner.h"
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
// set (for the job's options: sv_upscale_opts.profile, sv_eval_opts.profile), else NULL; cli_profile_print
// prints p per frame on stderr when p is not NULL and frames were run.
sv_runner_profile *cli_profile_wanted(sv_runner_profile *p);
void cli_profile_print(const sv_runner_profile *p);
