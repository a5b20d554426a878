// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// uni_latency.c: seconds per frame and latency of a forward-only model (direction uni, issue 17 item 4)
// against the bidirectional model of the same width and blocks, random weights (the time does not depend
// on them), through the public streaming upscaler (slimvsr_upscaler_*), as a live application runs it:
//   build/bench/uni_latency [--feat 64] [--blocks 30] [--size HxW] [--frames N] [--fps F] [--chunk N]
//                           [--lookahead N] [--seed S]
// Frame i arrives at i / F seconds after the first (F 0, the default: each as soon as the upscaler takes
// it, a source that is never waited for). s/frame is the time spent in the upscaler's calls per frame (the
// compute, whatever the source's pace). A frame's latency is the time from its arrival (the push that
// hands it over) to the pull that returns its HR frame; a bidirectional model holds a frame until the
// chunk's last frame and the lookahead after it have arrived, a uni model until its own output is done.
// --chunk and --lookahead are the bidirectional model's (default: planned as for an open-ended stream,
// frame_count 0); the uni model always runs chunk 1, lookahead 0. bench/uni_latency.sh names the CPU.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/clock.h"
#include "slimvsr.h"
#include "train/model_init.h"

typedef struct {
    int feat, blocks, h, w, frames, chunk, lookahead;
    double fps;
    unsigned long long seed;
} bench_opts;

typedef struct {
    int chunk, lookahead;
    double per_frame, mean, max, first;  // seconds: in the upscaler's calls per frame; latency mean, max, frame 0
} result;

static void sleep_until(double t) {
    const double d = t - sv_now();
    if (d <= 0) return;
    struct timespec ts = {(time_t)d, (long)((d - (double)(time_t)d) * 1e9)};
    nanosleep(&ts, NULL);
}

// Pulls every HR frame ready now, stamping each with the time it came out.
static int pull_ready(slimvsr_upscaler *u, slimvsr_frame *hr, double *out, int *k, int n) {
    int rc;
    while ((rc = slimvsr_upscaler_pull(u, hr)) == SLIMVSR_OK)
        if (*k < n) out[(*k)++] = sv_now();
    return rc == SLIMVSR_AGAIN || rc == SLIMVSR_END ? 0 : -1;
}

// One model through the upscaler; 0, or -1 after a message.
static int run_model(const char *path, const bench_opts *o, int uni, result *r) {
    slimvsr_model *m = NULL;
    slimvsr_upscaler *u = NULL;
    slimvsr_upscaler_options uo = slimvsr_upscaler_options_default();
    if (!uni) uo.chunk = o->chunk, uo.lookahead = o->lookahead;
    const size_t lr_bytes = (size_t)3 * o->h * o->w, hr_bytes = lr_bytes * 16;
    unsigned char *lr = malloc(lr_bytes), *hrb = malloc(hr_bytes);
    double *arrive = calloc((size_t)o->frames, sizeof(double)), *out = calloc((size_t)o->frames, sizeof(double));
    int rc = -1, k = 0;
    if (!lr || !hrb || !arrive || !out) {
        fprintf(stderr, "uni_latency: out of memory\n");
        goto done;
    }
    if (slimvsr_model_load(path, &m) || slimvsr_upscaler_create(m, o->w, o->h, &uo, &u) ||
        slimvsr_upscaler_get_plan(u, &r->chunk, &r->lookahead, NULL, NULL)) {
        fprintf(stderr, "uni_latency: %s\n", slimvsr_last_error());
        goto done;
    }
    slimvsr_frame hr = {hrb, 4 * o->w, 4 * o->h, 0, SLIMVSR_RGB8};
    const double t0 = sv_now();
    double busy = 0;  // seconds inside push, pull and flush: the compute, whatever the source's pace
    for (int i = 0; i < o->frames; i++) {
        for (size_t j = 0; j < lr_bytes; j++) lr[j] = (unsigned char)((j * 7 + (size_t)i * 13) & 255);
        if (o->fps > 0) sleep_until(t0 + i / o->fps);
        const double a = arrive[i] = sv_now();
        slimvsr_frame f = {lr, o->w, o->h, 0, SLIMVSR_RGB8};
        int p;
        while ((p = slimvsr_upscaler_push(u, &f)) == SLIMVSR_AGAIN)
            if (pull_ready(u, &hr, out, &k, o->frames)) break;
        if (p != SLIMVSR_OK || pull_ready(u, &hr, out, &k, o->frames)) {
            fprintf(stderr, "uni_latency: frame %d: %s\n", i, slimvsr_last_error());
            goto done;
        }
        busy += sv_now() - a;
    }
    const double f0 = sv_now();
    if (slimvsr_upscaler_flush(u) || pull_ready(u, &hr, out, &k, o->frames) || k != o->frames) {
        fprintf(stderr, "uni_latency: %d of %d frames came out: %s\n", k, o->frames, slimvsr_last_error());
        goto done;
    }
    r->per_frame = (busy + sv_now() - f0) / o->frames;
    r->mean = r->max = 0;
    for (int i = 0; i < o->frames; i++) {
        const double l = out[i] - arrive[i];
        r->mean += l / o->frames;
        if (l > r->max) r->max = l;
    }
    r->first = out[0] - arrive[0];
    rc = 0;
done:
    slimvsr_upscaler_free(u);
    slimvsr_model_free(m);
    free(lr), free(hrb), free(arrive), free(out);
    return rc;
}

