// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// rsc_direct_kernel.h: the body of the direct RSC block (rsc_direct.c), included once per vector width
// between vec_lanes.h (VW, vf, vi, SPLAT, FMA, PERMUTE, SUFFIX) and vec_lanes_end.h; rsc_direct.c puts each
// inclusion under its own target ISA.
//
// conv1 and conv2 vectorise over output channels: a pixel's outputs are NV vectors of VW channels, every
// input channel of every tap is broadcast once and multiplied into them. A chunk of PX pixels of one row
// shares each weight vector load. Inputs come straight from their maps through channel offsets (conv1
// reads y's channels S where they lie: no gathered copy), and conv2's outputs are permuted into y's
// channel blocks and added there (no scatter pass).
#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)
#define FN(name) CAT(name, SUFFIX)

// Pixels per chunk for NV output vectors: accumulators PX * NV, within the register file with room for the
// weight vector and the broadcast.
#define PX(NV) ((VW == 16 ? 24 : 12) / (NV))

// acc[p][v] (p < np, v < NV) += sum over taps t in [t0, t1) of the 3x3 kernel with column offsets in
// [kx0, kx1), and input channels i < nin, of in(p, tap)[off[i]] * W[tap][i][v]; in(p, tap) =
// base + (ky * rs + (kx + p) * ps). W: [9][nin][NV * VW].
static inline __attribute__((always_inline)) void FN(accumulate)(vf *acc, int NV, int np, const float *base,
                                                                 size_t rs, size_t ps, const size_t *off, int nin,
                                                                 const float *W, int ky0, int ky1, int kx0, int kx1) {
    for (int ky = ky0; ky < ky1; ky++)
        for (int kx = kx0; kx < kx1; kx++) {
            const float *tap = base + (ptrdiff_t)(ky - 1) * (ptrdiff_t)rs + (ptrdiff_t)(kx - 1) * (ptrdiff_t)ps;
            const float *wt = W + (size_t)(ky * 3 + kx) * nin * NV * VW;
            for (int i = 0; i < nin; i++) {
                const float *src = tap + off[i];
                vf wv[4];
#pragma GCC unroll 4
                for (int v = 0; v < NV; v++) memcpy(&wv[v], wt + ((size_t)i * NV + v) * VW, sizeof(vf));
#pragma GCC unroll 24
                for (int p = 0; p < np; p++) {
                    const vf x = SPLAT(src[(size_t)p * ps]);
#pragma GCC unroll 4
                    for (int v = 0; v < NV; v++) acc[p * NV + v] = FMA(x, wv[v], acc[p * NV + v]);
                }
            }
        }
}

// One chunk of a row: PX(NV) pixels when full (every column tap inside the image), else one pixel with
// the column taps [kx0, kx1). Each call of accumulate gets NV and the pixel count as constants, so its
// loops unroll and the accumulators stay in registers.
static inline __attribute__((always_inline)) void FN(chunk)(vf *acc, int NV, int full, const float *base,
                                                            size_t rs, size_t ps, const size_t *off, int nin,
                                                            const float *W, int ky0, int ky1, int kx0, int kx1) {
    if (full && NV == 1) FN(accumulate)(acc, 1, PX(1), base, rs, ps, off, nin, W, ky0, ky1, 0, 3);
    else if (full && NV == 2) FN(accumulate)(acc, 2, PX(2), base, rs, ps, off, nin, W, ky0, ky1, 0, 3);
    else if (full && NV == 3) FN(accumulate)(acc, 3, PX(3), base, rs, ps, off, nin, W, ky0, ky1, 0, 3);
    else if (full && NV == 4) FN(accumulate)(acc, 4, PX(4), base, rs, ps, off, nin, W, ky0, ky1, 0, 3);
    else FN(accumulate)(acc, NV, 1, base, rs, ps, off, nin, W, ky0, ky1, kx0, kx1);
}

// conv1 + ReLU for rows [y0, y1): y (blocked, channels through off) -> mid, pixel-major with a zero border
// ([h + 2][w + 2][NV * VW], pixel (y, x) at (y + 1, x + 1)).
static void FN(conv1_rows)(const rsc_direct *k, const float *y, float *mid, int y0, int y1, int NV) {
    const int h = k->h, w = k->w, px = PX(NV);
    const size_t rs = (size_t)w * VW, ms = (size_t)NV * VW;
    for (int yy = y0; yy < y1; yy++) {
        const int ky0 = yy == 0, ky1 = yy == h - 1 ? 2 : 3;
        float *mrow = mid + ((size_t)(yy + 1) * (w + 2) + 1) * ms;
        for (int x0 = 0; x0 < w;) {
            const int edge = x0 == 0 || x0 + px > w - 1, np = edge ? 1 : px;
            const int kx0 = x0 == 0, kx1 = x0 == w - 1 ? 2 : 3;
            vf acc[24];
            for (int p = 0; p < np; p++)
                for (int v = 0; v < NV; v++) memcpy(&acc[p * NV + v], k->b1 + v * VW, sizeof(vf));
            const float *base = y + (size_t)yy * rs + (size_t)x0 * VW;
            FN(chunk)(acc, NV, !edge, base, rs, VW, k->off_in, k->nin, k->w1, ky0, ky1, kx0, kx1);
            for (int p = 0; p < np; p++)
                for (int v = 0; v < NV; v++) {
                    vf a = acc[p * NV + v];
                    a = (vf)((vi)a & (a > (vf){0}));  // ReLU
                    memcpy(mrow + (size_t)(x0 + p) * ms + v * VW, &a, sizeof(vf));
                }
            x0 += np;
        }
    }
}

// conv2 for rows [y0, y1) from mid, each pixel's NV output vectors permuted into y's blocks and added (the
// moves' permutations and masks loaded once, into registers where they fit).
static void FN(conv2_rows)(const rsc_direct *k, const float *mid, float *y, int y0, int y1, int NV, int NM) {
    const int w = k->w, px = PX(NV), nmv = k->nmoves;
    const size_t ms = (size_t)NM * VW, mrs = (size_t)(w + 2) * ms;
    vi idx[SV_RSC_DIRECT_MAX_MOVES], mask[SV_RSC_DIRECT_MAX_MOVES];
    for (int j = 0; j < nmv; j++) {
        memcpy(&idx[j], k->moves[j].idx, sizeof idx[j]);
        memcpy(&mask[j], k->moves[j].mask, sizeof mask[j]);
    }
    for (int yy = y0; yy < y1; yy++) {
        for (int x0 = 0; x0 < w;) {
            const int np = x0 + px <= w ? px : 1;
            vf acc[24];
            for (int p = 0; p < np; p++)
                for (int v = 0; v < NV; v++) memcpy(&acc[p * NV + v], k->b2 + v * VW, sizeof(vf));
            const float *base = mid + (size_t)(yy + 1) * mrs + (size_t)(x0 + 1) * ms;
            FN(chunk)(acc, NV, np > 1, base, mrs, ms, k->off_mid, k->nmid, k->w2, 0, 3, 0, 3);
            for (int p = 0; p < np; p++) {
                float *pix = y + ((size_t)yy * w + x0 + p) * VW;
                for (int j = 0; j < nmv; j++) {
                    vf cur, add = PERMUTE(acc[p * NV + k->moves[j].src], idx[j]);
                    add = (vf)((vi)add & mask[j]);
                    float *dst = pix + k->moves[j].plane;
                    memcpy(&cur, dst, sizeof cur);
                    cur += add;
                    memcpy(dst, &cur, sizeof cur);
                }
            }
            x0 += np;
        }
    }
}

#undef PX
#undef FN
#undef CAT
#undef CAT_
