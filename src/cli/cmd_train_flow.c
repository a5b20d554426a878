// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// cmd_train_flow.c: slimvsr train-flow: SPyNet pretraining, unsupervised (train/flow_train.h) or supervised
// on synthetic motion (--supervised, train/flow_supervised.h), and --eval: the photometric error of a
// model's flow against the zero flow on whole frames, and with --photos its end-point error on held-out
// synthetic pairs.
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "model/basicvsr.h"
#include "train/flow_supervised.h"
#include "train/flow_train.h"
#include "train/model_init.h"

static const char *usage =
    "usage: slimvsr train-flow --data DIR [--data DIR2 ...] --out RUN_DIR [options]\n"
    "       slimvsr train-flow --out RUN_DIR --resume [--iters N]\n"
    "       slimvsr train-flow --supervised --photos DIR --out RUN_DIR [options]\n"
    "       slimvsr train-flow --eval [-m MODEL] [--data DIR ...] [--max-frames N] [--photos DIR] [--json]\n"
    "  Pretrains BasicVSR's SPyNet without ground-truth flow: for both orderings of every pair of neighbouring\n"
    "  LR frames (made from the clips as `slimvsr train` makes them), f = SPyNet(ref, supp) should warp supp\n"
    "  onto ref. Loss: mean Charbonnier(ref - warp(supp, f)) (border padding), summed over a pyramid of\n"
    "  --scales 2x2-pooled images and flows, + S * mean Charbonnier of f's first differences. Only SPyNet\n"
    "  learns; the rest of the model stays as initialised, so that\n"
    "  `slimvsr train --init RUN_DIR/model.safetensors` (same --feat/--blocks/--seed) starts from the same\n"
    "  model as a run from scratch, except for a trained flow.\n"
    "  --init MODEL          train this model's SPyNet further; else a random model of:\n"
    "  --feat N --blocks N   width and residual blocks per branch (default 64 x 30)\n"
    "  --act relu|leaky      activation of a random model (default leaky)\n"
    "  --seed N              data sampling and the random model (default 0, as slimvsr train)\n"
    "  --iters N             iterations (default 1000)\n"
    "  --lr X                Adam learning rate (default 3e-3; --supervised 1e-3), cosine annealing to\n"
    "                        --lr-min (1e-6); --lr-hold N keeps --lr for N iterations first (default 0)\n"
    "  --warmup N            linear learning-rate warm-up over the first N iterations (default 20)\n"
    "  --batch B --seq T     clips per step (8) and frames per clip (2): 2*B*(T-1) pairs per step\n"
    "  --patch P             LR patch side (default 64; SPyNet works on multiples of 32, bigger sees more)\n"
    "  --degradation bi|bd   LR made from GT: MATLAB bicubic x4 (bi, default) or Gaussian 1.6 (bd)\n"
    "  --clip-weight windows|sqrt|equal   how samples pick clips: every window alike (default: a long clip\n"
    "                        weighs by its length), clips by the square root of their windows, or every clip\n"
    "                        alike (then a window of the clip uniformly)\n"
    "  --smooth S            weight of the smoothness term (default 0.01)\n"
    "  --scales N            scales of the photometric term (default 4: 1, 1/2, 1/4, 1/8): coarse scales see\n"
    "                        motions of several pixels that bilinear warping at full resolution cannot\n"
    "  --zero-head           zero the last conv of every SPyNet level before training, so that the flow starts\n"
    "                        at exactly zero (default for a random model without --supervised: a random\n"
    "                        SPyNet's flows are off by pixels, beyond the reach of the photometric gradient);\n"
    "                        --no-zero-head keeps it.\n"
    "                        The rest of the model is untouched either way.\n"
    "  --group N             pairs per batched SPyNet call (default 16, at most 64)\n"
    "  --supervised          train on synthetic motion with exact flow instead: every iteration renders B\n"
    "                        sequences of T frames of P x P from the photos (foreground layers moving over a\n"
    "                        moving background, docs/synthetic-motion.md); loss: the end-point error of the\n"
    "                        flow against the true flow, averaged over valid (visible, unoccluded) pixels.\n"
    "                        no --data; --scales and --smooth do not apply. At every checkpoint log.jsonl\n"
    "                        gets heldout_epe: pairs drawn from every 8th photo, which training never sees\n"
    "  --level-weight W      supervised: + W x the end-point error of each coarser SPyNet level's flow against\n"
    "                        the pooled true flow, in that level's pixels (default 1; 0: the final flow only)\n"
    "  --static-share X      supervised: the share of layers (camera or object) that do not move at all\n"
    "                        (default 0). From scratch, still layers pulled every flow to zero; use them in a\n"
    "                        second run from the first one's model (--init), docs/flow-pretraining.md\n"
    "  --photos DIR          the photos (.jpg .jpeg .png, sub-folders too), read once and shrunk to a longer\n"
    "                        side of at most 4 P\n"
    "  --eval-pairs N        held-out synthetic pairs (from a seed derived from --seed, never trained on) for\n"
    "                        the EPE at checkpoints and in --eval (default 64, even)\n"
    "  --log-every N         a log.jsonl line every N iterations (default 10)\n"
    "  --checkpoint-every N  write model.safetensors and state.safetensors every N iterations (default 200)\n"
    "  --threads N           threads (default: all cores)\n"
    "  --resume              continue the run in RUN_DIR from its last checkpoint, with its saved options;\n"
    "                        --iters N then sets a new total (the cosine schedule follows it)\n"
    "  -q                    quiet\n"
    "  RUN_DIR gets model.safetensors (a whole BasicVSR), state.safetensors (to resume) and log.jsonl (iter,\n"
    "  loss, photo, smooth, photo_zero: the zero flow's photometric error on the same pairs, lr, seconds).\n"
    "  Ctrl-C stops after the current iteration and writes a checkpoint (a second Ctrl-C stops at once,\n"
    "  keeping the last checkpoint).\n"
    "  --eval: mean photometric error over every ordered neighbour pair of whole frames of the clips (a\n"
    "  folder of image frames or a video, or a folder of such clips), for the zero flow, the best single\n"
    "  translation per pair and MODEL's SPyNet (without -m, for the random model that --feat/--blocks/--act/\n"
    "  --seed give: what training starts from). Give it LR frames.\n"
    "  With --photos: also the mean end-point error (px) of the flow and of the zero flow on --eval-pairs\n"
    "  held-out synthetic pairs of --patch x --patch from every 8th photo (the pairs a supervised run with the\n"
    "  same --seed and --patch reports as heldout_epe). --data or --photos, or both.\n";

