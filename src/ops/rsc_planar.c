// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// rsc_planar.c: the planar RSC block (rsc_internal.h). Each thread takes a band of rows and walks down it in
// strips of R rows, with three small planar maps of its own that stay in cache:
//   G [nin][R + 4][ws]    y[S] for image rows s0 - 2 .. s1 + 1 (the strip's rows and both convs' halos)
//   M [nmid'][R + 2][ws]  relu(conv1) for image rows s0 - 1 .. s1
//   O [nout'][ws]         conv2's output for one row, added into y[K2] at once
//   T [nin][2][ws]        y[S] of the two rows below the band, read before any thread writes
// (nmid', nout': rounded up to SV_RSC_PLANAR_NO; column c of a row is image column c - 1, zero outside the
// image, and so are rows outside it). The next strip's first four rows of G and two of M are the last ones
// of this strip, moved up: nothing is gathered or computed twice, and y's rows are read before this thread
// adds into them. The rows of the neighbouring bands a thread reads (its first strip's upper halo, T) are
// gathered before a barrier that precedes every write.
#include "ops/rsc_internal.h"

#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "core/layout.h"
#include "ops/conv_internal.h"

// The channels of an index list (S or K2) as y holds them, for moving whole rows of them. Where y is blk 16
// and the CPU has AVX-512, the channels that share one of y's channel blocks, when there are at least
// SV_RSC_PLANAR_TRANSPOSE_MIN of them, move 16 pixels at a time through a 16 x 16 transpose (a group);
// the others (and every channel past the last whole 16 pixels) move a float at a time.
typedef struct {
    size_t plane;            // the channel block's offset in y
    int n, lane[16], pos[16];  // its channels in the list: lane in the block, position in the list
    unsigned mask;           // their lanes
} lane_group;

typedef struct {
    lane_group *groups;
    int ngroups;
    size_t *off;   // every channel of the list: where it lies in y at pixel (0, 0)
    int *single;   // the positions of those in no group
    int nsingle;
} row_moves;

struct rsc_planar {
    int h, w, blk, nin, nmid, nout;
    int ngm, ngo;             // groups of SV_RSC_PLANAR_NO mid / output channels
    int R, nt, vw, nvec;      // strip rows, threads, vector width, vectors per row
    size_t ws;                // floats per map row
    size_t tfloats;           // one thread's maps
    row_moves in, out;        // S's and K2's channels in y
    float *w1, *b1, *w2, *b2; // [ngm][nin][9][NO], [ngm * NO]; [ngo][nmid][9][NO], [ngo * NO]
};

// The conv row kernels: out[o][x] = b[o] + sum over i < nin, ky, kx of W * in[i][ky][x + kx] (ReLU'd when
// relu), for o < ngroups * NO and x < nvec * VW. in: column 0 of the output row's upper neighbour (image
// column -1), channels cs apart, rows rs apart; out: channels ocs apart.
#define VW 8
#define SUFFIX _8
#include "ops/vec_lanes.h"
#include "ops/rsc_planar_kernel.h"
#include "ops/vec_lanes_end.h"

#include "ops/avx512_begin.h"
#define VW 16
#define SUFFIX _16
#include "ops/vec_lanes.h"
#include "ops/rsc_planar_kernel.h"
#include "ops/vec_lanes_end.h"

// t[j] lane i <- t[i] lane j: unpack pairs of floats, then of doubles, then swap 128-bit lanes twice.
static inline __attribute__((always_inline)) void transpose16(__m512 t[16]) {
    __m512 u[16];
#pragma GCC unroll 16
    for (int i = 0; i < 16; i += 2) {
        u[i] = _mm512_unpacklo_ps(t[i], t[i + 1]);      // per 128-bit lane L: rows i, i+1 at 4L, 4L+1
        u[i + 1] = _mm512_unpackhi_ps(t[i], t[i + 1]);  // at 4L+2, 4L+3
    }
#pragma GCC unroll 16
    for (int g = 0; g < 4; g++)  // rows 4g..4g+3 at column 4L+m: c[4g+m]
#pragma GCC unroll 16
        for (int h = 0; h < 2; h++) {
            const __m512d a = _mm512_castps_pd(u[4 * g + h]), b = _mm512_castps_pd(u[4 * g + 2 + h]);
            t[4 * g + 2 * h] = _mm512_castpd_ps(_mm512_unpacklo_pd(a, b));
            t[4 * g + 2 * h + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(a, b));
        }
#pragma GCC unroll 16
    for (int m = 0; m < 4; m++) {  // the 4 x 4 transpose of 128-bit lanes of c[m], c[4+m], c[8+m], c[12+m]
        const __m512 d0 = _mm512_shuffle_f32x4(t[m], t[4 + m], 0x44), d1 = _mm512_shuffle_f32x4(t[m], t[4 + m], 0xEE),
                     d2 = _mm512_shuffle_f32x4(t[8 + m], t[12 + m], 0x44),
                     d3 = _mm512_shuffle_f32x4(t[8 + m], t[12 + m], 0xEE);
        u[m] = _mm512_shuffle_f32x4(d0, d2, 0x88);       // column m of lane 0
        u[4 + m] = _mm512_shuffle_f32x4(d0, d2, 0xDD);   // of lane 1
        u[8 + m] = _mm512_shuffle_f32x4(d1, d3, 0x88);
        u[12 + m] = _mm512_shuffle_f32x4(d1, d3, 0xDD);
    }
#pragma GCC unroll 16
    for (int j = 0; j < 16; j++) t[j] = u[j];
}

