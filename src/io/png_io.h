// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// png_io.h: one PNG file to and from RGB (h * w * 3 samples, interleaved) or RGBA, 8-bit or 16-bit (uint16_t
// in native byte order), with libpng; its alpha plane on its own.
#pragma once
#include <stdint.h>
#include <stdio.h>

#include "core/error.h"

// Reads only the header of path: its width and height, checked with sv_frame_size_check.
int sv_png_read_size(const char *path, int *w, int *h, sv_err *e);
// Decodes path into rgb. Any PNG becomes 8-bit RGB: palette and 1/2/4-bit gray are expanded, gray is
// copied to R, G and B, 16-bit samples are rounded to 8 bits, alpha (and tRNS) is dropped, gamma and
// colour profiles are ignored. Fails, naming path, when the image is not w x h or is corrupt/truncated.
int sv_png_read_rgb(const char *path, unsigned char *rgb, int w, int h, sv_err *e);
// From path's header: *alpha 1 when it carries alpha (an alpha channel, or transparency by a tRNS chunk),
// *depth its bits per sample (1, 2, 4, 8 or 16). Returns 0, or -1 with a message naming path.
int sv_png_read_info(const char *path, int *alpha, int *depth, sv_err *e);
// The same decoding as sv_png_read_rgb at 16 bits: 16-bit samples kept, narrower ones widened (v * 257 for 8
// bits, as libpng expands).
int sv_png_read_rgb16(const char *path, uint16_t *rgb, int w, int h, sv_err *e);
// Decodes the alpha plane of path into a (h * w samples, row-major; bits 8: bytes, as sv_png_read_rgb's
// colour; 16: uint16_t, as sv_png_read_rgb16's); fully opaque for an image without alpha. Fails as
// sv_png_read_rgb.
int sv_png_read_alpha(const char *path, void *a, int bits, int w, int h, sv_err *e);
// Encodes pix, channels 3 (RGB) or 4 (RGBA, interleaved), bits 8 (bytes) or 16 (uint16_t), as a PNG of that
// depth, as sv_png_write_rgb does.
int sv_png_write(FILE *f, const char *path, const void *pix, int w, int h, int channels, int bits, sv_err *e);
// Encodes rgb as an 8-bit RGB PNG (Paeth filter, run-length deflate, non-interlaced) into the open file f; path is only used in
// messages. The caller closes f.
int sv_png_write_rgb(FILE *f, const char *path, const unsigned char *rgb, int w, int h, sv_err *e);
