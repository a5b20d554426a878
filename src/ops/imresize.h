// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// imresize.h: MATLAB's imresize with the bicubic kernel, reproduced exactly, on float CHW planes
// (c x h x w, values in [0, 1], nothing clamped) and on uint8 planes. Used by inference (the bicubic
// baseline runner), the training data (BI degradation) and the test tools.
//
// MATLAB's imresize(img, scale) on a double image:
//   - kernel: Keys cubic with a = -0.5 on [-2, 2];
//   - antialiasing: when shrinking by s < 1 the kernel is stretched to s * k(s * x), i.e. 4/s taps wide
//     (16 taps for x1/4); enlarging uses the plain kernel;
//   - output pixel o (0-based) is centred at input coordinate (o + 0.5) / s - 0.5; its taps are
//     floor(centre - width/2) .. + ceil(width) + 1, and its weights are normalised to sum to 1;
//   - taps outside the image are reflected with the edge sample repeated (MATLAB's [1:n, n:-1:1],
//     applied periodically, so even a kernel wider than the image is well defined);
//   - separable: the dimension with the smaller scale first, rows (height) first on a tie, as MATLAB;
//   - output size ceil(s * size), as MATLAB's imresize(img, scale).
// MATLAB given a uint8 image (how the BIx4 folders of Vimeo-90K, Vid4, REDS were made) saturates and
// rounds to uint8 after EACH dimension, not only at the end; sv_imresize_u8 (and so train/degrade.h's
// sv_degrade_u8) does the same (on Temple's GT they reproduce the shipped MATLAB BIx4 frames: 99.9% of values exact, none off by more
// than 1; rounding only at the end leaves 10% off by 1 and up to 5 levels at clipped edges).
//
// Every function allocates its own scratch memory and returns 0, or -1 with e filled when out of memory or
// given sizes below 1.
#pragma once
#include <stddef.h>

#include "core/error.h"

// Output size of MATLAB's imresize(img, scale): ceil(scale * n).
int sv_imresize_out_len(int n, double scale);

// imresize(img, scale) with per-dimension scales: out is c x oh x ow where oh = ceil(sy * h),
// ow = ceil(sx * w) (use sv_imresize_out_len). MATLAB's imresize(img, [oh ow]) is the same call with
// sy = oh / h, sx = ow / w: that is what sv_imresize does.
int sv_imresize_scaled(float *out, const float *in, int c, int h, int w, double sy, double sx, int oh, int ow,
                       sv_err *e);
// imresize(img, [oh ow]) (scales oh / h and ow / w); any sizes, shrinking or enlarging.
int sv_imresize(float *out, const float *in, int c, int h, int w, int oh, int ow, sv_err *e);

// imresize on 8-bit planes with MATLAB's uint8 semantics (see above): sizes as sv_imresize_scaled.
int sv_imresize_u8(unsigned char *out, const unsigned char *in, int c, int h, int w, double sy, double sx, int oh,
                   int ow, sv_err *e);
// uint8 planes <-> float in [0, 1]: n values widened into a malloc'd array (NULL with e filled), and back
// with saturation and rounding half up (MATLAB's uint8 conversion of non-negative values).
float *sv_u8_planes_to_float(const unsigned char *in, size_t n, sv_err *e);
void sv_float_planes_to_u8(unsigned char *out, const float *x, size_t n);
