// channels.c: moving channels between feature maps: layout conversion, concatenation, and the RSC
// gather / scatter-add, over views (core/layout.h: a batch of maps, a window of channels). Every op here is
// one loop over (map, channel) pairs, each a parallel work item that copies or adds one channel's pixels.
#include <string.h>

#include "core/parallel.h"
#include "core/layout.h"
#include "ops/ops.h"

// For every map s and channel i < nc: dst channel (di ? di[i] : i) =, or += when add, src channel
// (si ? si[i] : i). The two views may differ in layout; the channels written are distinct (the RSC index
// lists hold distinct channels), so the parallel iterations never write the same element.
static void move_channels(sv_fmap dst, const int *di, sv_fmap src, const int *si, int nc, int add) {
    const size_t hw = (size_t)dst.h * dst.w;
    const int items = dst.n * nc, bd = dst.blk, bs = src.blk;
#pragma omp parallel for schedule(static) if (hw * items > SV_OMP_MIN_WORK)
    for (int it = 0; it < items; it++) {
        const int s = it / nc, i = it % nc;
        float *d = sv_fmap_channel(dst, s, di ? di[i] : i);
        const float *x = sv_fmap_channel(src, s, si ? si[i] : i);
        if (add) {
            for (size_t p = 0; p < hw; p++) d[p * bd] += x[p * bs];
        } else if (bd == 1 && bs == 1) {
            memcpy(d, x, hw * sizeof(float));
        } else {
            for (size_t p = 0; p < hw; p++) d[p * bd] = x[p * bs];
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
