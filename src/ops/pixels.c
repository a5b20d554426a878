// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// pixels.c: the frame <-> plane conversions of pixels.h.
#include "ops/pixels.h"

void sv_quantize_n(unsigned char *dst, const float *src, size_t n) {
    for (size_t i = 0; i < n; i++) dst[i] = sv_quantize_u8(src[i]);
}

void sv_quantize_n16(uint16_t *dst, const float *src, size_t n) {
    for (size_t i = 0; i < n; i++) dst[i] = sv_quantize_u16(src[i]);
}

void sv_rgb16_to_chw(float *chw, const uint16_t *rgb, int h, int w) {
    const size_t hw = (size_t)h * w;
    for (size_t p = 0; p < hw; p++)
        for (int c = 0; c < 3; c++) chw[c * hw + p] = (float)rgb[p * 3 + c] * (1.0f / 65535.0f);
}

void sv_chw_to_rgb16(uint16_t *rgb, const float *chw, int h, int w) {
    const long hw = (long)h * w;
#pragma omp parallel for schedule(static)
    for (long p = 0; p < hw; p++)
        for (int c = 0; c < 3; c++) rgb[p * 3 + c] = sv_quantize_u16(chw[c * hw + p]);
}

void sv_rgb_to_chw(float *chw, const unsigned char *rgb, int h, int w) {
    sv_rgb_to_chw_stride(chw, rgb, h, w, (size_t)w * 3);
}

void sv_rgb_to_chw_stride(float *chw, const unsigned char *rgb, int h, int w, size_t stride) {
    const size_t hw = (size_t)h * w;
    for (size_t y = 0; y < (size_t)h; y++) {
        const unsigned char *row = rgb + y * stride;
        for (size_t x = 0; x < (size_t)w; x++)
            for (int c = 0; c < 3; c++) chw[c * hw + y * w + x] = (float)row[x * 3 + c] * (1.0f / 255.0f);
    }
}

void sv_rgbf_to_chw_stride(float *chw, const float *rgb, int h, int w, size_t stride) {
    const size_t hw = (size_t)h * w;
    for (size_t y = 0; y < (size_t)h; y++) {
        const float *row = (const float *)((const char *)rgb + y * stride);
        for (size_t x = 0; x < (size_t)w; x++)
            for (int c = 0; c < 3; c++) chw[c * hw + y * w + x] = row[x * 3 + c];
    }
}

void sv_chw_to_rgbf(float *rgb, const float *chw, int h, int w) {
    const long hw = (long)h * w;
#pragma omp parallel for schedule(static)
    for (long p = 0; p < hw; p++)
        for (int c = 0; c < 3; c++) rgb[p * 3 + c] = chw[c * hw + p];
}

void sv_chw_to_rgb(unsigned char *rgb, const float *chw, int h, int w) {
    const long hw = (long)h * w;
#pragma omp parallel for schedule(static)
    for (long p = 0; p < hw; p++)
        for (int c = 0; c < 3; c++) rgb[p * 3 + c] = sv_quantize_u8(chw[c * hw + p]);
}

void sv_rgb_to_planes(unsigned char *planes, const unsigned char *rgb, int h, int w) {
    const size_t hw = (size_t)h * w;
    for (size_t p = 0; p < hw; p++)
        for (int c = 0; c < 3; c++) planes[c * hw + p] = rgb[p * 3 + c];
}

void sv_planes_to_rgb(unsigned char *rgb, const unsigned char *planes, int h, int w) {
    const size_t hw = (size_t)h * w;
    for (size_t p = 0; p < hw; p++)
        for (int c = 0; c < 3; c++) rgb[p * 3 + c] = planes[c * hw + p];
}
