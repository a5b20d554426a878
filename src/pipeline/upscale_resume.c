// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// upscale_resume.c: see upscale_resume.h.
//
// Why a checkpoint and not a recomputation: a chunk's frames depend on the input frames of the chunk and
// its lookahead, the frame before it, and the forward branch's hidden state, which carries every earlier
// frame (model/runner.h). Recomputing that state costs the forward branch (SPyNet and a trunk) over every
// finished frame, about a third of the work already done; the checkpoint costs num_feat x h x w floats
// written per chunk (64 x 180 x 320: 15 MB) and a wait for the writer at each chunk's end. A forward-only
// model's chunks are single frames, for which that wait (the network idle while the frame is encoded) and
// those writes would cost a good part of the time per frame: it saves every SV_RESUME_UNI_FRAMES frames, and
// a continuation computes at most that many frames again (the output is the same: a uni model's frame
// depends on its own state and frame, whatever the chunk).
#include "pipeline/upscale_resume.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "core/memory.h"
#include "core/warn.h"
#include "io/atomic_file.h"

enum { SV_RESUME_UNI_FRAMES = 8 };

// The partial folder of a folder or video output, into p; 0 when output has none (standard output).
static int partial_path(const char *output, char *p, size_t n) {
    const sv_output_kind kind = sv_frames_output_kind(output);
    if (kind != SV_OUTPUT_FOLDER && kind != SV_OUTPUT_VIDEO) return 0;
    size_t len = strlen(output);
    while (len > 1 && output[len - 1] == '/') len--;
    return snprintf(p, n, "%.*s%s", (int)len, output, SV_ATOMIC_PARTIAL_SUFFIX) < (int)n;
}

int sv_upscale_resume_defaults(const char *output, sv_upscale_opts *o, sv_err *e) {
    char dir[SV_ATOMIC_PATH];
    if (o->direct && o->resume) return sv_errf(e, "--resume and --no-resume: choose one");
    if (o->direct) return 0;
    if (!partial_path(output, dir, sizeof dir)) {
        if (!o->resume) return 0;
        return sv_errf(e, "%s: cannot be resumed (a pipe is written once); name a video file or a folder",
                       sv_frames_output_kind(output) == SV_OUTPUT_STREAM ? "standard output" : output);
    }
    struct stat st;
    if (stat(dir, &st) != 0) return o->resume ? sv_errf(e, "%s: no partial output to resume", dir) : 0;
    sv_resume_record saved;
    const int found = sv_resume_record_read(dir, &saved, e);
    if (found <= 0) return found;
    if (o->chunk <= 0) sv_resume_record_int(&saved, "chunk", &o->chunk);
    if (o->lookahead < 0) sv_resume_record_int(&saved, "lookahead", &o->lookahead);
    return 0;
}

// Bytes free to an unprivileged writer on the file system of path's folder; 0 when it cannot be told.
static unsigned long long free_bytes(const char *path) {
    char dir[SV_ATOMIC_PATH];
    const char *slash = strrchr(path, '/');
    if (!slash) snprintf(dir, sizeof dir, ".");
    else if (snprintf(dir, sizeof dir, "%.*s", slash == path ? 1 : (int)(slash - path), path) >= (int)sizeof dir)
        return 0;
    struct statvfs v;
    if (statvfs(dir, &v) != 0) return 0;
    return (unsigned long long)v.f_bavail * v.f_frsize;
}

void sv_upscale_partial_room(const char *output, int w, int h, long long count, sv_upscale_opts *o) {
    char dir[SV_ATOMIC_PATH];
    struct stat st;
    if (o->direct || count <= 0 || sv_frames_output_kind(output) != SV_OUTPUT_VIDEO ||
        !partial_path(output, dir, sizeof dir) || stat(dir, &st) == 0)
        return;  // not a new resumable video
    const unsigned long long room = free_bytes(output);
    const double px = (double)SV_SCALE * w * SV_SCALE * h * (double)count;
    if (room == 0) return;
    char need[32], most[32], have[32];
    sv_mem_format((size_t)(px * SV_PARTIAL_PNG_BYTES_TYPICAL), need, sizeof need);
    sv_mem_format((size_t)(px * SV_PARTIAL_PNG_BYTES_MOST), most, sizeof most);
    sv_mem_format((size_t)room, have, sizeof have);
    if (px * SV_PARTIAL_PNG_BYTES_TYPICAL > (double)room) {
        o->direct = 1;
        sv_warnf("%s: its PNG frames would take about %s (at most %s) and the disk has %s free: encoding "
                 "directly, so an interrupted job starts over (README: Resume)", dir, need, most, have);
    } else if (px * SV_PARTIAL_PNG_BYTES_MOST > (double)room) {
        sv_warnf("%s: its PNG frames may take up to %s (about %s) and the disk has %s free; if it fills, "
                 "the frames are kept: free space and run the same command, or use --no-resume", dir, most,
                 need, have);
    }
}

// FNV-1a over the model's weights: a record tells models apart without naming their files.
static uint64_t weights_hash(const sv_model *m) {
    uint64_t h = 1469598103934665603ull;
    const unsigned char *b = (const unsigned char *)m->params;
    for (size_t i = 0; i < m->nparams * sizeof *m->params; i++) h = (h ^ b[i]) * 1099511628211ull;
    for (size_t i = 0; i < m->nindices; i++) h = (h ^ (uint64_t)(uint32_t)m->indices[i]) * 1099511628211ull;
    return h;
}

