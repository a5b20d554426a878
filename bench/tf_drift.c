// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// tf_drift.c: does a pruned model's error grow along the recurrence, and does Temporal Finetuning flatten
// it (issue 17 item 2)? Runs MODEL and its unpruned TEACHER over one clip and prints, for every frame, the
// relative error of MODEL's hidden states against the teacher's (forward and backward branch) and both
// models' PSNR (and its drop) against GT:
//   build/bench/tf_drift -m MODEL --teacher DENSE --lr LR_CLIP --gt GT_CLIP [--y] [--max-frames N]
//                        [--threads N]
// Hidden-state error of frame i, branch d: ||h_d,i - t_d,i|| / ||t_d,i|| (L2 over all channels and pixels),
// h the trunk output MODEL propagates (runner taps forward_trunk_out / backward_trunk_out), t the
// teacher's. Both must have the same hidden width (RSC keeps it: SSL-NOTES §5). The whole clip runs as one
// chunk (the runner holds every backward state), so the recurrence is never cut. PSNR/SSIM as `slimvsr
// eval` measures them (8-bit outputs, --y: Y channel). Output: one JSON object on stdout.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/frames.h"
#include "model/basicvsr.h"
#include "model/runner.h"
#include "ops/metrics.h"
#include "ops/pixels.h"

typedef struct {
    int n, c, h, w;         // frames, hidden channels, LR size
    int teacher;            // 1: store the states; 0: measure against the stored ones
    float *state[2];        // teacher's [n][c*h*w], forward (0) and backward (1) branch
    double *err[2];         // [n] relative error per branch
    int fail;
} drift;

static const char *k_branch_tap[2] = {"forward_trunk_out", "backward_trunk_out"};

static void tap(void *ud, const char *name, int index, const float *chw, int c, int h, int w) {
    drift *d = ud;
    int b = !strcmp(name, k_branch_tap[0]) ? 0 : !strcmp(name, k_branch_tap[1]) ? 1 : -1;
    if (b < 0 || index < 0 || index >= d->n) return;
    if (c != d->c || h != d->h || w != d->w) {
        d->fail = 1;
        return;
    }
    const size_t m = (size_t)c * h * w;
    float *t = d->state[b] + (size_t)index * m;
    if (d->teacher) {
        memcpy(t, chw, m * sizeof(float));
        return;
    }
    double num = 0, den = 0;
    for (size_t i = 0; i < m; i++) {
        const double x = (double)chw[i] - t[i];
        num += x * x, den += (double)t[i] * t[i];
    }
    d->err[b][index] = sqrt(num) / (sqrt(den) + 1e-30);
}

// Output frames in bands: assembled, then measured against GT frame index.
typedef struct {
    int h4, w4, y_only;
    float *frame;           // [3, h4, w4]
    const float *const *gt; // n frames [3, h4, w4]
    double *psnr, *ssim;    // [n]
} measure;

static int on_output(void *ud, int index, int y0, int rows, const float *chw, sv_err *e) {
    measure *m = ud;
    const size_t plane = (size_t)m->h4 * m->w4;
    for (int c = 0; c < 3; c++)
        memcpy(m->frame + c * plane + (size_t)y0 * m->w4, chw + (size_t)c * rows * m->w4,
               (size_t)rows * m->w4 * sizeof(float));
    if (y0 + rows < m->h4) return 0;
    return sv_metrics_f32(m->frame, m->gt[index], m->h4, m->w4, m->y_only, 0, &m->psnr[index], &m->ssim[index], e);
}

// Every frame of a clip as float CHW; *n frames (at most max), each h x w. NULL after a message.
static float **read_clip(const char *path, int max, int *n, int *h, int *w, sv_err *e) {
    sv_frame_reader *rd = sv_frames_open(path, e);
    if (!rd) return NULL;
    *w = sv_frames_width(rd), *h = sv_frames_height(rd), *n = 0;
    const size_t px = (size_t)*w * *h;
    unsigned char *rgb = malloc(3 * px);
    float **v = calloc((size_t)max, sizeof *v);
    int got = 0;
    while (rgb && v && *n < max && (got = sv_frames_read(rd, rgb, e)) > 0) {
        if (!(v[*n] = malloc(3 * px * sizeof(float)))) break;
        sv_rgb_to_chw(v[(*n)++], rgb, *h, *w);
    }
    sv_frames_close(rd);
    free(rgb);
    if (got < 0 || !v || *n == 0) {
        if (got >= 0) sv_errf(e, "%s: no frames", path);
        for (int i = 0; v && i < *n; i++) free(v[i]);
        free(v);
        return NULL;
    }
    return v;
}

