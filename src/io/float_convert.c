// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// float_convert.c: see float_convert.h.
#include "io/float_convert.h"

#include <float.h>
#include <math.h>
#include <string.h>

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "slimvsr's checkpoint readers assume a little-endian host"
#endif

int sv_fc_size(sv_fc_type t) {
    switch (t) {
    case SV_FC_F16:
    case SV_FC_BF16: return 2;
    case SV_FC_F64: return 8;
    default: return 4;
    }
}

static float bits_to_f32(uint32_t b) {
    float f;
    memcpy(&f, &b, 4);
    return f;
}

static float half_to_f32(uint16_t h) {
    uint32_t sign = (uint32_t)(h >> 15) << 31, exp = (h >> 10) & 0x1f, mant = h & 0x3ff;
    if (exp == 0) {  // zero or subnormal: mant * 2^-24
        float v = ldexpf((float)mant, -24);
        return sign ? -v : v;
    }
    if (exp == 31) return bits_to_f32(sign | 0x7f800000u | mant << 13);  // inf / NaN
    return bits_to_f32(sign | (exp + 112) << 23 | mant << 13);
}

float sv_fc_one(sv_fc_type t, const uint8_t *src) {
    uint16_t h;
    double d;
    float f;
    switch (t) {
    case SV_FC_F16:
        memcpy(&h, src, 2);
        return half_to_f32(h);
    case SV_FC_BF16:
        memcpy(&h, src, 2);
        return bits_to_f32((uint32_t)h << 16);
    case SV_FC_F64:
        memcpy(&d, src, 8);
        if (isfinite(d) && fabs(d) > FLT_MAX) return d > 0 ? INFINITY : -INFINITY;
        return (float)d;
    default:
        memcpy(&f, src, 4);
        return f;
    }
}

void sv_fc_array(sv_fc_type t, const uint8_t *src, float *dst, size_t n) {
    if (t == SV_FC_F32) {
        memcpy(dst, src, n * 4);
        return;
    }
    int es = sv_fc_size(t);
    for (size_t i = 0; i < n; i++) dst[i] = sv_fc_one(t, src + i * (size_t)es);
}

uint16_t sv_fc_f32_to_f16(float f) {
    uint32_t b;
    memcpy(&b, &f, 4);
    uint16_t sign = (uint16_t)((b >> 16) & 0x8000u);
    uint32_t exp = (b >> 23) & 0xff, mant = b & 0x7fffffu;
    if (exp == 0xff) return sign | 0x7c00u | (mant ? 0x200u : 0);  // inf, NaN (quiet)
    int e = (int)exp - 127 + 15;                                     // the binary16 exponent
    if (e >= 31) return sign | 0x7c00u;                              // too large: inf
    uint32_t m = mant | 0x800000u;                                   // 24 significant bits
    int shift = 13;                                                  // bits dropped for a normal result
    if (e <= 0) {                                                    // subnormal (or zero) result
        shift = 14 - e;
        if (shift > 24) return sign;                                 // below half the smallest subnormal
        e = 0;
    }
    uint32_t q = m >> shift, rest = m & ((1u << shift) - 1), half = 1u << (shift - 1);
    if (rest > half || (rest == half && (q & 1))) q++;              // nearest, ties to even
    // q holds the implicit bit for a normal result: add the exponent on top. A carry out of the mantissa
    // (q reaching 0x800 or, subnormal, 0x400) lands in the exponent field, which is exactly right.
    if (e == 0) return sign | (uint16_t)q;
    return sign | (uint16_t)(((uint32_t)e << 10) + q - 0x400u);
}
