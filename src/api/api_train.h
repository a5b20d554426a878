// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// api_train.h: what train.c shares with prune.c and flow.c, whose options hold a slimvsr_train_options: the
// public training options <-> the internal ones (train/trainer.h), and the checks the CLI makes while
// parsing them.
#pragma once
#include "api/api_internal.h"
#include "train/trainer.h"

// The options every run shares (sv_run_opts: data, out, the model, the schedule...), for train-flow's too.
void api_run_from_sv(slimvsr_train_options *o, const sv_run_opts *r);
void api_run_to_sv(sv_run_opts *r, const slimvsr_train_options *o);
void api_train_from_sv(slimvsr_train_options *o, const sv_train_opts *t);
// Also routes the run's messages to the log callback (api_forward_msg).
void api_train_to_sv(sv_train_opts *t, const slimvsr_train_options *o);
// 0, or a status after a message naming fn (the public function called) and the options at fault.
int api_train_check(const char *fn, const slimvsr_train_options *o);
void api_forward_msg(void *ud, sv_msg_kind kind, const char *line);