// --eval's options beside the run's.
typedef struct {
    sv_flowtrain_opts o;
    const char *model;
    int eval, json, max_frames;
} flow_args;

static int run_eval(const flow_args *f) {
    const sv_run_opts *o = &f->o.run;
    if (o->ndata < 1 && !f->o.photos) {
        fprintf(stderr, "slimvsr train-flow: --eval needs --data DIR or --photos DIR\n");
        return 2;
    }
    sv_model m;
    sv_err e;
    char random_name[128];
    const char *model = f->model;
    if (!model) {  // the untrained SPyNet that a run from scratch with these options starts from
        snprintf(random_name, sizeof random_name, "random(feat %d, blocks %d, seed %llu)", o->feat, o->blocks,
                 (unsigned long long)o->seed);
        model = random_name;
    }
    if (model == random_name ? sv_model_init_random(&m, o->feat, o->blocks, o->act_slope, SV_DIR_BI, o->seed, &e)
                             : sv_model_load(&m, model, -1, &e)) {
        fprintf(stderr, "slimvsr: %s\n", e.msg);
        return 1;
    }
    sv_flow_eval_result r = {0};
    sv_flow_synth_eval_result sr = {0};
    sv_photo_set ps = {0}, held = {0};
    int rc = o->ndata > 0 ? sv_flow_eval(&m, o->data, o->ndata, f->max_frames, &r, &e) : 0;
    if (!rc && f->o.photos) {
        if (f->o.eval_pairs < 2 || f->o.eval_pairs % 2) rc = sv_errf(&e, "--eval-pairs %d: an even number >= 2",
                                                                     f->o.eval_pairs);
        if (!rc) rc = sv_photos_load(&ps, f->o.photos, SV_PHOTO_SIDE_PER_PATCH * o->patch, &e);
        if (!rc) rc = sv_photos_split(&ps, &held, &e) < 0 ? -1 : 0;
        if (!rc) rc = sv_flow_eval_synth(&m, &held, f->o.eval_pairs, o->patch, sv_flow_synth_heldout_seed(o->seed), &sr,
                                         &e);
        sv_photos_free(&held);
        sv_photos_free(&ps);
    }
    sv_model_free(&m);
    if (rc) {
        fprintf(stderr, "slimvsr: %s\n", e.msg);
        return 1;
    }
    if (f->json) {
        printf("{\"model\": \"%s\"", model);
        if (o->ndata > 0)
            printf(", \"clips\": %d, \"pairs\": %ld, \"photo_zero\": %.6f, \"photo_model\": %.6f, "
                   "\"photo_translation\": %.6f, \"smooth_model\": %.6f, \"flow_mag\": %.4f", r.clips, r.pairs,
                   r.photo_zero, r.photo_model, r.photo_translation, r.smooth_model, r.flow_mag);
        if (f->o.photos)
            printf(", \"synth_pairs\": %ld, \"synth_patch\": %d, \"epe\": %.5f, \"epe_zero\": %.5f, "
                   "\"synth_flow_mag\": %.4f", sr.pairs, o->patch, sr.epe, sr.epe_zero, sr.flow_mag);
        printf("}\n");
        return 0;
    }
    if (o->ndata > 0) {
        const double gain = r.photo_zero - r.photo_translation;  // what one translation per pair removes
        printf("%d clips, %ld ordered pairs: photometric error %.6f with the zero flow, %.6f with %s (%+.1f%%), "
               "%.6f with the best single translation per pair (%+.1f%%); ", r.clips, r.pairs, r.photo_zero,
               r.photo_model, model, 100.0 * (r.photo_model / r.photo_zero - 1.0), r.photo_translation,
               100.0 * (r.photo_translation / r.photo_zero - 1.0));
        if (gain > 0)
            printf("the flow removes %.0f%% of what the translation removes; ", 100.0 * (r.photo_zero - r.photo_model) / gain);
        printf("flow smoothness term %.4f, mean |flow| %.3f px\n", r.smooth_model, r.flow_mag);
    }
    if (f->o.photos)
        printf("%ld held-out synthetic pairs of %d x %d: end-point error %.4f px with %s, %.4f px with the zero flow; "
               "mean |flow| %.3f px\n", sr.pairs, o->patch, o->patch, sr.epe, model, sr.epe_zero, sr.flow_mag);
    return 0;
}

