// channels.c: moving channels between feature maps: layout conversion, concatenation, and the RSC
// gather / scatter-add. Plain loops over (channel, pixel) using the layout formula of core/layout.h.
#include <string.h>

#include "core/parallel.h"
#include "core/layout.h"
#include "ops/ops.h"

void channel_copy(float *out, int cout_total, int dst_c0, int blk_out, const float *in, int cin_total,
                  int src_c0, int blk_in, int n, int h, int w) {
    (void)cout_total;
    (void)cin_total;
    size_t hw = (size_t)h * w;
#pragma omp parallel for schedule(static) if (hw * n > SV_OMP_MIN_WORK)
    for (int c = 0; c < n; c++) {
        int ci = src_c0 + c, co = dst_c0 + c;
        const float *src = in + sv_fmap_index(ci, 0, 0, h, w, blk_in);
        float *dst = out + sv_fmap_index(co, 0, 0, h, w, blk_out);
        if (blk_in == 1 && blk_out == 1) {
            memcpy(dst, src, hw * sizeof(float));
        } else {
            for (size_t p = 0; p < hw; p++) dst[p * blk_out] = src[p * blk_in];
        }
    }
}

void layout_convert(float *out, int blk_out, const float *in, int blk_in, int c, int h, int w) {
    memset(out, 0, sv_fmap_floats(c, h, w, blk_out) * sizeof(float));
    channel_copy(out, c, 0, blk_out, in, c, 0, blk_in, c, h, w);
}

void channel_gather(float *out, const float *in, const int *idx, int n, int cin, int h, int w, int blk) {
    (void)cin;
    size_t hw = (size_t)h * w;
    // Padding channels of out (n .. cpad(n)) stay as the caller left them: zero.
#pragma omp parallel for schedule(static) if (hw * n > SV_OMP_MIN_WORK)
    for (int c = 0; c < n; c++) {
        const float *src = in + sv_fmap_index(idx[c], 0, 0, h, w, blk);
        float *dst = out + sv_fmap_index(c, 0, 0, h, w, blk);
        for (size_t p = 0; p < hw; p++) dst[p * blk] = src[p * blk];
    }
}

void channel_scatter_add(float *y, const float *r, const int *idx, int n, int cy, int h, int w, int blk) {
    (void)cy;
    size_t hw = (size_t)h * w;
    // idx holds distinct channels, so the parallel iterations never write the same element.
#pragma omp parallel for schedule(static) if (hw * n > SV_OMP_MIN_WORK)
    for (int c = 0; c < n; c++) {
        const float *src = r + sv_fmap_index(c, 0, 0, h, w, blk);
        float *dst = y + sv_fmap_index(idx[c], 0, 0, h, w, blk);
        for (size_t p = 0; p < hw; p++) dst[p * blk] += src[p * blk];
    }
}

// ---- backward ----

void channel_copy_backward(float *din, int cin_total, int src_c0, int blk_in, const float *dout, int cout_total,
                           int dst_c0, int blk_out, int n, int h, int w) {
    (void)cout_total;
    (void)cin_total;
    size_t hw = (size_t)h * w;
#pragma omp parallel for schedule(static) if (hw * n > SV_OMP_MIN_WORK)
    for (int c = 0; c < n; c++) {
        float *dst = din + sv_fmap_index(src_c0 + c, 0, 0, h, w, blk_in);
        const float *src = dout + sv_fmap_index(dst_c0 + c, 0, 0, h, w, blk_out);
        for (size_t p = 0; p < hw; p++) dst[p * blk_in] += src[p * blk_out];
    }
}

void channel_scatter_add_backward(float *dr, const float *dy, const int *idx, int n, int cy, int h, int w, int blk) {
    (void)cy;
    size_t hw = (size_t)h * w;
#pragma omp parallel for schedule(static) if (hw * n > SV_OMP_MIN_WORK)
    for (int c = 0; c < n; c++) {
        float *dst = dr + sv_fmap_index(c, 0, 0, h, w, blk);
        const float *src = dy + sv_fmap_index(idx[c], 0, 0, h, w, blk);
        for (size_t p = 0; p < hw; p++) dst[p * blk] += src[p * blk];
    }
}