// Pixels [0, x1) (x1 a multiple of 16) of the groups' channels: from a row of y to planar rows dst + pos * cs.
static void gather_groups(const float *row, const lane_group *g, int ng, int x1, float *dst, size_t cs) {
    float tmp[16][16] __attribute__((aligned(64)));
    for (; ng > 0; ng--, g++)
        for (int x = 0; x < x1; x += 16) {
            __m512 t[16];
#pragma GCC unroll 16
            for (int p = 0; p < 16; p++) t[p] = _mm512_loadu_ps(row + g->plane + (size_t)(x + p) * 16);
            transpose16(t);
#pragma GCC unroll 16
            for (int j = 0; j < 16; j++) _mm512_store_ps(tmp[j], t[j]);
            for (int c = 0; c < g->n; c++) _mm512_storeu_ps(dst + g->pos[c] * cs + x, _mm512_load_ps(tmp[g->lane[c]]));
        }
}

// The same pixels added from planar rows src + pos * cs into a row of y (only the groups' lanes change).
static void add_groups(float *row, const lane_group *g, int ng, int x1, const float *src, size_t cs) {
    float tmp[16][16] __attribute__((aligned(64)));
    memset(tmp, 0, sizeof tmp);
    for (; ng > 0; ng--, g++)
        for (int x = 0; x < x1; x += 16) {
            __m512 t[16];
            for (int c = 0; c < g->n; c++) _mm512_store_ps(tmp[g->lane[c]], _mm512_loadu_ps(src + g->pos[c] * cs + x));
#pragma GCC unroll 16
            for (int j = 0; j < 16; j++) t[j] = _mm512_load_ps(tmp[j]);
            transpose16(t);
#pragma GCC unroll 16
            for (int p = 0; p < 16; p++) {
                float *q = row + g->plane + (size_t)(x + p) * 16;
                const __m512 v = _mm512_loadu_ps(q);
                _mm512_storeu_ps(q, _mm512_mask_add_ps(v, (__mmask16)g->mask, v, t[p]));
            }
        }
}
#include "ops/avx512_end.h"

static int groups(int c) { return (c + SV_RSC_PLANAR_NO - 1) / SV_RSC_PLANAR_NO; }

// Floats per map row: image columns -1 .. w and beyond, room for whole vectors of 16.
static size_t row_floats(int w) { return (size_t)(w + 15) / 16 * 16 + 16; }

// Strip rows when the desc leaves them open: G and M within about SV_RSC_PLANAR_CACHE floats.
static int strip_rows(const sv_rsc_desc *d) {
    if (d->strip_rows > 0) return d->strip_rows;
    const size_t per_row = (size_t)(d->nin + groups(d->nmid) * SV_RSC_PLANAR_NO) * row_floats(d->w);
    long r = (long)(SV_RSC_PLANAR_CACHE / per_row) - 3;
    return r < 1 ? 1 : r > d->h ? d->h : (int)r;
}

static int threads(const sv_rsc_desc *d) { return d->threads > 0 ? d->threads : omp_get_max_threads(); }

// One thread's maps, in floats.
static size_t thread_floats(const sv_rsc_desc *d, int R) {
    const size_t rows = (size_t)d->nin * (R + 6) + (size_t)groups(d->nmid) * SV_RSC_PLANAR_NO * (R + 2) +
                        (size_t)groups(d->nout) * SV_RSC_PLANAR_NO;
    return rows * row_floats(d->w);
}

