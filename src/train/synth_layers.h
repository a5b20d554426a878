// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// synth_layers.h: the parts of a synthetic-motion layer (train/synth_motion.h) that do not move: its shape
// (a signed distance in layer units) and its texture (a photo area-averaged to one texel per layer unit).
// Shared by synth_motion.c (motion, rendering, flow) and synth_layers.c.
#pragma once
#include "core/error.h"
#include "train/rng.h"
#include "train/synth_motion.h"

// Rendering runs on OpenMP threads (two parallel regions per sequence: frames, then flows) when the
// sequence has at least this many pixels; smaller ones run on the calling thread, where a parallel region
// costs more than it saves. Texture pre-filtering always runs on the calling thread.
#define SYNTH_PAR_MIN (1 << 17)

// ---- random numbers (exact conversions, so the stream is the same on every machine) ----
// Uniform double in [0, 1): the top 53 bits of the next word.
static inline double synth_u01(sv_rng *r) { return (double)(sv_rng_next(r) >> 11) * 0x1.0p-53; }
static inline double synth_uniform(sv_rng *r, double lo, double hi) { return lo + (hi - lo) * synth_u01(r); }

// ---- shapes ----
enum { SYNTH_BACKGROUND = 0, SYNTH_ELLIPSE, SYNTH_POLYGON, SYNTH_BLOB, SYNTH_KINDS };
#define SYNTH_POLY_MAX 8
#define SYNTH_BLOB_HARM 3  // harmonics 2, 3, 4

typedef struct {
    int kind;
    double rmax;                    // every point of the shape lies within rmax of the origin (layer units)
    double edge;                    // soft edge width, pixels of the frame (0: hard edge)
    double a, b;                    // ellipse: semi-axes along the layer's x and y
    int n;                          // polygon: n half-planes nx * x + ny * y <= d
    double nx[SYNTH_POLY_MAX], ny[SYNTH_POLY_MAX], d[SYNTH_POLY_MAX];
    double vx[SYNTH_POLY_MAX], vy[SYNTH_POLY_MAX];  // polygon: its vertices, counter-clockwise
    double r0, amp[SYNTH_BLOB_HARM], ca[SYNTH_BLOB_HARM], sa[SYNTH_BLOB_HARM];  // blob: radius function
} synth_shape;

// A random shape of the given kind (not SYNTH_BACKGROUND) whose size is about radius layer units.
void synth_shape_draw(synth_shape *s, int kind, double radius, double edge, sv_rng *r);
// Signed distance of layer point (x, y), < 0 inside, layer units: exact for polygons; for ellipses a first-
// order approximation (exact on the axes); for blobs the radial distance (at least the true one).
double synth_shape_dist(const synth_shape *s, double x, double y);

// ---- textures ----
typedef struct {
    float *px;                      // [3,th,tw], values in [0, 1]
    int tw, th;
    double ux0, uy0;                // layer point (ux, uy) is texel (ux - ux0, uy - uy0)
} synth_texture;

// A texture covering texels 0..tw-1 x 0..th-1 from a random part of img at a random scale k (image pixels
// per texel, log-uniform in [max(1, kmax / 8), kmax], kmax the largest scale at which the part fits in img;
// kmax itself when it is below 1). k >= 1: each texel is the area average of its k x k image pixels
// (fractional coverage weighted); k < 1: bilinear interpolation. 0 or -1 (out of memory).
int synth_texture_make(synth_texture *t, const sv_synth_image *img, int tw, int th, sv_rng *r, sv_err *e);
void synth_texture_free(synth_texture *t);

// Bilinear sample of layer point (ux, uy) into rgb[3]; coordinates are clamped to the texture.
static inline void synth_texture_sample(const synth_texture *t, double ux, double uy, float rgb[3]) {
    double x = ux - t->ux0, y = uy - t->uy0;
    x = x < 0 ? 0 : x > t->tw - 1 ? t->tw - 1 : x;
    y = y < 0 ? 0 : y > t->th - 1 ? t->th - 1 : y;
    int x0 = (int)x, y0 = (int)y;
    int x1 = x0 + 1 < t->tw ? x0 + 1 : x0, y1 = y0 + 1 < t->th ? y0 + 1 : y0;
    float ax = (float)(x - x0), ay = (float)(y - y0);
    const size_t plane = (size_t)t->tw * t->th;
    const float *p00 = t->px + (size_t)y0 * t->tw + x0, *p01 = t->px + (size_t)y0 * t->tw + x1;
    const float *p10 = t->px + (size_t)y1 * t->tw + x0, *p11 = t->px + (size_t)y1 * t->tw + x1;
    for (int c = 0; c < 3; c++) {
        size_t o = c * plane;
        float top = p00[o] + ax * (p01[o] - p00[o]), bot = p10[o] + ax * (p11[o] - p10[o]);
        rgb[c] = top + ay * (bot - top);
    }
}
