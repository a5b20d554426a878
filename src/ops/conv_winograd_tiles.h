// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// conv_winograd_tiles.h: the inner kernels of our Winograd (conv_winograd_block.h), written once for a
// vector of WINO_L = 8 (AVX2/FMA, __m256) or 16 (AVX-512F, __m512) channels: the includer defines WINO_L
// (and compiles for the ISA). Every vector holds one pixel's WINO_L channels of one channel group. The
// GEMMs, and the weight gradient's kernels (8 lanes only), follow the transforms.
//
// Winograd F(m x m, r x r) with alpha = m + r - 1 interpolation points. 1-D forms (Y = A^T [(G g) . (B^T d)]):
//   F(4,3): points 0, 1, -1, 2, -2, inf              alpha 6
//   F(6,3): points 0, 1, -1, 2, -2, 1/2, -1/2, inf   alpha 8
//   F(2,7): the same 8 points                        alpha 8: B^T is F(6,3)'s (it depends on the points
//           only), A^T is the first two rows of F(6,3)'s with the inf column moved (1-row form below)
//   F(4,7): points 0, 1, -1, 2, -2, 1/2, -1/2, 3/2, -3/2, inf   alpha 10 (the 7x7 convs of SPyNet's finer
//           levels; 3/2 measured the most accurate ninth point pair of 3, 4, 1/4, 3/2 in fp32)
// The 2-D transform applies the 1-D one to the columns of a tile, then to the rows. The matrices are in
// the comments above each function; G (weights) is in conv_winograd.c. Both widths do the same arithmetic
// in the same order per channel, so their outputs are bit-identical (test_conv checks it).
#pragma once
#include <immintrin.h>
#include <stddef.h>

#if WINO_L == 8
typedef __m256 wv;
#define WV_ADD _mm256_add_ps
#define WV_SUB _mm256_sub_ps
#define WV_MUL _mm256_mul_ps
#define WV_FMADD _mm256_fmadd_ps
#define WV_FNMADD _mm256_fnmadd_ps
#define WV_LOAD _mm256_loadu_ps
#define WV_STORE _mm256_storeu_ps
#define WV_MAX _mm256_max_ps
#define WV_MIN _mm256_min_ps
#define WV_ZERO _mm256_setzero_ps
#define WV_SET1 _mm256_set1_ps
#define WV_BCAST _mm256_broadcast_ss
#elif WINO_L == 16
typedef __m512 wv;
#define WV_ADD _mm512_add_ps
#define WV_SUB _mm512_sub_ps
#define WV_MUL _mm512_mul_ps
#define WV_FMADD _mm512_fmadd_ps
#define WV_FNMADD _mm512_fnmadd_ps
#define WV_LOAD _mm512_loadu_ps
#define WV_STORE _mm512_storeu_ps
#define WV_MAX _mm512_max_ps
#define WV_MIN _mm512_min_ps
#define WV_ZERO _mm512_setzero_ps
#define WV_SET1 _mm512_set1_ps
#define WV_BCAST(p) _mm512_set1_ps(*(p))
#else
#error "conv_winograd_tiles.h: define WINO_L as 8 or 16"
#endif
#define VS(x) WV_SET1(x)

// ---- F(4,3) ----
// B^T = [4 0 -5 0 1 0; 0 -4 -4 1 1 0; 0 4 -4 -1 1 0; 0 -2 -1 2 1 0; 0 2 -1 -2 1 0; 0 4 0 -5 0 1]
static inline void wino_bt6(const wv d[6], wv r[6]) {
    const wv a = WV_FNMADD(VS(4.0f), d[2], d[4]);               // d4 - 4 d2
    const wv b = WV_FNMADD(VS(4.0f), d[1], d[3]);               // d3 - 4 d1
    const wv c = WV_SUB(d[4], d[2]);                            // d4 - d2
    const wv e = WV_MUL(VS(2.0f), WV_SUB(d[3], d[1]));   // 2 (d3 - d1)
    r[0] = WV_FMADD(VS(4.0f), d[0], WV_FNMADD(VS(5.0f), d[2], d[4]));
    r[1] = WV_ADD(a, b);
    r[2] = WV_SUB(a, b);
    r[3] = WV_ADD(c, e);
    r[4] = WV_SUB(c, e);
    r[5] = WV_FMADD(VS(4.0f), d[1], WV_FNMADD(VS(5.0f), d[3], d[5]));
}

