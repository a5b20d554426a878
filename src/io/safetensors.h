// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// safetensors.h: reads and writes the safetensors format (https://github.com/huggingface/safetensors).
//
// Layout: 8 bytes N (unsigned little-endian 64-bit) | N bytes of UTF-8 JSON header | byte buffer.
// The header starts with '{' and may be padded at the end with spaces (0x20). It maps each tensor name
// to {"dtype": "F32", "shape": [d0, d1, ...], "data_offsets": [begin, end]} (offsets relative to the
// byte buffer, end exclusive, C order, little-endian), plus an optional "__metadata__": {str: str}.
//
// Reading checks: N <= SV_SAFETENSORS_MAX_HEADER (100 MB, as the reference implementation) and
// 8 + N <= file size; the header is a JSON object of well-formed entries with unique names; dtype is
// F32, F16, BF16 or F64 (the last three are converted to float32; any other dtype is an error); at most
// SV_MAXDIM dimensions; end - begin == numel * dtype size; and the tensors, taken in offset order, cover
// the byte buffer exactly: no holes, no overlaps, nothing past its end; __metadata__ appears at most
// once and holds at most 4096 entries with unique keys. Tensors are returned in offset
// order; __metadata__ becomes the set's metadata.
//
// Writing: float32 ("F32"), or with sv_safetensors_write_f16 float16 ("F16", rounded to nearest even) for
// every tensor of at least SV_SAFETENSORS_F16_MIN elements (smaller ones stay F32; a value beyond float16's
// range is an error, not an inf). Tensors sorted by name (as the reference writer orders same-dtype
// tensors) and packed back to back, header padded with spaces to a multiple of 8 bytes so that the data
// are 8-byte aligned, the set's metadata as __metadata__ (omitted when empty). The file appears
// atomically (io/atomic_file.h): a failed write leaves any previous file in place.
#pragma once
#include "core/error.h"
#include "core/tensor_set.h"

#define SV_SAFETENSORS_MAX_HEADER 100000000ull
#define SV_SAFETENSORS_F16_MIN 16

// out must be empty (zero-initialised); on failure it is left empty.
int sv_safetensors_read(const char *path, sv_tensor_set *out, sv_err *e);
int sv_safetensors_write(const char *path, const sv_tensor_set *s, sv_err *e);
int sv_safetensors_write_f16(const char *path, const sv_tensor_set *s, sv_err *e);
