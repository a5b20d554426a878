// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// channels.c: moving channels between feature maps: layout conversion, concatenation, and the RSC
// gather / scatter-add, over views (core/layout.h: a batch of maps, a window of channels). Every op here is
// one move of channels (sv_move_channels), parallel over maps and channels or runs of pixels; a blocked move
// runs the vector kernels of channels_simd.c where they take it.
#include <stdlib.h>
#include <string.h>

#include "core/parallel.h"
#include "core/layout.h"
#include "ops/channels_internal.h"
#include "ops/ops.h"

// Pixels per work item of a blocked move: its source and destination cache lines stay in L1 while every
// channel of every pixel of the item is moved.
enum { MOVE_PIXELS = 64 };
// Channels a blocked move handles pixel by pixel (an offset table per side on the stack); more go channel
// by channel.
enum { MOVE_TABLE = 512 };

// Offset of channel i of view v (map s) from the view's pixel (0, 0) of map s.
static size_t chan_off(sv_fmap v, const int *idx, int i) {
    const int c = v.c0 + (idx ? idx[i] : i);
    return (size_t)(c / v.blk) * v.plane + (size_t)(c % v.blk);
}

// Channels i0 .. i1-1 of pixels p0 .. p1-1 of map s, channel by channel.
static void move_run(sv_fmap dst, const int *di, sv_fmap src, const int *si, int s, int i0, int i1, size_t p0,
                     size_t p1, int add) {
    const int bd = dst.blk, bs = src.blk;
    for (int i = i0; i < i1; i++) {
        float *d = dst.data + (size_t)s * dst.stride + chan_off(dst, di, i);
        const float *x = src.data + (size_t)s * src.stride + chan_off(src, si, i);
        if (add) {
            for (size_t p = p0; p < p1; p++) d[p * bd] += x[p * bs];
        } else if (bd == 1 && bs == 1) {
            memcpy(d + p0, x + p0, (p1 - p0) * sizeof(float));
        } else {
            for (size_t p = p0; p < p1; p++) d[p * bd] = x[p * bs];
        }
    }
}

// The same, pixel by pixel: each pixel's channels sit on a few cache lines on a blocked side, so the
// item's lines are read once however many channels move (a channel-by-channel pass brings every line
// in once per channel).
static void move_pixels(sv_fmap dst, const int *di, sv_fmap src, const int *si, int s, int nc, size_t p0,
                        size_t p1, int add) {
    size_t od[MOVE_TABLE], os[MOVE_TABLE];
    for (int i = 0; i < nc; i++) od[i] = chan_off(dst, di, i), os[i] = chan_off(src, si, i);
    float *d = dst.data + (size_t)s * dst.stride;
    const float *x = src.data + (size_t)s * src.stride;
    const int bd = dst.blk, bs = src.blk;
    for (size_t p = p0; p < p1; p++) {
        float *dp = d + p * bd;
        const float *xp = x + p * bs;
        if (add)
            for (int i = 0; i < nc; i++) dp[od[i]] += xp[os[i]];
        else
            for (int i = 0; i < nc; i++) dp[od[i]] = xp[os[i]];
    }
}