// A^T = [1 1 1 1 1 0; 0 1 -1 2 -2 0; 0 1 1 4 4 0; 0 1 -1 8 -8 1]
static inline void wino_at6(const wv m[6], wv r[4]) {
    const wv a = WV_ADD(m[1], m[2]), b = WV_SUB(m[1], m[2]);
    const wv c = WV_ADD(m[3], m[4]), d = WV_SUB(m[3], m[4]);
    r[0] = WV_ADD(WV_ADD(m[0], a), c);
    r[1] = WV_FMADD(VS(2.0f), d, b);
    r[2] = WV_FMADD(VS(4.0f), c, a);
    r[3] = WV_ADD(WV_FMADD(VS(8.0f), d, b), m[5]);
}

// A = (A^T)^T (6 x 4), the adjoint of wino_at6 (the weight gradient's transform of a tile of dY):
// m = [y0; y0+y1+y2+y3; y0-y1+y2-y3; y0+2y1+4y2+8y3; y0-2y1+4y2-8y3; y3]
static inline void wino_a6(const wv y[4], wv m[6]) {
    const wv s02 = WV_ADD(y[0], y[2]), s13 = WV_ADD(y[1], y[3]);
    const wv p = WV_FMADD(VS(4.0f), y[2], y[0]);                      // y0 + 4 y2
    const wv q = WV_MUL(VS(2.0f), WV_FMADD(VS(4.0f), y[3], y[1]));  // 2 y1 + 8 y3
    m[0] = y[0];
    m[1] = WV_ADD(s02, s13);
    m[2] = WV_SUB(s02, s13);
    m[3] = WV_ADD(p, q);
    m[4] = WV_SUB(p, q);
    m[5] = y[3];
}

// ---- F(6,3) ----
// B^T = [1 0 -21/4 0 21/4 0 -1 0;  0 1 1 -17/4 -17/4 1 1 0;  0 -1 1 17/4 -17/4 -1 1 0;
//        0 1/2 1/4 -5/2 -5/4 2 1 0;  0 -1/2 1/4 5/2 -5/4 -2 1 0;  0 2 4 -5/2 -5 1/2 1 0;
//        0 -2 4 5/2 -5 -1/2 1 0;  0 -1 0 21/4 0 -21/4 0 1]
static inline void wino_bt8(const wv d[8], wv r[8]) {
    r[0] = WV_ADD(WV_SUB(d[0], d[6]), WV_MUL(VS(5.25f), WV_SUB(d[4], d[2])));
    r[7] = WV_ADD(WV_SUB(d[7], d[1]), WV_MUL(VS(5.25f), WV_SUB(d[3], d[5])));
    wv p = WV_FNMADD(VS(4.25f), d[4], WV_ADD(d[2], d[6]));  // d2 + d6 - 4.25 d4
    wv q = WV_FNMADD(VS(4.25f), d[3], WV_ADD(d[1], d[5]));  // d1 + d5 - 4.25 d3
    r[1] = WV_ADD(p, q);
    r[2] = WV_SUB(p, q);
    p = WV_FMADD(VS(0.25f), d[2], WV_FNMADD(VS(1.25f), d[4], d[6]));  // d6 + d2/4 - 5/4 d4
    q = WV_FMADD(VS(0.5f), d[1], WV_FMADD(VS(-2.5f), d[3], WV_MUL(VS(2.0f), d[5])));
    r[3] = WV_ADD(p, q);
    r[4] = WV_SUB(p, q);
    p = WV_FMADD(VS(4.0f), WV_FNMADD(VS(1.25f), d[4], d[2]), d[6]);  // d6 + 4 (d2 - 5/4 d4)
    q = WV_FMADD(VS(2.0f), d[1], WV_FMADD(VS(-2.5f), d[3], WV_MUL(VS(0.5f), d[5])));
    r[5] = WV_ADD(p, q);
    r[6] = WV_SUB(p, q);
}

