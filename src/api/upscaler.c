// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// upscaler.c: slimvsr_upscaler, the streaming upscaler: frames pushed one at a time fill the chunk window
// of pipeline/clip_stream.h; a full window (or, after flush, what is left of it) runs the network, whose
// outputs the runner hands to a callback (model/runner.h), so they wait in a queue of one chunk of HR
// frames for pull. The windows and chunks are those of `slimvsr upscale` (sv_clip_stream's rule): the
// same frames come out, bit for bit, for the same chunk and lookahead.
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_internal.h"
#include "core/memory.h"
#include "ops/pixels.h"
#include "pipeline/clip_stream.h"
#include "pipeline/upscale.h"

#define MAX_SIDE 16384  // as `slimvsr info --size`: the frame sizes the planner's arithmetic is made for

struct slimvsr_upscaler {
    const sv_model *m;          // NULL: bicubic
    sv_runner *run;
    sv_clip_window win;         // LR frames waiting, as float planes
    int w, h, w4, h4, format;
    size_t out_px;              // bytes per HR pixel in the queue (3 or 12)
    unsigned char *queue;       // one chunk of HR frames, packed, in output_format
    int queued, pulled;         // frames in the queue from the last run; how many of them were pulled
    int flushed, broken;        // broken: a run failed, the stream cannot go on
    int frames_in, frames_out;
    void (*progress)(void *, int, int);
    void *progress_user;
};

slimvsr_upscaler_options slimvsr_upscaler_options_default(void) {
    return (slimvsr_upscaler_options){.chunk = 0, .lookahead = -1, .output_format = SLIMVSR_RGB8};
}

static size_t px_bytes(int format) { return format == SLIMVSR_RGBF32 ? 3 * sizeof(float) : 3; }

static int check_options(const slimvsr_upscaler_options *o, int w, int h) {
    if (w < 1 || h < 1 || w > MAX_SIDE || h > MAX_SIDE)
        return api_fail(SLIMVSR_ERR_ARGUMENT, "slimvsr_upscaler_create: frame size %dx%d (1..%d each)", w, h, MAX_SIDE);
    if (o->chunk < 0 || o->lookahead < -1 || o->frame_count < 0)
        return api_fail(SLIMVSR_ERR_ARGUMENT, "slimvsr_upscaler_create: chunk %d, lookahead %d, frame_count %d "
                        "(chunk >= 0, lookahead >= -1, frame_count >= 0)", o->chunk, o->lookahead, o->frame_count);
    if (o->lookahead > INT_MAX - (o->chunk ? o->chunk : SLIMVSR_STREAM_CHUNK))
        return api_fail(SLIMVSR_ERR_ARGUMENT, "slimvsr_upscaler_create: lookahead %d is too large", o->lookahead);
    if (o->output_format != SLIMVSR_RGB8 && o->output_format != SLIMVSR_RGBF32)
        return api_fail(SLIMVSR_ERR_ARGUMENT, "slimvsr_upscaler_create: output_format %d (SLIMVSR_RGB8 or "
                        "SLIMVSR_RGBF32)", o->output_format);
    return SLIMVSR_OK;
}

// The chunk and lookahead as `slimvsr upscale` plans them (sv_upscale_plan_chunk), an automatic chunk of an
// open-ended stream at most SLIMVSR_STREAM_CHUNK; then the whole upscaler (runner, window, queue) checked
// against the budget: max_memory, or all that is available.
static int plan(slimvsr_upscaler *u, const slimvsr_upscaler_options *o, int *chunk, int *la) {
    sv_upscale_opts uo;
    sv_upscale_opts_default(&uo);
    uo.chunk = o->chunk, uo.lookahead = o->lookahead;
    uo.mem_budget = o->max_memory ? o->max_memory : sv_upscale_default_budget();
    sv_err e;
    if (sv_upscale_check_window(u->m, "slimvsr_upscaler_create", &uo, &e))  // a uni model: chunk 1, no lookahead
        return api_fail(SLIMVSR_ERR_ARGUMENT, "%s", e.msg);
    sv_upscale_plan_chunk(u->m, u->h, u->w, o->frame_count > 0 ? o->frame_count : -1, &uo, chunk, la);
    if (!o->chunk && !o->frame_count && *chunk > SLIMVSR_STREAM_CHUNK) *chunk = SLIMVSR_STREAM_CHUNK;
    size_t fixed, per;
    sv_job_runner_estimate(u->m, u->h, u->w, SV_EXEC_FAST, 0, &fixed, &per);
    const long double frame = 3.0L * u->h * u->w * sizeof(float),
                      need = (long double)fixed + (long double)per * *chunk + frame * ((long double)*chunk + *la + 1) +
                             (long double)*chunk * u->out_px * u->w4 * u->h4;
    const size_t limit = o->max_memory ? o->max_memory : sv_mem_available().bytes;
    if (need > (long double)limit) {
        char a[32], b[32];
        return api_fail(SLIMVSR_ERR_NO_MEMORY, "slimvsr_upscaler_create: frames of %dx%d with chunk %d and lookahead "
                        "%d need about %s; %s %s", u->w, u->h, *chunk, *la,
                        sv_mem_format(need >= (long double)SIZE_MAX ? SIZE_MAX : (size_t)need, a, sizeof a),
                        o->max_memory ? "max_memory is" : "available:", sv_mem_format(limit, b, sizeof b));
    }
    return SLIMVSR_OK;
}

