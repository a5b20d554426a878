// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// trainer.h: `slimvsr train`: BasicVSR's training as a step of the training loop (train/loop.h).
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
//   .lock              the run's advisory lock (run_lock.h), held while a process runs it: a second
//                      slimvsr on the same RUN_DIR is refused, naming the holder's pid
// RUN_DIR is never an input nor a folder holding one (--data, --val, --init), and it is created only once
// every input and option was checked, so a start that fails leaves nothing.
#pragma once
#include <cjson/cJSON.h>
#include <stdint.h>

#include "core/error.h"
#include "io/safetensors.h"
#include "model/basicvsr.h"
#include "train/loop.h"
#include "train/net.h"
#include "train/run_opts.h"

// Hooks that turn the plain loop into another kind of training (pruning's sparsity learning and temporal
// finetuning, prune/prune.c) with the same checkpoints, resume, validation and logs. Every member may be
// NULL. They are not saved: the caller passes the same hooks again on --resume.
typedef struct {
    void *ud;
    const char *state_ns;   // the namespace of the hook's checkpoint tensors ("ns.*") and metadata ("ns")
    // The trained model m is loaded (from --init, at random, or from the resumed state, whose tensors and
    // metadata in state_ns `state` then holds; NULL on a fresh start). *graph may be set to the model the training
    // graph runs on (same shapes as m; default m itself).
    int (*begin)(void *ud, sv_model *m, sv_tensor_set *state, sv_model **graph, sv_err *e);
    // Before each step's forward: iter = iterations done, lr_batch = the step's LR clips.
    int (*before_step)(void *ud, long iter, const float *lr_batch, sv_trainnet *net, sv_err *e);
    // After backward: grads (laid out as m->params) holds the graph model's gradient; turn it into m's, and
    // fill the gradient of what the hook trains itself (trained).
    int (*after_backward)(void *ud, float *grads, sv_err *e);
    // What the hook trains itself (the SSL scales): *n values, their gradient in *grad. On several ranks the
    // loop averages that gradient with the model's and checks the values across the ranks with the weights.
    float *(*trained)(void *ud, float **grad, size_t *n);
    // After the gradients were averaged over the ranks (before the weights' step): the hook's own step, at
    // the iteration's learning rate lr (what depends only on values every rank holds alike, such as a
    // penalty on the scales, is added here, once).
    void (*update)(void *ud, double lr);
    // Log terms of the hook's (nterms names), averaged over the ranks and the log interval as the loss is:
    // term_values fills v[0..nterms) after each step.
    const char *const *terms;
    int nterms;
    void (*term_values)(void *ud, double *v);
    // m->params holds the trained weights: turn them, in place, into the weights validation and the model
    // files use (e.g. with learnt scales folded in).
    int (*export_weights)(void *ud, sv_model *m, sv_err *e);
    // Adds the hook's own tensors and metadata to a checkpoint.
    int (*save)(void *ud, sv_tensor_set *state, sv_err *e);
    // Adds fields to a log line.
    void (*log)(void *ud, cJSON *line);
} sv_train_hooks;

typedef struct {
    sv_run_opts run;        // data, out, init, the model's shape, iters, lr, batch, seq, patch, log, seed...
    const char *val;        // folder with GT/ and BIx4/ (or BDx4/, LR/); NULL: no validation
    long spynet_freeze;     // SPyNet fixed for the first N iterations
    double spynet_lr_mult;  // then trained at lr * mult
    double ema;             // weight EMA decay (0: off)
    long val_every;         // validation + checkpoint every N iterations (and at the end)
    int val_frames;         // validate on the first N frames of each clip (0: all)
    int val_y;              // PSNR/SSIM on Y (1) or RGB (0)
    int recompute;          // activation recomputation (train/net.h); 0: keep all
    const sv_train_hooks *hooks;  // NULL: plain training
} sv_train_opts;

void sv_train_opts_default(sv_train_opts *o);
// The options a run saves (data, val, schedule, batch, seed...; not out, init, resume, hooks) as JSON, and
// back: fields missing from j keep o's values; strings point into j (keep j alive while o is used).
cJSON *sv_train_opts_to_json(const sv_train_opts *o);
int sv_train_opts_from_json(sv_train_opts *o, const cJSON *j, const char *what, sv_err *e);
// The trained weights (not the exported ones) of RUN_DIR/state.safetensors into m, and the hooks' tensors
// and metadata of namespace ns (may be NULL) into *ns_state: what comes after a run with hooks needs.
int sv_train_state_model(const char *run_dir, sv_model *m, const char *ns, sv_tensor_set *ns_state, sv_err *e);
// Runs (or resumes, o->run.resume) a training run. Returns 0, or -1 with a message naming the file or
// option at fault; res (may be NULL) tells how far it got.
int sv_train(const sv_train_opts *o, sv_train_result *res, sv_err *e);
