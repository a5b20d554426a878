// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// frames_internal.h: the reader and writer structs behind frames.h, and the two kinds of source and sink
// they dispatch to (a folder of PNG or JPEG frames: frame_folder.c; a video file: video_read.c,
// video_write.c).
#pragma once
#include <libavformat/avformat.h>

#include "io/atomic_file.h"
#include "io/frames.h"
#include "io/video_formats.h"

typedef struct sv_video_in sv_video_in;

// The kinds of frame file a folder may hold (one per folder): PNG (io/png_io.h), JPEG (io/jpeg_io.h), and
// WebP, TIFF, BMP (io/image_av.h: libavcodec's decoders).
typedef enum { SV_FRAME_PNG, SV_FRAME_JPEG, SV_FRAME_WEBP, SV_FRAME_TIFF, SV_FRAME_BMP, SV_FRAME_KINDS } sv_frame_kind;
typedef struct sv_video_out sv_video_out;
typedef struct sv_video_partial sv_video_partial;

struct sv_frame_reader {
    char path[4096];
    int w, h, count;
    int fps_num, fps_den;  // 0/0 when unknown
    int depth;             // bits per sample (sv_frames_depth)
    // folder of frames
    char **names;  // file names in sv_frames_name_cmp order
    int n_names, next;
    int kind;   // the frames' kind: sv_frame_kind
    int alpha;  // a folder whose first frame carries alpha (sv_frames_has_alpha)
    const char *last_name;
    // video file
    sv_video_in *video;
};

struct sv_frame_writer {
    sv_atomic out;  // the temporary file or folder, published by sv_atomic_commit; standard output:
                    // out.f is stdout and out.final_path names it, nothing is registered or renamed
    int stream;     // 1: standard output
    int w, h;
    int channels;         // a folder's frames: 3 (RGB) or 4 (RGBA: sv_writer_opts.alpha)
    int bits;             // a folder's frames: 8 or 16 bits per sample (sv_writer_opts.bits)
    long long frames;     // frames written so far (a continued partial output's included: sv_frames_writer_seek)
    sv_video_out *video;  // NULL for folder output
    sv_video_partial *later;  // a video output written through its partial folder (out), or NULL
};

// Folder input: r->path is set; fills w, h, count and the name list.
int sv_folder_reader_open(sv_frame_reader *r, sv_err *e);
int sv_folder_reader_read(sv_frame_reader *r, unsigned char *rgb, sv_err *e);
void sv_folder_reader_free(sv_frame_reader *r);
// The alpha plane of the folder's frame name (sv_frames_read_alpha).
int sv_folder_reader_alpha(const sv_frame_reader *r, const char *name, void *a, int bits, sv_err *e);
// The next frame at 16 bits (sv_frames_read16).
int sv_folder_reader_read16(sv_frame_reader *r, uint16_t *rgb, sv_err *e);
// Folder output: writes one PNG into wr->out's temporary folder, fsynced (a .jpg/.jpeg name as .png).
int sv_folder_writer_write(sv_frame_writer *wr, const void *rgb, const char *name, sv_err *e);
// One PNG file at path (shown in messages), fsynced; a file already there is an error unless again (a
// frame a continued job writes again: replaced). On failure nothing is left at path.
int sv_frame_file_write(const char *path, const char *shown, const void *pix, int w, int h, int channels, int bits,
                        int again, sv_err *e);

// Video input. Decodes the first frame at once so that *w, *h are the pictures' true size. path "-":
// standard input. *depth: bits per sample of the decoded pictures.
sv_video_in *sv_video_in_open(const char *path, int *w, int *h, int *count, int *fps_num, int *fps_den,
                              int *depth, sv_err *e);
int sv_video_in_read(sv_video_in *v, unsigned char *rgb, sv_err *e);
// What sv_video_in_read_as makes of the next picture: RGB (w * h * 3 samples, interleaved) or its alpha
// plane (w * h samples; 255 / 65535 where the picture has none), at 8 bits (bytes) or 16 (uint16_t).
typedef enum { SV_PX_RGB8, SV_PX_RGB16, SV_PX_ALPHA8, SV_PX_ALPHA16 } sv_px;
int sv_video_in_read_as(sv_video_in *v, void *dst, sv_px px, sv_err *e);
// The pts of the picture sv_video_in_read returned last, in its stream's time base (AV_NOPTS_VALUE: none).
int64_t sv_video_in_last_pts(const sv_video_in *v);
// Audio, subtitle and data streams the input holds beside the video it reads.
int sv_video_in_others(const sv_video_in *v);
// 1 when the first decoded picture's pixel format carries alpha (sv_video_in_read_as reads it).
int sv_video_in_has_alpha(const sv_video_in *v);
void sv_video_in_close(sv_video_in *v);