// A random model of o's size in a temporary file (path: at least 64 bytes); 0, or -1 after a message.
static int random_model(const bench_opts *o, sv_direction dir, char *path) {
    snprintf(path, 64, "/tmp/uni_latency_XXXXXX");
    const int fd = mkstemp(path);
    if (fd < 0) {
        perror("uni_latency: mkstemp");
        return -1;
    }
    close(fd);
    sv_model m;
    sv_err e;
    int rc = sv_model_init_random(&m, o->feat, o->blocks, SV_LEAKY_SLOPE, dir, o->seed, &e);
    if (!rc) {
        rc = sv_model_save(&m, path, &e);
        sv_model_free(&m);
    }
    if (rc) {
        fprintf(stderr, "uni_latency: %s\n", e.msg);
        unlink(path);
    }
    return rc ? -1 : 0;
}

static int parse(int argc, char **argv, bench_opts *o) {
    *o = (bench_opts){.feat = 64, .blocks = 30, .h = 180, .w = 320, .frames = 16, .chunk = 0, .lookahead = -1};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int ok = v != NULL;
        if (!strcmp(a, "--feat") && v) o->feat = atoi(v);
        else if (!strcmp(a, "--blocks") && v) o->blocks = atoi(v);
        else if (!strcmp(a, "--size") && v) ok = sscanf(v, "%dx%d", &o->h, &o->w) == 2;
        else if (!strcmp(a, "--frames") && v) o->frames = atoi(v);
        else if (!strcmp(a, "--fps") && v) o->fps = atof(v);
        else if (!strcmp(a, "--chunk") && v) o->chunk = atoi(v);
        else if (!strcmp(a, "--lookahead") && v) o->lookahead = atoi(v);
        else if (!strcmp(a, "--seed") && v) o->seed = strtoull(v, NULL, 10);
        else ok = 0;
        if (!ok) {
            fprintf(stderr, "uni_latency: bad option %s (see the top of bench/uni_latency.c)\n", a);
            return -1;
        }
        i++;
    }
    if (o->feat < 1 || o->blocks < 1 || o->h < 1 || o->w < 1 || o->frames < 1 || o->fps < 0 || o->chunk < 0 ||
        o->lookahead < -1) {
        fprintf(stderr, "uni_latency: feat, blocks, size, frames >= 1; fps, chunk >= 0; lookahead >= -1\n");
        return -1;
    }
    return 0;
}

int main(int argc, char **argv) {
    bench_opts o;
    if (parse(argc, argv, &o)) return 2;
    printf("BasicVSR %dx%d (features x blocks per branch), random weights, %d frames of %dx%d, arriving %s\n",
           o.feat, o.blocks, o.frames, o.w, o.h, o.fps > 0 ? "at --fps" : "as fast as they are taken");
    if (o.fps > 0) printf("  (%.3g frames per second)\n", o.fps);
    printf("%-10s %6s %9s %11s %14s %13s %16s\n", "direction", "chunk", "lookahead", "s/frame", "latency mean s",
           "latency max s", "frame 0 latency s");
    int status = 0;
    for (int uni = 0; uni < 2; uni++) {
        char path[64];
        result r = {0};
        if (random_model(&o, uni ? SV_DIR_UNI : SV_DIR_BI, path)) return 1;
        if (run_model(path, &o, uni, &r)) status = 1;
        else
            printf("%-10s %6d %9d %11.3f %14.3f %13.3f %16.3f\n", uni ? "uni" : "bi", r.chunk, r.lookahead,
                   r.per_frame, r.mean, r.max, r.first);
        unlink(path);
    }
    return status;
}
