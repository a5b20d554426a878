// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// loop.h: the one training loop of train, train-flow (and prune, through train). The loop owns what every
// run has: the run folder (claim and lock, run_lock.h), the model, the data sampler and its batch, the
// state file and its atomic checkpoints, resume, the learning-rate schedule, the stop flag, the validation
// and checkpoint cadence and log.jsonl (run_log.h). A step (sv_step) owns what one kind of training
// computes: the loss and gradient of one batch, the optimiser and its state, its log terms, validation.
//
// RUN_DIR/state.safetensors holds the model's tensors, the step's tensors "NS.*" and the metadata "NS":
// {"iter", the step's counters, "data_state" (the sampler's position), "opts" (the step's options)}.
// A run stopped by the stop flag or killed (even SIGKILL) resumes from its last checkpoint exactly (the
// weights, optimiser, schedule and sample stream continue; log lines past the checkpoint are dropped).
// RUN_DIR is never an input nor holds one, and it is made only once every input and option was checked.
//
// Data-parallel (dist.h, several ranks): every rank runs the loop on its slice of each global batch
// (dataset.h), the gradient and the loss are averaged over the ranks after compute, and every rank takes
// the same update, so the weights stay identical (checked by a checksum, loop_dist.h). Rank 0 alone claims
// the run folder, validates, logs and writes checkpoints; the state records the number of ranks, and a
// resume with another number is refused.
#pragma once
#include <cjson/cJSON.h>
#include <stdint.h>

#include "core/error.h"
#include "core/tensor_set.h"
#include "model/basicvsr.h"
#include "train/dataset.h"
#include "train/run_lock.h"
#include "train/run_opts.h"

#define SV_STEP_MAX_TERMS 8

typedef struct {
    long iter;              // iterations done
    int stopped;            // 1: stopped by the stop flag before the end (resume to continue)
    double val_psnr, val_ssim;  // the last validation of this call (NAN when none ran)
} sv_train_result;

// What a step sees of the run.
typedef struct {
    sv_run_opts *o;         // the run's options (inside the step's own options)
    sv_model m;             // the trained model
    sv_dataset *data;
    float *lr_buf, *gt_buf; // the batch: LR [B*T,3,p,p] and GT [B*T,3,4p,4p]
    long iter;              // iterations done
    int rank, ranks;        // this process's rank in the job, and the number of ranks (dist.h)
    // the loop's own
    sv_run_lock lock;
    cJSON *saved;           // on resume: the state's metadata (the options' strings point into it)
    char *abs_paths[SV_TRAIN_MAX_DATA + 2];  // --data, the step's extra input, --photos
} sv_run;

typedef struct {
    void *ud;
    const char *ns;               // namespace in state.safetensors
    const char *what;             // "training", "train-flow": what the state is of, in messages
    const char *const *terms;     // names of the log terms the step reports beside the loss (nterms of them)
    int nterms;
    const long *ckpt_every;       // checkpoint (and validation) every N iterations, and at the end: an option
    const char *ckpt_opt;         // of the step's ("val-every"), so a pointer (set on resume)
    const long *warmup;           // linear learning-rate warm-up over the first N iterations (NULL: none)
    const int *clips_optional;    // non-zero there: a run without --data is allowed, and then no clips are
                                  // opened or drawn (the step makes its own batches); NULL: --data needed
    const char **extra_input;     // an input path besides --data and --init (train's --val), or NULL,
    const char *extra_input_opt;  // and its option's name
    // Resume: takes the step's tensors from s and parses its counters and options (into the step's options,
    // whose run part is r->o) from meta; called before the model is read from s (path: the state's).
    int (*restore)(void *ud, sv_run *r, sv_tensor_set *s, const cJSON *meta, const char *path, sv_err *e);
    // r->m is loaded (fresh: from --init or random; resumed: from the state): the step sets itself up.
    int (*begin)(void *ud, sv_run *r, int resumed, sv_err *e);
    // The step's own option checks (after the loop's); returns -1 with the message. May be NULL.
    int (*check)(void *ud, sv_run *r, sv_err *e);
    // The plan's lines (sv_run_say with kind), before the data is read; and --dry-run's report (OUTPUT).
    // May be NULL.
    void (*plan)(void *ud, sv_run *r, sv_msg_kind kind);
    void (*dry_run)(void *ud, sv_run *r);
    // Before the data is opened (train: finds the validation folders). May be NULL.
    int (*open_inputs)(void *ud, sv_run *r, sv_err *e);
    // The data is open: check the memory the step needs, then allocate it.
    int (*prepare)(void *ud, sv_run *r, sv_err *e);
    // One batch (r->lr_buf, r->gt_buf) at learning rate lr: *loss and terms[nterms], the gradient kept.
    int (*compute)(void *ud, sv_run *r, double lr, double *loss, double *terms, sv_err *e);
    // The flat gradient block compute kept (*n floats): on more than one rank the loop sums it over the
    // ranks and divides it by their number before update, as it does the loss and terms. NULL: the step
    // does not train data-parallel (refused on more than one rank).
    float *(*gradient)(void *ud, size_t *n);
    // Values the step trains besides the model's weights (prune's SSL scales): *n of them, and in *grad
    // their gradient, which compute kept. The loop averages that gradient over the ranks with the block's,
    // before update, and checks the values across the ranks with the weights. May be NULL (*n = 0: none).
    float *(*extra)(void *ud, float **grad, size_t *n);
    // Moves the weights by the kept gradient.
    int (*update)(void *ud, sv_run *r, double lr, sv_err *e);
    // A log line's fields after "lr" (j) and its progress text between the loss and "lr" (txt); mean: the
    // loss and the terms averaged since the last line. May be NULL.
    void (*log)(void *ud, sv_run *r, double lr, const double *mean, cJSON *j, char *txt, size_t ntxt);
    // At a checkpoint, before the log line: validation into j, txt and res (may be NULL). May be NULL.
    int (*validate)(void *ud, sv_run *r, cJSON *j, char *txt, size_t ntxt, sv_train_result *res, sv_err *e);
    // Writes the model a user takes (atomically) to path (RUN_DIR/model.safetensors).
    int (*write_model)(void *ud, sv_run *r, const char *path, sv_err *e);
    // Adds the step's tensors to s and its counters to meta.
    int (*save)(void *ud, sv_run *r, sv_tensor_set *s, cJSON *meta, sv_err *e);
    // The step's options as JSON (saved as meta "opts").
    cJSON *(*opts_json)(void *ud);
    // The last lines when the run ends without an error. May be NULL.
    void (*finish)(void *ud, sv_run *r);
    // Frees what the step holds, before the loop frees the model (always called).
    void (*end)(void *ud);
} sv_step;

// Runs (or resumes, given->resume) the run of step, whose options o (a copy the step owns, which the loop
// fills from the state on resume) start as *given. Returns 0, or -1 with a message naming the file or
// option at fault; res (may be NULL) tells how far it got.
int sv_run_loop(const sv_step *step, sv_run_opts *o, const sv_run_opts *given, sv_train_result *res, sv_err *e);
// "DIR/NAME" into buf.
void sv_run_path(char *buf, size_t n, const char *dir, const char *name);
