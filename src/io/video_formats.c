// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// video_formats.c: the container and encoder tables of video_formats.h, and the checks they answer.
#include "io/video_formats.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

enum { MP4, MKV, MOV, WEBM, Y4M };
#define IN(k) (1u << (k))

// Index = the enum above. mp4/mov: H.264 by default, MPEG-4 Part 2 when libavcodec lacks libx264 (FFmpeg
// has no built-in H.264 encoder); mkv: FFV1, lossless; y4m: raw frames (libavformat's yuv4mpeg muxer takes
// them as wrapped AVFrames).
static const sv_container containers[] = {
    [MP4] = {"mp4", "mp4", "libx264", "mpeg4"},
    [MKV] = {"mkv", "matroska", "ffv1", NULL},
    [MOV] = {"mov", "mov", "libx264", "mpeg4"},
    [WEBM] = {"webm", "webm", "libvpx-vp9", NULL},
    [Y4M] = {"y4m", "yuv4mpegpipe", "wrapped_avframe", NULL},
};

#define X26X_PRESETS "ultrafast superfast veryfast faster fast medium slow slower veryslow placebo"

// Which container takes which encoder: what libavformat 59's muxers accept (AV1 only in MP4 among the
// ISO formats; ProRes and FFV1 in QuickTime, not MP4; WebM: VP9 and AV1 only). CRF ranges: the encoders'
// own scales (x264/x265: 0-51, VP9/AV1: 0-63). libx264's default CRF is 17 (visually lossless for most
// content; x264's own default is 23). ProRes codes only 4:2:2 and 4:4:4 at 10 bits.
static const sv_codec_info codecs[] = {
    {"libx264", IN(MP4) | IN(MKV) | IN(MOV), 51, 17, X26X_PRESETS, "medium", NULL, NULL, 0, NULL},
    {"libx265", IN(MP4) | IN(MKV) | IN(MOV), 51, -1, X26X_PRESETS, NULL, NULL, NULL, 0,
     "x265-params=log-level=error"},  // x265 logs by itself, past av_log
    // SVT-AV1 1.4 waits forever when ended before its first frame (libavcodec 59 sends no EOS otherwise)
    {"libsvtav1", IN(MP4) | IN(MKV) | IN(WEBM), 63, -1, "0 1 2 3 4 5 6 7 8 9 10 11 12 13", NULL, NULL, NULL, 1, NULL},
    {"libaom-av1", IN(MP4) | IN(MKV) | IN(WEBM), 63, -1, NULL, NULL, NULL, NULL, 0, NULL},
    {"libvpx-vp9", IN(MP4) | IN(MKV) | IN(WEBM), 63, -1, NULL, NULL, NULL, NULL, 0, NULL},
    {"prores_ks", IN(MKV) | IN(MOV), 0, -1, NULL, NULL, NULL, "yuv422p10le", 0, NULL},
    {"ffv1", IN(MKV) | IN(MOV), 0, -1, NULL, NULL, NULL, "bgr0", 0, NULL},  // RGB kept exactly
    {"mpeg4", IN(MP4) | IN(MKV) | IN(MOV), 0, -1, NULL, NULL, NULL, NULL, 0, NULL},
    {"wrapped_avframe", IN(Y4M), 0, -1, NULL, NULL,
     "yuv420p yuv422p yuv444p gray yuv420p10le yuv422p10le yuv444p10le gray10le", NULL, 0, NULL},
};
#define N_CONTAINERS (int)(sizeof containers / sizeof *containers)
#define N_CODECS (int)(sizeof codecs / sizeof *codecs)

const sv_container *sv_containers(int *n) {
    *n = N_CONTAINERS;
    return containers;
}

const sv_container *sv_container_find(const char *s) {
    if (s[0] == '.') s++;
    for (int i = 0; i < N_CONTAINERS; i++)
        if (!strcasecmp(s, containers[i].name) || !strcasecmp(s, containers[i].muxer)) return &containers[i];
    return NULL;
}

