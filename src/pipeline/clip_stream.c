// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// clip_stream.c: the chunk window and loop of clip_stream.h.
#include "pipeline/clip_stream.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ops/pixels.h"

int sv_clip_window_init(sv_clip_window *w, const char *path, sv_frame_reader *rd, int chunk, int lookahead,
                        int max_frames, int keep_names, sv_err *e) {
    if (sv_clip_window_init_sized(w, path, sv_frames_height(rd), sv_frames_width(rd), chunk, lookahead, keep_names, e))
        return -1;
    w->rd = rd, w->max_frames = max_frames;
    // 16-bit PNG frames are read at full precision (the network takes floats)
    w->deep = sv_frames_depth(rd) == 16 && !sv_frames_is_video(rd);
    unsigned char *rgb16 = w->deep ? realloc(w->rgb, (size_t)3 * w->h * w->w * sizeof(uint16_t)) : w->rgb;
    if (!rgb16) {
        sv_clip_window_free(w);
        return sv_errf(e, "%s: out of memory for a 16-bit frame of %dx%d", path, sv_frames_width(rd),
                       sv_frames_height(rd));
    }
    w->rgb = rgb16;
    return 0;
}

int sv_clip_window_init_sized(sv_clip_window *w, const char *path, int h, int wd, int chunk, int lookahead,
                              int keep_names, sv_err *e) {
    memset(w, 0, sizeof *w);
    w->path = path, w->chunk = chunk, w->win = chunk + lookahead;
    w->h = h, w->w = wd;
    const size_t fsz = (size_t)3 * w->h * w->w;
    w->frames = calloc((size_t)w->win, sizeof *w->frames);
    w->names = keep_names ? calloc((size_t)w->win, sizeof *w->names) : NULL;
    w->pts = calloc((size_t)w->win, sizeof *w->pts);
    w->slots = malloc((size_t)w->win * fsz * sizeof(float));
    w->prev_buf = malloc(fsz * sizeof(float));
    w->rgb = malloc(fsz);
    if (!w->frames || !w->pts || (keep_names && !w->names) || !w->slots || !w->prev_buf || !w->rgb) {
        sv_clip_window_free(w);
        return sv_errf(e, "%s: out of memory for a window of %d frames of %dx%d", path, chunk + lookahead, w->w,
                       w->h);
    }
    for (int i = 0; i < w->win; i++) w->frames[i] = w->slots + (size_t)i * fsz;
    return 0;
}

void sv_clip_window_free(sv_clip_window *w) {
    for (int i = 0; w->names && i < w->win; i++) free(w->names[i]);
    free(w->names), free(w->pts), free(w->frames), free(w->slots), free(w->prev_buf), free(w->rgb);
    memset(w, 0, sizeof *w);
}

// Reads the next frame (8 or 16 bits) and, when dst is not NULL, converts it into dst ([3, h, w] floats).
// Returns 1, 0 at the end, -1 on error.
static int read_one(sv_clip_window *w, float *dst, sv_err *e) {
    const int r = w->deep ? sv_frames_read16(w->rd, (uint16_t *)w->rgb, e) : sv_frames_read(w->rd, w->rgb, e);
    if (r <= 0 || !dst) return r;
    if (w->deep) sv_rgb16_to_chw(dst, (const uint16_t *)w->rgb, w->h, w->w);
    else sv_rgb_to_chw(dst, w->rgb, w->h, w->w);
    return 1;
}

// Reads frames until the window is full or the clip (or max_frames) ends.
static int fill(sv_clip_window *w, sv_err *e) {
    while (!w->eof && w->have < w->win) {
        if (w->max_frames > 0 && w->read == w->max_frames) {
            w->eof = w->limited = 1;
            break;
        }
        const int r = read_one(w, w->frames[w->have], e);
        if (r < 0) return -1;
        if (r == 0) {
            w->eof = 1;
            break;
        }
        w->pts[w->have] = sv_frames_last_pts(w->rd);
        if (w->names) {
            const char *nm = sv_frames_last_name(w->rd);
            free(w->names[w->have]);
            w->names[w->have] = NULL;
            if (nm && !(w->names[w->have] = strdup(nm))) return sv_errf(e, "%s: out of memory", w->path);
        }
        w->have++, w->read++;
    }
    return 0;
}

void sv_clip_window_advance(sv_clip_window *w, int n_emit) {
    w->prev = w->prev_buf;
    memcpy(w->prev, w->frames[n_emit - 1], (size_t)3 * w->h * w->w * sizeof(float));
    for (int k = 0; k < n_emit; k++) {
        float *f = w->frames[0];
        memmove(w->frames, w->frames + 1, (size_t)(w->win - 1) * sizeof *w->frames);
        w->frames[w->win - 1] = f;
        memmove(w->pts, w->pts + 1, (size_t)(w->win - 1) * sizeof *w->pts);
        if (w->names) {
            char *nm = w->names[0];
            memmove(w->names, w->names + 1, (size_t)(w->win - 1) * sizeof *w->names);
            w->names[w->win - 1] = nm;
        }
    }
    w->have -= n_emit;
    w->pos += n_emit;
}

// The clip has ended after w->pos frames: fine, unless frames up to w->end were asked for.
static int short_clip(const sv_clip_window *w, sv_err *e) {
    if (!w->end || w->pos >= w->end) return 0;
    return sv_errf(e, "%s: the clip has %lld frames, so a range of frames (upscale --frames) must end at %lld or "
                   "before (it ends at %lld)", w->path, w->pos, w->pos, w->end);
}

int sv_clip_window_skip(sv_clip_window *w, int k, sv_err *e) {
    for (int i = 0; i < k; i++) {
        const int r = read_one(w, i == k - 1 ? w->prev_buf : NULL, e);  // the last one is kept as prev
        if (r < 0) return -1;
        if (r == 0) return sv_errf(e, "%s: has %d frames, fewer than the %d to skip", w->path, i, k);
        w->read++;
    }
    if (k > 0) w->prev = w->prev_buf;
    w->pos = k;  // frames[0] will be frame k: the frames emitted from here are named and counted from it
    return 0;
}

int sv_clip_stream(sv_clip_window *w, sv_chunk_fn run, void *ud, sv_err *e) {
    for (;;) {
        if (fill(w, e)) return -1;
        if (w->have == 0 && !w->prev) return sv_errf(e, "%s: no frames to read", w->path);
        if (w->have == 0) return short_clip(w, e);
        // at most a chunk, also at the end of the clip: the frames past it are emitted by the next runs,
        // whose backward branch starts from the same last frame (the same features, bit for bit), so a
        // runner keeps the features of a chunk only (sv_runner_create_window)
        int n_emit = w->have < w->chunk ? w->have : w->chunk;
        if (w->end && w->pos + n_emit > w->end) n_emit = (int)(w->end - w->pos);  // B of frames past end: unused
        if (run(ud, w, n_emit, e)) return -1;
        sv_clip_window_advance(w, n_emit);
        if (w->end && w->pos == w->end) return 0;
        if (w->eof && w->have == 0) return short_clip(w, e);
    }
}

int sv_clip_window_run(sv_runner *r, const sv_clip_window *w, int n_emit, sv_output_fn out, void *ud, sv_err *e) {
    return sv_runner_run_chunk(r, (const float *const *)w->frames, w->have, n_emit, w->prev, out, ud, e);
}
