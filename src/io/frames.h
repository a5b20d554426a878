// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// frames.h: streaming frame input and output. Frames cross this API as 8-bit RGB, interleaved, row-major:
// h * w * 3 bytes, pixel (y, x) channel c at rgb[(y * w + x) * 3 + c].
//
// Input:  a folder of PNG, JPEG, WebP, TIFF or BMP frames, or any video file libavformat opens (decoded with libavcodec,
//         converted to RGB24 with swscale).
// Output: a video file by its extension (io/video_formats.h: .mp4/.mov -> H.264 (libx264, CRF 17),
//         .mkv -> FFV1 (lossless RGB), .webm -> VP9, .y4m -> raw frames; the encoder, CRF, preset and pixel
//         format can be chosen), "-": standard output (a y4m stream, or the container of sv_writer_opts
//         .format), any other path -> a folder of PNG frames. A file or folder is written under a
//         temporary name beside the final path and only appears under the final name in
//         sv_frames_writer_finish (see io/atomic_file.h).
// "-" as an input or output path is standard input or output (sv_path_is_stream).
//
// Readers and writers hold one frame at a time (plus what the codec keeps internally). Every failure
// returns -1 or NULL with a one-line message in e that names the file.
#pragma once
#include <stdint.h>

#include "core/error.h"
#include "io/paths.h"

// Largest frame side accepted anywhere (input or output).
#define SV_FRAME_MAX_SIDE 16384

// Checks a frame size before anything is allocated: 1 <= w, h <= SV_FRAME_MAX_SIDE and w * h * 3 fits in a
// size_t. On failure the message names `name`. Returns 0 or -1.
int sv_frame_size_check(const char *name, long long w, long long h, sv_err *e);

// ---- reading ----

typedef struct sv_frame_reader sv_frame_reader;

// path: a folder of frames, or a video file. A folder's frames are its files (not starting with '.') whose
// name ends in ".png", or in ".jpg" / ".jpeg" (any case; io/png_io.h, io/jpeg_io.h say how they decode);
// other files are ignored. They are read in sv_frames_name_cmp order (1.png, 2.png, ..., 10.png), with a
// warning (core/warn.h) when that differs from the names' byte order (numbers of mixed widths). A folder
// holds one kind: PNG and JPEG frames together are refused (which comes first across kinds is anyone's
// guess), naming one frame of each; so are two JPEG frames whose names differ only in the extension
// (a.jpg, a.JPEG), which would be written under one name (sv_frames_write). All frames have the size of
// the first; another size is an error of sv_frames_read. For a video the first frame is decoded here, so
// that width and height are those of the decoded pictures; a later frame of another size is an error too.
// "-": standard input, read as a video stream (y4m, or anything libavformat can probe from a pipe).
sv_frame_reader *sv_frames_open(const char *path, sv_err *e);
// The order of frame and clip names ("natural" order): runs of ASCII digits compare as numbers (leading
// zeros aside), other bytes as unsigned bytes (a digit run ranks where the digits do: after '.', before
// 'A'); names equal that way (a01, a1) fall back to strcmp, so the order is total. 1 < 2 < 10 < a9 < a10;
// zero-padded names (0001, 0002, 0010) keep their strcmp order. Returns <0, 0 (equal strings) or >0.
int sv_frames_name_cmp(const char *a, const char *b);
// 1 when a file name is taken for a video where slimvsr lists clips (training data, eval, train-flow): by
// its extension, any case: .mp4 .mkv .avi .mov .webm .mpg .mpeg .m4v .wmv .flv .ts .mts .m2ts .y4m .ogv
// .3gp .vob. (sv_frames_open itself opens any file libavformat can.)
int sv_frames_is_video_name(const char *name);
// 1 when a file name is taken for a PNG frame: it ends in ".png", any case, after at least one character.
int sv_frames_is_png_name(const char *name);
// 1 when a file name is taken for a JPEG frame: it ends in ".jpg" or ".jpeg", any case, after at least one
// character.
int sv_frames_is_jpeg_name(const char *name);
// 1 when a file name is taken for a frame of a folder: a PNG or a JPEG name, or .webp, .tif, .tiff, .bmp (any
// case; io/image_av.h).
int sv_frames_is_frame_name(const char *name);
// The kinds of frame file a folder may hold, as messages name them.
#define SV_FRAME_KINDS_TEXT "PNG, JPEG, WebP, TIFF or BMP"

