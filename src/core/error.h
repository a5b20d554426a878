// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// error.h: errors are values. A library function that can fail takes an sv_err*, fills it with a
// one-line message that names the file and the problem, and returns -1 (or NULL). Only main() exits.
#pragma once
#include <stddef.h>

// Room for a message that names two paths of PATH_MAX bytes and still says what went wrong.
#define SV_ERRLEN (3 * 4096 + 512)

typedef struct {
    char msg[SV_ERRLEN];
} sv_err;

// Formats the message into e (when e is not NULL) and returns -1, so `return sv_errf(e, ...)` works.
int sv_errf(sv_err *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

// Prefixes an existing message: "PREFIX: old message". Returns -1.
int sv_errprefix(sv_err *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

// Allocation helpers that report the size asked for; they return NULL and fill e on failure.
void *sv_malloc(size_t n, sv_err *e);
void *sv_calloc(size_t count, size_t size, sv_err *e);
