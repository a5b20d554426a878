// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// image_av.h: one WebP, TIFF or BMP file to 8-bit RGB (h * w * 3 bytes, interleaved), through libavcodec's
// own image decoders (opened as a one-picture video: io/video_read.c, converted by swscale), so no library
// beyond the libav ones already linked. Deeper samples (16-bit TIFF) are rounded to 8 bits; alpha is not read.
#pragma once
#include "core/error.h"

// 1 when a file name is taken for such a frame: it ends in .webp, .tif, .tiff or .bmp, any case, after at
// least one character.
int sv_image_av_is_name(const char *name);
// The picture's width and height, checked with sv_frame_size_check, and *alpha: 1 when its pixel format
// carries alpha (which sv_image_av_read_rgb drops).
int sv_image_av_read_size(const char *path, int *w, int *h, int *alpha, sv_err *e);
// Decodes path into rgb. Fails, naming path, when the picture is not w x h or cannot be decoded.
int sv_image_av_read_rgb(const char *path, unsigned char *rgb, int w, int h, sv_err *e);
