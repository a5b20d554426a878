// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// channels_simd.c: the vector kernels of the blocked channel moves and the plans they run
// (channels_internal.h says how a move becomes moves of units). AVX2 is always there (the build's
// -march); the AVX-512 kernels are compiled for it alone and run only where sv_move_isa says so.
#include <immintrin.h>
#include <stdlib.h>
#include <string.h>

#include "ops/channels_internal.h"
#include "ops/conv_internal.h"

int sv_move_isa(void) {
    return sv_conv_avx512() && __builtin_cpu_supports("avx512vl") ? SV_MOVE_AVX512 : SV_MOVE_AVX2;
}

// One channel of the move: destination unit du, lane dl; source unit su, lane sl (units numbered from
// channel 0 of the map: unit u holds channels u*width .. u*width + width-1).
typedef struct {
    int du, dl, su, sl;
} move_entry;

// AVX2: a unit fed from this many source units or more is one gather move (vgatherdps). On Zen 4, with blk 8
// on both sides at 180x320 and 24 or 35 of 64 channels spread over the map, gather moves from 3 source units
// on beat both the permute moves and the scalar loop; from 1 or 2 the permutes are cheaper.
enum { MOVE_GATHER_FROM = 3 };

// Pixels one move runs over before the next move takes them: the lines a chunk touches stay in L1 between
// the moves even where a map's planes lie a multiple of 4 KiB apart (180x320 at blk 8 or 16: every block
// of a pixel in one L1 set). Chunks of 64 pixels made the AVX-512 moves slower than the scalar loop on
// Zen 4; 8 and 16 were the fastest.
enum { MOVE_CHUNK = 16 };

size_t sv_move_plan_bytes(int nc) { return (size_t)nc * (sizeof(sv_move) + sizeof(move_entry)); }

static int entry_cmp(const void *a, const void *b) {
    const move_entry *x = a, *y = b;
    if (x->du != y->du) return (x->du > y->du) - (x->du < y->du);
    return (x->su > y->su) - (x->su < y->su);
}

// Offset of unit u (width lanes) of a map of layout blk from its pixel: where its first channel lies.
static size_t unit_off(int u, int width, int blk, size_t plane) {
    const int c = u * width;
    return (size_t)(c / blk) * plane + (size_t)(c % blk);
}

// mv[0 .. nm-1] with the moves of each unit together: on AVX2, the moves of a unit fed from
// MOVE_GATHER_FROM source units or more become one gather move. Returns the new count.
static int to_gathers(sv_move *mv, int nm) {
    int out = 0;
    for (int j = 0; j < nm;) {
        int j1 = j + 1, fits = 1;  // fits: every offset an int32
        while (j1 < nm && mv[j1].doff == mv[j].doff) j1++;
        for (int q = j; q < j1; q++) fits &= mv[q].sa + 15 <= INT32_MAX;
        if (j1 - j < MOVE_GATHER_FROM || !fits) {
            while (j < j1) mv[out++] = mv[j++];
            continue;
        }
        sv_move g = {.doff = mv[j].doff, .gather = 1};
        for (; j < j1; j++) {
            for (int l = 0; l < 8; l++)
                if (mv[j].mask >> l & 1) g.goff[l] = (int32_t)(mv[j].sa + (size_t)mv[j].idx[l]);
            g.mask |= mv[j].mask;
        }
        mv[out++] = g;
    }
    return out;
}

// The same on AVX-512: two moves into one unit become one, the second's lanes at 16 .. of the index.
static int to_pairs(sv_move *mv, int nm) {
    int out = 0;
    for (int j = 0; j < nm; j++) {
        sv_move m = mv[j];
        if (j + 1 < nm && mv[j + 1].doff == m.doff) {
            const sv_move *b = &mv[++j];
            for (int l = 0; l < 16; l++)
                if (b->mask >> l & 1) m.idx[l] = 16 + b->idx[l];
            m.mask |= b->mask;
            m.sb = b->sa;
        }
        mv[out++] = m;
    }
    return out;
}