// 1 when r reads a folder of frames whose first frame carries alpha (PNG: an alpha channel, or transparency
// by a tRNS chunk, io/png_io.h; WebP, TIFF: a pixel format with alpha), 0 otherwise. Frames are still read as RGB; their alpha, by sv_frames_read_alpha.
int sv_frames_has_alpha(const sv_frame_reader *r);
// The alpha plane (h * w samples, row-major; bits 8: bytes, 16: uint16_t; fully opaque for a frame without
// alpha) of the frame named name (a name sv_frames_last_name gave) of r's folder; any time before
// sv_frames_close, in any order. Returns 0, or -1 with a message naming the file.
int sv_frames_read_alpha(const sv_frame_reader *r, const char *name, void *a, int bits, sv_err *e);
// Bits per sample of the input: a video's decoded pixel format (10 for yuv420p10le); for a folder 16 when
// its first frame is a 16-bit PNG or TIFF, else 8. (Frames cross this API as 8-bit RGB, but for sv_frames_read16;
// a writer takes it to choose a deeper default pixel format.)
int sv_frames_depth(const sv_frame_reader *r);
int sv_frames_width(const sv_frame_reader *r);
int sv_frames_height(const sv_frame_reader *r);
// 1 when r reads a video file, 0 for a folder of frames.
int sv_frames_is_video(const sv_frame_reader *r);
// How many audio, subtitle and data streams a video holds beside the pictures read (0 for a folder).
int sv_frames_other_streams(const sv_frame_reader *r);
// Exact for a folder; for a video the container's frame count, an estimate from its duration, or -1.
int sv_frames_count(const sv_frame_reader *r);
// Video: average frame rate (0 when the container gives none). Folder: 0 (unknown).
double sv_frames_fps(const sv_frame_reader *r);
// The frame rate as a fraction, for writing (NTSC-like rates snap to 24000/1001, 30000/1001, ...).
// Returns 0 and sets *num/*den, or returns -1 and sets 0/0 when unknown (folders, streams without a rate).
int sv_frames_fps_rational(const sv_frame_reader *r, int *num, int *den);
// Reads the next frame into rgb (w * h * 3 bytes). Returns 1 when a frame was read, 0 at the end, -1 on
// error (a frame of another size than the first, a corrupt or truncated PNG or JPEG, a decoding error).
int sv_frames_read(sv_frame_reader *r, unsigned char *rgb, sv_err *e);
// The same at 16 bits (h * w * 3 uint16_t), for a folder of depth 16 (sv_frames_depth): 16-bit PNG or TIFF frames
// as they are, narrower ones widened (v * 257 for 8 bits). Any other input fails.
int sv_frames_read16(sv_frame_reader *r, uint16_t *rgb, sv_err *e);
// File name (without folder) of the frame just read from a folder; NULL for a video or before a read.
// The string stays valid until sv_frames_close.
const char *sv_frames_last_name(const sv_frame_reader *r);
// The timestamp of the frame just read from a video (its pts in the video stream's time base), SV_NO_PTS for
// a folder or a frame without one.
int64_t sv_frames_last_pts(const sv_frame_reader *r);
// File name (without folder) of a folder's first frame (in reading order); NULL for a video. Valid until
// sv_frames_close.
const char *sv_frames_first_name(const sv_frame_reader *r);
void sv_frames_close(sv_frame_reader *r);

// ---- writing ----

