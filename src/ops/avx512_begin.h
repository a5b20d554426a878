// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// avx512_begin.h / avx512_end.h: the functions between an include of each are compiled for AVX-512F (the
// build's baseline is AVX2); their callers check sv_conv_avx512() (ops/conv_internal.h) first.
// No include guard: each include opens one region.
#ifdef __clang__  // (the fuzzing build)
#pragma clang attribute push(__attribute__((target("avx512f"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx512f")
#endif
