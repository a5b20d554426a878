// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// write_thread.h: encodes and writes the output frames on a thread of its own, so that PNG or video
// encoding (single-threaded, ~0.05 s per 1280x720 PNG frame) overlaps the network's next frame instead of
// leaving the other cores idle.
//
// Two frame buffers: the caller fills one (sv_write_thread_buffer) while the thread writes the other.
// The thread is the writer's only user between start and stop; the caller finishes or aborts the writer
// after sv_write_thread_stop.
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "io/frames.h"
#include "pipeline/progress.h"

typedef struct sv_write_thread sv_write_thread;

// frame_bytes: the size of one frame as sv_frames_write takes it. prog (may be NULL) is updated by the
// thread after each frame it writes (so its callback runs on the writer thread).
sv_write_thread *sv_write_thread_start(sv_frame_writer *wr, size_t frame_bytes, const sv_progress_job *prog,
                                       sv_err *e);
// The buffer to fill with the next frame; waits while the thread still writes from it.
unsigned char *sv_write_thread_buffer(sv_write_thread *t);
// Queues the filled buffer under name (copied; NULL for video outputs) with its input frame's timestamp
// (sv_frames_write_at). Fails, with the thread's error, once a write has failed: later frames are not
// written.
int sv_write_thread_submit(sv_write_thread *t, const char *name, int64_t pts, sv_err *e);
// Waits until every queued frame is written (the thread goes on). Returns -1 with the first write error.
int sv_write_thread_sync(sv_write_thread *t, sv_err *e);
// Waits until every queued frame is written, ends the thread and frees t. Returns -1 with the first write
// error, if any. *written: frames written.
int sv_write_thread_stop(sv_write_thread *t, int *written, sv_err *e);