// A^T = [1 1 1 1 1 1 1 0;  0 1 -1 2 -2 1/2 -1/2 0;  0 1 1 4 4 1/4 1/4 0;  0 1 -1 8 -8 1/8 -1/8 0;
//        0 1 1 16 16 1/16 1/16 0;  0 1 -1 32 -32 1/32 -1/32 1]
static inline void wino_at8(const wv m[8], wv r[6]) {
    const wv a = WV_ADD(m[1], m[2]), b = WV_SUB(m[1], m[2]);
    const wv c = WV_ADD(m[3], m[4]), d = WV_SUB(m[3], m[4]);
    const wv e = WV_ADD(m[5], m[6]), f = WV_SUB(m[5], m[6]);
    r[0] = WV_ADD(WV_ADD(m[0], a), WV_ADD(c, e));
    r[1] = WV_FMADD(VS(2.0f), d, WV_FMADD(VS(0.5f), f, b));
    r[2] = WV_FMADD(VS(4.0f), c, WV_FMADD(VS(0.25f), e, a));
    r[3] = WV_FMADD(VS(8.0f), d, WV_FMADD(VS(0.125f), f, b));
    r[4] = WV_FMADD(VS(16.0f), c, WV_FMADD(VS(0.0625f), e, a));
    r[5] = WV_ADD(WV_FMADD(VS(32.0f), d, WV_FMADD(VS(0.03125f), f, b)), m[7]);
}

// ---- F(2,7) ----
// A^T = [1 1 1 1 1 1 1 0;  0 1 -1 2 -2 1/2 -1/2 1]
static inline void wino_at8_2(const wv m[8], wv r[2]) {
    const wv a = WV_ADD(m[1], m[2]), b = WV_SUB(m[1], m[2]);
    const wv c = WV_ADD(m[3], m[4]), d = WV_SUB(m[3], m[4]);
    const wv e = WV_ADD(m[5], m[6]), f = WV_SUB(m[5], m[6]);
    r[0] = WV_ADD(WV_ADD(m[0], a), WV_ADD(c, e));
    r[1] = WV_ADD(WV_FMADD(VS(2.0f), d, WV_FMADD(VS(0.5f), f, b)), m[7]);
}

// ---- F(4,7) ----
// B^T (rows 1..8 in pairs p +- q of an even-column part p and an odd-column part q):
//   [9/4 0 -205/16 0 273/16 0 -15/2 0 1 0;
//    0 -9/4 -9/4 169/16 169/16 -13/2 -13/2 1 1 0;  0 9/4 -9/4 -169/16 169/16 13/2 -13/2 -1 1 0;
//    0 -9/8 -9/16 49/8 49/16 -7 -7/2 2 1 0;         0 9/8 -9/16 -49/8 49/16 7 -7/2 -2 1 0;
//    0 -9/2 -9 61/8 61/4 -29/8 -29/4 1/2 1 0;       0 9/2 -9 -61/8 61/4 29/8 -29/4 -1/2 1 0;
//    0 -3/2 -1 63/8 21/4 -63/8 -21/4 3/2 1 0;       0 3/2 -1 -63/8 21/4 63/8 -21/4 -3/2 1 0;
//    0 9/4 0 -205/16 0 273/16 0 -15/2 0 1]
// WINO_PQ: p = c2 d2 + c4 d4 + c6 d6 + d8, q = c1 d1 + c3 d3 + c5 d5 + c7 d7
#define WINO_PQ(r, i, c1, c2, c3, c4, c5, c6, c7)                                                       \
    {                                                                                                   \
        const wv p_ = WV_FMADD(VS(c2), d[2], WV_FMADD(VS(c4), d[4], WV_FMADD(VS(c6), d[6], d[8])));     \
        const wv q_ = WV_FMADD(VS(c1), d[1], WV_FMADD(VS(c3), d[3], WV_FMADD(VS(c5), d[5], WV_MUL(VS(c7), d[7])))); \
        r[i] = WV_ADD(p_, q_);                                                                          \
        r[i + 1] = WV_SUB(p_, q_);                                                                      \
    }
