// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// rsc_bench.c: times one pruned residual block (RSC: y[K2] += conv2(relu(conv1(y[S])))) per algorithm of
// ops/rsc.h, over a sweep of the block's width k (S, conv1's outputs and K2 all k channels, and some
// shapes of real pruned models), at the LR frame size, on the preferred layout (blk 16 with AVX-512,
// else 8). Columns, in ms per block (the fastest of the timed runs; the algorithms take turns, so a change
// in the machine's load hits each):
//   separate  the block as the runner ran it before ops/rsc.h: gather, conv1, conv2, scatter-add, each a
//             pass over the whole frame with conv plans at y's layout
//   passes    the same passes with the block's own maps at sv_rsc_inner_blk's layout (ops/rsc.h)
//   strips    strips of SV_RSC_STRIP_ROWS output rows (maps in cache, halo rows computed twice)
//   direct    both convs vectorised over output channels, straight on y (where it takes the shape)
//   planar    both convs vectorised over pixels on small planar maps, strip by strip down each thread's band
//   auto      what sv_rsc_plan_create picks
// --phases adds, per shape, the phases of the passes and the planar algorithm: gather, conv1, conv2,
// scatter-add (ms per call, medians of the timed runs; planar's per thread, its threads run them at once);
// --shape A,B,C times only that block (S A channels, B mid, K2 C);
// --avx2 runs none of our AVX-512 kernels (what an AVX2-only CPU runs: y at blk 8, 8-wide vectors).
// Build and run from the repository root: make bench; OMP_NUM_THREADS=2 build/bench/rsc_bench [--reps N]
// [--size HxW] [--feat C] [--phases] [--shape A,B,C] [--avx2]
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/layout.h"
#include "ops/conv.h"
#include "ops/ops.h"
#include "ops/rsc.h"
#include "ops/rsc_internal.h"

typedef struct {
    int nin, nmid, nout;
} widths;

// k -> k -> k, then shapes of real pruned blocks: the shipped ssl model (48 -> 8 -> 48) and a 64x30 model
// pruned to half its units by SSL (31 -> 23 -> 35, 40 -> 42 -> 24)
static const widths sweep[] = {{1, 1, 1},   {2, 2, 2},   {4, 4, 4},   {6, 6, 6},    {8, 8, 8},    {12, 12, 12},
                               {16, 16, 16}, {20, 20, 20}, {24, 24, 24}, {32, 32, 32}, {40, 40, 40}, {48, 48, 48},
                               {31, 23, 35}, {40, 42, 24}, {1, 3, 6}};
enum { NALGO = 6 };
static const char *names[NALGO] = {"separate", "passes", "strips", "direct", "planar", "auto"};
static const int algos[NALGO] = {-1, SV_RSC_PASSES, SV_RSC_STRIPS, SV_RSC_DIRECT, SV_RSC_PLANAR, SV_RSC_AUTO};

typedef struct {
    sv_rsc_desc d;
    sv_conv_plan *c1, *c2;
    float *g, *m, *r;
} separate;

static int separate_init(separate *s, const sv_rsc_desc *d) {
    sv_err e;
    s->d = *d;
    const sv_conv_desc c1 = {.cin = d->nin, .cout = d->nmid, .k = 3, .pad = 1, .h = d->h, .w = d->w, .blk = d->blk,
                             .act = 1};
    sv_conv_desc c2 = c1;
    c2.cin = d->nmid, c2.cout = d->nout, c2.act = 0;
    s->c1 = sv_conv_plan_create(&c1, d->w1, d->b1, &e);
    s->c2 = s->c1 ? sv_conv_plan_create(&c2, d->w2, d->b2, &e) : NULL;
    s->g = calloc(sv_fmap_floats(d->nin, d->h, d->w, d->blk), sizeof(float));
    s->m = malloc(sv_fmap_floats(d->nmid, d->h, d->w, d->blk) * sizeof(float));
    s->r = malloc(sv_fmap_floats(d->nout, d->h, d->w, d->blk) * sizeof(float));
    return s->c2 && s->g && s->m && s->r ? 0 : -1;
}