int sv_rsc_planar_takes(const sv_rsc_desc *d) { return d->k == 3; }

size_t sv_rsc_planar_workspace(const sv_rsc_desc *d) { return (size_t)threads(d) * thread_floats(d, strip_rows(d)); }

// W [ngroups][cin][9][NO] from PyTorch's [cout][cin][3][3], zero beyond cout; b [ngroups * NO].
static void pack(float *W, float *b, const float *w, const float *bias, int cin, int cout) {
    const int ng = groups(cout), NO = SV_RSC_PLANAR_NO;
    memset(W, 0, (size_t)ng * cin * 9 * NO * sizeof(float));
    memset(b, 0, (size_t)ng * NO * sizeof(float));
    for (int o = 0; o < cout; o++) {
        b[o] = bias[o];
        for (int i = 0; i < cin; i++)
            for (int t = 0; t < 9; t++) W[(((size_t)(o / NO) * cin + i) * 9 + t) * NO + o % NO] = w[((size_t)o * cin + i) * 9 + t];
    }
}

// The moves of list idx (NULL: 0 .. n-1), n channels of y; groups only when transposes (rsc_planar says
// when). Returns -1 when out of memory.
static int make_moves(row_moves *m, const int *idx, int n, const sv_rsc_desc *d, int transposes, sv_err *e) {
    const int nblk = (d->C + d->blk - 1) / d->blk;
    m->off = sv_malloc((size_t)n * sizeof(size_t), e);
    m->single = m->off ? sv_malloc((size_t)n * sizeof(int), e) : NULL;
    m->groups = m->single ? sv_calloc((size_t)nblk, sizeof(lane_group), e) : NULL;
    if (!m->groups) return -1;
    for (int i = 0; i < n; i++) m->off[i] = sv_fmap_index(idx ? idx[i] : i, 0, 0, d->h, d->w, d->blk);
    for (int b = 0; b < nblk; b++) {
        lane_group *g = &m->groups[m->ngroups];
        for (int i = 0; i < n; i++) {
            const int c = idx ? idx[i] : i;
            if (c / d->blk == b) g->lane[g->n] = c % d->blk, g->pos[g->n] = i, g->mask |= 1u << (c % d->blk), g->n++;
        }
        if (transposes && g->n >= SV_RSC_PLANAR_TRANSPOSE_MIN) {
            g->plane = sv_fmap_index(b * d->blk, 0, 0, d->h, d->w, d->blk);
            m->ngroups++;
            continue;
        }
        for (int j = 0; j < g->n; j++) m->single[m->nsingle++] = g->pos[j];
        *g = (lane_group){0};
    }
    return 0;
}

static void free_moves(row_moves *m) {
    free(m->off);
    free(m->single);
    free(m->groups);
}

rsc_planar *sv_rsc_planar_create(const sv_rsc_desc *d, sv_err *e) {
    rsc_planar *k = sv_calloc(1, sizeof *k, e);
    if (!k) return NULL;
    *k = (rsc_planar){.h = d->h, .w = d->w, .blk = d->blk, .nin = d->nin, .nmid = d->nmid, .nout = d->nout,
                      .ngm = groups(d->nmid), .ngo = groups(d->nout), .R = strip_rows(d), .nt = threads(d),
                      .vw = sv_conv_avx512() ? 16 : 8, .ws = row_floats(d->w)};
    k->tfloats = thread_floats(d, k->R);
    k->nvec = (d->w + k->vw - 1) / k->vw;
    const size_t NO = SV_RSC_PLANAR_NO, n1 = (size_t)k->ngm * NO * (9 * (size_t)d->nin + 1),
                 n2 = (size_t)k->ngo * NO * (9 * (size_t)d->nmid + 1);
    const int transposes = k->vw == 16 && d->blk == 16;
    if (make_moves(&k->in, d->in_idx, d->nin, d, transposes, e) ||
        make_moves(&k->out, d->out_idx, d->nout, d, transposes, e) ||
        !(k->w1 = sv_malloc((n1 + n2) * sizeof(float), e))) {
        sv_rsc_planar_free(k);
        return NULL;
    }
    k->b1 = k->w1 + (size_t)k->ngm * NO * 9 * d->nin;
    k->w2 = k->w1 + n1;
    k->b2 = k->w2 + (size_t)k->ngo * NO * 9 * d->nmid;
    pack(k->w1, k->b1, d->w1, d->b1, d->nin, d->nmid);
    pack(k->w2, k->b2, d->w2, d->b2, d->nmid, d->nout);
    return k;
}

