// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// fuzz_video.c: the video path (io/frames.h via libav: probe, demux, decode, convert to RGB) on a file
// named .mp4; at most 4 frames are decoded per input.
#include <stdlib.h>

#include "fuzz.h"
#include "io/frames.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    sv_err e;
    sv_frame_reader *r = sv_frames_open(fuzz_file(data, size, ".mp4"), &e);
    fuzz_note("video", !r, &e);
    if (!r) return 0;
    int w = sv_frames_width(r), h = sv_frames_height(r);
    unsigned char *rgb = (long long)w * h <= (1 << 22) ? malloc((size_t)w * h * 3) : NULL;
    for (int i = 0; rgb && i < 4 && sv_frames_read(r, rgb, &e) > 0; i++) {
    }
    free(rgb);
    sv_frames_close(r);
    return 0;
}
