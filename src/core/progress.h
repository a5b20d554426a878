// progress.h: progress report on stderr. On a terminal: one line redrawn in place with a bar, frames
// done, frames/s and ETA. Otherwise (a log file, CI): a plain line at most every few seconds.
#pragma once

typedef struct {
    const char *label;
    int total;          // -1 when unknown
    int tty;
    int quiet;
    double t0, last_print;
} sv_progress;

void sv_progress_start(sv_progress *p, const char *label, int total, int quiet);
void sv_progress_update(sv_progress *p, int done);
void sv_progress_finish(sv_progress *p, int done);
double sv_now(void);  // monotonic seconds
