// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// test_recon_tiles.c: the reconstruction in row tiles (model/recon.c) gives the bytes of the whole-frame
// pass: dense and RSC-pruned models (narrower upconvs and conv_hr), odd frame sizes (narrow ones, whose LR
// convs take Winograd F(4x4), and wider ones, F(6x6)), several tile heights, blk 8 and 16 and the
// reference mode; and the tiles hold less memory.
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/runner.h"
#include "ops/conv.h"
#include "prune/ssl.h"
#include "testutil.h"

enum { NF = 2 };


// NF output frames of model m on random frames of h x w, reconstructed in tiles of tile_rows; *bytes: the
// runner's buffers.
static float *run(const sv_model *m, int h, int w, sv_exec_mode mode, int tile_rows, size_t *bytes) {
    float *x = malloc(sizeof(float) * NF * 3 * h * w);
    uint64_t st = 7;
    tu_fill_uniform(x, (size_t)NF * 3 * h * w, 0, 1, &st);
    sv_err e;
    sv_runner *r = sv_runner_create_tiled(m, h, w, NF, mode, tile_rows, &e);
    CHECKF(r, "%s", e.msg);
    tu_frames c = {NULL, (size_t)3 * 16 * h * w, 4 * w};
    if (r) {
        const float *fr[NF];
        for (int i = 0; i < NF; i++) fr[i] = x + (size_t)i * 3 * h * w;
        c.out = malloc(sizeof(float) * NF * c.frame);
        CHECKF(sv_runner_run(r, fr, NF, tu_collect_frame, &c, &e) == 0, "%s", e.msg);
        *bytes = sv_runner_bytes(r);
        sv_runner_free(r);
    }
    free(x);
    return c.out;
}

// The naive convs of the reference mode are slow at x4: one size and two tile heights for it.
static void compare_tiles(const char *what, const sv_model *m, sv_exec_mode mode) {
    const int sizes[][2] = {{49, 13}, {61, 25}, {75, 29}};
    const int tiles[] = {12, 24, 36}, ref = mode == SV_EXEC_REFERENCE;
    for (int s = 0; s < (ref ? 1 : 3); s++) {
        const int h = sizes[s][0], w = sizes[s][1];
        size_t whole_bytes = 0, bytes = 0;
        float *whole = run(m, h, w, mode, 0, &whole_bytes);
        for (int t = 0; t < (ref ? 2 : 3) && whole; t++) {
            float *tiled = run(m, h, w, mode, tiles[t], &bytes);
            if (!tiled) continue;
            const size_t n = (size_t)NF * 3 * 16 * h * w;
            CHECKF(!memcmp(whole, tiled, n * sizeof(float)), "%s, %dx%d, tiles of %d: differs (max %.3g)", what,
                   w, h, tiles[t], tu_max_abs_diff(whole, tiled, n));
            const int tiled_at_all = sv_runner_tiles_used(h, tiles[t]) < h;  // else the whole frame
            CHECKF(bytes < whole_bytes || !tiled_at_all, "%s, %dx%d, tiles of %d: %zu bytes, whole %zu", what, w, h, tiles[t], bytes,
                   whole_bytes);
            free(tiled);
        }
        free(whole);
    }
}

static void set_blk(int blk) {
    sv_err e;
    CHECKF(sv_conv_configure(&(sv_conv_config){.blk = blk}, &e) == 0, "%s", e.msg);
}

// A model with random weights whose blocks matter (x10 on the near-identity init).
static int make_model(sv_model *m, int feat, uint64_t seed) {
    if (tu_random_model(m, feat, 1, seed)) return -1;
    for (int t = 0; t < 2; t++) {
        sv_conv_layer *c = &m->trunk[t].blocks[0].conv2;
        for (size_t i = 0; i < (size_t)c->cout * c->cin * 9; i++) c->w[i] *= 10.0f;
    }
    return 0;
}

// RSC-pruned by SSL's cut with random scores: narrower blocks, upconvs and conv_hr.
static int make_pruned(sv_model *m, sv_model *out) {
    sv_units u;
    sv_err e;
    if (sv_units_build(&u, m, &e)) {
        CHECKF(0, "%s", e.msg);
        return -1;
    }
    uint64_t st = 3;
    tu_fill_uniform(u.score, u.nunits, 0, 1, &st);
    sv_select_opts o = {.ratio = 0.4, .global = 1, .round = 1};
    int rc = sv_units_select(&u, &o, &e) > 0 && !sv_units_fold(&u, m, &e) && !sv_prune_cut(&u, m, out, &e) ? 0 : -1;
    CHECKF(rc == 0, "%s", e.msg);
    CHECK(rc || out->upconv1.cout < m->upconv1.cout || out->conv_hr.cout < m->conv_hr.cout);
    sv_units_free(&u);
    return rc;
}

// Fast mode in both layouts, then the reference mode.
static void compare_modes(const char *what, const sv_model *m) {
    const int blks[] = {8, 16, 0};
    char name[64];
    for (int i = 0; i < 3; i++) {
        snprintf(name, sizeof name, blks[i] ? "%s, blk %d" : "%s, reference", what, blks[i]);
        set_blk(blks[i]);
        compare_tiles(name, m, blks[i] ? SV_EXEC_FAST : SV_EXEC_REFERENCE);
    }
}

static void test_dense(void) {
    sv_model m;
    if (make_model(&m, 16, 1)) return;
    compare_modes("dense", &m);
    sv_model_free(&m);
}

static void test_pruned(void) {
    sv_model m, p;
    if (make_model(&m, 13, 2)) return;
    if (!make_pruned(&m, &p)) {
        compare_modes("pruned", &p);
        sv_model_free(&p);
    }
    sv_model_free(&m);
}

