#include "core/progress.h"

#include <stdio.h>
#include <time.h>
#include <unistd.h>

double sv_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void sv_progress_start(sv_progress *p, const char *label, int total, int quiet) {
    p->label = label;
    p->total = total;
    p->quiet = quiet;
    p->tty = isatty(2);
    p->t0 = sv_now();
    p->last_print = 0;
}

static void fmt_time(char *buf, size_t n, double s) {
    int t = (int)(s + 0.5);
    if (t >= 3600) snprintf(buf, n, "%dh%02dm", t / 3600, t / 60 % 60);
    else snprintf(buf, n, "%dm%02ds", t / 60, t % 60);
}

static void print(sv_progress *p, int done, int final) {
    double el = sv_now() - p->t0, fps = el > 0 ? done / el : 0;
    char eta[32] = "?", elapsed[32];
    fmt_time(elapsed, sizeof elapsed, el);
    if (p->total > 0 && fps > 0) fmt_time(eta, sizeof eta, (p->total - done) / fps);
    if (p->tty) {
        char bar[31] = "                              ";
        int filled = p->total > 0 ? (int)(30.0 * done / p->total) : 0;
        for (int i = 0; i < filled && i < 30; i++) bar[i] = '#';
        if (p->total > 0)
            fprintf(stderr, "\r%s [%s] %d/%d frames  %.2f frames/s  %s %s ", p->label, bar, done, p->total, fps,
                    final ? "took" : "ETA", final ? elapsed : eta);
        else
            fprintf(stderr, "\r%s %d frames  %.2f frames/s  %s ", p->label, done, fps, elapsed);
        if (final) fprintf(stderr, "\n");
    } else {
        if (p->total > 0)
            fprintf(stderr, "%s: %d/%d frames, %.2f frames/s, %s %s\n", p->label, done, p->total, fps,
                    final ? "took" : "ETA", final ? elapsed : eta);
        else
            fprintf(stderr, "%s: %d frames, %.2f frames/s, %s\n", p->label, done, fps, elapsed);
    }
    fflush(stderr);
}

void sv_progress_update(sv_progress *p, int done) {
    if (p->quiet) return;
    double now = sv_now();
    if (now - p->last_print < (p->tty ? 0.2 : 5.0)) return;
    p->last_print = now;
    print(p, done, 0);
}

void sv_progress_finish(sv_progress *p, int done) {
    if (p->quiet) return;
    p->total = done;  // a video's frame count was only the container's estimate
    print(p, done, 1);
}
