// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// model.c: slimvsr_model: loading (a file, or bytes in memory) and the model's facts.
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api/api_internal.h"
#include "model/stats.h"

// The checkpoint readers (io/) read a file by name; bytes in memory are given one (a memfd, named through
// /proc/self/fd) and every message names them MEMORY instead.
#define MEMORY "(model in memory)"

static int load_path(const char *path, const char *shown, slimvsr_model **out) {
    slimvsr_model *mm = calloc(1, sizeof *mm);
    if (!mm) return api_fail(SLIMVSR_ERR_NO_MEMORY, "%s: out of memory", shown);
    sv_err e = {{0}};
    if (sv_model_load(&mm->m, path, -1.0f, &e)) {
        free(mm);
        if (shown != path) {  // "/proc/self/fd/N: ..." -> "MEMORY: ..."
            const size_t n = strlen(path);
            if (!strncmp(e.msg, path, n)) {
                sv_err r = {{0}};
                snprintf(r.msg, sizeof r.msg, "%s%s", shown, e.msg + n);
                e = r;
            }
        }
        return api_fail_err(SLIMVSR_ERR_FORMAT, &e);
    }
    *out = mm;
    return SLIMVSR_OK;
}

int slimvsr_model_load(const char *path, slimvsr_model **out) {
    if (out) *out = NULL;
    if (!path || !out) return api_fail(SLIMVSR_ERR_ARGUMENT, "slimvsr_model_load: %s is NULL", path ? "out" : "path");
    struct stat st;
    FILE *f = fopen(path, "rb");
    if (!f) return api_fail(SLIMVSR_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    const int dir = fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode);
    fclose(f);
    if (dir) return api_fail(SLIMVSR_ERR_IO, "%s: is a directory, not a model file", path);
    return load_path(path, path, out);
}

int slimvsr_model_load_memory(const void *data, size_t size, slimvsr_model **out) {
    if (out) *out = NULL;
    if (!data || !out)
        return api_fail(SLIMVSR_ERR_ARGUMENT, "slimvsr_model_load_memory: %s is NULL", data ? "out" : "data");
    int fd = memfd_create("slimvsr-model", MFD_CLOEXEC);
    if (fd < 0) return api_fail(SLIMVSR_ERR_IO, "%s: memfd_create: %s", MEMORY, strerror(errno));
    const char *p = data;
    for (size_t done = 0; done < size;) {
        const ssize_t k = write(fd, p + done, size - done);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) {
            const int err = errno;
            close(fd);
            return api_fail(err == ENOMEM || err == ENOSPC ? SLIMVSR_ERR_NO_MEMORY : SLIMVSR_ERR_IO,
                            "%s: cannot copy %zu bytes: %s", MEMORY, size, strerror(err));
        }
        done += (size_t)k;
    }
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    const int rc = load_path(path, MEMORY, out);
    close(fd);
    return rc;
}

void slimvsr_model_free(slimvsr_model *model) {
    if (!model) return;
    sv_model_free(&model->m);
    free(model);
}

// Whether some conv is narrower than in the dense BasicVSR of the model's width.
static int is_pruned(const sv_model *m) {
    sv_model *mw = (sv_model *)m;  // sv_model_layers only lists the layers
    const int nl = sv_model_layers(mw, NULL, 0);
    sv_layer_ref *R = calloc((size_t)nl, sizeof *R);
    if (!R) return -1;
    sv_model_layers(mw, R, nl);
    int pruned = 0;
    for (int i = 0; i < nl && !pruned; i++) {
        int cin, cout, k;
        sv_layer_dense_shape(&R[i], m->num_feat, &cin, &cout, &k);
        pruned = R[i].conv && (R[i].conv->cin != cin || R[i].conv->cout != cout);
    }
    free(R);
    return pruned;
}

int slimvsr_model_get_info(const slimvsr_model *model, int width, int height, slimvsr_model_info *out) {
    if (!model || !out)
        return api_fail(SLIMVSR_ERR_ARGUMENT, "slimvsr_model_get_info: %s is NULL", model ? "out" : "model");
    if (width < 1 || height < 1)
        return api_fail(SLIMVSR_ERR_ARGUMENT, "slimvsr_model_get_info: frame size %dx%d (width and height must be >= 1)",
                        width, height);
    const sv_model *m = &model->m;
    const int pruned = is_pruned(m);
    if (pruned < 0) return api_fail(SLIMVSR_ERR_NO_MEMORY, "slimvsr_model_get_info: out of memory");
    sv_model_totals t;
    sv_model_stats(m, height, width, NULL, 0, &t);
    *out = (slimvsr_model_info){.num_feat = m->num_feat, .num_block = m->num_block, .scale = SV_SCALE,
                                .pruned = pruned, .spynet = sv_uses_spynet(m), .params = t.params,
                                .params_spynet = t.params_spynet, .flops = t.flops, .flops_spynet = t.flops_spynet,
                                .uni = sv_is_uni(m)};
    return SLIMVSR_OK;
}
