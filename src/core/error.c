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
    char prefix[SV_ERRLEN / 2], old[SV_ERRLEN];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    memcpy(old, e->msg, sizeof old);
    snprintf(e->msg, sizeof e->msg, "%s: %.*s", prefix, (int)(sizeof e->msg - sizeof prefix - 3), old);
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
