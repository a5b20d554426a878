// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// conv_winograd.c: r x r convolution (stride 1, any pad) by Winograd F(m x m, r x r) on the channel-blocked
// layouts blk = 8 or 16:
//   r = 3: m = 4 or 6 (the trunk);  r = 7: m = 2 (SPyNet), on the 8 x 8 input tile of F(6x6,3x3), or
//   m = 4 on a 10 x 10 tile (SPyNet's finer levels).
// The kernels see a feature map as groups of L channels, one vector each: L = 8 with AVX2 + FMA (this
// file), L = 16 with AVX-512F at blk 16 where the CPU has it (conv_winograd512.c), chosen at plan time.
//
// An m x m output tile needs an A x A input tile (A = m + r - 1; NX = A*A "frequencies" xi). The image's
// tiles are cut into blocks of T tiles; each thread takes whole blocks and, for its block
// (conv_winograd_block.h):
//   V[xi][g][t][L]   = (B^T d B)[xi] of input tile t, channel group g       (input transform)
//   for each block of 16 output channels o0:
//     M[xi][t][16]   = sum_i V[xi][i/L][t][i%L] * U[xi][o0..o0+15][i]        (NX GEMMs, T x cin x 16)
//     out[o][m x m]  = act(A^T M A + b) (+ residual)                          (output transform)
// U = G w G^T is made once, in double, when the plan is created. Multiplies per output and input channel:
// 3x3: direct 9, F(4x4) 36/16 = 2.25, F(6x6) 64/36 = 1.78. 7x7: direct 49, F(2x2) 64/4 = 16, F(4x4)
// 100/16 = 6.25. Rounding grows with the tile: F(4x4,7x7) > F(6x6,3x3) > F(2x2,7x7) ~ F(4x4,3x3)
// (test_conv reports each).
// Pixel shuffle (desc shuffle = 2): the output channels are reordered once, with the weights, from PyTorch's
// o = 4c + 2dy + dx to o' = 4L (c / L) + L (2dy + dx) + c % L (G = cout/4 padded to a multiple of blk by
// zero filters). A group of L reordered channels then shares one (dy, dx), so the output transform stores
// each pixel's vector straight to its shuffled place: row 2y + dy, column 2x + dx of channel group c/L
// (at 8 lanes the two groups of one 16-channel GEMM block, dx = 0 and 1, fill whole 64-byte lines together).
// Kernels: conv_winograd_tiles.h.
#include "ops/conv_internal.h"

#include <omp.h>
#include <stdlib.h>
#include <string.h>
#include <x86intrin.h>

#include "core/layout.h"
#define WINO_L 8
#define WINO_BLOCK sv_wino_block8
#include "ops/conv_winograd_block.h"

// Tiles per block by default: 24 of F(4x4,3x3) (V: 221 KB at 64 channels, in L2 with M) measured best on
// Zen 3; 12 (the same data volume) for F(6x6,3x3) and the 7x7 tiles (for F(2x2,7x7), 6 .. 96 tiles measured
// within noise).
enum { TILES_F4 = 24, TILES_OTHER = 12 };

// ---- weight transform: U = G g G^T (A x r . r x r . r x A) ----
// Row i of G evaluates the kernel polynomial at point i times a factor that depends on the points only
// (so F(6,3) and F(2,7) share it): 1, -2/9, -2/9, 1/90, 1/90, 32/45, 32/45, 1 for 0, 1, -1, 2, -2, 1/2,
// -1/2, inf.
static const double G4[6][3] = {
    {1.0 / 4, 0, 0},           {-1.0 / 6, -1.0 / 6, -1.0 / 6}, {-1.0 / 6, 1.0 / 6, -1.0 / 6},
    {1.0 / 24, 1.0 / 12, 1.0 / 6}, {1.0 / 24, -1.0 / 12, 1.0 / 6}, {0, 0, 1},
};
static const double G6[8][3] = {
    {1, 0, 0},
    {-2.0 / 9, -2.0 / 9, -2.0 / 9},
    {-2.0 / 9, 2.0 / 9, -2.0 / 9},
    {1.0 / 90, 1.0 / 45, 2.0 / 45},
    {1.0 / 90, -1.0 / 45, 2.0 / 45},
    {32.0 / 45, 16.0 / 45, 8.0 / 45},
    {32.0 / 45, -16.0 / 45, 8.0 / 45},
    {0, 0, 1},
};

