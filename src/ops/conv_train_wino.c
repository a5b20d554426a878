// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// conv_train_wino.c: our own Winograd (conv_winograd.c) in the training conv (conv_train.c), for the
// forward, backward-data and backward-weights phases of a k x k conv (k = 3, and k = 7 when forced).
//
//   forward:          out = [act](conv(in, w) + b) [+ residual]         one sv_wino over the batch
//   backward-data:    din += conv(dout, w')                               a second sv_wino over the batch,
//     w'[i][o][ky][kx] = w[o][i][k-1-ky][k-1-kx] (in/out swapped, rotated 180 degrees), pad k-1-pad, no
//     bias, no activation; din is the residual and the output at once (sv_wino_run allows the alias), so
//     the gradient is added in the output transform with no extra pass.
//   backward-weights: dw += sv_wino_backward_weights on the forward's plan (its tiles and input transform),
//     where the forward is F(4x4,3x3); the bias gradient stays with the caller.
// The optimiser changes w every step while the plans stay: each phase keeps a copy of the weights (and
// bias) it last transformed and re-transforms (sv_wino_set_weights) only when the caller's differ, i.e. once
// per step although the recurrent trunk calls each conv once per frame. The copy costs nw floats and a
// memcmp per call (~10 us for 64x64x3x3), the transform ~1 ms per step and conv.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/layout.h"
#include "ops/conv_internal.h"

struct sv_train_wino {
    sv_conv_desc d;
    int n;
    sv_wino *fwd, *bwd;  // NULL: that phase stays on oneDNN
    int mf, mb;          // their output tiles
    float *fseen;        // [nw + cout] weights and bias (zeros for none) in fwd's transform; NULL: none yet
    float *bseen;        // [nw] weights in bwd's transform; NULL: none yet
    float *wt;           // [cin][cout][k][k] transposed and rotated weights for bwd
};

static size_t nweights(const sv_conv_desc *d) { return (size_t)d->cout * d->cin * d->k * d->k; }

// The output tile for a k x k conv: F(4x4,3x3), or F(4x4,7x7) for k 7, unless forced (SV_CONV_WINO*) to
// another. Not F(6x6,3x3), which inference uses from 24x24 on: at 64x64 (the training patch) it measured no
// faster than F(4x4) here (64 = 10 2/3 tiles of 6: a partial tile column and row), and its rounding (about 4
// times F(4x4)'s) took a cancelling bias gradient of test_train (norm 3e-6) to 1.3e-3 from float64, over
// the 1e-3 bar; with F(4x4) the worst there is 3.4e-4 (oneDNN's: 1.0e-3).
// k 7 (SPyNet) only when forced: F(4x4,7x7) measured 4x faster than oneDNN on forward and backward-data
// (32->64 at 64x64, batch 24) and F(2x2,7x7) 1.7x, but SPyNet's gradients (norms 1e-7..1e-9, sums that
// cancel to 1e-4 of their terms) then miss test_train's bar by far: 1.3e-2 and 8.7e-3 from float64.
static int tile_for(int k, int forced) {
    if (k == 3) return forced == SV_CONV_WINO6 ? 6 : 4;
    return forced == SV_CONV_WINO7 ? 2 : 4;
}

// Whether Winograd takes a conv of this shape with cin input channels (the forward's cin, or cout for
// backward-data): k 3 (or 7 when forced), blk 8/16, no shuffle, pad <= k-1; cin >= min_cin unless forced.
// The forward keeps oneDNN below 5 input channels (its kernel for a 3-channel nchw src: 0.15 ms against
// Winograd's 0.43 for 3->64 at 64x64, n 2); backward-data takes any (oneDNN's diff_src with 3 channels is
// slow: 64->3 at 256x256, n 2, blk 8: 32 ms against 7.9).
static int takes(const sv_conv_desc *d, int cin, int min_cin, int forced) {
    const int k_ok = forced ? (d->k == 3 && (forced == SV_CONV_WINO || forced == SV_CONV_WINO6)) ||
                                  (d->k == 7 && (forced == SV_CONV_WINO7 || forced == SV_CONV_WINO7F4))
                            : d->k == 3;
    return k_ok && (d->blk == 8 || d->blk == 16) && !d->shuffle && d->pad <= d->k - 1 && (forced || cin >= min_cin);
}

