// layout.h: how a feature map of C channels, H rows and W columns lies in memory.
//
// One formula covers both layouts the library uses:
//   index(c, y, x) = ((c / blk) * H * W + y * W + x) * blk + c % blk
// blk = 1 is plain CHW (PyTorch's NCHW for one image). blk = 8 or 16 is the channel-blocked layout
// (oneDNN's nChw8c / nChw16c): each pixel holds blk consecutive channels next to each other, so a SIMD
// register loads them at once. C is padded up to a multiple of blk; padding channels are kept at zero.
#pragma once
#include <stddef.h>

static inline int sv_cpad(int c, int blk) { return (c + blk - 1) / blk * blk; }

static inline size_t sv_fmap_floats(int c, int h, int w, int blk) {
    return (size_t)sv_cpad(c, blk) * (size_t)h * (size_t)w;
}

static inline size_t sv_fmap_index(int c, int y, int x, int h, int w, int blk) {
    return ((size_t)(c / blk) * (size_t)h * (size_t)w + (size_t)y * (size_t)w + (size_t)x) * (size_t)blk +
           (size_t)(c % blk);
}
