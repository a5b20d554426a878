// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// video_write.c: RGB24 frames into a video (a container and encoder of io/video_formats.h's tables: H.264,
// H.265, AV1, VP9, ProRes, FFV1, MPEG-4 Part 2, raw y4m), with libavcodec + libavformat and swscale for the
// pixel format. The muxer writes through a custom AVIOContext into the FILE* of an sv_atomic temporary, so
// publishing the file (fsync, rename) stays with atomic_file.c; or into standard output, never rewound; or
// nowhere, to see the encoder and the muxer accept the options before any file exists.
#include <errno.h>
#include <limits.h>
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/imgutils.h>
#include <libavutil/opt.h>
#include <libavutil/pixdesc.h>
#include <libswscale/swscale.h>
#include <stdlib.h>
#include <string.h>

#include "core/warn.h"
#include "io/frames_internal.h"
#include "io/libav_util.h"

#define IO_BUFFER (1 << 16)

struct sv_video_out {
    char *path;
    FILE *f;         // NULL: a check, nothing is written
    AVFormatContext *fmt;
    AVIOContext *io;
    AVCodecContext *enc;
    const sv_codec_info *ci;  // the table's entry for the encoder
    AVStream *st;
    AVFrame *rgb;    // padded copy of the caller's frame (swscale may read past a row's end)
    AVFrame *frame;  // encoder input
    AVPacket *pkt;
    struct SwsContext *sws;
    int w, h;
    int64_t next_pts;       // frames given to the encoder so far
    sv_video_keep *keep;    // what is kept of the input (sv_writer_opts.keep_from), or NULL
    int keep_time;          // frames are written at their input pts, in the input's time base
    int64_t last_pts;       // the pts of the previous frame (keep_time)
    int64_t start;          // the input's start (keep_time): taken off each frame's pts
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
    if (!v->f) return n;
    errno = 0;
    if (fwrite(buf, 1, (size_t)n, v->f) != (size_t)n) return AVERROR(errno ? errno : EIO);
    return n;
}

static int64_t io_seek(void *opaque, int64_t offset, int whence) {
    sv_video_out *v = opaque;
    if (!v->f) return whence & AVSEEK_SIZE ? 0 : offset;  // a check: as a file would, with nothing in it
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
        // the copied streams' packets up to this one first, so the muxer interleaves them by dts
        if (v->keep && sv_video_keep_until(v->keep, v->fmt, v->pkt->dts, v->st->time_base, v->path, e)) {
            av_packet_unref(v->pkt);
            return -1;
        }
        rc = av_interleaved_write_frame(v->fmt, v->pkt);  // takes the packet's data
        if (rc >= 0) rc = v->io->error;  // a failed write (a full disk, a closed pipe) ends the job at once
        if (rc < 0) return av_fail(v, rc, "write failed", e);
    }
}

// The encoder *ci names (the table checked it), or, when none was asked for and this libavcodec lacks the
// container's default, its fallback (with a warning; *ci then describes the fallback).
static const AVCodec *pick_encoder(const sv_video_out *v, const sv_container *k, const sv_codec_info **ci,
                                   const sv_writer_opts *o, sv_err *e) {
    const AVCodec *c = avcodec_find_encoder_by_name((*ci)->name);
    if (c) return c;
    if (!o->encoder && k->fallback && (c = avcodec_find_encoder_by_name(k->fallback))) {
        if (v->f) sv_warnf("%s: libavcodec was built without %s; encoding %s instead (larger file, lower quality; "
                           "use .mkv for lossless output)", v->path, (*ci)->name, k->fallback);
        *ci = sv_codec_info_find(k->fallback);
        return c;
    }
    sv_errf(e, "%s: codec '%s' is not available in this libavcodec", v->path, (*ci)->name);
    return NULL;
}

// Whether the encoder takes fmt: the table's list where it has one (wrapped_avframe: what y4m carries), else
// libavcodec's (none: any).
static int codec_takes(const AVCodec *c, const sv_codec_info *ci, enum AVPixelFormat fmt) {
    if (ci->pix_fmts) return sv_word_in(av_get_pix_fmt_name(fmt), ci->pix_fmts);
    if (!c->pix_fmts) return 1;
    for (const enum AVPixelFormat *p = c->pix_fmts; *p != AV_PIX_FMT_NONE; p++)
        if (*p == fmt) return 1;
    return 0;
}

