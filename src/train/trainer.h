// trainer.h: `slimvsr train`: the training loop a user can leave running.
//
// RUN_DIR (created if missing) holds:
//   state.safetensors  everything a resumed run needs, written atomically at every checkpoint: the model
//                      (canonical tensors + architecture metadata), the Adam moments (train.adam_m/v),
//                      the EMA weights (train.ema) and, in the metadata "train", the iteration, both
//                      Adam step counts, the best validation result, the data sampler's position and the
//                      run's options.
//   model.safetensors  the latest weights to use (the EMA weights when --ema is on), a normal model file
//   best.safetensors   the weights of the best validation PSNR so far
//   log.jsonl          one JSON object per logged step: iter, loss (mean since the last line), lr,
//                      lr_spynet, seconds; plus val_psnr/val_ssim on validation steps
// A killed run (even SIGKILL) resumes from its last checkpoint with --resume: the weights, optimiser,
// schedule and sample stream continue exactly, and log lines past the checkpoint are dropped.
#pragma once
#include <stdint.h>

#include "core/error.h"

#define SV_TRAIN_MAX_DATA 16

typedef struct {
    const char *data[SV_TRAIN_MAX_DATA];
    int ndata;
    const char *val;        // folder with GT/ and BIx4/ (or BDx4/, LR/); NULL: no validation
    const char *out;        // run folder
    const char *init;       // model to start from, or NULL for a random one of feat x blocks
    int feat, blocks;
    float act_slope;        // 0.1 (LeakyReLU, BasicSR) or 0 (ReLU)
    long iters;
    double lr, lr_min;      // cosine annealing from lr to lr_min over iters
    int batch, seq, patch, degradation;  // degradation: SV_DEG_BI / SV_DEG_BD (train/degrade.h)
    long spynet_freeze;     // SPyNet fixed for the first N iterations
    double spynet_lr_mult;  // then trained at lr * mult
    double ema;             // weight EMA decay (0: off)
    long val_every;         // validation + checkpoint every N iterations (and at the end)
    long log_every;
    int val_frames;         // validate on the first N frames of each clip (0: all)
    int val_y;              // PSNR/SSIM on Y (1) or RGB (0)
    int recompute;          // activation recomputation (train/net.h); 0: keep all
    uint64_t seed;
    int resume;             // continue RUN_DIR's run with its saved options; iters > 0 sets a new total
                            // (>= the checkpoint's iteration), 0 keeps the saved one
    int dry_run;            // print the plan and the memory per recompute setting, train nothing
    int quiet;
} sv_train_opts;

void sv_train_opts_default(sv_train_opts *o);
// Runs (or resumes) a training run. Returns 0, or -1 with a message naming the file or option at fault.
int sv_train(const sv_train_opts *o, sv_err *e);
