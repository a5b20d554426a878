// SPDX-License-Identifier: Apache-2.0 (LICENSE)
#include "io/atomic_file.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

static atomic_int counter;

// ---- the registry of open temporaries, for sv_atomic_remove_temporaries ----

#define MAX_LIVE 64
static struct {
    char path[SV_ATOMIC_PATH];
    int is_dir;
    atomic_int state;  // 0 free, 1 being filled, 2 live
} live[MAX_LIVE];

static int live_add(const char *path, int is_dir) {
    for (int i = 0; i < MAX_LIVE; i++) {
        int expect = 0;
        if (!atomic_compare_exchange_strong(&live[i].state, &expect, 1)) continue;
        strcpy(live[i].path, path);
        live[i].is_dir = is_dir;
        atomic_store(&live[i].state, 2);
        return i;
    }
    return -1;  // more than MAX_LIVE at once: not cleaned on a signal, still by the next run
}

static void live_remove(int slot) {
    if (slot >= 0) atomic_store(&live[slot].state, 0);
}

// Removes the files of a folder (one level: temporaries hold no sub-folders) and the folder, with system
// calls only, so that a signal handler may call it.
static void remove_dir_signal_safe(const char *path) {
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        char buf[4096];
        long n;
        while ((n = syscall(SYS_getdents64, fd, buf, sizeof buf)) > 0) {
            for (long off = 0; off < n;) {
                const char *rec = buf + off;
                unsigned short reclen;
                memcpy(&reclen, rec + 16, sizeof reclen);  // struct linux_dirent64: ino, off, reclen, type, name
                const char *name = rec + 19;
                if (strcmp(name, ".") && strcmp(name, "..")) unlinkat(fd, name, 0);
                off += reclen;
            }
        }
        close(fd);
    }
    rmdir(path);
}

void sv_atomic_remove_temporaries(void) {
    for (int i = 0; i < MAX_LIVE; i++) {
        if (atomic_load(&live[i].state) != 2) continue;
        if (live[i].is_dir) remove_dir_signal_safe(live[i].path);
        else unlink(live[i].path);
    }
}

// ---- names ----

// Splits path into its folder (dir, "." when none) and base name; trailing slashes are dropped.
static int split_path(const char *path, char *clean, char *dir, const char **base, sv_err *e) {
    if (strlen(path) >= SV_ATOMIC_PATH - 64) return sv_errf(e, "path too long: %.200s...", path);
    strcpy(clean, path);
    size_t n = strlen(clean);
    while (n > 1 && clean[n - 1] == '/') clean[--n] = 0;
    const char *slash = strrchr(clean, '/');
    if (slash) snprintf(dir, SV_ATOMIC_PATH, "%.*s", slash == clean ? 1 : (int)(slash - clean), clean);
    else strcpy(dir, ".");
    *base = slash ? slash + 1 : clean;
    return 0;
}

// The PID in a temporary's name ".BASE.tmp-PID-N" or ".BASE.tmp-PID-N.old", or 0 when name is not one
// of base's temporaries; *is_old tells the second form (the previous output, moved aside to be replaced).
static long temporary_pid(const char *name, const char *base, int *is_old) {
    size_t b = strlen(base);
    if (name[0] != '.' || strncmp(name + 1, base, b) || strncmp(name + 1 + b, ".tmp-", 5)) return 0;
    char *end;
    long pid = strtol(name + b + 6, &end, 10);
    if (pid <= 0 || *end != '-') return 0;
    strtol(end + 1, &end, 10);
    *is_old = !strcmp(end, ".old");
    return *end && !*is_old ? 0 : pid;
}

static int is_empty_dir(const char *path) {
    DIR *d = opendir(path);
    if (!d) return 0;
    struct dirent *de;
    int empty = 1;
    while (empty && (de = readdir(d))) empty = !strcmp(de->d_name, ".") || !strcmp(de->d_name, "..");
    closedir(d);
    return empty;
}

static void join(char *buf, const char *dir, const char *name) {
    snprintf(buf, SV_ATOMIC_PATH, "%.*s/%.255s", SV_ATOMIC_PATH - 300, dir, name);
}

