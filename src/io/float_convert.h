// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// float_convert.h: little-endian float16 / bfloat16 / float32 / float64 element arrays -> float32, used by
// the checkpoint readers, and float32 -> float16 for the fp16 writer. Exact for float16 and bfloat16
// (subnormals, inf and NaN included); float64 is rounded to nearest (overflow gives +-inf). The source may
// be unaligned.
#pragma once
#include <stddef.h>
#include <stdint.h>

typedef enum { SV_FC_F32, SV_FC_F16, SV_FC_BF16, SV_FC_F64 } sv_fc_type;

// Size in bytes of one element of type t.
int sv_fc_size(sv_fc_type t);
// Converts one element at src.
float sv_fc_one(sv_fc_type t, const uint8_t *src);
// Converts n contiguous elements.
void sv_fc_array(sv_fc_type t, const uint8_t *src, float *dst, size_t n);
// float32 -> IEEE binary16, rounded to nearest even (subnormals kept; beyond 65504 rounds to inf, NaN stays
// NaN). The exact inverse of sv_fc_one(SV_FC_F16, ...) on every value float16 can hold.
uint16_t sv_fc_f32_to_f16(float f);