int sv_move_plan_make(sv_move_plan *mp, sv_fmap dst, const int *di, sv_fmap src, const int *si, int nc, int add,
                      int isa, void *mem) {
    const int bd = dst.blk, bs = src.blk;
    if ((bd != 8 && bd != 16) || (bs != 8 && bs != 16) || nc <= 0) return -1;
    if (isa != SV_MOVE_AVX2 && isa != SV_MOVE_AVX512) return -1;
    const int wd = isa == SV_MOVE_AVX2 ? 8 : bd, ws = isa == SV_MOVE_AVX2 ? 8 : bs;  // unit widths
    sv_move *mv = mem;
    move_entry *e = (move_entry *)(mv + nc);
    for (int i = 0; i < nc; i++) {
        const int dc = dst.c0 + (di ? di[i] : i), sc = src.c0 + (si ? si[i] : i);
        e[i] = (move_entry){dc / wd, dc % wd, sc / ws, sc % ws};
    }
    qsort(e, (size_t)nc, sizeof *e, entry_cmp);
    // one move per (destination unit, source unit), its lanes filled in
    int nm = 0;
    uint32_t written = 0;  // lanes of the current destination unit
    for (int i = 0; i < nc; i++) {
        const int new_unit = i == 0 || e[i].du != e[i - 1].du;
        if (new_unit) written = 0;
        if (written >> e[i].dl & 1) return -1;  // a destination channel twice
        written |= 1u << e[i].dl;
        if (new_unit || e[i].su != e[i - 1].su) {
            memset(&mv[nm], 0, sizeof mv[nm]);
            mv[nm].doff = unit_off(e[i].du, wd, bd, dst.plane);
            mv[nm].sa = mv[nm].sb = unit_off(e[i].su, ws, bs, src.plane);
            nm++;
        }
        mv[nm - 1].idx[e[i].dl] = e[i].sl;
        mv[nm - 1].mask |= 1u << e[i].dl;
    }
    if (isa == SV_MOVE_AVX512) nm = to_pairs(mv, nm);
    // AVX2 between blk 8 maps: gather moves where a unit has many sources. With blk 16 on a side (AVX2 on a
    // CPU that prefers 16: the configured "AVX2 only") gather moves, and permute moves of fewer than 2
    // channels on average, lost to the scalar loop on Zen 4 (a 64-channel y, 8 to 35 channels spread)
    const int blk8 = bd == 8 && bs == 8;
    if (isa == SV_MOVE_AVX2 && blk8) nm = to_gathers(mv, nm);
    if (isa == SV_MOVE_AVX2 && !blk8 && 2 * nm > nc) return -1;
    for (int j = 0; j < nm; j++)
        for (int l = 0; l < 8; l++) mv[j].sel[l] = mv[j].mask >> l & 1 ? -1 : 0;
    *mp = (sv_move_plan){.isa = isa, .add = add, .bd = bd, .bs = bs, .nmoves = nm, .moves = mv};
    return 0;
}

// ---- AVX2: units of 8 floats ----
// A gather move over pixels p0 .. p1-1 (lanes outside the mask gather the pixel's first float: offset 0).
static inline __attribute__((always_inline)) void gather8(const sv_move *m, float *d, const float *x, size_t p0,
                                                          size_t p1, int bd, int bs, int add, int full) {
    const __m256i off = _mm256_loadu_si256((const __m256i *)m->goff);
    const __m256 sel = _mm256_castsi256_ps(_mm256_loadu_si256((const __m256i *)m->sel));
    float *dp = d + m->doff + p0 * (size_t)bd;
    const float *xp = x + p0 * (size_t)bs;
    for (size_t p = p0; p < p1; p++, dp += bd, xp += bs) {
        __m256 t = _mm256_i32gather_ps(xp, off, 4);
        if (add || !full) {
            const __m256 v = _mm256_loadu_ps(dp);
            if (add) t = _mm256_add_ps(v, t);
            if (!full) t = _mm256_blendv_ps(v, t, sel);
        }
        _mm256_storeu_ps(dp, t);
    }
}

