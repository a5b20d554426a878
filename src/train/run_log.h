// run_log.h: what a training run folder's bookkeeping shares between `train` and `train-flow`: the
// log.jsonl appends and its trimming on resume, and reading numbers out of saved JSON options.
#pragma once
#include <cjson/cJSON.h>

#include "core/error.h"

// j[k] when it is a number, else dflt.
double sv_json_num(const cJSON *j, const char *k, double dflt);
// Appends j as one line to the log at path.
int sv_log_append(const char *path, const cJSON *j, sv_err *e);
// Keeps the log's lines up to iteration iter (a resumed run redoes what came after its checkpoint);
// a missing log is fine.
int sv_log_trim(const char *path, long iter, sv_err *e);
