// atomic_file.h: write a file or a folder under a temporary name, then publish it with rename(), so a
// reader never sees a half-written output under the final name (a crash, a full disk, a kill: the final
// name keeps its earlier content, or stays absent).
#pragma once
#include <stdio.h>

#include "core/error.h"

typedef struct {
    char final_path[4096];
    char tmp_path[4096];
    FILE *f;      // for files; NULL for folders
    int is_dir;
} sv_atomic;

// Opens "<dir>/.<name>.tmp-<pid>-<n>" for writing. Fails with a message naming path when the directory
// is missing or not writable.
int sv_atomic_open_file(sv_atomic *a, const char *path, sv_err *e);
// Creates a temporary folder beside path.
int sv_atomic_open_dir(sv_atomic *a, const char *path, sv_err *e);
// Flushes, fsyncs, closes and renames onto the final name (for a folder: fsyncs each file written via
// sv_atomic_fsync_path, then renames; an existing folder at the final name is replaced only if it is
// empty or was itself produced by slimvsr, i.e. holds only files). Returns -1 with a message on any error
// (ENOSPC included), leaving the final name untouched and removing the temporary.
int sv_atomic_commit(sv_atomic *a, sv_err *e);
// Removes the temporary file or folder (and its files). Safe to call after a failed commit.
void sv_atomic_abort(sv_atomic *a);
// fsync an already-written path (used for files inside a temporary folder).
int sv_fsync_path(const char *path, sv_err *e);
