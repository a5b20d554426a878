// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// cmd_prune.c: slimvsr prune: parse the options into sv_prune_opts and run (prune/prune.h).
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "prune/prune.h"

static const char *usage =
    "usage: slimvsr prune -m DENSE_MODEL --data DIR [--data DIR2 ...] --out RUN_DIR [options]\n"
    "       slimvsr prune --out RUN_DIR --resume\n"
    "  Makes a physically smaller BasicVSR from a trained one (Structured Sparsity Learning, Xia et al. 2023).\n"
    "  A forward-only model (train --direction uni) is pruned the same way and stays forward-only (SSL-uni).\n"
    "  --scheme ssl|l1-aligned|l1-keep-last\n"
    "        ssl (default): choose the units to prune, sparsity learning (a growing L2 penalty drives their\n"
    "          scaling factors to 0 while the network trains), fold and cut them out (residual blocks keep\n"
    "          the full hidden state: Residual Sparsity Connection; pixel-shuffle groups of 4 removed whole),\n"
    "          then temporal finetuning against the dense model's hidden states\n"
    "        l1-aligned: conventional residual pruning, the same hidden channels cut from the skip path and\n"
    "          every block; l1-keep-last: every block's last conv left whole. Both: L1 choice, cut, then the\n"
    "          same schedule and budget as ssl: --sparsity-iters at constant --lr (hold/), then finetuning\n"
    "  --ratio R             fraction of the prunable units to prune, in (0,1) (default 0.5)\n"
    "  --flops F             instead: keep about this fraction of the FLOPs without SPyNet (ratio searched)\n"
    "  --params F            or: keep about this fraction of the parameters without SPyNet (ratio searched):\n"
    "                        with --recon-ratio, schemes compared at equal trunk size\n"
    "  --recon-ratio R       prune R of each reconstruction layer (fusion, upconvs, conv_hr; 0: none) by L1,\n"
    "                        the same in every scheme, and choose only the trunks' units by the target\n"
    "                        (default: the reconstruction's units compete with the trunks')\n"
    "  --select global|layer one threshold over all prunable units (default), or the ratio in every layer\n"
    "  --criterion l1|scale  choose by the L1 norm of filters (default), or by |scale| after a probe of the\n"
    "                        first fifth of sparsity learning with a uniform penalty (ssl only)\n"
    "  --round N             keep a multiple of N channels per layer (1, 8, 16: what SIMD kernels like)\n"
    "  --sparsity-iters N    sparsity-learning iterations (default 1000; lambda += 1e-4 every 5, up to 0.1)\n"
    "  --finetune-iters N    finetuning iterations (default 1000)\n"
    "  --tf-weight W         weight of the temporal-finetuning loss, any scheme (default 0.01 for ssl, 0 for\n"
    "                        the baselines; 0: plain finetuning)\n"
    "  --lambda-step X --lambda-every N --lambda-max X   the penalty schedule (default 1e-4, 5, 0.1: the\n"
    "                        paper's, made for about 19k iterations)\n"
    "  --scale-lr-mult X     the scales learn at lr * X (default 1). Adam moves a scale by about lr per step,\n"
    "                        so a run of a few hundred iterations needs a larger X (and --lambda-step) for\n"
    "                        the chosen scales to collapse; watch scale_chosen in sparsity/log.jsonl\n"
    "  --val DIR, --val-every N, --val-frames N, --val-rgb   validation, as slimvsr train\n"
    "  --lr X --lr-min X --batch B --seq T --patch P --degradation bi|bd --spynet-freeze N --spynet-lr-mult X\n"
    "  --clip-weight windows|sqrt|equal\n"
    "  --log-every N --recompute K --seed N --photos DIR --photo-share X   training options of every phase,\n"
    "                        as slimvsr train\n"
    "                        (default --log-every 1: the scale norms of every iteration); finetuning draws\n"
    "                        its samples from a stream of its own, not the first phase's again\n"
    "  --threads N, -q       threads (default all cores), quiet\n"
    "  --resume              continue a stopped run (Ctrl-C, a kill) where its last checkpoint left it\n"
    "  RUN_DIR gets prune.json, sparsity/ (ssl) or hold/ (baselines) and finetune/ (training run folders with\n"
    "  log.jsonl), pruned-init.safetensors (cut, before finetuning; the baselines' before hold/), and at the end model.safetensors (the pruned model:\n"
    "  see slimvsr info) and summary.json (parameters and FLOPs before and after, validation).\n";