// ---- folders slimvsr wrote: the list of their files ----

// Reads dir's SV_ATOMIC_LIST into a NUL-separated buffer (names, in file order); NULL when there is none.
static char *read_list(const char *dir, size_t *len) {
    char p[SV_ATOMIC_PATH];
    join(p, dir, SV_ATOMIC_LIST);
    FILE *f = fopen(p, "rb");
    if (!f) return NULL;
    char *buf = NULL;
    size_t cap = 0, n = 0;
    int c, line = 0;
    while ((c = fgetc(f)) != EOF) {
        if (n + 2 > cap) {
            char *g = realloc(buf, cap = cap ? 2 * cap : 4096);
            if (!g) {
                free(buf), fclose(f);
                return NULL;
            }
            buf = g;
        }
        if (line == 0) {  // the header line is not a name
            line = c == '\n';
            continue;
        }
        buf[n++] = c == '\n' ? 0 : (char)c;
    }
    fclose(f);
    if (!buf) buf = calloc(1, 2);
    if (buf) buf[n] = 0;
    *len = n;
    return buf;
}

static int listed(const char *list, size_t len, const char *name) {
    for (size_t i = 0; i < len; i += strlen(list + i) + 1)
        if (!strcmp(list + i, name)) return 1;
    return 0;
}

// The first entry of dir that is not on its list (copied into what), or "" when everything is listed.
// Returns -1 when dir has no list at all.
static int unlisted_entry(const char *dir, char *what, size_t n) {
    size_t len;
    char *list = read_list(dir, &len);
    if (!list) return -1;
    what[0] = 0;
    DIR *d = opendir(dir);
    struct dirent *de;
    while (d && !what[0] && (de = readdir(d))) {
        const char *nm = de->d_name;
        if (strcmp(nm, ".") && strcmp(nm, "..") && strcmp(nm, SV_ATOMIC_LIST) && !listed(list, len, nm))
            snprintf(what, n, "%s", nm);
    }
    if (d) closedir(d);
    free(list);
    return 0;
}

// Deletes a folder slimvsr wrote: its listed files, the list, the folder (left in place if anything else
// appeared in it).
static void remove_written_dir(const char *dir) {
    size_t len;
    char *list = read_list(dir, &len);
    char p[SV_ATOMIC_PATH];
    for (size_t i = 0; list && i < len; i += strlen(list + i) + 1) {
        if (!list[i] || strchr(list + i, '/')) continue;
        join(p, dir, list + i);
        unlink(p);
    }
    free(list);
    join(p, dir, SV_ATOMIC_LIST);
    unlink(p);
    rmdir(dir);
}

// Writes the list of the regular files in the temporary folder dir.
static int write_list(const char *dir, const char *shown, sv_err *e) {
    char p[SV_ATOMIC_PATH];
    join(p, dir, SV_ATOMIC_LIST);
    unlink(p);  // a partial folder's, from a run killed while it published
    FILE *f = fopen(p, "wbx");
    if (!f) return sv_errf(e, "%s: cannot write the list of files: %s", shown, strerror(errno));
    fprintf(f, "files written by slimvsr (slimvsr -y replaces this folder only if it holds nothing else)\n");
    DIR *d = opendir(dir);
    struct dirent *de;
    while (d && (de = readdir(d)))
        if (de->d_name[0] != '.') fprintf(f, "%s\n", de->d_name);
    if (d) closedir(d);
    int bad = fflush(f) != 0 || fsync(fileno(f)) != 0;
    if (fclose(f) != 0) bad = 1;
    if (bad) return sv_errf(e, "%s: write failed: %s", shown, strerror(errno));
    return 0;
}

// ---- leftovers of killed runs ----

// Removes base's temporaries in dir whose process is gone. A previous output moved aside (".old") is put
// back when the final name is missing (the kill came between the two renames of a folder's publish).
static void remove_stale(const char *dir, const char *base, const char *final_path) {
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *de;
    char p[SV_ATOMIC_PATH];
    while ((de = readdir(d))) {
        int is_old = 0;
        long pid = temporary_pid(de->d_name, base, &is_old);
        if (pid <= 0 || pid == (long)getpid() || kill((pid_t)pid, 0) == 0 || errno != ESRCH) continue;
        join(p, dir, de->d_name);
        struct stat st;
        if (lstat(p, &st) != 0) continue;
        if (is_old && access(final_path, F_OK) != 0) rename(p, final_path);
        else if (is_old) remove_written_dir(p);
        else if (S_ISDIR(st.st_mode)) remove_dir_signal_safe(p);
        else if (S_ISREG(st.st_mode)) unlink(p);
    }
    closedir(d);
}

