// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// pixels.h: 8-bit (and 16-bit) frames <-> the network's planes. A frame as io/frames.h reads and writes it is RGB,
// interleaved, row-major (h x w x 3 bytes); the network takes and gives [3, h, w] planes (plain CHW) of
// float in [0, 1]. Every conversion between the two is here, once: upscale, eval, the training data and
// train-flow all read frames through these functions, and upscale writes them through sv_chw_to_rgb.
#pragma once
#include <math.h>
#include <stddef.h>
#include <stdint.h>

// float -> uint8, the one quantisation of an output value (metrics.h step 1, and what upscale writes):
// NaN -> 0, clamp to [0, 1], x255 in float, round half to even (lrintf in the default rounding mode).
static inline unsigned char sv_quantize_u8(float v) {
    if (!(v == v)) return 0;  // NaN
    v = v < 0.0f ? 0.0f : v > 1.0f ? 1.0f : v;
    return (unsigned char)lrintf(v * 255.0f);
}
// sv_quantize_u8 on n values (any layout).
void sv_quantize_n(unsigned char *dst, const float *src, size_t n);
// The same at 16 bits (16-bit PNG frames): NaN -> 0, clamp to [0, 1], x65535 in float, round half to even.
static inline uint16_t sv_quantize_u16(float v) {
    if (!(v == v)) return 0;  // NaN
    v = v < 0.0f ? 0.0f : v > 1.0f ? 1.0f : v;
    return (uint16_t)lrintf(v * 65535.0f);
}
void sv_quantize_n16(uint16_t *dst, const float *src, size_t n);
// 16-bit frames: rgb h x w x 3 uint16_t <-> [3, h, w] floats, value / 65535 (sv_quantize_u16 back).
void sv_rgb16_to_chw(float *chw, const uint16_t *rgb, int h, int w);
void sv_chw_to_rgb16(uint16_t *rgb, const float *chw, int h, int w);

// rgb: h x w x 3 bytes -> chw: [3, h, w] floats, value / 255.
void sv_rgb_to_chw(float *chw, const unsigned char *rgb, int h, int w);
// chw: [3, h, w] floats -> rgb: h x w x 3 bytes through sv_quantize_u8 (OpenMP over pixels).
void sv_chw_to_rgb(unsigned char *rgb, const float *chw, int h, int w);
// The same for frames whose rows are stride bytes apart (stride >= 3 w; the library API's caller-owned
// frames), and the float RGB frames of the API (h x w x 3 floats, rows stride bytes apart; no scaling).
void sv_rgb_to_chw_stride(float *chw, const unsigned char *rgb, int h, int w, size_t stride);
void sv_rgbf_to_chw_stride(float *chw, const float *rgb, int h, int w, size_t stride);
// chw: [3, h, w] -> rgb: h x w x 3 floats, packed (OpenMP over pixels).
void sv_chw_to_rgbf(float *rgb, const float *chw, int h, int w);
// The same two moves on bytes, no scaling: rgb h x w x 3 <-> planes [3, h, w].
void sv_rgb_to_planes(unsigned char *planes, const unsigned char *rgb, int h, int w);
void sv_planes_to_rgb(unsigned char *rgb, const unsigned char *planes, int h, int w);