int slimvsr_upscaler_create(const slimvsr_model *model, int width, int height, const slimvsr_upscaler_options *options,
                            slimvsr_upscaler **out) {
    if (out) *out = NULL;
    if (!out) return api_fail(SLIMVSR_ERR_ARGUMENT, "slimvsr_upscaler_create: out is NULL");
    const slimvsr_upscaler_options o = options ? *options : slimvsr_upscaler_options_default();
    int rc = check_options(&o, width, height);
    if (rc) return rc;
    slimvsr_upscaler *u = calloc(1, sizeof *u);
    if (!u) return api_fail(SLIMVSR_ERR_NO_MEMORY, "slimvsr_upscaler_create: out of memory");
    *u = (slimvsr_upscaler){.m = model ? &model->m : NULL, .w = width, .h = height, .w4 = SV_SCALE * width,
                            .h4 = SV_SCALE * height, .format = o.output_format, .out_px = px_bytes(o.output_format),
                            .progress = o.progress, .progress_user = o.progress_user};
    int chunk, la;
    if ((rc = plan(u, &o, &chunk, &la))) goto fail;
    sv_err e = {{0}};
    if (sv_clip_window_init_sized(&u->win, "slimvsr_upscaler", height, width, chunk, la, 0, &e) ||
        !(u->queue = sv_malloc((size_t)chunk * u->out_px * u->w4 * u->h4, &e)) ||
        !(u->run = sv_job_runner_create(u->m, height, width, chunk, la, SV_EXEC_FAST, &e))) {
        rc = api_fail_err(SLIMVSR_ERR_INTERNAL, &e);
        goto fail;
    }
    api_log_info("upscaler: %dx%d -> %dx%d, %s, chunk %d, lookahead %d, %.1f MB for the network", width, height,
                 u->w4, u->h4, model ? "BasicVSR" : "bicubic", chunk, la, sv_runner_bytes(u->run) / 1048576.0);
    *out = u;
    return SLIMVSR_OK;
fail:
    slimvsr_upscaler_free(u);
    return rc;
}

int slimvsr_upscaler_get_plan(const slimvsr_upscaler *u, int *chunk, int *lookahead, int *out_width, int *out_height) {
    if (!u) return api_fail(SLIMVSR_ERR_ARGUMENT, "slimvsr_upscaler_get_plan: upscaler is NULL");
    if (chunk) *chunk = u->win.chunk;
    if (lookahead) *lookahead = u->win.win - u->win.chunk;
    if (out_width) *out_width = u->w4;
    if (out_height) *out_height = u->h4;
    return SLIMVSR_OK;
}

// Each band of a run's output frames (model/runner.h: sv_output_fn) into its rows of the frame's queue
// slot, in the output format.
static int emit(void *ud, int index, int y0, int rows, const float *chw, sv_err *e) {
    slimvsr_upscaler *u = ud;
    unsigned char *dst = u->queue + ((size_t)index * u->h4 + (size_t)y0) * u->out_px * u->w4;
    if (u->format == SLIMVSR_RGBF32) sv_chw_to_rgbf((float *)(void *)dst, chw, rows, u->w4);
    else sv_chw_to_rgb(dst, chw, rows, u->w4);
    return 0;
}

// The next run: the window's frames, emitting a chunk (fewer only at the end of the clip), as sv_clip_stream.
static int run_next(slimvsr_upscaler *u) {
    const int n_emit = u->win.have < u->win.chunk ? u->win.have : u->win.chunk;
    sv_err e = {{0}};
    if (sv_clip_window_run(u->run, &u->win, n_emit, emit, u, &e)) {
        u->broken = 1;
        return api_fail_err(SLIMVSR_ERR_INTERNAL, &e);
    }
    sv_clip_window_advance(&u->win, n_emit);
    u->queued = n_emit, u->pulled = 0;
    u->frames_out += n_emit;
    if (u->progress) u->progress(u->progress_user, u->frames_in, u->frames_out);
    return SLIMVSR_OK;
}

