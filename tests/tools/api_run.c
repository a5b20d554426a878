// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// api_run.c: `slimvsr train`, `train-flow` and `prune` through the public API (slimvsr_train,
// slimvsr_train_flow, slimvsr_prune), for
// tests/cli_api_runs.sh, which runs both on the same options and compares the run folders. A subset of
// the commands' options:
//   api_run train|flow|prune --data DIR [--data DIR2] --out RUN [--val DIR] [--feat N] [--blocks N] [--batch N]
//           [--seq N] [--patch N] [--iters N] [--seed N] [--log-every N] [--val-every N] [--val-frames N]
//           [--flow spynet|zero] [--direction bi|uni] [--resume] [--stop-now]
//   prune also: -m MODEL [--ratio X] [--select layer] [--scheme l1-aligned] [--sparsity-iters N]
//           [--finetune-iters N] [--lambda-every N]
//   flow also: [--checkpoint-every N]
// --stop-now: the stop flag is set before the run starts (it stops after its first iteration).
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "slimvsr.h"

static volatile sig_atomic_t stop;

// One option of the training part; 1 when a was one (*i moved past its value), 0 when not.
static int train_option(slimvsr_train_options *o, const char *a, const char *v, int *i) {
    int takes = 1;
    if (!strcmp(a, "--resume")) o->resume = 1, takes = 0;
    else if (!strcmp(a, "--stop-now")) stop = 1, o->stop = &stop, takes = 0;
    else if (!strcmp(a, "--data") && o->ndata < SLIMVSR_TRAIN_MAX_DATA) o->data[o->ndata++] = v;
    else if (!strcmp(a, "--out")) o->out = v;
    else if (!strcmp(a, "--val")) o->val = v;
    else if (!strcmp(a, "--flow")) o->flow = strcmp(v, "zero") ? SLIMVSR_FLOW_SPYNET : SLIMVSR_FLOW_ZERO;
    else if (!strcmp(a, "--direction")) o->direction = strcmp(v, "uni") ? SLIMVSR_DIRECTION_BI : SLIMVSR_DIRECTION_UNI;
    else if (!strcmp(a, "--feat")) o->feat = atoi(v);
    else if (!strcmp(a, "--blocks")) o->blocks = atoi(v);
    else if (!strcmp(a, "--batch")) o->batch = atoi(v);
    else if (!strcmp(a, "--seq")) o->seq = atoi(v);
    else if (!strcmp(a, "--patch")) o->patch = atoi(v);
    else if (!strcmp(a, "--iters")) o->iters = atol(v);
    else if (!strcmp(a, "--seed")) o->seed = strtoull(v, NULL, 10);
    else if (!strcmp(a, "--log-every")) o->log_every = atol(v);
    else if (!strcmp(a, "--val-every")) o->val_every = atol(v);
    else if (!strcmp(a, "--val-frames")) o->val_frames = atoi(v);
    else return 0;
    *i += takes;
    return 1;
}

static int prune_option(slimvsr_prune_options *o, const char *a, const char *v, int *i) {
    if (!strcmp(a, "-m")) o->model = v;
    else if (!strcmp(a, "--ratio")) o->ratio = atof(v);
    else if (!strcmp(a, "--select")) o->global = strcmp(v, "layer") != 0;
    else if (!strcmp(a, "--scheme")) o->scheme = strcmp(v, "l1-aligned") ? SLIMVSR_SCHEME_SSL : SLIMVSR_SCHEME_L1_ALIGNED;
    else if (!strcmp(a, "--sparsity-iters")) o->sparsity_iters = atol(v);
    else if (!strcmp(a, "--finetune-iters")) o->finetune_iters = atol(v);
    else if (!strcmp(a, "--lambda-every")) o->lambda_every = atoi(v);
    else return 0;
    ++*i;
    return 1;
}

static int flow_option(slimvsr_train_flow_options *o, const char *a, const char *v, int *i) {
    if (strcmp(a, "--checkpoint-every")) return 0;
    o->checkpoint_every = atol(v);
    ++*i;
    return 1;
}

static void print_info(void *user, int level, const char *msg) { fprintf(stderr, "api_run: %s\n", msg); }

int main(int argc, char **argv) {
    const char *cmd = argc > 1 ? argv[1] : "";
    const int prune = !strcmp(cmd, "prune"), flow = !strcmp(cmd, "flow");
    if (!prune && !flow && strcmp(cmd, "train")) return fprintf(stderr, "usage: api_run train|flow|prune ...\n"), 2;
    slimvsr_prune_options p = slimvsr_prune_options_default();
    slimvsr_train_flow_options f = slimvsr_train_flow_options_default();
    slimvsr_train_options t = slimvsr_train_options_default();
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : "";
        if (!train_option(prune ? &p.train : flow ? &f.run : &t, a, v, &i) &&
            !(prune && prune_option(&p, a, v, &i)) && !(flow && flow_option(&f, a, v, &i)))
            return fprintf(stderr, "api_run: unknown argument '%s'\n", a), 2;
    }
    slimvsr_set_log_callback(print_info, NULL);
    const int rc = prune ? slimvsr_prune(&p) : flow ? slimvsr_train_flow(&f) : slimvsr_train(&t);
    if (rc) fprintf(stderr, "api_run: %s: %s\n", slimvsr_status_name(rc), slimvsr_last_error());
    return rc ? 1 : 0;
}
