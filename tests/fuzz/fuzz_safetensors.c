// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// fuzz_safetensors.c: the safetensors reader (io/safetensors.h): length, JSON header, offsets, dtypes.
#include "core/tensor_set.h"
#include "fuzz.h"
#include "io/safetensors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    sv_tensor_set s = {0};
    sv_err e;
    fuzz_note("safetensors", sv_safetensors_read(fuzz_file(data, size, ".safetensors"), &s, &e), &e);
    sv_tensor_set_free(&s);
    return 0;
}