// The pixel formats the encoder takes, for messages.
static const char *pix_fmt_list(const AVCodec *c, const sv_codec_info *ci, char *buf, size_t n) {
    if (ci->pix_fmts || !c->pix_fmts) return ci->pix_fmts ? ci->pix_fmts : "any";
    buf[0] = 0;
    for (const enum AVPixelFormat *p = c->pix_fmts; *p != AV_PIX_FMT_NONE; p++) {
        const size_t used = strlen(buf);
        snprintf(buf + used, n - used, "%s%s", used ? " " : "", av_get_pix_fmt_name(*p));
    }
    return buf;
}

static int subsampled(enum AVPixelFormat fmt) {
    const AVPixFmtDescriptor *d = av_pix_fmt_desc_get(fmt);
    return d && (d->log2_chroma_w || d->log2_chroma_h);
}

// pix_fmt as asked: known to libav, taken by the encoder, and with whole chroma samples at this size.
static enum AVPixelFormat asked_pix_fmt(const sv_video_out *v, const AVCodec *c, const sv_codec_info *ci,
                                        const char *name, sv_err *e) {
    char list[512];
    const enum AVPixelFormat f = av_get_pix_fmt(name);
    if (f == AV_PIX_FMT_NONE) sv_errf(e, "%s: unknown pixel format '%s'", v->path, name);
    else if (!codec_takes(c, ci, f))
        sv_errf(e, "%s: pixel format '%s' is not one %s takes (%s)", v->path, name, c->name,
                pix_fmt_list(c, ci, list, sizeof list));
    else if (((v->w | v->h) & 1) && subsampled(f))
        sv_errf(e, "%s: pixel format '%s' subsamples the chroma and needs an even frame size, not %dx%d", v->path,
                name, v->w, v->h);
    else return f;
    return AV_PIX_FMT_NONE;
}

// The default pixel format: the table's for the encoder, else 4:2:0 (4:4:4 for an odd size, which 4:2:0
// cannot halve), 10-bit for an input of more than 8 bits when the encoder takes it (else 8-bit, said in a
// warning).
static enum AVPixelFormat default_pix_fmt(const sv_video_out *v, const AVCodec *c, const sv_codec_info *ci,
                                          int depth, sv_err *e) {
    if (ci->pix_fmt_default) return av_get_pix_fmt(ci->pix_fmt_default);
    const int odd = (v->w | v->h) & 1;
    const enum AVPixelFormat bits8 = odd ? AV_PIX_FMT_YUV444P : AV_PIX_FMT_YUV420P;
    const enum AVPixelFormat bits10 = odd ? AV_PIX_FMT_YUV444P10 : AV_PIX_FMT_YUV420P10;
    if (depth > 8 && codec_takes(c, ci, bits10)) return bits10;
    if (!codec_takes(c, ci, bits8)) {
        sv_errf(e, "%s: %s needs an even frame size, not %dx%d", v->path, c->name, v->w, v->h);
        return AV_PIX_FMT_NONE;
    }
    if (depth > 8 && v->f)
        sv_warnf("%s: the input has %d-bit samples, but %s in this libavcodec takes no %s; writing 8-bit %s",
                 v->path, depth, c->name, av_get_pix_fmt_name(bits10), av_get_pix_fmt_name(bits8));
    return bits8;
}