// What an output path becomes: "-" (standard output), a video by its extension (a container of
// io/video_formats.h), another video or image extension (.avi, .png, ...: refused, it would otherwise become
// a folder with a misleading name), or anything else (and any path ending in '/'): a folder of PNG frames.
typedef enum { SV_OUTPUT_FOLDER, SV_OUTPUT_VIDEO, SV_OUTPUT_STREAM, SV_OUTPUT_REFUSED } sv_output_kind;
sv_output_kind sv_frames_output_kind(const char *path);

typedef struct sv_frame_writer sv_frame_writer;

// How to write (all zero: the defaults). A folder takes only replace (and encoder "png"): the video
// options set for a folder are refused.
//   encoder:  an encoder of io/video_formats.h's table that fits the container (NULL: the container's
//             default: libx264 for .mp4/.mov, or mpeg4 with a warning (core/warn.h) when this libavcodec
//             lacks libx264; ffv1 for .mkv; libvpx-vp9 for .webm; wrapped_avframe (raw frames) for .y4m);
//             "png" for a folder.
//   crf:      constant-quality level when crf_set, in the encoder's range (libx264 default: 17).
//   preset:   the encoder's speed preset (libx264: ultrafast ... placebo, default medium; libsvtav1: 0-13).
//   pix_fmt:  libav's name ("yuv420p", "yuv420p10le", "yuv444p", "rgb24", ...), one the encoder takes
//             (NULL: yuv420p, or yuv420p10le when depth > 8 and the encoder takes it; yuv444p for odd
//             sizes; ffv1: bgr0, lossless RGB; prores_ks: yuv422p10le). A 4:2:0 or 4:2:2 format needs even
//             sides.
//   format:   the container of standard output ("-"): a name or muxer of video_formats.h (NULL: y4m);
//             refused for a file, whose extension names it. MP4 and MOV are written fragmented there
//             (a stream cannot be rewound to write the index at the start).
//   depth:    bits per sample of the input (sv_frames_depth; 0: 8), for the default pixel format.
//   keep_from: a video file (the input) whose pictures these are: a video output (a file or standard
//             output) keeps its video stream's timestamps (sv_frames_write_at; not in y4m, whose frames have
//             one rate), display matrix (rotation), HDR side data and colour tags (primaries, transfer,
//             matrix, range: the RGB frames are converted back with its matrix), and copies its audio,
//             subtitle and data streams (packets, not re-encoded), chapters and global metadata; a stream
//             (or a rotation) the container cannot hold is left out with a warning (core/warn.h) naming it
//             and a container that can. NULL: none of this (frames at the frame rate, BT.709 tags).
//   drop_streams: with keep_from, copy no streams, chapters or metadata (timing, rotation, colour stay).
//   partial:  a folder output is written in the visible folder "PATH.partial" (io/atomic_file.h:
//             SV_ATOMIC_PARTIAL), which a signal or a kill leaves in place and the next writer of PATH
//             continues (its frames stay; a frame written again replaces its file). A video file output
//             too: its frames go there as lossless PNG files (%08d.png of the frame's index) with their
//             timestamps (.slimvsr-pts), and sv_frames_writer_finish encodes the video from them (with
//             the options above, the kept streams included: the options' strings must outlive the writer),
//             publishes it, then removes those files, leaving the folder to the caller; a failed encode
//             leaves them. Standard output ignores it.
//   alpha:    the frames are RGBA (h * w * 4 samples, interleaved), written as RGBA PNG; a folder output
//             only (a video or standard output refuses it).
//   bits:     16: the frames' samples are uint16_t (native byte order), written as 16-bit PNG; a folder
//             output only. 0 or 8: bytes.
//   encoded:  a video written through its partial folder (partial): called with encoded_ud before its
//             encode (done 0) and after each frame encoded (done of total); NULL: no reports.
//   replace:  an existing output may be replaced (a file; a folder only when slimvsr wrote it: see
//             io/atomic_file.h). Without it an existing output (but an empty folder) is refused when the
//             writer is created.
typedef struct {
    const char *encoder;
    int replace;
    int crf_set, crf;
    const char *preset, *pix_fmt, *format;
    int depth;
    const char *keep_from;
    int drop_streams;
    int partial;
    int alpha;
    int bits;
    void (*encoded)(void *ud, long long done, long long total);
    void *encoded_ud;
} sv_writer_opts;