// Runs model m over the clip with the drift tap; psnr/ssim per frame. 0 or -1.
static int run_model(const sv_model *m, float **lr, int n, int h, int w, drift *d, measure *ms, sv_err *e) {
    sv_runner *r = sv_runner_create(m, h, w, n, SV_EXEC_FAST, e);
    if (!r) return -1;
    sv_runner_set_tap(r, tap, d);
    int rc = sv_runner_run(r, (const float *const *)lr, n, on_output, ms, e);
    sv_runner_free(r);
    if (!rc && d->fail) rc = sv_errf(e, "the model's hidden state is not %d x %d x %d: not comparable", d->c, d->h, d->w);
    return rc;
}

static void json_str(const char *s) {
    putchar('"');
    for (; *s; s++) {
        const unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\') printf("\\%c", ch);
        else if (ch < 0x20) printf("\\u%04x", ch);
        else putchar(ch);
    }
    putchar('"');
}

static void usage(void) {
    fprintf(stderr, "usage: tf_drift -m MODEL --teacher DENSE --lr LR_CLIP --gt GT_CLIP [--y] [--max-frames N]\n");
}

int main(int argc, char **argv) {
    const char *model = NULL, *teacher = NULL, *lrp = NULL, *gtp = NULL;
    int y_only = 0, max = 1000000;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--y")) {
            y_only = 1;
            continue;
        }
        if (!v) return usage(), 2;
        if (!strcmp(a, "-m")) model = v;
        else if (!strcmp(a, "--teacher")) teacher = v;
        else if (!strcmp(a, "--lr")) lrp = v;
        else if (!strcmp(a, "--gt")) gtp = v;
        else if (!strcmp(a, "--max-frames")) max = atoi(v);
        else return usage(), 2;
        i++;
    }
    if (!model || !teacher || !lrp || !gtp || max < 1) return usage(), 2;
    sv_err e = {{0}};
    sv_model ms = {0}, mt = {0};
    float **lr = NULL, **gt = NULL;
    int n = 0, h = 0, w = 0, gn = 0, gh = 0, gw = 0, rc = -1;
    double *buf = NULL;
    drift d = {0};
    measure meas = {0};
    if (sv_model_load(&ms, model, -1, &e) || sv_model_load(&mt, teacher, -1, &e)) goto done;
    if (!(lr = read_clip(lrp, max, &n, &h, &w, &e)) || !(gt = read_clip(gtp, n, &gn, &gh, &gw, &e))) goto done;
    if (gn != n || gh != SV_SCALE * h || gw != SV_SCALE * w) {
        sv_errf(&e, "%d GT frames of %dx%d for %d LR frames of %dx%d", gn, gw, gh, n, w, h);
        goto done;
    }
    const size_t m = (size_t)mt.num_feat * h * w;
    d = (drift){.n = n, .c = mt.num_feat, .h = h, .w = w, .teacher = 1};
    meas = (measure){.h4 = gh, .w4 = gw, .y_only = y_only, .gt = (const float *const *)gt,
                     .frame = malloc((size_t)3 * gh * gw * sizeof(float))};
    buf = calloc((size_t)6 * n, sizeof(double));
    for (int b = 0; b < 2; b++) d.state[b] = malloc((size_t)n * m * sizeof(float));
    if (!buf || !meas.frame || !d.state[0] || !d.state[1]) {
        sv_errf(&e, "out of memory");
        goto done;
    }
    double *pt = buf, *st = buf + n, *pm = buf + 2 * n, *sm = buf + 3 * n;
    d.err[0] = buf + 4 * n, d.err[1] = buf + 5 * n;
    meas.psnr = pt, meas.ssim = st;
    if (run_model(&mt, lr, n, h, w, &d, &meas, &e)) goto done;
    d.teacher = 0, meas.psnr = pm, meas.ssim = sm;
    if (run_model(&ms, lr, n, h, w, &d, &meas, &e)) goto done;
    rc = 0;
    printf("{\"model\": ");
    json_str(model);
    printf(", \"teacher\": ");
    json_str(teacher);
    printf(", \"frames\": %d, \"y_only\": %s, \"per_frame\": [", n, y_only ? "true" : "false");
    for (int i = 0; i < n; i++)
        printf("%s\n  {\"frame\": %d, \"psnr\": %.4f, \"psnr_teacher\": %.4f, \"psnr_drop\": %.4f, \"ssim\": %.5f, "
               "\"hidden_err_forward\": %.6g, \"hidden_err_backward\": %.6g}",
               i ? "," : "", i, pm[i], pt[i], pt[i] - pm[i], sm[i], d.err[0][i], d.err[1][i]);
    printf("\n]}\n");
done:
    if (rc) fprintf(stderr, "tf_drift: %s\n", e.msg);
    for (int i = 0; i < n; i++) {
        if (lr) free(lr[i]);
        if (gt && i < gn) free(gt[i]);
    }
    free(lr), free(gt), free(buf), free(meas.frame), free(d.state[0]), free(d.state[1]);
    sv_model_free(&ms), sv_model_free(&mt);
    return rc ? 1 : 0;
}
