// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// progress.c: the progress line and the profile report of cli/progress.h.
#include "cli/progress.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/clock.h"

sv_progress cli_progress_callback(cli_progress *p, int quiet) {
    p->tty = isatty(2);
    p->t0 = sv_now();
    p->last_print = 0;
    return (sv_progress){quiet ? NULL : cli_progress_report, p};
}

static void fmt_time(char *buf, size_t n, double s) {
    int t = (int)(s + 0.5);
    if (t >= 3600) snprintf(buf, n, "%dh%02dm", t / 3600, t / 60 % 60);
    else snprintf(buf, n, "%dm%02ds", t / 60, t % 60);
}

static void print(const cli_progress *p, const char *label, int done, int total, int final) {
    double el = sv_now() - p->t0, fps = el > 0 ? done / el : 0;
    char eta[32] = "?", elapsed[32];
    fmt_time(elapsed, sizeof elapsed, el);
    if (total > 0 && fps > 0) fmt_time(eta, sizeof eta, (total - done) / fps);
    if (p->tty) {
        char bar[31] = "                              ";
        int filled = total > 0 ? (int)(30.0 * done / total) : 0;
        for (int i = 0; i < filled && i < 30; i++) bar[i] = '#';
        if (total > 0)
            fprintf(stderr, "\r%s [%s] %d/%d frames  %.2f frames/s  %s %s ", label, bar, done, total, fps,
                    final ? "took" : "ETA", final ? elapsed : eta);
        else
            fprintf(stderr, "\r%s %d frames  %.2f frames/s  %s ", label, done, fps, elapsed);
        if (final) fprintf(stderr, "\n");
    } else {
        if (total > 0)
            fprintf(stderr, "%s: %d/%d frames, %.2f frames/s, %s %s\n", label, done, total, fps,
                    final ? "took" : "ETA", final ? elapsed : eta);
        else
            fprintf(stderr, "%s: %d frames, %.2f frames/s, %s\n", label, done, fps, elapsed);
    }
    fflush(stderr);
}

void cli_progress_report(void *ud, const char *label, int done, int total, int final) {
    cli_progress *p = ud;
    const double now = sv_now();
    if (!final && done == 0) {  // a job starts
        p->t0 = now;
        p->last_print = 0;
        return;
    }
    if (!final && now - p->last_print < (p->tty ? 0.2 : 5.0)) return;
    p->last_print = now;
    print(p, label, done, total, final);
}

sv_runner_profile *cli_profile_wanted(sv_runner_profile *p) {
    const char *v = getenv("SLIMVSR_PROFILE");
    if (!v || !*v || *v == '0') return NULL;
    static sv_prof_table table;  // the command's one job fills it (SLIMVSR_PROFILE=2)
    *p = (sv_runner_profile){0};
    if (atoi(v) >= 2) {
        memset(&table, 0, sizeof table);
        p->layers = &table;
    }
    return p;
}

void cli_profile_print(const sv_runner_profile *p) {
    if (!p || p->frames <= 0) return;
    const double n = p->frames;
    fprintf(stderr, "profile: %d frames, per frame: spynet %.3f s, trunks %.3f s, reconstruction %.3f s, "
                    "output (convert + encode) %.3f s\n",
            p->frames, p->spynet / n, p->trunk / n, p->recon / n, p->emit / n);
    if (p->layers && p->layers->n > 0) cli_profile_table(stderr, p, p->layers);
}
