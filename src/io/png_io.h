// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// png_io.h: one PNG file to and from 8-bit RGB (h * w * 3 bytes, interleaved) or RGBA, with libpng; its
// alpha plane on its own.
#pragma once
#include <stdio.h>

#include "core/error.h"

// Reads only the header of path: its width and height, checked with sv_frame_size_check.
int sv_png_read_size(const char *path, int *w, int *h, sv_err *e);
// Decodes path into rgb. Any PNG becomes 8-bit RGB: palette and 1/2/4-bit gray are expanded, gray is
// copied to R, G and B, 16-bit samples are rounded to 8 bits, alpha (and tRNS) is dropped, gamma and
// colour profiles are ignored. Fails, naming path, when the image is not w x h or is corrupt/truncated.
int sv_png_read_rgb(const char *path, unsigned char *rgb, int w, int h, sv_err *e);
// 1 when path's header says it carries alpha (an alpha channel, or transparency by a tRNS chunk), 0 when
// not, -1 with a message naming path.
int sv_png_has_alpha(const char *path, sv_err *e);
// Decodes the alpha plane of path into a (h * w bytes, row-major; 8 bits as sv_png_read_rgb's colour;
// 255 everywhere for an image without alpha). Fails as sv_png_read_rgb.
int sv_png_read_alpha(const char *path, unsigned char *a, int w, int h, sv_err *e);
// Encodes pix, channels 3 (RGB) or 4 (RGBA, interleaved), as an 8-bit PNG, as sv_png_write_rgb does.
int sv_png_write(FILE *f, const char *path, const unsigned char *pix, int w, int h, int channels, sv_err *e);
// Encodes rgb as an 8-bit RGB PNG (Paeth filter, run-length deflate, non-interlaced) into the open file f; path is only used in
// messages. The caller closes f.
int sv_png_write_rgb(FILE *f, const char *path, const unsigned char *rgb, int w, int h, sv_err *e);
