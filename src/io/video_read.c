// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// video_read.c: frames of a video file, decoded with libavformat + libavcodec and converted to RGB24 with
// swscale (any input pixel format and colour matrix). Frames come one at a time in the order the decoder
// presents them, so gaps or variable rates do not duplicate or drop frames; each frame's timestamp is kept
// beside it (sv_video_in_last_pts) for a writer that keeps the input's timing.
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/imgutils.h>
#include <libavutil/pixdesc.h>
#include <libswscale/swscale.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io/frames_internal.h"
#include "io/libav_util.h"

#define PIPE_BUFFER (1 << 16)

struct sv_video_in {
    char *path;
    AVIOContext *pipe;     // standard input (ours to free), or NULL for a file
    long long pipe_bytes;  // bytes read from standard input so far
    AVFormatContext *fmt;
    AVCodecContext *dec;
    int stream;
    AVPacket *pkt;
    AVFrame *frame;   // the decoded picture
    int pending;      // frame holds a picture not yet returned (the first, decoded by open)
    int flushed;      // the decoder was sent the end of the stream
    AVFrame *rgb;     // padded staging frame for swscale, in the format sws_to names (setup_sws makes it)
    int w, h;         // the first frame's size, which every frame must have
    long long index;  // pictures returned so far (for messages)
    int64_t last_pts; // the pts of the picture returned last
    int others;       // audio, subtitle and data streams beside the video (not read)
    struct SwsContext *sws;
    int sws_w, sws_h, sws_fmt, sws_matrix, sws_full, sws_to;  // what sws was set up for (sws_to: the
                                                              // staging frame's format, rgb's)
};

static int av_fail(sv_video_in *v, int averr, const char *what, sv_err *e) {
    char why[512];
    return sv_errf(e, "%s: %s: %s", v->path, what, sv_libav_describe(averr, why, sizeof why));
}

// Gets the next decoded picture into v->frame: 1, 0 at the end of the stream, -1 on error.
static int decode_next(sv_video_in *v, sv_err *e) {
    for (;;) {
        int rc = avcodec_receive_frame(v->dec, v->frame);
        if (rc == 0) return 1;
        if (rc == AVERROR_EOF) return 0;
        if (rc != AVERROR(EAGAIN)) {
            char what[64];
            snprintf(what, sizeof what, "decoding error after frame %lld", v->index);
            return av_fail(v, rc, what, e);
        }
        if (v->flushed) return 0;
        // The decoder wants input: the next packet of our stream, or the end of the stream.
        for (;;) {
            rc = av_read_frame(v->fmt, v->pkt);
            if (rc == AVERROR_EOF) {
                rc = avcodec_send_packet(v->dec, NULL);
                v->flushed = 1;
                break;
            }
            if (rc < 0) return av_fail(v, rc, "read error", e);
            if (v->pkt->stream_index != v->stream) {
                av_packet_unref(v->pkt);
                continue;
            }
            rc = avcodec_send_packet(v->dec, v->pkt);
            av_packet_unref(v->pkt);
            break;
        }
        if (rc < 0 && rc != AVERROR_EOF) {
            char what[64];
            snprintf(what, sizeof what, "decoding error after frame %lld", v->index);
            return av_fail(v, rc, what, e);
        }
    }
}

// The staging format and samples per pixel that swscale writes for px (16 bits: native-endian uint16_t).
static enum AVPixelFormat px_format(sv_px px, int *channels) {
    *channels = px == SV_PX_RGB8 || px == SV_PX_RGB16 ? 3 : 4;
    switch (px) {
    case SV_PX_RGB16: return AV_PIX_FMT_RGB48;
    case SV_PX_ALPHA8: return AV_PIX_FMT_RGBA;
    case SV_PX_ALPHA16: return AV_PIX_FMT_RGBA64;
    default: return AV_PIX_FMT_RGB24;
    }
}

