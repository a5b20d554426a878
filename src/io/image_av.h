// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// image_av.h: one WebP, TIFF or BMP file through libavcodec's own image decoders (opened as a one-picture
// video: io/video_read.c, converted by swscale), so no library beyond the libav ones already linked: its
// colour as 8- or 16-bit RGB, or its alpha plane.
#pragma once
#include "core/error.h"
#include "io/frames_internal.h"

// 1 when a file name is taken for such a frame: it ends in .webp, .tif, .tiff or .bmp, any case, after at
// least one character.
int sv_image_av_is_name(const char *name);
// The picture's width and height, checked with sv_frame_size_check; *alpha: 1 when its pixel format
// carries alpha; *depth: bits per sample of its first component (8, or e.g. 16 for a 16-bit TIFF).
int sv_image_av_read_size(const char *path, int *w, int *h, int *alpha, int *depth, sv_err *e);
// Decodes path into dst as px says (frames_internal.h: RGB or the alpha plane, 8 or 16 bits; a picture
// without alpha reads as opaque). Fails, naming path, when the picture is not w x h or cannot be decoded.
int sv_image_av_read(const char *path, void *dst, sv_px px, int w, int h, sv_err *e);
