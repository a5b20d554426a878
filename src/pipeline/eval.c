// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// eval.c: model quality on clips with ground truth (see eval.h).
//
// The chunk loop is the one `slimvsr upscale` runs (pipeline/clip_stream.h, with the chunk plan of
// sv_upscale_plan_chunk and the forward state carried across chunks), with the writer replaced by a
// measuring sink, so eval measures exactly the frames `slimvsr upscale` would write. Which LR clip goes
// with which GT clip is io/clips.h's sv_clips_pair.
//
// Flip (test-time augmentation): four runners, one per variant (identity, h, h+v, v), each keeping its
// own forward state across chunks. The window is flipped in place between variants (h, then v, then h,
// then v brings it back), each variant's outputs are flipped back and summed per frame, and the chunk's
// frames are measured once all four have run: sum * 0.25 in float, summed in the order id, h, hv, v.
#include "pipeline/eval.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/clips.h"
#include "io/frames.h"
#include "ops/metrics.h"
#include "pipeline/clip_stream.h"
#include "pipeline/upscale.h"

#define NVAR 4

void sv_eval_opts_default(sv_eval_opts *o) {
    memset(o, 0, sizeof *o);
    o->lookahead = -1;
    o->mode = SV_EXEC_FAST;
}

// ---- one clip ----

typedef struct {
    const sv_eval_opts *o;
    const char *lr_path, *gt_path;
    sv_frame_reader *gt;
    sv_runner *run[NVAR];  // flip: one per variant; else run[0]
    int h4, w4;
    unsigned char *gt_rgb, *gt_chw, *out_chw;
    float **acc, *accbuf;  // flip: per emitted frame of the chunk, the sum of the variants' outputs
    int variant;
    int done;
    double sum_psnr, sum_ssim;
    sv_progress_job prog;
} sink;

// A band of an output frame (model/runner.h: sv_output_fn) into its rows of out_chw, quantised.
static void quantize_band(sink *s, int y0, int rows, const float *chw) {
    const size_t plane = (size_t)s->h4 * s->w4, n = (size_t)rows * s->w4;
    for (int c = 0; c < 3; c++) sv_quantize_n(s->out_chw + c * plane + (size_t)y0 * s->w4, chw + c * n, n);
}

// The output frame in out_chw against the next GT frame.
static int measure(sink *s, sv_err *e) {
    int r = sv_frames_read(s->gt, s->gt_rgb, e);
    if (r < 0) return -1;
    if (r == 0)
        return sv_errf(e, "%s: GT ends after %d frames, before the LR clip %s", s->gt_path, s->done, s->lr_path);
    sv_rgb_to_planes(s->gt_chw, s->gt_rgb, s->h4, s->w4);
    double psnr, ssim;
    if (sv_metrics_u8(s->out_chw, s->gt_chw, s->h4, s->w4, s->o->y_only, s->o->crop_border, &psnr, &ssim, e))
        return sv_errprefix(e, "%s", s->gt_path);
    s->sum_psnr += psnr;
    s->sum_ssim += ssim;
    s->done++;
    sv_progress_update(&s->prog, s->done);
    return 0;
}

static int emit_plain(void *ud, int index, int y0, int rows, const float *chw, sv_err *e) {
    sink *s = ud;
    quantize_band(s, y0, rows, chw);
    return y0 + rows < s->h4 ? 0 : measure(s, e);
}

static int run_plain(void *ud, sv_clip_window *w, int n_emit, sv_err *e) {
    sink *s = ud;
    return sv_clip_window_run(s->run[0], w, n_emit, emit_plain, s, e);
}

// Variant v's flips: 0 none, 1 horizontal, 2 both, 3 vertical (the order the window is flipped in).
static int var_h(int v) { return v == 1 || v == 2; }
static int var_v(int v) { return v == 2 || v == 3; }

// A band of a flipped variant's output, flipped back onto its rows of the frame's sum.
static int emit_flip(void *ud, int index, int y0, int rows, const float *chw, sv_err *e) {
    sink *s = ud;
    const int h = s->h4, w = s->w4, fh = var_h(s->variant), fv = var_v(s->variant);
    float *acc = s->acc[index];
    for (int c = 0; c < 3; c++)
        for (int b = 0; b < rows; b++) {
            const int y = y0 + b;
            const float *src = chw + ((size_t)c * rows + b) * w;
            float *dst = acc + ((size_t)c * h + (fv ? h - 1 - y : y)) * w;
            for (int x = 0; x < w; x++) {
                float v = src[fh ? w - 1 - x : x];
                dst[x] = s->variant == 0 ? v : dst[x] + v;
            }
        }
    return 0;
}