// Move m over pixels p0 .. p1-1; bd, bs, add, full (every lane of the unit written) constant where inlined.
static inline __attribute__((always_inline)) void move8(const sv_move *m, float *d, const float *x, size_t p0,
                                                        size_t p1, int bd, int bs, int add, int full) {
    const __m256i idx = _mm256_loadu_si256((const __m256i *)m->idx);
    const __m256 sel = _mm256_castsi256_ps(_mm256_loadu_si256((const __m256i *)m->sel));
    float *dp = d + m->doff + p0 * (size_t)bd;
    const float *xp = x + m->sa + p0 * (size_t)bs;
    for (size_t p = p0; p < p1; p++, dp += bd, xp += bs) {
        __m256 t = _mm256_permutevar8x32_ps(_mm256_loadu_ps(xp), idx);
        if (add || !full) {
            const __m256 v = _mm256_loadu_ps(dp);
            if (add) t = _mm256_add_ps(v, t);
            if (!full) t = _mm256_blendv_ps(v, t, sel);
        }
        _mm256_storeu_ps(dp, t);
    }
}

// Move m over pixels p0 .. p1-1, the kernel specialised for its layouts, kind and mask.
static void one_move8(const sv_move *m, int bd, int bs, int add, float *d, const float *x, size_t p0, size_t p1) {
    const int f = m->mask == 0xff, b = (bd == 16) * 2 + (bs == 16);
#define MOVE8(BD, BS)                                                \
    do {                                                             \
        if (m->gather) {                                             \
            if (add && f) gather8(m, d, x, p0, p1, BD, BS, 1, 1);    \
            else if (add) gather8(m, d, x, p0, p1, BD, BS, 1, 0);    \
            else if (f) gather8(m, d, x, p0, p1, BD, BS, 0, 1);      \
            else gather8(m, d, x, p0, p1, BD, BS, 0, 0);             \
        } else if (add && f) move8(m, d, x, p0, p1, BD, BS, 1, 1);   \
        else if (add) move8(m, d, x, p0, p1, BD, BS, 1, 0);          \
        else if (f) move8(m, d, x, p0, p1, BD, BS, 0, 1);            \
        else move8(m, d, x, p0, p1, BD, BS, 0, 0);                   \
    } while (0)
    if (b == 0) MOVE8(8, 8);
    else if (b == 1) MOVE8(8, 16);
    else if (b == 2) MOVE8(16, 8);
    else MOVE8(16, 16);
#undef MOVE8
}

// ---- AVX-512: units of one block; two source units per move ----
#define AVX512 __attribute__((target("avx512f,avx512vl")))

// One source unit of bs floats as a vector (8 floats: the upper half zero).
static inline __attribute__((always_inline)) AVX512 __m512 load_unit(const float *x, int bs) {
    return bs == 16 ? _mm512_loadu_ps(x) : _mm512_zextps256_ps512(_mm256_loadu_ps(x));
}

static inline __attribute__((always_inline)) AVX512 void move16(const sv_move *m, float *d, const float *x,
                                                                size_t p0, size_t p1, int bd, int bs, int add,
                                                                int two) {
    const __m512i idx = _mm512_loadu_si512(m->idx);
    const __mmask16 k = (__mmask16)m->mask;
    float *dp = d + m->doff + p0 * (size_t)bd;
    const float *xa = x + m->sa + p0 * (size_t)bs, *xb = x + m->sb + p0 * (size_t)bs;
    for (size_t p = p0; p < p1; p++, dp += bd, xa += bs, xb += bs) {
        const __m512 t = two ? _mm512_permutex2var_ps(load_unit(xa, bs), idx, load_unit(xb, bs))
                             : _mm512_permutexvar_ps(idx, load_unit(xa, bs));
        if (bd == 16) {
            _mm512_mask_storeu_ps(dp, k, add ? _mm512_add_ps(_mm512_loadu_ps(dp), t) : t);
        } else {
            const __m256 t8 = _mm512_castps512_ps256(t);
            _mm256_mask_storeu_ps(dp, (__mmask8)k, add ? _mm256_add_ps(_mm256_loadu_ps(dp), t8) : t8);
        }
    }
}

