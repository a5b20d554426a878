// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// image_av.c: WebP, TIFF and BMP frames through libavcodec's image decoders (image_av.h).
#include "io/image_av.h"

#include <string.h>
#include <strings.h>

#include "io/frames_internal.h"

int sv_image_av_is_name(const char *name) {
    static const char *const ext[] = {".webp", ".tif", ".tiff", ".bmp"};
    const size_t n = strlen(name);
    for (size_t i = 0; i < sizeof ext / sizeof *ext; i++) {
        const size_t k = strlen(ext[i]);
        if (n > k && !strcasecmp(name + n - k, ext[i])) return 1;
    }
    return 0;
}

// Opens path as a one-picture video (its picture decoded at once) and gives its size and bits per sample.
static sv_video_in *open_image(const char *path, int *w, int *h, int *depth, sv_err *e) {
    int count, num, den;
    return sv_video_in_open(path, w, h, &count, &num, &den, depth, e);
}

int sv_image_av_read_size(const char *path, int *w, int *h, int *alpha, int *depth, sv_err *e) {
    sv_video_in *v = open_image(path, w, h, depth, e);
    *alpha = v && sv_video_in_has_alpha(v);
    sv_video_in_close(v);
    return v ? 0 : -1;
}

int sv_image_av_read(const char *path, void *dst, sv_px px, int w, int h, sv_err *e) {
    int pw, ph, depth;
    sv_video_in *v = open_image(path, &pw, &ph, &depth, e);
    if (!v) return -1;
    int rc = 0;
    if (pw != w || ph != h)
        rc = sv_errf(e, "%s: frame is %dx%d but the first frame is %dx%d", path, pw, ph, w, h);
    else if ((rc = sv_video_in_read_as(v, dst, px, e)) == 0)
        rc = sv_errf(e, "%s: holds no picture", path);
    sv_video_in_close(v);
    return rc < 0 ? -1 : 0;
}