static void flip_frame(float *f, int h, int w, int horizontal) {
    for (int c = 0; c < 3; c++) {
        float *p = f + (size_t)c * h * w;
        if (horizontal) {
            for (int y = 0; y < h; y++)
                for (int x = 0; x < w / 2; x++) {
                    float t = p[(size_t)y * w + x];
                    p[(size_t)y * w + x] = p[(size_t)y * w + w - 1 - x];
                    p[(size_t)y * w + w - 1 - x] = t;
                }
        } else {
            for (int y = 0; y < h / 2; y++)
                for (int x = 0; x < w; x++) {
                    float t = p[(size_t)y * w + x];
                    p[(size_t)y * w + x] = p[(size_t)(h - 1 - y) * w + x];
                    p[(size_t)(h - 1 - y) * w + x] = t;
                }
        }
    }
}

// The window's frames and the carried frame, flipped in place.
static void flip_window(sv_clip_window *w, int horizontal) {
    for (int i = 0; i < w->have; i++) flip_frame(w->frames[i], w->h, w->w, horizontal);
    if (w->prev) flip_frame(w->prev, w->h, w->w, horizontal);
}

static int run_flip(void *ud, sv_clip_window *w, int n_emit, sv_err *e) {
    sink *s = ud;
    for (int v = 0; v < NVAR; v++) {
        if (v > 0) flip_window(w, v != 2);  // v = 1: h; 2: h+v; 3: v (each step flips one more axis)
        s->variant = v;
        if (sv_clip_window_run(s->run[v], w, n_emit, emit_flip, s, e)) return -1;
    }
    flip_window(w, 0);  // back to the original
    const size_t osz = (size_t)3 * s->h4 * s->w4;
    for (int k = 0; k < n_emit; k++) {
        for (size_t q = 0; q < osz; q++) s->acc[k][q] *= 0.25f;
        quantize_band(s, 0, s->h4, s->acc[k]);
        if (measure(s, e)) return -1;
    }
    return 0;
}

// The GT clip against the LR clip: SV_SCALE x its frame size, big enough for the SSIM window after the
// crop, and (both folders: exact counts) as many frames.
static int check_pair(const sv_frame_reader *rd, const sv_frame_reader *gr, const char *lr, const char *gt,
                      const sv_eval_opts *o, sv_err *e) {
    const int w = sv_frames_width(rd), h = sv_frames_height(rd), w4 = SV_SCALE * w, h4 = SV_SCALE * h;
    if (sv_frames_width(gr) != w4 || sv_frames_height(gr) != h4)
        return sv_errf(e, "%s: GT frames are %dx%d, expected %dx%d (%dx the %dx%d frames of %s)", gt,
                       sv_frames_width(gr), sv_frames_height(gr), w4, h4, SV_SCALE, w, h, lr);
    if (w4 - 2 * o->crop_border < 11 || h4 - 2 * o->crop_border < 11)
        return sv_errf(e, "%s: %dx%d frames cropped by %d at each side are smaller than the 11x11 SSIM window", gt,
                       w4, h4, o->crop_border);
    if (!sv_frames_is_video(rd) && !sv_frames_is_video(gr) && sv_frames_count(rd) != sv_frames_count(gr))
        return sv_errf(e, "%s: %d GT frames, but %d LR frames in %s", gt, sv_frames_count(gr), sv_frames_count(rd),
                       lr);
    return 0;
}

// The runners (one, or one per flip variant) and the sink's buffers for chunks of up to chunk frames with
// lookahead frames after them.
static int sink_alloc(sink *s, const sv_model *m, int h, int w, int chunk, int lookahead, sv_err *e) {
    const size_t osz = (size_t)3 * s->h4 * s->w4;
    const int nvar = s->o->flip ? NVAR : 1;
    s->gt_rgb = malloc(osz), s->gt_chw = malloc(osz), s->out_chw = malloc(osz);
    if (s->o->flip) {  // a run emits at most a chunk (clip_stream.c)
        s->acc = calloc((size_t)chunk, sizeof *s->acc);
        s->accbuf = malloc((size_t)chunk * osz * sizeof(float));
    }
    if (!s->gt_rgb || !s->gt_chw || !s->out_chw || (s->o->flip && (!s->acc || !s->accbuf)))
        return sv_errf(e, "%s: out of memory for a chunk of %d frames of %dx%d", s->lr_path, chunk, w, h);
    for (int i = 0; s->o->flip && i < chunk; i++) s->acc[i] = s->accbuf + (size_t)i * osz;
    for (int v = 0; v < nvar; v++)
        if (!(s->run[v] = sv_job_runner_create(m, h, w, chunk, lookahead, s->o->mode, e))) return -1;
    return 0;
}

static void sink_free(sink *s) {
    for (int v = 0; v < NVAR; v++) {
        if (s->o->profile && s->run[v]) sv_runner_profile_add(s->o->profile, s->run[v]);
        sv_runner_free(s->run[v]);
    }
    free(s->gt_rgb), free(s->gt_chw), free(s->out_chw), free(s->acc), free(s->accbuf);
}

