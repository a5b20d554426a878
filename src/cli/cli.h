// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// cli.h: the subcommands of the slimvsr command line; each returns the process exit status.
#pragma once
#include <stddef.h>

int cmd_upscale(int argc, char **argv);
int cmd_info(int argc, char **argv);
int cmd_convert(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_train(int argc, char **argv);
int cmd_train_flow(int argc, char **argv);
int cmd_prune(int argc, char **argv);

// conv_setup.c: the convolutions' process-wide choices from the environment (SLIMVSR_CONV_ALGO,
// SLIMVSR_CONV_BLK, SLIMVSR_CONV_ISA) and the wisdom file (SLIMVSR_WISDOM), before any command; finish
// saves what the command measured.
void cli_conv_setup(void);
void cli_conv_finish(void);

// Parses a non-negative integer option value; prints an error naming the option and returns -1.
int cli_parse_int(const char *opt, const char *s, int min, int max);
// The same for a long (>= min) and a double (in [min, max]); cmd names the subcommand in the message.
int cli_parse_long(const char *cmd, const char *opt, const char *s, long min, long *out);
int cli_parse_double(const char *cmd, const char *opt, const char *s, double min, double max, double *out);
// "--act relu|leaky" -> slope, or -1 (keep the model's own); returns -2 on a bad value (after printing).
float cli_parse_act(const char *s);
// "--flow spynet|zero" -> SV_FLOW_* (model/basicvsr.h); returns -1 on a bad value (after printing).
int cli_parse_flow(const char *cmd, const char *s);
// --direction bi|uni: SV_DIR_*, or -1 after a message.
int cli_parse_direction(const char *cmd, const char *s);
// The options every training command takes beside its own: --threads N, --resume, -q/--quiet. Returns 1
// when opt is one (*takes: 1 when it used val), 0 when it is not, -1 (after a message) on a bad value.
int cli_run_option(const char *cmd, const char *opt, const char *val, int *threads, int *resume, int *quiet, int *takes);
// The options of a job that streams clips through a model (upscale, eval): -m/--model, --chunk,
// --lookahead, --max-memory, --threads, --act, -q. Returns 1 when opt is one (*takes: it used val), 0 when
// it is not, -1 (after a message) on a bad value.
typedef struct {
    const char *model;
    int chunk, lookahead, threads, quiet;  // chunk 0, lookahead -1, threads 0: the defaults
    float act;                             // -1: what the model file says
    size_t max_memory;                     // bytes; 0: the default (pipeline/upscale.h)
} cli_job_args;
// "3G", "1.5G", "800M", "64K" (powers of 1024) or a number of bytes: *out; returns -1 (after a message)
// when s is not one or is under min bytes.
int cli_parse_bytes(const char *cmd, const char *opt, const char *s, size_t min, size_t *out);
void cli_job_args_default(cli_job_args *j);
int cli_job_option(const char *cmd, cli_job_args *j, const char *opt, const char *val, int *takes);
// Sets the thread count for OpenMP (and so oneDNN); n <= 0: all cores.
void cli_set_threads(int n);

// The training options `train` and `prune` share (--data, --val, --lr, --batch, ...). Returns 1 when opt
// is one of them (*takes: 1 when it used val), 0 when it is not, -1 (after a message) on a bad value.
#include "train/trainer.h"
int cli_train_option(const char *cmd, sv_train_opts *o, const char *opt, const char *val, int *takes);
// The same for the options of every run (train, train-flow, prune: --data, --lr, --lr-min, --batch, --seq,
// --patch, --degradation, --log-every, --seed) and for those of a run that makes or takes a model (train,
// train-flow: --init, --feat, --blocks, --act).
int cli_run_common_option(const char *cmd, sv_run_opts *o, const char *opt, const char *val, int *takes);
int cli_model_option(const char *cmd, sv_run_opts *o, const char *opt, const char *val, int *takes);
// The argument loop of a training command. It knows -h, --out, --iters (has_iters), --threads, --resume
// and -q, and asks own(ud, ...) about every other option: 1 taken (*takes: it used val; *keep: a --resume
// may be given it), 0 unknown, -1 bad (after a message). Returns 0, 1 after --help, 2 on an error (printed).
typedef int (*cli_own_option)(void *ud, const char *opt, const char *val, int *takes, int *keep);
typedef struct {
    const char *cmd, *usage;
    sv_run_opts *run;
    int has_iters;
    int threads, iters_given, n_other;  // n_other: options that a --resume must not be given (the last: other)
    const char *other;
} cli_run_args;
int cli_parse_run_args(cli_run_args *c, int argc, char **argv, cli_own_option own, void *ud);
// After the loop: --out is there, a --resume changes nothing saved (without --iters it keeps the run's
// total); sets the threads, and the run's messages (stderr; OUTPUT: stdout) and stop flag
// (cli_stop_on_signal). Returns 0 or 2 (after a message).
int cli_run_args_finish(cli_run_args *c);
// Installs the SIGINT/SIGTERM handlers of a training run: the first sets the returned flag (the run stops
// after the current iteration, with a checkpoint); a second stops at once, as
// cli_remove_temporaries_on_signal (the last checkpoint stays).
#include <signal.h>
volatile sig_atomic_t *cli_stop_on_signal(void);

// -m MODEL: a path (.pth or .safetensors), or the name of a model shipped in models/: "ssl" (alias
// "pruned": the SSL-pruned default, CLI_DEFAULT_MODEL, used when arg is NULL) or "dense". A name has no
// '/' and no '.'; ./dense names a file. Shipped models are looked for in $SLIMVSR_MODELS, then models/
// beside the binary's folder, then share/slimvsr/models of an install prefix. Returns the path, or NULL
// with e filled.
#include "core/error.h"
#include "model/basicvsr.h"
#define CLI_DEFAULT_MODEL "ssl"
const char *cli_model_path(const char *arg, sv_err *e);
// Loads -m MODEL into m (see cli_model_path; act as --act, -1 to keep the model's) and points *use at it.
// allow_bicubic: "bicubic" is accepted and gives *use = NULL (the runner's bicubic baseline; m is zeroed
// so that sv_model_free(m) stays valid). Prints the error and returns -1 on failure.
int cli_load_model(const char *arg, float act, int allow_bicubic, sv_model *m, const sv_model **use);

// Before a command writes OUTPUT: it is not the model file (-m MODEL, resolved as cli_model_path does) nor
// the input (NULL: none) nor a folder holding either, and it does not exist unless replace (-y). Prints
// the error and returns -1.
int cli_check_output(const char *output, const char *model_arg, const char *input, int replace);
// The same check, the error in e instead of on stderr.
int cli_output_check(const char *output, const char *model_arg, const char *input, int replace, sv_err *e);
// Installs the handler that removes this process's temporary outputs on SIGINT, SIGTERM and SIGHUP, then
// dies of the signal as it would have (exit status 128 + signal).
void cli_remove_temporaries_on_signal(void);