static inline void wino_bt10(const wv d[10], wv r[10]) {
    r[0] = WV_FMADD(VS(2.25f), d[0], WV_FMADD(VS(-12.8125f), d[2],
               WV_FMADD(VS(17.0625f), d[4], WV_FMADD(VS(-7.5f), d[6], d[8]))));
    r[9] = WV_FMADD(VS(2.25f), d[1], WV_FMADD(VS(-12.8125f), d[3],
               WV_FMADD(VS(17.0625f), d[5], WV_FMADD(VS(-7.5f), d[7], d[9]))));
    WINO_PQ(r, 1, -2.25f, -2.25f, 10.5625f, 10.5625f, -6.5f, -6.5f, 1.0f)
    WINO_PQ(r, 3, -1.125f, -0.5625f, 6.125f, 3.0625f, -7.0f, -3.5f, 2.0f)
    WINO_PQ(r, 5, -4.5f, -9.0f, 7.625f, 15.25f, -3.625f, -7.25f, 0.5f)
    WINO_PQ(r, 7, -1.5f, -1.0f, 7.875f, 5.25f, -7.875f, -5.25f, 1.5f)
}
#undef WINO_PQ

// A^T = [1 1 1 1 1 1 1 1 1 0;  0 1 -1 2 -2 1/2 -1/2 3/2 -3/2 0;  0 1 1 4 4 1/4 1/4 9/4 9/4 0;
//        0 1 -1 8 -8 1/8 -1/8 27/8 -27/8 1]
static inline void wino_at10(const wv m[10], wv r[4]) {
    const wv a = WV_ADD(m[1], m[2]), b = WV_SUB(m[1], m[2]);
    const wv c = WV_ADD(m[3], m[4]), d = WV_SUB(m[3], m[4]);
    const wv e = WV_ADD(m[5], m[6]), f = WV_SUB(m[5], m[6]);
    const wv g = WV_ADD(m[7], m[8]), h = WV_SUB(m[7], m[8]);
    r[0] = WV_ADD(WV_ADD(m[0], a), WV_ADD(WV_ADD(c, e), g));
    r[1] = WV_FMADD(VS(2.0f), d, WV_FMADD(VS(0.5f), f, WV_FMADD(VS(1.5f), h, b)));
    r[2] = WV_FMADD(VS(4.0f), c, WV_FMADD(VS(0.25f), e, WV_FMADD(VS(2.25f), g, a)));
    r[3] = WV_ADD(WV_FMADD(VS(8.0f), d, WV_FMADD(VS(0.125f), f, WV_FMADD(VS(3.375f), h, b))), m[9]);
}

// ---- 2-D tiles, written once for every size (A = alpha, M = m; the loops are unrolled) ----
// Input: the A x A tile at src (rs floats between rows, ps between pixels) -> A*A vectors at v + xi*xstride.
// WINO_STEP(p, d): p += d, opaque to the optimiser. Without it GCC precomputes the 64 load and 64 store
// offsets of a fully unrolled tile (y * rs + c * ps, (i * A + j) * xstride), spills them, and reloads one
// from the stack for every access: the input transform ran ~2x slower.
#define WINO_STEP(p, d) do { (p) += (d); __asm__("" : "+r"(p)); } while (0)

