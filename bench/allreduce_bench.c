// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// allreduce_bench.c: the time of one gradient all-reduce (train/dist.h: sv_dist_sum_floats) for blocks of
// the sizes a training step reduces, issue 19 item 3. Built in every build; it measures something only
// in the MPI build, under mpirun:
//   mpirun -np 2 build-mpi/bench/allreduce_bench [MB ...]      (default: 2 7 20 MB)
// Rank 0 prints, per size, the median and the best of 20 timed reductions (after 3 untimed), in ms, and
// the bus bandwidth of a ring all-reduce, 2 (N - 1) / N x bytes / time.
#include <stdio.h>
#include <stdlib.h>

#include "core/clock.h"
#include "train/dist.h"

enum { WARM = 3, REPS = 20 };

static int cmp_double(const void *a, const void *b) {
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

// Times REPS reductions of n floats; returns 0, or -1 with e.
static int time_size(size_t n, double *median, double *best, sv_err *e) {
    float *x = malloc(n * sizeof *x);
    if (!x) return sv_errf(e, "out of memory for %zu floats", n);
    for (size_t i = 0; i < n; i++) x[i] = (float)(i % 7) * 1e-3f;
    double t[REPS];
    int rc = 0;
    for (int r = 0; r < WARM + REPS && !rc; r++) {
        const double t0 = sv_now();
        rc = sv_dist_sum_floats(x, n, e);
        if (r >= WARM) t[r - WARM] = sv_now() - t0;
    }
    free(x);
    if (rc) return -1;
    qsort(t, REPS, sizeof *t, cmp_double);
    *median = t[REPS / 2], *best = t[0];
    return 0;
}

int main(int argc, char **argv) {
    sv_err e = {{0}};
    if (sv_dist_init(&argc, &argv, &e)) {
        fprintf(stderr, "allreduce_bench: %s\n", e.msg);
        return 1;
    }
    const int N = sv_dist_size();
    if (sv_dist_rank() == 0) printf("ranks %d\n%8s %12s %12s %14s\n", N, "MB", "median ms", "best ms", "bus GB/s");
    const char *def[] = {"2", "7", "20"};
    const int nsizes = argc > 1 ? argc - 1 : 3;
    for (int i = 0; i < nsizes; i++) {
        const double mb = atof(argc > 1 ? argv[i + 1] : def[i]);
        const size_t n = (size_t)(mb * 1e6 / sizeof(float));
        double med = 0, best = 0;
        if (n == 0 || time_size(n, &med, &best, &e)) {
            fprintf(stderr, "allreduce_bench: %s MB: %s\n", argc > 1 ? argv[i + 1] : def[i], n ? e.msg : "not a size");
            sv_dist_abort(1);
            return 1;
        }
        const double bus = N > 1 ? 2.0 * (N - 1) / N * (double)n * sizeof(float) / med / 1e9 : 0.0;
        if (sv_dist_rank() == 0) printf("%8.1f %12.3f %12.3f %14.2f\n", mb, med * 1e3, best * 1e3, bus);
    }
    sv_dist_finish();
    return 0;
}
