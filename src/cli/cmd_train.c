// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// cmd_train.c: slimvsr train: parse the options into sv_train_opts and run (train/trainer.h).
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "train/trainer.h"

static const char *usage =
    "usage: slimvsr train --data DIR [--data DIR2 ...] --out RUN_DIR [options]\n"
    "       slimvsr train --out RUN_DIR --resume [--iters N]\n"
    "  Trains BasicVSR x4 on clips (folders of image frames in Vimeo-90K/REDS layouts, or videos; LR made\n"
    "  on the fly from GT, or read from a sibling LR/ BIx4/ BDx4/ folder beside GT/).\n"
    "  --val DIR             validation clips: DIR/GT and DIR/BIx4 (or BDx4, LR); PSNR/SSIM every --val-every\n"
    "  --init MODEL          start from a model (.pth, .safetensors, or ssl/dense: shipped); else a random one of:\n"
    "  --feat N --blocks N   width and residual blocks per branch (default 64 x 30)\n"
    "  --act relu|leaky      activation of a random model (default leaky: LeakyReLU 0.1, as BasicSR)\n"
    "  --flow spynet|zero    the flow that aligns the hidden states (default: the --init model's, else spynet);\n"
    "                        zero: no alignment, SPyNet never runs (its weights stay in the model, unused)\n"
    "  --direction bi|uni    propagation of a random model (default bi: BasicVSR's two branches); uni: the\n"
    "                        forward branch alone (BasicVSR-uni: no look-ahead, each frame's output from it\n"
    "                        and the frames before it; fusion reads F_i alone); with --init: the model's own\n"
    "  --iters N             iterations (default 1000)\n"
    "  --lr X                Adam learning rate (default 2e-4), cosine annealing to --lr-min (1e-7)\n"
    "  --lr-hold N           keep --lr for the first N iterations, then the cosine over the rest (default 0;\n"
    "                        prune's schedule: --lr-hold SPARSITY_ITERS --iters SPARSITY_ITERS+FINETUNE_ITERS)\n"
    "  --photos DIR          also train on synthetic motion: sequences rendered from these photos (.jpg .png,\n"
    "                        sub-folders too), a background under a smooth camera motion and textured shapes\n"
    "                        moving over it (up to 8 LR pixels a frame), degraded like the clips\n"
    "  --photo-share X       the share of samples that are synthetic (default 0.25)\n"
    "  --batch B --seq T --patch P   clips per step (4), frames per clip (7), LR patch side (64)\n"
    "  --degradation bi|bd   LR made from GT: MATLAB bicubic x4 (bi, default) or Gaussian 1.6 (bd)\n"
    "  --clip-weight windows|sqrt|equal   how samples pick clips: every window alike (default: a long clip\n"
    "                        weighs by its length), clips by the square root of their windows, or every clip\n"
    "                        alike (then a window of the clip uniformly)\n"
    "  --spynet MODEL        start with MODEL's SPyNet weights (e.g. a `train-flow` run's model.safetensors)\n"
    "                        in the --init or random model; the rest of the model is unchanged\n"
    "  --spynet-freeze N     keep SPyNet fixed for the first N iterations (default 0)\n"
    "  --spynet-lr-mult X    then train it at lr * X (default 0.125); neither has an effect with zero flow\n"
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
    "  --resume              continue the run in RUN_DIR from its last checkpoint, with its saved options\n"
    "                        and its model's flow; --iters N then sets a new total (the cosine schedule\n"
    "                        follows it)\n"
    "  --dry-run             print the model, the plan and the memory per --recompute setting; train nothing\n"
    "  -q                    quiet\n"
    "  RUN_DIR gets state.safetensors (everything to resume), model.safetensors (latest weights),\n"
    "  best.safetensors (best validation PSNR) and log.jsonl. Ctrl-C stops after the current iteration\n"
    "  and writes a checkpoint (a second Ctrl-C stops at once, keeping the last checkpoint).\n";

// The training options `train` and `prune` share: those of every run, and validation, SPyNet's schedule and
// --recompute. Returns 1 when a is one (then *takes: it used v), 0 when it is not, -1 (after a message) on a
// bad value.
int cli_train_option(const char *cmd, sv_train_opts *o, const char *a, const char *v, int *takes) {
    const int c = cli_run_common_option(cmd, &o->run, a, v, takes);
    if (c) return c;
    *takes = 1;
    if (!strcmp(a, "--val")) {
        if (!(o->val = v)) {
            fprintf(stderr, "slimvsr %s: %s needs a value\n", cmd, a);
            return -1;
        }
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
    } else if (!strcmp(a, "--photos")) {
        if (!(o->run.photos = v)) {
            fprintf(stderr, "slimvsr %s: %s needs a value\n", cmd, a);
            return -1;
        }
    } else if (!strcmp(a, "--photo-share")) {
        if (cli_parse_double(cmd, a, v, 0, 1, &o->run.photo_share)) return -1;
    } else if (!strcmp(a, "--recompute")) {
        if ((o->recompute = cli_parse_int(a, v, 0, INT_MAX)) < 0) return -1;
    } else {
        return 0;
    }
    return 1;
}

// train's own options beside cli_train_option: the model's (--init, --feat...), --ema, --dry-run.
static int train_own_option(void *ud, const char *a, const char *v, int *takes, int *keep) {
    sv_train_opts *o = ud;
    int c = cli_train_option("train", o, a, v, takes);
    if (!c) c = cli_model_option("train", &o->run, a, v, takes);
    if (c) return c;
    if (!strcmp(a, "--ema")) {
        *takes = 1;
        return cli_parse_double("train", a, v, 0, 0.999999, &o->ema) ? -1 : 1;
    }
    if (!strcmp(a, "--flow")) {
        *takes = 1;
        return (o->run.flow = cli_parse_flow("train", v)) < 0 ? -1 : 1;
    }
    if (!strcmp(a, "--direction")) {
        *takes = 1;
        return (o->run.direction = cli_parse_direction("train", v)) < 0 ? -1 : 1;
    }
    if (!strcmp(a, "--spynet")) {
        *takes = 1;
        if (!(o->run.spynet = v)) fprintf(stderr, "slimvsr train: --spynet needs a value\n");
        return v ? 1 : -1;
    }
    if (!strcmp(a, "--dry-run")) {
        o->run.dry_run = 1;
        *takes = 0;
        *keep = 1;
        return 1;
    }
    return 0;
}

int cmd_train(int argc, char **argv) {
    sv_train_opts o;
    sv_train_opts_default(&o);
    cli_run_args c = {.cmd = "train", .usage = usage, .run = &o.run, .has_iters = 1};
    int r = cli_parse_run_args(&c, argc, argv, train_own_option, &o);
    if (r) return r == 1 ? 0 : r;
    if ((r = cli_run_args_finish(&c))) return r;
    sv_err e;
    if (o.run.init && !(o.run.init = cli_model_path(o.run.init, &e))) {
        fprintf(stderr, "slimvsr: %s\n", e.msg);
        return 1;
    }
    if (sv_train(&o, NULL, &e)) {
        fprintf(stderr, "slimvsr: %s\n", e.msg);
        return 1;
    }
    return 0;
}
