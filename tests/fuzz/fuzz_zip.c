// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// fuzz_zip.c: the ZIP reader under .pth files (io/zip.h): open, then read every entry whole and in part.
#include <stdlib.h>

#include "fuzz.h"
#include "io/zip.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    sv_zip z;
    sv_err e;
    int rc = sv_zip_open(&z, fuzz_file(data, size, ".zip"), &e);
    fuzz_note("zip", rc, &e);
    if (rc) return 0;
    for (int i = 0; i < z.n; i++) {
        uint8_t *buf = NULL, head[16];
        uint64_t len = 0;
        if (!sv_zip_read_all(&z, &z.ent[i], 1u << 24, &buf, &len, &e)) free(buf);
        if (z.ent[i].usize >= 16) sv_zip_read(&z, &z.ent[i], z.ent[i].usize - 16, 16, head, &e);
    }
    sv_zip_find(&z, "archive/data.pkl");
    sv_zip_close(&z);
    return 0;
}