// ---- the policy ----

int sv_atomic_check_output(const char *path, int flags, sv_err *e) {
    struct stat st;
    if (lstat(path, &st) != 0) return 0;
    const int replace = flags & SV_ATOMIC_REPLACE;
    if (!S_ISDIR(st.st_mode)) {
        if (!replace) return sv_errf(e, "%s: exists already; choose another output, or add -y to replace it", path);
        return 0;
    }
    if (is_empty_dir(path)) return 0;
    if (!replace) return sv_errf(e, "%s: folder exists and is not empty; choose another output, or add -y to replace "
                                    "a folder slimvsr wrote", path);
    char what[256];
    if (unlisted_entry(path, what, sizeof what) < 0)
        return sv_errf(e, "%s: folder was not written by slimvsr (no %s); refusing to replace it, even with -y",
                       path, SV_ATOMIC_LIST);
    if (what[0])
        return sv_errf(e, "%s: folder holds '%s', which slimvsr did not write; refusing to replace it, even with -y",
                       path, what);
    return 0;
}

static int open_tmp(sv_atomic *a, const char *path, int flags, int is_dir, sv_err *e) {
    memset(a, 0, sizeof *a);
    a->slot = -1;
    a->flags = flags;
    a->is_dir = is_dir;
    char dir[SV_ATOMIC_PATH];
    const char *base = "";
    if (split_path(path, a->final_path, dir, &base, e)) return -1;
    struct stat st;
    if (stat(dir, &st) != 0) return sv_errf(e, "%s: output directory '%s' does not exist", path, dir);
    if (!S_ISDIR(st.st_mode)) return sv_errf(e, "%s: '%s' is not a directory", path, dir);
    if (access(dir, W_OK) != 0) return sv_errf(e, "%s: directory '%s' is not writable", path, dir);
    remove_stale(dir, base, a->final_path);
    if (sv_atomic_check_output(a->final_path, flags, e)) return -1;
    if (flags & SV_ATOMIC_PARTIAL) {  // visible, not registered: a signal leaves it for the next run
        if (snprintf(a->tmp_path, sizeof a->tmp_path, "%s" SV_ATOMIC_PARTIAL_SUFFIX, a->final_path) >=
            (int)sizeof a->tmp_path)
            return sv_errf(e, "%s: path too long", path);
        return 0;
    }
    snprintf(a->tmp_path, sizeof a->tmp_path, "%s/.%s.tmp-%d-%d", dir, base, (int)getpid(),
             atomic_fetch_add(&counter, 1));
    a->slot = live_add(a->tmp_path, is_dir);
    return 0;
}

// An existing partial folder is continued (a->resumed); anything else in its place is refused.
static int reuse_partial(sv_atomic *a, const char *path, sv_err *e) {
    struct stat st;
    if (lstat(a->tmp_path, &st) != 0) return 1;
    if (!S_ISDIR(st.st_mode))
        return sv_errf(e, "%s: '%s' is in the way of the partial output, and is not a folder", path, a->tmp_path);
    a->resumed = 1;
    return 0;
}

int sv_atomic_open_file(sv_atomic *a, const char *path, int flags, sv_err *e) {
    if (open_tmp(a, path, flags, 0, e)) return -1;
    a->f = fopen(a->tmp_path, "wbx");
    if (!a->f) {
        sv_errf(e, "%s: cannot create temporary file: %s", path, strerror(errno));
        sv_atomic_abort(a);
        return -1;
    }
    return 0;
}

