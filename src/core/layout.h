// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// layout.h: how a feature map of C channels, H rows and W columns lies in memory.
//
// One formula covers both layouts the library uses:
//   index(c, y, x) = ((c / blk) * H * W + y * W + x) * blk + c % blk
// blk = 1 is plain CHW (PyTorch's NCHW for one image). blk = 8 or 16 is the channel-blocked layout
// (oneDNN's nChw8c / nChw16c): each pixel holds blk consecutive channels next to each other, so a SIMD
// register loads them at once. C is padded up to a multiple of blk; padding channels are kept at zero.
#pragma once
#include <stddef.h>

// The widest block: blk is 1, 8 or 16 (ops that keep a pixel's block in a local array size it by this).
enum { SV_MAX_BLK = 16 };

static inline int sv_cpad(int c, int blk) { return (c + blk - 1) / blk * blk; }

static inline size_t sv_fmap_floats(int c, int h, int w, int blk) {
    return (size_t)sv_cpad(c, blk) * (size_t)h * (size_t)w;
}

static inline size_t sv_fmap_index(int c, int y, int x, int h, int w, int blk) {
    return ((size_t)(c / blk) * (size_t)h * (size_t)w + (size_t)y * (size_t)w + (size_t)x) * (size_t)blk +
           (size_t)(c % blk);
}

// ---- a view of feature maps: what the channel ops (ops/channels.c) take ----
// A batch of n maps in the layout above, map s at data + s * stride, seen through a window of channels
// c0 .. c0+c-1: element (s, i, y, x) of the view is data[s * stride + sv_fmap_index(c0 + i, y, x, h, w, blk)].
// A view owns nothing; cat[x, h] is two views of one buffer (sv_fmap_slice). A view may also be a window
// of rows (sv_fmap_rows): then h is the window's and plane, the floats from one block of blk channels to
// the next, stays the whole map's (h * w * blk for a whole map).
typedef struct {
    float *data;
    int c0, c;       // the channels the view covers, in the map's numbering
    int h, w, blk;
    int n;           // maps in the batch
    size_t stride;   // floats from one map to the next
    size_t plane;    // floats from channel block c / blk to the next
} sv_fmap;

// n maps of c channels back to back (stride: one whole map, padding channels included).
static inline sv_fmap sv_fmap_batch(float *data, int c, int h, int w, int blk, int n) {
    return (sv_fmap){data, 0, c, h, w, blk, n, sv_fmap_floats(c, h, w, blk), (size_t)h * w * blk};
}
static inline sv_fmap sv_fmap_one(float *data, int c, int h, int w, int blk) {
    return sv_fmap_batch(data, c, h, w, blk, 1);
}
// Maps the op only reads (the one place a view drops the const of its caller's pointer).
static inline sv_fmap sv_fmap_batch_in(const float *data, int c, int h, int w, int blk, int n) {
    return sv_fmap_batch((float *)data, c, h, w, blk, n);
}
static inline sv_fmap sv_fmap_in(const float *data, int c, int h, int w, int blk) {
    return sv_fmap_batch_in(data, c, h, w, blk, 1);
}
// The same view with n maps stride floats apart (maps that are not back to back, e.g. frame i of each clip).
static inline sv_fmap sv_fmap_strided(sv_fmap v, int n, size_t stride) {
    v.n = n;
    v.stride = stride;
    return v;
}
// Channels c0 .. c0+c-1 of the view.
static inline sv_fmap sv_fmap_slice(sv_fmap v, int c0, int c) {
    v.c0 += c0;
    v.c = c;
    return v;
}
// Map s of the batch alone.
static inline sv_fmap sv_fmap_sample(sv_fmap v, int s) {
    v.data += (size_t)s * v.stride;
    v.n = 1;
    return v;
}
// Rows y0 .. y0+rows-1 of the view.
static inline sv_fmap sv_fmap_rows(sv_fmap v, int y0, int rows) {
    v.data += (size_t)y0 * v.w * v.blk;
    v.h = rows;
    return v;
}
// Where channel i (of the view), row 0, column 0 of map s lies; the pixels of the channel follow blk apart.
static inline float *sv_fmap_channel(sv_fmap v, int s, int i) {
    const int c = v.c0 + i;
    return v.data + (size_t)s * v.stride + (size_t)(c / v.blk) * v.plane + c % v.blk;
}
