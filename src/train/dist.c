// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// dist.c: the ranks of a training job (dist.h): MPI's world communicator under SV_MPI, else one rank.
#include "train/dist.h"

int sv_dist_check_ranks(const char *path, long ranks, sv_err *e) {
    const int now = sv_dist_size();
    if (ranks == now) return 0;
    return sv_errf(e, "%s: --resume: the run was trained on %ld rank%s and this job has %d; resume it with %ld "
                      "(mpirun -np %ld), or the ranks' shares of the sample stream would differ",
                   path, ranks, ranks == 1 ? "" : "s", now, ranks, ranks);
}

#ifdef SV_MPI
#include <mpi.h>

// MPI counts are int: a block goes in pieces of at most CHUNK elements.
#define CHUNK ((size_t)1 << 28)

static int started(void) {
    int on = 0, off = 0;
    MPI_Initialized(&on);
    MPI_Finalized(&off);
    return on && !off;
}

static int mpi_fail(sv_err *e, const char *what, int rc) {
    char txt[MPI_MAX_ERROR_STRING];
    int n = 0;
    if (MPI_Error_string(rc, txt, &n) != MPI_SUCCESS) n = 0;
    txt[n] = 0;
    return sv_errf(e, "MPI %s failed: %s", what, n ? txt : "unknown error");
}

int sv_dist_init(int *argc, char ***argv, sv_err *e) {
    if (started()) return 0;
    const int rc = MPI_Init(argc, argv);
    if (rc != MPI_SUCCESS) return mpi_fail(e, "initialisation", rc);
    // errors come back as codes, so a message names what failed before the job is stopped
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    return 0;
}

void sv_dist_finish(void) {
    if (started()) MPI_Finalize();
}

void sv_dist_abort(int code) {
    if (started() && sv_dist_size() > 1) MPI_Abort(MPI_COMM_WORLD, code);
}

int sv_dist_rank(void) {
    int r = 0;
    if (started()) MPI_Comm_rank(MPI_COMM_WORLD, &r);
    return r;
}

int sv_dist_size(void) {
    int n = 1;
    if (started()) MPI_Comm_size(MPI_COMM_WORLD, &n);
    return n;
}

static int sum(void *x, size_t n, size_t elem, MPI_Datatype t, sv_err *e) {
    if (sv_dist_size() < 2) return 0;
    for (size_t i = 0; i < n; i += CHUNK) {
        const int k = (int)(n - i < CHUNK ? n - i : CHUNK);
        const int rc = MPI_Allreduce(MPI_IN_PLACE, (char *)x + i * elem, k, t, MPI_SUM, MPI_COMM_WORLD);
        if (rc != MPI_SUCCESS) return mpi_fail(e, "all-reduce", rc);
    }
    return 0;
}

int sv_dist_sum_floats(float *x, size_t n, sv_err *e) { return sum(x, n, sizeof *x, MPI_FLOAT, e); }
int sv_dist_sum_doubles(double *x, size_t n, sv_err *e) { return sum(x, n, sizeof *x, MPI_DOUBLE, e); }

int sv_dist_barrier(sv_err *e) {
    if (sv_dist_size() < 2) return 0;
    const int rc = MPI_Barrier(MPI_COMM_WORLD);
    return rc == MPI_SUCCESS ? 0 : mpi_fail(e, "barrier", rc);
}

int sv_dist_broadcast(void *buf, size_t n, sv_err *e) {
    if (sv_dist_size() < 2) return 0;
    for (size_t i = 0; i < n; i += CHUNK) {
        const int k = (int)(n - i < CHUNK ? n - i : CHUNK);
        const int rc = MPI_Bcast((char *)buf + i, k, MPI_BYTE, 0, MPI_COMM_WORLD);
        if (rc != MPI_SUCCESS) return mpi_fail(e, "broadcast", rc);
    }
    return 0;
}

#else  // one rank of one

int sv_dist_init(int *argc, char ***argv, sv_err *e) { return 0; }
void sv_dist_finish(void) {}
void sv_dist_abort(int code) {}
int sv_dist_rank(void) { return 0; }
int sv_dist_size(void) { return 1; }
int sv_dist_sum_floats(float *x, size_t n, sv_err *e) { return 0; }
int sv_dist_sum_doubles(double *x, size_t n, sv_err *e) { return 0; }
int sv_dist_barrier(sv_err *e) { return 0; }
int sv_dist_broadcast(void *buf, size_t n, sv_err *e) { return 0; }

#endif
