// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// run_log.h: what a training run folder's bookkeeping shares between `train`, `train-flow` and `prune`:
// the log.jsonl appends and its trimming on resume, and numbers in saved JSON options and states.
#pragma once
#include <cjson/cJSON.h>
#include <stdint.h>

#include "core/error.h"

// j[k] when it is a number, else dflt.
double sv_json_num(const cJSON *j, const char *k, double dflt);
// j[k] as a whole number in [lo, hi] into *v (left as it is when j has no k): the integers of saved options
// and states. Anything else (not a number, a fraction, out of range: a corrupt or hand-edited file) fails
// with "WHAT: field K is X, not an integer in [LO, HI]"; no out-of-range float is ever converted.
int sv_json_long(const cJSON *j, const char *k, long lo, long hi, long *v, const char *what, sv_err *e);
int sv_json_int(const cJSON *j, const char *k, int lo, int hi, int *v, const char *what, sv_err *e);
// 64-bit values (seeds, the sampler's state) as decimal strings, which JSON numbers cannot hold exactly:
// j[k] = v or [v...]; and back (u64: dflt when absent; array: the number of values read, at most max).
void sv_json_add_u64(cJSON *j, const char *k, uint64_t v);
uint64_t sv_json_u64(const cJSON *j, const char *k, uint64_t dflt);
void sv_json_add_u64_array(cJSON *j, const char *k, const uint64_t *v, int n);
int sv_json_u64_array(const cJSON *j, const char *k, uint64_t *v, int max);
// Appends j as one line to the log at path.
int sv_log_append(const char *path, const cJSON *j, sv_err *e);
// Keeps the log's lines up to iteration iter (a resumed run redoes what came after its checkpoint);
// a missing log is fine.
int sv_log_trim(const char *path, long iter, sv_err *e);
