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

// Rows n .. T-1 of V (a last block's missing tiles) zeroed: the GEMMs run over all T.
static void clear_tail(const sv_wino *w, float *V, int n) {
    for (int x = 0; x < w->nx && n < w->T; x++)
        for (int g = 0; g < w->gi * 8 / WINO_L; g++)
            memset(V + x * w->vstride + ((size_t)g * w->T + n) * WINO_L, 0, (size_t)(w->T - n) * WINO_L * sizeof(float));
}

#if WINO_L == 16
// ---- fused channel moves (sv_wino_fuse_channels): a block's tiles of one tile row at a time, through a
// strip of rows in the thread's scratch, so that each pixel is moved once per block and stays in cache ----

// The tiles t .. t+cnt-1 of a block that lie in one tile row: cnt, and the row and column of tile t.
static int tile_run(const sv_wino *w, int t, int left, int *ty, int *tx) {
    *ty = t / w->tiles_x, *tx = t % w->tiles_x;
    return w->tiles_x - *tx < left ? w->tiles_x - *tx : left;
}

// strip [A][cols][16] = conv input group g at image rows iy0 .. iy0+A-1, columns ix0 .. ix0+cols-1,
// gathered from the outer map in (w->gin.c channels, blk 16) by the group's moves; zeros outside the image
// and in lanes no move writes.
static void gather_rows(const sv_wino *w, const float *in, int g, int iy0, int ix0, int cols, float *strip) {
    const int h = w->d.h, wd = w->d.w;
    const size_t plane = (size_t)h * wd * 16;
    const sv_wino_move *mv = w->gin.mv + w->gin.first[g], *end = w->gin.mv + w->gin.first[g + 1];
    const int c0 = ix0 < 0 ? -ix0 : 0, c1 = wd - ix0 < cols ? wd - ix0 : cols;  // columns inside
    for (int y = 0; y < w->a; y++, strip += (size_t)cols * 16) {
        const int iy = iy0 + y;
        if (iy < 0 || iy >= h || c1 <= c0) {
            memset(strip, 0, (size_t)cols * 16 * sizeof(float));
            continue;
        }
        memset(strip, 0, (size_t)c0 * 16 * sizeof(float));
        memset(strip + (size_t)c1 * 16, 0, (size_t)(cols - c1) * 16 * sizeof(float));
        const float *row = in + ((size_t)iy * wd + ix0) * 16;
        for (int c = c0; c < c1; c++) {
            __m512 v = _mm512_setzero_ps();
            for (const sv_wino_move *m = mv; m < end; m++)
                v = _mm512_mask_permutexvar_ps(v, (__mmask16)m->mask, _mm512_loadu_si512(m->idx),
                                               _mm512_loadu_ps(row + m->block * plane + (size_t)c * 16));
            _mm512_storeu_ps(strip + (size_t)c * 16, v);
        }
    }
}

// The input transform with a fused gather: per group and tile row, the strip of the tiles' rows, then
// each tile's transform from it.
static void input_transform_gather(const sv_wino *w, const float *in, float *V, float *strip, int t0, int n) {
    const int T = w->T, m = w->m, pad = w->d.pad;
    for (int g = 0; g < w->gi / 2; g++)
        for (int tt = 0, ty, tx, cnt; tt < n; tt += cnt) {
            cnt = tile_run(w, t0 + tt, n - tt, &ty, &tx);
            const int cols = cnt * m + w->r - 1;
            gather_rows(w, in, g, ty * m - pad, tx * m - pad, cols, strip);
            for (int k = 0; k < cnt; k++) {
                const float *src = strip + (size_t)k * m * 16;
                float *v = V + ((size_t)g * T + tt + k) * 16;
                if (w->a == 6)
                    wino_input_tile4(src, (size_t)cols * 16, 16, v, w->vstride);
                else if (w->a == 8)
                    wino_input_tile6(src, (size_t)cols * 16, 16, v, w->vstride);
                else
                    wino_input_tile10(src, (size_t)cols * 16, 16, v, w->vstride);
            }
        }
}

