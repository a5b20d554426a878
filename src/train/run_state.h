// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// run_state.h: the state file and the checkpoints of a training run folder (loop.h), for loop.c.
#pragma once
#include "train/loop.h"

// Reads RUN_DIR/state.safetensors: the iteration, the sampler's position (dstate, *ndstate words), the
// step's tensors, counters and options (step->restore), the model. r->saved keeps the metadata.
int sv_run_read_state(const sv_step *st, sv_run *r, uint64_t *dstate, int *ndstate, sv_err *e);
// RUN_DIR/model.safetensors, then RUN_DIR/state.safetensors (each atomic): a kill between the two leaves a
// state that is one checkpoint older than the model, which --resume simply redoes.
int sv_run_checkpoint(const sv_step *st, sv_run *r, sv_err *e);
// A run killed while writing a checkpoint leaves its temporary (".NAME.tmp-PID-N", io/atomic_file.c)
// beside the files; the final names are intact. A resumed run removes such leftovers.
void sv_run_remove_temporaries(const char *dir);