// The name of a path in messages: "standard input" / "standard output" for "-", else the path itself.
const char *sv_stream_name(const char *path, int output);

// Video output into f: an sv_atomic temporary (seekable), standard output (stream: written in order,
// never rewound; MP4/MOV fragmented), or NULL: nothing is written (sv_frames_output_check starts the
// encoder and the muxer this way to see them refuse). name names the output in messages. The options are
// checked against io/video_formats.h's table first.
sv_video_out *sv_video_out_open(FILE *f, int stream, const char *name, const sv_container *k,
                                const sv_writer_opts *o, int w, int h, int fps_num, int fps_den, sv_err *e);
// pts: in the kept input's time base (sv_writer_opts.keep_from), or SV_NO_PTS.
int sv_video_out_write(sv_video_out *v, const unsigned char *rgb, int64_t pts, sv_err *e);
// Drains the encoder and writes the trailer (the caller then commits the file).
int sv_video_out_finish(sv_video_out *v, sv_err *e);
void sv_video_out_free(sv_video_out *v);
const char *sv_video_out_codec(const sv_video_out *v);

// What a video output keeps of a video input (video_keep.c), from a demuxer of its own on the input file.
typedef struct sv_video_keep sv_video_keep;
typedef struct {
    enum AVColorPrimaries primaries;
    enum AVColorTransferCharacteristic trc;
    enum AVColorSpace space;
    enum AVColorRange range;
    AVRational time_base;  // the video stream's: the pts given to sv_frames_write_at count in it
    int64_t start;         // the input file's start, in time_base: taken off every timestamp (as ffmpeg does)
    AVRational sar;        // the pixels' aspect ratio (0/1: unknown), the same after upscaling
} sv_video_facts;
sv_video_keep *sv_video_keep_open(const char *input, sv_err *e);
// The input video stream's colour tags, time base and start.
const sv_video_facts *sv_video_keep_facts(const sv_video_keep *k);
// Before the header is written: the video stream's side data (display matrix, HDR) and metadata onto video;
// unless drop_streams, the audio, subtitle, data (and, in Matroska, attachment) streams the container takes
// as new streams of out (one warning for each it cannot take, when warn), the global metadata and the
// chapters. name names the output in messages.
int sv_video_keep_setup(sv_video_keep *k, AVFormatContext *out, AVStream *video, int drop_streams, int warn,
                        const char *name, sv_err *e);
// Copies the kept streams' packets whose dts is at most ts (in tb; AV_NOPTS_VALUE: all that are left) into
// out, interleaved (av_interleaved_write_frame).
int sv_video_keep_until(sv_video_keep *k, AVFormatContext *out, int64_t ts, AVRational tb, const char *name,
                        sv_err *e);
void sv_video_keep_free(sv_video_keep *k);

// What an output container can hold (video_holds.c). strict: the muxer's strict_std_compliance.
// A stream of these parameters and time base: the muxer lists the codec and its set-up takes the stream.
int sv_container_holds(const AVOutputFormat *of, const AVCodecParameters *p, AVRational tb, int strict);
// The extension of a container (mkv, mp4, mov, webm; not of) that holds such a stream, or NULL.
const char *sv_container_holder(const AVOutputFormat *of, const AVCodecParameters *p, AVRational tb, int strict);
int sv_container_holds_rotation(const AVOutputFormat *of);
int sv_container_holds_chapters(const AVOutputFormat *of);

// A video output written through a partial folder (video_partial.c; sv_writer_opts.partial): each frame a
// PNG file there, %08d.png of its index, and its timestamp at its index in SV_VIDEO_PARTIAL_PTS; the video
// is encoded from them once every frame is there. dir: the partial folder (it exists); path: the video;
// o: the writer's options (its strings are not copied: they must outlive the writer).
#define SV_VIDEO_PARTIAL_PTS ".slimvsr-pts"
sv_video_partial *sv_video_partial_open(const char *dir, const char *path, const sv_container *k,
                                        const sv_writer_opts *o, int w, int h, int fps_num, int fps_den, sv_err *e);
// Writes frame index (its PNG file, then its timestamp), both fsynced.
int sv_video_partial_write(sv_video_partial *p, const unsigned char *rgb, long long index, int64_t pts, sv_err *e);
// Encodes frames 0..n-1 into the video (under a temporary name, renamed onto path: io/atomic_file.h), then
// removes those frames and the timestamps from the folder (the folder itself and any other file stay).
// On failure the frames stay, for a later job to encode again.
int sv_video_partial_finish(sv_video_partial *p, long long n, sv_err *e);
// The encoder the video will have.
const char *sv_video_partial_codec(const sv_video_partial *p);
void sv_video_partial_free(sv_video_partial *p);
