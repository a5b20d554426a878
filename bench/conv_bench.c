// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// conv_bench.c: times every conv backend on BasicVSR's layer shapes (batch 1, fp32, blk = the preferred
// layout, OMP threads as set, 2 on the target machine) and prints, per run:
//   wall   the fastest wall time of the timed runs (the median is noisier on a shared machine)
//   cpu/T  the process CPU time of the fastest run divided by the thread count: what the wall time
//          would be on an idle machine (robust when other processes take the cores)
//   GFLOP/s direct-conv FLOPs (2*cin*cout*k*k*oh*ow) / wall, so a faster algorithm shows a higher rate
// With --torch it then runs bench/conv_bench_torch.py on the same shapes, in the same run.
//
// Build and run, from the repository root:
//   make bench
//   OMP_NUM_THREADS=2 build/bench/conv_bench [--torch] [--reps N] [--only SUBSTRING]
//
// The last table weighs each shape by how often one output frame (180x320 -> 720x1280) runs it and sums
// the per-frame conv time (cpu/T) of the plan's automatic choice, of oneDNN direct alone, and of PyTorch.
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/layout.h"
#include "ops/conv.h"
#include "ops/conv_internal.h"

typedef struct {
    const char *what;
    int cin, cout, k, h, w;
    double per_frame;  // runs per output frame of BasicVSR at 180x320 (C = 64, 30 blocks, 2 branches)
} shape;

