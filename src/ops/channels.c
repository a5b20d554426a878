// channels.c: moving channels between feature maps: layout conversion, concatenation, and the RSC
// gather / scatter-add, over views (core/layout.h: a batch of maps, a window of channels). Every op here is
// one move of channels (move_channels), parallel over maps and channels or runs of pixels.
#include <string.h>

#include "core/parallel.h"
#include "core/layout.h"
#include "ops/ops.h"

// Pixels per work item of a blocked move: its source and destination cache lines (one per pixel and block
// of channels) stay in L1/L2 while every channel of the item is moved.
enum { MOVE_PIXELS = 256 };

// For every map s and channel i < nc: dst channel (di ? di[i] : i) =, or += when add, src channel
// (si ? si[i] : i). The two views may differ in layout; the channels written are distinct (the RSC index
// lists hold distinct channels), so the parallel iterations never write the same element.
// Plain CHW on both sides: one item per (map, channel), a contiguous run. A blocked layout on either side
// puts a channel's pixels blk floats apart, so a channel-by-channel pass would bring every cache line in
// once per channel: there an item is a run of MOVE_PIXELS pixels, moved channel by channel.
static void move_channels(sv_fmap dst, const int *di, sv_fmap src, const int *si, int nc, int add) {
    const size_t hw = (size_t)dst.h * dst.w;
    const int bd = dst.blk, bs = src.blk, plain = bd == 1 && bs == 1;
    const size_t runs = plain ? 1 : (hw + MOVE_PIXELS - 1) / MOVE_PIXELS, run = plain ? hw : MOVE_PIXELS;
    const long items = (long)dst.n * (plain ? nc : (long)runs);
#pragma omp parallel for schedule(static) if (hw * (size_t)dst.n * (size_t)nc > SV_OMP_MIN_WORK)
    for (long it = 0; it < items; it++) {
        const int s = (int)(it / (plain ? nc : (long)runs));
        const size_t p0 = plain ? 0 : (size_t)(it % (long)runs) * run, p1 = p0 + run < hw ? p0 + run : hw;
        const int i0 = plain ? (int)(it % nc) : 0, i1 = plain ? i0 + 1 : nc;
        for (int i = i0; i < i1; i++) {
            float *d = sv_fmap_channel(dst, s, di ? di[i] : i);
            const float *x = sv_fmap_channel(src, s, si ? si[i] : i);
            if (add) {
                for (size_t p = p0; p < p1; p++) d[p * bd] += x[p * bs];
            } else if (plain) {
                memcpy(d, x, hw * sizeof(float));
            } else {
                for (size_t p = p0; p < p1; p++) d[p * bd] = x[p * bs];
            }
        }
    }
}

void channel_copy(sv_fmap out, sv_fmap in) { move_channels(out, NULL, in, NULL, out.c, 0); }

void layout_convert(sv_fmap out, sv_fmap in) {
    for (int s = 0; s < out.n; s++)
        memset(out.data + (size_t)s * out.stride, 0, sv_fmap_floats(out.c, out.h, out.w, out.blk) * sizeof(float));
    channel_copy(out, in);
}

// Padding channels of out (c .. cpad(c)) stay as the caller left them: zero.
void channel_gather(sv_fmap out, sv_fmap in, const int *idx) { move_channels(out, NULL, in, idx, out.c, 0); }

void channel_scatter_add(sv_fmap y, sv_fmap r, const int *idx) { move_channels(y, idx, r, NULL, r.c, 1); }

// ---- backward ----

void channel_copy_backward(sv_fmap din, sv_fmap dout) { move_channels(din, NULL, dout, NULL, din.c, 1); }

void channel_scatter_add_backward(sv_fmap dr, sv_fmap dy, const int *idx) {
    move_channels(dr, NULL, dy, idx, dr.c, 1);
}
