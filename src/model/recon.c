// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// recon.c: the reconstruction of one output frame, in row tiles of the LR frame.
//
// y_i = conv_last(act(conv_hr(ps(act(upconv2(ps(act(upconv1(act(fusion(cat[B_i, F_i])))))))))) + up4(x_i)
// (a uni model: fusion(F_i), basicvsr.h)
//
// The maps at x2 and x4 (upconv1's and upconv2's shuffled outputs, conv_hr's) are 64 channels each: for a
// whole frame about 10 KB per input pixel. So a tile of LR rows is reconstructed at a time, and only the
// output frame is held whole. Each conv of the chain runs on a window of its input rows (stages: fusion and
// upconv1 at LR, upconv2 at x2, conv_hr and conv_last at x4), found from conv_last's output rows backwards:
// each window holds the rows its conv needs for the next window, and between convs the next window is cut
// out of the output in place (compact), so a stage computes only a few rows more than its share.
//
// Bit-identical to one whole-frame pass. A conv on a window uses its own zero padding, so the rows next to
// a window's inner edge are wrong; they are never used. A Winograd conv (ops/conv_winograd.c) computes its
// outputs in m x m tiles (m = 4 or 6) counted from its input's first row, and in rounding each output of a
// tile depends on the tile's whole (m+2)-row input: so every window starts on a multiple of SV_RECON_ALIGN
// (12 = lcm(4, 6)) rows at its resolution, and reaches GROUP (6 >= m) rows beyond the rows wanted from it
// on both sides (the whole tile of a wanted row, and its input, lie inside). The 1x1 fusion needs nothing
// more. The conv plans choose F(6x6) or F(4x4) by size (ops/conv_plan.c: at least 24 output rows for
// F(6x6)): every window is the whole frame at its resolution or has at least MIN_ROWS = 24 rows, so a tile's
// plans choose what a whole-frame plan would. tests/test_recon_tiles.c compares every byte.
//
// Each tile's output rows are a band (runner.h: sv_output_fn): the bilinear base of those rows
// (resize_bilinear_rows, bit-identical to the whole frame's) plus conv_last's rows, handed to the output
// callback as the tile finishes, so no whole float output frame is ever held.
#include "model/recon.h"

#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/layout.h"
#include "core/parallel.h"
#include "ops/ops.h"

enum { GROUP = 6, MIN_ROWS = 24, FAR = 4 * SV_RECON_ALIGN };
static const int stage_scale[SV_RECON_STAGES] = {1, 2, SV_SCALE, SV_SCALE};  // input resolution / LR
static const int stage_up[SV_RECON_STAGES] = {2, 2, 1, 1};                   // output rows per input row

// A tile: the LR rows it emits, and each stage's input window (first row, rows) at its resolution.
typedef struct {
    int e0, e1;
    int s[SV_RECON_STAGES], n[SV_RECON_STAGES];
} tile;

static int floor_align(int x) { return x <= 0 ? 0 : x / SV_RECON_ALIGN * SV_RECON_ALIGN; }

// The windows that LR rows [e0, e1) of a frame of h rows need (h <= 0: no bottom), from conv_last back.
static void windows(int h, int e0, int e1, tile *t) {
    int a = SV_SCALE * e0, b = SV_SCALE * e1;  // output rows wanted from the stage
    for (int j = SV_RECON_STAGES - 1; j >= 0; j--) {
        const int H = h > 0 ? stage_scale[j] * h : 0, lo = a / stage_up[j], hi = (b + stage_up[j] - 1) / stage_up[j];
        int s = floor_align(lo - GROUP), e = H && hi + GROUP > H ? H : hi + GROUP;
        if (e - s < MIN_ROWS) s = floor_align(e - MIN_ROWS);
        t->s[j] = s, t->n[j] = e - s;
        a = s, b = e;
    }
}

// The windows of a tile of tile_rows away from the frame's edges (all such tiles have the same shape: tile
// starts are multiples of SV_RECON_ALIGN LR rows, so of 2 and 4 times that at x2 and x4).
static void full_windows(int tile_rows, int n[SV_RECON_STAGES]) {
    tile t;
    windows(0, FAR, FAR + tile_rows, &t);
    memcpy(n, t.n, sizeof t.n);
}

