// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// video_keep.c: what a video output keeps of its input besides the pictures (frames_internal.h:
// sv_video_keep). The input is opened a second time, by its own demuxer, independently of the reader that
// decodes its frames: the frames reach the writer chunks later than they were read (pipeline/upscale.c),
// and this way the packets to copy are read exactly when the muxer needs them, with nothing queued between
// the reader and the writer.
//
// Kept: the video stream's time base (each frame is written at its input frame's pts), its display matrix
// (rotation) and HDR side data, its colour tags; and, unless drop_streams, every audio, subtitle and data
// stream (packets copied, timestamps rescaled), the chapters and the global metadata. Every timestamp
// (frames, packets, chapters) loses the input file's start time, as in ffmpeg -c copy. Packets are copied
// in dts order just before the video packet that follows them (sv_video_keep_until), and the muxer's
// av_interleaved_write_frame interleaves them. A stream the container cannot hold (video_holds.c)
// is left out with one warning naming it and a container that can.
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/avstring.h>
#include <libavutil/display.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/warn.h"
#include "io/frames_internal.h"
#include "io/libav_util.h"

struct sv_video_keep {
    char *path;
    AVFormatContext *in;
    int video;           // the input's video stream (av_find_best_stream, as video_read.c)
    int *map;            // input stream -> output stream, or -1
    int64_t *last_dts;   // input stream -> the dts of its last packet copied (in the output's time base)
    AVPacket *pkt;       // the next packet to copy, read ahead (have_pkt)
    int have_pkt, eof;
    sv_video_facts facts;
    int64_t start;       // the input file's start time (AV_TIME_BASE units; 0 when it has none)
};

static int av_fail(const char *path, int averr, const char *what, sv_err *e) {
    char why[512];
    return sv_errf(e, "%s: %s: %s", path, what, sv_libav_describe(averr, why, sizeof why));
}

sv_video_keep *sv_video_keep_open(const char *input, sv_err *e) {
    sv_libav_init();
    sv_libav_clear_log();
    sv_video_keep *k = sv_calloc(1, sizeof *k, e);
    if (!k) return NULL;
    if (!(k->path = strdup(input)) || !(k->pkt = av_packet_alloc())) {
        sv_errf(e, "%s: out of memory", input);
        goto fail;
    }
    int rc = avformat_open_input(&k->in, input, NULL, NULL);
    if (rc >= 0) rc = avformat_find_stream_info(k->in, NULL);
    if (rc < 0) {
        av_fail(input, rc, "cannot open video", e);
        goto fail;
    }
    k->video = av_find_best_stream(k->in, AVMEDIA_TYPE_VIDEO, -1, -1, NULL, 0);
    if (k->video < 0) {
        sv_errf(e, "%s: no video stream", input);
        goto fail;
    }
    k->map = malloc(k->in->nb_streams * sizeof *k->map);
    k->last_dts = malloc(k->in->nb_streams * sizeof *k->last_dts);
    if (!k->map || !k->last_dts) {
        sv_errf(e, "%s: out of memory", input);
        goto fail;
    }
    for (unsigned i = 0; i < k->in->nb_streams; i++) k->map[i] = -1, k->last_dts[i] = AV_NOPTS_VALUE;
    const AVStream *st = k->in->streams[k->video];
    const AVCodecParameters *p = st->codecpar;
    k->start = k->in->start_time != AV_NOPTS_VALUE ? k->in->start_time : 0;
    k->facts = (sv_video_facts){.primaries = p->color_primaries, .trc = p->color_trc, .space = p->color_space,
                                .range = p->color_range, .time_base = st->time_base,
                                .start = av_rescale_q(k->start, AV_TIME_BASE_Q, st->time_base),
                                .sar = av_guess_sample_aspect_ratio(k->in, (AVStream *)st, NULL)};
    return k;
fail:
    sv_video_keep_free(k);
    return NULL;
}

const sv_video_facts *sv_video_keep_facts(const sv_video_keep *k) { return &k->facts; }

static const char *type_name(enum AVMediaType t) {
    const char *s = av_get_media_type_string(t);
    return s ? s : "unknown";
}

// The codec of a stream for messages: its name, or its tag where libavcodec knows no such codec (tmcd).
static const char *codec_label(const AVCodecParameters *p, char tag[AV_FOURCC_MAX_STRING_SIZE]) {
    if (p->codec_id != AV_CODEC_ID_NONE || !p->codec_tag) return avcodec_get_name(p->codec_id);
    return av_fourcc_make_string(tag, p->codec_tag);
}

