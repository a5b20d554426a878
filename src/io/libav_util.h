// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// libav_util.h: what the video reader and writer share: libav's log folded into our error messages,
// colour-matrix choice for swscale, frame-rate tidying, and a padded RGB24 staging frame. Internal to io/.
#pragma once
#include <libavutil/frame.h>
#include <libavutil/pixfmt.h>
#include <libavutil/rational.h>
#include <stddef.h>

// Installs the log callback (once per process) and silences libav unless sv_frames_libav_verbose(1).
void sv_libav_init(void);
// Forgets the last libav error line logged by this thread.
void sv_libav_clear_log(void);
// "libav's text for averr" plus, when libav logged an error line since sv_libav_clear_log(), " (that
// line)". Writes into buf and returns it.
const char *sv_libav_describe(int averr, char *buf, size_t n);

// swscale colour matrix (SWS_CS_*) for a YUV stream: its tag, or BT.709 from 720 lines up and BT.601
// below when the stream has none (what players assume).
int sv_libav_sws_matrix(enum AVColorSpace cs, int height);
// Whether a frame of this pixel format and range holds full-range samples (RGB, gray, yuvj*, JPEG range).
int sv_libav_full_range(enum AVPixelFormat fmt, enum AVColorRange range);

// Turns a frame rate into a small fraction: within 1e-4 of k*1000/1001 or of an integer it snaps there
// (container time bases often store 23.976 as 2997/125 and the like). Returns 0, or -1 (and 0/0) when q
// is not a usable rate.
int sv_libav_tidy_rate(AVRational q, int *num, int *den);

// An AVFrame of pixel format fmt (an enum AVPixelFormat) with padded rows, so that swscale's SIMD code may
// read or write past the end of a row; NULL on allocation failure. sv_libav_rgb_frame: RGB24.
AVFrame *sv_libav_frame(int w, int h, int fmt);
AVFrame *sv_libav_rgb_frame(int w, int h);
