// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// upscale_frames.c: the public API in one page. Raw RGB24 frames of W x H on standard input, the x4
// frames on standard output (ffmpeg -f rawvideo -pix_fmt rgb24 reads and writes this on both sides):
//   upscale_frames MODEL W H [CHUNK LOOKAHEAD] < lr.rgb > hr.rgb
// Build against an installed slimvsr: cc upscale_frames.c $(pkg-config --cflags --libs slimvsr)
#include <slimvsr.h>
#include <stdio.h>
#include <stdlib.h>

static int fail(const char *what) {
    fprintf(stderr, "upscale_frames: %s: %s\n", what, slimvsr_last_error());
    return 1;
}

// Writes every HR frame that is ready; returns the status of the last pull (AGAIN, END or an error).
static int drain(slimvsr_upscaler *u, slimvsr_frame *hr) {
    int rc;
    while ((rc = slimvsr_upscaler_pull(u, hr)) == SLIMVSR_OK)
        fwrite(hr->data, (size_t)hr->width * 3, (size_t)hr->height, stdout);
    return rc;
}

int main(int argc, char **argv) {
    if (argc != 4 && argc != 6) return fprintf(stderr, "usage: %s MODEL W H [CHUNK LOOKAHEAD]\n", argv[0]), 2;
    const int w = atoi(argv[2]), h = atoi(argv[3]);
    slimvsr_upscaler_options opt = slimvsr_upscaler_options_default();
    if (argc == 6) opt.chunk = atoi(argv[4]), opt.lookahead = atoi(argv[5]);
    slimvsr_model *m;
    slimvsr_upscaler *u;
    if (slimvsr_model_load(argv[1], &m)) return fail("load");
    if (slimvsr_upscaler_create(m, w, h, &opt, &u)) return fail("create");
    slimvsr_frame lr = {malloc((size_t)w * h * 3), w, h, 0, SLIMVSR_RGB8};
    slimvsr_frame hr = {malloc((size_t)w * h * 48), 4 * w, 4 * h, 0, SLIMVSR_RGB8};
    while (fread(lr.data, (size_t)w * 3, (size_t)h, stdin) == (size_t)h)
        if (slimvsr_upscaler_push(u, &lr) < 0 || drain(u, &hr) < 0) return fail("push");
    if (slimvsr_upscaler_flush(u) < 0 || drain(u, &hr) != SLIMVSR_END) return fail("flush");
    slimvsr_upscaler_free(u);
    slimvsr_model_free(m);
    free(lr.data), free(hr.data);
    return fflush(stdout) ? 1 : 0;
}
