// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// checkpoint.c: format sniffing; see checkpoint.h.
#include "io/checkpoint.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "io/pth.h"
#include "io/safetensors.h"

int sv_checkpoint_read(const char *path, sv_tensor_set *out, sv_err *e) {
    uint8_t head[262];
    struct stat st;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) return sv_errf(e, "%s: is a directory, not a checkpoint", path);
    FILE *f = fopen(path, "rb");
    if (!f) return sv_errf(e, "%s: cannot open: %s", path, strerror(errno));
    size_t n = fread(head, 1, sizeof head, f);
    fclose(f);
    if (n >= 4 && (memcmp(head, "PK\x03\x04", 4) == 0 || memcmp(head, "PK\x05\x06", 4) == 0))
        return sv_pth_read(path, out, e);
    if (sv_pth_is_legacy(head, n)) return sv_pth_read(path, out, e);  // gives the conversion message
    if (n >= 9 && head[8] == '{') return sv_safetensors_read(path, out, e);
    return sv_errf(e, "%s: not a PyTorch checkpoint or safetensors file", path);
}