static const double G2_7[8][7] = {
    {1, 0, 0, 0, 0, 0, 0},
    {-2.0 / 9, -2.0 / 9, -2.0 / 9, -2.0 / 9, -2.0 / 9, -2.0 / 9, -2.0 / 9},
    {-2.0 / 9, 2.0 / 9, -2.0 / 9, 2.0 / 9, -2.0 / 9, 2.0 / 9, -2.0 / 9},
    {1.0 / 90, 1.0 / 45, 2.0 / 45, 4.0 / 45, 8.0 / 45, 16.0 / 45, 32.0 / 45},
    {1.0 / 90, -1.0 / 45, 2.0 / 45, -4.0 / 45, 8.0 / 45, -16.0 / 45, 32.0 / 45},
    {32.0 / 45, 16.0 / 45, 8.0 / 45, 4.0 / 45, 2.0 / 45, 1.0 / 45, 1.0 / 90},
    {32.0 / 45, -16.0 / 45, 8.0 / 45, -4.0 / 45, 2.0 / 45, -1.0 / 45, 1.0 / 90},
    {0, 0, 0, 0, 0, 0, 1},
};

// F(4,7): G from its points (conv_winograd_tiles.h), as Toom-Cook makes it: row j (finite point p_j) is
// p_j^c / prod_{l != j} (p_j - p_l), the last row (inf) picks the kernel's last tap.
static const double P4_7[9] = {0, 1, -1, 2, -2, 0.5, -0.5, 1.5, -1.5};

static double g4_7(int a, int c) {
    if (a == 9) return c == 6;
    double f = 1, pw = 1;
    for (int l = 0; l < 9; l++)
        if (l != a) f *= P4_7[a] - P4_7[l];
    for (int k = 0; k < c; k++) pw *= P4_7[a];
    return pw / f;
}

// G[a][c] of the plan's transform (A x r)
static double g_at(const sv_wino *w, int a, int c) {
    if (w->r == 7) return w->m == 4 ? g4_7(a, c) : G2_7[a][c];
    return w->m == 4 ? G4[a][c] : G6[a][c];
}

// The plan's whole G (A x r) into G.
static void g_matrix(const sv_wino *w, double G[WINO_MAXA][WINO_MAXR]) {
    for (int a = 0; a < w->a; a++)
        for (int c = 0; c < w->r; c++) G[a][c] = g_at(w, a, c);
}

// Column of output channel o (PyTorch order) in U and bias: o itself, or its reordered place with shuffle.
static int out_col(const sv_wino *w, int o) {
    const int L = w->lanes;
    return w->shuffle ? o / (4 * L) * 4 * L + o % 4 * L + o / 4 % L : o;
}

