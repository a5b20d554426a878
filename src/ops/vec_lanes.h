// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// vec_lanes.h / vec_lanes_end.h: the vector words of a kernel written once for 8 or 16 float lanes
// (rsc_direct_kernel.h, rsc_planar_kernel.h). Define VW (8 or 16) and SUFFIX (a token naming the
// instantiation), include this, the kernel, then vec_lanes_end.h; 16 lanes inside an avx512_begin.h region.
// Gives: vf (a GCC vector of VW floats), vi (VW ints), SPLAT(s) (s in every lane), FMA(a, b, c) (a * b + c,
// fused: C11 mode contracts no a * b + c itself), PERMUTE(a, idx) (lane i: lane idx[i] of a).
// No include guard: each include opens one instantiation.
#include <immintrin.h>

#if VW == 8
#ifndef SV_VEC_LANES_8
#define SV_VEC_LANES_8
typedef float sv_vf8 __attribute__((vector_size(32)));
typedef int sv_vi8 __attribute__((vector_size(32)));
#endif
#define vf sv_vf8
#define vi sv_vi8
#define SPLAT(s) ((vf)_mm256_set1_ps(s))
#define FMA(a, b, c) ((vf)_mm256_fmadd_ps((__m256)(a), (__m256)(b), (__m256)(c)))
#define PERMUTE(a, idx) ((vf)_mm256_permutevar8x32_ps((__m256)(a), (__m256i)(idx)))
#elif VW == 16
#ifndef SV_VEC_LANES_16
#define SV_VEC_LANES_16
typedef float sv_vf16 __attribute__((vector_size(64)));
typedef int sv_vi16 __attribute__((vector_size(64)));
#endif
#define vf sv_vf16
#define vi sv_vi16
#define SPLAT(s) ((vf)_mm512_set1_ps(s))
#define FMA(a, b, c) ((vf)_mm512_fmadd_ps((__m512)(a), (__m512)(b), (__m512)(c)))
#define PERMUTE(a, idx) ((vf)_mm512_permutexvar_ps((__m512i)(idx), (__m512)(a)))
#else
#error "vec_lanes.h: VW must be 8 or 16"
#endif
