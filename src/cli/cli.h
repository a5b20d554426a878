// cli.h: the subcommands of the slimvsr command line; each returns the process exit status.
#pragma once

int cmd_upscale(int argc, char **argv);
int cmd_info(int argc, char **argv);
int cmd_convert(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_train(int argc, char **argv);
int cmd_train_flow(int argc, char **argv);
int cmd_prune(int argc, char **argv);

// Parses a non-negative integer option value; prints an error naming the option and returns -1.
int cli_parse_int(const char *opt, const char *s, int min, int max);
// The same for a long (>= min) and a double (in [min, max]); cmd names the subcommand in the message.
int cli_parse_long(const char *cmd, const char *opt, const char *s, long min, long *out);
int cli_parse_double(const char *cmd, const char *opt, const char *s, double min, double max, double *out);
// "--act relu|leaky" -> slope, or -1 (keep the model's own); returns -2 on a bad value (after printing).
float cli_parse_act(const char *s);
// The options every training command takes beside its own: --threads N, --resume, -q/--quiet. Returns 1
// when opt is one (*takes: 1 when it used val), 0 when it is not, -1 (after a message) on a bad value.
int cli_run_option(const char *cmd, const char *opt, const char *val, int *threads, int *resume, int *quiet, int *takes);
// Sets the thread count for OpenMP (and so oneDNN); n <= 0: all cores.
void cli_set_threads(int n);

// The training options `train` and `prune` share (--data, --val, --lr, --batch, ...). Returns 1 when opt
// is one of them (*takes: 1 when it used val), 0 when it is not, -1 (after a message) on a bad value.
#include "train/trainer.h"
int cli_train_option(const char *cmd, sv_train_opts *o, const char *opt, const char *val, int *takes);

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
// Installs the handler that removes this process's temporary outputs on SIGINT, SIGTERM and SIGHUP, then
// dies of the signal as it would have (exit status 128 + signal).
void cli_remove_temporaries_on_signal(void);
