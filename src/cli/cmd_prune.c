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
    "  --scheme ssl|l1-aligned|l1-keep-last\n"
    "        ssl (default): choose the units to prune, sparsity learning (a growing L2 penalty drives their\n"
    "          scaling factors to 0 while the network trains), fold and cut them out (residual blocks keep\n"
    "          the full hidden state: Residual Sparsity Connection; pixel-shuffle groups of 4 removed whole),\n"
    "          then temporal finetuning against the dense model's hidden states\n"
    "        l1-aligned: conventional residual pruning, the same hidden channels cut from the skip path and\n"
    "          every block; l1-keep-last: every block's last conv left whole. Both: L1 choice, cut, finetune\n"
    "          (no sparsity phase: they finetune for --sparsity-iters + --finetune-iters, the same budget)\n"
    "  --ratio R             fraction of the prunable units to prune, in (0,1) (default 0.5)\n"
    "  --flops F             instead: keep about this fraction of the FLOPs without SPyNet (ratio searched)\n"
    "  --select global|layer one threshold over all prunable units (default), or the ratio in every layer\n"
    "  --criterion l1|scale  choose by the L1 norm of filters (default), or by |scale| after a probe of the\n"
    "                        first fifth of sparsity learning with a uniform penalty (ssl only)\n"
    "  --round N             keep a multiple of N channels per layer (1, 8, 16: what SIMD kernels like)\n"
    "  --sparsity-iters N    sparsity-learning iterations (default 1000; lambda += 1e-4 every 5, up to 0.1)\n"
    "  --finetune-iters N    finetuning iterations (default 1000)\n"
    "  --tf-weight W         weight of the temporal-finetuning loss (ssl; default 0.01, 0: plain finetuning)\n"
    "  --lambda-step X --lambda-every N --lambda-max X   the penalty schedule (default 1e-4, 5, 0.1: the\n"
    "                        paper's, made for about 19k iterations)\n"
    "  --scale-lr-mult X     the scales learn at lr * X (default 1). Adam moves a scale by about lr per step,\n"
    "                        so a run of a few hundred iterations needs a larger X (and --lambda-step) for\n"
    "                        the chosen scales to collapse; watch scale_chosen in sparsity/log.jsonl\n"
    "  --val DIR, --val-every N, --val-frames N, --val-rgb   validation, as slimvsr train\n"
    "  --lr X --lr-min X --batch B --seq T --patch P --degradation bi|bd --spynet-freeze N --spynet-lr-mult X\n"
    "  --log-every N --recompute K --seed N   training options of every phase, as slimvsr train\n"
    "                        (default --log-every 1: the scale norms of every iteration)\n"
    "  --threads N, -q       threads (default all cores), quiet\n"
    "  --resume              continue a stopped run (Ctrl-C, a kill) where its last checkpoint left it\n"
    "  RUN_DIR gets prune.json, sparsity/ and finetune/ (training run folders with log.jsonl),\n"
    "  pruned-init.safetensors (cut, before finetuning), and at the end model.safetensors (the pruned model:\n"
    "  see slimvsr info) and summary.json (parameters and FLOPs before and after, validation).\n";

int cmd_prune(int argc, char **argv) {
    sv_prune_opts o;
    sv_prune_opts_default(&o);
    int threads = 0, n_other = 0;
    const char *other = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int r, takes = 1, is_other = 1, c = cli_train_option("prune", &o.train, a, v, &takes);
        if (c < 0) return 2;
        if (c > 0) {
        } else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            fputs(usage, stdout);
            return 0;
        } else if (!strcmp(a, "-m") || !strcmp(a, "--model")) {
            if (!(o.model = v)) goto missing;
        } else if (!strcmp(a, "--out")) {
            if (!(o.train.out = v)) goto missing;
            is_other = 0;
        } else if (!strcmp(a, "--scheme")) {
            if (sv_prune_scheme_parse(v, &o.scheme)) {
                fprintf(stderr, "slimvsr prune: --scheme must be ssl, l1-aligned or l1-keep-last\n");
                return 2;
            }
        } else if (!strcmp(a, "--ratio")) {
            if (cli_parse_double("prune", a, v, 0, 1, &o.ratio)) return 2;
            if (o.ratio <= 0 || o.ratio >= 1) {
                fprintf(stderr, "slimvsr prune: --ratio %s: the fraction of units to prune must be in (0, 1)\n", v);
                return 2;
            }
        } else if (!strcmp(a, "--flops")) {
            if (cli_parse_double("prune", a, v, 0, 1, &o.flops)) return 2;
            if (o.flops <= 0 || o.flops >= 1) {
                fprintf(stderr, "slimvsr prune: --flops %s: the fraction of FLOPs to keep must be in (0, 1)\n", v);
                return 2;
            }
        } else if (!strcmp(a, "--select")) {
            if (!v || (strcmp(v, "global") && strcmp(v, "layer"))) {
                fprintf(stderr, "slimvsr prune: --select must be global or layer\n");
                return 2;
            }
            o.global = !strcmp(v, "global");
        } else if (!strcmp(a, "--criterion")) {
            if (!v || (strcmp(v, "l1") && strcmp(v, "scale"))) {
                fprintf(stderr, "slimvsr prune: --criterion must be l1 or scale\n");
                return 2;
            }
            o.criterion_scale = !strcmp(v, "scale");
        } else if (!strcmp(a, "--round")) {
            if ((o.round = cli_parse_int("--round", v, 1, 64)) < 0) return 2;
        } else if (!strcmp(a, "--sparsity-iters")) {
            if (cli_parse_long("prune", a, v, 0, &o.sparsity_iters)) return 2;
        } else if (!strcmp(a, "--finetune-iters")) {
            if (cli_parse_long("prune", a, v, 0, &o.finetune_iters)) return 2;
        } else if (!strcmp(a, "--tf-weight")) {
            if (cli_parse_double("prune", a, v, 0, 1e6, &o.tf_weight)) return 2;
        } else if (!strcmp(a, "--lambda-step")) {
            if (cli_parse_double("prune", a, v, 0, 10, &o.lambda_step)) return 2;
        } else if (!strcmp(a, "--lambda-max")) {
            if (cli_parse_double("prune", a, v, 0, 1e3, &o.lambda_max)) return 2;
        } else if (!strcmp(a, "--lambda-every")) {
            if ((o.lambda_every = cli_parse_int("--lambda-every", v, 1, 1000000)) < 0) return 2;
        } else if (!strcmp(a, "--scale-lr-mult")) {
            if (cli_parse_double("prune", a, v, 1e-6, 1e6, &o.scale_lr_mult)) return 2;
        } else if ((r = cli_run_option("prune", a, v, &threads, &o.resume, &o.train.quiet, &takes)) != 0) {
            if (r < 0) return 2;
            is_other = 0;
        } else {
            fprintf(stderr, "slimvsr prune: unknown option '%s' (see slimvsr prune --help)\n", a);
            return 2;
        }
        if (is_other) n_other++, other = a;
        i += takes;
        continue;
    missing:
        fprintf(stderr, "slimvsr prune: %s needs a value\n", a);
        return 2;
    }
    if (!o.train.out) {
        fprintf(stderr, "slimvsr prune: --out RUN_DIR is required (see slimvsr prune --help)\n");
        return 2;
    }
    if (o.resume && n_other) {
        fprintf(stderr, "slimvsr prune: --resume continues the run with its saved options; %s cannot be changed "
                        "(only --threads, -q)\n", other);
        return 2;
    }
    cli_set_threads(threads);
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
