// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// conv_winograd512.c: our Winograd's block of tiles (conv_winograd_block.h) at 16 channels per vector,
// compiled for AVX-512F; conv_winograd.c plans it for blk 16 where sv_conv_avx512() says the CPU has it.
#include <string.h>
#include <x86intrin.h>

#include "ops/avx512_begin.h"
#define WINO_L 16
#define WINO_BLOCK sv_wino_block16
#include "ops/conv_winograd_block.h"
#include "ops/avx512_end.h"
