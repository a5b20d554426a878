// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// fuzz_pth.c: the whole .pth reader (zip + pickle + tensors from storages, io/pth.h) on a file.
#include "core/tensor_set.h"
#include "fuzz.h"
#include "io/pth.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    sv_tensor_set s = {0};
    sv_err e;
    fuzz_note("pth", sv_pth_read(fuzz_file(data, size, ".pth"), &s, &e), &e);
    sv_tensor_set_free(&s);
    return 0;
}
