// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// video_holds.c: what an output container can hold of a video input besides its pictures (frames_internal.h),
// for video_keep.c. A codec is held when the muxer lists it (avformat_query_codec) and the muxer's own set-up
// takes a stream of it (a trial muxer with that stream alone, writing nowhere): some codecs are listed but
// refused at set-up (FLAC in MP4 is "experimental" in libavformat 59), and a refusal there would refuse the
// whole job instead of leaving one stream out.
#include <libavformat/avformat.h>
#include <string.h>

#include "io/frames_internal.h"

// Containers named when one cannot hold a stream, in the order they are tried: extension, muxer.
static const char *const holders[][2] = {{"mkv", "matroska"}, {"mp4", "mp4"}, {"mov", "mov"}, {"webm", "webm"}};

#if LIBAVFORMAT_VERSION_MAJOR >= 61
static int discard(void *opaque, const uint8_t *buf, int n) {
#else
static int discard(void *opaque, uint8_t *buf, int n) {
#endif
    return n;
}

// As a file would seek, with nothing in it (MP4's set-up refuses an output it cannot seek).
static int64_t nowhere(void *opaque, int64_t offset, int whence) { return whence & AVSEEK_SIZE ? 0 : offset; }

// Whether the muxer's set-up (avformat_init_output) takes one stream with these parameters.
static int trial_takes(const AVOutputFormat *of, const AVCodecParameters *p, AVRational tb, int strict) {
    AVFormatContext *t = NULL;
    if (avformat_alloc_output_context2(&t, of, NULL, NULL) < 0) return 0;
    unsigned char *buf = av_malloc(4096);
    AVIOContext *io = buf ? avio_alloc_context(buf, 4096, 1, NULL, NULL, discard, nowhere) : NULL;
    AVStream *s = avformat_new_stream(t, NULL);
    int ok = io && s && avcodec_parameters_copy(s->codecpar, p) >= 0;
    if (ok) {
        s->codecpar->codec_tag = 0;
        s->time_base = tb;
        t->strict_std_compliance = strict;
        t->pb = io;
        t->flags |= AVFMT_FLAG_CUSTOM_IO;
        ok = avformat_init_output(t, NULL) >= 0;
    }
    avformat_free_context(t);  // with the muxer's own state (deinit)
    if (io) av_freep(&io->buffer);
    else av_free(buf);
    avio_context_free(&io);
    return ok;
}

int sv_container_holds(const AVOutputFormat *of, const AVCodecParameters *p, AVRational tb, int strict) {
    return avformat_query_codec(of, p->codec_id, strict) == 1 && trial_takes(of, p, tb, strict);
}

const char *sv_container_holder(const AVOutputFormat *of, const AVCodecParameters *p, AVRational tb, int strict) {
    for (size_t i = 0; i < sizeof holders / sizeof *holders; i++) {
        const AVOutputFormat *h = av_guess_format(holders[i][1], NULL, NULL);
        if (h && strcmp(h->name, of->name) && sv_container_holds(h, p, tb, strict)) return holders[i][0];
    }
    return NULL;
}

int sv_container_holds_rotation(const AVOutputFormat *of) {
    if (!strcmp(of->name, "mp4") || !strcmp(of->name, "mov")) return 1;
    // Matroska stores a display matrix from libavformat 60.16 (FFmpeg 6.1) on
    return LIBAVFORMAT_VERSION_INT >= AV_VERSION_INT(60, 16, 100) &&
           (!strcmp(of->name, "matroska") || !strcmp(of->name, "webm"));
}

int sv_container_holds_chapters(const AVOutputFormat *of) {
    return !strcmp(of->name, "matroska") || !strcmp(of->name, "webm") || !strcmp(of->name, "mp4") ||
           !strcmp(of->name, "mov");
}