// U = G g G^T for every (o, i), at model load (and every training step): in parallel, since upscale's
// start-up waits for all of them. First gg = G g ([A][r] per pair, in double), then per block of 16 U
// columns and input channel the A*A whole lines of U they fill (written pair by pair, each pair's A*A
// single values fell on A*A lines and pages: most of the start-up's weight time).
static int transform_weights(sv_wino *w, const float *weight, sv_err *e) {
    const int cin = w->d.cin, cout = w->d.cout, cinp = w->gi * 8, coutp = w->go * 8, A = w->a, r = w->r;
    double G[WINO_MAXA][WINO_MAXR];
    g_matrix(w, G);
    const size_t pair = (size_t)A * r;  // gg of output oo and input i at ((oo * cin) + i) * pair
    double *gg = sv_malloc((size_t)cout * cin * pair * sizeof(double), e);
    int *src = sv_malloc((size_t)coutp * sizeof(int), e);  // U column -> PyTorch output channel, or -1
    if (!gg || !src) {
        free(gg), free(src);
        return -1;
    }
    for (int o = 0; o < coutp; o++) src[o] = -1;
    for (int oo = 0; oo < cout; oo++) src[out_col(w, oo)] = oo;
#pragma omp parallel
    {
#pragma omp for schedule(static)
        for (int oo = 0; oo < cout; oo++)
            for (int i = 0; i < cin; i++) {
                const float *g = weight + ((size_t)oo * cin + i) * r * r;  // [r][r]
                double *q = gg + ((size_t)oo * cin + i) * pair;
                for (int a = 0; a < A; a++)
                    for (int c = 0; c < r; c++) {
                        double v = 0;
                        for (int k = 0; k < r; k++) v += G[a][k] * g[k * r + c];
                        q[a * r + c] = v;
                    }
            }
        // then per block of 16 U columns and input channel: its A*A lines of 16 floats, one per plane
        const int nblk = (coutp + 15) / 16;
#pragma omp for schedule(static)
        for (int bi = 0; bi < nblk * cin; bi++) {
            const int o0 = bi / cin * 16, i = bi % cin, nw = coutp - o0 < 16 ? coutp - o0 : 16;
            float line[WINO_MAXA * WINO_MAXA][16];
            for (int j = 0; j < nw; j++) {
                const int oo = src[o0 + j];
                if (oo < 0) {  // a zero filter (padding)
                    for (int x = 0; x < A * A; x++) line[x][j] = 0.0f;
                    continue;
                }
                const double *q = gg + ((size_t)oo * cin + i) * pair;
                for (int a = 0; a < A; a++)
                    for (int b = 0; b < A; b++) {
                        double v = 0;  // (G g G^T)[a][b]
                        for (int c = 0; c < r; c++) v += q[a * r + c] * G[b][c];
                        line[a * A + b][j] = (float)v;
                    }
            }
            for (int x = 0; x < A * A; x++)
                memcpy(w->U + (size_t)x * coutp * cinp + (size_t)o0 * cinp + (size_t)i * nw, line[x], nw * sizeof(float));
        }
    }
    free(gg), free(src);
    return 0;
}

int sv_wino_run(sv_wino *w, float *out, const float *in, const float *res, sv_err *e) {
    return sv_wino_run_batch(w, 1, out, in, res, e);
}

// n maps; each thread takes whole blocks of T tiles of one map (bpm blocks per map), so that a batch of
// small maps keeps every thread busy.
int sv_wino_run_batch(sv_wino *w, int nmaps, float *out, const float *in, const float *res, sv_err *e) {
    const int T = w->T, bpm = (w->ntiles + T - 1) / T, nblocks = nmaps * bpm;
    const size_t in_map = sv_fmap_floats(w->d.cin, w->d.h, w->d.w, w->d.blk);
    const size_t out_map = w->shuffle ? sv_fmap_floats(w->d.cout / 4, 2 * w->oh, 2 * w->ow, w->d.blk)
                                      : sv_fmap_floats(w->d.cout, w->oh, w->ow, w->d.blk);
    int nt = omp_get_max_threads(), failed = 0;
    if (nt > nblocks) nt = nblocks;
    const double s0 = omp_get_wtime();
    const unsigned long long k0 = __rdtsc();
#pragma omp parallel num_threads(nt)
    {
        float *V = aligned_alloc(64, w->scratch_floats * sizeof(float));
        float *M = V + w->nx * w->vstride;
        if (!V) {
#pragma omp atomic write
            failed = 1;
        }
        unsigned long long ticks[3] = {0, 0, 0};
#pragma omp for schedule(dynamic, 1)
        for (int b = 0; b < nblocks; b++) {
            if (!V) continue;
            const int map = b / bpm, t0 = b % bpm * T, n = w->ntiles - t0 < T ? w->ntiles - t0 : T;
            w->block(w, in + map * in_map, out + map * out_map, res ? res + map * out_map : NULL, V, M, t0, n, ticks);
        }
        free(V);
        for (int i = 0; i < 3; i++) {
#pragma omp atomic
            w->phase_ticks[i] += ticks[i];
        }
    }
    w->run_ticks += __rdtsc() - k0;
    w->run_seconds += omp_get_wtime() - s0;
    if (failed)
        return sv_errf(e, "winograd conv %d -> %d at %dx%d: out of memory for its scratch (%zu KB per thread)",
                       w->d.cin, w->d.cout, w->d.h, w->d.w, w->scratch_floats * sizeof(float) >> 10);
    return 0;
}

