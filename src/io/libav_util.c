// SPDX-License-Identifier: Apache-2.0 (LICENSE)
#include "io/libav_util.h"

#include <libavutil/error.h>
#include <libavutil/log.h>
#include <libavutil/pixdesc.h>
#include <libswscale/swscale.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "io/frames.h"

// The last error line libav logged on this thread (libav logs from the calling thread for open, read
// and write errors; lines logged from codec worker threads land in those threads' buffers and are lost).
static _Thread_local char last_line[256];
static atomic_int verbose;
static pthread_once_t once = PTHREAD_ONCE_INIT;

// fmt is libav's own format string (a vprintf-style callback)
__attribute__((format(printf, 3, 0))) static void log_callback(void *avcl, int level, const char *fmt, va_list vl) {
    int lv = level & 0xff;                // the bits above hold colour hints
    if (lv > AV_LOG_WARNING) return;      // the common case: info and debug chatter
    va_list copy;
    va_copy(copy, vl);
    if (lv <= AV_LOG_ERROR) {
        vsnprintf(last_line, sizeof last_line, fmt, copy);
        size_t n = strlen(last_line);
        while (n && (last_line[n - 1] == '\n' || last_line[n - 1] == ' ' || last_line[n - 1] == '.'))
            last_line[--n] = 0;
    }
    va_end(copy);
    if (atomic_load(&verbose)) av_log_default_callback(avcl, level, fmt, vl);
}

static void install(void) {
    av_log_set_level(AV_LOG_WARNING);
    av_log_set_callback(log_callback);
}

void sv_libav_init(void) { pthread_once(&once, install); }

void sv_frames_libav_verbose(int on) {
    sv_libav_init();
    atomic_store(&verbose, on != 0);
}

void sv_libav_clear_log(void) { last_line[0] = 0; }

const char *sv_libav_describe(int averr, char *buf, size_t n) {
    char text[AV_ERROR_MAX_STRING_SIZE + 64];
    if (av_strerror(averr, text, sizeof text) < 0) snprintf(text, sizeof text, "libav error %d", averr);
    if (last_line[0] && !strstr(text, last_line))
        snprintf(buf, n, "%s (%s)", text, last_line);
    else
        snprintf(buf, n, "%s", text);
    return buf;
}

int sv_libav_sws_matrix(enum AVColorSpace cs, int height) {
    switch (cs) {
    case AVCOL_SPC_BT709: return SWS_CS_ITU709;
    case AVCOL_SPC_FCC: return SWS_CS_FCC;
    case AVCOL_SPC_SMPTE240M: return SWS_CS_SMPTE240M;
    case AVCOL_SPC_BT2020_NCL:
    case AVCOL_SPC_BT2020_CL: return SWS_CS_BT2020;
    case AVCOL_SPC_BT470BG:
    case AVCOL_SPC_SMPTE170M: return SWS_CS_ITU601;
    default: return height >= 720 ? SWS_CS_ITU709 : SWS_CS_ITU601;
    }
}

int sv_libav_full_range(enum AVPixelFormat fmt, enum AVColorRange range) {
    const AVPixFmtDescriptor *d = av_pix_fmt_desc_get(fmt);
    if (!d || (d->flags & AV_PIX_FMT_FLAG_RGB) || d->nb_components < 3) return 1;
    if (fmt == AV_PIX_FMT_YUVJ420P || fmt == AV_PIX_FMT_YUVJ422P || fmt == AV_PIX_FMT_YUVJ444P ||
        fmt == AV_PIX_FMT_YUVJ440P || fmt == AV_PIX_FMT_YUVJ411P)
        return 1;
    return range == AVCOL_RANGE_JPEG;
}

int sv_libav_tidy_rate(AVRational q, int *num, int *den) {
    *num = *den = 0;
    if (q.num <= 0 || q.den <= 0) return -1;
    double fps = av_q2d(q);
    if (!(fps > 0 && fps < 1e6)) return -1;
    double k = round(fps * 1001.0 / 1000.0);  // NTSC family: k * 1000 / 1001
    if (k >= 1 && fabs(fps - k * 1000.0 / 1001.0) < 1e-4 * fps) {
        *num = (int)k * 1000;
        *den = 1001;
        return 0;
    }
    double i = round(fps);
    if (i >= 1 && fabs(fps - i) < 1e-4 * fps) {
        *num = (int)i;
        *den = 1;
        return 0;
    }
    AVRational r;
    av_reduce(&r.num, &r.den, q.num, q.den, 1 << 30);
    *num = r.num;
    *den = r.den;
    return 0;
}

AVFrame *sv_libav_rgb_frame(int w, int h) { return sv_libav_frame(w, h, AV_PIX_FMT_RGB24); }

AVFrame *sv_libav_frame(int w, int h, int fmt) {
    AVFrame *f = av_frame_alloc();
    if (!f) return NULL;
    f->format = fmt;
    f->width = w;
    f->height = h;
    // av_frame_get_buffer pads each row to the alignment and adds slack after the last one.
    if (av_frame_get_buffer(f, 64) < 0) av_frame_free(&f);
    return f;
}
