// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// upscale.c: reader -> float frames -> runner in chunks -> uint8 frames -> writer.
//
// Memory: the runner keeps the backward features of every frame of a chunk (num_feat x h x w floats
// each; the lookahead frames' pass through the last one's), so a chunk is the unit of memory. Frames
// stream in from the decoder into a window of chunk + lookahead float frames and out to the encoder one at
// a time; nothing holds the whole clip.
// Chunks: the forward branch carries its hidden state from one chunk to the next (exact); the backward
// branch of a chunk starts `lookahead` frames past its end, so only information from further than that
// in the future is lost at chunk borders.
// The chunk loop and its window are clip_stream.c's (shared with eval). Output frames are converted to
// 8 bits here (ops/pixels.h) and encoded and written by write_thread.c, concurrently with the network's
// next frame.
#include "pipeline/upscale.h"

#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/memory.h"
#include "core/warn.h"
#include "io/frames.h"
#include "io/paths.h"
#include "io/video_formats.h"
#include "model/profile.h"
#include "ops/pixels.h"
#include "pipeline/clip_stream.h"
#include "pipeline/upscale_alpha.h"
#include "pipeline/upscale_resume.h"
#include "pipeline/write_thread.h"

#define DEFAULT_LOOKAHEAD 10
#define LOOKAHEAD_SHARE 4  // an automatic window too small for the default lookahead gives it 1/4 of its frames
#define MAX_AUTO_CHUNK 100000
// An automatic window (chunk + lookahead) holds at most this many bytes of float frames and features (the
// chunk's frames'), or one frame when a frame is larger: --max-memory is a limit, not a target. Longer
// chunks only move chunk borders further apart (a border costs a little PSNR on the frames before it); a
// user who wants that passes --chunk. With 64 features and 30 blocks and a 12 GB budget
// (sv_upscale_plan_chunk): 180x320, chunk 69 + lookahead 10; 1280x720, chunk 4 + lookahead 3.
#define AUTO_WINDOW_BYTES ((size_t)1 << 30)
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

static size_t default_budget(sv_mem_avail av) {
    return av.bound == SV_MEM_UNKNOWN ? SV_MEM_FALLBACK_BUDGET : av.bytes / SV_DEFAULT_MEM_SHARE;
}

size_t sv_upscale_default_budget(void) { return default_budget(sv_mem_available()); }

sv_runner *sv_job_runner_create(const sv_model *m, int h, int w, int chunk, int lookahead, sv_exec_mode mode,
                                sv_err *e) {
    return sv_job_runner_create_tiled(m, h, w, chunk, lookahead, mode, 0, e);
}

sv_runner *sv_job_runner_create_tiled(const sv_model *m, int h, int w, int chunk, int lookahead, sv_exec_mode mode,
                                      int tile_rows, sv_err *e) {
    if (chunk < 1 || lookahead < 0 || lookahead > INT_MAX - chunk) {
        sv_errf(e, "invalid window: chunk %d, lookahead %d", chunk, lookahead);
        return NULL;
    }
    if (!m) return sv_bicubic_runner_create(h, w, chunk + lookahead, e);
    if (tile_rows <= 0) tile_rows = sv_runner_default_tile_rows(m, h, w, mode);
    return sv_runner_create_window(m, h, w, chunk + lookahead, chunk, mode, tile_rows, e);
}

void sv_job_runner_estimate(const sv_model *m, int h, int w, sv_exec_mode mode, int tile_rows, size_t *fixed,
                            size_t *per_frame) {
    if (!m) sv_bicubic_runner_estimate(h, w, fixed, per_frame);
    else if (tile_rows > 0) sv_runner_estimate_tiled(m, h, w, mode, tile_rows, fixed, per_frame);
    else sv_runner_estimate(m, h, w, mode, fixed, per_frame);
}

void sv_runner_profile_add(sv_runner_profile *sum, const sv_runner *r) {
    const sv_runner_profile p = sv_runner_get_profile(r);
    sum->frames += p.frames;
    sum->spynet += p.spynet, sum->trunk += p.trunk, sum->recon += p.recon, sum->emit += p.emit;
    if (sum->layers) sv_prof_table_merge(sum->layers, sv_runner_get_layers(r));
}

