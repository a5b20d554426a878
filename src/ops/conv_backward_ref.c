// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// conv_backward_ref.c: the naive backward of conv2d_forward_ref (conv_ref.c), ground truth for the
// training conv's fast path (conv_train.c). Textbook sums, accumulated in double, starting from the value
// already in the gradient (backwards accumulate, so each output is rounded to float once). Any layout blk.
//   in   [cin, h, wd]       forward input (padding channels ignored)
//   w    [cout, cin, k, k]  plain OIHW
//   dout [cout, oh, ow]     gradient of the raw conv output, oh = h+2pad-k+1, ow = wd+2pad-k+1
//   din  [cin, h, wd]   += sum_{o,ky,kx} w[o,i,ky,kx] * dout[o, iy-ky+pad, ix-kx+pad]  (padding channels untouched)
//   dw   [cout,cin,k,k] += sum_{y,x} dout[o,y,x] * in[i, y+ky-pad, x+kx-pad]
//   db   [cout]         += sum_{y,x} dout[o,y,x]
#include "core/layout.h"
#include "ops/conv.h"

void conv2d_backward_ref(float *din, float *dw, float *db, const float *dout, const float *in, const float *w,
                         int cin, int cout, int h, int wd, int k, int pad, int blk) {
    const int oh = h + 2 * pad - k + 1, ow = wd + 2 * pad - k + 1;
    if (oh <= 0 || ow <= 0 || cin <= 0 || cout <= 0) return;
    if (db) {
        for (int o = 0; o < cout; o++) {
            double s = db[o];
            for (int y = 0; y < oh; y++)
                for (int x = 0; x < ow; x++) s += dout[sv_fmap_index(o, y, x, oh, ow, blk)];
            db[o] = (float)s;
        }
    }
    if (dw) {
#pragma omp parallel for collapse(2) schedule(static)
        for (int o = 0; o < cout; o++) {
            for (int i = 0; i < cin; i++) {
                for (int ky = 0; ky < k; ky++) {
                    for (int kx = 0; kx < k; kx++) {
                        float *g = &dw[(((size_t)o * cin + i) * k + ky) * k + kx];
                        // output x reads input ix = x + kx - pad, which must lie in [0, wd)
                        int x0 = pad - kx, x1 = wd + pad - kx;
                        if (x0 < 0) x0 = 0;
                        if (x1 > ow) x1 = ow;
                        double s = *g;
                        for (int y = 0; y < oh; y++) {
                            const int iy = y + ky - pad;
                            if (iy < 0 || iy >= h) continue;
                            const float *drow = dout + sv_fmap_index(o, y, 0, oh, ow, blk);
                            const float *irow = in + sv_fmap_index(i, iy, 0, h, wd, blk);
                            for (int x = x0; x < x1; x++)
                                s += (double)drow[(size_t)x * blk] * irow[(size_t)(x + kx - pad) * blk];
                        }
                        *g = (float)s;
                    }
                }
            }
        }
    }
    if (din) {
        // one input pixel at a time: the sum over every output it fed (no scratch row, nothing to fail)
#pragma omp parallel for collapse(2) schedule(static)
        for (int i = 0; i < cin; i++) {
            for (int iy = 0; iy < h; iy++) {
                float *grow = din + sv_fmap_index(i, iy, 0, h, wd, blk);
                for (int ix = 0; ix < wd; ix++) {
                    double s = grow[(size_t)ix * blk];
                    for (int o = 0; o < cout; o++) {
                        const float *wo = w + ((size_t)o * cin + i) * k * k;
                        for (int ky = 0; ky < k; ky++) {
                            const int y = iy - ky + pad;
                            if (y < 0 || y >= oh) continue;
                            const float *drow = dout + sv_fmap_index(o, y, 0, oh, ow, blk);
                            for (int kx = 0; kx < k; kx++) {
                                const int x = ix - kx + pad;
                                if (x >= 0 && x < ow) s += (double)wo[ky * k + kx] * drow[(size_t)x * blk];
                            }
                        }
                    }
                    grow[(size_t)ix * blk] = (float)s;
                }
            }
        }
    }
}