#define WINO_INPUT_TILE(NAME, A, BT)                                                                    \
    static inline void NAME(const float *src, size_t rs, size_t ps, float *v, size_t xstride) {         \
        wv tmp[A][A]; /* tmp[i][c] = (B^T d)[i][c] */                                                   \
        _Pragma("GCC unroll 10") for (int c = 0; c < A; c++) {                                          \
            wv col[A], r[A];                                                                            \
            const float *s = src + c * ps;                                                              \
            _Pragma("GCC unroll 10") for (int y = 0; y < A; y++) {                                      \
                col[y] = WV_LOAD(s);                                                                    \
                WINO_STEP(s, rs);                                                                       \
            }                                                                                           \
            BT(col, r);                                                                                 \
            _Pragma("GCC unroll 10") for (int i = 0; i < A; i++) tmp[i][c] = r[i];                      \
        }                                                                                               \
        _Pragma("GCC unroll 10") for (int i = 0; i < A; i++) {                                          \
            wv r[A];                                                                                    \
            BT(tmp[i], r);                                                                              \
            _Pragma("GCC unroll 10") for (int j = 0; j < A; j++) {                                      \
                WV_STORE(v, r[j]);                                                                      \
                WINO_STEP(v, xstride);                                                                  \
            }                                                                                           \
        }                                                                                               \
    }
WINO_INPUT_TILE(wino_input_tile4, 6, wino_bt6)
WINO_INPUT_TILE(wino_input_tile6, 8, wino_bt8)
WINO_INPUT_TILE(wino_input_tile10, 10, wino_bt10)

// Output: A*A vectors at m + xi*xstride -> the M x M tile: + bias, act (x >= 0 ? x : slope x), + residual
// (res may be out itself), stored rows x cols of it (fewer at the image's edge).
#define WINO_OUTPUT_TILE(NAME, A, M, AT)                                                                \
    static inline void NAME(const float *m, size_t xstride, wv bias, int act, wv slope,                 \
                            const float *res, float *out, size_t rs, size_t ps, int rows, int cols) {   \
        const wv zero = WV_ZERO();                                                                      \
        wv tmp[M][A];                                                                                   \
        _Pragma("GCC unroll 10") for (int c = 0; c < A; c++) {                                          \
            wv col[A], r[M];                                                                            \
            _Pragma("GCC unroll 10") for (int y = 0; y < A; y++) col[y] = WV_LOAD(m + (y * A + c) * xstride); \
            AT(col, r);                                                                                 \
            _Pragma("GCC unroll 10") for (int i = 0; i < M; i++) tmp[i][c] = r[i];                      \
        }                                                                                               \
        _Pragma("GCC unroll 10") for (int i = 0; i < M; i++) {                                          \
            if (i >= rows) break;                                                                       \
            wv r[M];                                                                                    \
            AT(tmp[i], r);                                                                              \
            _Pragma("GCC unroll 10") for (int x = 0; x < M; x++) {                                      \
                if (x >= cols) break;                                                                   \
                const size_t at = i * rs + x * ps;                                                      \
                wv y = WV_ADD(r[x], bias);                                                              \
                if (act) y = WV_FMADD(slope, WV_MIN(y, zero), WV_MAX(y, zero));                         \
                if (res) y = WV_ADD(y, WV_LOAD(res + at));                                              \
                WV_STORE(out + at, y);                                                                  \
            }                                                                                           \
        }                                                                                               \
    }
WINO_OUTPUT_TILE(wino_output_tile4, 6, 4, wino_at6)
WINO_OUTPUT_TILE(wino_output_tile6, 8, 6, wino_at8)
WINO_OUTPUT_TILE(wino_output_tile2, 8, 2, wino_at8_2)
WINO_OUTPUT_TILE(wino_output_tile4_7, 10, 4, wino_at10)

#if WINO_L == 8
// The 4 x 4 tile of dY at src (rs floats between rows, ps between pixels; rows x cols of it inside the map,
// zeros beyond) -> the 36 vectors A dY A^T at g + xi*xstride (xi = 6 a + b, the forward's order).
static inline void wino_adjoint_tile4(const float *src, size_t rs, size_t ps, int rows, int cols, float *g,
                                      size_t xstride) {
    __m256 tmp[6][4];  // tmp[a][x] = (A dY)[a][x]
    for (int x = 0; x < 4; x++) {
        __m256 col[4], r[6];
        for (int y = 0; y < 4; y++)
            col[y] = y < rows && x < cols ? _mm256_loadu_ps(src + y * rs + x * ps) : _mm256_setzero_ps();
        wino_a6(col, r);
        for (int a = 0; a < 6; a++) tmp[a][x] = r[a];
    }
    for (int a = 0; a < 6; a++) {
        __m256 r[6];
        wino_a6(tmp[a], r);
        for (int b = 0; b < 6; b++) _mm256_storeu_ps(g + (size_t)(a * 6 + b) * xstride, r[b]);
    }
}