// Size, rate, pixel format, colour tags and quality for the encoder.
static int configure(sv_video_out *v, const AVCodec *codec, const sv_codec_info *ci, const sv_writer_opts *o,
                     int fps_num, int fps_den, AVDictionary **opts, sv_err *e) {
    AVCodecContext *c = v->enc;
    c->width = v->w;
    c->height = v->h;
    c->framerate = (AVRational){fps_num, fps_den};
    c->time_base = (AVRational){fps_den, fps_num};
    const sv_video_facts *in = v->keep ? sv_video_keep_facts(v->keep) : NULL;
    // square pixels, or the input's shape (anamorphic video stays as wide on screen)
    c->sample_aspect_ratio = in && in->sar.num > 0 && in->sar.den > 0 ? in->sar : (AVRational){1, 1};
    // the input's time base, so that each frame keeps its input pts (a variable rate stays variable); not
    // for y4m, whose header states one rate, nor for MPEG-4 Part 2, which takes no finer base than 1/65535
    v->keep_time = in && in->time_base.num > 0 && in->time_base.den > 0 &&
                   strcmp(v->fmt->oformat->name, "yuv4mpegpipe") &&
                   !(codec->id == AV_CODEC_ID_MPEG4 && in->time_base.den > 65535);
    if (v->keep_time) c->time_base = in->time_base, v->start = in->start;
    c->thread_count = 0;
    if (v->fmt->oformat->flags & AVFMT_GLOBALHEADER) c->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
    c->pix_fmt = o->pix_fmt ? asked_pix_fmt(v, codec, ci, o->pix_fmt, e) : default_pix_fmt(v, codec, ci, o->depth, e);
    if (c->pix_fmt == AV_PIX_FMT_NONE) return -1;
    // Colour tags: the input's where it states them (the RGB frames go back to YUV with its matrix and
    // range: the reader took them out with the same), else BT.709, limited range.
    c->color_primaries = in && in->primaries != AVCOL_PRI_UNSPECIFIED ? in->primaries : AVCOL_PRI_BT709;
    c->color_trc = in && in->trc != AVCOL_TRC_UNSPECIFIED ? in->trc : AVCOL_TRC_BT709;
    if (av_pix_fmt_desc_get(c->pix_fmt)->flags & AV_PIX_FMT_FLAG_RGB) {
        c->colorspace = AVCOL_SPC_RGB;  // RGB kept as it is (FFV1 codes it with a reversible transform)
        c->color_range = AVCOL_RANGE_JPEG;
    } else {
        const int tagged = in && in->space != AVCOL_SPC_UNSPECIFIED && in->space != AVCOL_SPC_RGB &&
                           in->space != AVCOL_SPC_RESERVED;
        c->colorspace = tagged ? in->space : AVCOL_SPC_BT709;
        c->color_range = in && in->range == AVCOL_RANGE_JPEG ? AVCOL_RANGE_JPEG : AVCOL_RANGE_MPEG;
    }
    if (in && v->f && (c->color_trc == AVCOL_TRC_SMPTE2084 || c->color_trc == AVCOL_TRC_ARIB_STD_B67))
        sv_warnf("%s: the input is HDR (%s); its colour tags are kept, but the network was trained on SDR video",
                 v->path, av_color_transfer_name(c->color_trc));
    if (codec->id == AV_CODEC_ID_FFV1) {
        // Version 3 adds slices (multithreading) and per-slice CRCs, but libavcodec 59 mis-codes frames
        // under 4 pixels on a side with it; small frames use version 1, which has neither.
        if (v->w >= 16 && v->h >= 16) {
            c->level = 3;
            av_dict_set(opts, "slicecrc", "1", 0);
        } else {
            c->level = 1;
        }
    } else if (codec->id == AV_CODEC_ID_MPEG4) {
        c->flags |= AV_CODEC_FLAG_QSCALE;
        c->global_quality = FF_QP2LAMBDA * 2;  // near the best quantiser MPEG-4 offers
    }
    const int crf = o->crf_set ? o->crf : ci->crf_default;
    if (crf >= 0) {
        av_dict_set_int(opts, "crf", crf, 0);
        c->bit_rate = 0;  // constant quality, no bitrate target (libvpx and SVT-AV1 otherwise aim at one)
    }
    const char *preset = o->preset ? o->preset : ci->preset_default;
    if (preset) av_dict_set(opts, "preset", preset, 0);
    if (ci->quiet) av_dict_parse_string(opts, ci->quiet, "=", "", 0);
    return 0;
}

