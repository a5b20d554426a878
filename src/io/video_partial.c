// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// video_partial.c: a video output written through its visible partial folder, so that an interrupted job
// can be continued (frames_internal.h: sv_video_partial). Frames go to lossless PNG files there, each
// frame's timestamp to a line of its own in SV_VIDEO_PARTIAL_PTS; the video is encoded from them by
// video_write.c, with the input's kept streams, only once every frame is there.
//
// The timestamps: one fixed-width line per frame, "%010lld %020lld\n" (index, pts; SV_NO_PTS as it is), at
// offset index * PTS_LINE, written with pwrite: a frame that a continued job writes again overwrites its
// own line, and a line torn by a kill belongs to a frame past the checkpoint, which is written again.
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io/frames_internal.h"
#include "io/png_io.h"

#define PTS_LINE 32

struct sv_video_partial {
    char dir[SV_ATOMIC_PATH], path[SV_ATOMIC_PATH];
    const sv_container *k;
    sv_writer_opts o;
    int w, h, fps_num, fps_den;
    int pts_fd;
};

static int frame_path(const sv_video_partial *p, long long index, char *buf, size_t n, sv_err *e) {
    if (snprintf(buf, n, "%s/%08lld.png", p->dir, index) < (int)n) return 0;
    return sv_errf(e, "%s: path too long", p->dir);
}

sv_video_partial *sv_video_partial_open(const char *dir, const char *path, const sv_container *k,
                                        const sv_writer_opts *o, int w, int h, int fps_num, int fps_den, sv_err *e) {
    sv_video_partial *p = sv_calloc(1, sizeof *p, e);
    if (!p) return NULL;
    *p = (sv_video_partial){.k = k, .o = *o, .w = w, .h = h, .fps_num = fps_num, .fps_den = fps_den, .pts_fd = -1};
    if (snprintf(p->dir, sizeof p->dir, "%s", dir) < (int)sizeof p->dir &&
        snprintf(p->path, sizeof p->path, "%s", path) < (int)sizeof p->path)
        return p;
    sv_errf(e, "%s: path too long", path);
    sv_video_partial_free(p);
    return NULL;
}

// The timestamps' file, opened when first needed: nothing is written into the folder before the caller
// has checked that it is a partial folder of the same job. A continued folder's lines stay.
static int open_pts(sv_video_partial *p, sv_err *e) {
    if (p->pts_fd >= 0) return 0;
    char pts[SV_ATOMIC_PATH + 32];
    snprintf(pts, sizeof pts, "%s/%s", p->dir, SV_VIDEO_PARTIAL_PTS);
    p->pts_fd = open(pts, O_RDWR | O_CREAT | O_CLOEXEC, 0666);
    return p->pts_fd >= 0 ? 0 : sv_errf(e, "%s: cannot open: %s", pts, strerror(errno));
}

int sv_video_partial_write(sv_video_partial *p, const unsigned char *rgb, long long index, int64_t pts, sv_err *e) {
    char file[SV_ATOMIC_PATH + 32], line[PTS_LINE + 1];
    if (open_pts(p, e) || frame_path(p, index, file, sizeof file, e) ||
        sv_frame_file_write(file, file, rgb, p->w, p->h, 3, 8, 1, e))
        return -1;
    snprintf(line, sizeof line, "%010lld %020" PRId64 "\n", index, pts);
    if (pwrite(p->pts_fd, line, PTS_LINE, (off_t)index * PTS_LINE) != PTS_LINE || fdatasync(p->pts_fd) != 0)
        return sv_errf(e, "%s/%s: write failed: %s", p->dir, SV_VIDEO_PARTIAL_PTS, strerror(errno));
    return 0;
}

// Frame index's timestamp from its line.
static int read_pts(const sv_video_partial *p, long long index, int64_t *pts, sv_err *e) {
    char line[PTS_LINE + 1];
    long long at = -1;
    const ssize_t n = pread(p->pts_fd, line, PTS_LINE, (off_t)index * PTS_LINE);
    line[n > 0 ? n : 0] = 0;
    if (n == PTS_LINE && line[PTS_LINE - 1] == '\n' && sscanf(line, "%lld %" SCNd64, &at, pts) == 2 && at == index)
        return 0;
    return sv_errf(e, "%s/%s: no timestamp for frame %lld (damaged: remove the folder to start over)", p->dir,
                   SV_VIDEO_PARTIAL_PTS, index);
}

// Frames 0..n-1, each with its timestamp, into v.
static int encode_frames(const sv_video_partial *p, sv_video_out *v, long long n, unsigned char *rgb, sv_err *e) {
    char file[SV_ATOMIC_PATH + 32];
    if (p->o.encoded) p->o.encoded(p->o.encoded_ud, 0, n);
    for (long long i = 0; i < n; i++) {
        int64_t pts;
        if (frame_path(p, i, file, sizeof file, e) || sv_png_read_rgb(file, rgb, p->w, p->h, e) ||
            read_pts(p, i, &pts, e) || sv_video_out_write(v, rgb, pts, e))
            return -1;
        if (p->o.encoded) p->o.encoded(p->o.encoded_ud, i + 1, n);
    }
    return sv_video_out_finish(v, e);
}

// Frames 0..n-1 and the timestamps, once the video holds them.
static void remove_frames(const sv_video_partial *p, long long n) {
    char file[SV_ATOMIC_PATH + 32];
    snprintf(file, sizeof file, "%s/%s", p->dir, SV_VIDEO_PARTIAL_PTS);
    unlink(file);
    for (long long i = 0; i < n; i++)
        if (!frame_path(p, i, file, sizeof file, NULL)) unlink(file);
}

int sv_video_partial_finish(sv_video_partial *p, long long n, sv_err *e) {
    sv_atomic a;
    if (open_pts(p, e) || sv_atomic_open_file(&a, p->path, p->o.replace ? SV_ATOMIC_REPLACE : 0, e)) return -1;
    unsigned char *rgb = sv_malloc((size_t)p->w * p->h * 3, e);
    sv_video_out *v = rgb ? sv_video_out_open(a.f, 0, p->path, p->k, &p->o, p->w, p->h, p->fps_num, p->fps_den, e)
                          : NULL;
    int rc = v ? encode_frames(p, v, n, rgb, e) : -1;
    sv_video_out_free(v);
    free(rgb);
    if (rc) sv_atomic_abort(&a);
    else rc = sv_atomic_commit(&a, e);
    if (rc == 0) remove_frames(p, n);
    return rc;
}

const char *sv_video_partial_codec(const sv_video_partial *p) {
    return p->o.encoder ? p->o.encoder : p->k->codec;
}

void sv_video_partial_free(sv_video_partial *p) {
    if (!p) return;
    if (p->pts_fd >= 0) close(p->pts_fd);
    free(p);
}
