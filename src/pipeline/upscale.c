// upscale.c: reader -> float frames -> runner in chunks -> uint8 frames -> writer.
//
// Memory: the runner keeps the backward features of every frame of a chunk (num_feat x h x w floats
// each), so a chunk is the unit of memory. Frames stream in from the decoder into a window of
// chunk + lookahead slots and out to the encoder one at a time; nothing holds the whole clip.
// Chunks: the forward branch carries its hidden state from one chunk to the next (exact); the backward
// branch of a chunk starts `lookahead` frames past its end, so only information from further than that
// in the future is lost at chunk borders.
// Output frames are converted to 8 bits here and encoded and written by write_thread.c, concurrently
// with the network's next frame.
#include "pipeline/upscale.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/progress.h"
#include "io/frames.h"
#include "io/paths.h"
#include "pipeline/write_thread.h"

// Memory for the runner and the frame window when --chunk is not given; with the process's other needs
// (code, libav, the model) this keeps a 180x320 clip under about 2 GB peak.
#define DEFAULT_BUDGET ((size_t)1700 << 20)
#define DEFAULT_LOOKAHEAD 10

void sv_upscale_opts_default(sv_upscale_opts *o) {
    memset(o, 0, sizeof *o);
    o->lookahead = -1;
    o->mode = SV_EXEC_FAST;
}

void sv_upscale_plan_chunk(const sv_model *m, int h, int w, int count, const sv_upscale_opts *o, int *chunk,
                           int *lookahead) {
    int la = o->lookahead >= 0 ? o->lookahead : DEFAULT_LOOKAHEAD;
    int ch = o->chunk;
    if (ch <= 0) {
        size_t fixed, per;
        sv_runner_estimate(m, h, w, &fixed, &per);
        size_t budget = o->mem_budget ? o->mem_budget : DEFAULT_BUDGET;
        // frames in the window: runner features + the float input frames
        size_t per_all = per + (size_t)3 * h * w * sizeof(float);
        long n = budget > fixed ? (long)((budget - fixed) / per_all) : 0;
        if (o->lookahead < 0 && n < 4 * la) la = (int)(n / 4);  // keep most of the window for output
        ch = (int)(n - la);
        if (ch < 1) ch = 1;
        if (ch > 100000) ch = 100000;
    }
    if (count > 0 && ch >= count) {
        ch = count;
        la = 0;
    }
    *chunk = ch;
    *lookahead = la;
}

typedef struct {
    sv_write_thread *wt;
    int w4, h4;
    char **names;        // names of the window's frames (folder input; NULL entries for video)
} sink;

static int emit(void *ud, int index, const float *chw, sv_err *e) {
    sink *s = ud;
    const long hw = (long)s->h4 * s->w4;
    unsigned char *rgb = sv_write_thread_buffer(s->wt);
#pragma omp parallel for schedule(static)
    for (long p = 0; p < hw; p++)
        for (int c = 0; c < 3; c++) {
            float v = chw[c * hw + p];
            v = v < 0.0f ? 0.0f : v > 1.0f ? 1.0f : v;
            if (!(v == v)) v = 0.0f;  // NaN
            rgb[p * 3 + c] = (unsigned char)lrintf(v * 255.0f);
        }
    return sv_write_thread_submit(s->wt, s->names ? s->names[index] : NULL, e);
}

static void to_float(float *dst, const unsigned char *rgb, int h, int w) {
    size_t hw = (size_t)h * w;
    for (size_t p = 0; p < hw; p++)
        for (int c = 0; c < 3; c++) dst[c * hw + p] = (float)rgb[p * 3 + c] * (1.0f / 255.0f);
}