static void build_record(sv_resume_record *r, const sv_model *m, const char *input, const sv_upscale_plan *pl,
                         const sv_upscale_opts *o) {
    char v[PATH_MAX + 64];
    sv_resume_record_init(r);
    sv_resume_record_add(r, "input", realpath(input, v) ? v : input);
    snprintf(v, sizeof v, "%dx%d, %d", pl->w, pl->h, pl->count);
    sv_resume_record_add(r, "frames", v);
    if (m) snprintf(v, sizeof v, "weights %016llx, %s, flow %s", (unsigned long long)weights_hash(m),
                    sv_act_name(m->act_slope), sv_flow_name(m->flow));
    sv_resume_record_add(r, "model", m ? v : "bicubic");
    sv_resume_record_add(r, "mode", o->mode == SV_EXEC_FAST ? "fast" : "reference");
    sv_resume_record_add_int(r, "chunk", pl->chunk);
    sv_resume_record_add_int(r, "lookahead", pl->lookahead);
}

// A continued folder: its record must be this job's; its checkpoint (if any) is where the job goes on.
static int continue_partial(sv_upscale_resume *r, sv_runner *run, sv_clip_window *win, sv_err *e) {
    sv_resume_record saved;
    const int found = sv_resume_record_read(r->dir, &saved, e);
    if (found < 0) return -1;
    if (!found)
        return sv_errf(e, "%s: holds no %s, so it is no partial output of slimvsr upscale: remove it or choose "
                       "another output", r->dir, SV_RESUME_RECORD);
    if (sv_resume_record_check(r->dir, &saved, &r->rec, e)) return -1;
    const int next = sv_resume_state_load(r->dir, run, r->plane, e);
    if (next < 0) return -1;
    if (next > 0 && next % win->chunk)
        return sv_errf(e, "%s/%s: frame %d is not at a chunk border (chunk %d)", r->dir, SV_RESUME_STATE, next,
                       win->chunk);
    if (sv_clip_window_skip(win, next, e)) return -1;
    r->next = next;
    return 0;
}

// One job at a time in a partial folder: an flock() on the folder, held until sv_upscale_resume_free.
static int lock_partial(sv_upscale_resume *r, sv_err *e) {
    r->lock_fd = open(r->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (r->lock_fd < 0) return sv_errf(e, "%s: cannot open: %s", r->dir, strerror(errno));
    r->locked = 1;
    if (flock(r->lock_fd, LOCK_EX | LOCK_NB) == 0) return 0;
    return sv_errf(e, "%s: in use by another slimvsr upscale (wait for it, or stop it)", r->dir);
}

int sv_upscale_resume_begin(sv_upscale_resume *r, sv_frame_writer *wr, const char *output, const sv_model *m,
                            const char *input, const sv_upscale_plan *pl, const sv_upscale_opts *o, sv_runner *run,
                            sv_clip_window *win, sv_err *e) {
    memset(r, 0, sizeof *r);
    int resumed = 0;
    const char *dir = sv_frames_writer_partial(wr, &resumed);
    if (!dir) return 0;
    snprintf(r->path, sizeof r->path, "%s", dir);  // the writer's string goes with it
    r->dir = r->path;
    r->video = sv_frames_output_kind(output) == SV_OUTPUT_VIDEO;
    if (lock_partial(r, e)) return -1;
    build_record(&r->rec, m, input, pl, o);
    r->every = m && sv_is_uni(m) ? SV_RESUME_UNI_FRAMES : 1;
    int planes;
    size_t pf;
    sv_runner_state_shape(run, &planes, &pf);
    if (planes && !(r->plane = sv_malloc(pf * sizeof *r->plane, e))) return -1;
    const int rc = resumed ? continue_partial(r, run, win, e) : sv_resume_record_write(r->dir, &r->rec, e);
    r->saved = r->next;
    if (rc == 0 && resumed && o->resumed_at) *o->resumed_at = r->next;
    if (rc == 0) sv_frames_writer_seek(wr, r->next);
    return rc;
}

int sv_upscale_resume_chunk(sv_upscale_resume *r, sv_runner *run, sv_write_thread *wt, int n_emit, sv_err *e) {
    if (!r->dir) return 0;
    r->next += n_emit;
    if (r->next - r->saved < r->every) return 0;
    if (sv_write_thread_sync(wt, e)) return -1;
    r->saved = r->next;
    return sv_resume_state_save(r->dir, r->next, run, r->plane, e);
}

int sv_upscale_resume_last(sv_upscale_resume *r, sv_runner *run, sv_err *e) {
    if (!r->dir || r->saved == r->next) return 0;
    r->saved = r->next;
    return sv_resume_state_save(r->dir, r->next, run, r->plane, e);
}

void sv_upscale_resume_end(sv_upscale_resume *r) {
    if (r->dir && !r->video) sv_resume_clear(r->dir);
}

void sv_upscale_resume_published(sv_upscale_resume *r) {
    if (!r->dir || !r->video) return;
    sv_resume_clear(r->dir);
    if (rmdir(r->dir) != 0 && errno != ENOENT)
        sv_warnf("%s: kept: it holds files slimvsr did not write (the video is complete)", r->dir);
}

void sv_upscale_resume_free(sv_upscale_resume *r) {
    free(r->plane);
    r->plane = NULL;
    if (r->locked) close(r->lock_fd);
    r->locked = 0;
}
