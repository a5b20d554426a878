// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// jpeg_io.h: one JPEG file to 8-bit RGB (h * w * 3 bytes, interleaved), with libjpeg. Decoding only:
// outputs are never JPEG.
#pragma once
#include "core/error.h"

// Reads only the header of path: its width and height, checked with sv_frame_size_check.
int sv_jpeg_read_size(const char *path, int *w, int *h, sv_err *e);
// Decodes path into rgb. Colour (YCbCr or RGB) JPEGs are read as 8-bit RGB (libjpeg's accurate integer
// IDCT, fancy upsampling); grayscale is copied to R, G and B (as PNG gray is). CMYK and YCCK JPEGs are
// refused (what they look like depends on a colour profile that slimvsr does not apply), as are other
// component counts. Fails, naming path, when the image is not w x h, or is corrupt or truncated: every
// warning of libjpeg about the data ("Premature end of JPEG file", "Corrupt JPEG data: ...") is an
// error, not a frame patched with grey; only warnings about metadata that slimvsr ignores (an unknown JFIF
// revision, a bad ICC marker) are not.
int sv_jpeg_read_rgb(const char *path, unsigned char *rgb, int w, int h, sv_err *e);