// ---- weight gradient (F(4x4,3x3)) ----
// The forward is out_t = A^T [sum_i U[o][i] . V_t[i]] A per tile t with U = G w G^T, so
//   dU[xi][o][i] = sum_t D_t[xi][o] V_t[xi][i],   D_t = A dY_t A^T,   dw[o][i] = G^T dU[o][i] G:
// per block of tiles, the input transform V (as the forward's), the dY transform D [nx][go][T][8], and
// per xi a GEMM over the block's tiles into the thread's dU [nx][go*8][gi*8]; then the threads' dU are
// summed and turned into dw. Multiplies per (o, i) and output pixel: 36/16 = 2.25 instead of 9.

// Floats of one thread's scratch: V, D (planes vstride and dstride apart), then dU.
static size_t wgrad_floats(const sv_wino *w, size_t *dstride) {
    *dstride = (size_t)w->go * w->T * 8 + 16;
    return w->nx * (w->vstride + *dstride) + (size_t)w->nx * w->go * 8 * w->gi * 8;
}

// D of tiles t0 .. t0+n-1 of dout (the output map's layout) into D [nx][go][T][8].
static void dout_transform(const sv_wino *w, const float *dout, float *D, size_t dstride, int t0, int n) {
    const int blk = w->d.blk, m = w->m;
    const size_t plane = (size_t)w->oh * w->ow * blk, rs = (size_t)w->ow * blk;
    for (int g = 0; g < w->go; g++) {
        const float *base = dout + (size_t)(g * 8 / blk) * plane + (g * 8) % blk;
        for (int tt = 0; tt < n; tt++) {
            const int t = t0 + tt, oy0 = t / w->tiles_x * m, ox0 = t % w->tiles_x * m;
            const int rows = w->oh - oy0 < m ? w->oh - oy0 : m, cols = w->ow - ox0 < m ? w->ow - ox0 : m;
            wino_adjoint_tile4(base + (size_t)oy0 * rs + (size_t)ox0 * blk, rs, blk, rows, cols,
                               D + ((size_t)g * w->T + tt) * 8, dstride);
        }
    }
}

// dw[o][i] += G^T dU[o][i] G for the real channels (dU: [nx][go*8][gi*8]).
static void wgrad_to_dw(const sv_wino *w, const float *dU, float *dw) {
    const int cin = w->d.cin, cout = w->d.cout, A = w->a, r = w->r;
    const size_t cinp = (size_t)w->gi * 8, plane = (size_t)w->go * 8 * cinp;
    double G[WINO_MAXA][WINO_MAXR];
    g_matrix(w, G);
#pragma omp parallel for schedule(static)
    for (int o = 0; o < cout; o++)
        for (int i = 0; i < cin; i++) {
            double gu[WINO_MAXR][WINO_MAXA] = {{0}};  // G^T dU: [r][A]
            for (int a = 0; a < A; a++)
                for (int b = 0; b < A; b++) {
                    const double u = dU[(size_t)(a * A + b) * plane + (size_t)o * cinp + i];
                    for (int ky = 0; ky < r; ky++) gu[ky][b] += G[a][ky] * u;
                }
            float *d = dw + ((size_t)o * cin + i) * r * r;
            for (int ky = 0; ky < r; ky++)
                for (int kx = 0; kx < r; kx++) {
                    double v = 0;
                    for (int b = 0; b < A; b++) v += gu[ky][b] * G[b][kx];
                    d[ky * r + kx] += (float)v;
                }
        }
}

