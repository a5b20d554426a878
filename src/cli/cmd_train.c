// cmd_train.c: slimvsr train: parse the options into sv_train_opts and run (train/trainer.h).
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "io/frames.h"
#include "train/dataset.h"
#include "train/degrade.h"
#include "train/trainer.h"

static const char *usage =
    "usage: slimvsr train --data DIR [--data DIR2 ...] --out RUN_DIR [options]\n"
    "       slimvsr train --out RUN_DIR --resume [--iters N]\n"
    "  Trains BasicVSR x4 on clips (folders of PNG frames, Vimeo-90K/REDS layouts, or video files; LR made\n"
    "  on the fly from GT, or read from a sibling LR/ BIx4/ BDx4/ folder beside GT/).\n"
    "  --val DIR             validation clips: DIR/GT and DIR/BIx4 (or BDx4, LR); PSNR/SSIM every --val-every\n"
    "  --init MODEL          start from a model (.pth, .safetensors, or ssl/dense: shipped); else a random one of:\n"
    "  --feat N --blocks N   width and residual blocks per branch (default 64 x 30)\n"
    "  --act relu|leaky      activation of a random model (default leaky: LeakyReLU 0.1, as BasicSR)\n"
    "  --iters N             iterations (default 1000)\n"
    "  --lr X                Adam learning rate (default 2e-4), cosine annealing to --lr-min (1e-7)\n"
    "  --batch B --seq T --patch P   clips per step (4), frames per clip (7), LR patch side (64)\n"
    "  --degradation bi|bd   LR made from GT: MATLAB bicubic x4 (bi, default) or Gaussian 1.6 (bd)\n"
    "  --spynet-freeze N     keep SPyNet fixed for the first N iterations (default 0)\n"
    "  --spynet-lr-mult X    then train it at lr * X (default 0.125)\n"
    "  --ema DECAY           keep an exponential moving average of the weights (e.g. 0.999); it is what\n"
    "                        model.safetensors, best.safetensors and validation use\n"
    "  --val-every N         validate and checkpoint every N iterations (default 500) and at the end\n"
    "  --val-frames N        validate on the first N frames of each clip (default all)\n"
    "  --val-rgb             PSNR/SSIM on RGB instead of Y (BT.601)\n"
    "  --log-every N         a log.jsonl line every N iterations (default 10)\n"
    "  --recompute K         keep every K-th residual block's input and recompute the others in backward:\n"
    "                        less memory, about one more trunk forward per step (default 0: keep all)\n"
    "  --seed N              data sampling and initialisation seed (default 0)\n"
    "  --threads N           threads (default: all cores)\n"
    "  --resume              continue the run in RUN_DIR from its last checkpoint, with its saved options;\n"
    "                        --iters N then sets a new total (the cosine schedule follows it)\n"
    "  --dry-run             print the model, the plan and the memory per --recompute setting; train nothing\n"
    "  -q                    quiet\n"
    "  RUN_DIR gets state.safetensors (everything to resume), model.safetensors (latest weights),\n"
    "  best.safetensors (best validation PSNR) and log.jsonl. Ctrl-C stops after the current iteration\n"
    "  and writes a checkpoint (a second Ctrl-C stops at once, keeping the last checkpoint).\n";

static int cli_missing(const char *cmd, const char *opt) {
    fprintf(stderr, "slimvsr %s: %s needs a value\n", cmd, opt);
    return -1;
}