// ---- weight-gradient GEMM: du[r][0..7] += sum_t g[t][r] * v[t][0..7], r = 0..7, over n tiles ----
// g: the dY transform plane of one xi and output group ([t][8]); v: the input transform plane of one xi
// and input group ([t][8]); du: rows ldu floats apart.
static inline void wino_wgrad_8x8(const float *g, const float *v, int n, float *du, size_t ldu) {
    __m256 c0 = _mm256_loadu_ps(du), c1 = _mm256_loadu_ps(du + ldu), c2 = _mm256_loadu_ps(du + 2 * ldu);
    __m256 c3 = _mm256_loadu_ps(du + 3 * ldu), c4 = _mm256_loadu_ps(du + 4 * ldu), c5 = _mm256_loadu_ps(du + 5 * ldu);
    __m256 c6 = _mm256_loadu_ps(du + 6 * ldu), c7 = _mm256_loadu_ps(du + 7 * ldu);
    for (int t = 0; t < n; t++, g += 8, v += 8) {
        const __m256 x = _mm256_loadu_ps(v);
        c0 = _mm256_fmadd_ps(_mm256_broadcast_ss(g + 0), x, c0);
        c1 = _mm256_fmadd_ps(_mm256_broadcast_ss(g + 1), x, c1);
        c2 = _mm256_fmadd_ps(_mm256_broadcast_ss(g + 2), x, c2);
        c3 = _mm256_fmadd_ps(_mm256_broadcast_ss(g + 3), x, c3);
        c4 = _mm256_fmadd_ps(_mm256_broadcast_ss(g + 4), x, c4);
        c5 = _mm256_fmadd_ps(_mm256_broadcast_ss(g + 5), x, c5);
        c6 = _mm256_fmadd_ps(_mm256_broadcast_ss(g + 6), x, c6);
        c7 = _mm256_fmadd_ps(_mm256_broadcast_ss(g + 7), x, c7);
    }
    _mm256_storeu_ps(du, c0), _mm256_storeu_ps(du + ldu, c1), _mm256_storeu_ps(du + 2 * ldu, c2);
    _mm256_storeu_ps(du + 3 * ldu, c3), _mm256_storeu_ps(du + 4 * ldu, c4), _mm256_storeu_ps(du + 5 * ldu, c5);
    _mm256_storeu_ps(du + 6 * ldu, c6), _mm256_storeu_ps(du + 7 * ldu, c7);
}