int sv_wino_backward_weights(sv_wino *w, int nmaps, const float *in, const float *dout, float *dw, sv_err *e) {
    if (w->a != 6 || w->r != 3 || w->shuffle)
        return sv_errf(e, "winograd weight gradient: only for F(4x4,3x3) without shuffle (this plan: F(%dx%d,%dx%d))",
                       w->m, w->m, w->r, w->r);
    const int T = w->T, bpm = (w->ntiles + T - 1) / T, nblocks = nmaps * bpm;
    const size_t in_map = sv_fmap_floats(w->d.cin, w->d.h, w->d.w, w->d.blk);
    const size_t out_map = sv_fmap_floats(w->d.cout, w->oh, w->ow, w->d.blk);
    const size_t cinp = (size_t)w->gi * 8, du_plane = (size_t)w->go * 8 * cinp, du_floats = w->nx * du_plane;
    size_t dstride;
    const size_t per_thread = (wgrad_floats(w, &dstride) + 15) / 16 * 16;
    const size_t du_at = w->nx * (w->vstride + dstride);  // a thread's dU in its scratch
    int nt = omp_get_max_threads();
    if (nt > nblocks) nt = nblocks;
    float *scratch = aligned_alloc(64, (size_t)nt * per_thread * sizeof(float));
    if (!scratch)
        return sv_errf(e, "winograd weight gradient %d -> %d at %dx%d: out of memory for its scratch (%zu KB)",
                       w->d.cin, w->d.cout, w->d.h, w->d.w, (size_t)nt * per_thread * sizeof(float) >> 10);
#pragma omp parallel num_threads(nt)
    {
        float *V = scratch + (size_t)omp_get_thread_num() * per_thread;
        float *D = V + w->nx * w->vstride, *dU = V + du_at;
        memset(dU, 0, du_floats * sizeof(float));
        // static: each thread sums a fixed range of blocks in order, so the gradient is the same in every run
        // (training runs resume bit for bit)
#pragma omp for schedule(static)
        for (int b = 0; b < nblocks; b++) {
            const int map = b / bpm, t0 = b % bpm * T, n = w->ntiles - t0 < T ? w->ntiles - t0 : T;
            input_transform(w, in + map * in_map, V, t0, n);
            dout_transform(w, dout + map * out_map, D, dstride, t0, n);
            for (int x = 0; x < w->nx; x++)
                for (int og = 0; og < w->go; og++) {
                    const float *Dx = D + x * dstride + (size_t)og * T * 8, *Vx = V + x * w->vstride;
                    float *du = dU + x * du_plane + (size_t)og * 8 * cinp;
                    int ig = 0;
                    for (; w->lanes == 16 && ig + 1 < w->gi; ig += 2)  // 16 input channels a pass (same bits)
                        sv_wino_wgrad_8x16(Dx, Vx + (size_t)ig * T * 8, Vx + (size_t)(ig + 1) * T * 8, n, du + ig * 8,
                                           cinp);
                    for (; ig < w->gi; ig++) wino_wgrad_8x8(Dx, Vx + (size_t)ig * T * 8, n, du + ig * 8, cinp);
                }
        }
        // the threads' dU into thread 0's, split by element (the implicit barrier above: all are done). Only
        // the team's: called inside another parallel region, the team may be smaller than nt.
        float *dU0 = scratch + du_at;
        const int team = omp_get_num_threads();
#pragma omp for schedule(static)
        for (size_t j = 0; j < du_floats; j++)
            for (int th = 1; th < team; th++) dU0[j] += scratch[(size_t)th * per_thread + du_at + j];
    }
    wgrad_to_dw(w, scratch + du_at, dw);
    free(scratch);
    return 0;
}

