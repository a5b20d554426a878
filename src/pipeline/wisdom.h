// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// wisdom.h: the wisdom table (ops/tune.h) in a file, for the program that keeps one across runs (here, not
// in io/, which sits beside ops/ and does not include it).
#pragma once
#include "core/error.h"
#include "ops/tune.h"

// The largest wisdom file read: far beyond any real one (a few hundred shapes of 100-odd bytes).
#define SV_WISDOM_MAX_BYTES (4u << 20)

// Adds the file's entries to w. A missing or empty file is an empty table (0). A file that cannot be read,
// is larger than SV_WISDOM_MAX_BYTES or does not start as sv_wisdom_format's text does is an error naming
// it (so that a program never saves over a file that is not its own); lines that do not parse are
// counted in *skipped.
int sv_wisdom_load(sv_wisdom *w, const char *path, int *skipped, sv_err *e);
// Writes the table to path atomically (io/atomic_file.h), replacing the file, creating its folders when
// missing. Entries the file holds now (another process may have saved since w was loaded) are kept,
// except where w has the same key. Refuses (as load) a file that is not a wisdom file.
int sv_wisdom_save(const sv_wisdom *w, const char *path, sv_err *e);