// A frame given to push (in: LR, format RGB8 or RGBF32) or pull (HR, format fixed): its size, format and
// stride (0 -> packed) checked; *stride: the row stride to use.
static int check_frame(const char *fn, const slimvsr_frame *f, int w, int h, int format_any, int format,
                       size_t *stride) {
    if (!f || !f->data) return api_fail(SLIMVSR_ERR_ARGUMENT, "%s: frame%s is NULL", fn, f ? "->data" : "");
    if (f->format != SLIMVSR_RGB8 && f->format != SLIMVSR_RGBF32)
        return api_fail(SLIMVSR_ERR_ARGUMENT, "%s: frame format %d (SLIMVSR_RGB8 or SLIMVSR_RGBF32)", fn, f->format);
    if (!format_any && f->format != format)
        return api_fail(SLIMVSR_ERR_ARGUMENT, "%s: frame format %s, the upscaler's output_format is %s", fn,
                        f->format == SLIMVSR_RGB8 ? "SLIMVSR_RGB8" : "SLIMVSR_RGBF32",
                        format == SLIMVSR_RGB8 ? "SLIMVSR_RGB8" : "SLIMVSR_RGBF32");
    if (f->width != w || f->height != h)
        return api_fail(SLIMVSR_ERR_ARGUMENT, "%s: frame of %dx%d, the upscaler's is %dx%d", fn, f->width, f->height,
                        w, h);
    const size_t row = (size_t)w * px_bytes(f->format);
    *stride = f->stride ? f->stride : row;
    if (*stride < row || (f->format == SLIMVSR_RGBF32 && *stride % sizeof(float)))
        return api_fail(SLIMVSR_ERR_ARGUMENT, "%s: stride %zu bytes for rows of %zu bytes", fn, f->stride, row);
    return SLIMVSR_OK;
}

static int check_usable(const char *fn, const slimvsr_upscaler *u) {
    if (!u) return api_fail(SLIMVSR_ERR_ARGUMENT, "%s: upscaler is NULL", fn);
    if (u->broken) return api_fail(SLIMVSR_ERR_STATE, "%s: an earlier run of the network failed", fn);
    return SLIMVSR_OK;
}

int slimvsr_upscaler_push(slimvsr_upscaler *u, const slimvsr_frame *frame) {
    static const char fn[] = "slimvsr_upscaler_push";
    size_t stride;
    int rc = check_usable(fn, u);
    if (rc || (rc = check_frame(fn, frame, u->w, u->h, 1, 0, &stride))) return rc;
    if (u->flushed) return api_fail(SLIMVSR_ERR_STATE, "%s: the upscaler was flushed (the clip has ended)", fn);
    if (u->win.have == u->win.win) {  // a run is due and waits for the queue to be pulled
        if (u->pulled < u->queued) return SLIMVSR_AGAIN;
        if ((rc = run_next(u))) return rc;
    }
    float *dst = u->win.frames[u->win.have];
    if (frame->format == SLIMVSR_RGBF32) sv_rgbf_to_chw_stride(dst, frame->data, u->h, u->w, stride);
    else sv_rgb_to_chw_stride(dst, frame->data, u->h, u->w, stride);
    u->win.have++, u->frames_in++;
    if (u->win.have == u->win.win && u->pulled == u->queued) return run_next(u);
    return SLIMVSR_OK;
}

int slimvsr_upscaler_flush(slimvsr_upscaler *u) {
    const int rc = check_usable("slimvsr_upscaler_flush", u);
    if (rc) return rc;
    u->flushed = 1;
    return SLIMVSR_OK;
}

int slimvsr_upscaler_pull(slimvsr_upscaler *u, slimvsr_frame *frame) {
    static const char fn[] = "slimvsr_upscaler_pull";
    size_t stride;
    int rc = check_usable(fn, u);
    if (rc || (rc = check_frame(fn, frame, u->w4, u->h4, 0, u->format, &stride))) return rc;
    if (u->pulled == u->queued) {
        if (u->win.have == u->win.win || (u->flushed && u->win.have > 0)) {
            if ((rc = run_next(u))) return rc;
        } else {
            return u->flushed ? SLIMVSR_END : SLIMVSR_AGAIN;
        }
    }
    const size_t row = (size_t)u->w4 * u->out_px;
    const unsigned char *src = u->queue + (size_t)u->pulled * row * u->h4;
    for (int y = 0; y < u->h4; y++) memcpy((unsigned char *)frame->data + (size_t)y * stride, src + (size_t)y * row, row);
    u->pulled++;
    return SLIMVSR_OK;
}

void slimvsr_upscaler_free(slimvsr_upscaler *u) {
    if (!u) return;
    sv_runner_free(u->run);
    sv_clip_window_free(&u->win);
    free(u->queue);
    free(u);
}