// Bytes of the runner and the frame window of chunk + lookahead frames: fixed, a float frame per window
// frame (per_frame) and the runner's features per chunk frame (per_feat)
typedef struct {
    size_t fixed, per_frame, per_feat;
} window_cost;

// The runner (sv_runner_estimate), the window's float frames, the previous chunk's last frame and the
// decoded 8-bit frame.
static window_cost runner_window_cost(const sv_model *m, int h, int w, sv_exec_mode mode, int tile_rows) {
    window_cost c;
    const size_t frame = (size_t)3 * h * w;
    sv_job_runner_estimate(m, h, w, mode, tile_rows, &c.fixed, &c.per_feat);
    c.fixed += frame * sizeof(float) + frame;
    c.per_frame = frame * sizeof(float);
    return c;
}

// In long double: chunks near INT_MAX times frames of gigabytes overflow size_t (SIZE_MAX then).
static size_t cost_of(window_cost c, long long chunk, long long lookahead) {
    const long double b = (long double)c.fixed + (long double)c.per_frame * (long double)(chunk + lookahead) +
                          (long double)c.per_feat * (long double)chunk;
    return b >= (long double)SIZE_MAX ? SIZE_MAX : (size_t)b;
}

// The largest chunk that fits in bytes with lookahead frames after it (at most INT_MAX); 0 when not even a
// chunk of 1 does
static long long chunk_within(window_cost c, long long lookahead, size_t bytes) {
    const size_t base = cost_of(c, 0, lookahead);
    if (bytes < base) return 0;
    const size_t n = (bytes - base) / (c.per_frame + c.per_feat);
    return n > (size_t)INT_MAX ? INT_MAX : (long long)n;
}

// The window's part of a cost: its frames and features, without the fixed part.
static window_cost window_only(window_cost c) {
    c.fixed = 0;
    return c;
}

// An automatic chunk with lookahead la: what fits in the budget, with the window's frames and features
// within AUTO_WINDOW_BYTES (at least one frame).
static long long auto_chunk(window_cost c, int la, size_t budget) {
    long long n = chunk_within(c, la, budget), cap = chunk_within(window_only(c), la, AUTO_WINDOW_BYTES);
    if (cap < 1) cap = 1;
    return n < cap ? n : cap;
}

