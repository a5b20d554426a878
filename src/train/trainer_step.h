// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// trainer_step.h: train's step of the training loop (trainer.c), shared with its plan and memory
// estimate (trainer_plan.c).
#pragma once
#include <stdint.h>

#include "train/loop.h"
#include "train/net.h"
#include "train/trainer.h"

typedef struct {
    sv_train_opts o;
    sv_model *graph;              // the model the training graph runs on (hooks; NULL: the run's model)
    size_t n, nspy;               // parameters, SPyNet's share (the first nspy of the block)
    float *grads, *adam_m, *adam_v, *ema;
    int64_t saved_n[3];           // resume: the sizes of the saved adam_m, adam_v, ema
    long step_main, step_spy, best_iter;
    double best_psnr, best_ssim;
    int spy_on;                   // SPyNet trains in this iteration
    sv_trainnet *net;
    sv_tensor_set hook_state;     // resume: the hooks' tensors, until they begin
    char val_lr[4096], val_gt[4096];
} sv_vsr_step;

// The model and the steps (model:, steps: lines) as messages of kind.
void sv_vsr_plan(void *ud, sv_run *r, sv_msg_kind kind);
// --dry-run: the memory per --recompute setting (OUTPUT).
void sv_vsr_dry_run(void *ud, sv_run *r);
// --dry-run's estimate made automatic: a run that does not fit in the memory available (core/memory.h) is
// refused before its graph is allocated, naming the options that change it and a --recompute that fits.
int sv_vsr_check_memory(const sv_vsr_step *v, const sv_run *r, sv_err *e);
