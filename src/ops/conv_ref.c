// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// conv_ref.c: the naive 2-D convolution, ground truth for every fast path (conv_plan.c).
// Plain loops, accumulated in double precision. The loops run output row by output row, so that the
// innermost loop walks along x (the compiler vectorises it; this keeps the whole-model reference test
// quick), but every output is still the textbook sum over (i, ky, kx). Any layout blk (core/layout.h).
//   in  [cin, h, wd]                     (layout blk, padding channels ignored)
//   w   [cout, cin, k, k]                (PyTorch OIHW, plain)
//   b   [cout] or NULL
//   out [cout, h+2pad-k+1, wd+2pad-k+1]  (layout blk, padding channels written as zero)
#include "core/layout.h"
#include "ops/conv.h"

void conv2d_forward_ref(float *out, const float *in, const float *w, const float *b, int cin, int cout, int h,
                        int wd, int k, int pad, int blk) {
    const int oh = h + 2 * pad - k + 1, ow = wd + 2 * pad - k + 1;
    if (oh <= 0 || ow <= 0 || cin <= 0 || cout <= 0) return;
#pragma omp parallel
    {
        // one output row of double accumulators on each thread's stack (a row is at most a few
        // thousand pixels: frame sizes are bounded by io/frames.h), so nothing here can fail
        double acc[ow];
#pragma omp for collapse(2) schedule(static)
        for (int o = 0; o < cout; o++) {
            for (int y = 0; y < oh; y++) {
                for (int x = 0; x < ow; x++) acc[x] = b ? b[o] : 0.0;
                for (int i = 0; i < cin; i++) {
                    for (int ky = 0; ky < k; ky++) {
                        const int iy = y + ky - pad;
                        if (iy < 0 || iy >= h) continue;
                        const float *row = in + sv_fmap_index(i, iy, 0, h, wd, blk);  // row[ix * blk]
                        for (int kx = 0; kx < k; kx++) {
                            const double wv = w[(((size_t)o * cin + i) * k + ky) * k + kx];
                            // output x reads input ix = x + kx - pad, which must lie in [0, wd)
                            int x0 = pad - kx, x1 = wd + pad - kx;
                            if (x0 < 0) x0 = 0;
                            if (x1 > ow) x1 = ow;
                            const float *src = row + (ptrdiff_t)(kx - pad) * blk;
                            if (blk == 1)
                                for (int x = x0; x < x1; x++) acc[x] += wv * src[x];
                            else
                                for (int x = x0; x < x1; x++) acc[x] += wv * src[(size_t)x * blk];
                        }
                    }
                }
                for (int x = 0; x < ow; x++) out[sv_fmap_index(o, y, x, oh, ow, blk)] = (float)acc[x];
            }
        }
    }
    // padding channels of the last block stay zero
    for (int o = cout; o < sv_cpad(cout, blk); o++)
        for (int y = 0; y < oh; y++)
            for (int x = 0; x < ow; x++) out[sv_fmap_index(o, y, x, oh, ow, blk)] = 0.0f;
}