sv_train_wino *sv_train_wino_create(const sv_conv_desc *d, int n, int forced, sv_err *e) {
    const int oh = d->h + 2 * d->pad - d->k + 1, ow = d->w + 2 * d->pad - d->k + 1;
    const int do_f = takes(d, d->cin, 5, forced), do_b = takes(d, d->cout, 1, forced);
    if (!do_f && !do_b) {
        sv_errf(e, "winograd training conv: not for k %d blk %d %d -> %d", d->k, d->blk, d->cin, d->cout);
        return NULL;
    }
    sv_train_wino *t = sv_calloc(1, sizeof *t, e);
    if (!t) return NULL;
    t->d = *d, t->n = n;
    const size_t nw = nweights(d);
    // the plans are made with zero weights; the first call transforms the real ones
    float *zero = sv_calloc(nw + (size_t)d->cout, sizeof(float), e);
    if (!zero) goto fail;
    if (do_f) {
        t->mf = tile_for(d->k, forced);
        if (!(t->fwd = sv_wino_create(d, zero, NULL, t->mf, 0, e))) goto fail;
    }
    if (do_b) {
        const sv_conv_desc db = {.cin = d->cout, .cout = d->cin, .k = d->k, .pad = d->k - 1 - d->pad, .h = oh,
                                 .w = ow, .blk = d->blk, .residual = 1};
        t->mb = tile_for(d->k, forced);
        if (!(t->bwd = sv_wino_create(&db, zero, NULL, t->mb, 0, e)) || !(t->wt = sv_malloc(nw * sizeof(float), e)))
            goto fail;
    }
    free(zero);
    return t;
fail:
    free(zero);
    sv_train_wino_free(t);
    return NULL;
}

int sv_train_wino_wgrad(const sv_train_wino *t) { return t && t->fwd && t->mf == 4 && t->d.k == 3; }

int sv_train_wino_backward_weights(sv_train_wino *t, float *dw, const float *dout, const float *in, sv_err *e) {
    return sv_wino_backward_weights(t->fwd, t->n, in, dout, dw, e);
}

int sv_train_wino_lanes(const sv_train_wino *t) {
    const sv_wino *w = t ? (t->fwd ? t->fwd : t->bwd) : NULL;
    return w ? sv_wino_lanes(w) : 0;
}

int sv_train_wino_tile(const sv_train_wino *t, int backward) {
    if (!t) return 0;
    return backward ? (t->bwd ? t->mb : 0) : (t->fwd ? t->mf : 0);
}

size_t sv_train_wino_bytes(const sv_conv_desc *d) {
    if (!takes(d, d->cin, 5, 0) && !takes(d, d->cout, 1, 0)) return 0;
    const size_t cinp = (size_t)sv_cpad(d->cin, d->blk), coutp = (size_t)sv_cpad(d->cout, d->blk);
    const size_t a = (size_t)(d->k == 3 ? 6 : 10);  // F(4x4,3x3) / F(4x4,7x7): input tile
    // the two transformed weights and the copies (the runs' scratch is allocated per call and freed)
    return (2 * a * a * cinp * coutp + 3 * nweights(d) + (size_t)d->cout) * sizeof(float);
}

// Whether buffer *seen (nw floats, then nb) already holds w (and b: NULL reads as zeros); if not, copies
// them in (allocating *seen on first use). Returns 1: same, 0: changed, -1: out of memory.
static int same_weights(float **seen, const float *w, size_t nw, const float *b, size_t nb, sv_err *e) {
    if (!*seen) {
        if (!(*seen = sv_malloc((nw + nb) * sizeof(float), e))) return -1;
    } else if (!memcmp(*seen, w, nw * sizeof(float))) {
        int same = 1;
        for (size_t i = 0; i < nb && same; i++) same = (*seen)[nw + i] == (b ? b[i] : 0.0f);
        if (same) return 1;
    }
    memcpy(*seen, w, nw * sizeof(float));
    for (size_t i = 0; i < nb; i++) (*seen)[nw + i] = b ? b[i] : 0.0f;
    return 0;
}

// out [n][cout,oh,ow] = [act](conv(in [n][cin,h,w]) + b) [+ residual] (residual may alias out or be NULL)
int sv_train_wino_forward(sv_train_wino *t, float *out, const float *in, const float *w, const float *b,
                          const float *residual, sv_err *e) {
    const int same = same_weights(&t->fseen, w, nweights(&t->d), b, (size_t)t->d.cout, e);
    if (same < 0) return -1;
    if (!same && sv_wino_set_weights(t->fwd, w, b, e)) return -1;
    return sv_wino_run_batch(t->fwd, t->n, out, in, residual, e);
}

// din [n][cin,h,w] += conv^T(dout [n][cout,oh,ow]) with the forward's weights w [cout,cin,k,k]
int sv_train_wino_backward_data(sv_train_wino *t, float *din, const float *dout, const float *w, sv_err *e) {
    const sv_conv_desc *d = &t->d;
    const int k = d->k, kk = k * k;
    const int same = same_weights(&t->bseen, w, nweights(d), NULL, 0, e);
    if (same < 0) return -1;
    if (!same) {
        for (int o = 0; o < d->cout; o++)
            for (int i = 0; i < d->cin; i++)
                for (int j = 0; j < kk; j++)  // tap j = ky*k + kx -> kk-1-j = (k-1-ky)*k + (k-1-kx)
                    t->wt[((size_t)i * d->cout + o) * kk + j] = w[((size_t)o * d->cin + i) * kk + (kk - 1 - j)];
        if (sv_wino_set_weights(t->bwd, t->wt, NULL, e)) return -1;
    }
    return sv_wino_run_batch(t->bwd, t->n, din, dout, din, e);
}

void sv_train_wino_free(sv_train_wino *t) {
    if (!t) return;
    sv_wino_free(t->fwd);
    sv_wino_free(t->bwd);
    free(t->fseen);
    free(t->bseen);
    free(t->wt);
    free(t);
}
