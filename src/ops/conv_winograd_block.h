// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// conv_winograd_block.h: the work on one block of tiles of our Winograd (conv_winograd.c has the plan and
// the algorithm), written once for WINO_L = 8 or 16 channels per vector: the includer defines WINO_L and
// WINO_BLOCK (the name of the sv_wino_block_fn it makes) and compiles for the ISA. V holds the input
// transform as [nx][cinp/WINO_L][T][WINO_L], M the GEMMs' result as [nx][T][16] (planes w->vstride and
// w->mstride apart).
#include <string.h>
#include <x86intrin.h>

#include "ops/conv_winograd_internal.h"
#include "ops/conv_winograd_tiles.h"

enum { PF = 2 };  // input tiles ahead whose new columns are prefetched (measured ~4% faster)

// Transforms tiles t0 .. t0+n-1 of the input into V; rows n .. T-1 are zeroed. Channel group outer, tiles
// inner, so that the input is read as a few long rows.
static void input_transform(const sv_wino *w, const float *in, float *V, int t0, int n) {
    enum { L = WINO_L };
    const int h = w->d.h, wd = w->d.w, blk = w->d.blk, pad = w->d.pad, T = w->T, ng = w->gi * 8 / L, A = w->a;
    const int m = w->m;
    const size_t xstride = w->vstride, rs = (size_t)wd * blk;
    for (int x = 0; x < w->nx && n < T; x++)
        for (int g = 0; g < ng; g++)
            memset(V + x * xstride + ((size_t)g * T + n) * L, 0, (size_t)(T - n) * L * sizeof(float));
    for (int g = 0; g < ng; g++) {
        const float *base = in + (size_t)(g * L / blk) * h * wd * blk + (g * L) % blk;
        for (int tt = 0; tt < n; tt++) {
            const int t = t0 + tt, iy0 = t / w->tiles_x * m - pad, ix0 = t % w->tiles_x * m - pad;
            float *v = V + ((size_t)g * T + tt) * L;
            const float *src;
            size_t srs = rs, sps = blk;
            float patch[WINO_MAXA][WINO_MAXA][L];  // a tile that crosses the image's edge, zeros outside
            if (iy0 >= 0 && ix0 >= 0 && iy0 + A <= h && ix0 + A <= wd) {
                src = base + (size_t)iy0 * rs + (size_t)ix0 * blk;
                if (ix0 + A + PF * m <= wd)  // the columns that the tile PF further right will add
                    for (int y = 0; y < A; y++)
                        for (int c = 0; c < m * blk * 4; c += 64)
                            _mm_prefetch((const char *)(src + y * rs + (size_t)(A + (PF - 1) * m) * blk) + c, _MM_HINT_T0);
            } else {  // the part inside the image, rows y0..y1-1 and columns c0..c1-1 of the tile
                const int y0 = iy0 < 0 ? -iy0 : 0, y1 = h - iy0 < A ? h - iy0 : A;
                const int c0 = ix0 < 0 ? -ix0 : 0, c1 = wd - ix0 < A ? wd - ix0 : A;
                memset(patch, 0, sizeof patch);
                for (int y = y0; y < y1; y++)
                    for (int c = c0; c < c1; c++)
                        memcpy(patch[y][c], base + (size_t)(iy0 + y) * rs + (size_t)(ix0 + c) * blk, L * sizeof(float));
                src = &patch[0][0][0], srs = WINO_MAXA * L, sps = L;
            }
            if (A == 6)
                wino_input_tile4(src, srs, sps, v, xstride);
            else if (A == 8)  // F(6x6,3x3) and F(2x2,7x7)
                wino_input_tile6(src, srs, sps, v, xstride);
            else
                wino_input_tile10(src, srs, sps, v, xstride);
        }
    }
}

