// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// video_formats.h: the video containers and encoders slimvsr writes, and which go together. Each fact is
// stated once, in two tables (video_formats.c): a container's extension, libavformat muxer and default
// encoder; an encoder's containers, its CRF range and default, its presets and its default pixel format.
// Pure data and lookups (no libav): frames.c picks the container, video_write.c the encoder and its
// options, and the refusals of an impossible pair come from here, before any output exists.
#pragma once
#include "core/error.h"
#include "io/frames.h"

typedef struct {
    const char *name;           // --format NAME and the extension without its dot: "mkv"
    const char *muxer;          // libavformat's name ("matroska"); --format takes it too
    const char *codec;          // the default encoder
    const char *fallback;       // tried when this libavcodec lacks codec (with a warning), or NULL
} sv_container;

typedef struct {
    const char *name;           // libavcodec's encoder name: "libx264"
    unsigned containers;        // bit i: sv_containers()[i] takes it
    int crf_max;                // --crf takes 0..crf_max; 0: this encoder has no CRF
    int crf_default;            // used without --crf; -1: the encoder's own default
    const char *presets;        // the --preset values, space-separated; NULL: none
    const char *preset_default; // used without --preset; NULL: the encoder's own
    const char *pix_fmts;       // the pixel formats it is limited to (space-separated), when libavcodec does
                                // not list them itself (wrapped_avframe: what a y4m stream carries); NULL: libav's list
    const char *pix_fmt_default;  // NULL: yuv420p (yuv420p10le for deep input) when the encoder takes it
    int close_needs_frame;      // 1: the encoder hangs when closed before it was given a frame
    const char *quiet;          // "option=value" that keeps the encoder's own log off stderr, or NULL
} sv_codec_info;

// The containers, and their count in *n.
const sv_container *sv_containers(int *n);
// The container whose name, muxer or extension (".mkv", any case) is s; NULL when none.
const sv_container *sv_container_find(const char *s);
// The container a path names by its extension (any case): NULL when its extension is none of them.
const sv_container *sv_container_of_path(const char *path);
// The container an output writes: a video file's by its extension; standard output's ("-") the format asked
// for (o->format, default y4m). NULL for a folder of PNG frames, or a format that is none of the table's.
const sv_container *sv_output_container(const char *path, const sv_writer_opts *o);
// The table's entry for an encoder name; NULL when slimvsr does not write it.
const sv_codec_info *sv_codec_info_find(const char *name);
// 1 when the encoder may go into the container.
int sv_codec_fits(const sv_codec_info *c, const sv_container *k);
// "a, b or c": the encoders the table puts in container k (for messages).
const char *sv_codecs_for(const sv_container *k, char *buf, int n);
// The container names ("mp4, mkv, ..."), for messages.
const char *sv_container_names(char *buf, int n);
// 1 when word is one of the space-separated words of list.
int sv_word_in(const char *word, const char *list);

// Checks what the table can: the encoder is one slimvsr writes and fits the container; a --crf is in the
// encoder's range; a --preset is one of its presets. Returns the encoder's entry (the container's default
// when o->encoder is NULL), or NULL with a message naming `what` and the value at fault.
const sv_codec_info *sv_video_choice_check(const char *what, const sv_container *k, const sv_writer_opts *o,
                                           sv_err *e);
