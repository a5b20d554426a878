// degrade.h: how training LR frames are made from GT frames. Images are float, plain CHW
// (c x h x w), values in [0, 1], nothing clamped or rounded; or 8-bit planes with MATLAB's uint8 rounding.
//
// BI ("bicubic x4"): MATLAB's imresize(img, 1/4) on a double image, reproduced exactly:
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
// rounds to uint8 after EACH dimension, not only at the end; sv_imresize_u8 / sv_degrade_u8 do the same
// (on Temple's GT they reproduce the shipped MATLAB BIx4 frames: 99.9% of values exact, none off by more
// than 1; rounding only at the end leaves 10% off by 1 and up to 5 levels at clipped edges).
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

enum { SV_DEG_BI = 0, SV_DEG_BD = 1 };

// Output size of MATLAB's imresize(img, scale): ceil(scale * n).
int sv_imresize_out_len(int n, double scale);

// imresize(img, scale) with per-dimension scales: out is c x oh x ow where oh = ceil(sy * h),
// ow = ceil(sx * w) (use sv_imresize_out_len). MATLAB's imresize(img, [oh ow]) is the same call with
// sy = oh / h, sx = ow / w: that is what sv_imresize does.
int sv_imresize_scaled(float *out, const float *in, int c, int h, int w, double sy, double sx, int oh, int ow,
                       sv_err *e);
// imresize(img, [oh ow]) (scales oh / h and ow / w); any sizes, shrinking or enlarging.
int sv_imresize(float *out, const float *in, int c, int h, int w, int oh, int ow, sv_err *e);

// out: c x ceil(h/4) x ceil(w/4). SV_DEG_BI or SV_DEG_BD as described above.
int sv_degrade_bi(float *out, const float *in, int c, int h, int w, sv_err *e);
int sv_degrade_bd(float *out, const float *in, int c, int h, int w, sv_err *e);
int sv_degrade(int degradation, float *out, const float *in, int c, int h, int w, sv_err *e);
// The same on 8-bit planes (c x h x w, uint8), with MATLAB's uint8 semantics: BI rounds and saturates the
// intermediate image (after the first dimension) and the result; BD (imfilter on uint8) rounds once at
// the end. This is what the dataset uses to make LR frames.
int sv_imresize_u8(unsigned char *out, const unsigned char *in, int c, int h, int w, double sy, double sx, int oh,
                   int ow, sv_err *e);
int sv_degrade_u8(int degradation, unsigned char *out, const unsigned char *in, int c, int h, int w, sv_err *e);
// "bi" / "bd"; NULL for an unknown value.
const char *sv_degrade_name(int degradation);