// Whether the output's container takes this input stream: 1, or 0 (with a warning naming the stream and a
// container that takes it, when warn).
static int container_takes(const AVFormatContext *out, const char *name, unsigned index, const AVStream *s,
                           int warn) {
    const AVCodecParameters *p = s->codecpar;
    const int strict = out->strict_std_compliance;
    if (sv_container_holds(out->oformat, p, s->time_base, strict)) return 1;
    if (!warn) return 0;
    const char *other = sv_container_holder(out->oformat, p, s->time_base, strict);
    char tag[AV_FOURCC_MAX_STRING_SIZE];
    sv_warnf("%s: input stream %u (%s, %s) is not kept: %s cannot hold it%s%s%s", name, index,
             type_name(p->codec_type), codec_label(p, tag), out->oformat->name, other ? " (" : "",
             other ? other : "", other ? " can)" : "");
    return 0;
}

// The stream's side data of this type (the codec parameters' since libavformat 61), or NULL.
static const uint8_t *side_data(const AVStream *st, enum AVPacketSideDataType type, size_t *n) {
#if LIBAVFORMAT_VERSION_MAJOR < 61
    const uint8_t *d = av_stream_get_side_data(st, type, n);
    return d && *n ? d : NULL;
#else
    const AVPacketSideData *sd =
        av_packet_side_data_get(st->codecpar->coded_side_data, st->codecpar->nb_coded_side_data, type);
    *n = sd ? sd->size : 0;
    return sd && sd->size ? sd->data : NULL;
#endif
}

static uint8_t *new_side_data(AVStream *st, enum AVPacketSideDataType type, size_t n) {
#if LIBAVFORMAT_VERSION_MAJOR < 61
    return av_stream_new_side_data(st, type, n);
#else
    AVPacketSideData *sd =
        av_packet_side_data_new(&st->codecpar->coded_side_data, &st->codecpar->nb_coded_side_data, type, n, 0);
    return sd ? sd->data : NULL;
#endif
}

// The video stream's side data that describe the pictures and stay true after upscaling: the display
// matrix (rotation, flips), HDR mastering display and content light levels.
static int copy_side_data(const AVStream *from, AVStream *to) {
    static const enum AVPacketSideDataType kept[] = {AV_PKT_DATA_DISPLAYMATRIX, AV_PKT_DATA_MASTERING_DISPLAY_METADATA,
                                                     AV_PKT_DATA_CONTENT_LIGHT_LEVEL};
    for (size_t i = 0; i < sizeof kept / sizeof *kept; i++) {
        size_t n = 0;
        const uint8_t *src = side_data(from, kept[i], &n);
        if (!src) continue;
        uint8_t *dst = new_side_data(to, kept[i], n);
        if (!dst) return AVERROR(ENOMEM);
        memcpy(dst, src, n);
    }
    return 0;
}

// One warning when the input's pictures are to be shown rotated or flipped and the container cannot say so.
static void rotation_check(const AVStream *vin, const AVOutputFormat *of, const char *name) {
    size_t n = 0;
    const uint8_t *m = side_data(vin, AV_PKT_DATA_DISPLAYMATRIX, &n);
    if (!m || n < 9 * sizeof(int32_t) || sv_container_holds_rotation(of)) return;
    const double deg = av_display_rotation_get((const int32_t *)m);
    sv_warnf("%s: the input's display matrix (rotation %.0f degrees) is not kept: %s in this libavformat "
             "cannot hold it (mp4 can)", name, isnan(deg) ? 0.0 : deg, of->name);
}

// Metadata copied but for what describes the old encoding (the muxer writes its own).
static int copy_metadata(AVDictionary **to, const AVDictionary *from) {
    const AVDictionaryEntry *t = NULL;
    while ((t = av_dict_get(from, "", t, AV_DICT_IGNORE_SUFFIX))) {
        if (!av_strcasecmp(t->key, "encoder") || !av_strcasecmp(t->key, "duration") ||
            !av_strcasecmp(t->key, "major_brand") || !av_strcasecmp(t->key, "minor_version") ||
            !av_strcasecmp(t->key, "compatible_brands"))
            continue;
        if (av_dict_set(to, t->key, t->value, 0) < 0) return AVERROR(ENOMEM);
    }
    return 0;
}

