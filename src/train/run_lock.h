// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// run_lock.h: one slimvsr process at a time in a run folder (train, train-flow, prune). The folder's
// .lock file carries an advisory lock (fcntl) for the run's life and the holder's pid. The file stays; the
// lock goes with the process, so a run that crashed or was killed leaves nothing that stops --resume.
// fcntl locks belong to a process: it never refuses itself (prune locks RUN_DIR, its phases sv_train lock
// RUN_DIR/sparsity and RUN_DIR/finetune), and nothing else in it may open and close a .lock file.
#pragma once
#include "core/error.h"

typedef struct {
    int held;  // 0 (a zeroed struct): not held
    int fd;
} sv_run_lock;

// Locks the run folder dir for this process; nothing to do when l is held already. create: make dir first
// when missing (failing when it cannot be made or is not a folder); else a missing dir (or a file) is left
// alone and l stays unheld. Fails at once when another process holds the folder:
// "DIR: in use by another slimvsr (pid N); wait for it or choose another --out".
int sv_run_lock_take(sv_run_lock *l, const char *dir, int create, sv_err *e);
// What a run does with its folder before it writes there (twice: create 0 before anything is loaded, to
// refuse at once; create 1 before the first write, so that a start that fails on its data or options
// leaves nothing behind): dir must not be, nor hold, one of the n inputs (NULL entries skipped; see
// io/paths.h); then sv_run_lock_take; then, when fresh names a file (a new run; NULL on --resume) and the
// folder is locked, dir must not hold it: "DIR: holds a run already (FRESH): use --resume, or another --out".
int sv_run_claim(sv_run_lock *l, const char *dir, const char *const *inputs, int n, int create, const char *fresh,
                 sv_err *e);
// Releases the lock (when held); the file stays.
void sv_run_lock_release(sv_run_lock *l);
