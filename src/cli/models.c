// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// models.c: what -m MODEL names: a file, one of the models shipped in models/, or the bicubic baseline.
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "io/atomic_file.h"
#include "io/paths.h"

static const struct {
    const char *name, *file;
} shipped[] = {
    {"ssl", "basicvsr-ssl.safetensors"},
    {"pruned", "basicvsr-ssl.safetensors"},
    {"dense", "basicvsr-dense.safetensors"},
};

// The folders searched for shipped models, in order: $SLIMVSR_MODELS, then models/ beside the binary's
// folder (build/slimvsr -> models/ of the checkout) and share/slimvsr/models of an install prefix.
static int model_dirs(char dirs[][PATH_MAX], int max) {
    int n = 0;
    const char *env = getenv("SLIMVSR_MODELS");
    if (env && *env && n < max) snprintf(dirs[n++], PATH_MAX, "%s", env);
    char exe[PATH_MAX];
    ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (len > 0) {
        exe[len] = 0;
        char *slash = strrchr(exe, '/');
        if (slash) *slash = 0;
        if (n < max) snprintf(dirs[n++], PATH_MAX, "%.*s/../models", PATH_MAX - 16, exe);
        if (n < max) snprintf(dirs[n++], PATH_MAX, "%.*s/../share/slimvsr/models", PATH_MAX - 32, exe);
    }
    return n;
}

const char *cli_model_path(const char *arg, sv_err *e) {
    static char path[PATH_MAX];
    if (!arg) arg = CLI_DEFAULT_MODEL;
    if (strchr(arg, '/') || strchr(arg, '.')) return arg;  // a path
    const char *file = NULL;
    for (size_t i = 0; i < sizeof shipped / sizeof *shipped; i++)
        if (!strcmp(arg, shipped[i].name)) file = shipped[i].file;
    if (!file) {
        sv_errf(e, "%s: no such model (a .pth or .safetensors file, or a shipped model: ssl, dense)", arg);
        return NULL;
    }
    char dirs[3][PATH_MAX];
    int nd = model_dirs(dirs, 3);
    for (int i = 0; i < nd; i++) {
        snprintf(path, sizeof path, "%.*s/%s", PATH_MAX - 64, dirs[i], file);
        if (access(path, R_OK) == 0) return path;
    }
    char where[3 * PATH_MAX + 16] = "";
    for (int i = 0; i < nd; i++) {
        size_t k = strlen(where);
        snprintf(where + k, sizeof where - k, "%s%s", i ? ", " : "", dirs[i]);
    }
    sv_errf(e, "shipped model '%s' (%s) not found in %s (set SLIMVSR_MODELS to the folder holding it)", arg, file,
            where);
    return NULL;
}

int cli_load_model(const char *arg, float act, int allow_bicubic, sv_model *m, const sv_model **use) {
    memset(m, 0, sizeof *m);
    *use = NULL;
    if (allow_bicubic && arg && !strcmp(arg, "bicubic")) return 0;
    sv_err e;
    const char *path = cli_model_path(arg, &e);
    if (!path || sv_model_load(m, path, act, &e)) {
        fprintf(stderr, "slimvsr: %s\n", e.msg);
        return -1;
    }
    *use = m;
    return 0;
}

int cli_output_check(const char *output, const char *model_arg, const char *input, int replace, sv_err *e) {
    const char *model = !model_arg || strcmp(model_arg, "bicubic") ? cli_model_path(model_arg, e) : NULL;
    const char *inputs[2] = {input, model};
    if (sv_output_check_inputs(output, inputs, 2, e)) return -1;
    return sv_path_is_stream(output) ? 0 : sv_atomic_check_output(output, replace ? SV_ATOMIC_REPLACE : 0, e);
}

int cli_check_output(const char *output, const char *model_arg, const char *input, int replace) {
    sv_err e;
    if (!cli_output_check(output, model_arg, input, replace, &e)) return 0;
    fprintf(stderr, "slimvsr: %s\n", e.msg);
    return -1;
}