// The chapters, moved with the rest by the input's start (AV_TIME_BASE units).
static int copy_chapters(AVFormatContext *out, const AVFormatContext *in, int64_t start) {
    if (!in->nb_chapters) return 0;
    AVChapter **list = av_realloc_array(NULL, in->nb_chapters, sizeof *list);
    if (!list) return AVERROR(ENOMEM);
    out->chapters = list;
    for (unsigned i = 0; i < in->nb_chapters; i++) {
        const AVChapter *c = in->chapters[i];
        AVChapter *d = av_mallocz(sizeof *d);  // freed with the muxer's context (avformat_free_context)
        if (!d) return AVERROR(ENOMEM);
        out->chapters[out->nb_chapters++] = d;
        d->id = c->id;
        d->time_base = c->time_base;
        const int64_t shift = av_rescale_q(start, AV_TIME_BASE_Q, c->time_base);
        d->start = c->start - shift;
        d->end = c->end - shift;
        if (av_dict_copy(&d->metadata, c->metadata, 0) < 0) return AVERROR(ENOMEM);
    }
    return 0;
}

// A timecode track (QuickTime tmcd) is data the muxer makes again from the video stream's "timecode" tag
// (MP4, MOV; Matroska keeps the tag): the track is not copied, its tag goes onto the video stream.
static int is_timecode(const AVCodecParameters *p) {
    return p->codec_type == AVMEDIA_TYPE_DATA && p->codec_tag == MKTAG('t', 'm', 'c', 'd');
}

static int keep_timecode(const AVFormatContext *in, AVStream *video) {
    for (unsigned i = 0; i < in->nb_streams; i++) {
        const AVDictionaryEntry *tc = av_dict_get(in->streams[i]->metadata, "timecode", NULL, 0);
        if (is_timecode(in->streams[i]->codecpar) && tc && !av_dict_get(video->metadata, "timecode", NULL, 0))
            return av_dict_set(&video->metadata, "timecode", tc->value, 0);
    }
    return 0;
}

// Whether input stream i (not the video upscaled) goes into out: audio, subtitles and data the container
// takes, attachments into Matroska. A warning, when warn, for each left out but a timecode track.
static int stream_kept(const sv_video_keep *k, const AVFormatContext *out, unsigned i, int warn, const char *name) {
    const AVStream *s = k->in->streams[i];
    const AVCodecParameters *p = s->codecpar;
    const char *of = out->oformat->name;
    char tag[AV_FOURCC_MAX_STRING_SIZE];
    if (p->codec_type == AVMEDIA_TYPE_AUDIO || p->codec_type == AVMEDIA_TYPE_SUBTITLE ||
        (p->codec_type == AVMEDIA_TYPE_DATA && !is_timecode(p)))
        return container_takes(out, name, i, s, warn);
    if (p->codec_type == AVMEDIA_TYPE_ATTACHMENT && !strcmp(of, "matroska")) return 1;  // fonts and the like
    if (!warn) return 0;
    if (p->codec_type == AVMEDIA_TYPE_ATTACHMENT)
        sv_warnf("%s: input stream %u (attachment, %s) is not kept: %s cannot hold it (mkv can)", name, i,
                 codec_label(p, tag), of);
    else if (p->codec_type == AVMEDIA_TYPE_VIDEO)
        sv_warnf("%s: input stream %u (video, %s) is not kept: slimvsr upscales one video stream", name, i,
                 codec_label(p, tag));
    return 0;
}

// A new stream of out with input stream i's parameters, metadata and disposition.
static int add_stream(sv_video_keep *k, AVFormatContext *out, unsigned i) {
    AVStream *s = k->in->streams[i];
    AVStream *o = avformat_new_stream(out, NULL);
    if (!o || avcodec_parameters_copy(o->codecpar, s->codecpar) < 0 || copy_metadata(&o->metadata, s->metadata) < 0)
        return -1;
    o->codecpar->codec_tag = 0;  // the output container's own tag for the codec
    o->time_base = s->time_base;
    o->disposition = s->disposition;
    k->map[i] = o->index;
    if (s->codecpar->codec_type != AVMEDIA_TYPE_ATTACHMENT) s->discard = AVDISCARD_DEFAULT;  // its packets
    return 0;
}