// Checks everything about an output that can be checked before it exists: its kind, the options above
// (the table's pairs, then libav's: the encoder is in this libavcodec, it takes the pixel format, and the
// container takes it, by starting the encoder and the muxer on nothing), the frame size and rate, and a
// file or folder that is in the way. Creates nothing. Returns 0 or -1 with a message naming the output and
// the value at fault.
int sv_frames_output_check(const char *path, int w, int h, int fps_num, int fps_den, const sv_writer_opts *o,
                           sv_err *e);
// Runs sv_frames_output_check, then creates the output (so a refusal leaves nothing behind); w, h is the frame
// size, fps_num/fps_den the frame rate for video (0 -> 25/1; it is ignored for folders). Also fails when the
// output exists (but an empty folder), or its directory is missing or not writable.
// H.264 needs even sizes for 4:2:0; an odd width or height is encoded as 4:4:4 (High 4:4:4 profile, which
// fewer players support) instead of failing; mpeg4 needs an even width and height.
sv_frame_writer *sv_frames_create(const char *path, int w, int h, int fps_num, int fps_den, sv_err *e);
// The same as sv_frames_create with options (NULL: the defaults, as sv_frames_create).
sv_frame_writer *sv_frames_create_with(const char *path, int w, int h, int fps_num, int fps_den,
                                       const sv_writer_opts *o, sv_err *e);
// Writes one frame (RGB; RGBA with sv_writer_opts.alpha; uint16_t samples with its bits 16). name: file name for folder output (a plain name, no '/', not starting with '.', ending
// in .png; "%08d.png" of the frame index when NULL); a name ending in .jpg or .jpeg is written with .png
// instead (a JPEG folder's frame 7.jpg becomes 7.png: outputs are always PNG); a name used twice is an
// error. Ignored for video.
int sv_frames_write(sv_frame_writer *wr, const void *rgb, const char *name, sv_err *e);
// No timestamp (sv_frames_last_pts, sv_frames_write_at).
#define SV_NO_PTS INT64_MIN
// The same with the frame's timestamp: pts of the input frame (sv_frames_last_pts) in the time base of
// sv_writer_opts.keep_from's video stream. A video output that keeps its input's timing writes the frame at
// that time (SV_NO_PTS, or one not after the previous frame's: one frame duration after the previous);
// other outputs ignore it.
int sv_frames_write_at(sv_frame_writer *wr, const void *rgb, const char *name, int64_t pts, sv_err *e);
// Flushes the encoder, writes the trailer, fsyncs and renames the output onto its final name (standard
// output: flushes it). Frees wr, on success and on failure (a failure removes the temporary output).
int sv_frames_writer_finish(sv_frame_writer *wr, sv_err *e);
// Removes the temporary output and frees wr. NULL is allowed.
void sv_frames_writer_abort(sv_frame_writer *wr);
// The partial folder of a writer created with sv_writer_opts.partial (*resumed: 1 when it existed before),
// or NULL. The caller may keep its own files there while the writer is open, names starting with '.'
// (they are published with the frames unless removed before sv_frames_writer_finish).
const char *sv_frames_writer_partial(const sv_frame_writer *wr, int *resumed);
// A writer that continues a partial folder (sv_frames_writer_partial: resumed) whose frames 0..frame-1 are
// there already: the next frame written is frame `frame` (a video's frames are numbered by the writer).
// Nothing for any other writer.
void sv_frames_writer_seek(sv_frame_writer *wr, long long frame);
// Name of the encoder in use ("libx264", "ffv1", "wrapped_avframe", ..., "png").
const char *sv_frames_writer_codec(const sv_frame_writer *wr);

// ---- libav logging ----

// By default libav's own log is silenced (its errors are folded into our messages). verbose = 1 lets
// libav warnings and errors through to stderr, e.g. for a command-line --verbose flag.
void sv_frames_libav_verbose(int verbose);