// prune's own options beside cli_train_option's.
static int prune_own_option(void *ud, const char *a, const char *v, int *takes, int *keep) {
    sv_prune_opts *o = ud;
    const int c = cli_train_option("prune", &o->train, a, v, takes);
    if (c) return c;
    *takes = 1;
    if (!strcmp(a, "-m") || !strcmp(a, "--model")) {
        if (!(o->model = v)) {
            fprintf(stderr, "slimvsr prune: %s needs a value\n", a);
            return -1;
        }
    } else if (!strcmp(a, "--scheme")) {
        if (sv_prune_scheme_parse(v, &o->scheme)) {
            fprintf(stderr, "slimvsr prune: --scheme must be ssl, l1-aligned or l1-keep-last\n");
            return -1;
        }
    } else if (!strcmp(a, "--ratio") || !strcmp(a, "--flops") || !strcmp(a, "--params")) {
        const int ratio = !strcmp(a, "--ratio"), flops = !strcmp(a, "--flops");
        double *x = ratio ? &o->ratio : flops ? &o->flops : &o->params;
        if (cli_parse_double("prune", a, v, 0, 1, x)) return -1;
        if (*x <= 0 || *x >= 1) {
            fprintf(stderr, "slimvsr prune: %s %s: the fraction of %s must be in (0, 1)\n", a, v,
                    ratio ? "units to prune" : flops ? "FLOPs to keep" : "parameters to keep");
            return -1;
        }
    } else if (!strcmp(a, "--recon-ratio")) {
        if (cli_parse_double("prune", a, v, 0, 1, &o->recon_ratio)) return -1;
        if (o->recon_ratio >= 1) {
            fprintf(stderr, "slimvsr prune: --recon-ratio %s: must be in [0, 1)\n", v);
            return -1;
        }
    } else if (!strcmp(a, "--select") || !strcmp(a, "--criterion")) {
        const int sel = !strcmp(a, "--select");
        const char *yes = sel ? "global" : "scale", *no = sel ? "layer" : "l1";
        if (!v || (strcmp(v, yes) && strcmp(v, no))) {
            fprintf(stderr, "slimvsr prune: %s must be %s or %s\n", a, sel ? yes : no, sel ? no : yes);
            return -1;
        }
        *(sel ? &o->global : &o->criterion_scale) = !strcmp(v, yes);
    } else if (!strcmp(a, "--round")) {
        if ((o->round = cli_parse_int("--round", v, 1, 64)) < 0) return -1;
    } else if (!strcmp(a, "--sparsity-iters")) {
        if (cli_parse_long("prune", a, v, 0, &o->sparsity_iters)) return -1;
    } else if (!strcmp(a, "--finetune-iters")) {
        if (cli_parse_long("prune", a, v, 0, &o->finetune_iters)) return -1;
    } else if (!strcmp(a, "--tf-weight")) {
        if (cli_parse_double("prune", a, v, 0, 1e6, &o->tf_weight)) return -1;
    } else if (!strcmp(a, "--lambda-step")) {
        if (cli_parse_double("prune", a, v, 0, 10, &o->lambda_step)) return -1;
    } else if (!strcmp(a, "--lambda-max")) {
        if (cli_parse_double("prune", a, v, 0, 1e3, &o->lambda_max)) return -1;
    } else if (!strcmp(a, "--lambda-every")) {
        if ((o->lambda_every = cli_parse_int("--lambda-every", v, 1, 1000000)) < 0) return -1;
    } else if (!strcmp(a, "--scale-lr-mult")) {
        if (cli_parse_double("prune", a, v, 1e-6, 1e6, &o->scale_lr_mult)) return -1;
    } else {
        return 0;
    }
    return 1;
}

int cmd_prune(int argc, char **argv) {
    sv_prune_opts o;
    sv_prune_opts_default(&o);
    cli_run_args c = {.cmd = "prune", .usage = usage, .run = &o.train.run};
    int r = cli_parse_run_args(&c, argc, argv, prune_own_option, &o);
    if (r) return r == 1 ? 0 : r;
    if ((r = cli_run_args_finish(&c))) return r;
    sv_err e;
    if (o.model && !(o.model = cli_model_path(o.model, &e))) {
        fprintf(stderr, "slimvsr: %s\n", e.msg);
        return 1;
    }
    if (sv_prune(&o, &e)) {
        fprintf(stderr, "slimvsr: %s\n", e.msg);
        return 1;
    }
    return 0;
}