int sv_runner_tiles_used(int h, int tile_rows) {
    if (tile_rows <= 0) return h;
    tile_rows = tile_rows < SV_RECON_ALIGN ? SV_RECON_ALIGN : tile_rows / SV_RECON_ALIGN * SV_RECON_ALIGN;
    int n[SV_RECON_STAGES];
    full_windows(tile_rows, n);
    for (int j = 0; j < SV_RECON_STAGES; j++)  // a window as tall as the frame at any stage: no gain
        if (n[j] >= stage_scale[j] * h) return h;
    return tile_rows;
}

// The next tile (call with t->e1 = 0 first); 0 when the frame is done.
static int next_tile(const sv_vsr_runner *r, tile *t) {
    const int h = r->h;
    if (t->e1 >= h) return 0;
    t->e0 = t->e1;
    int last = t->e0 + r->tile_rows >= h;
    if (!last) {  // a full one, unless some window would pass the frame's bottom
        windows(h, t->e0, t->e0 + r->tile_rows, t);
        for (int j = 0; j < SV_RECON_STAGES; j++) {
            t->n[j] = r->recon_rows[j];
            if (t->s[j] + t->n[j] > stage_scale[j] * h) last = 1;
        }
    }
    t->e1 = last ? h : t->e0 + r->tile_rows;
    if (last) windows(h, t->e0, h, t);
    return 1;
}

void sv_recon_layout(sv_vsr_runner *r, int tile_rows) {
    const int h = r->h;
    r->tile_rows = sv_runner_tiles_used(h, tile_rows);
    memset(r->recon_tail_rows, 0, sizeof r->recon_tail_rows);
    if (r->tile_rows == h) {
        for (int j = 0; j < SV_RECON_STAGES; j++) r->recon_rows[j] = stage_scale[j] * h;
        return;
    }
    full_windows(r->tile_rows, r->recon_rows);
    tile t = {0};
    while (next_tile(r, &t)) {}
    int differs = 0;
    for (int j = 0; j < SV_RECON_STAGES; j++) differs |= t.n[j] != r->recon_rows[j];
    if (differs) memcpy(r->recon_tail_rows, t.n, sizeof t.n);
}

int sv_recon_buffer_rows(const sv_vsr_runner *r, int stage) {
    const int a = r->recon_rows[stage], b = r->recon_tail_rows[stage];
    return a > b ? a : b;
}

// The five convs for one set of windows (n: each stage's rows; one set for the full tiles, one for the last
// when it differs).
static int plan_set(sv_vsr_runner *r, sv_conv_op *op[SV_RECON_CONVS], const int n[SV_RECON_STAGES], int tap,
                    sv_err *e) {
    const sv_model *m = r->m;
    const float slope = m->act_slope;
    const int w = r->w, W = SV_SCALE * r->w;
    // The pixel shuffles are fused into the convs before them (upconv1/2 write the shuffled map), and so is
    // the activation after each, which is element-wise. The taps (test hook) see whole frames only.
    return sv_plan_conv(r, op[0], "fusion", &m->fusion, n[0], w, 1, slope, 0, tap ? "fusion" : NULL, e) ||
           sv_plan_conv(r, op[1], "upconv1", &m->upconv1, n[0], w, 1, slope, SV_OP_SHUFFLE,
                        tap ? "upconv1" : NULL, e) ||
           sv_plan_conv(r, op[2], "upconv2", &m->upconv2, n[1], 2 * w, 1, slope, SV_OP_SHUFFLE, NULL, e) ||
           sv_plan_conv(r, op[3], "conv_hr", &m->conv_hr, n[2], W, 1, slope, 0, NULL, e) ||
           sv_plan_conv(r, op[4], "conv_last", &m->conv_last, n[3], W, 0, 0.0f, 0,
                        tap ? "conv_last" : NULL, e)
               ? -1
               : 0;
}

static void recon_ops(sv_vsr_runner *r, int tail, sv_conv_op *op[SV_RECON_CONVS]) {
    if (tail) {
        for (int j = 0; j < SV_RECON_CONVS; j++) op[j] = &r->tail[j];
        return;
    }
    op[0] = &r->fusion, op[1] = &r->upconv1, op[2] = &r->upconv2, op[3] = &r->conv_hr, op[4] = &r->conv_last;
}

int sv_recon_plan(sv_vsr_runner *r, sv_err *e) {
    sv_conv_op *op[SV_RECON_CONVS];
    recon_ops(r, 0, op);
    if (plan_set(r, op, r->recon_rows, r->tile_rows == r->h, e)) return -1;
    if (!r->recon_tail_rows[0]) return 0;
    recon_ops(r, 1, op);
    return plan_set(r, op, r->recon_tail_rows, 0, e);
}