sv_video_out *sv_video_out_open(FILE *f, int stream, const char *name, const sv_container *k,
                                const sv_writer_opts *o, int w, int h, int fps_num, int fps_den, sv_err *e) {
    sv_libav_init();
    sv_libav_clear_log();
    sv_video_out *v = sv_calloc(1, sizeof *v, e);
    if (!v) return NULL;
    v->f = f;
    v->w = w;
    v->h = h;
    v->last_pts = AV_NOPTS_VALUE;
    AVDictionary *opts = NULL, *mux = NULL;
    if (!(v->path = strdup(name))) {
        sv_errf(e, "%s: out of memory", name);
        goto fail;
    }
    if (o->keep_from && !(v->keep = sv_video_keep_open(o->keep_from, e))) goto fail;
    av_reduce(&fps_num, &fps_den, fps_num, fps_den, INT_MAX);
    const sv_codec_info *ci = sv_video_choice_check(name, k, o, e);
    const AVCodec *codec = ci ? pick_encoder(v, k, &ci, o, e) : NULL;
    if (!codec) goto fail;
    v->ci = ci;
    int rc = avformat_alloc_output_context2(&v->fmt, NULL, k->muxer, NULL);
    if (rc < 0) {
        av_fail(v, rc, "cannot set up the container", e);
        goto fail;
    }
    // 10-bit y4m (C420p10) is what ffmpeg and x264 read, but outside the format's original tags
    v->fmt->strict_std_compliance = FF_COMPLIANCE_UNOFFICIAL;
    // A stream cannot be rewound to write MP4's index before the frames: fragments, each with its own.
    if (stream && (!strcmp(k->muxer, "mp4") || !strcmp(k->muxer, "mov")))
        av_dict_set(&mux, "movflags", "frag_keyframe+empty_moov+default_base_moof", 0);
    v->st = avformat_new_stream(v->fmt, NULL);
    v->enc = avcodec_alloc_context3(codec);
    v->pkt = av_packet_alloc();
    v->frame = av_frame_alloc();
    v->rgb = sv_libav_rgb_frame(w, h);
    if (!v->st || !v->enc || !v->pkt || !v->frame || !v->rgb) {
        sv_errf(e, "%s: out of memory starting the encoder", name);
        goto fail;
    }
    if (configure(v, codec, ci, o, fps_num, fps_den, &opts, e)) goto fail;
    // the frame before the encoder opens: sv_video_out_free may have to feed it one (close_needs_frame)
    v->frame->format = v->enc->pix_fmt;
    v->frame->width = w;
    v->frame->height = h;
    rc = av_frame_get_buffer(v->frame, 0);
    if (rc < 0) {
        av_fail(v, rc, "cannot allocate a frame", e);
        goto fail;
    }
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
    v->st->sample_aspect_ratio = v->enc->sample_aspect_ratio;  // what y4m's A tag says
    v->st->avg_frame_rate = v->enc->framerate;
    if (v->keep && sv_video_keep_setup(v->keep, v->fmt, v->st, o->drop_streams, v->f != NULL, name, e)) goto fail;
    unsigned char *buf = av_malloc(IO_BUFFER);
    if (!buf || !(v->io = avio_alloc_context(buf, IO_BUFFER, 1, v, NULL, io_write, stream ? NULL : io_seek))) {
        av_free(buf);
        sv_errf(e, "%s: out of memory", name);
        goto fail;
    }
    v->fmt->pb = v->io;
    v->fmt->flags |= AVFMT_FLAG_CUSTOM_IO;
    rc = avformat_write_header(v->fmt, &mux);
    if (rc < 0) {
        av_fail(v, rc, "cannot write the container header", e);
        goto fail;
    }
    v->sws = sws_getContext(w, h, AV_PIX_FMT_RGB24, w, h, v->enc->pix_fmt,
                            SWS_BICUBIC | SWS_ACCURATE_RND | SWS_FULL_CHR_H_INP, NULL, NULL, NULL);
    if (!v->sws) {
        sv_errf(e, "%s: cannot set up the RGB to %s conversion", name, av_get_pix_fmt_name(v->enc->pix_fmt));
        goto fail;
    }
    if (v->enc->colorspace != AVCOL_SPC_RGB) {  // swscale's default is BT.601, limited range
        const int *coefs = sws_getCoefficients(sv_libav_sws_matrix(v->enc->colorspace, h));
        sws_setColorspaceDetails(v->sws, coefs, 1, coefs, v->enc->color_range == AVCOL_RANGE_JPEG, 0, 1 << 16,
                                 1 << 16);
    }
    av_dict_free(&opts);
    av_dict_free(&mux);
    return v;
fail:
    av_dict_free(&opts);
    av_dict_free(&mux);
    sv_video_out_free(v);
    return NULL;
}