// The output transform of block o0 with a fused scatter-add: per tile row, the tiles' outputs into a
// strip [m][cnt*m][16], then added into the outer map out (w->sout.c channels, blk 16) by the block's moves.
static void output_transform_scatter(const sv_wino *w, const float *M, float *out, float *strip, int t0, int n,
                                     int o0) {
    const int m = w->m;
    const size_t plane = (size_t)w->oh * w->ow * 16;
    const wv slope = WV_SET1(w->d.act_slope), bias = WV_LOAD(w->bias + o0);
    const sv_wino_move *mv = w->sout.mv + w->sout.first[o0 / 16], *end = w->sout.mv + w->sout.first[o0 / 16 + 1];
    for (int tt = 0, ty, tx, cnt; tt < n; tt += cnt) {
        cnt = tile_run(w, t0 + tt, n - tt, &ty, &tx);
        const int oy0 = ty * m, ox0 = tx * m, rows = w->oh - oy0 < m ? w->oh - oy0 : m;
        const int cols = w->ow - ox0 < cnt * m ? w->ow - ox0 : cnt * m;
        const size_t srs = (size_t)cnt * m * 16;
        for (int k = 0; k < cnt; k++) {
            const float *mt = M + (tt + k) * 16;
            const int c = cols - k * m < m ? cols - k * m : m;
            float *dst = strip + (size_t)k * m * 16;
            if (w->a == 6)
                wino_output_tile4(mt, w->mstride, bias, w->d.act, slope, NULL, dst, srs, 16, rows, c);
            else
                wino_output_tile6(mt, w->mstride, bias, w->d.act, slope, NULL, dst, srs, 16, rows, c);
        }
        for (const sv_wino_move *mvp = mv; mvp < end; mvp++) {
            const __m512i idx = _mm512_loadu_si512(mvp->idx);
            const __mmask16 km = (__mmask16)mvp->mask;
            for (int y = 0; y < rows; y++) {
                float *o = out + mvp->block * plane + ((size_t)(oy0 + y) * w->ow + ox0) * 16;
                const float *s = strip + (size_t)y * srs;
                for (int x = 0; x < cols; x++, o += 16, s += 16) {
                    const __m512 yv = _mm512_loadu_ps(o);
                    _mm512_storeu_ps(o, _mm512_mask_add_ps(yv, km, yv, _mm512_permutexvar_ps(idx, _mm512_loadu_ps(s))));
                }
            }
        }
    }
}
#endif

// Transforms tiles t0 .. t0+n-1 of the input into V. Channel group outer, tiles inner, so that the input
// is read as a few long rows.
static void input_transform(const sv_wino *w, const float *in, float *V, int t0, int n) {
    enum { L = WINO_L };
    const int h = w->d.h, wd = w->d.w, blk = w->d.blk, pad = w->d.pad, T = w->T, ng = w->gi * 8 / L, A = w->a;
    const int m = w->m;
    const size_t xstride = w->vstride, rs = (size_t)wd * blk;
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
        for (; tt + 12 <= T; tt += 12) wino_gemm16_12(v + tt * 16, gs, u, cinp / 16, m + tt * 16);
        for (; tt < T; tt += 6) wino_gemm16_6(v + tt * 16, gs, u, cinp / 16, m + tt * 16);
#endif
    }
}

void WINO_BLOCK(const sv_wino *w, const float *in, float *out, const float *res, float *V, float *M, int t0, int n,
                unsigned long long ticks[3]) {
    // each phase timed by the TSC (~10 ns a read, 2 + 2 per 16 outputs per block of T tiles: under 0.1%)
    const unsigned long long c0 = __rdtsc();
    clear_tail(w, V, n);
#if WINO_L == 16
    float *strip = M + w->nx * w->mstride;  // (fused moves only)
    if (w->gin.c)
        input_transform_gather(w, in, V, strip, t0, n);
    else
#endif
        input_transform(w, in, V, t0, n);
    unsigned long long c1 = __rdtsc();
    ticks[0] += c1 - c0;
    const int coutp = w->go * 8;
    for (int o0 = 0; o0 < coutp; o0 += 16) {
        const int nw = coutp - o0 < 16 ? coutp - o0 : 16;
        gemms(w, V, M, o0, nw);
        const unsigned long long c2 = __rdtsc();
#if WINO_L == 16
        if (w->sout.c)
            output_transform_scatter(w, M, out, strip, t0, n, o0);
        else
#endif
            output_transform(w, M, out, res, t0, n, o0, nw);
        const unsigned long long c3 = __rdtsc();
        ticks[1] += c2 - c1;
        ticks[2] += c3 - c2;
        c1 = c3;
    }
}
