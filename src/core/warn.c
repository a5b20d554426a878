// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// warn.c: the warning handler of warn.h.
#include "core/warn.h"

#include <stdarg.h>
#include <stdio.h>

#include "core/error.h"

static void (*g_handler)(void *ud, const char *msg);
static void *g_ud;

void sv_set_warning_handler(void (*fn)(void *ud, const char *msg), void *ud) {
    g_handler = fn;
    g_ud = ud;
}

void sv_warnf(const char *fmt, ...) {
    if (!g_handler) return;
    char msg[SV_ERRLEN];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    g_handler(g_ud, msg);
}