int sv_atomic_open_dir(sv_atomic *a, const char *path, int flags, sv_err *e) {
    if (open_tmp(a, path, flags, 1, e)) return -1;
    const int reused = flags & SV_ATOMIC_PARTIAL ? reuse_partial(a, path, e) : 1;
    if (reused <= 0) return reused;
    if (mkdir(a->tmp_path, 0777) != 0) {
        sv_errf(e, "%s: cannot create temporary folder: %s", path, strerror(errno));
        a->tmp_path[0] = 0;
        sv_atomic_abort(a);
        return -1;
    }
    return 0;
}

int sv_fsync_path(const char *path, sv_err *e) {
    int fd = open(path, O_RDONLY);
    if (fd < 0) return sv_errf(e, "%s: cannot open to sync: %s", path, strerror(errno));
    int rc = fsync(fd);
    int err = errno;
    close(fd);
    if (rc != 0) return sv_errf(e, "%s: fsync failed: %s", path, strerror(err));
    return 0;
}

// rename() that never replaces an existing file: renameat2's RENAME_NOREPLACE, or link() + unlink() on
// file systems without it (both fail with EEXIST, atomically).
static int rename_noreplace(const char *from, const char *to) {
#ifdef RENAME_NOREPLACE
    if (renameat2(AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE) == 0) return 0;
    if (errno != EINVAL && errno != ENOSYS) return -1;
#endif
    if (link(from, to) != 0) return -1;
    unlink(from);
    return 0;
}

static int commit_file(sv_atomic *a, sv_err *e) {
    int bad = 0, err = 0;
    if (fflush(a->f) != 0) bad = 1, err = errno;
    if (!bad && fsync(fileno(a->f)) != 0) bad = 1, err = errno;
    if (fclose(a->f) != 0 && !bad) bad = 1, err = errno;
    a->f = NULL;
    if (bad) return sv_errf(e, "%s: write failed: %s", a->final_path, strerror(err));
    int rc = a->flags & SV_ATOMIC_REPLACE ? rename(a->tmp_path, a->final_path)
                                          : rename_noreplace(a->tmp_path, a->final_path);
    if (rc != 0 && errno == EEXIST)
        return sv_errf(e, "%s: appeared while slimvsr was writing it; kept it, and discarded the new output",
                       a->final_path);
    if (rc != 0) return sv_errf(e, "%s: cannot rename temporary file into place: %s", a->final_path, strerror(errno));
    return 0;
}

static int commit_dir(sv_atomic *a, sv_err *e) {
    if (write_list(a->tmp_path, a->final_path, e)) return -1;
    char old[SV_ATOMIC_PATH + 8] = "";
    struct stat st;
    if (lstat(a->final_path, &st) == 0) {
        if (!S_ISDIR(st.st_mode)) return sv_errf(e, "%s: exists and is not a folder", a->final_path);
        if (sv_atomic_check_output(a->final_path, a->flags, e)) return -1;
        if (!is_empty_dir(a->final_path)) {  // an empty folder is replaced by rename() itself
            snprintf(old, sizeof old, "%s.old", a->tmp_path);
            if (rename(a->final_path, old) != 0)
                return sv_errf(e, "%s: cannot move the previous output aside: %s", a->final_path, strerror(errno));
        }
    }
    if (rename(a->tmp_path, a->final_path) != 0) {
        int err = errno;
        if (old[0]) rename(old, a->final_path);
        return sv_errf(e, "%s: cannot rename temporary folder into place: %s", a->final_path, strerror(err));
    }
    if (old[0]) remove_written_dir(old);
    return 0;
}

int sv_atomic_commit(sv_atomic *a, sv_err *e) {
    int rc = a->is_dir ? commit_dir(a, e) : commit_file(a, e);
    if (rc) {
        sv_atomic_abort(a);
        return -1;
    }
    live_remove(a->slot);
    a->slot = -1;
    a->tmp_path[0] = 0;
    return 0;
}

void sv_atomic_abort(sv_atomic *a) {
    if (a->f) {
        fclose(a->f);
        a->f = NULL;
    }
    if (a->tmp_path[0] && !a->resumed) {
        if (a->is_dir) remove_dir_signal_safe(a->tmp_path);
        else unlink(a->tmp_path);
    }
    live_remove(a->slot);
    a->slot = -1;
    a->tmp_path[0] = 0;
}