// Rows [s0, s0+n) of src ([c, sh, w], layout sblk) to rows [d0, d0+n) of channels dc0.. of dst ([*, dh, w],
// layout dblk). In one layout, with whole blocks of channels, each block's rows are one run of memory.
static void copy_rows(float *dst, int dh, int d0, int dc0, int dblk, const float *src, int sh, int s0, int sblk,
                      int c, int n, int w) {
    if (sblk == dblk && dc0 % dblk == 0 && c % dblk == 0) {
        const size_t run = (size_t)n * w * dblk;
#pragma omp parallel for schedule(static) if (run * (size_t)(c / dblk) >= SV_OMP_MIN_WORK)
        for (int b = 0; b < c / dblk; b++)
            memcpy(dst + sv_fmap_index(dc0 + b * dblk, d0, 0, dh, w, dblk),
                   src + sv_fmap_index(b * dblk, s0, 0, sh, w, sblk), run * sizeof(float));
        return;
    }
#pragma omp parallel for collapse(2) schedule(static) if ((size_t)c * n * w >= SV_OMP_MIN_WORK)
    for (int ch = 0; ch < c; ch++)
        for (int y = 0; y < n; y++) {
            float *d = dst + sv_fmap_index(dc0 + ch, d0 + y, 0, dh, w, dblk);
            const float *s = src + sv_fmap_index(ch, s0 + y, 0, sh, w, sblk);
            for (int x = 0; x < w; x++) d[(size_t)x * dblk] = s[(size_t)x * sblk];
        }
}

// In place: the map p [c, rows, w] (layout blk) becomes its rows [off, off+n) ([c, n, w]). Each block of
// channels moves to a lower address (n <= rows), block after block, so nothing is overwritten before it
// is read. Within a block, the run moves in steps no longer than the distance it moves (a step's source
// and destination do not overlap), each step copied by all threads.
static void compact(float *p, int c, int rows, int off, int n, int w, int blk) {
    if (off == 0 && n == rows) return;
    const size_t row = (size_t)w * blk, len = (size_t)n * row, part = (size_t)1 << 15;
    for (int b = 0; b < sv_cpad(c, blk) / blk; b++) {
        float *d = p + (size_t)b * len;
        const float *s = p + ((size_t)b * rows + off) * row;
        const size_t shift = (size_t)(s - d), step = shift < len ? shift : len;
        for (size_t x = 0; shift && x < len; x += step) {
            const size_t m = len - x < step ? len - x : step;
#pragma omp parallel for schedule(static) if (m >= SV_OMP_MIN_WORK)
            for (size_t k = 0; k < m; k += part) memcpy(d + x + k, s + x + k, (m - k < part ? m - k : part) * sizeof(float));
        }
    }
}