// (Re)makes the scaler and the staging frame when the frame's format, matrix or range or the wanted format
// changed.
static int setup_sws(sv_video_in *v, const AVFrame *f, enum AVPixelFormat to, sv_err *e) {
    const int matrix = sv_libav_sws_matrix(f->colorspace, f->height);
    const int full = sv_libav_full_range(f->format, f->color_range);
    if (v->sws && f->width == v->sws_w && f->height == v->sws_h && f->format == v->sws_fmt &&
        matrix == v->sws_matrix && full == v->sws_full && (int)to == v->sws_to)
        return 0;
    sws_freeContext(v->sws);
    v->sws_to = -1;
    v->sws = sws_getContext(f->width, f->height, f->format, v->w, v->h, to,
                            SWS_BICUBIC | SWS_ACCURATE_RND | SWS_FULL_CHR_H_INT, NULL, NULL, NULL);
    if (!v->sws) {
        const char *name = av_get_pix_fmt_name(f->format);
        return sv_errf(e, "%s: cannot convert %dx%d %s frames to %s", v->path, f->width, f->height,
                       name ? name : "(unknown pixel format)", av_get_pix_fmt_name(to));
    }
    if (!v->rgb || v->rgb->format != (int)to) {
        av_frame_free(&v->rgb);
        if (!(v->rgb = sv_libav_frame(v->w, v->h, to)))
            return sv_errf(e, "%s: out of memory for a %dx%d frame", v->path, v->w, v->h);
    }
    // For YUV input: the stream's matrix and range; the RGB side is always full range. swscale ignores
    // this for RGB and gray input.
    const int *coefs = sws_getCoefficients(matrix);
    sws_setColorspaceDetails(v->sws, coefs, full, coefs, 1, 0, 1 << 16, 1 << 16);
    v->sws_w = f->width, v->sws_h = f->height, v->sws_fmt = f->format;
    v->sws_matrix = matrix, v->sws_full = full, v->sws_to = to;
    return 0;
}

// Converts v->frame into dst as px says. A frame of another size than the first is refused, as in a
// folder of PNG frames: scaling it would hide a spliced or damaged file.
static int convert(sv_video_in *v, void *dst, sv_px px, sv_err *e) {
    AVFrame *f = v->frame;
    if (f->width != v->w || f->height != v->h)
        return sv_errf(e, "%s: frame %lld is %dx%d, the first frame was %dx%d", v->path, v->index + 1, f->width,
                       f->height, v->w, v->h);
    int ch;
    const enum AVPixelFormat to = px_format(px, &ch);
    if (setup_sws(v, f, to, e)) return -1;
    sws_scale(v->sws, (const uint8_t *const *)f->data, f->linesize, 0, f->height, v->rgb->data,
              v->rgb->linesize);
    const int deep = px == SV_PX_RGB16 || px == SV_PX_ALPHA16, bytes = deep ? 2 : 1;
    for (int y = 0; y < v->h; y++) {
        const uint8_t *row = v->rgb->data[0] + (size_t)y * v->rgb->linesize[0];
        if (ch == 3) {
            memcpy((uint8_t *)dst + (size_t)y * v->w * 3 * bytes, row, (size_t)v->w * 3 * bytes);
        } else if (deep) {
            uint16_t *a = (uint16_t *)dst + (size_t)y * v->w;
            for (int x = 0; x < v->w; x++) a[x] = ((const uint16_t *)row)[4 * x + 3];
        } else {
            uint8_t *a = (uint8_t *)dst + (size_t)y * v->w;
            for (int x = 0; x < v->w; x++) a[x] = row[4 * x + 3];
        }
    }
    return 0;
}

// Standard input, counting its bytes (so that an empty stream can be told from one that is not a video).
static int pipe_read(void *opaque, uint8_t *buf, int n) {
    sv_video_in *v = opaque;
    ssize_t got;
    do got = read(STDIN_FILENO, buf, (size_t)n);
    while (got < 0 && errno == EINTR);
    if (got < 0) return AVERROR(errno);
    if (got == 0) return AVERROR_EOF;
    v->pipe_bytes += got;
    return (int)got;
}

