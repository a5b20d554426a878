// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// dist.h: the ranks of a data-parallel training job (issue 19). Built with `make MPI=1` (SV_MPI), it is
// MPI's world communicator: the ranks mpirun or srun started. Built without, it is one rank of one, and
// every collective is a no-op, so the training loop reads the same either way.
//
// Every rank calls the collectives in the same order with the same sizes (MPI's rule); a rank that fails
// between them leaves the others waiting, so the command line aborts the whole job (sv_dist_abort) after
// printing the failing rank's message.
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

// Starts MPI (once, from main; a no-op without MPI). Returns 0, or -1 with the message.
int sv_dist_init(int *argc, char ***argv, sv_err *e);
// Ends MPI after a job that succeeded (a no-op without MPI or when it was never started).
void sv_dist_finish(void);
// Stops every rank of the job with the exit status code (returns only without MPI, or one rank).
void sv_dist_abort(int code);

int sv_dist_rank(void);  // 0 .. size - 1
int sv_dist_size(void);  // 1 without MPI

// A run (path: its state) trained on `ranks` ranks resumes only on as many, since each rank's slice of every
// global batch depends on their number: returns 0 when this job has as many, else -1 with the message.
int sv_dist_check_ranks(const char *path, long ranks, sv_err *e);
// Returns once every rank has called it. Returns 0, or -1.
int sv_dist_barrier(sv_err *e);

// x[0..n) becomes the sum of every rank's x[0..n), the same on every rank. Returns 0, or -1.
int sv_dist_sum_floats(float *x, size_t n, sv_err *e);
int sv_dist_sum_doubles(double *x, size_t n, sv_err *e);
// buf's n bytes become rank 0's on every rank. Returns 0, or -1.
int sv_dist_broadcast(void *buf, size_t n, sv_err *e);
