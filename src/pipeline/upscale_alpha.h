// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// upscale_alpha.h: frames with alpha (issue 18 item 5). The network upscales the colour only; each frame's
// alpha plane is read again from its input file when the output frame is written (a second PNG decode, small
// beside the network; the window holds no alpha), upscaled x4 by MATLAB's bicubic (ops/imresize.h) exactly
// as the bicubic baseline upscales colour (floats value / 255, then ops/pixels.h's one quantisation; at 16
// bits for 16-bit frames: value / 65535 and sv_quantize_u16), and interleaved with the colour as RGBA.
#pragma once
#include "core/error.h"
#include "io/frames.h"

typedef struct {
    unsigned char *a;         // the input frame's alpha plane, h x w samples
    float *in, *up;           // the alpha plane as floats, and upscaled (4h x 4w)
    unsigned char *rgb, *a4;  // the output frame's colour (4h x 4w x 3 samples) and quantised alpha (4h x 4w)
    int w, h;                 // the input frame's size
    int bits;                 // 8 (bytes) or 16 (uint16_t samples)
} sv_alpha_attach;

// Buffers for frames of w x h with samples of bits 8 or 16. Returns 0, or -1 when out of memory.
// sv_alpha_attach_bytes: what they take (for the memory plan).
size_t sv_alpha_attach_bytes(int w, int h, int bits);
int sv_alpha_attach_init(sv_alpha_attach *t, int w, int h, int bits, sv_err *e);
// A band of the output frame of input frame name (rd: a folder with alpha): the colour chw of rows y0 ..
// y0+rows-1 ([3, rows, 4w] floats, as ops/pixels.h's sv_chw_to_rgb or sv_chw_to_rgb16 quantises it) with
// those rows of the upscaled alpha, into the same rows of rgba (4h x 4w x 4 samples). The band at y0 = 0
// reads and upscales the frame's alpha plane (bands come from the top: model/runner.h, sv_output_fn).
int sv_alpha_attach_band(sv_alpha_attach *t, const sv_frame_reader *rd, const char *name, int y0, int rows,
                         const float *chw, void *rgba, sv_err *e);
void sv_alpha_attach_free(sv_alpha_attach *t);