// Opens the container: the file at path, or standard input through pipe_read.
static int open_input(sv_video_in *v, const char *path, int stream) {
    if (!stream) return avformat_open_input(&v->fmt, path, NULL, NULL);
    unsigned char *buf = av_malloc(PIPE_BUFFER);
    if (!buf || !(v->pipe = avio_alloc_context(buf, PIPE_BUFFER, 0, v, pipe_read, NULL, NULL))) {
        av_free(buf);
        return AVERROR(ENOMEM);
    }
    if (!(v->fmt = avformat_alloc_context())) return AVERROR(ENOMEM);
    v->fmt->pb = v->pipe;
    v->fmt->flags |= AVFMT_FLAG_CUSTOM_IO;
    return avformat_open_input(&v->fmt, "pipe:", NULL, NULL);  // frees fmt on failure
}

// Frame count: the container's, or duration x rate, or -1.
static int frame_count(const AVFormatContext *fmt, const AVStream *st, int num, int den) {
    if (st->nb_frames > 0 && st->nb_frames <= INT_MAX) return (int)st->nb_frames;
    if (!den) return -1;
    double seconds = -1;
    if (st->duration != AV_NOPTS_VALUE && st->duration > 0)
        seconds = st->duration * av_q2d(st->time_base);
    else if (fmt->duration != AV_NOPTS_VALUE && fmt->duration > 0)
        seconds = fmt->duration / (double)AV_TIME_BASE;
    double n = seconds * num / den;
    return seconds > 0 && n < INT_MAX ? (int)llround(n) : -1;
}