// The estimate of a tiled runner covers its buffers, and a budget picks tiles that fit it.
static void test_tile_budget(void) {
    sv_model m;
    if (make_model(&m, 16, 3)) return;
    const int h = 200, w = 40;
    size_t whole, tiled, per;
    sv_runner_estimate_tiled(&m, h, w, SV_EXEC_FAST, 0, &whole, &per);
    sv_runner_estimate_tiled(&m, h, w, SV_EXEC_FAST, 24, &tiled, &per);
    CHECKF(tiled < whole / 5 * 3, "tiles of 24: %zu bytes, whole frame %zu", tiled, whole);
    CHECK(sv_runner_tile_rows(&m, h, w, SV_EXEC_FAST, whole) == 0);
    CHECK(sv_runner_tile_rows(&m, h, w, SV_EXEC_FAST, 0) == SV_RECON_ALIGN);
    const int t = sv_runner_tile_rows(&m, h, w, SV_EXEC_FAST, (whole + tiled) / 2);
    size_t got;
    sv_runner_estimate_tiled(&m, h, w, SV_EXEC_FAST, t, &got, &per);
    CHECKF(t > 24 && t % SV_RECON_ALIGN == 0 && got <= (whole + tiled) / 2, "tile rows %d: %zu bytes", t, got);
    sv_err e;
    sv_runner *r = sv_runner_create_tiled(&m, h, w, 2, SV_EXEC_FAST, t, &e);
    CHECKF(r, "%s", e.msg);
    if (r) {
        const size_t b = sv_runner_bytes(r), est = got + 2 * per;
        CHECKF(b <= est && est - b <= m.nparams * sizeof(float) * 16 + ((size_t)64 << 20), "buffers %zu, estimate %zu",
               b, est);
        sv_runner_free(r);
    }
    sv_model_free(&m);
}

// The default tiles (runner.h): the whole frame for a small frame; for a large one the largest tiles within
// SV_RECON_PIXEL_BYTES per input pixel, SV_RECON_FAST_ROWS at least (estimates allocate nothing, so real
// sizes cost nothing here).
static void test_default_tiles(void) {
    sv_model m;
    if (make_model(&m, 64, 4)) return;
    CHECK(sv_runner_default_tile_rows(&m, 180, 320, SV_EXEC_FAST) == 0);
    const int sizes[3][2] = {{720, 1280}, {1080, 1920}, {2160, 3840}};
    for (int s = 0; s < 3; s++) {
        const int h = sizes[s][0], w = sizes[s][1], t = sv_runner_default_tile_rows(&m, h, w, SV_EXEC_FAST);
        const size_t room = (size_t)h * w * SV_RECON_PIXEL_BYTES;
        size_t at, above, fast, per;
        sv_runner_estimate_tiled(&m, h, w, SV_EXEC_FAST, t, &at, &per);
        sv_runner_estimate_tiled(&m, h, w, SV_EXEC_FAST, t + SV_RECON_ALIGN, &above, &per);
        sv_runner_estimate_tiled(&m, h, w, SV_EXEC_FAST, SV_RECON_FAST_ROWS, &fast, &per);
        CHECKF(t >= SV_RECON_FAST_ROWS && t % SV_RECON_ALIGN == 0 && t < h, "%dx%d: tiles of %d rows", w, h, t);
        CHECKF(at <= (room > fast ? room : fast) && (above > room || t == SV_RECON_FAST_ROWS),
               "%dx%d: tiles of %d rows take %zu bytes, of %d %zu, room %zu", w, h, t, at, t + SV_RECON_ALIGN,
               above, room);
    }
    sv_model_free(&m);
}

// The bands a tiled runner hands over: in order from the top, each a tile's rows, none the whole frame.
typedef struct {
    int frames, bands, next, most, bad;  // next: the row the next band must start at
    int h4;
} band_log;

static int log_band(void *ud, int index, int y0, int rows, const float *chw, sv_err *e) {
    band_log *l = ud;
    if (index != l->frames || y0 != l->next || rows < 1) l->bad++;
    l->bands++;
    if (rows > l->most) l->most = rows;
    l->next = y0 + rows;
    if (l->next == l->h4) l->frames++, l->next = 0;
    return 0;
}

static void test_bands(void) {
    sv_model m;
    if (make_model(&m, 16, 5)) return;
    const int h = 100, w = 24, tile = 24;
    float *x = calloc((size_t)NF * 3 * h * w, sizeof *x);
    sv_err e;
    sv_runner *r = x ? sv_runner_create_tiled(&m, h, w, NF, SV_EXEC_FAST, tile, &e) : NULL;
    CHECKF(r, "%s", e.msg);
    if (r) {
        const float *fr[NF];
        for (int i = 0; i < NF; i++) fr[i] = x + (size_t)i * 3 * h * w;
        band_log l = {.h4 = 4 * h};
        CHECKF(sv_runner_run(r, fr, NF, log_band, &l, &e) == 0, "%s", e.msg);
        CHECKF(l.frames == NF && !l.bad && l.bands >= NF * 4 && l.most < 4 * 2 * tile,
               "%d frames in %d bands (%d out of order), the tallest %d rows", l.frames, l.bands, l.bad, l.most);
        sv_runner_free(r);
    }
    free(x);
    sv_model_free(&m);
}

int main(void) {
    run_test("recon_tiles_dense_bit_identical", test_dense);
    run_test("recon_tiles_pruned_bit_identical", test_pruned);
    run_test("recon_tiles_budget", test_tile_budget);
    run_test("recon_tiles_default", test_default_tiles);
    run_test("recon_tiles_bands", test_bands);
    return test_summary();
}