// ---- GEMM: m[t][16] = sum_i v[i/8][t][i%8] * u[i][16] for 6 tiles (rows) ----
// v: V plane of one xi at tile t (group stride gs floats); u: [gi*8][16]; m: M plane at tile t ([t][16]).
static inline void wino_gemm_6x16(const float *v, size_t gs, const float *u, int gi, float *m) {
    __m256 c00 = _mm256_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
    __m256 c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
    for (int g = 0; g < gi; g++, v += gs, u += 8 * 16) {
#pragma GCC unroll 8
        for (int k = 0; k < 8; k++) {
            const __m256 a0 = _mm256_loadu_ps(u + k * 16), a1 = _mm256_loadu_ps(u + k * 16 + 8);
            __m256 b;
#define WINO_ROW(r)                                                                                     \
    b = _mm256_broadcast_ss(v + (r) * 8 + k);                                                           \
    c##r##0 = _mm256_fmadd_ps(b, a0, c##r##0);                                                          \
    c##r##1 = _mm256_fmadd_ps(b, a1, c##r##1);
            WINO_ROW(0) WINO_ROW(1) WINO_ROW(2) WINO_ROW(3) WINO_ROW(4) WINO_ROW(5)
#undef WINO_ROW
        }
    }
#define WINO_STORE(r)                                                                                   \
    _mm256_storeu_ps(m + (r) * 16, c##r##0);                                                            \
    _mm256_storeu_ps(m + (r) * 16 + 8, c##r##1);
    WINO_STORE(0) WINO_STORE(1) WINO_STORE(2) WINO_STORE(3) WINO_STORE(4) WINO_STORE(5)
#undef WINO_STORE
}

// The same for a last block of 8 output channels (u: [gi*8][8]); writes m[t][0..7].
static inline void wino_gemm_6x8(const float *v, size_t gs, const float *u, int gi, float *m) {
    __m256 c0 = _mm256_setzero_ps(), c1 = c0, c2 = c0, c3 = c0, c4 = c0, c5 = c0;
    for (int g = 0; g < gi; g++, v += gs, u += 8 * 8) {
#pragma GCC unroll 8
        for (int k = 0; k < 8; k++) {
            const __m256 a = _mm256_loadu_ps(u + k * 8);
            c0 = _mm256_fmadd_ps(_mm256_broadcast_ss(v + 0 * 8 + k), a, c0);
            c1 = _mm256_fmadd_ps(_mm256_broadcast_ss(v + 1 * 8 + k), a, c1);
            c2 = _mm256_fmadd_ps(_mm256_broadcast_ss(v + 2 * 8 + k), a, c2);
            c3 = _mm256_fmadd_ps(_mm256_broadcast_ss(v + 3 * 8 + k), a, c3);
            c4 = _mm256_fmadd_ps(_mm256_broadcast_ss(v + 4 * 8 + k), a, c4);
            c5 = _mm256_fmadd_ps(_mm256_broadcast_ss(v + 5 * 8 + k), a, c5);
        }
    }
    _mm256_storeu_ps(m + 0 * 16, c0);
    _mm256_storeu_ps(m + 1 * 16, c1);
    _mm256_storeu_ps(m + 2 * 16, c2);
    _mm256_storeu_ps(m + 3 * 16, c3);
    _mm256_storeu_ps(m + 4 * 16, c4);
    _mm256_storeu_ps(m + 5 * 16, c5);
}

#endif  // WINO_L == 8 (the weight gradient, the 8-lane GEMMs)
#if WINO_L == 16
// ---- GEMM: m[t][16] = sum_i v[i/16][t][i%16] * u[i][16] for R tiles (rows), 16 outputs in one vector ----
// v: V plane of one xi at tile t (group stride gs floats); u: [g16*16 (+ 8)][16]; m: M plane at tile t
// ([t][16]). half: a last group of which only the first 8 channels are real (the rest padding, whose terms
// would add zeros). Each output sums over i in the same order as wino_gemm_6x16 (the 8-lane one).
// WINO_GEMM16_K: the NK terms k = 0 .. NK-1 of the group at v, u into the R accumulators c.
#define WINO_GEMM16_K(R, NK)                                                                           \
    _Pragma("GCC unroll 16") for (int k = 0; k < (NK); k++) {                                          \
        const __m512 a = _mm512_loadu_ps(u + k * 16);                                                  \
        _Pragma("GCC unroll 12") for (int r = 0; r < (R); r++)                                         \
            c[r] = _mm512_fmadd_ps(_mm512_set1_ps(v[r * 16 + k]), a, c[r]);                            \
    }
#define WINO_GEMM16(NAME, R)                                                                           \
    static inline void NAME(const float *v, size_t gs, const float *u, int g16, int half, float *m) { \
        __m512 c[R];                                                                                   \
        _Pragma("GCC unroll 12") for (int r = 0; r < R; r++) c[r] = _mm512_setzero_ps();               \
        for (int g = 0; g < g16; g++, v += gs, u += 16 * 16) WINO_GEMM16_K(R, 16)                      \
        if (half) WINO_GEMM16_K(R, 8)                                                                  \
        _Pragma("GCC unroll 12") for (int r = 0; r < R; r++) _mm512_storeu_ps(m + r * 16, c[r]);       \
    }
WINO_GEMM16(wino_gemm16_12, 12)
WINO_GEMM16(wino_gemm16_6, 6)
#undef WINO_GEMM16
#undef WINO_GEMM16_K
#endif
#undef VS