// Two moves into one unit, each from two source units, in one pass: one store per pixel.
static inline __attribute__((always_inline)) AVX512 void move16x2(const sv_move *m, float *d, const float *x,
                                                                  size_t p0, size_t p1, int bd, int bs, int add) {
    const __m512i i1 = _mm512_loadu_si512(m[0].idx), i2 = _mm512_loadu_si512(m[1].idx);
    const __mmask16 k2 = (__mmask16)m[1].mask, k = (__mmask16)(m[0].mask | m[1].mask);
    float *dp = d + m->doff + p0 * (size_t)bd;
    const float *xa = x + m[0].sa + p0 * (size_t)bs, *xb = x + m[0].sb + p0 * (size_t)bs;
    const float *xc = x + m[1].sa + p0 * (size_t)bs, *xe = x + m[1].sb + p0 * (size_t)bs;
    for (size_t p = p0; p < p1; p++, dp += bd, xa += bs, xb += bs, xc += bs, xe += bs) {
        const __m512 t1 = _mm512_permutex2var_ps(load_unit(xa, bs), i1, load_unit(xb, bs));
        const __m512 t2 = _mm512_permutex2var_ps(load_unit(xc, bs), i2, load_unit(xe, bs));
        const __m512 t = _mm512_mask_mov_ps(t1, k2, t2);
        if (bd == 16) {
            _mm512_mask_storeu_ps(dp, k, add ? _mm512_add_ps(_mm512_loadu_ps(dp), t) : t);
        } else {
            const __m256 t8 = _mm512_castps512_ps256(t);
            _mm256_mask_storeu_ps(dp, (__mmask8)k, add ? _mm256_add_ps(_mm256_loadu_ps(dp), t8) : t8);
        }
    }
}

// Moves m[0] and m[1] (into one unit, each from two source units) over pixels p0 .. p1-1.
AVX512 static void two_moves16(const sv_move *m, int bd, int bs, int add, float *d, const float *x, size_t p0,
                               size_t p1) {
    const int b = (bd == 16) * 2 + (bs == 16);
#define MOVE16X2(BD, BS)                                            \
    do {                                                            \
        if (add) move16x2(m, d, x, p0, p1, BD, BS, 1);              \
        else move16x2(m, d, x, p0, p1, BD, BS, 0);                  \
    } while (0)
    if (b == 0) MOVE16X2(8, 8);
    else if (b == 1) MOVE16X2(8, 16);
    else if (b == 2) MOVE16X2(16, 8);
    else MOVE16X2(16, 16);
#undef MOVE16X2
}

AVX512 static void one_move16(const sv_move *m, int bd, int bs, int add, float *d, const float *x, size_t p0,
                              size_t p1) {
    const int two = m->sb != m->sa, b = (bd == 16) * 2 + (bs == 16);
#define MOVE16(BD, BS)                                               \
    do {                                                             \
        if (add && two) move16(m, d, x, p0, p1, BD, BS, 1, 1);       \
        else if (add) move16(m, d, x, p0, p1, BD, BS, 1, 0);         \
        else if (two) move16(m, d, x, p0, p1, BD, BS, 0, 1);         \
        else move16(m, d, x, p0, p1, BD, BS, 0, 0);                  \
    } while (0)
    if (b == 0) MOVE16(8, 8);
    else if (b == 1) MOVE16(8, 16);
    else if (b == 2) MOVE16(16, 8);
    else MOVE16(16, 16);
#undef MOVE16
}

void sv_move_plan_run(const sv_move_plan *mp, float *d, const float *x, size_t p0, size_t p1) {
    for (size_t c0 = p0; c0 < p1; c0 += MOVE_CHUNK) {
        const size_t c1 = c0 + MOVE_CHUNK < p1 ? c0 + MOVE_CHUNK : p1;
        for (int j = 0; j < mp->nmoves; j++) {
            const sv_move *m = &mp->moves[j];
            if (mp->isa != SV_MOVE_AVX512) {
                one_move8(m, mp->bd, mp->bs, mp->add, d, x, c0, c1);
            } else if (j + 1 < mp->nmoves && m[1].doff == m->doff && m->sb != m->sa && m[1].sb != m[1].sa) {
                two_moves16(m, mp->bd, mp->bs, mp->add, d, x, c0, c1);  // a unit fed from 3 or 4 source units
                j++;
            } else {
                one_move16(m, mp->bd, mp->bs, mp->add, d, x, c0, c1);
            }
        }
    }
}
