// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// run_opts.h: what the options of every training command share (train, train-flow, and prune through
// train): the run's common fields, its messages (the library prints nothing: it hands lines to the caller),
// its stop flag, and the options' JSON (saved in a run's state so that --resume continues the same run).
#pragma once
#include <cjson/cJSON.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

#define SV_TRAIN_MAX_DATA 16
// The share of synthetic-motion samples when photos are given without a share: most samples stay real
// video (its noise, blur and motion are what the model meets), a quarter brings motion the clips lack.
// Not tuned.
#define SV_PHOTO_SHARE_DEFAULT 0.25

// INFO: progress and plans (the CLI writes them to stderr; -q drops them); OUTPUT: what was asked for
// (--dry-run's plan and memory table: stdout).
typedef enum { SV_MSG_INFO = 0, SV_MSG_OUTPUT = 1 } sv_msg_kind;
// One line of text, without its newline.
typedef void (*sv_msg_fn)(void *ud, sv_msg_kind kind, const char *line);

typedef struct {
    const char *data[SV_TRAIN_MAX_DATA];
    int ndata;
    const char *out;        // run folder
    const char *init;       // model to start from, or NULL for a random one of feat x blocks
    const char *spynet;     // a model whose SPyNet weights replace the --init or random model's at the start
                            // (a train-flow run's model.safetensors), or NULL; not saved: the state's model
                            // holds them
    int feat, blocks;
    float act_slope;        // 0.1 (LeakyReLU, BasicSR) or 0 (ReLU)
    int flow;               // the model's flow, SV_FLOW_* (model/basicvsr.h), set at the start; -1: the --init
                            // model's own (a random model: SPyNet). A resumed run keeps its model's
    int direction;          // a random model's direction, SV_DIR_* (--direction); -1: bidirectional, or the
                            // --init model's own, which a given one must equal (the tensors say it)
    long iters;
    double lr, lr_min;      // cosine annealing from lr to lr_min over iters
    long lr_hold;           // lr held for the first lr_hold iterations, the cosine over the rest (0: none);
                            // prune's schedule (constant sparsity phase, annealed finetuning) in one run
    int batch, seq, patch, degradation;  // degradation: SV_DEG_BI / SV_DEG_BD (train/degrade.h)
    const char *photos;     // train, prune: photos for synthetic-motion samples (train/dataset.h), or NULL.
                            // train-flow has its own (sv_flowtrain_opts) and leaves this NULL
    int clip_weight;        // how samples pick clips: SV_CLIP_WEIGHT_* (train/dataset.h; default windows)
    double photo_share;     // with photos: the share of samples that are synthetic (default
                            // SV_PHOTO_SHARE_DEFAULT)
    long log_every;
    uint64_t seed;          // data sampling and the random model
    int resume;             // continue RUN_DIR's run with its saved options; iters > 0 sets a new total
                            // (>= the checkpoint's iteration), 0 keeps the saved one
    int dry_run;            // print the plan (and train's memory per recompute setting), train nothing
    int quiet;              // no INFO messages
    // Not saved, taken from the caller on --resume too:
    volatile sig_atomic_t *stop;  // when set (by a signal handler): stop after the current iteration with a
                                  // checkpoint (--resume continues). NULL: never
    sv_msg_fn msg;          // NULL: silent
    void *msg_ud;
} sv_run_opts;

// The defaults that train and train-flow share, with the schedule and batch each command has its own of.
void sv_run_opts_default(sv_run_opts *o, double lr, double lr_min, int batch, int seq);
// Hands one formatted line to o->msg (INFO ones only when not quiet).
void sv_run_say(const sv_run_opts *o, sv_msg_kind kind, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

// ---- options <-> JSON ----
// A numeric option field of a struct: its JSON key, type, offset, and for integers the range a saved value
// must lie in (a corrupt or hand-edited file is refused before any use).
typedef enum { SV_OPT_INT, SV_OPT_LONG, SV_OPT_DOUBLE } sv_opt_type;
typedef struct {
    const char *key;
    sv_opt_type type;
    size_t off;
    long lo, hi;
} sv_opt_field;
#define SV_OPT_FIELD(st, member, type, lo, hi) {#member, type, offsetof(st, member), lo, hi}

void sv_opt_fields_to_json(cJSON *j, const void *o, const sv_opt_field *f, int n);
// Fields missing from j keep o's values.
int sv_opt_fields_from_json(void *o, const cJSON *j, const sv_opt_field *f, int n, const char *what, sv_err *e);
// The common saved fields (data, the schedule, batch, seq, patch, degradation, log_every, seed; not out,
// init, the model's shape, resume, quiet, stop, msg) into j, and back: data strings point into j.
void sv_run_opts_to_json(cJSON *j, const sv_run_opts *o);
int sv_run_opts_from_json(sv_run_opts *o, const cJSON *j, const char *what, sv_err *e);