// SPyNet runs twice per output frame (forward and backward flow), each time its 5 convs on every level
// of its 6-level pyramid (192x320 .. 6x10 for a 180x320 frame, padded to a multiple of 32).
#define SPY(H, W)                                                             \
    {"spynet 7x7 8->32 @" #H "x" #W, 8, 32, 7, H, W, 2},                      \
    {"spynet 7x7 32->64 @" #H "x" #W, 32, 64, 7, H, W, 2},                    \
    {"spynet 7x7 64->32 @" #H "x" #W, 64, 32, 7, H, W, 2},                    \
    {"spynet 7x7 32->16 @" #H "x" #W, 32, 16, 7, H, W, 2},                    \
    {"spynet 7x7 16->2 @" #H "x" #W, 16, 2, 7, H, W, 2}
static const shape shapes[] = {
    {"trunk block conv 64->64 @180x320", 64, 64, 3, 180, 320, 120},
    {"trunk first conv 67->64 @180x320", 67, 64, 3, 180, 320, 2},
    {"upconv1 64->256 +shuffle @180x320", 64, 256, 3, 180, 320, 1},  // "shuffle": + pixel shuffle 2x,
    {"upconv2 64->256 +shuffle @360x640", 64, 256, 3, 360, 640, 1},  //   as the model runs them
    {"conv_hr 64->64 @720x1280", 64, 64, 3, 720, 1280, 1},
    {"conv_last 64->3 @720x1280", 64, 3, 3, 720, 1280, 1},
    {"fusion 1x1 128->64 @180x320", 128, 64, 1, 180, 320, 1},
    SPY(192, 320), SPY(96, 160), SPY(48, 80), SPY(24, 40), SPY(12, 20), SPY(6, 10),
};
#undef SPY
enum { NSHAPES = sizeof shapes / sizeof *shapes };

static double now(void) { return omp_get_wtime(); }

static double cpu_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

// One run of the plan; a failed run (out of memory, oneDNN) ends the benchmark with its cause.
static void run_plan(sv_conv_plan *p, float *out, const float *in) {
    sv_err e;
    if (sv_conv_plan_run(p, out, in, out, &e)) {
        fprintf(stderr, "conv_bench: %s: %s\n", sv_conv_plan_algo(p), e.msg);
        exit(1);
    }
}

// Runs the plan once to warm up, then reps times (fewer for slow shapes); returns the fastest wall time
// in ms and, in *cpu_per_thread, the smallest CPU time per run divided by the thread count.
static double time_plan(sv_conv_plan *p, float *out, const float *in, int reps, double *cpu_per_thread) {
    double t = now();
    run_plan(p, out, in);
    t = now() - t;
    if (t > 0.3 && reps > 3) reps = 3;
    double best = 1e30, best_cpu = 1e30;
    for (int r = 0; r < reps; r++) {
        const double t0 = now(), c0 = cpu_now();
        run_plan(p, out, in);
        const double c = (cpu_now() - c0) * 1e3, w = (now() - t0) * 1e3;
        if (w < best) best = w;
        if (c < best_cpu) best_cpu = c;
    }
    *cpu_per_thread = best_cpu / omp_get_max_threads();
    return best;
}

int main(int argc, char **argv) {
    int reps = 7, torch = 0;
    const char *only = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--torch")) torch = 1;
        else if (!strcmp(argv[i], "--reps") && i + 1 < argc) reps = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--only") && i + 1 < argc) only = argv[++i];
        else {
            fprintf(stderr, "usage: %s [--torch] [--reps N] [--only SUBSTRING]\n", argv[0]);
            return 2;
        }
    }
    const int blk = sv_conv_preferred_blk();
    printf("threads %d, blk %d, best of %d runs\n", omp_get_max_threads(), blk, reps);
    printf("%-34s %-36s %9s %9s %8s\n", "shape", "algorithm", "wall ms", "cpu/T ms", "GFLOP/s");
    double auto_ms[NSHAPES] = {0}, dnnl_ms[NSHAPES] = {0};
    for (int s = 0; s < NSHAPES; s++) {
        const shape *sh = &shapes[s];
        if (only && !strstr(sh->what, only)) continue;
        const int pad = sh->k / 2;
        const size_t nin = sv_fmap_floats(sh->cin, sh->h, sh->w, blk), nout = sv_fmap_floats(sh->cout, sh->h, sh->w, blk);
        const size_t nw = (size_t)sh->cout * sh->cin * sh->k * sh->k;
        float *in = calloc(nin, sizeof(float)), *out = calloc(nout, sizeof(float));
        float *wt = malloc(nw * sizeof(float)), *b = malloc(sh->cout * sizeof(float));
        for (int c = 0; c < sh->cin; c++)
            for (int p = 0; p < sh->h * sh->w; p++)
                in[sv_fmap_index(c, p / sh->w, p % sh->w, sh->h, sh->w, blk)] = (float)((c * 7 + p) % 13) / 13.0f;
        for (size_t i = 0; i < nw; i++) wt[i] = (float)((i * 5) % 11) / 11.0f - 0.5f;
        for (int i = 0; i < sh->cout; i++) b[i] = 0.01f * i;
        const double gflop = 2.0 * sh->cin * sh->cout * sh->k * sh->k * sh->h * sh->w * 1e-9;
        static const int algos[] = {SV_CONV_AUTO, SV_CONV_WINO6, SV_CONV_WINO, SV_CONV_WINO7, SV_CONV_WINO7F4, SV_CONV_DNNL,
                                    SV_CONV_DNNL_AUTO};
        for (size_t ai = 0; ai < sizeof algos / sizeof *algos; ai++) {
            const int algo = algos[ai];
            if ((algo == SV_CONV_WINO || algo == SV_CONV_WINO6) && sh->k != 3) continue;
            if ((algo == SV_CONV_WINO7 || algo == SV_CONV_WINO7F4) && sh->k != 7) continue;
            // the trunk's second conv: residual in place (out = x + conv), as the model runs it
            sv_conv_desc d = {.cin = sh->cin, .cout = sh->cout, .k = sh->k, .pad = pad, .h = sh->h, .w = sh->w,
                              .blk = blk, .act = s != 0, .act_slope = 0.1f, .residual = s == 0,
                              .shuffle = strstr(sh->what, "shuffle") ? 2 : 0};
            sv_err e;
            sv_conv_plan *p = sv_conv_plan_create_algo(&d, wt, b, algo, &e);
            if (!p) {
                printf("%-34s algorithm %d failed: %s\n", sh->what, algo, e.msg);
                continue;
            }
            double cpu_t, ms = time_plan(p, out, in, reps, &cpu_t);
            char name[80];
            snprintf(name, sizeof name, "%s%s", algo == SV_CONV_AUTO ? "auto=" : "", sv_conv_plan_algo(p));
            printf("%-34s %-36s %9.2f %9.2f %8.1f\n", sh->what, name, ms, cpu_t, gflop / (ms * 1e-3));
            fflush(stdout);
            if (algo == SV_CONV_AUTO) auto_ms[s] = cpu_t;
            if (algo == SV_CONV_DNNL) dnnl_ms[s] = cpu_t;
            sv_conv_plan_free(p);
        }
        free(in), free(out), free(wt), free(b);
    }

    double torch_ms[NSHAPES][2] = {{0}};  // cpu/T: nchw, mkldnn layout
    if (torch) {
        fflush(stdout);
        FILE *f = popen("/usr/bin/python3 bench/conv_bench_torch.py 5", "r");
        char line[256];
        int cin, cout, k, h, w;
        double wn, cn, wm, cm;
        while (f && fgets(line, sizeof line, f))
            if (sscanf(line, "torch %d %d %d %d %d %lf %lf %lf %lf", &cin, &cout, &k, &h, &w, &wn, &cn, &wm, &cm) == 9)
                for (int s = 0; s < NSHAPES; s++)
                    if (shapes[s].cin == cin && shapes[s].cout == cout && shapes[s].k == k && shapes[s].h == h &&
                        shapes[s].w == w) {
                        const double gflop = 2.0 * cin * cout * k * k * h * w * 1e-9;
                        printf("%-34s %-36s %9.2f %9.2f %8.1f\n", shapes[s].what, "torch (nchw, + reorders)", wn, cn,
                               gflop / (wn * 1e-3));
                        printf("%-34s %-36s %9.2f %9.2f %8.1f\n", shapes[s].what, "torch (mkldnn layout)", wm, cm,
                               gflop / (wm * 1e-3));
                        torch_ms[s][0] = cn, torch_ms[s][1] = cm;
                    }
        if (!f || pclose(f) != 0) printf("(bench/conv_bench_torch.py failed)\n");
    }

    printf("\nper output frame (180x320 -> 720x1280), conv time only, cpu/T ms:\n");
    printf("%-34s %7s %9s %10s %10s %11s %12s\n", "shape", "runs", "auto", "onednn", "torch-mkl", "torch-nchw",
           "nchw/auto");
    double sum[4] = {0};
    for (int s = 0; s < NSHAPES; s++) {
        const double n = shapes[s].per_frame;
        if (only && !strstr(shapes[s].what, only)) continue;
        printf("%-34s %7.1f %9.1f %10.1f %10.1f %11.1f %11.2fx\n", shapes[s].what, n, n * auto_ms[s], n * dnnl_ms[s],
               n * torch_ms[s][1], n * torch_ms[s][0], auto_ms[s] > 0 ? torch_ms[s][0] / auto_ms[s] : 0.0);
        sum[0] += n * auto_ms[s], sum[1] += n * dnnl_ms[s], sum[2] += n * torch_ms[s][1], sum[3] += n * torch_ms[s][0];
    }
    printf("%-34s %7s %9.1f %10.1f %10.1f %11.1f %11.2fx\n", "total", "", sum[0], sum[1], sum[2], sum[3],
           sum[0] > 0 ? sum[3] / sum[0] : 0.0);
    return 0;
}
