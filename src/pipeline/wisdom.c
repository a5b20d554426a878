// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// wisdom.c: the wisdom table's file (pipeline/wisdom.h).
#include "pipeline/wisdom.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "io/atomic_file.h"

static const char head[] = SV_WISDOM_HEAD;

int sv_wisdom_load(sv_wisdom *w, const char *path, int *skipped, sv_err *e) {
    *skipped = 0;
    FILE *f = fopen(path, "rb");
    if (!f) return errno == ENOENT ? 0 : sv_errf(e, "%s: cannot read the wisdom file: %s", path, strerror(errno));
    char *text = sv_malloc(SV_WISDOM_MAX_BYTES + 1, e);
    size_t n = text ? fread(text, 1, SV_WISDOM_MAX_BYTES + 1, f) : 0;
    const int bad = ferror(f);
    fclose(f);
    if (!text) return -1;
    int r;
    if (bad) r = sv_errf(e, "%s: error reading the wisdom file", path);
    else if (n > SV_WISDOM_MAX_BYTES) r = sv_errf(e, "%s: not a wisdom file (over %u bytes)", path, SV_WISDOM_MAX_BYTES);
    else if (n && strncmp(text, head, n < sizeof head - 1 ? n : sizeof head - 1))
        r = sv_errf(e, "%s: not a wisdom file (it does not start with \"%s\")", path, head);
    else text[n] = 0, r = sv_wisdom_parse(w, text, skipped, e);
    free(text);
    return r;
}

int sv_wisdom_save(const sv_wisdom *w, const char *path, sv_err *e) {
    char dir[SV_ATOMIC_PATH];
    if (snprintf(dir, sizeof dir, "%s", path) >= (int)sizeof dir) return sv_errf(e, "%s: path too long", path);
    char *slash = strrchr(dir, '/');
    if (slash == dir) slash = NULL;  // a file in /
    if (slash) *slash = 0;
    for (char *s = dir + 1; slash; s++) {  // each missing folder on the way, as mkdir -p
        const char c = *s;
        if (c && c != '/') continue;
        *s = 0;
        if (mkdir(dir, 0777) && errno != EEXIST)
            return sv_errf(e, "%s: cannot create the folder for the wisdom file: %s", dir, strerror(errno));
        *s = c;
        if (!c) break;
    }
    // what another process saved meanwhile is kept; w's entries win over the file's
    int skipped;
    sv_wisdom *all = sv_wisdom_create(e);
    char *text = all ? sv_wisdom_format(w, e) : NULL;
    if (!text || sv_wisdom_load(all, path, &skipped, e) || sv_wisdom_parse(all, text, &skipped, e)) {
        free(text);
        sv_wisdom_free(all);
        return -1;
    }
    free(text);
    text = sv_wisdom_format(all, e);
    sv_wisdom_free(all);
    if (!text) return -1;
    sv_atomic a;
    int r = sv_atomic_open_file(&a, path, SV_ATOMIC_REPLACE, e);
    if (!r && fputs(text, a.f) == EOF) {
        sv_atomic_abort(&a);
        r = sv_errf(e, "%s: error writing the wisdom file", path);
    } else if (!r) {
        r = sv_atomic_commit(&a, e);
    }
    free(text);
    return r;
}
