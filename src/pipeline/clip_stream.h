// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// clip_stream.h: one clip streamed through the network in chunks, the loop that `upscale` (upscale.c)
// and `eval` (eval.c) share. Which paths are clips is io/clips.h; reading frames is io/frames.h; this is
// the part above them that feeds a runner (model/runner.h), so it lives in pipeline/.
//
// The window: chunk + lookahead slots of [3, h, w] float frames (ops/pixels.h: 8-bit RGB / 255). Each
// step fills the window from the reader, runs one chunk on all the frames it holds (the runner emits the
// first n_emit: `chunk` of them, or all at the end of the clip), then moves the window on: the chunk's
// last frame becomes `prev` (what the forward branch carries into the next chunk) and the lookahead
// frames move to the front. Nothing holds the whole clip.
#pragma once
#include "core/error.h"
#include "io/frames.h"
#include "model/runner.h"

typedef struct {
    const char *path;     // the clip, for messages (not copied)
    sv_frame_reader *rd;  // not owned
    int h, w;             // frame size
    int chunk, win;       // frames emitted per chunk; window slots (chunk + lookahead)
    float **frames;       // win slots; frames[0..have) hold the window, in clip order
    char **names;         // keep_names: each slot's frame file name (folder input; NULL for a video)
    int64_t *pts;         // each slot's frame timestamp (sv_frames_last_pts: a video's pts, SV_NO_PTS)
    float *prev;          // the previous chunk's last frame, [3, h, w]; NULL before the first chunk
    int have;             // frames in the window
    int eof;              // the reader (or max_frames) is exhausted
    int limited;          // eof came from max_frames, not from the end of the clip
    int max_frames, read; // read at most max_frames frames (0: all); frames read so far
    long long pos;        // the clip's index of frames[0]: frames emitted (or warmed up) so far
    long long end;        // sv_clip_stream stops once frame end - 1 is emitted (0: at the clip's end)
    float *slots, *prev_buf;
    unsigned char *rgb;   // one decoded frame (uint16_t samples when deep)
    int deep;             // the reader's frames are 16-bit PNG, read at 16 bits (sv_frames_read16)
} sv_clip_window;

// Allocates the window for rd's frames (chunk >= 1, lookahead >= 0). Fails naming path when out of memory.
int sv_clip_window_init(sv_clip_window *w, const char *path, sv_frame_reader *rd, int chunk, int lookahead,
                        int max_frames, int keep_names, sv_err *e);
// The same without a reader, for frames of h x wd that the caller puts into frames[have++] itself (the
// library's streaming upscaler, src/api/): sv_clip_stream is then not used, but the same rule is, through
// sv_clip_window_run and sv_clip_window_advance.
int sv_clip_window_init_sized(sv_clip_window *w, const char *path, int h, int wd, int chunk, int lookahead,
                              int keep_names, sv_err *e);
void sv_clip_window_free(sv_clip_window *w);
// After a chunk of n_emit frames: its last frame becomes prev and the lookahead frames move to the front.
void sv_clip_window_advance(sv_clip_window *w, int n_emit);

// Before the first chunk: reads the clip's first k frames and keeps the last as prev, so that the stream
// continues at frame k (a resumed job, whose runner gets the forward state of frame k - 1 from a
// checkpoint). Fails when the clip has fewer than k frames.
int sv_clip_window_skip(sv_clip_window *w, int k, sv_err *e);

// One chunk: the network over frames[0..have) of the window (prev: w->prev), emitting the first n_emit
// outputs. The window's frames may be changed in place (eval's flips) if they are put back.
typedef int (*sv_chunk_fn)(void *ud, sv_clip_window *w, int n_emit, sv_err *e);

// Streams the whole clip through run, chunk by chunk, or its frames up to w->end - 1: the chunks are those
// of the whole clip (frames[0] at multiples of chunk), and the chunk that holds frame end - 1 emits up to it
// only, with its lookahead frames as in a whole run. Fails when the clip has no frame ("PATH: no frames to
// read"), when it ends before w->end, or with run's or the reader's error.
int sv_clip_stream(sv_clip_window *w, sv_chunk_fn run, void *ud, sv_err *e);

// The usual chunk: one runner over the window, out called for each of the n_emit outputs.
int sv_clip_window_run(sv_runner *r, const sv_clip_window *w, int n_emit, sv_output_fn out, void *ud, sv_err *e);