void sv_upscale_plan_chunk(const sv_model *m, int h, int w, int count, const sv_upscale_opts *o, int *chunk,
                           int *lookahead) {
    if (m && sv_is_uni(m)) {  // forward only: each frame is emitted as soon as it has been read
        *chunk = 1;
        *lookahead = 0;
        return;
    }
    int la = o->lookahead >= 0 ? o->lookahead : DEFAULT_LOOKAHEAD;
    if (count > 0 && la > count) la = count;  // a window never holds more than the clip
    int ch = o->chunk;
    if (ch <= 0) {
        const window_cost c = runner_window_cost(m, h, w, o->mode, o->tile_rows);
        const size_t budget = o->mem_budget ? o->mem_budget : sv_upscale_default_budget();
        long long n = auto_chunk(c, la, budget);
        if (o->lookahead < 0 && n + la < (long long)LOOKAHEAD_SHARE * la) {
            la = (int)((n + la) / LOOKAHEAD_SHARE);
            // and no more than the window cap allows beside one frame
            while (la > 0 && cost_of(window_only(c), 1, la) > AUTO_WINDOW_BYTES) la--;
            n = auto_chunk(c, la, budget);
        }
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

// The write thread's two output frames (RGB or RGBA, 8 or 16 bits), the alpha planes of frames with alpha
// and the encoder's state, by the output's kind (the encoders other than FFV1 and raw frames are counted as
// libx264, which was measured; they were not). o: the writer's options for this input (open_and_plan's).
static size_t output_bytes(const char *output, const sv_writer_opts *o, int w, int h) {
    const int w4 = SV_SCALE * w, h4 = SV_SCALE * h, bits = o->bits == 16 ? 16 : 8;
    const size_t px = (size_t)w4 * h4, frame = px * (o->alpha ? 4 : 3) * (size_t)(bits / 8);
    const sv_container *k = sv_output_container(output, o);
    const char *codec = o->encoder ? o->encoder : k ? k->codec : NULL;
    const size_t per_px = !k || !codec || !strcmp(codec, "wrapped_avframe") ? 0
                          : !strcmp(codec, "ffv1") ? FFV1_BYTES_PER_PIXEL : X264_BYTES_PER_PIXEL;
    return 2 * frame + px * per_px + (o->alpha ? sv_alpha_attach_bytes(w, h, bits) : 0);
}

static int is_segment(const sv_upscale_opts *o) { return o->first != 0 || o->end != 0; }

int sv_upscale_check_window(const sv_model *m, const char *input, const sv_upscale_opts *o, sv_err *e) {
    if (!m || !sv_is_uni(m) || (o->chunk <= 1 && o->lookahead <= 0)) return 0;
    return sv_errf(e, "%s: --%s %d: the model is forward-only (direction %s): it reads no future frame and emits "
                   "each frame as soon as it has been read (chunk 1, lookahead 0), with the same output whatever "
                   "the chunk", input, o->lookahead > 0 ? "lookahead" : "chunk", o->lookahead > 0 ? o->lookahead
                   : o->chunk, sv_direction_name(m->dir));
}

// A resumable job's buffer for its checkpoints (upscale_resume.c: one plane of the runner's state): a folder
// or video file output, not --no-resume, not a segment.
static size_t resume_bytes(const sv_model *m, const char *output, const sv_upscale_opts *o, int w, int h) {
    const sv_output_kind kind = sv_frames_output_kind(output);
    if (o->direct || is_segment(o) || (kind != SV_OUTPUT_FOLDER && kind != SV_OUTPUT_VIDEO)) return 0;
    int planes;
    size_t pf;
    sv_runner_state_shape_for(m, h, w, &planes, &pf);
    return pf * sizeof(float);
}

// The refusal: "IN: CLAIM; LIMIT: FIX", LIMIT: what is available, or the budget that --max-memory sets
static int refuse(const char *input, const char *claim, sv_mem_avail av, size_t budget, const sv_upscale_opts *o,
                  const char *fix, sv_err *e) {
    char y[128], x[32], limit[200];
    sv_mem_describe(av, y, sizeof y);
    if (budget >= av.bytes) snprintf(limit, sizeof limit, "%s", y);
    else if (o->mem_budget) snprintf(limit, sizeof limit, "--max-memory is %s", sv_mem_format(budget, x, sizeof x));
    else snprintf(limit, sizeof limit, "%s, and --max-memory is 1/%d of that by default", y, SV_DEFAULT_MEM_SHARE);
    return sv_errf(e, "%s: %s; %s: %s", input, claim, limit, fix);
}

// The reconstruction's tiles (model/runner.h) for a job within room bytes: the runner's default
// (sv_runner_default_tile_rows) when its maps take at most half of room more than the smallest tiles' and
// leave room for a window of the chunk (1 when automatic) and its lookahead, else the largest that do; the
// rest goes to the chunk. Larger tiles only save the rows each conv computes past its tile's edges, so the
// default keeps them moderate. The smallest when nothing fits.
static int choose_tiles(const sv_model *m, int h, int w, int count, const sv_upscale_opts *o, size_t room) {
    if (!m || o->tile_rows > 0) return o->tile_rows;
    int la = o->lookahead >= 0 ? o->lookahead : DEFAULT_LOOKAHEAD, ch = o->chunk > 0 ? o->chunk : 1;
    if (count > 0 && (long long)ch + la > count) la = count > ch ? count - ch : 0;
    const size_t need = cost_of(runner_window_cost(m, h, w, o->mode, SV_RECON_ALIGN), ch, la);
    if (need >= room) return SV_RECON_ALIGN;
    const size_t spare = room - need < room / 2 ? room - need : room / 2;
    size_t least, def, per;
    sv_runner_estimate_tiled(m, h, w, o->mode, SV_RECON_ALIGN, &least, &per);
    int t = sv_runner_default_tile_rows(m, h, w, o->mode);
    sv_runner_estimate_tiled(m, h, w, o->mode, t, &def, &per);
    if (def > least + spare) t = sv_runner_tile_rows(m, h, w, o->mode, least + spare);
    return t > 0 ? t : h;  // h: the whole frame
}

// The tiles, chunk and lookahead for a job within budget bytes (out: the output's share); *c: the cost
// of its runner and window, the output's included.
static void plan_within(const sv_model *m, int count, const sv_upscale_opts *o, size_t budget, size_t out,
                        sv_upscale_plan *pl, window_cost *c) {
    const int h = pl->h, w = pl->w;
    sv_upscale_opts p = *o;
    p.mem_budget = budget > out ? budget - out : 1;
    p.tile_rows = choose_tiles(m, h, w, count, o, p.mem_budget);
    sv_upscale_plan_chunk(m, h, w, count, &p, &pl->chunk, &pl->lookahead);
    *c = runner_window_cost(m, h, w, o->mode, p.tile_rows);
    c->fixed += out;
    pl->tile_rows = m && p.tile_rows > 0 ? sv_runner_tiles_used(h, p.tile_rows) : h;
    pl->budget = budget;
    pl->peak = cost_of(*c, pl->chunk, pl->lookahead);
}

// Plans the job within the budget: --max-memory, never more than is available; without it, half of what
// is available (sv_upscale_default_budget), or all of it when the job does not fit in half. Then checks
// that the whole job fits: fails naming the input, the frame size, the memory needed and the limit, and
// the option to change, before anything big is allocated.
static int plan_job(const sv_model *m, const char *input, const char *output, const sv_writer_opts *wo, int count,
                    const sv_upscale_opts *o, sv_upscale_plan *pl, sv_err *e) {
    const int h = pl->h, w = pl->w;
    const sv_mem_avail av = sv_mem_available();
    const size_t out = output_bytes(output, wo, w, h) + resume_bytes(m, output, o, w, h) + JOB_SLACK_BYTES;
    size_t budget = o->mem_budget ? o->mem_budget : default_budget(av);
    if (budget > av.bytes) budget = av.bytes;
    window_cost c;
    plan_within(m, count, o, budget, out, pl, &c);
    if (pl->peak > budget && !o->mem_budget && budget < av.bytes) plan_within(m, count, o, budget = av.bytes, out, pl, &c);
    if (pl->peak <= budget) return 0;
    char claim[200], fix[100], x[32];
    if (chunk_within(c, 0, budget) < 1) {
        snprintf(claim, sizeof claim, "frames of %dx%d need about %s with this model even one frame at a time "
                 "(--chunk 1)", w, h, sv_mem_format(cost_of(c, 1, 0), x, sizeof x));
        return refuse(input, claim, av, budget, o, budget < av.bytes ? "use a larger --max-memory, a smaller model "
                      "or smaller frames" : "use a smaller model or smaller frames", e);
    }
    snprintf(claim, sizeof claim, "--chunk %d with --lookahead %d needs about %s for frames of %dx%d", pl->chunk,
             pl->lookahead, sv_mem_format(pl->peak, x, sizeof x), w, h);
    const long long fit = chunk_within(c, pl->lookahead, budget);
    if (fit >= 1) {  // the chunk is too large (an explicit --chunk: an automatic one fits)
        snprintf(fix, sizeof fix, "use --chunk %lld or less", fit);
    } else {         // the lookahead is: the most that fits with a chunk of 1
        const size_t one = cost_of(c, 1, 1) - c.per_frame, room = budget > one ? budget - one : 0;
        snprintf(fix, sizeof fix, "use --chunk 1 --lookahead %zu or less", room / c.per_frame);
    }
    return refuse(input, claim, av, budget, o, fix, e);
}

typedef struct {
    sv_write_thread *wt;
    const sv_clip_window *win;
    sv_runner *run;
    sv_upscale_resume *res;
    sv_alpha_attach *alpha;  // frames with alpha (RGBA output), or NULL
    int w4, h4, bits;        // bits: the output's samples, 8 or 16 (sv_writer_opts.bits)
    long long first;  // frames before it are not written (a segment's)
} sink;

// Each band of an output frame: quantised into its rows of the writer thread's free buffer (8 or 16 bits,
// with alpha when the input has it); a frame's last band queues it under its input frame's name (folder
// input), or the folder writer's name for the clip's frame (video input), which a segment must give itself:
// its writer counts from its own first frame.
static int emit(void *ud, int index, int y0, int rows, const float *chw, sv_err *e) {
    sink *s = ud;
    const long long at = s->win->pos + index;
    if (at < s->first) return 0;
    char number[32];
    const char *name = s->win->names[index];
    if (!name) snprintf(number, sizeof number, "%08lld.png", at), name = number;
    unsigned char *buf = sv_write_thread_buffer(s->wt);
    const size_t row = (size_t)s->w4 * 3;  // samples of an RGB row
    if (s->alpha) {
        if (sv_alpha_attach_band(s->alpha, s->win->rd, name, y0, rows, chw, buf, e)) return -1;
    } else if (s->bits == 16) {
        sv_chw_to_rgb16((uint16_t *)(void *)buf + (size_t)y0 * row, chw, rows, s->w4);
    } else {
        sv_chw_to_rgb(buf + (size_t)y0 * row, chw, rows, s->w4);
    }
    return y0 + rows < s->h4 ? 0 : sv_write_thread_submit(s->wt, name, s->win->pts[index], e);
}

// A chunk wholly before a segment's first frame only carries the forward state on.
static int run_chunk(void *ud, sv_clip_window *w, int n_emit, sv_err *e) {
    sink *s = ud;
    if (w->pos + n_emit <= s->first)
        return sv_runner_warm_up(s->run, (const float *const *)w->frames, n_emit, w->prev, e);
    if (sv_clip_window_run(s->run, w, n_emit, emit, s, e)) return -1;
    return sv_upscale_resume_chunk(s->res, s->run, s->wt, n_emit, e);
}

// Streams the clip into the writer; on success the writer is finished (the output published).
static int stream_to(sv_clip_window *win, sv_runner *run, sv_frame_writer *wr, const sv_upscale_opts *o,
                     const sv_writer_opts *out, int count, sv_upscale_resume *res, sv_alpha_attach *alpha, sv_err *e) {
    sv_progress_job prog;
    sv_progress_start(&prog, o->progress, "upscale", count > 0 ? count - res->next : count);
    const int w4 = SV_SCALE * win->w, h4 = SV_SCALE * win->h;
    const int bits = out->bits == 16 ? 16 : 8;
    sink s = {.win = win, .run = run, .res = res, .alpha = alpha, .w4 = w4, .h4 = h4, .bits = bits, .first = o->first};
    if (!(s.wt = sv_write_thread_start(wr, (size_t)w4 * h4 * (alpha ? 4 : 3) * (bits / 8), &prog, e))) {
        sv_frames_writer_abort(wr);
        return -1;
    }
    int rc = sv_clip_stream(win, run_chunk, &s, e), written = 0;
    if (!rc && win->pos <= o->first)
        rc = sv_errf(e, "%s: the clip has %lld frames, so --frames must start before frame %lld (it starts "
                     "at %lld)", win->path, win->pos, win->pos, o->first);
    if (rc) sv_write_thread_stop(s.wt, NULL, NULL);  // drain, keep the first error
    else rc = sv_write_thread_stop(s.wt, &written, e) || sv_upscale_resume_last(res, run, e);
    if (rc) {
        sv_frames_writer_abort(wr);
        return -1;
    }
    sv_upscale_resume_end(res);
    if (res->video) sv_progress_finish(&prog, written);  // a resumable video's encode reports on its own
    if (sv_frames_writer_finish(wr, e)) return -1;
    sv_upscale_resume_published(res);
    if (!res->video) sv_progress_finish(&prog, written);
    return 0;
}

// A resumable video's encode from its partial folder (io/frames.h: sv_writer_opts.encoded), reported as a
// job of its own, "encode".
typedef struct {
    sv_progress cb;
    sv_progress_job job;
} encode_report;

static void report_encode(void *ud, long long done, long long total) {
    encode_report *r = ud;
    const int d = done > INT_MAX ? INT_MAX : (int)done, n = total > INT_MAX ? INT_MAX : (int)total;
    if (done == 0) sv_progress_start(&r->job, r->cb, "encode", n);
    else if (done < total) sv_progress_update(&r->job, d);
    else sv_progress_finish(&r->job, d);
}

// A segment's range against its options and, when the count is exact (is_video 0), the clip's frames.
static int check_segment(const sv_model *m, const char *input, const sv_upscale_opts *o, int count, int is_video,
                         sv_err *e) {
    if (!is_segment(o)) return 0;
    char range[48];
    if (o->end) snprintf(range, sizeof range, "%lld:%lld", o->first, o->end);
    else snprintf(range, sizeof range, "%lld:", o->first);
    if (o->first < 0 || (o->end && o->end <= o->first))
        return sv_errf(e, "%s: --frames %s is not a range (FIRST:END, END past FIRST)", input, range);
    if (o->chunk <= 0 && !(m && sv_is_uni(m)))  // a uni model's chunk is always 1
        return sv_errf(e, "%s: --frames needs an explicit chunk (--chunk N): the automatic one depends "
                       "on this machine's memory, and segments join exactly only with the same chunk and "
                       "lookahead", input);
    if (is_video || count <= 0 || (o->first < count && o->end <= count)) return 0;
    return sv_errf(e, "%s: the clip has %d frames (0..%d), so --frames %s reaches past its end", input, count,
                   count - 1, range);
}

// The input's other streams (others) that a video output cannot keep: standard input is read once, for the
// pictures, so they cannot be copied as a file's are; a segment's copy would start at the clip's start.
static void warn_streams_left(const char *input, const char *output, int others, const sv_writer_opts *out,
                              const sv_upscale_opts *o) {
    if (!others || out->drop_streams || sv_frames_output_kind(output) == SV_OUTPUT_FOLDER) return;
    const char *verb = others > 1 ? "s are" : " is", *them = others > 1 ? "them" : "it";
    if (!out->keep_from)
        sv_warnf("standard input: %d audio, subtitle or data stream%s not kept: a pipe is read only once (name "
                 "the input file to keep %s)", others, verb, them);
    else if (is_segment(o))
        sv_warnf("%s: %d audio, subtitle or data stream%s not kept in a segment: add %s when the segments are "
                 "joined", input, others, verb, them);
}

// Opens the input and plans the job (plan_job) after the checks that need no frame; *out: the writer's
// options with the input's depth.
static sv_frame_reader *open_and_plan(const sv_model *m, const char *input, const char *output,
                                      const sv_upscale_opts *o, sv_upscale_plan *pl, sv_writer_opts *out,
                                      sv_err *e) {
    const char *inputs[1] = {input};
    if (sv_output_check_inputs(output, inputs, 1, e)) return NULL;
    sv_frame_reader *rd = sv_frames_open(input, e);
    if (!rd) return NULL;
    *pl = (sv_upscale_plan){.w = sv_frames_width(rd), .h = sv_frames_height(rd), .count = sv_frames_count(rd)};
    *out = o->out;
    out->depth = sv_frames_depth(rd);
    // a video file's timing, rotation, colour and other streams go into a video output (io/frames.h)
    out->keep_from = sv_frames_is_video(rd) && !sv_path_is_stream(input) ? input : NULL;
    // frames with alpha: RGBA PNG frames in a folder output; any other output drops it, with a warning.
    // 16-bit PNG frames: 16-bit PNG frames out (a video output takes 8-bit frames, and a deeper pixel format)
    const int folder = sv_frames_output_kind(output) == SV_OUTPUT_FOLDER;
    out->alpha = sv_frames_has_alpha(rd) && folder;
    out->bits = out->depth == 16 && !sv_frames_is_video(rd) && folder ? 16 : 8;
    if (sv_frames_has_alpha(rd) && !out->alpha)
        sv_warnf("%s: the frames' alpha channel is dropped: a video output carries none (a folder output keeps "
                 "it, in RGBA PNG frames)", input);
    if (sv_upscale_check_window(m, input, o, e) || check_segment(m, input, o, pl->count, sv_frames_is_video(rd), e) ||
        sv_frame_size_check(output, (long long)SV_SCALE * pl->w, (long long)SV_SCALE * pl->h, e) ||
        plan_job(m, input, output, out, sv_upscale_count_hint(pl->count, sv_frames_is_video(rd)), o, pl, e)) {
        sv_frames_close(rd);
        return NULL;
    }
    warn_streams_left(input, output, sv_frames_other_streams(rd), out, o);
    if (is_segment(o)) out->drop_streams = 1;  // a segment's copy would hold the streams from the clip's start
    return rd;
}

int sv_upscale_dry_run(const sv_model *m, const char *input, const char *output, const sv_upscale_opts *o,
                       sv_upscale_plan *plan, sv_err *e) {
    sv_writer_opts out;
    sv_upscale_opts job = *o;  // a partial output's chunk and lookahead
    if (sv_upscale_resume_defaults(output, &job, e)) return -1;
    sv_frame_reader *rd = open_and_plan(m, input, output, &job, plan, &out, e);
    if (!rd) return -1;
    int num = 0, den = 0;
    sv_frames_fps_rational(rd, &num, &den);
    const int rc = sv_frames_output_check(output, SV_SCALE * plan->w, SV_SCALE * plan->h, num, den, &out, e);
    sv_frames_close(rd);
    return rc;
}

int sv_upscale(const sv_model *m, const char *input, const char *output, const sv_upscale_opts *opts, sv_err *e) {
    sv_upscale_plan pl;
    sv_writer_opts out;
    sv_upscale_opts job = *opts;  // a partial output's chunk and lookahead
    const sv_upscale_opts *o = &job;
    const int segment = is_segment(o);
    if (segment && o->resume)
        return sv_errf(e, "--resume: a segment (--frames) keeps no partial output; run it again");
    if (sv_upscale_resume_defaults(output, &job, e)) return -1;
    sv_frame_reader *rd = open_and_plan(m, input, output, o, &pl, &out, e);
    if (!rd) return -1;
    if (!segment) sv_upscale_partial_room(output, pl.w, pl.h, pl.count, &job);
    out.partial = !segment && !o->direct;  // a segment is one part of a clip: rerun, not resumed (README)
    encode_report enc = {.cb = o->progress};
    if (o->progress.fn) out.encoded = report_encode, out.encoded_ud = &enc;
    sv_upscale_resume res = {0};
    sv_alpha_attach alpha = {0};
    const int w = pl.w, h = pl.h;
    int num = 0, den = 0, rc = -1;
    sv_frames_fps_rational(rd, &num, &den);
    sv_runner *run = NULL;
    sv_clip_window win = {0};
    // the writer first: it refuses a bad output before the window and the runner take their memory
    sv_frame_writer *wr = sv_frames_create_with(output, SV_SCALE * w, SV_SCALE * h, num, den, &out, e);
    if (!wr || sv_clip_window_init(&win, input, rd, pl.chunk, pl.lookahead, 0, 1, e) ||
        !(run = sv_job_runner_create_tiled(m, h, w, pl.chunk, pl.lookahead, o->mode, pl.tile_rows, e)) ||
        sv_upscale_resume_begin(&res, wr, output, m, input, &pl, o, run, &win, e) ||
        (out.alpha && sv_alpha_attach_init(&alpha, w, h, out.bits, e))) {
        sv_frames_writer_abort(wr);
        goto done;
    }
    win.end = o->end;
    const long long todo = o->end ? o->end - o->first : pl.count > o->first ? pl.count - o->first : -1;
    rc = stream_to(&win, run, wr, o, &out, todo > INT_MAX ? -1 : (int)todo, &res, out.alpha ? &alpha : NULL, e);
done:  // stream_to finishes or aborts wr
    sv_alpha_attach_free(&alpha);
    sv_upscale_resume_free(&res);
    if (o->profile && run) sv_runner_profile_add(o->profile, run);
    sv_runner_free(run);
    sv_clip_window_free(&win);
    sv_frames_close(rd);
    return rc;
}