int sv_upscale(const sv_model *m, const char *input, const char *output, const sv_upscale_opts *o, sv_err *e) {
    int rc = -1;
    const char *inputs[1] = {input};
    if (sv_output_check_inputs(output, inputs, 1, e)) return -1;
    sv_frame_reader *rd = sv_frames_open(input, e);
    if (!rd) return -1;
    const int w = sv_frames_width(rd), h = sv_frames_height(rd), count = sv_frames_count(rd);
    if (sv_frame_size_check(output, 4LL * w, 4LL * h, e)) {
        sv_frames_close(rd);
        return -1;
    }
    int num = 0, den = 0;
    sv_frames_fps_rational(rd, &num, &den);
    // A folder's count is exact; a video's is the container's estimate, so leave it some room.
    int is_video = sv_frames_fps(rd) > 0 || num > 0;
    int count_hint = count > 0 && is_video ? count + count / 10 + 2 : count;
    int chunk, la;
    sv_upscale_plan_chunk(m, h, w, count_hint, o, &chunk, &la);
    const int win = chunk + la;
    sv_runner *run = NULL;
    sv_frame_writer *wr = NULL;
    sv_write_thread *wt = NULL;
    float *slots = NULL, *prev = NULL;
    float **frames = calloc((size_t)win, sizeof(float *));
    char **names = calloc((size_t)win, sizeof(char *));
    unsigned char *rgb_in = malloc((size_t)w * h * 3);
    slots = malloc((size_t)win * 3 * h * w * sizeof(float));
    prev = malloc((size_t)3 * h * w * sizeof(float));
    if (!frames || !names || !rgb_in || !slots || !prev) {
        sv_errf(e, "out of memory for a window of %d frames of %dx%d", win, w, h);
        goto done;
    }
    for (int i = 0; i < win; i++) frames[i] = slots + (size_t)i * 3 * h * w;
    run = sv_runner_create(m, h, w, win, o->mode, e);
    if (!run) goto done;
    wr = sv_frames_create_with(output, 4 * w, 4 * h, num, den, &(sv_writer_opts){o->encoder, o->replace}, e);
    if (!wr) goto done;
    sv_progress prog;
    sv_progress_start(&prog, "upscale", count, o->quiet);
    if (!(wt = sv_write_thread_start(wr, (size_t)w * h * 48, &prog, e))) goto done;
    sink s = {.wt = wt, .w4 = 4 * w, .h4 = 4 * h, .names = names};
    int have = 0, eof = 0, started = 0;
    for (;;) {
        while (!eof && have < win) {
            int r = sv_frames_read(rd, rgb_in, e);
            if (r < 0) goto done;
            if (r == 0) {
                eof = 1;
                break;
            }
            to_float(frames[have], rgb_in, h, w);
            free(names[have]);
            const char *nm = sv_frames_last_name(rd);
            names[have] = nm ? strdup(nm) : NULL;
            have++;
        }
        if (have == 0) {
            if (!started) {
                sv_errf(e, "%s: no frames to read", input);
                goto done;
            }
            break;
        }
        int n_emit = eof ? have : (have < chunk ? have : chunk);
        if (sv_runner_run_chunk(run, (const float *const *)frames, have, n_emit, started ? prev : NULL, emit, &s, e))
            goto done;
        started = 1;
        memcpy(prev, frames[n_emit - 1], (size_t)3 * h * w * sizeof(float));
        // rotate the window: the lookahead frames move to the front
        for (int k = 0; k < n_emit; k++) {
            float *f = frames[0];
            char *nm = names[0];
            memmove(frames, frames + 1, (size_t)(win - 1) * sizeof *frames);
            memmove(names, names + 1, (size_t)(win - 1) * sizeof *names);
            frames[win - 1] = f;
            names[win - 1] = nm;
        }
        have -= n_emit;
        if (eof && have == 0) break;
    }
    int written = 0;
    const int wfail = sv_write_thread_stop(wt, &written, e);
    wt = NULL;
    if (wfail) goto done;
    if (sv_frames_writer_finish(wr, e)) {
        wr = NULL;
        goto done;
    }
    wr = NULL;
    sv_progress_finish(&prog, written);
    rc = 0;
done:
    if (wt) sv_write_thread_stop(wt, NULL, NULL);  // an error elsewhere: drain, keep that error
    if (wr) sv_frames_writer_abort(wr);
    sv_runner_free(run);
    sv_frames_close(rd);
    for (int i = 0; names && i < win; i++) free(names[i]);
    free(names), free(frames), free(slots), free(prev), free(rgb_in);
    return rc;
}
