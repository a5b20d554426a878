// resample.c: pixel shuffle, 2x2 average pooling and bilinear resizing (PyTorch semantics).
#include "core/layout.h"
#include "ops/ops.h"

void pixel_shuffle_forward_ref(float *out, const float *in, int c_out, int h, int w, int r, int blk) {
    int oh = h * r, ow = w * r;
#pragma omp parallel for schedule(static)
    for (int c = 0; c < c_out; c++)
        for (int y = 0; y < oh; y++)
            for (int x = 0; x < ow; x++) {
                int ci = c * r * r + (y % r) * r + (x % r);
                out[sv_fmap_index(c, y, x, oh, ow, blk)] = in[sv_fmap_index(ci, y / r, x / r, h, w, blk)];
            }
}

void avgpool2_forward(float *out, const float *in, int c, int h, int w, int blk) {
    int oh = h / 2, ow = w / 2;
#pragma omp parallel for schedule(static)
    for (int ch = 0; ch < c; ch++)
        for (int y = 0; y < oh; y++)
            for (int x = 0; x < ow; x++) {
                float s = in[sv_fmap_index(ch, 2 * y, 2 * x, h, w, blk)] +
                          in[sv_fmap_index(ch, 2 * y, 2 * x + 1, h, w, blk)] +
                          in[sv_fmap_index(ch, 2 * y + 1, 2 * x, h, w, blk)] +
                          in[sv_fmap_index(ch, 2 * y + 1, 2 * x + 1, h, w, blk)];
                out[sv_fmap_index(ch, y, x, oh, ow, blk)] = s * 0.25f;
            }
}

// Source coordinate of output index d along one axis, and the two taps with their weights.
static void bilinear_taps(int d, int in_size, int out_size, int align_corners, int *i0, int *i1,
                          float *w1) {
    float src;
    if (align_corners) {
        float scale = out_size > 1 ? (float)(in_size - 1) / (float)(out_size - 1) : 0.0f;
        src = scale * (float)d;
    } else {
        src = ((float)d + 0.5f) * ((float)in_size / (float)out_size) - 0.5f;
        if (src < 0) src = 0;
    }
    int i = (int)src;
    if (i > in_size - 1) i = in_size - 1;
    *i0 = i;
    *i1 = i < in_size - 1 ? i + 1 : i;
    *w1 = src - (float)i;
}

void resize_bilinear_forward(float *out, const float *in, int c, int h, int w, int oh, int ow,
                             int align_corners, int blk) {
#pragma omp parallel for schedule(static)
    for (int y = 0; y < oh; y++) {
        int y0, y1;
        float wy;
        bilinear_taps(y, h, oh, align_corners, &y0, &y1, &wy);
        for (int x = 0; x < ow; x++) {
            int x0, x1;
            float wx;
            bilinear_taps(x, w, ow, align_corners, &x0, &x1, &wx);
            for (int ch = 0; ch < c; ch++) {
                float a = in[sv_fmap_index(ch, y0, x0, h, w, blk)], b = in[sv_fmap_index(ch, y0, x1, h, w, blk)];
                float cc = in[sv_fmap_index(ch, y1, x0, h, w, blk)], d = in[sv_fmap_index(ch, y1, x1, h, w, blk)];
                out[sv_fmap_index(ch, y, x, oh, ow, blk)] =
                    (1 - wy) * ((1 - wx) * a + wx * b) + wy * ((1 - wx) * cc + wx * d);
            }
        }
    }
}

// The same shuffle walking rows with pointers: per output channel c and output row Y = r*y + i, the
// inputs are the r channels r*r*c + r*i + j (j < r) of input row y, interleaved along x.
void pixel_shuffle_forward(float *out, const float *in, int c_out, int h, int w, int r, int blk) {
    const int oh = h * r, ow = w * r;
#pragma omp parallel for collapse(2) schedule(static)
    for (int c = 0; c < c_out; c++)
        for (int Y = 0; Y < oh; Y++) {
            const int y = Y / r, i = Y % r;
            float *dst = out + sv_fmap_index(c, Y, 0, oh, ow, blk);
            for (int j = 0; j < r; j++) {
                const float *src = in + sv_fmap_index(c * r * r + i * r + j, y, 0, h, w, blk);
                float *d = dst + (size_t)j * blk;
                const size_t step = (size_t)r * blk;
                for (int x = 0; x < w; x++) d[(size_t)x * step] = src[(size_t)x * blk];
            }
        }
}
