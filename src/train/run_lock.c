// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// run_lock.c: the lock of a run folder (see run_lock.h).
#include "train/run_lock.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io/paths.h"

static int is_dir(const char *p) {
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

// The pid of the process holding fd's file, 0 when none does (it may have ended since).
static long holder(int fd) {
    struct flock q = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
    return fcntl(fd, F_GETLK, &q) == 0 && q.l_type != F_UNLCK ? (long)q.l_pid : 0;
}

// The pid in the file, for people and tools that look; the lock itself is what counts.
static void write_pid(int fd) {
    char s[32];
    int n = snprintf(s, sizeof s, "%ld\n", (long)getpid());
    if (ftruncate(fd, 0) == 0) {
        ssize_t w = pwrite(fd, s, (size_t)n, 0);  // best effort
        (void)w;
    }
}

int sv_run_lock_take(sv_run_lock *l, const char *dir, int create, sv_err *e) {
    if (l->held) return 0;
    if (create && mkdir(dir, 0777) && errno != EEXIST)
        return sv_errf(e, "%s: cannot create the run folder: %s", dir, strerror(errno));
    if (!is_dir(dir)) return create ? sv_errf(e, "%s: not a folder (--out)", dir) : 0;
    char p[4200];
    snprintf(p, sizeof p, "%s/.lock", dir);
    int fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0666);
    if (fd < 0) return sv_errf(e, "%s: cannot open the run folder's lock: %s", p, strerror(errno));
    // F_SETLK refuses at once; a holder that ends between the refusal and F_GETLK leaves no pid: try again
    for (int tries = 0; tries < 3; tries++) {
        struct flock w = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
        if (fcntl(fd, F_SETLK, &w) == 0) {
            write_pid(fd);
            l->fd = fd, l->held = 1;
            return 0;
        }
        if (errno != EACCES && errno != EAGAIN) break;
        const long pid = holder(fd);
        if (pid) {
            close(fd);
            return sv_errf(e, "%s: in use by another slimvsr (pid %ld); wait for it or choose another --out", dir, pid);
        }
    }
    const int err = errno;
    close(fd);
    return sv_errf(e, "%s: cannot lock: %s", p, strerror(err));
}

int sv_run_claim(sv_run_lock *l, const char *dir, const char *const *inputs, int n, int create, const char *fresh,
                 sv_err *e) {
    if (sv_output_check_inputs(dir, inputs, n, e) || sv_run_lock_take(l, dir, create, e)) return -1;
    if (!fresh || !l->held) return 0;
    char p[4200];
    struct stat st;
    snprintf(p, sizeof p, "%s/%s", dir, fresh);
    if (stat(p, &st) == 0) return sv_errf(e, "%s: holds a run already (%s): use --resume, or another --out", dir, fresh);
    return 0;
}

void sv_run_lock_release(sv_run_lock *l) {
    if (!l->held) return;
    close(l->fd);  // closing the file releases its fcntl lock
    l->held = 0;
}