// train-flow's own options beside the run's and the model's.
static int flow_own_option(void *ud, const char *a, const char *v, int *takes, int *keep) {
    flow_args *f = ud;
    sv_flowtrain_opts *o = &f->o;
    long l;
    int c = cli_run_common_option("train-flow", &o->run, a, v, takes);
    if (!c) c = cli_model_option("train-flow", &o->run, a, v, takes);
    if (c) return c;
    *takes = 1;
    if (!strcmp(a, "-m") || !strcmp(a, "--model")) {
        if (!(f->model = v)) {
            fprintf(stderr, "slimvsr train-flow: %s needs a value\n", a);
            return -1;
        }
    } else if (!strcmp(a, "--eval") || !strcmp(a, "--json")) {
        *(!strcmp(a, "--eval") ? &f->eval : &f->json) = 1;
        *takes = 0;
    } else if (!strcmp(a, "--max-frames")) {
        if ((f->max_frames = cli_parse_int(a, v, 0, INT_MAX)) < 0) return -1;
    } else if (!strcmp(a, "--smooth")) {
        if (cli_parse_double("train-flow", a, v, 0, 1000, &o->smooth)) return -1;
    } else if (!strcmp(a, "--scales")) {
        if (cli_parse_long("train-flow", a, v, 1, &l)) return -1;
        o->scales = (int)(l < 16 ? l : 16);
    } else if (!strcmp(a, "--warmup")) {
        if (cli_parse_long("train-flow", a, v, 0, &o->warmup)) return -1;
    } else if (!strcmp(a, "--zero-head") || !strcmp(a, "--no-zero-head")) {
        o->zero_head = !strcmp(a, "--zero-head");
        *takes = 0;
    } else if (!strcmp(a, "--group")) {
        if ((o->group = cli_parse_int(a, v, 1, 64)) < 0) return -1;
    } else if (!strcmp(a, "--supervised")) {
        o->supervised = 1;
        *takes = 0;
    } else if (!strcmp(a, "--photos")) {
        if (!(o->photos = v)) {
            fprintf(stderr, "slimvsr train-flow: %s needs a value\n", a);
            return -1;
        }
    } else if (!strcmp(a, "--level-weight")) {
        if (cli_parse_double("train-flow", a, v, 0, 1000, &o->level_weight)) return -1;
    } else if (!strcmp(a, "--static-share")) {
        if (cli_parse_double("train-flow", a, v, 0, 1, &o->static_share)) return -1;
    } else if (!strcmp(a, "--eval-pairs")) {
        if ((o->eval_pairs = cli_parse_int(a, v, 2, INT_MAX)) < 0) return -1;
    } else if (!strcmp(a, "--checkpoint-every")) {
        if (cli_parse_long("train-flow", a, v, 1, &o->ckpt_every)) return -1;
    } else {
        return 0;
    }
    return 1;
}

int cmd_train_flow(int argc, char **argv) {
    flow_args f = {0};
    sv_flowtrain_opts_default(&f.o);
    const double unsupervised_lr = f.o.run.lr;
    f.o.run.lr = NAN;  // not given: the default of the mode, below
    cli_run_args c = {.cmd = "train-flow", .usage = usage, .run = &f.o.run, .has_iters = 1};
    int r = cli_parse_run_args(&c, argc, argv, flow_own_option, &f);
    if (r) return r == 1 ? 0 : r;
    if (isnan(f.o.run.lr)) f.o.run.lr = f.o.supervised ? SV_FLOW_SUPERVISED_LR : unsupervised_lr;
    if (f.eval) {
        cli_set_threads(c.threads);
        return run_eval(&f);
    }
    if (f.model) {
        fprintf(stderr, "slimvsr train-flow: -m is for --eval; to train a model's SPyNet further use --init\n");
        return 2;
    }
    if ((r = cli_run_args_finish(&c))) return r;
    sv_err e;
    if (sv_flow_train(&f.o, NULL, &e)) {
        fprintf(stderr, "slimvsr: %s\n", e.msg);
        return 1;
    }
    return 0;
}
