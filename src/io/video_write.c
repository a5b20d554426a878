// video_write.c: RGB24 frames into an MP4 (H.264 with libx264, or MPEG-4 Part 2) or a Matroska file
// (FFV1, lossless RGB), with libavcodec + libavformat. The muxer writes through a custom AVIOContext into
// the FILE* of an sv_atomic temporary, so publishing the file (fsync, rename) stays with atomic_file.c.
#include <errno.h>
#include <limits.h>
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/opt.h>
#include <libavutil/pixdesc.h>
#include <libswscale/swscale.h>
#include <stdlib.h>
#include <string.h>

#include "core/warn.h"
#include "io/frames_internal.h"
#include "io/libav_util.h"

#define CRF_X264 "17"  // visually lossless for most content; libx264's default is 23
#define IO_BUFFER (1 << 16)

struct sv_video_out {
    char *path;
    FILE *f;
    AVFormatContext *fmt;
    AVIOContext *io;
    AVCodecContext *enc;
    AVStream *st;
    AVFrame *rgb;    // padded copy of the caller's frame (swscale may read past a row's end)
    AVFrame *frame;  // encoder input
    AVPacket *pkt;
    struct SwsContext *sws;
    int w, h;
    int64_t next_pts;
};

static int av_fail(const sv_video_out *v, int averr, const char *what, sv_err *e) {
    char why[512];
    return sv_errf(e, "%s: %s: %s", v->path, what, sv_libav_describe(averr, why, sizeof why));
}