sv_video_in *sv_video_in_open(const char *path, int *w, int *h, int *count, int *fps_num, int *fps_den,
                              int *depth, sv_err *e) {
    sv_libav_init();
    sv_libav_clear_log();
    sv_video_in *v = sv_calloc(1, sizeof *v, e);
    if (!v) return NULL;
    const int stream = sv_path_is_stream(path);
    path = sv_stream_name(path, 0);  // in messages
    if (!(v->path = strdup(path))) {
        sv_errf(e, "%s: out of memory", path);
        goto fail;
    }
    int rc = open_input(v, path, stream);
    if (rc < 0 && stream && v->pipe_bytes == 0) {
        sv_errf(e, "%s: no data (an empty stream; pipe a video into it, e.g. ffmpeg ... -f yuv4mpegpipe -)", path);
        goto fail;
    }
    if (rc < 0) {
        av_fail(v, rc, "cannot open video", e);
        goto fail;
    }
    rc = avformat_find_stream_info(v->fmt, NULL);
    if (rc < 0) {
        av_fail(v, rc, "cannot read video stream information", e);
        goto fail;
    }
    const AVCodec *codec = NULL;
    v->stream = av_find_best_stream(v->fmt, AVMEDIA_TYPE_VIDEO, -1, -1, &codec, 0);
    if (v->stream == AVERROR_STREAM_NOT_FOUND) {
        sv_errf(e, "%s: no video stream", path);
        goto fail;
    }
    if (v->stream < 0 || !codec) {  // a video stream, but no decoder for it
        int any = av_find_best_stream(v->fmt, AVMEDIA_TYPE_VIDEO, -1, -1, NULL, 0);
        enum AVCodecID id = any >= 0 ? v->fmt->streams[any]->codecpar->codec_id : AV_CODEC_ID_NONE;
        sv_errf(e, "%s: no decoder for the video codec %s", path, avcodec_get_name(id));
        goto fail;
    }
    AVStream *st = v->fmt->streams[v->stream];
    if (st->disposition & AV_DISPOSITION_ATTACHED_PIC) {
        sv_errf(e, "%s: no video stream (only an attached cover picture)", path);
        goto fail;
    }
    for (unsigned i = 0; i < v->fmt->nb_streams; i++) {
        const enum AVMediaType t = v->fmt->streams[i]->codecpar->codec_type;
        if ((int)i != v->stream) v->fmt->streams[i]->discard = AVDISCARD_ALL;
        v->others += t == AVMEDIA_TYPE_AUDIO || t == AVMEDIA_TYPE_SUBTITLE || t == AVMEDIA_TYPE_DATA;
    }
    // Refuse absurd sizes before the decoder allocates anything.
    if ((st->codecpar->width || st->codecpar->height) &&
        sv_frame_size_check(path, st->codecpar->width, st->codecpar->height, e))
        goto fail;
    v->dec = avcodec_alloc_context3(codec);
    v->pkt = av_packet_alloc();
    v->frame = av_frame_alloc();
    if (!v->dec || !v->pkt || !v->frame) {
        sv_errf(e, "%s: out of memory starting the decoder", path);
        goto fail;
    }
    rc = avcodec_parameters_to_context(v->dec, st->codecpar);
    if (rc >= 0) {
        v->dec->pkt_timebase = st->time_base;
        v->dec->thread_count = 0;  // libavcodec picks, by core count
        rc = avcodec_open2(v->dec, codec, NULL);
    }
    if (rc < 0) {
        av_fail(v, rc, "cannot start the video decoder", e);
        goto fail;
    }
    rc = decode_next(v, e);
    if (rc == 0) sv_errf(e, "%s: the video stream has no frames", path);
    if (rc <= 0) goto fail;
    v->pending = 1;
    if (sv_frame_size_check(path, v->frame->width, v->frame->height, e)) goto fail;
    v->w = v->frame->width;
    v->h = v->frame->height;
    AVRational rate = st->avg_frame_rate.num > 0 ? st->avg_frame_rate : st->r_frame_rate;
    sv_libav_tidy_rate(rate, fps_num, fps_den);
    const AVPixFmtDescriptor *d = av_pix_fmt_desc_get(v->frame->format);
    *depth = d ? d->comp[0].depth : 8;
    *w = v->w;
    *h = v->h;
    *count = frame_count(v->fmt, st, *fps_num, *fps_den);
    return v;
fail:
    sv_video_in_close(v);
    return NULL;
}

int sv_video_in_read(sv_video_in *v, unsigned char *rgb, sv_err *e) { return sv_video_in_read_as(v, rgb, SV_PX_RGB8, e); }

int sv_video_in_read_as(sv_video_in *v, void *dst, sv_px px, sv_err *e) {
    sv_libav_clear_log();
    if (!v->pending) {
        int rc = decode_next(v, e);
        if (rc <= 0) return rc;
    }
    v->pending = 0;
    v->last_pts = v->frame->best_effort_timestamp;
    int rc = convert(v, dst, px, e);
    av_frame_unref(v->frame);
    v->index++;
    return rc ? -1 : 1;
}

int64_t sv_video_in_last_pts(const sv_video_in *v) { return v->last_pts; }
int sv_video_in_others(const sv_video_in *v) { return v->others; }

int sv_video_in_has_alpha(const sv_video_in *v) {
    const AVPixFmtDescriptor *d = av_pix_fmt_desc_get((enum AVPixelFormat)v->frame->format);
    return d && (d->flags & AV_PIX_FMT_FLAG_ALPHA);
}

void sv_video_in_close(sv_video_in *v) {
    if (!v) return;
    sws_freeContext(v->sws);
    av_frame_free(&v->rgb);
    av_frame_free(&v->frame);
    av_packet_free(&v->pkt);
    avcodec_free_context(&v->dec);
    avformat_close_input(&v->fmt);
    if (v->pipe) {
        av_freep(&v->pipe->buffer);
        avio_context_free(&v->pipe);
    }
    free(v->path);
    free(v);
}