sv_wino *sv_wino_create(const sv_conv_desc *d, const float *weight, const float *bias, int m, int tiles_per_block,
                        sv_err *e) {
    if ((d->blk != 8 && d->blk != 16) || !((d->k == 3 && (m == 4 || m == 6)) || (d->k == 7 && (m == 2 || m == 4)))) {
        sv_errf(e, "winograd conv: needs blk 8 or 16 and k 3 with tile 4 or 6, or k 7 with tile 2 or 4 (got k %d, "
                "blk %d, tile %d)", d->k, d->blk, m);
        return NULL;
    }
    sv_wino *w = sv_calloc(1, sizeof *w, e);
    if (!w) return NULL;
    w->d = *d;
    w->m = m, w->r = d->k, w->a = m + d->k - 1, w->nx = w->a * w->a;
    w->oh = d->h + 2 * d->pad - d->k + 1;
    w->ow = d->w + 2 * d->pad - d->k + 1;
    w->tiles_x = (w->ow + m - 1) / m;
    w->ntiles = w->tiles_x * ((w->oh + m - 1) / m);
    w->lanes = d->blk == 16 && sv_conv_avx512() ? 16 : 8;
    w->block = w->lanes == 16 ? sv_wino_block16 : sv_wino_block8;
    w->gi = sv_cpad(d->cin, d->blk) / 8;
    w->go = sv_cpad(d->cout, d->blk) / 8;
    if (d->shuffle) {  // conv_plan checked: shuffle 2, cout % 4 == 0, no residual
        w->shuffle = 2;
        w->go = 4 * sv_cpad(d->cout / 4, d->blk) / 8;  // all of the output map's channels, padding too
    }
    if (tiles_per_block <= 0) tiles_per_block = m == 4 && d->k == 3 ? TILES_F4 : TILES_OTHER;
    const int rows = w->lanes == 16 ? 12 : 6;  // the GEMM kernel's (16 lanes: 12 rows, a last 6 allowed)
    w->T = (tiles_per_block + rows - 1) / rows * rows;
    w->vstride = (size_t)w->gi * w->T * 8 + 16;
    w->mstride = (size_t)w->T * 16 + 16;
    w->scratch_floats = (w->nx * (w->vstride + w->mstride) + 15) / 16 * 16;  // whole cache lines
    const size_t coutp = (size_t)w->go * 8, cinp = (size_t)w->gi * 8;
    w->U = sv_calloc(w->nx * coutp * cinp, sizeof(float), e);
    w->bias = w->U ? sv_calloc(coutp, sizeof(float), e) : NULL;
    if (!w->bias) {
        sv_wino_free(w);
        return NULL;
    }
    if (transform_weights(w, weight, e)) {
        sv_wino_free(w);
        return NULL;
    }
    for (int o = 0; bias && o < d->cout; o++) w->bias[out_col(w, o)] = bias[o];
    return w;
}

int sv_wino_set_weights(sv_wino *w, const float *weight, const float *bias, sv_err *e) {
    if (transform_weights(w, weight, e)) return -1;  // writes every real (o, i) entry; padding ones stay zero
    memset(w->bias, 0, (size_t)w->go * 8 * sizeof(float));
    for (int o = 0; bias && o < w->d.cout; o++) w->bias[out_col(w, o)] = bias[o];
    return 0;
}

int sv_wino_lanes(const sv_wino *w) { return w->lanes; }

void sv_wino_phases(const sv_wino *w, double sec[3]) {
    const double per_tick = w->run_ticks ? w->run_seconds / (double)w->run_ticks : 0;
    for (int i = 0; i < 3; i++) sec[i] = (double)w->phase_ticks[i] * per_tick;
}

void sv_wino_free(sv_wino *w) {
    if (!w) return;
    free(w->U);
    free(w->bias);
    free(w);
}