// Runs the model over the LR clip rd and measures each output against the next frame of gr.
static int measure_clip(const sv_model *m, sv_frame_reader *rd, sv_frame_reader *gr, sink *s, const char *label,
                        sv_err *e) {
    const sv_eval_opts *o = s->o;
    const int w = sv_frames_width(rd), h = sv_frames_height(rd), count = sv_frames_count(rd);
    // A folder's count is exact; a video's is the container's estimate, so leave it some room.
    int hint = sv_upscale_count_hint(count, sv_frames_is_video(rd)), chunk, la;
    if (o->max_frames > 0 && (hint < 0 || hint > o->max_frames)) hint = o->max_frames;
    sv_upscale_opts u;
    sv_upscale_opts_default(&u);
    u.chunk = o->chunk;
    u.lookahead = o->lookahead;
    // flip: four runners plus the output sums share the budget
    u.mem_budget = (o->mem_budget ? o->mem_budget : sv_upscale_default_budget()) / (o->flip ? NVAR + 1 : 1);
    if (sv_upscale_check_window(m, s->lr_path, &u, e)) return -1;
    sv_upscale_plan_chunk(m, h, w, hint, &u, &chunk, &la);
    sv_clip_window win;
    if (sv_clip_window_init(&win, s->lr_path, rd, chunk, la, o->max_frames, 0, e)) return -1;
    int rc = sink_alloc(s, m, h, w, chunk, la, e);
    if (!rc) {
        sv_progress_start(&s->prog, o->progress, label,
                          o->max_frames > 0 && (count < 0 || count > o->max_frames) ? o->max_frames : count);
        rc = sv_clip_stream(&win, o->flip ? run_flip : run_plain, s, e);
    }
    if (!rc && !win.limited) {  // the GT must end with the LR clip
        const int r = sv_frames_read(gr, s->gt_rgb, e);
        if (r > 0) sv_errf(e, "%s: GT has more frames than the %d of the LR clip %s", s->gt_path, s->done, s->lr_path);
        if (r != 0) rc = -1;
    }
    if (!rc) sv_progress_finish(&s->prog, s->done);
    sv_clip_window_free(&win);
    return rc;
}

int sv_eval_clip(const sv_model *m, const char *lr, const char *gt, const sv_eval_opts *o, sv_eval_result *res,
                 sv_err *e) {
    memset(res, 0, sizeof *res);
    sv_clip_name(res->name, sizeof res->name, lr);
    sv_frame_reader *rd = sv_frames_open(lr, e), *gr = rd ? sv_frames_open(gt, e) : NULL;
    int rc = -1;
    if (gr && !check_pair(rd, gr, lr, gt, o, e)) {
        sink s = {.o = o, .lr_path = lr, .gt_path = gt, .gt = gr, .h4 = SV_SCALE * sv_frames_height(rd),
                  .w4 = SV_SCALE * sv_frames_width(rd)};
        char label[300];
        snprintf(label, sizeof label, "eval %s", res->name);
        rc = measure_clip(m, rd, gr, &s, label, e);
        sink_free(&s);
        if (!rc) {
            res->frames = s.done;
            res->psnr = s.sum_psnr / s.done;
            res->ssim = s.sum_ssim / s.done;
        }
    }
    sv_frames_close(rd);
    sv_frames_close(gr);
    return rc;
}

// ---- clips ----

int sv_eval_dirs(const sv_model *m, const char *lr, const char *gt, const sv_eval_opts *o,
                 sv_eval_result **per_clip, int *nclips, sv_eval_result *mean, sv_err *e) {
    *per_clip = NULL, *nclips = 0;
    memset(mean, 0, sizeof *mean);
    sv_clip_list pairs = {0};
    if (sv_clips_pair(&pairs, lr, gt, e)) {
        sv_clip_list_free(&pairs);
        return -1;
    }
    sv_eval_result *res = calloc((size_t)pairs.n, sizeof *res);
    int rc = res ? 0 : sv_errf(e, "out of memory");
    for (int i = 0; i < pairs.n && !rc; i++) {
        const sv_clip_ref *c = &pairs.v[i];
        if ((rc = sv_eval_clip(m, c->lr_path, c->path, o, &res[i], e))) break;
        snprintf(res[i].name, sizeof res[i].name, "%s", c->name);
        mean->frames += res[i].frames;
        mean->psnr += res[i].psnr;
        mean->ssim += res[i].ssim;
    }
    if (!rc) {
        snprintf(mean->name, sizeof mean->name, "mean");
        mean->psnr /= pairs.n;
        mean->ssim /= pairs.n;
        *per_clip = res, *nclips = pairs.n;
    } else {
        free(res);
        memset(mean, 0, sizeof *mean);
    }
    sv_clip_list_free(&pairs);
    return rc ? -1 : 0;
}
