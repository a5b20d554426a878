// SPDX-License-Identifier: Apache-2.0 (LICENSE)
#include "core/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int sv_errf(sv_err *e, const char *fmt, ...) {
    if (!e) return -1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    va_end(ap);
    return -1;
}

int sv_errprefix(sv_err *e, const char *fmt, ...) {
    if (!e) return -1;
    char prefix[SV_ERRLEN];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    if (n < 0) n = 0;
    // keep the old message (the reason) whole: the prefix gives way when both do not fit
    size_t old = strnlen(e->msg, sizeof e->msg - 1), room = sizeof e->msg - 1 - old;
    size_t p = (size_t)n + 2 <= room ? (size_t)n : room > 6 ? room - 6 : 0;
    memmove(e->msg + p + 2, e->msg, old + 1 <= sizeof e->msg - p - 2 ? old + 1 : sizeof e->msg - p - 2);
    e->msg[sizeof e->msg - 1] = 0;
    memcpy(e->msg, prefix, p);
    if (p < (size_t)n && p >= 3) memcpy(e->msg + p - 3, "...", 3);
    e->msg[p] = ':', e->msg[p + 1] = ' ';
    return -1;
}

void *sv_malloc(size_t n, sv_err *e) {
    void *p = malloc(n ? n : 1);
    if (!p) sv_errf(e, "out of memory allocating %zu bytes", n);
    return p;
}

void *sv_calloc(size_t count, size_t size, sv_err *e) {
    void *p = calloc(count ? count : 1, size ? size : 1);
    if (!p) sv_errf(e, "out of memory allocating %zu x %zu bytes", count, size);
    return p;
}