// The training options `train` and `prune` share. Returns 1 when a is one (then *takes: it used v), 0 when
// it is not, -1 (after a message) on a bad value.
int cli_train_option(const char *cmd, sv_train_opts *o, const char *a, const char *v, int *takes) {
    long l;
    *takes = 1;
    if (!strcmp(a, "--data")) {
        if (!v) return cli_missing(cmd, a);
        if (o->ndata == SV_TRAIN_MAX_DATA) {
            fprintf(stderr, "slimvsr %s: at most %d --data sources\n", cmd, SV_TRAIN_MAX_DATA);
            return -1;
        }
        o->data[o->ndata++] = v;
    } else if (!strcmp(a, "--val")) {
        if (!(o->val = v)) return cli_missing(cmd, a);
    } else if (!strcmp(a, "--lr")) {
        if (cli_parse_double(cmd, a, v, 0, 1, &o->lr)) return -1;
    } else if (!strcmp(a, "--lr-min")) {
        if (cli_parse_double(cmd, a, v, 0, 1, &o->lr_min)) return -1;
    } else if (!strcmp(a, "--batch")) {
        if ((o->batch = cli_parse_int(a, v, 1, INT_MAX)) < 0) return -1;
    } else if (!strcmp(a, "--seq")) {
        if ((o->seq = cli_parse_int(a, v, 2, INT_MAX)) < 0) return -1;
    } else if (!strcmp(a, "--patch")) {
        if ((o->patch = cli_parse_int(a, v, 8, SV_FRAME_MAX_SIDE / SV_DATA_SCALE)) < 0) return -1;
    } else if (!strcmp(a, "--degradation")) {
        if (!v || (strcmp(v, "bi") && strcmp(v, "bd"))) {
            fprintf(stderr, "slimvsr %s: --degradation must be bi or bd\n", cmd);
            return -1;
        }
        o->degradation = !strcmp(v, "bd") ? SV_DEG_BD : SV_DEG_BI;
    } else if (!strcmp(a, "--spynet-freeze")) {
        if (cli_parse_long(cmd, a, v, 0, &o->spynet_freeze)) return -1;
    } else if (!strcmp(a, "--spynet-lr-mult")) {
        if (cli_parse_double(cmd, a, v, 0, 100, &o->spynet_lr_mult)) return -1;
    } else if (!strcmp(a, "--val-every")) {
        if (cli_parse_long(cmd, a, v, 1, &o->val_every)) return -1;
    } else if (!strcmp(a, "--val-frames")) {
        if ((o->val_frames = cli_parse_int(a, v, 0, INT_MAX)) < 0) return -1;
    } else if (!strcmp(a, "--val-rgb")) {
        o->val_y = 0;
        *takes = 0;
    } else if (!strcmp(a, "--log-every")) {
        if (cli_parse_long(cmd, a, v, 1, &o->log_every)) return -1;
    } else if (!strcmp(a, "--recompute")) {
        if ((o->recompute = cli_parse_int(a, v, 0, INT_MAX)) < 0) return -1;
    } else if (!strcmp(a, "--seed")) {
        if (cli_parse_long(cmd, a, v, 0, &l)) return -1;
        o->seed = (uint64_t)l;
    } else {
        return 0;
    }
    return 1;
}

int cmd_train(int argc, char **argv) {
    sv_train_opts o;
    sv_train_opts_default(&o);
    int threads = 0, n_other = 0, iters_given = 0;  // n_other: options that a --resume must not be given
    const char *other = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        long l;
        int r, takes = 1, is_other = 1, c = cli_train_option("train", &o, a, v, &takes);
        if (c < 0) return 2;
        if (c > 0) {
        } else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            fputs(usage, stdout);
            return 0;
        } else if (!strcmp(a, "--out")) {
            if (!(o.out = v)) goto missing;
            is_other = 0;
        } else if (!strcmp(a, "--init")) {
            if (!(o.init = v)) goto missing;
        } else if (!strcmp(a, "--feat")) {
            if ((o.feat = cli_parse_int(a, v, 1, INT_MAX)) < 0) return 2;
        } else if (!strcmp(a, "--blocks")) {
            if ((o.blocks = cli_parse_int(a, v, 1, INT_MAX)) < 0) return 2;
        } else if (!strcmp(a, "--act")) {
            float s = cli_parse_act(v);
            if (s < -1) return 2;
            o.act_slope = s;
        } else if (!strcmp(a, "--iters")) {
            if (cli_parse_long("train", a, v, 1, &l)) return 2;
            o.iters = l;
            iters_given = 1;
            is_other = 0;
        } else if (!strcmp(a, "--ema")) {
            if (cli_parse_double("train", a, v, 0, 0.999999, &o.ema)) return 2;
        } else if ((r = cli_run_option("train", a, v, &threads, &o.resume, &o.quiet, &takes)) != 0) {
            if (r < 0) return 2;
            is_other = 0;
        } else if (!strcmp(a, "--dry-run")) {
            o.dry_run = 1;
            takes = 0;
            is_other = 0;
        } else {
            fprintf(stderr, "slimvsr train: unknown option '%s' (see slimvsr train --help)\n", a);
            return 2;
        }
        if (is_other) n_other++, other = a;
        i += takes;
        continue;
    missing:
        fprintf(stderr, "slimvsr train: %s needs a value\n", a);
        return 2;
    }
    if (!o.out) {
        fprintf(stderr, "slimvsr train: --out RUN_DIR is required (see slimvsr train --help)\n");
        return 2;
    }
    if (o.resume && !iters_given) o.iters = 0;  // keep the run's own
    if (o.resume && n_other) {
        fprintf(stderr, "slimvsr train: --resume continues the run with its saved options; %s cannot be changed "
                        "(only --iters, --threads, -q)\n", other);
        return 2;
    }
    cli_set_threads(threads);
    sv_err e;
    if (o.init && !(o.init = cli_model_path(o.init, &e))) {
        fprintf(stderr, "slimvsr: %s\n", e.msg);
        return 1;
    }
    if (sv_train(&o, NULL, &e)) {
        fprintf(stderr, "slimvsr: %s\n", e.msg);
        return 1;
    }
    return 0;
}
