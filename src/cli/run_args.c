// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// run_args.c: what the command lines of the training commands (train, train-flow, prune) share: the
// options of every run (sv_run_opts, train/run_opts.h), the argument loop with its --resume rules, and the
// run's messages and stop flag.
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "io/frames.h"
#include "train/dataset.h"
#include "train/degrade.h"

static int missing(const char *cmd, const char *opt) {
    fprintf(stderr, "slimvsr %s: %s needs a value\n", cmd, opt);
    return -1;
}

int cli_run_common_option(const char *cmd, sv_run_opts *o, const char *a, const char *v, int *takes) {
    long l;
    *takes = 1;
    if (!strcmp(a, "--data")) {
        if (!v) return missing(cmd, a);
        if (o->ndata == SV_TRAIN_MAX_DATA) {
            fprintf(stderr, "slimvsr %s: at most %d --data sources\n", cmd, SV_TRAIN_MAX_DATA);
            return -1;
        }
        o->data[o->ndata++] = v;
    } else if (!strcmp(a, "--lr")) {
        if (cli_parse_double(cmd, a, v, 0, 1, &o->lr)) return -1;
    } else if (!strcmp(a, "--lr-min")) {
        if (cli_parse_double(cmd, a, v, 0, 1, &o->lr_min)) return -1;
    } else if (!strcmp(a, "--lr-hold")) {
        if (cli_parse_long(cmd, a, v, 0, &o->lr_hold)) return -1;
    } else if (!strcmp(a, "--batch")) {
        if ((o->batch = cli_parse_int(a, v, 1, INT_MAX)) < 0) return -1;
    } else if (!strcmp(a, "--seq")) {
        if ((o->seq = cli_parse_int(a, v, 2, INT_MAX)) < 0) return -1;
    } else if (!strcmp(a, "--patch")) {
        if ((o->patch = cli_parse_int(a, v, 8, SV_FRAME_MAX_SIDE / SV_SCALE)) < 0) return -1;
    } else if (!strcmp(a, "--degradation")) {
        if (!v || (strcmp(v, "bi") && strcmp(v, "bd"))) {
            fprintf(stderr, "slimvsr %s: --degradation must be bi or bd\n", cmd);
            return -1;
        }
        o->degradation = !strcmp(v, "bd") ? SV_DEG_BD : SV_DEG_BI;
    } else if (!strcmp(a, "--clip-weight")) {
        if ((o->clip_weight = sv_clip_weight_parse(v)) < 0) {
            fprintf(stderr, "slimvsr %s: --clip-weight must be windows, sqrt or equal\n", cmd);
            return -1;
        }
    } else if (!strcmp(a, "--log-every")) {
        if (cli_parse_long(cmd, a, v, 1, &o->log_every)) return -1;
    } else if (!strcmp(a, "--seed")) {
        if (cli_parse_long(cmd, a, v, 0, &l)) return -1;
        o->seed = (uint64_t)l;
    } else {
        return 0;
    }
    return 1;
}

int cli_model_option(const char *cmd, sv_run_opts *o, const char *a, const char *v, int *takes) {
    *takes = 1;
    if (!strcmp(a, "--init")) {
        if (!(o->init = v)) return missing(cmd, a);
    } else if (!strcmp(a, "--feat")) {
        if ((o->feat = cli_parse_int(a, v, 1, INT_MAX)) < 0) return -1;
    } else if (!strcmp(a, "--blocks")) {
        if ((o->blocks = cli_parse_int(a, v, 1, INT_MAX)) < 0) return -1;
    } else if (!strcmp(a, "--act")) {
        const float s = cli_parse_act(v);
        if (s < -1) return -1;
        o->act_slope = s;
    } else {
        return 0;
    }
    return 1;
}

// The options of the run itself, which a --resume may be given: --out, --iters (when the command has it),
// --threads, --resume, -q. Returns 1 when a is one, 0 when not, -1 (after a message) on a bad value.
static int run_option(cli_run_args *c, const char *a, const char *v, int *takes) {
    sv_run_opts *o = c->run;
    long l;
    *takes = 1;
    if (!strcmp(a, "--out")) {
        if (!(o->out = v)) return missing(c->cmd, a);
    } else if (c->has_iters && !strcmp(a, "--iters")) {
        if (cli_parse_long(c->cmd, a, v, 1, &l)) return -1;
        o->iters = l;
        c->iters_given = 1;
    } else {
        return cli_run_option(c->cmd, a, v, &c->threads, &o->resume, &o->quiet, takes);
    }
    return 1;
}

int cli_parse_run_args(cli_run_args *c, int argc, char **argv, cli_own_option own, void *ud) {
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int takes = 0, keep = 0, r;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            fputs(c->usage, stdout);
            return 1;
        }
        if ((r = run_option(c, a, v, &takes)) != 0) {
            keep = 1;
        } else if ((r = own(ud, a, v, &takes, &keep)) == 0) {
            fprintf(stderr, "slimvsr %s: unknown option '%s' (see slimvsr %s --help)\n", c->cmd, a, c->cmd);
            return 2;
        }
        if (r < 0) return 2;
        if (!keep) c->n_other++, c->other = a;
        i += takes;
    }
    return 0;
}

static void print_message(void *ud, sv_msg_kind kind, const char *line) {
    FILE *f = kind == SV_MSG_OUTPUT ? stdout : stderr;
    fputs(line, f);
    fputc('\n', f);
}

int cli_run_args_finish(cli_run_args *c) {
    sv_run_opts *o = c->run;
    if (!o->out) {
        fprintf(stderr, "slimvsr %s: --out RUN_DIR is required (see slimvsr %s --help)\n", c->cmd, c->cmd);
        return 2;
    }
    if (o->resume && c->n_other) {
        fprintf(stderr, "slimvsr %s: --resume continues the run with its saved options; %s cannot be changed "
                        "(only %s--threads, -q)\n", c->cmd, c->other, c->has_iters ? "--iters, " : "");
        return 2;
    }
    if (o->resume && !c->iters_given) o->iters = 0;  // keep the run's own
    cli_set_threads(c->threads);
    o->msg = print_message;
    o->stop = cli_stop_on_signal();
    return 0;
}