// The pts of the next frame: its input's less the input's start (keep_time), made later than the previous
// frame's when it is not (or missing: one frame duration on); else the frame count.
static int64_t next_pts(sv_video_out *v, int64_t pts) {
    if (!v->keep_time) return v->next_pts;
    pts = pts == SV_NO_PTS ? AV_NOPTS_VALUE : pts - v->start;
    if (v->last_pts != AV_NOPTS_VALUE && (pts == AV_NOPTS_VALUE || pts <= v->last_pts)) {
        const int64_t step = av_rescale_q(1, av_inv_q(v->enc->framerate), v->enc->time_base);
        pts = v->last_pts + (step > 0 ? step : 1);
    }
    return v->last_pts = pts == AV_NOPTS_VALUE ? 0 : pts;
}

int sv_video_out_write(sv_video_out *v, const unsigned char *rgb, int64_t pts, sv_err *e) {
    sv_libav_clear_log();
    size_t row = (size_t)v->w * 3;
    for (int y = 0; y < v->h; y++) memcpy(v->rgb->data[0] + (size_t)y * v->rgb->linesize[0], rgb + y * row, row);
    int rc = av_frame_make_writable(v->frame);  // the encoder may still hold the previous picture
    if (rc < 0) return av_fail(v, rc, "cannot allocate a frame", e);
    sws_scale(v->sws, (const uint8_t *const *)v->rgb->data, v->rgb->linesize, 0, v->h, v->frame->data,
              v->frame->linesize);
    v->frame->pts = next_pts(v, pts);
    v->next_pts++;
    return encode(v, v->frame, e);
}

int sv_video_out_finish(sv_video_out *v, sv_err *e) {
    sv_libav_clear_log();
    if (encode(v, NULL, e)) return -1;
    // the copied streams' packets after the last picture
    if (v->keep && sv_video_keep_until(v->keep, v->fmt, AV_NOPTS_VALUE, v->st->time_base, v->path, e)) return -1;
    int rc = av_write_trailer(v->fmt);
    if (rc < 0) return av_fail(v, rc, "cannot write the container trailer", e);
    avio_flush(v->io);
    if (v->io->error < 0) return av_fail(v, v->io->error, "write failed", e);
    return 0;
}

void sv_video_out_free(sv_video_out *v) {
    if (!v) return;
    // End the stream before closing the encoder, also when the job failed: libsvtav1 (SVT-AV1 1.4 with
    // libavcodec 59) waits forever in its close for an end of stream it was not sent, and after an end of
    // stream with no frame before it; such an encoder gets a black frame first (its packets are dropped).
    if (v->enc && v->pkt && avcodec_is_open(v->enc)) {
        if (!v->next_pts && v->ci && v->ci->close_needs_frame && av_frame_make_writable(v->frame) >= 0) {
            ptrdiff_t lines[4];
            for (int i = 0; i < 4; i++) lines[i] = v->frame->linesize[i];
            av_image_fill_black(v->frame->data, lines, v->enc->pix_fmt, v->enc->color_range, v->w, v->h);
            avcodec_send_frame(v->enc, v->frame);
        }
        if (avcodec_send_frame(v->enc, NULL) >= 0)
            while (avcodec_receive_packet(v->enc, v->pkt) >= 0) av_packet_unref(v->pkt);
    }
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
    sv_video_keep_free(v->keep);
    free(v->path);
    free(v);
}

const char *sv_video_out_codec(const sv_video_out *v) { return v->enc->codec->name; }