static void conv_row(const rsc_planar *k, float *out, size_t ocs, const float *in, size_t cs, int nin, int ngroups,
                     const float *W, const float *b, int relu) {
    if (k->vw == 16) conv_row_16(out, ocs, in, cs, k->ws, nin, ngroups, W, b, k->nvec, relu);
    else conv_row_8(out, ocs, in, cs, k->ws, nin, ngroups, W, b, k->nvec, relu);
}

// One thread's maps and the band it walks.
typedef struct {
    float *G, *M, *O, *T;
    size_t gcs, mcs;   // channel strides of G and M
    int b0, b1;        // the band's image rows
    double sec[4];     // gather, conv1, conv2, add into y
} band;

// Image row r of y[S] into row dst of a map with channel stride cs (zero outside the image).
static void gather_row(const rsc_planar *k, const float *y, float *dst, size_t cs, int r) {
    if (r < 0 || r >= k->h) {
        for (int i = 0; i < k->nin; i++) memset(dst + i * cs, 0, k->ws * sizeof(float));
        return;
    }
    const float *row = y + (size_t)r * k->w * k->blk;
    const row_moves *m = &k->in;
    const int x1 = m->ngroups ? k->w / 16 * 16 : 0;  // the groups' pixels [0, x1) go by transposes
    dst += 1;
    if (x1) gather_groups(row, m->groups, m->ngroups, x1, dst, cs);
    for (int x = 0; x < k->w; x++) {
        const float *px = row + (size_t)x * k->blk;
        for (int j = 0; j < m->nsingle; j++) dst[m->single[j] * cs + (size_t)x] = px[m->off[m->single[j]]];
        for (int g = 0; x >= x1 && g < m->ngroups; g++)
            for (int c = 0; c < m->groups[g].n; c++) {
                const int i = m->groups[g].pos[c];
                dst[i * cs + (size_t)x] = px[m->off[i]];
            }
    }
}

// Image row r of y[S] for a strip after the band's first: from y inside the band (not yet written: this
// thread writes only rows above the strip), from T below it.
static void gather_later(const rsc_planar *k, const band *b, const float *y, float *dst, int r) {
    if (r < b->b1 || r >= k->h) {
        gather_row(k, y, dst, b->gcs, r);
        return;
    }
    for (int i = 0; i < k->nin; i++)
        memcpy(dst + i * b->gcs, b->T + ((size_t)i * 2 + (size_t)(r - b->b1)) * k->ws, k->ws * sizeof(float));
}

// Row m of relu(conv1) into M's row j, from G whose row 0 is image row g0.
static void mid_row(const rsc_planar *k, const band *b, int m, int j, int g0) {
    float *dst = b->M + (size_t)j * k->ws;
    if (m < 0 || m >= k->h) {
        for (int c = 0; c < k->ngm * SV_RSC_PLANAR_NO; c++) memset(dst + c * b->mcs, 0, k->ws * sizeof(float));
        return;
    }
    conv_row(k, dst + 1, b->mcs, b->G + (size_t)(m - 1 - g0) * k->ws, b->gcs, k->nin, k->ngm, k->w1, k->b1, 1);
    const size_t tail = (size_t)k->nvec * k->vw - (size_t)k->w;  // columns past the image: conv2's padding
    for (int c = 0; tail && c < k->ngm * SV_RSC_PLANAR_NO; c++)
        memset(dst + c * b->mcs + 1 + k->w, 0, tail * sizeof(float));
}

// Row r of conv2 from M (row 0: image row m0), added into y[K2].
static void out_row(const rsc_planar *k, band *b, float *y, int r, int m0) {
    double t0 = omp_get_wtime();
    conv_row(k, b->O, k->ws, b->M + (size_t)(r - 1 - m0) * k->ws, b->mcs, k->nmid, k->ngo, k->w2, k->b2, 0);
    double t1 = omp_get_wtime();
    float *row = y + (size_t)r * k->w * k->blk;
    const row_moves *mv = &k->out;
    const int x1 = mv->ngroups ? k->w / 16 * 16 : 0;
    if (x1) add_groups(row, mv->groups, mv->ngroups, x1, b->O, k->ws);
    for (int x = 0; x < k->w; x++) {
        float *px = row + (size_t)x * k->blk;
        for (int j = 0; j < mv->nsingle; j++) px[mv->off[mv->single[j]]] += b->O[mv->single[j] * k->ws + (size_t)x];
        for (int g = 0; x >= x1 && g < mv->ngroups; g++)
            for (int c = 0; c < mv->groups[g].n; c++) {
                const int o = mv->groups[g].pos[c];
                px[mv->off[o]] += b->O[o * k->ws + (size_t)x];
            }
    }
    b->sec[2] += t1 - t0;
    b->sec[3] += omp_get_wtime() - t1;
}

