// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// atomic_file.h: write a file or a folder under a temporary name, then publish it with rename(), so a
// reader never sees a half-written output under the final name (a crash, a full disk, a kill: the final
// name keeps its earlier content, or stays absent).
//
// What may be replaced: without SV_ATOMIC_REPLACE an existing output is refused (at open, so that no work
// is wasted, and again at publish, without a window: renameat2(RENAME_NOREPLACE)); an existing empty folder
// counts as absent. With it, a file is replaced; a folder only when slimvsr wrote it: every folder slimvsr
// publishes holds SV_ATOMIC_LIST, the names of the files it wrote, and a folder is replaced only when it
// holds that list and nothing that is not on it. Nothing else is ever deleted.
//
// Interruption: the temporaries open in this process are registered; sv_atomic_remove_temporaries() removes
// them and is async-signal-safe, for a SIGINT/SIGTERM handler. A temporary left by a process that was
// killed outright (SIGKILL, power loss) is removed by the next open of the same output, once its process
// is gone.
#pragma once
#include <stdio.h>

#include "core/error.h"

#define SV_ATOMIC_PATH 4096
// The list of files in a folder slimvsr published (one name per line, after a header line).
#define SV_ATOMIC_LIST ".slimvsr-written"
// Flag for sv_atomic_open_*: an existing output may be replaced (see above).
#define SV_ATOMIC_REPLACE 1
// Flag for sv_atomic_open_dir: the temporary folder is the visible "<path>.partial" (SV_ATOMIC_PARTIAL_SUFFIX),
// not registered for removal on a signal, so that an interrupted job leaves its finished files there for the
// next run; an existing one is continued (resumed: its files stay, and an abort keeps it), and a file in
// its place is refused.
#define SV_ATOMIC_PARTIAL 2
#define SV_ATOMIC_PARTIAL_SUFFIX ".partial"

typedef struct {
    char final_path[SV_ATOMIC_PATH];
    char tmp_path[SV_ATOMIC_PATH];
    FILE *f;      // for files; NULL for folders
    int is_dir;
    int flags;
    int slot;     // registry slot for signal cleanup (-1: none)
    int resumed;  // SV_ATOMIC_PARTIAL: the partial folder existed; abort keeps it
} sv_atomic;

// Opens "<dir>/.<name>.tmp-<pid>-<n>" for writing. Fails with a message naming path when the directory
// is missing or not writable, or when path exists and may not be replaced (flags).
int sv_atomic_open_file(sv_atomic *a, const char *path, int flags, sv_err *e);
// Creates a temporary folder beside path.
int sv_atomic_open_dir(sv_atomic *a, const char *path, int flags, sv_err *e);
// Flushes, fsyncs, closes and renames onto the final name (for a folder: writes SV_ATOMIC_LIST, fsyncs
// each file written via sv_fsync_path, then renames). Returns -1 with a message on any error (ENOSPC
// included, or an output that appeared meanwhile and may not be replaced), leaving the final name
// untouched and removing the temporary.
int sv_atomic_commit(sv_atomic *a, sv_err *e);
// Removes the temporary file or folder (and its files). Safe to call after a failed commit.
void sv_atomic_abort(sv_atomic *a);
// fsync an already-written path (used for files inside a temporary folder).
int sv_fsync_path(const char *path, sv_err *e);
// 0 when path may be written with these flags (absent, an empty folder, or replaceable as above); else -1
// with a message saying what to do. For commands that check their output before long work.
int sv_atomic_check_output(const char *path, int flags, sv_err *e);
// Removes every temporary this process has open. Async-signal-safe; the temporaries stay registered
// (a later abort finds them gone).
void sv_atomic_remove_temporaries(void);
