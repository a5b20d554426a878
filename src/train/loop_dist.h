// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// loop_dist.h: the training loop's collectives over the ranks of a data-parallel job (dist.h), for loop.c.
// With one rank each is a no-op that returns 0.
#pragma once
#include "train/loop.h"

// Weights are compared across the ranks every this many iterations, and at every checkpoint.
#define SV_DIST_CHECK_EVERY 50

// After compute: the step's gradient block, its extra values' gradient, and v[0..nv) (the loss and the terms) become their means over
// the ranks; *stop becomes 1 on every rank when the stop flag is set on any, so all stop together.
int sv_run_dist_average(const sv_step *st, sv_run *r, double *v, int nv, int *stop, sv_err *e);
// A checksum of the weights and the step's extra values, compared with rank 0's: fails on every rank,
// naming the ranks that differ, when the ranks diverged.
int sv_run_dist_check_weights(const sv_step *st, const sv_run *r, sv_err *e);
