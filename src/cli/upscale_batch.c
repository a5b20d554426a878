// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// upscale_batch.c: a folder of videos upscaled one by one, each to OUT_DIR/NAME.EXT; one failure does not
// stop the rest (upscale_batch.h).
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "cli/progress.h"
#include "cli/upscale_batch.h"
#include "core/clock.h"
#include "io/clips.h"
#include "io/frames.h"

int cli_upscale_is_batch(const char *input) {
    struct stat st;
    if (sv_path_is_stream(input) || stat(input, &st) || !S_ISDIR(st.st_mode)) return 0;
    sv_clip_list l = {0};
    sv_err e;
    int videos = 0, frames = 0;
    if (!sv_clips_list(&l, input, &e))
        for (int i = 0; i < l.n; i++) videos += l.v[i].is_video, frames += !strcmp(l.v[i].path, input);
    sv_clip_list_free(&l);
    return videos > 0 && !frames;
}

// The output folder: created when missing; never the input folder (a second run would take the outputs
// for inputs). Prints the error and returns -1.
static int make_out_dir(const char *in_dir, const char *out_dir) {
    struct stat st;
    if (sv_path_is_stream(out_dir))
        return fprintf(stderr, "slimvsr: a folder of videos is upscaled into a folder, not to '-'\n"), -1;
    if (stat(out_dir, &st) && (errno != ENOENT || mkdir(out_dir, 0777)))
        return fprintf(stderr, "slimvsr: %s: cannot create the output folder: %s\n", out_dir, strerror(errno)), -1;
    if (!stat(out_dir, &st) && !S_ISDIR(st.st_mode))
        return fprintf(stderr, "slimvsr: %s: not a folder (the output of a folder of videos is a folder)\n",
                       out_dir), -1;
    if (sv_path_covers(out_dir, in_dir) && sv_path_covers(in_dir, out_dir))
        return fprintf(stderr, "slimvsr: %s: is the input folder; choose another output folder\n", out_dir), -1;
    return 0;
}

// out_dir/NAME.EXT for the video at path (malloc'd), ext: b->ext or the input's own extension.
static char *out_path(const cli_batch *b, const sv_clip_ref *c, const char *out_dir) {
    const char *dot = strrchr(c->path, '.');
    const char *ext = b->ext ? b->ext : dot ? dot + 1 : "";
    const size_t n = strlen(out_dir) + strlen(c->name) + strlen(ext) + 3;
    char *p = malloc(n);
    if (p) snprintf(p, n, "%s/%s.%s", out_dir, c->name, ext);
    return p;
}

// Frames written, counted beside the progress line.
typedef struct {
    sv_progress inner;
    int done;
} counter;

static void count_frames(void *ud, const char *label, int done, int total, int final) {
    counter *c = ud;
    c->done = done;
    if (c->inner.fn) c->inner.fn(c->inner.ud, label, done, total, final);
}

// One video: checks its output (kind, the inputs, -y), then upscales it. Returns 0 or -1 with e filled.
static int one(const cli_batch *b, const char *in, const char *out, const char *earlier, int *frames, sv_err *e) {
    if (earlier) return sv_errf(e, "%s: is also the output of %s; choose the container with --ext", out, earlier);
    if (sv_frames_output_kind(out) != SV_OUTPUT_VIDEO)
        return sv_errf(e, "%s: slimvsr writes no video of this extension; choose one with --ext (mp4, mkv, mov, "
                       "webm, y4m)", out);
    if (cli_output_check(out, b->model_arg, in, b->o->out.replace, e)) return -1;
    cli_progress prog;
    counter c = {cli_progress_callback(&prog, b->quiet), 0};
    sv_upscale_opts o = *b->o;
    o.progress = (sv_progress){count_frames, &c};
    const int rc = sv_upscale(b->m, in, out, &o, e);
    *frames = c.done;
    return rc;
}

// The output path an earlier video of the list already has, or NULL.
static const char *taken(char *const *outs, const sv_clip_ref *v, int i) {
    for (int k = 0; k < i; k++)
        if (outs[k] && !strcmp(outs[k], outs[i])) return v[k].path;
    return NULL;
}

int cli_upscale_batch(const cli_batch *b, const char *in_dir, const char *out_dir) {
    sv_clip_list l = {0};
    sv_err e;
    if (make_out_dir(in_dir, out_dir)) return 1;
    if (sv_clips_list(&l, in_dir, &e)) return fprintf(stderr, "slimvsr: %s\n", e.msg), sv_clip_list_free(&l), 1;
    char **outs = calloc((size_t)l.n, sizeof *outs);
    int done = 0, failed = 0;
    for (int i = 0; outs && i < l.n; i++) {
        if (!l.v[i].is_video) continue;
        const double t0 = sv_now();
        int frames = 0, rc = (outs[i] = out_path(b, &l.v[i], out_dir)) ? 0 : sv_errf(&e, "out of memory");
        if (!rc) rc = one(b, l.v[i].path, outs[i], taken(outs, l.v, i), &frames, &e);
        if (rc) printf("failed %s: %s\n", l.v[i].path, e.msg), failed++;
        else printf("ok     %s -> %s (%d frames, %.1f s)\n", l.v[i].path, outs[i], frames, sv_now() - t0), done++;
        fflush(stdout);
    }
    printf("%d of %d videos upscaled, %d failed\n", done, done + failed, failed);
    for (int i = 0; outs && i < l.n; i++) free(outs[i]);
    free(outs);
    sv_clip_list_free(&l);
    return failed || !outs ? 1 : 0;
}