#if LIBAVFORMAT_VERSION_MAJOR >= 61
static int io_write(void *opaque, const uint8_t *buf, int n) {
#else
static int io_write(void *opaque, uint8_t *buf, int n) {
#endif
    sv_video_out *v = opaque;
    errno = 0;
    if (fwrite(buf, 1, (size_t)n, v->f) != (size_t)n) return AVERROR(errno ? errno : EIO);
    return n;
}

static int64_t io_seek(void *opaque, int64_t offset, int whence) {
    sv_video_out *v = opaque;
    if (whence & AVSEEK_SIZE) {
        off_t here = ftello(v->f);
        if (here < 0 || fseeko(v->f, 0, SEEK_END) != 0) return AVERROR(errno);
        off_t size = ftello(v->f);
        if (fseeko(v->f, here, SEEK_SET) != 0) return AVERROR(errno);
        return size;
    }
    if (fseeko(v->f, (off_t)offset, whence & ~AVSEEK_FORCE) != 0) return AVERROR(errno);
    return ftello(v->f);
}

// Sends frame (NULL: end of stream) to the encoder and muxes every packet it has ready.
static int encode(sv_video_out *v, AVFrame *frame, sv_err *e) {
    int rc = avcodec_send_frame(v->enc, frame);
    if (rc < 0) return av_fail(v, rc, "encoding failed", e);
    for (;;) {
        rc = avcodec_receive_packet(v->enc, v->pkt);
        if (rc == AVERROR(EAGAIN) || rc == AVERROR_EOF) return 0;
        if (rc < 0) return av_fail(v, rc, "encoding failed", e);
        av_packet_rescale_ts(v->pkt, v->enc->time_base, v->st->time_base);
        v->pkt->stream_index = v->st->index;
        rc = av_interleaved_write_frame(v->fmt, v->pkt);  // takes the packet's data
        if (rc < 0) return av_fail(v, rc, "write failed", e);
    }
}

// The encoder for this container: the one asked for, or the default with its fallback.
static const AVCodec *pick_encoder(const char *path, int mp4, const char *asked, sv_err *e) {
    if (asked) {
        int ok = mp4 ? !strcmp(asked, "libx264") || !strcmp(asked, "mpeg4")
                     : !strcmp(asked, "ffv1") || !strcmp(asked, "libx264") || !strcmp(asked, "mpeg4");
        if (!ok) {
            sv_errf(e, "%s: encoder '%s' is not supported for this container (%s)", path, asked,
                    mp4 ? "libx264 or mpeg4" : "ffv1, libx264 or mpeg4");
            return NULL;
        }
        const AVCodec *c = avcodec_find_encoder_by_name(asked);
        if (!c) sv_errf(e, "%s: encoder '%s' is not available in this libavcodec", path, asked);
        return c;
    }
    if (!mp4) {
        const AVCodec *c = avcodec_find_encoder(AV_CODEC_ID_FFV1);
        if (!c) sv_errf(e, "%s: this libavcodec has no FFV1 encoder", path);
        return c;
    }
    const AVCodec *c = avcodec_find_encoder_by_name("libx264");
    if (c) return c;
    // FFmpeg has no built-in software H.264 encoder; MPEG-4 Part 2 plays nearly everywhere.
    c = avcodec_find_encoder(AV_CODEC_ID_MPEG4);
    if (c)
        sv_warnf("%s: libavcodec was built without libx264; encoding MPEG-4 Part 2 instead (larger file, lower "
                 "quality; use .mkv for lossless output)", path);
    else
        sv_errf(e, "%s: this libavcodec has neither libx264 nor an MPEG-4 encoder; use .mkv or a folder", path);
    return c;
}

// Size, rate, pixel format, colour tags and quality for the encoder.
static int configure(sv_video_out *v, const AVCodec *codec, int fps_num, int fps_den, AVDictionary **opts,
                     sv_err *e) {
    AVCodecContext *c = v->enc;
    c->width = v->w;
    c->height = v->h;
    c->sample_aspect_ratio = (AVRational){1, 1};
    c->framerate = (AVRational){fps_num, fps_den};
    c->time_base = (AVRational){fps_den, fps_num};
    c->thread_count = 0;
    if (v->fmt->oformat->flags & AVFMT_GLOBALHEADER) c->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
    int odd = (v->w | v->h) & 1;
    if (codec->id == AV_CODEC_ID_FFV1) {
        c->pix_fmt = AV_PIX_FMT_BGR0;  // RGB kept exactly (FFV1 codes it with a reversible transform)
        c->colorspace = AVCOL_SPC_RGB;
        c->color_range = AVCOL_RANGE_JPEG;
        // Version 3 adds slices (multithreading) and per-slice CRCs, but libavcodec 59 mis-codes frames
        // under 4 pixels on a side with it; small frames use version 1, which has neither.
        if (v->w >= 16 && v->h >= 16) {
            c->level = 3;
            av_dict_set(opts, "slicecrc", "1", 0);
        } else {
            c->level = 1;
        }
        return 0;
    }
    if (codec->id == AV_CODEC_ID_MPEG4 && odd)
        return sv_errf(e, "%s: MPEG-4 needs an even frame size, not %dx%d", v->path, v->w, v->h);
    // 4:2:0 halves the chroma resolution and so needs even sides; an odd size keeps full chroma instead.
    c->pix_fmt = odd ? AV_PIX_FMT_YUV444P : AV_PIX_FMT_YUV420P;
    c->colorspace = AVCOL_SPC_BT709;
    c->color_primaries = AVCOL_PRI_BT709;
    c->color_trc = AVCOL_TRC_BT709;
    c->color_range = AVCOL_RANGE_MPEG;
    if (codec->id == AV_CODEC_ID_MPEG4) {
        c->flags |= AV_CODEC_FLAG_QSCALE;
        c->global_quality = FF_QP2LAMBDA * 2;  // near the best quantiser MPEG-4 offers
    } else {
        av_dict_set(opts, "crf", CRF_X264, 0);
        av_dict_set(opts, "preset", "medium", 0);
    }
    return 0;
}

sv_video_out *sv_video_out_open(FILE *f, const char *path, const char *container, const char *encoder, int w,
                                int h, int fps_num, int fps_den, sv_err *e) {
    sv_libav_init();
    sv_libav_clear_log();
    sv_video_out *v = sv_calloc(1, sizeof *v, e);
    if (!v) return NULL;
    v->f = f;
    v->w = w;
    v->h = h;
    AVDictionary *opts = NULL;
    if (!(v->path = strdup(path))) {
        sv_errf(e, "%s: out of memory", path);
        goto fail;
    }
    av_reduce(&fps_num, &fps_den, fps_num, fps_den, INT_MAX);
    const AVCodec *codec = pick_encoder(path, !strcmp(container, "mp4"), encoder, e);
    if (!codec) goto fail;
    int rc = avformat_alloc_output_context2(&v->fmt, NULL, container, path);
    if (rc < 0) {
        av_fail(v, rc, "cannot set up the container", e);
        goto fail;
    }
    v->st = avformat_new_stream(v->fmt, NULL);
    v->enc = avcodec_alloc_context3(codec);
    v->pkt = av_packet_alloc();
    v->frame = av_frame_alloc();
    v->rgb = sv_libav_rgb_frame(w, h);
    if (!v->st || !v->enc || !v->pkt || !v->frame || !v->rgb) {
        sv_errf(e, "%s: out of memory starting the encoder", path);
        goto fail;
    }
    if (configure(v, codec, fps_num, fps_den, &opts, e)) goto fail;
    rc = avcodec_open2(v->enc, codec, &opts);
    if (rc < 0) {
        av_fail(v, rc, "cannot start the encoder", e);
        goto fail;
    }
    rc = avcodec_parameters_from_context(v->st->codecpar, v->enc);
    if (rc < 0) {
        av_fail(v, rc, "cannot set up the video stream", e);
        goto fail;
    }
    v->st->time_base = v->enc->time_base;  // a hint; the muxer may choose another in write_header
    v->st->avg_frame_rate = v->enc->framerate;
    unsigned char *buf = av_malloc(IO_BUFFER);
    if (!buf || !(v->io = avio_alloc_context(buf, IO_BUFFER, 1, v, NULL, io_write, io_seek))) {
        av_free(buf);
        sv_errf(e, "%s: out of memory", path);
        goto fail;
    }
    v->fmt->pb = v->io;
    v->fmt->flags |= AVFMT_FLAG_CUSTOM_IO;
    rc = avformat_write_header(v->fmt, NULL);
    if (rc < 0) {
        av_fail(v, rc, "cannot write the container header", e);
        goto fail;
    }
    v->frame->format = v->enc->pix_fmt;
    v->frame->width = w;
    v->frame->height = h;
    rc = av_frame_get_buffer(v->frame, 0);
    if (rc < 0) {
        av_fail(v, rc, "cannot allocate a frame", e);
        goto fail;
    }
    v->sws = sws_getContext(w, h, AV_PIX_FMT_RGB24, w, h, v->enc->pix_fmt,
                            SWS_BICUBIC | SWS_ACCURATE_RND | SWS_FULL_CHR_H_INP, NULL, NULL, NULL);
    if (!v->sws) {
        sv_errf(e, "%s: cannot set up the RGB to %s conversion", path, av_get_pix_fmt_name(v->enc->pix_fmt));
        goto fail;
    }
    if (v->enc->colorspace == AVCOL_SPC_BT709) {
        const int *bt709 = sws_getCoefficients(SWS_CS_ITU709);
        sws_setColorspaceDetails(v->sws, bt709, 1, bt709, 0, 0, 1 << 16, 1 << 16);
    }
    av_dict_free(&opts);
    return v;
fail:
    av_dict_free(&opts);
    sv_video_out_free(v);
    return NULL;
}

int sv_video_out_write(sv_video_out *v, const unsigned char *rgb, sv_err *e) {
    sv_libav_clear_log();
    size_t row = (size_t)v->w * 3;
    for (int y = 0; y < v->h; y++) memcpy(v->rgb->data[0] + (size_t)y * v->rgb->linesize[0], rgb + y * row, row);
    int rc = av_frame_make_writable(v->frame);  // the encoder may still hold the previous picture
    if (rc < 0) return av_fail(v, rc, "cannot allocate a frame", e);
    sws_scale(v->sws, (const uint8_t *const *)v->rgb->data, v->rgb->linesize, 0, v->h, v->frame->data,
              v->frame->linesize);
    v->frame->pts = v->next_pts++;
    return encode(v, v->frame, e);
}

int sv_video_out_finish(sv_video_out *v, sv_err *e) {
    sv_libav_clear_log();
    if (encode(v, NULL, e)) return -1;
    int rc = av_write_trailer(v->fmt);
    if (rc < 0) return av_fail(v, rc, "cannot write the container trailer", e);
    avio_flush(v->io);
    if (v->io->error < 0) return av_fail(v, v->io->error, "write failed", e);
    return 0;
}

void sv_video_out_free(sv_video_out *v) {
    if (!v) return;
    sws_freeContext(v->sws);
    av_frame_free(&v->frame);
    av_frame_free(&v->rgb);
    av_packet_free(&v->pkt);
    avcodec_free_context(&v->enc);
    if (v->io) {
        av_freep(&v->io->buffer);
        avio_context_free(&v->io);
    }
    avformat_free_context(v->fmt);  // with AVFMT_FLAG_CUSTOM_IO this leaves pb to us (freed above)
    free(v->path);
    free(v);
}

const char *sv_video_out_codec(const sv_video_out *v) { return v->enc->codec->name; }
