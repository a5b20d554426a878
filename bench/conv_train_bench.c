// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// conv_train_bench.c: time of the training conv (sv_conv_train, ops/conv.h) on BasicVSR's most common layer:
// a C->C 3x3 conv with ReLU at 64x64 (the training patch; --c, --cout, --k, --size change it), batch n
// (default 14: 2 clips of 7 frames), blk 8 (AVX2's layout), with each
// backend in turn (default: oneDNN for every phase, then the automatic choice, which puts our Winograd on
// forward and backward-data). Per backend it prints ms per forward, per backward-data (din alone),
// per backward-weights (dw and db), per full backward (din, dw and db) and for forward + full backward: the
// fastest of the timed runs, and the rate in direct-conv GFLOP/s (2*cin*cout*k*k*oh*ow*n per phase).
//
// Build and run, from the repository root:
//   make bench
//   OMP_NUM_THREADS=2 build/bench/conv_train_bench [--reps N] [--c C] [--blk 8|16|1] [--n N]
//                                                  [--algo dnnl|auto|wino|wino6|ref]...
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/layout.h"
#include "ops/conv.h"
#include "ops/conv_internal.h"

enum { FWD, BDATA, BWEI, BALL, NPHASE };
static const char *phase_name[NPHASE] = {"forward", "bwd-data", "bwd-weights", "backward"};

// Runs one backend; best[NPHASE] gets the fastest seconds per phase. Returns -1 when it failed.
static int bench_algo(const sv_conv_desc *d, int n, int algo, int reps, double best[NPHASE]) {
    sv_err e = {{0}};
    sv_conv_train *p = sv_conv_train_create_algo(d, n, algo, &e);
    if (!p) {
        fprintf(stderr, "conv_train_bench: %s: %s\n", sv_conv_algo_name(algo), e.msg);
        return -1;
    }
    const size_t nin = (size_t)n * sv_fmap_floats(d->cin, d->h, d->w, d->blk);
    const size_t nout = (size_t)n * sv_fmap_floats(d->cout, d->h, d->w, d->blk);
    const size_t nw = (size_t)d->cout * d->cin * d->k * d->k;
    float *in = calloc(nin, sizeof(float)), *out = calloc(nout, sizeof(float)), *dout = calloc(nout, sizeof(float));
    float *din = calloc(nin, sizeof(float)), *w = malloc(nw * sizeof(float)), *dw = calloc(nw, sizeof(float));
    float *b = calloc((size_t)d->cout, sizeof(float)), *db = calloc((size_t)d->cout, sizeof(float));
    int rc = 0;
    if (!in || !out || !dout || !din || !w || !dw || !b || !db) {
        fprintf(stderr, "conv_train_bench: out of memory\n");
        rc = -1;
        goto done;
    }
    for (int s = 0; s < n; s++)  // real channels only: the padding ones stay zero
        for (int c = 0; c < d->cin; c++)
            for (int i = 0; i < d->h * d->w; i++)
                in[s * nin / n + sv_fmap_index(c, i / d->w, i % d->w, d->h, d->w, d->blk)] =
                    (float)((i * 7919 + c) % 1000) / 1000.0f - 0.5f;
    for (int s = 0; s < n; s++)
        for (int c = 0; c < d->cout; c++)
            for (int i = 0; i < d->h * d->w; i++)
                dout[s * nout / n + sv_fmap_index(c, i / d->w, i % d->w, d->h, d->w, d->blk)] =
                    (float)((i * 104729 + c) % 1000) / 1000.0f - 0.5f;
    for (size_t i = 0; i < nw; i++) w[i] = (float)((i * 31) % 100) / 1000.0f - 0.05f;
    for (int i = 0; i < NPHASE; i++) best[i] = 1e30;
    for (int r = 0; r <= reps; r++) {  // run 0 warms up
        // the weights change every run (an optimiser step), so each run includes the Winograd transforms
        w[r % nw] += 1e-3f;
        double t[NPHASE + 1];
        t[0] = omp_get_wtime();
        rc = sv_conv_train_forward(p, out, in, w, b, NULL, &e);
        t[1] = omp_get_wtime();
        rc = rc ? rc : sv_conv_train_backward(p, din, NULL, NULL, dout, in, w, &e);
        t[2] = omp_get_wtime();
        rc = rc ? rc : sv_conv_train_backward(p, NULL, dw, db, dout, in, w, &e);
        t[3] = omp_get_wtime();
        w[r % nw] += 1e-3f;
        rc = rc ? rc : sv_conv_train_backward(p, din, dw, db, dout, in, w, &e);
        t[4] = omp_get_wtime();
        if (rc) {
            fprintf(stderr, "conv_train_bench: %s\n", e.msg);
            goto done;
        }
        for (int i = 0; r > 0 && i < NPHASE; i++)
            if (t[i + 1] - t[i] < best[i]) best[i] = t[i + 1] - t[i];
    }
    printf("  %-5s %s\n", sv_conv_algo_name(algo), sv_conv_train_algo(p));
done:
    sv_conv_train_free(p);
    free(in), free(out), free(dout), free(din), free(w), free(dw), free(b), free(db);
    return rc;
}