int sv_video_keep_setup(sv_video_keep *k, AVFormatContext *out, AVStream *video, int drop_streams, int warn,
                        const char *name, sv_err *e) {
    const AVStream *vin = k->in->streams[k->video];
    int rc = copy_side_data(vin, video);
    if (warn) rotation_check(vin, out->oformat, name);
    if (rc >= 0) rc = copy_metadata(&video->metadata, vin->metadata);
    if (rc >= 0) rc = keep_timecode(k->in, video);
    if (rc >= 0) video->disposition = vin->disposition & ~AV_DISPOSITION_ATTACHED_PIC;
    if (rc < 0 || drop_streams) {
        for (unsigned i = 0; i < k->in->nb_streams; i++) k->in->streams[i]->discard = AVDISCARD_ALL;
        k->eof = 1;
        return rc < 0 ? av_fail(name, rc, "cannot keep the input's stream data", e) : 0;
    }
    const AVOutputFormat *of = out->oformat;
    for (unsigned i = 0; i < k->in->nb_streams; i++) {
        k->in->streams[i]->discard = AVDISCARD_ALL;
        if ((int)i != k->video && stream_kept(k, out, i, warn, name) && add_stream(k, out, i))
            return sv_errf(e, "%s: out of memory", name);
    }
    if ((rc = copy_metadata(&out->metadata, k->in->metadata)) < 0)
        return av_fail(name, rc, "cannot keep the input's metadata", e);
    if (k->in->nb_chapters && !sv_container_holds_chapters(of)) {
        if (warn) sv_warnf("%s: the input's %u chapters are not kept: %s cannot hold them (mkv can)", name,
                           k->in->nb_chapters, of->name);
    } else if ((rc = copy_chapters(out, k->in, k->start)) < 0) {
        return av_fail(name, rc, "cannot keep the input's chapters", e);
    }
    return 0;
}

// Reads the next packet of a kept stream into k->pkt (have_pkt), unless one is held or the input ended.
static int read_ahead(sv_video_keep *k, sv_err *e) {
    while (!k->have_pkt && !k->eof) {
        int rc = av_read_frame(k->in, k->pkt);
        if (rc == AVERROR_EOF) {
            k->eof = 1;
            break;
        }
        if (rc < 0) return av_fail(k->path, rc, "read error (copying its streams)", e);
        if (k->map[k->pkt->stream_index] < 0) {
            av_packet_unref(k->pkt);
            continue;
        }
        k->have_pkt = 1;
        // the input's start taken off, as off the frames' pts (video_write.c)
        const AVRational tb = k->in->streams[k->pkt->stream_index]->time_base;
        const int64_t shift = av_rescale_q(k->start, AV_TIME_BASE_Q, tb);
        if (k->pkt->pts != AV_NOPTS_VALUE) k->pkt->pts -= shift;
        if (k->pkt->dts != AV_NOPTS_VALUE) k->pkt->dts -= shift;
    }
    return 0;
}

// Moves p's dts (and pts, not to fall behind it) up to what the muxer takes after the stream's last one:
// later, or no earlier where the container allows equal ones. A damaged input's timestamps may go back,
// and a coarser time base may merge two; ffmpeg -c copy mends them the same way instead of failing.
static void keep_monotonic(int64_t *last, AVPacket *p, const AVOutputFormat *of) {
    if (p->dts == AV_NOPTS_VALUE) return;
    if (*last != AV_NOPTS_VALUE) {
        const int64_t next = *last + !(of->flags & AVFMT_TS_NONSTRICT);
        if (p->dts < next) {
            if (p->pts != AV_NOPTS_VALUE && p->pts < next) p->pts = next;
            p->dts = next;
        }
    }
    *last = p->dts;
}

int sv_video_keep_until(sv_video_keep *k, AVFormatContext *out, int64_t ts, AVRational tb, const char *name,
                        sv_err *e) {
    for (;;) {
        if (read_ahead(k, e)) return -1;
        if (!k->have_pkt) return 0;
        AVPacket *p = k->pkt;
        const AVStream *is = k->in->streams[p->stream_index];
        const int64_t t = p->dts != AV_NOPTS_VALUE ? p->dts : p->pts;
        if (ts != AV_NOPTS_VALUE && t != AV_NOPTS_VALUE && av_compare_ts(t, is->time_base, ts, tb) > 0) return 0;
        AVStream *os = out->streams[k->map[p->stream_index]];
        av_packet_rescale_ts(p, is->time_base, os->time_base);
        keep_monotonic(&k->last_dts[p->stream_index], p, out->oformat);
        p->stream_index = os->index;
        p->pos = -1;
        k->have_pkt = 0;
        const int rc = av_interleaved_write_frame(out, p);  // takes the packet's data
        if (rc < 0) return av_fail(name, rc, "write failed (a copied stream)", e);
    }
}

void sv_video_keep_free(sv_video_keep *k) {
    if (!k) return;
    av_packet_free(&k->pkt);
    avformat_close_input(&k->in);
    free(k->map);
    free(k->last_dts);
    free(k->path);
    free(k);
}