// One tile: the chain over its windows, output rows [4 t->e0, 4 t->e1) into the band r->out_band. The
// copies between the convs count as SV_PROF_CONCAT in the per-layer profile (model/profile.h); the convs
// time themselves.
static void recon_tile(sv_vsr_runner *r, sv_conv_op *op[SV_RECON_CONVS], int i, const float *x, const float *fb,
                       const float *ff, const tile *t) {
    const sv_model *m = r->m;
    const int C = r->C, h = r->h, w = r->w, blk = r->blk, W = SV_SCALE * w, H = SV_SCALE * h;
    const int *s = t->s, *n = t->n;
    sv_prof_table *pt = &r->base.table;
    double t0 = sv_now();
    const int nst = fb ? 2 : 1;  // the hidden states fusion reads: cat[B_i, F_i], or F_i (uni)
    channel_zero_padding(sv_fmap_one(r->fuse_in, nst * C, n[0], w, blk));  // it lies in the runner's arena
    if (fb) copy_rows(r->fuse_in, n[0], 0, 0, blk, fb, h, s[0], blk, C, n[0], w);
    copy_rows(r->fuse_in, n[0], 0, (nst - 1) * C, blk, ff, h, s[0], blk, C, n[0], w);
    sv_prof_lap(pt, SV_PROF_CONCAT, t0);
    sv_run_conv(r, op[0], r->fuse_out, r->fuse_in, NULL, i);
    sv_run_conv(r, op[1], r->ps1, r->fuse_out, NULL, i);  // + pixel shuffle: rows 2 s[0] .. at x2
    t0 = sv_now();
    compact(r->ps1, m->upconv1.cout / SV_SHUFFLE_GROUP, 2 * n[0], s[1] - 2 * s[0], n[1], 2 * w, blk);
    sv_prof_lap(pt, SV_PROF_CONCAT, t0);
    sv_run_conv(r, op[2], r->ps2, r->ps1, NULL, i);       // + pixel shuffle: rows 2 s[1] .. at x4
    t0 = sv_now();
    compact(r->ps2, m->upconv2.cout / SV_SHUFFLE_GROUP, 2 * n[1], s[2] - 2 * s[1], n[2], W, blk);
    sv_prof_lap(pt, SV_PROF_CONCAT, t0);
    sv_run_conv(r, op[3], r->hr, r->ps2, NULL, i);
    t0 = sv_now();
    compact(r->hr, m->conv_hr.cout, n[2], s[3] - s[2], n[3], W, blk);
    sv_prof_lap(pt, SV_PROF_CONCAT, t0);
    // conv_last into out_blk (ps2 is free again), in the runner's layout; the tile's output rows of it are
    // added onto their bilinear base in the band: base + conv is the sum the conv's own residual add would
    // make, bit for bit, without copying the base into the blocked layout and back
    sv_run_conv(r, op[4], r->out_blk, r->hr, NULL, i);
    t0 = sv_now();
    const int y0 = SV_SCALE * t->e0, ny = SV_SCALE * (t->e1 - t->e0);
    resize_bilinear_rows(r->out_band, x, 3, h, w, H, W, y0, ny, 0, 1);
    channel_add(sv_fmap_one(r->out_band, 3, ny, W, 1),
                sv_fmap_rows(sv_fmap_one(r->out_blk, 3, n[3], W, blk), y0 - s[3], ny));
    sv_prof_lap(pt, SV_PROF_BILINEAR, t0);
}

// The test hook's whole bilinear base (a frame the runner itself never holds).
static void tap_base(sv_vsr_runner *r, int i, const float *x) {
    const int h = r->h, w = r->w, H = SV_SCALE * h, W = SV_SCALE * w;
    float *base = r->base.tap ? malloc((size_t)3 * H * W * sizeof *base) : NULL;
    if (!base) return;
    resize_bilinear_forward(base, x, 3, h, w, H, W, 0, 1);
    sv_tap_emit(r, "bilinear_base", i, base, 3, H, W, 1);
    free(base);
}

// One tile, then its band to out (its time counted as the output's: *emit).
static int tile_out(sv_vsr_runner *r, sv_conv_op *op[SV_RECON_CONVS], int i, const float *x, const float *fb,
                    const float *ff, const tile *t, sv_output_fn out, void *ud, double *emit, sv_err *e) {
    recon_tile(r, op, i, x, fb, ff, t);
    if (r->conv_failed || !out) return 0;
    const double t0 = sv_now();
    const int rc = out(ud, i, SV_SCALE * t->e0, SV_SCALE * (t->e1 - t->e0), r->out_band, e);
    *emit += sv_now() - t0;
    return rc;
}

int sv_reconstruct(sv_vsr_runner *r, int i, const float *x, const float *fb, const float *ff, sv_output_fn out,
                   void *ud, double *emit, sv_err *e) {
    const int h = r->h;
    tap_base(r, i, x);
    sv_conv_op *op[SV_RECON_CONVS];
    tile t = {.e1 = 0};
    if (r->tile_rows == h) {  // the whole frame: every window is the whole map
        t.e1 = h;
        for (int j = 0; j < SV_RECON_STAGES; j++) t.s[j] = 0, t.n[j] = r->recon_rows[j];
        recon_ops(r, 0, op);
        return tile_out(r, op, i, x, fb, ff, &t, out, ud, emit, e);
    }
    while (next_tile(r, &t) && !r->conv_failed) {
        recon_ops(r, r->recon_tail_rows[0] && t.e1 == h, op);
        if (tile_out(r, op, i, x, fb, ff, &t, out, ud, emit, e)) return -1;
    }
    return 0;
}

int sv_recon_band_rows(const sv_vsr_runner *r) {
    if (r->tile_rows == r->h) return SV_SCALE * r->h;
    int most = 0;
    tile t = {.e1 = 0};
    while (next_tile(r, &t))
        if (t.e1 - t.e0 > most) most = t.e1 - t.e0;
    return SV_SCALE * most;
}
