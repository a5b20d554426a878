// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// png_io.h: one PNG file to and from 8-bit RGB (h * w * 3 bytes, interleaved), with libpng.
#pragma once
#include <stdio.h>

#include "core/error.h"

// Reads only the header of path: its width and height, checked with sv_frame_size_check.
int sv_png_read_size(const char *path, int *w, int *h, sv_err *e);
// Decodes path into rgb. Any PNG becomes 8-bit RGB: palette and 1/2/4-bit gray are expanded, gray is
// copied to R, G and B, 16-bit samples are rounded to 8 bits, alpha (and tRNS) is dropped, gamma and
// colour profiles are ignored. Fails, naming path, when the image is not w x h or is corrupt/truncated.
int sv_png_read_rgb(const char *path, unsigned char *rgb, int w, int h, sv_err *e);
// Encodes rgb as an 8-bit RGB PNG (Paeth filter, run-length deflate, non-interlaced) into the open file f; path is only used in
// messages. The caller closes f.
int sv_png_write_rgb(FILE *f, const char *path, const unsigned char *rgb, int w, int h, sv_err *e);
