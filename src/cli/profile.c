// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// profile.c: the per-layer profile table (SLIMVSR_PROFILE=2, `slimvsr info --profile`): every conv layer,
// the work between the convs, and the layer groups (model/profile.h).
#include <omp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/progress.h"
#include "core/clock.h"
#include "model/profile.h"

static double pct(double part, double total) { return total > 0 ? 100.0 * part / total : 0; }

// Where a layer is printed: SPyNet, then the trunks, then the reconstruction (the model's order; within
// each, the order of the first calls: backward trunk before forward, block by block).
static int stage_of(const sv_prof_layer *L) {
    const sv_prof_group g = sv_prof_layer_group(L->kind);
    return g == SV_GROUP_SPYNET ? 0 : g == SV_GROUP_FIRST || g == SV_GROUP_CONV1 || g == SV_GROUP_CONV2 ? 1 : 2;
}

static void print_layers(FILE *f, const sv_prof_table *t, double total) {
    fprintf(f, "%-40s %-34s %6s %9s %6s %8s %8s %s\n", "layer", "backend", "calls", "ms/call", "share", "GFLOP",
            "GFLOP/s", "winograd in/gemm/out %");
    for (int j = 0; j < 3 * t->n; j++) {
        const sv_prof_layer *L = &t->layer[j % t->n];
        if (stage_of(L) != j / t->n) continue;
        const double n = L->calls > 0 ? (double)L->calls : 1, ph = L->phase[0] + L->phase[1] + L->phase[2];
        char split[32] = "";
        if (ph > 0)
            snprintf(split, sizeof split, "%.0f/%.0f/%.0f", pct(L->phase[0], ph), pct(L->phase[1], ph),
                     pct(L->phase[2], ph));
        fprintf(f, "%-40s %-34s %6ld %9.3f %5.1f%% %8.4f %8.1f %s\n", L->name, L->backend, L->calls,
                1e3 * L->seconds / n, pct(L->seconds, total), 1e-9 * L->flops / n,
                L->seconds > 0 ? 1e-9 * L->flops / L->seconds : 0, split);
    }
    if (t->lost_calls)
        fprintf(f, "%-40s %-34s %6ld %9.3f %5.1f%%\n", "(layers past the table's end)", "", t->lost_calls,
                1e3 * t->lost_seconds / (double)t->lost_calls, pct(t->lost_seconds, total));
}

static void print_kinds(FILE *f, const sv_runner_profile *p, const sv_prof_table *t, double total) {
    fprintf(f, "\n%-40s %-34s %6s %9s %6s\n", "between the convs", "", "calls", "ms/call", "share");
    for (int k = 0; k < SV_PROF_NKINDS; k++) {
        if (!t->kind_calls[k]) continue;
        fprintf(f, "%-40s %-34s %6ld %9.3f %5.1f%%\n", sv_prof_kind_name((sv_prof_kind)k), "", t->kind_calls[k],
                1e3 * t->kind_seconds[k] / (double)t->kind_calls[k], pct(t->kind_seconds[k], total));
    }
    if (p->emit > 0)
        fprintf(f, "%-40s %-34s %6d %9.3f %5.1f%%\n", "output (convert + encode)", "", p->frames,
                1e3 * p->emit / p->frames, pct(p->emit, total));
}

void cli_profile_table(FILE *f, const sv_runner_profile *p, const sv_prof_table *t) {
    if (!p || !t || p->frames <= 0) return;
    double sec[SV_NGROUPS], flops[SV_NGROUPS], conv = 0;
    const double total = sv_prof_groups(p, t, sec, flops), n = p->frames;
    for (int i = 0; i < t->n; i++) conv += t->layer[i].seconds;
    fprintf(f, "per-layer profile over %d frames: %.3f s in the runner (%.3f s per frame), %.1f%% of it in convs\n",
            p->frames, total, total / n, pct(conv, total));
    print_layers(f, t, total);
    print_kinds(f, p, t, total);
    fprintf(f, "\n%-40s %10s %6s %12s %8s\n", "group", "ms/frame", "share", "GFLOP/frame", "GFLOP/s");
    for (int g = 0; g < SV_NGROUPS; g++)
        fprintf(f, "%-40s %10.2f %5.1f%% %12.3f %8.1f\n", sv_prof_group_name((sv_prof_group)g), 1e3 * sec[g] / n,
                pct(sec[g], total), 1e-9 * flops[g] / n, sec[g] > 0 ? 1e-9 * flops[g] / sec[g] : 0);
    double fl = 0;
    for (int g = 0; g < SV_NGROUPS; g++) fl += flops[g];
    fprintf(f, "%-40s %10.2f %5.1f%% %12.3f %8.1f\n", "total", 1e3 * total / n, 100.0, 1e-9 * fl / n,
            total > 0 ? 1e-9 * fl / total : 0);
}

// The CPU's name from /proc/cpuinfo (empty when there is none).
static void cpu_name(char *out, size_t n) {
    out[0] = 0;
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f) return;
    char line[512];
    while (fgets(line, sizeof line, f)) {
        char *v;
        if (!strncmp(line, "model name", 10) && (v = strchr(line, ':'))) {
            v += v[1] == ' ' ? 2 : 1;
            v[strcspn(v, "\n")] = 0;
            snprintf(out, n, "%s", v);
            break;
        }
    }
    fclose(f);
}

int cli_info_profile(const sv_model *m, int h, int w, int frames) {
    sv_err e;
    const double t0 = sv_now();
    sv_runner *r = sv_runner_create(m, h, w, frames, SV_EXEC_FAST, &e);
    if (!r) {
        fprintf(stderr, "slimvsr info: %s\n", e.msg);
        return 1;
    }
    const double t1 = sv_now();
    const size_t per = (size_t)3 * h * w;
    float *data = malloc(per * (size_t)frames * sizeof(float));
    const float **fr = malloc((size_t)frames * sizeof *fr);
    int rc = 0;
    if (!data || !fr) {
        fprintf(stderr, "slimvsr info: out of memory for %d frames of %dx%d\n", frames, w, h);
        rc = 1;
    } else {
        uint64_t s = 0x9E3779B97F4A7C15ull;  // random frames in [0, 1): the time does not depend on the content
        for (size_t i = 0; i < per * (size_t)frames; i++) {
            s = s * 6364136223846793005ull + 1442695040888963407ull;
            data[i] = (float)(s >> 40) / (float)(1 << 24);
        }
        for (int i = 0; i < frames; i++) fr[i] = data + per * (size_t)i;
        const double t2 = sv_now();
        if (sv_runner_run(r, fr, frames, NULL, NULL, &e)) {
            fprintf(stderr, "slimvsr info: %s\n", e.msg);
            rc = 1;
        } else {
            char cpu[256];
            cpu_name(cpu, sizeof cpu);
            printf("%d random frames of %dx%d, %d threads, CPU %s; planning %.3f s, run %.3f s (wall)\n", frames,
                   h, w, omp_get_max_threads(), cpu[0] ? cpu : "unknown", t1 - t0, sv_now() - t2);
            const sv_runner_profile p = sv_runner_get_profile(r);
            cli_profile_table(stdout, &p, sv_runner_get_layers(r));
        }
    }
    free(data);
    free(fr);
    sv_runner_free(r);
    return rc;
}
