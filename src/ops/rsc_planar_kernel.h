// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// rsc_planar_kernel.h: the convolution row of the planar RSC algorithm (rsc_planar.c), included once per
// vector width between vec_lanes.h (VW, vf, vi, SPLAT, FMA, SUFFIX) and vec_lanes_end.h; rsc_planar.c puts
// each inclusion under its own target ISA.
//
// The convolution vectorises over pixels: a vector holds VW neighbouring pixels of one channel, a
// register block NO output channels x NPX vectors, and every weight is broadcast once per block.
#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)
#define FN(name) CAT(name, SUFFIX)
// vectors of pixels per register block: NO * NPX accumulators, NPX input vectors and a broadcast
#define NPX (VW == 16 ? 4 : 2)

// acc[o][p] (o < NO, p < np) += sum over input channels i < nin and taps of in[i][ky][x + p * VW + kx] *
// W[i][ky * 3 + kx][o]; in: the top-left window row (column x - 1 of the row above), channels cs apart,
// rows rs apart. W: [nin][9][NO].
static inline __attribute__((always_inline)) void FN(block)(vf *acc, int np, const float *in, size_t cs, size_t rs,
                                                            int nin, const float *W) {
    for (int i = 0; i < nin; i++, in += cs, W += 9 * SV_RSC_PLANAR_NO)
        for (int t = 0; t < 9; t++) {
            const float *src = in + (size_t)(t / 3) * rs + (size_t)(t % 3);
            vf x[NPX];
#pragma GCC unroll 4
            for (int p = 0; p < np; p++) memcpy(&x[p], src + (size_t)p * VW, sizeof(vf));
#pragma GCC unroll 4
            for (int o = 0; o < SV_RSC_PLANAR_NO; o++) {
                const vf wv = SPLAT(W[t * SV_RSC_PLANAR_NO + o]);
#pragma GCC unroll 4
                for (int p = 0; p < np; p++) acc[o * NPX + p] = FMA(x[p], wv, acc[o * NPX + p]);
            }
        }
}

// One output row of a 3x3 conv (rsc_planar.c's conv_row says what it computes).
static void FN(conv_row)(float *out, size_t ocs, const float *in, size_t cs, size_t rs, int nin, int ngroups,
                         const float *W, const float *b, int nvec, int relu) {
    for (int g = 0; g < ngroups; g++, W += (size_t)nin * 9 * SV_RSC_PLANAR_NO, b += SV_RSC_PLANAR_NO)
        for (int v = 0; v < nvec;) {
            const int np = nvec - v >= NPX ? NPX : 1;
            vf acc[SV_RSC_PLANAR_NO * NPX];
            for (int o = 0; o < SV_RSC_PLANAR_NO; o++)
                for (int p = 0; p < np; p++) acc[o * NPX + p] = SPLAT(b[o]);
            const float *src = in + (size_t)v * VW;
            if (np == NPX) FN(block)(acc, NPX, src, cs, rs, nin, W);
            else FN(block)(acc, 1, src, cs, rs, nin, W);
            for (int o = 0; o < SV_RSC_PLANAR_NO; o++)
                for (int p = 0; p < np; p++) {
                    vf a = acc[o * NPX + p];
                    if (relu) a = (vf)((vi)a & (a > (vf){0}));  // ReLU
                    memcpy(out + (size_t)(g * SV_RSC_PLANAR_NO + o) * ocs + (size_t)(v + p) * VW, &a, sizeof(vf));
                }
            v += np;
        }
}

#undef NPX
#undef FN
#undef CAT
#undef CAT_
