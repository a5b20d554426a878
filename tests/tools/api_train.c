// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// api_train.c: `slimvsr train` through the public API (slimvsr_train), for tests/cli_api_train.sh, which
// runs both on the same options and compares the run folders. Takes a subset of train's options:
//   api_train --data DIR [--data DIR2] --out RUN [--val DIR] [--feat N] [--blocks N] [--batch N] [--seq N]
//             [--patch N] [--iters N] [--seed N] [--log-every N] [--val-every N] [--val-frames N]
//             [--flow spynet|zero] [--resume] [--stop-now]
// --stop-now: the stop flag is set before the run starts (it stops after its first iteration).
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "slimvsr.h"

static void print_info(void *user, int level, const char *msg) { fprintf(stderr, "api_train: %s\n", msg); }

int main(int argc, char **argv) {
    slimvsr_train_options o = slimvsr_train_options_default();
    static volatile sig_atomic_t stop;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : "";
        if (!strcmp(a, "--resume")) o.resume = 1;
        else if (!strcmp(a, "--stop-now")) stop = 1, o.stop = &stop;
        else if (!strcmp(a, "--data") && o.ndata < SLIMVSR_TRAIN_MAX_DATA) o.data[o.ndata++] = v, i++;
        else if (!strcmp(a, "--out")) o.out = v, i++;
        else if (!strcmp(a, "--val")) o.val = v, i++;
        else if (!strcmp(a, "--flow")) o.flow = strcmp(v, "zero") ? SLIMVSR_FLOW_SPYNET : SLIMVSR_FLOW_ZERO, i++;
        else if (!strcmp(a, "--feat")) o.feat = atoi(v), i++;
        else if (!strcmp(a, "--blocks")) o.blocks = atoi(v), i++;
        else if (!strcmp(a, "--batch")) o.batch = atoi(v), i++;
        else if (!strcmp(a, "--seq")) o.seq = atoi(v), i++;
        else if (!strcmp(a, "--patch")) o.patch = atoi(v), i++;
        else if (!strcmp(a, "--iters")) o.iters = atol(v), i++;
        else if (!strcmp(a, "--seed")) o.seed = strtoull(v, NULL, 10), i++;
        else if (!strcmp(a, "--log-every")) o.log_every = atol(v), i++;
        else if (!strcmp(a, "--val-every")) o.val_every = atol(v), i++;
        else if (!strcmp(a, "--val-frames")) o.val_frames = atoi(v), i++;
        else return fprintf(stderr, "api_train: unknown argument '%s'\n", a), 2;
    }
    slimvsr_set_log_callback(print_info, NULL);
    const int rc = slimvsr_train(&o);
    if (rc) fprintf(stderr, "api_train: %s: %s\n", slimvsr_status_name(rc), slimvsr_last_error());
    return rc ? 1 : 0;
}
