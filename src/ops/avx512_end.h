// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// avx512_end.h: closes the region avx512_begin.h opened.
#ifdef __clang__
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif
