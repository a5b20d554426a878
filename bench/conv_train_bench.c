// conv_train_bench.c: time of the training conv (sv_conv_train, ops/conv.h) on BasicVSR's most common
// layer: a 64->64 3x3 conv with ReLU at 64x64 (the training patch), batch 8, blk 8 (AVX2's layout).
// Prints ms per forward, per backward (din, dw and db) and for both, the fastest of the timed runs, and
// the rate in direct-conv GFLOP/s (forward: 2*cin*cout*k*k*oh*ow*n; backward twice that).
//
// Build and run, from the repository root:
//   make bench
//   OMP_NUM_THREADS=2 build/bench/conv_train_bench [--reps N] [--blk 1|8|16] [--n N] [--ref]
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/layout.h"
#include "ops/conv.h"

int main(int argc, char **argv) {
    int reps = 5, blk = 8, n = 8, reference = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--reps") && i + 1 < argc) reps = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--blk") && i + 1 < argc) blk = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--n") && i + 1 < argc) n = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--ref")) reference = 1;
        else {
            fprintf(stderr, "usage: %s [--reps N] [--blk 1|8|16] [--n N] [--ref]\n", argv[0]);
            return 2;
        }
    }
    const sv_conv_desc d = {.cin = 64, .cout = 64, .k = 3, .pad = 1, .h = 64, .w = 64, .blk = blk, .act = 1};
    sv_err e = {{0}};
    sv_conv_train *p = sv_conv_train_create(&d, n, reference, &e);
    if (!p) {
        fprintf(stderr, "conv_train_bench: %s\n", e.msg);
        return 1;
    }
    const size_t nin = (size_t)n * sv_fmap_floats(d.cin, d.h, d.w, blk);
    const size_t nout = (size_t)n * sv_fmap_floats(d.cout, d.h, d.w, blk);
    const size_t nw = (size_t)d.cout * d.cin * d.k * d.k;
    float *in = malloc(nin * sizeof(float)), *out = malloc(nout * sizeof(float)), *dout = malloc(nout * sizeof(float));
    float *din = calloc(nin, sizeof(float)), *w = malloc(nw * sizeof(float)), *dw = calloc(nw, sizeof(float));
    float *b = calloc((size_t)d.cout, sizeof(float)), *db = calloc((size_t)d.cout, sizeof(float));
    if (!in || !out || !dout || !din || !w || !dw || !b || !db) {
        fprintf(stderr, "conv_train_bench: out of memory\n");
        return 1;
    }
    for (size_t i = 0; i < nin; i++) in[i] = (float)((i * 7919) % 1000) / 1000.0f - 0.5f;
    for (size_t i = 0; i < nout; i++) dout[i] = (float)((i * 104729) % 1000) / 1000.0f - 0.5f;
    for (size_t i = 0; i < nw; i++) w[i] = (float)((i * 31) % 100) / 1000.0f - 0.05f;

    double best_f = 1e30, best_b = 1e30;
    for (int r = 0; r <= reps; r++) {  // run 0 warms up
        const double t0 = omp_get_wtime();
        int rc = sv_conv_train_forward(p, out, in, w, b, NULL, &e);
        const double t1 = omp_get_wtime();
        rc = rc ? rc : sv_conv_train_backward(p, din, dw, db, dout, in, w, &e);
        const double t2 = omp_get_wtime();
        if (rc) {
            fprintf(stderr, "conv_train_bench: %s\n", e.msg);
            return 1;
        }
        if (r > 0 && t1 - t0 < best_f) best_f = t1 - t0;
        if (r > 0 && t2 - t1 < best_b) best_b = t2 - t1;
    }
    const double gflop = 2.0 * d.cin * d.cout * d.k * d.k * d.h * d.w * n * 1e-9;
    printf("conv 64->64 3x3 relu @64x64, n %d, blk %d, %d threads, %s\n", n, blk, omp_get_max_threads(),
           sv_conv_train_algo(p));
    printf("  forward   %8.2f ms  %6.1f GFLOP/s\n", best_f * 1e3, gflop / best_f);
    printf("  backward  %8.2f ms  %6.1f GFLOP/s  (din + dw + db)\n", best_b * 1e3, 2 * gflop / best_b);
    printf("  total     %8.2f ms per forward + backward\n", (best_f + best_b) * 1e3);
    sv_conv_train_free(p);
    free(in), free(out), free(dout), free(din), free(w), free(dw), free(b), free(db);
    return 0;
}
