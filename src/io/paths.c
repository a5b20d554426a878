// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// paths.c: outputs against inputs (see paths.h).
#include "io/paths.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int same_node(const struct stat *a, const struct stat *b) {
    return a->st_dev == b->st_dev && a->st_ino == b->st_ino;
}

int sv_path_is_stream(const char *path) { return path && !strcmp(path, "-"); }

int sv_path_covers(const char *out, const char *in) {
    struct stat so, si;
    if (!out || !in || sv_path_is_stream(out) || sv_path_is_stream(in)) return 0;
    if (stat(out, &so) != 0 || stat(in, &si) != 0) return 0;
    if (same_node(&so, &si)) return 1;
    if (!S_ISDIR(so.st_mode)) return 0;
    // in lies inside out when one of its folders is out: walk up from in's real path, comparing inodes (so
    // that links and bind mounts cannot hide it)
    char p[PATH_MAX];
    if (!realpath(in, p)) return 0;
    for (char *slash; (slash = strrchr(p, '/')) != NULL;) {
        if (slash == p) slash[1] = 0;  // "/x" -> "/"
        else *slash = 0;
        struct stat sp;
        if (stat(p, &sp) == 0 && same_node(&sp, &so)) return 1;
        if (slash == p) break;
    }
    return 0;
}

int sv_output_check_inputs(const char *out, const char *const *inputs, int n, sv_err *e) {
    for (int i = 0; i < n; i++) {
        if (!inputs[i] || !sv_path_covers(out, inputs[i])) continue;
        struct stat so, si;
        int same = stat(out, &so) == 0 && stat(inputs[i], &si) == 0 && same_node(&so, &si);
        if (same) return sv_errf(e, "%s: is the input %s; choose another output", out, inputs[i]);
        return sv_errf(e, "%s: holds the input %s; choose another output", out, inputs[i]);
    }
    return 0;
}