// Moves rows [from, from + n) of every channel of a map (nc channels cs apart) to rows [0, n).
static void move_up(float *m, int nc, size_t cs, size_t ws, int from, int n) {
    for (int c = 0; c < nc; c++) memmove(m + c * cs, m + c * cs + (size_t)from * ws, (size_t)n * ws * sizeof(float));
}

// The band's strips after the barrier (its first strip's G already gathered).
static void walk(const rsc_planar *k, band *b, float *y) {
    for (int s0 = b->b0, first = 1, n = 0; s0 < b->b1; s0 += n, first = 0) {
        double t0 = omp_get_wtime();
        if (!first) {
            move_up(b->G, k->nin, b->gcs, k->ws, n, 4);
            move_up(b->M, k->ngm * SV_RSC_PLANAR_NO, b->mcs, k->ws, n, 2);
        }
        n = b->b1 - s0 < k->R ? b->b1 - s0 : k->R;
        for (int r = s0 + 2; !first && r <= s0 + n + 1; r++) gather_later(k, b, y, b->G + (size_t)(r - s0 + 2) * k->ws, r);
        double t1 = omp_get_wtime();
        for (int m = first ? s0 - 1 : s0 + 1; m <= s0 + n; m++) mid_row(k, b, m, m - s0 + 1, s0 - 2);
        b->sec[0] += t1 - t0;
        b->sec[1] += omp_get_wtime() - t1;
        for (int r = s0; r < s0 + n; r++) out_row(k, b, y, r, s0 - 1);
    }
}

void sv_rsc_planar_run(rsc_planar *k, float *y, float *ws, double sec[4]) {
    double s[4] = {0, 0, 0, 0};
#pragma omp parallel num_threads(k->nt)
    {
        const int nt = omp_get_num_threads(), t = omp_get_thread_num(), R = k->R;
        band b = {.G = ws + (size_t)t * k->tfloats,
                  .gcs = (size_t)(R + 4) * k->ws, .mcs = (size_t)(R + 2) * k->ws,
                  .b0 = (int)((long)k->h * t / nt), .b1 = (int)((long)k->h * (t + 1) / nt)};
        b.M = b.G + (size_t)k->nin * b.gcs;
        b.O = b.M + (size_t)k->ngm * SV_RSC_PLANAR_NO * b.mcs;
        b.T = b.O + (size_t)k->ngo * SV_RSC_PLANAR_NO * k->ws;
        const double t0 = omp_get_wtime();
        if (b.b0 < b.b1) {
            // the maps' columns outside the image are zero (every row of them, which lie back to back:
            // what is inside the image, and rows outside it, each run writes); then every row this band
            // reads from its neighbours, before any thread writes y
            for (float *row = b.G; row < b.G + k->tfloats; row += k->ws) {
                row[0] = 0.0f;
                memset(row + 1 + k->w, 0, (k->ws - 1 - (size_t)k->w) * sizeof(float));
            }
            const int n = b.b1 - b.b0 < R ? b.b1 - b.b0 : R;
            for (int r = b.b0 - 2; r <= b.b0 + n + 1; r++) gather_row(k, y, b.G + (size_t)(r - b.b0 + 2) * k->ws, b.gcs, r);
            for (int r = b.b1; r < b.b1 + 2 && r < k->h; r++)
                gather_row(k, y, b.T + (size_t)(r - b.b1) * k->ws, 2 * k->ws, r);
        }
#pragma omp barrier
        b.sec[0] = omp_get_wtime() - t0;
        if (b.b0 < b.b1) walk(k, &b, y);
#pragma omp critical(sv_rsc_planar_phase)
        for (int i = 0; i < 4; i++) s[i] += b.sec[i];
    }
    for (int i = 0; i < 4; i++) sec[i] = s[i];
}

int sv_rsc_planar_lanes(const rsc_planar *k) { return k->vw; }

void sv_rsc_planar_free(rsc_planar *k) {
    if (!k) return;
    free_moves(&k->in);
    free_moves(&k->out);
    free(k->w1);
    free(k);
}
