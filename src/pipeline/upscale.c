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

#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/memory.h"
#include "core/progress.h"
#include "io/frames.h"
#include "io/paths.h"
#include "pipeline/write_thread.h"

// Memory for the runner and the frame window when --chunk is not given; with the process's other needs
// (code, libav, the model) this keeps a 180x320 clip under about 2 GB peak. Never more than the memory
// available; a frame size whose fixed part alone exceeds it runs one frame at a time (chunk 1).
#define DEFAULT_BUDGET ((size_t)1700 << 20)
#define DEFAULT_LOOKAHEAD 10
#define MAX_AUTO_CHUNK 100000
// An encoder's state per output pixel, measured as peak RSS above a PNG folder's output (60 frames of
// 960x544, 2 cores): libx264 (preset medium: 40 frames of rate-control lookahead, 3 threads) about 256,
// more with more threads; FFV1 about 175. PNG frames are written row by row: nothing that grows with the frame.
#define X264_BYTES_PER_PIXEL 320
#define FFV1_BYTES_PER_PIXEL 192
// What else a job starts: the writer thread's stack and malloc arena (address space that RLIMIT_AS
// counts), libav's and libpng's buffers
#define JOB_SLACK_BYTES ((size_t)96 << 20)

void sv_upscale_opts_default(sv_upscale_opts *o) {
    memset(o, 0, sizeof *o);
    o->lookahead = -1;
    o->mode = SV_EXEC_FAST;
}

int sv_upscale_count_hint(int count, int is_video) {
    if (count <= 0 || !is_video) return count;
    const long long hint = count + (long long)count / 10 + 2;
    return hint > INT_MAX ? INT_MAX : (int)hint;
}

// Bytes of the runner and the frame window: fixed + per_frame x (chunk + lookahead) frames
typedef struct {
    size_t fixed, per_frame;
} window_cost;

// The runner (sv_runner_estimate), one float frame per window slot, the previous chunk's last frame and
// the decoded 8-bit frame.
static window_cost runner_window_cost(const sv_model *m, int h, int w, sv_exec_mode mode) {
    window_cost c;
    const size_t frame = (size_t)3 * h * w;
    sv_runner_estimate(m, h, w, mode, &c.fixed, &c.per_frame);
    c.fixed += frame * sizeof(float) + frame;
    c.per_frame += frame * sizeof(float);
    return c;
}

static size_t cost_of(window_cost c, long long frames) {
    if (frames > 0 && c.per_frame && (size_t)frames > (SIZE_MAX - c.fixed) / c.per_frame) return SIZE_MAX;
    return c.fixed + c.per_frame * (size_t)frames;
}

// Window frames (chunk + lookahead) that fit in bytes; -1 when not even the fixed part does
static long long frames_within(window_cost c, size_t bytes) {
    if (bytes < c.fixed) return -1;
    const size_t n = (bytes - c.fixed) / c.per_frame;
    return n > (size_t)INT_MAX ? INT_MAX : (long long)n;
}

void sv_upscale_plan_chunk(const sv_model *m, int h, int w, int count, const sv_upscale_opts *o, int *chunk,
                           int *lookahead) {
    int la = o->lookahead >= 0 ? o->lookahead : DEFAULT_LOOKAHEAD;
    if (count > 0 && la > count) la = count;  // a window never holds more than the clip
    int ch = o->chunk;
    if (ch <= 0) {
        const window_cost c = runner_window_cost(m, h, w, o->mode);
        long long n = frames_within(c, o->mem_budget ? o->mem_budget : DEFAULT_BUDGET);
        if (n < 0) n = 0;
        if (o->lookahead < 0 && n < 4LL * la) la = (int)(n / 4);  // keep most of the window for output
        n -= la;
        ch = n < 1 ? 1 : n > MAX_AUTO_CHUNK ? MAX_AUTO_CHUNK : (int)n;
    }
    if (count > 0 && ch >= count) {
        ch = count;
        la = 0;
    } else if (count > 0 && la > count - ch) {
        la = count - ch;
    }
    if (la > INT_MAX - ch) la = INT_MAX - ch;  // the window chunk + lookahead is an int
    *chunk = ch;
    *lookahead = la;
}

// The write thread's two 8-bit output frames and the encoder's state, by the output's kind.
static size_t output_bytes(const char *output, const char *encoder, int w4, int h4) {
    const size_t px = (size_t)w4 * h4;
    const sv_output_kind kind = sv_frames_output_kind(output);
    const int video = kind == SV_OUTPUT_MP4 || kind == SV_OUTPUT_MKV;
    const int ffv1 = encoder ? !strcmp(encoder, "ffv1") : kind == SV_OUTPUT_MKV;
    return 2 * 3 * px + (!video ? 0 : px * (ffv1 ? FFV1_BYTES_PER_PIXEL : X264_BYTES_PER_PIXEL));
}

// The refusal: "IN: CLAIM; Y are available (BOUND): FIX"
static int refuse(const char *input, const char *claim, sv_mem_avail av, const char *fix, sv_err *e) {
    char y[128];
    return sv_errf(e, "%s: %s; %s: %s", input, claim, sv_mem_describe(av, y, sizeof y), fix);
}

// Chooses chunk and lookahead (sv_upscale_plan_chunk, its budget capped by the memory available), then
// checks that the whole job fits in what is available: fails naming the input, the frame size, the memory
// needed and available, and the option to change, before anything big is allocated.
static int plan_job(const sv_model *m, const char *input, const char *output, int h, int w, int count,
                    const sv_upscale_opts *o, int *chunk, int *la, sv_err *e) {
    const sv_mem_avail av = sv_mem_available();
    window_cost c = runner_window_cost(m, h, w, o->mode);
    const size_t out = output_bytes(output, o->encoder, 4 * w, 4 * h) + JOB_SLACK_BYTES;
    c.fixed += out;
    sv_upscale_opts p = *o;
    const size_t budget = o->mem_budget ? o->mem_budget : DEFAULT_BUDGET, room = av.bytes > out ? av.bytes - out : 1;
    p.mem_budget = budget < room ? budget : room;
    sv_upscale_plan_chunk(m, h, w, count, &p, chunk, la);
    const size_t need = cost_of(c, (long long)*chunk + *la);
    if (need <= av.bytes) return 0;
    const long long fit = frames_within(c, av.bytes);  // window frames (chunk + lookahead) that fit
    char claim[200], fix[100], x[32];
    if (fit < 1) {
        snprintf(claim, sizeof claim, "frames of %dx%d need about %s with this model even one frame at a time "
                 "(--chunk 1)", w, h, sv_mem_format(cost_of(c, 1), x, sizeof x));
        return refuse(input, claim, av, "use a smaller model or smaller frames", e);
    }
    snprintf(claim, sizeof claim, "--chunk %d with --lookahead %d needs about %s for frames of %dx%d", *chunk, *la,
             sv_mem_format(need, x, sizeof x), w, h);
    if (fit > *la)  // the chunk is too large (an explicit --chunk: an automatic one fits)
        snprintf(fix, sizeof fix, "use --chunk %lld or less", fit - *la);
    else            // the lookahead is
        snprintf(fix, sizeof fix, "use --chunk 1 --lookahead %lld or less", fit - 1);
    return refuse(input, claim, av, fix, e);
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
    const int is_video = sv_frames_fps(rd) > 0 || num > 0;
    int chunk, la;
    if (plan_job(m, input, output, h, w, sv_upscale_count_hint(count, is_video), o, &chunk, &la, e)) {
        sv_frames_close(rd);
        return -1;
    }
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