// For every map s and channel i < nc: dst channel (di ? di[i] : i) =, or += when add, src channel
// (si ? si[i] : i). The two views may differ in layout; the channels written are distinct (the RSC index
// lists hold distinct channels), so the parallel iterations never write the same element. A view may be
// a window of rows (sv_fmap_rows); both have dst's h and w.
// Plain CHW on both sides: one item per (map, channel), a contiguous run. A blocked layout on either side
// puts a channel's pixels blk floats apart: there an item is a run of MOVE_PIXELS pixels, moved by the
// plan of the vector kernels (made once for the call) where there is one, else pixel by pixel.
void sv_move_channels(sv_fmap dst, const int *di, sv_fmap src, const int *si, int nc, int add, int isa) {
    const size_t hw = (size_t)dst.h * dst.w;
    const int plain = dst.blk == 1 && src.blk == 1;
    const size_t runs = plain ? 1 : (hw + MOVE_PIXELS - 1) / MOVE_PIXELS, run = plain ? hw : MOVE_PIXELS;
    const long items = (long)dst.n * (plain ? nc : (long)runs);
    // the vector kernels' plan, made once for the call, where they take the move (mem: its memory)
    sv_move_plan mp;
    const int blocked = dst.blk > 1 && src.blk > 1;
    void *mem = blocked && isa != SV_MOVE_SCALAR && nc <= MOVE_TABLE ? malloc(sv_move_plan_bytes(nc)) : NULL;
    if (mem && sv_move_plan_make(&mp, dst, di, src, si, nc, add, isa, mem)) {
        free(mem);
        mem = NULL;
    }
    const int vec = mem != NULL;
#pragma omp parallel for schedule(static) if (hw * (size_t)dst.n * (size_t)nc > SV_OMP_MIN_WORK)
    for (long it = 0; it < items; it++) {
        const int s = (int)(it / (plain ? nc : (long)runs));
        const size_t p0 = plain ? 0 : (size_t)(it % (long)runs) * run, p1 = p0 + run < hw ? p0 + run : hw;
        if (plain)
            move_run(dst, di, src, si, s, (int)(it % nc), (int)(it % nc) + 1, p0, p1, add);
        else if (vec)
            sv_move_plan_run(&mp, dst.data + (size_t)s * dst.stride, src.data + (size_t)s * src.stride, p0, p1);
        else if (nc <= MOVE_TABLE)
            move_pixels(dst, di, src, si, s, nc, p0, p1, add);
        else
            move_run(dst, di, src, si, s, 0, nc, p0, p1, add);
    }
    free(mem);
}

static void move_channels(sv_fmap dst, const int *di, sv_fmap src, const int *si, int nc, int add) {
    sv_move_channels(dst, di, src, si, nc, add, sv_move_isa());
}

void channel_copy(sv_fmap out, sv_fmap in) { move_channels(out, NULL, in, NULL, out.c, 0); }

void channel_add(sv_fmap out, sv_fmap in) { move_channels(out, NULL, in, NULL, out.c, 1); }

void layout_convert(sv_fmap out, sv_fmap in) {
    for (int s = 0; s < out.n; s++)
        memset(out.data + (size_t)s * out.stride, 0, sv_fmap_floats(out.c, out.h, out.w, out.blk) * sizeof(float));
    channel_copy(out, in);
}

void channel_zero_padding(sv_fmap m) {
    const int used = m.c % m.blk;
    if (!used) return;
    const size_t hw = (size_t)m.h * m.w;
#pragma omp parallel for schedule(static) if (hw * (size_t)m.n * (size_t)m.blk > SV_OMP_MIN_WORK)
    for (int s = 0; s < m.n; s++) {
        float *last = m.data + (size_t)s * m.stride + (size_t)(m.c / m.blk) * m.plane;
        for (size_t p = 0; p < hw; p++)
            for (int k = used; k < m.blk; k++) last[p * m.blk + (size_t)k] = 0.0f;
    }
}

// Padding channels of out (c .. cpad(c)) stay as the caller left them: zero.
void channel_gather(sv_fmap out, sv_fmap in, const int *idx) { move_channels(out, NULL, in, idx, out.c, 0); }

void channel_scatter_add(sv_fmap y, sv_fmap r, const int *idx) { move_channels(y, idx, r, NULL, r.c, 1); }

// ---- backward ----

void channel_copy_backward(sv_fmap din, sv_fmap dout) { channel_add(din, dout); }

void channel_scatter_add_backward(sv_fmap dr, sv_fmap dy, const int *idx) {
    move_channels(dr, NULL, dy, idx, dr.c, 1);
}
