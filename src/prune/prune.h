// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// prune.h: `slimvsr prune`: SSL (SSL-NOTES §2-5) and the two conventional baselines, end to end, as
// training phases (train/trainer.h with hooks) in one run folder.
//
//   ssl           choose units (L1 of filters / groups / input channels, or |scale| after a probe), sparsity
//                 learning (growing L2 penalty on the chosen scales), fold, RSC cut, temporal finetuning
//                 with the dense model as teacher (--tf-weight 0: plain finetuning)
//   l1-aligned    choose filters by L1 and the hidden channels of each branch by L1 (the same indices on the
//                 skip path and in every block: the hidden state shrinks), cut, finetune
//   l1-keep-last  choose filters by L1 but leave every block's input channels and last conv whole, cut,
//                 finetune
// Every scheme follows one schedule and budget after the dense model: sparsity_iters at the constant --lr
// (ssl: sparsity learning, the penalty growing; the baselines: plain training of the cut model, phase
// "hold"), then finetune_iters annealed (cosine) to --lr-min, with temporal finetuning when tf_weight > 0
// (any scheme). Each phase draws its own data: the first from --seed's stream, finetuning from another
// stream derived from it, so no phase replays the samples of the one before.
//
// RUN_DIR holds prune.json (the options, for --resume), sparsity/ (ssl) or hold/ (the baselines), a
// training run folder, pruned-init.safetensors (the cut model: ssl's after sparsity learning, the
// baselines' before any training), finetune/ (a training run folder), and at
// the end model.safetensors (the pruned, finetuned model) and summary.json; and .lock: one process at a
// time in RUN_DIR (train/run_lock.h). RUN_DIR is never an input nor holds one. A start that fails before
// its first phase has made its folder (a bad --val, data a phase refuses) leaves nothing behind.
//
// Data-parallel (train/dist.h, several ranks): every rank runs the pipeline, each phase is the training
// loop's data-parallel run (the SSL scales' gradients averaged with the weights'), and rank 0 alone writes
// RUN_DIR; prune.json records the number of ranks, and --resume on another number is refused.
#pragma once
#include "core/error.h"
#include "train/trainer.h"

#define SV_TF_WEIGHT_DEFAULT (-1.0)
#define SV_TF_WEIGHT_SSL 0.01  // the best non-zero weight of the sweep on training clips (docs/pruning-results.md)

typedef enum { SV_SCHEME_SSL = 0, SV_SCHEME_L1_ALIGNED = 1, SV_SCHEME_L1_KEEP_LAST = 2 } sv_prune_scheme;

typedef struct {
    sv_train_opts train;      // data, val, out (RUN_DIR), lr, batch, seq, patch, logs, seed, quiet, resume,
                              // stop, messages: every phase
    const char *model;        // the dense model (the start, and the teacher of temporal finetuning)
    sv_prune_scheme scheme;
    double ratio;             // fraction of the prunable units to prune, in (0, 1); or
    double flops;             // in (0, 1): the ratio is found so that the pruned network (without SPyNet)
                              // keeps about this fraction of the dense one's FLOPs (0: use ratio); or
    double params;            // in (0, 1): the same for its parameters without SPyNet (schemes compared at
                              // equal size: with recon_ratio, their trunks keep as many parameters)
    double recon_ratio;       // -1: the reconstruction's units are chosen with the trunk's; in [0, 1): this
                              // fraction of each reconstruction layer instead (the same cut in every scheme)
    int global;               // 1: one threshold over all units; 0: the ratio in every layer
    int criterion_scale;      // 0: L1 norms; 1: |scale| after `probe` iterations of a uniform penalty (ssl)
    int round;                // kept channels per layer a multiple of this (1, 8, 16)
    long sparsity_iters, finetune_iters;
    double tf_weight;         // weight of L_tf in temporal finetuning, any scheme (SV_TF_WEIGHT_DEFAULT:
                              // SV_TF_WEIGHT_SSL for ssl, 0 for the baselines)
    // the penalty schedule (SSL-NOTES §2: lambda += 1e-4 every 5 iterations up to 0.1) and the scales'
    // learning rate (lr * scale_lr_mult): a run much shorter than the paper's 19k iterations needs both
    // faster for the chosen scales to collapse (Adam moves a scale by at most about lr per step)
    double lambda_step, lambda_max, scale_lr_mult;
    int lambda_every;
} sv_prune_opts;

void sv_prune_opts_default(sv_prune_opts *o);
const char *sv_prune_scheme_name(sv_prune_scheme s);
int sv_prune_scheme_parse(const char *name, sv_prune_scheme *s);
// Runs (or resumes: o->train.run.resume) the pipeline. Returns 0 (also when stopped by the stop flag:
// --resume continues) or -1 with a message naming the file or option at fault. Its messages ("== phase",
// "pruned (...)", "stopped; continue with") go to o->train.run.msg.
int sv_prune(const sv_prune_opts *o, sv_err *e);