int main(int argc, char **argv) {
    int reps = 5, blk = 8, n = 14, c = 64, cout = 0, k = 3, hw = 64, algos[8], nalgo = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--reps") && i + 1 < argc) reps = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--blk") && i + 1 < argc) blk = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--n") && i + 1 < argc) n = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--c") && i + 1 < argc) c = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--cout") && i + 1 < argc) cout = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--k") && i + 1 < argc) k = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--size") && i + 1 < argc) hw = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--algo") && i + 1 < argc && nalgo < 8) {
            const char *a = argv[++i];
            int id = -1;
            for (int j = 0; j < SV_CONV_NALGO; j++)
                if (!strcmp(a, sv_conv_algo_name(j))) id = j;
            if (id < 0) {
                fprintf(stderr, "conv_train_bench: unknown --algo %s\n", a);
                return 2;
            }
            algos[nalgo++] = id;
        } else {
            fprintf(stderr, "usage: %s [--reps N] [--c C] [--cout C] [--k K] [--size HW] [--blk 1|8|16] [--n N] "
                    "[--algo dnnl|auto|wino|wino6|wino7|wino7f4|ref]...\n", argv[0]);
            return 2;
        }
    }
    if (!nalgo) algos[nalgo++] = SV_CONV_DNNL, algos[nalgo++] = SV_CONV_AUTO;
    if (cout <= 0) cout = c;
    const sv_conv_desc d = {.cin = c, .cout = cout, .k = k, .pad = k / 2, .h = hw, .w = hw, .blk = blk, .act = 1};
    const double gflop = 2.0 * d.cin * d.cout * d.k * d.k * d.h * d.w * n * 1e-9;
    const double flops[NPHASE] = {gflop, gflop, gflop, 2 * gflop};
    printf("conv %d->%d %dx%d relu @%dx%d, n %d, blk %d, %d threads, best of %d\n", c, cout, k, k, hw, hw, n, blk,
           omp_get_max_threads(), reps);
    double best[8][NPHASE];
    for (int a = 0; a < nalgo; a++)
        if (bench_algo(&d, n, algos[a], reps, best[a])) return 1;
    printf("  %-12s", "ms (GFLOP/s)");
    for (int a = 0; a < nalgo; a++) printf(" %20s", sv_conv_algo_name(algos[a]));
    printf("\n");
    for (int i = 0; i <= NPHASE; i++) {
        printf("  %-12s", i < NPHASE ? phase_name[i] : "fwd+backward");
        for (int a = 0; a < nalgo; a++) {
            const double s = i < NPHASE ? best[a][i] : best[a][FWD] + best[a][BALL];
            const double f = i < NPHASE ? flops[i] : 3 * gflop;
            printf("    %8.2f (%6.1f)", s * 1e3, f / s);
        }
        printf("\n");
    }
    return 0;
}
