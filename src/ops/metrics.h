// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// metrics.h: PSNR and SSIM under the evaluation protocol of SSL-NOTES §7, as BasicSR's calculate_psnr /
// calculate_ssim compute them, so that our numbers compare with published ones.
//
// Protocol, in order:
//   1. quantise: clamp to [0,1], multiply by 255 in float, round half to even (lrintf in the default
//      rounding mode: what torch's .round() and numpy's rint do, and what `slimvsr upscale` writes to
//      its PNGs, so measuring written frames and measuring the model's output give the same numbers);
//      NaN becomes 0.
//   2. Y (optional): BT.601 luma in double from R, G, B = uint8 / 255:
//      Y = 16 + 65.481 R + 128.553 G + 24.966 B, NOT rounded back to uint8 (BasicSR and MMagic keep it
//      in float; MATLAB's rgb2ycbcr rounds, which moves PSNR by a few hundredths of a dB).
//   3. crop: `crop` pixels removed at each side.
//   4. PSNR = 10 log10(255^2 / MSE), the MSE over every measured value (all three channels for RGB);
//      identical images give +INFINITY.
//      SSIM: 11x11 Gaussian window (sigma 1.5, normalised to sum 1), C1 = (0.01*255)^2,
//      C2 = (0.03*255)^2, 'valid' filtering (no padding: the map is (h-10) x (w-10)), mean of the map;
//      RGB: the mean of the three per-channel SSIMs.
#pragma once
#include <stddef.h>

#include "core/error.h"
#include "ops/pixels.h"  // step 1: sv_quantize_u8 (one value), sv_quantize_n (n values, any layout)

// a, b: [3, h, w] uint8 CHW RGB. Writes PSNR (dB, +INFINITY when the measured values are equal) and SSIM.
// Fails when the cropped image is smaller than the 11x11 SSIM window.
int sv_metrics_u8(const unsigned char *a, const unsigned char *b, int h, int w, int y_only, int crop,
                  double *psnr, double *ssim, sv_err *e);
// The same on [3, h, w] float CHW RGB images, quantised first (step 1).
int sv_metrics_f32(const float *a, const float *b, int h, int w, int y_only, int crop, double *psnr,
                   double *ssim, sv_err *e);

// The building blocks, on one plane of doubles (0..255 scale), h x w row-major:
double sv_psnr_plane(const double *a, const double *b, size_t n);  // MSE over n values
double sv_ssim_plane(const double *a, const double *b, int h, int w);  // needs h, w >= 11
