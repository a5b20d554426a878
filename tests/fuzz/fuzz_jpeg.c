// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// fuzz_jpeg.c: the JPEG frame reader (io/jpeg_io.h): size, then the pixels when the size is acceptable.
#include <stdlib.h>

#include "fuzz.h"
#include "io/frames.h"
#include "io/jpeg_io.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *p = fuzz_file(data, size, ".jpg");
    int w, h;
    sv_err e;
    int rc = sv_jpeg_read_size(p, &w, &h, &e);
    fuzz_note("jpeg", rc, &e);
    if (rc) return 0;
    if ((long long)w * h > (1 << 22)) return 0;  // valid but huge: the reader's limits are tested elsewhere
    unsigned char *rgb = malloc((size_t)w * h * 3);
    if (rgb) fuzz_note("jpeg pixels", sv_jpeg_read_rgb(p, rgb, w, h, &e), &e);
    free(rgb);
    return 0;
}