const sv_container *sv_container_of_path(const char *path) {
    const char *slash = strrchr(path, '/'), *base = slash ? slash + 1 : path, *dot = strrchr(base, '.');
    if (!dot || dot == base) return NULL;
    for (int i = 0; i < N_CONTAINERS; i++)
        if (!strcasecmp(dot + 1, containers[i].name)) return &containers[i];
    return NULL;
}

const sv_container *sv_output_container(const char *path, const sv_writer_opts *o) {
    const sv_output_kind kind = sv_frames_output_kind(path);
    if (kind == SV_OUTPUT_VIDEO) return sv_container_of_path(path);
    if (kind == SV_OUTPUT_STREAM) return sv_container_find(o->format ? o->format : containers[Y4M].name);
    return NULL;
}

const sv_codec_info *sv_codec_info_find(const char *name) {
    for (int i = 0; i < N_CODECS; i++)
        if (!strcmp(name, codecs[i].name)) return &codecs[i];
    return NULL;
}

int sv_codec_fits(const sv_codec_info *c, const sv_container *k) {
    return (c->containers >> (k - containers)) & 1u;
}

// Appends s to buf (of n bytes), with ", " or " or " before it when buf is not empty.
static void append(char *buf, int n, const char *s, int last) {
    const size_t used = strlen(buf);
    snprintf(buf + used, (size_t)n - used, "%s%s", used ? (last ? " or " : ", ") : "", s);
}

const char *sv_codecs_for(const sv_container *k, char *buf, int n) {
    int fit[N_CODECS], m = 0;
    for (int i = 0; i < N_CODECS; i++)
        if (sv_codec_fits(&codecs[i], k)) fit[m++] = i;
    buf[0] = 0;
    for (int i = 0; i < m; i++) append(buf, n, codecs[fit[i]].name, i == m - 1);
    return buf;
}

const char *sv_container_names(char *buf, int n) {
    buf[0] = 0;
    for (int i = 0; i < N_CONTAINERS; i++) append(buf, n, containers[i].name, i == N_CONTAINERS - 1);
    return buf;
}

int sv_word_in(const char *word, const char *list) {
    const size_t n = strlen(word);
    for (const char *p = list; n && (p = strstr(p, word)); p += n)
        if ((p == list || p[-1] == ' ') && (p[n] == ' ' || !p[n])) return 1;
    return 0;
}

const sv_codec_info *sv_video_choice_check(const char *what, const sv_container *k, const sv_writer_opts *o,
                                           sv_err *e) {
    char list[256];
    const char *name = o->encoder ? o->encoder : k->codec;
    const sv_codec_info *c = sv_codec_info_find(name);
    if (!c) {
        sv_errf(e, "%s: codec '%s' is not one slimvsr writes (%s takes %s)", what, name, k->name,
                sv_codecs_for(k, list, sizeof list));
        return NULL;
    }
    if (!sv_codec_fits(c, k)) {
        sv_errf(e, "%s: codec '%s' cannot go in a %s file (%s takes %s)", what, name, k->name, k->name,
                sv_codecs_for(k, list, sizeof list));
        return NULL;
    }
    if (o->crf_set && !c->crf_max) {
        sv_errf(e, "%s: crf does not apply to %s (it has no constant-quality mode)", what, name);
        return NULL;
    }
    if (o->crf_set && (o->crf < 0 || o->crf > c->crf_max)) {
        sv_errf(e, "%s: crf %d is out of %s's range 0-%d", what, o->crf, name, c->crf_max);
        return NULL;
    }
    if (o->preset && !c->presets) {
        sv_errf(e, "%s: preset does not apply to %s (it has no presets)", what, name);
        return NULL;
    }
    if (o->preset && !sv_word_in(o->preset, c->presets)) {
        sv_errf(e, "%s: preset '%s' is not one of %s's (%s)", what, o->preset, name, c->presets);
        return NULL;
    }
    return c;
}
