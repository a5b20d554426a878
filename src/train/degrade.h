// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// degrade.h: how training LR frames are made from GT frames. Images are float, plain CHW
// (c x h x w), values in [0, 1], nothing clamped or rounded; or 8-bit planes with MATLAB's uint8 rounding.
//
// BI ("bicubic x4"): MATLAB's imresize(img, 1/4), exactly (ops/imresize.h); on uint8 planes with MATLAB's
// rounding after each dimension (sv_imresize_u8).
//
// BD ("blur-downsample x4", the BD setting of BasicVSR/DUF): a 13 x 13 Gaussian, sigma 1.6
// (= 0.4 * scale), normalised to sum 1, replicate borders (MATLAB imfilter 'replicate': the edge pixel
// extends outward), then pixels 0, 4, 8, ... of every row and column are kept.
//   Offset 0: the kernel is odd-sized, so LR pixel k is the blur centred exactly on GT pixel 4k. This is
//   BasicSR's duf_downsample (13 x 13, sigma 0.4 * scale, a strided conv that lands on 4k). The
//   BD_degradation.m script found in VSR repositories (e.g. TTVSR's) uses a 12 x 12 kernel and keeps
//   pixels 2, 6, ... (1-based), which centres its LR pixels on 4k + 1.5 instead: LR made by that script
//   is shifted by 1.5 GT pixels against ours. Train and test on the same convention.
//   Output size ceil(h / 4) x ceil(w / 4).
//
// Every function here allocates its own scratch memory and returns 0, or -1 with e filled when out of
// memory or given sizes below 1.
#pragma once
#include "core/error.h"
#include "ops/imresize.h"

enum { SV_DEG_BI = 0, SV_DEG_BD = 1 };

// out: c x ceil(h/4) x ceil(w/4). SV_DEG_BI or SV_DEG_BD as described above.
int sv_degrade_bi(float *out, const float *in, int c, int h, int w, sv_err *e);
int sv_degrade_bd(float *out, const float *in, int c, int h, int w, sv_err *e);
int sv_degrade(int degradation, float *out, const float *in, int c, int h, int w, sv_err *e);
// The same on 8-bit planes (c x h x w, uint8), with MATLAB's uint8 semantics: BI rounds and saturates the
// intermediate image (after the first dimension) and the result (sv_imresize_u8); BD (imfilter on uint8)
// rounds once at the end. This is what the dataset uses to make LR frames.
int sv_degrade_u8(int degradation, unsigned char *out, const unsigned char *in, int c, int h, int w, sv_err *e);
// "bi" / "bd"; NULL for an unknown value.
const char *sv_degrade_name(int degradation);