// Output channels o0 .. o0+nw-1 of tiles t0 .. t0+n-1 from M: bias, act, residual, store.
static void output_transform(const sv_wino *w, const float *M, float *out, const float *res, int t0, int n,
                             int o0, int nw) {
    enum { L = WINO_L };
    const int oh = w->oh, ow = w->ow, blk = w->d.blk, m = w->m, s = w->shuffle ? 2 : 1;  // s: shuffle factor
    // the stored map: oh x ow, or 2oh x 2ow with shuffle; a tile pixel (y, x) goes to row s*y + dy and
    // column s*x + dx, so rows are s*rs and pixels s*blk apart
    const size_t plane = (size_t)s * oh * s * ow * blk, rs = (size_t)s * ow * blk, srs = s * rs, sps = (size_t)s * blk;
    const wv slope = WV_SET1(w->d.act_slope);
    for (int j = 0; j < nw; j += L) {
        int og = (o0 + j) / L, dy = 0, dx = 0;  // the vector's group of L (reordered) channels
        if (w->shuffle) dy = og % 4 / 2, dx = og % 2, og /= 4;
        const size_t off = (size_t)(og * L / blk) * plane + (og * L) % blk + (size_t)dy * rs + (size_t)dx * blk;
        const wv bias = WV_LOAD(w->bias + o0 + j);
        for (int tt = 0; tt < n; tt++) {
            const int t = t0 + tt, oy0 = t / w->tiles_x * m, ox0 = t % w->tiles_x * m;
            const size_t at = off + (size_t)oy0 * srs + (size_t)ox0 * sps;
            const int rows = oh - oy0 < m ? oh - oy0 : m, cols = ow - ox0 < m ? ow - ox0 : m;
            const float *mt = M + tt * 16 + j, *rt = res ? res + at : NULL;
            if (w->a == 6)  // F(4x4,3x3)
                wino_output_tile4(mt, w->mstride, bias, w->d.act, slope, rt, out + at, srs, sps, rows, cols);
            else if (w->a == 10)  // F(4x4,7x7)
                wino_output_tile4_7(mt, w->mstride, bias, w->d.act, slope, rt, out + at, srs, sps, rows, cols);
            else if (m == 6)  // A = 8: F(6x6,3x3) or F(2x2,7x7)
                wino_output_tile6(mt, w->mstride, bias, w->d.act, slope, rt, out + at, srs, sps, rows, cols);
            else
                wino_output_tile2(mt, w->mstride, bias, w->d.act, slope, rt, out + at, srs, sps, rows, cols);
        }
    }
}

// The GEMMs of one block of 16 output channels o0 (nw of them: 16, or a last 8 at 8 lanes) for every xi.
static void gemms(const sv_wino *w, const float *V, float *M, int o0, int nw) {
    const int T = w->T, cinp = w->gi * 8, coutp = w->go * 8;
    const size_t gs = (size_t)T * WINO_L;
#if WINO_L == 16
    // the k loop stops at the input channels rounded up to 8: past them V and U hold zeros only
    const int c8 = (w->d.cin + 7) / 8 * 8, g16 = c8 / 16, half = c8 % 16 != 0;
#endif
    for (int x = 0; x < w->nx; x++) {
        const float *u = w->U + (size_t)x * coutp * cinp + (size_t)o0 * cinp, *v = V + x * w->vstride;
        float *m = M + x * w->mstride;
#if WINO_L == 8
        for (int tt = 0; tt < T; tt += 6) {
            if (nw == 16)
                wino_gemm_6x16(v + tt * 8, gs, u, cinp / 8, m + tt * 16);
            else
                wino_gemm_6x8(v + tt * 8, gs, u, cinp / 8, m + tt * 16);
        }
#else
        (void)nw;  // always 16: blk 16 pads every channel count to 16
        int tt = 0;
        for (; tt + 12 <= T; tt += 12) wino_gemm16_12(v + tt * 16, gs, u, g16, half, m + tt * 16);
        for (; tt < T; tt += 6) wino_gemm16_6(v + tt * 16, gs, u, g16, half, m + tt * 16);
#endif
    }
}

void WINO_BLOCK(const sv_wino *w, const float *in, float *out, const float *res, float *V, float *M, int t0, int n,
                unsigned long long ticks[3]) {
    // each phase timed by the TSC (~10 ns a read, 2 + 2 per 16 outputs per block of T tiles: under 0.1%)
    const unsigned long long c0 = __rdtsc();
    input_transform(w, in, V, t0, n);
    unsigned long long c1 = __rdtsc();
    ticks[0] += c1 - c0;
    const int coutp = w->go * 8;
    for (int o0 = 0; o0 < coutp; o0 += 16) {
        const int nw = coutp - o0 < 16 ? coutp - o0 : 16;
        gemms(w, V, M, o0, nw);
        const unsigned long long c2 = __rdtsc();
        output_transform(w, M, out, res, t0, n, o0, nw);
        const unsigned long long c3 = __rdtsc();
        ticks[1] += c2 - c1;
        ticks[2] += c3 - c2;
        c1 = c3;
    }
}