static void separate_run(separate *s, float *y) {
    const sv_rsc_desc *d = &s->d;
    const sv_fmap ym = sv_fmap_one(y, d->C, d->h, d->w, d->blk);
    channel_gather(sv_fmap_one(s->g, d->nin, d->h, d->w, d->blk), ym, d->in_idx);
    sv_conv_plan_run(s->c1, s->m, s->g, NULL, NULL);
    sv_conv_plan_run(s->c2, s->r, s->m, NULL, NULL);
    channel_scatter_add(ym, sv_fmap_one(s->r, d->nout, d->h, d->w, d->blk), d->out_idx);
}

static void separate_free(separate *s) {
    sv_conv_plan_free(s->c1);
    sv_conv_plan_free(s->c2);
    free(s->g), free(s->m), free(s->r);
}

static float *random_floats(size_t n, float scale, unsigned *seed) {
    float *x = malloc((n ? n : 1) * sizeof(float));
    for (size_t i = 0; i < n; i++) x[i] = scale * ((float)rand_r(seed) / RAND_MAX - 0.5f);
    return x;
}

static int cmp_double(const void *a, const void *b) {
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void bench_shape(widths wd, int C, int h, int w, int blk, int reps, int phases) {
    unsigned seed = 1;
    int *S = malloc((size_t)C * sizeof(int)), *K = malloc((size_t)C * sizeof(int));
    for (int i = 0; i < C; i++) S[i] = (i * 7 + 1) % C, K[i] = (i * 5 + 3) % C;  // spread over the blocks
    float *w1 = random_floats((size_t)wd.nmid * wd.nin * 9, 0.1f, &seed), *b1 = random_floats(wd.nmid, 0.1f, &seed),
          *w2 = random_floats((size_t)wd.nout * wd.nmid * 9, 0.1f, &seed), *b2 = random_floats(wd.nout, 0.1f, &seed);
    const size_t ny = sv_fmap_floats(C, h, w, blk);
    float *y = calloc(ny, sizeof(float));
    const sv_rsc_desc base = {.C = C, .h = h, .w = w, .blk = blk, .nin = wd.nin, .nmid = wd.nmid, .nout = wd.nout,
                              .k = 3, .in_idx = S, .out_idx = K, .w1 = w1, .b1 = b1, .w2 = w2, .b2 = b2};
    sv_rsc_plan *plan[NALGO] = {0};
    float *ws[NALGO] = {0};
    separate sep;
    const int have_sep = separate_init(&sep, &base) == 0;
    for (int a = 1; a < NALGO; a++) {
        sv_rsc_desc d = base;
        d.algo = algos[a];
        if (algos[a] == SV_RSC_DIRECT && !sv_rsc_direct_takes(&d)) continue;
        sv_err e;
        if (!(plan[a] = sv_rsc_plan_create(&d, &e))) continue;
        ws[a] = aligned_alloc(64, (sv_rsc_plan_workspace(plan[a]) + 16) * sizeof(float));
    }
    double best[NALGO];
    for (int a = 0; a < NALGO; a++) best[a] = 1e30;
    // per algorithm with phases (passes, planar), per phase: the timed runs' seconds
    double *ph_runs = calloc((size_t)NALGO * 4 * ((size_t)reps + 1), sizeof(double));
    for (int r = 0; r <= reps; r++)  // round 0 warms up
        for (int a = 0; a < NALGO; a++) {
            if (a == 0 ? !have_sep : !plan[a]) continue;
            const double t0 = omp_get_wtime();
            if (a == 0) separate_run(&sep, y);
            else sv_rsc_plan_run(plan[a], y, ws[a], NULL);
            const double t = (omp_get_wtime() - t0) * 1e3;
            if (r > 0 && t < best[a]) best[a] = t;
            if (r > 0 && (algos[a] == SV_RSC_PASSES || algos[a] == SV_RSC_PLANAR)) {
                double ph[4];
                sv_rsc_plan_phases(plan[a], ph);
                for (int i = 0; i < 4; i++) ph_runs[((size_t)a * 4 + i) * (reps + 1) + r - 1] = ph[i] * 1e3;
            }
        }
    printf("%3d -> %3d -> %3d ", wd.nin, wd.nmid, wd.nout);
    for (int a = 0; a < NALGO; a++) {
        if (best[a] < 1e30) printf(" %9.3f", best[a]);
        else printf(" %9s", "-");
    }
    printf("   %s\n", plan[NALGO - 1] ? sv_rsc_plan_algo(plan[NALGO - 1]) : "");
    for (int a = 0; phases && reps > 0 && a < NALGO; a++) {
        if (!plan[a] || (algos[a] != SV_RSC_PASSES && algos[a] != SV_RSC_PLANAR)) continue;
        printf("%17s %s (medians, ms%s): gather", "", names[a], algos[a] == SV_RSC_PLANAR ? " per thread" : "");
        static const char *const ph_names[4] = {"gather", "conv1", "conv2", "scatter-add"};
        for (int i = 0; i < 4; i++) {
            double *v = ph_runs + ((size_t)a * 4 + i) * (reps + 1);
            qsort(v, (size_t)reps, sizeof *v, cmp_double);
            // planar's phases are summed over its threads
            printf("%s%s %.3f", i ? ", " : " ", i ? ph_names[i] : "", v[reps / 2] / (algos[a] == SV_RSC_PLANAR ? omp_get_max_threads() : 1));
        }
        printf("\n");
    }
    free(ph_runs);
    for (int a = 0; a < NALGO; a++) {
        sv_rsc_plan_free(plan[a]);
        free(ws[a]);
    }
    if (have_sep) separate_free(&sep);
    free(S), free(K), free(w1), free(b1), free(w2), free(b2), free(y);
}

int main(int argc, char **argv) {
    int reps = 7, h = 180, w = 320, C = 64, phases = 0, avx2 = 0;
    widths only = {0, 0, 0};
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--reps") && i + 1 < argc) reps = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--size") && i + 1 < argc && sscanf(argv[i + 1], "%dx%d", &h, &w) == 2) i++;
        else if (!strcmp(argv[i], "--feat") && i + 1 < argc) C = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--phases")) phases = 1;
        else if (!strcmp(argv[i], "--avx2")) avx2 = 1;
        else if (!strcmp(argv[i], "--shape") && i + 1 < argc &&
                 sscanf(argv[i + 1], "%d,%d,%d", &only.nin, &only.nmid, &only.nout) == 3 && only.nin > 0 &&
                 only.nmid > 0 && only.nout > 0)
            i++;
        else {
            fprintf(stderr, "usage: %s [--reps N] [--size HxW] [--feat C] [--phases] [--shape A,B,C] [--avx2]\n",
                    argv[0]);
            return 2;
        }
    }
    sv_err e;
    if (avx2 && sv_conv_configure(&(sv_conv_config){.avx2_only = 1}, &e)) {
        fprintf(stderr, "%s: %s\n", argv[0], e.msg);
        return 2;
    }
    const int blk = sv_conv_preferred_blk();
    printf("RSC block, %d-channel hidden state, %dx%d, blk %d, %d threads, best of %d (ms per block)\n", C, h, w,
           blk, omp_get_max_threads(), reps);
    printf("%-17s", "S -> mid -> K2");
    for (int a = 0; a < NALGO; a++) printf(" %9s", names[a]);
    printf("   auto's choice\n");
    if (only.nin) {
        if (only.nin <= C && only.nout <= C) bench_shape(only, C, h, w, blk, reps, phases);
        return 0;
    }
    for (size_t i = 0; i < sizeof sweep / sizeof *sweep; i++)
        if (sweep[i].nin <= C && sweep[i].nout <= C) bench_shape(sweep[i], C, h, w, blk, reps, phases);
    return 0;
}
