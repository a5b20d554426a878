#include "io/atomic_file.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static atomic_int counter;

static int make_tmp_name(sv_atomic *a, const char *path, sv_err *e) {
    memset(a, 0, sizeof *a);
    if (strlen(path) >= sizeof a->final_path - 64) return sv_errf(e, "%s: path too long", path);
    strcpy(a->final_path, path);
    // strip trailing slashes for folders
    size_t n = strlen(a->final_path);
    while (n > 1 && a->final_path[n - 1] == '/') a->final_path[--n] = 0;
    const char *slash = strrchr(a->final_path, '/');
    int dirlen = slash ? (int)(slash - a->final_path) : 0;
    const char *base = slash ? slash + 1 : a->final_path;
    char dir[4096];
    if (slash) {
        snprintf(dir, sizeof dir, "%.*s", dirlen ? dirlen : 1, dirlen ? a->final_path : "/");
    } else {
        strcpy(dir, ".");
    }
    struct stat st;
    if (stat(dir, &st) != 0) return sv_errf(e, "%s: output directory '%s' does not exist", path, dir);
    if (!S_ISDIR(st.st_mode)) return sv_errf(e, "%s: '%s' is not a directory", path, dir);
    if (access(dir, W_OK) != 0) return sv_errf(e, "%s: directory '%s' is not writable", path, dir);
    snprintf(a->tmp_path, sizeof a->tmp_path, "%s%s.%s.tmp-%d-%d", slash ? dir : "", slash ? "/" : "", base,
             (int)getpid(), atomic_fetch_add(&counter, 1));
    return 0;
}

int sv_atomic_open_file(sv_atomic *a, const char *path, sv_err *e) {
    if (make_tmp_name(a, path, e)) return -1;
    a->f = fopen(a->tmp_path, "wb");
    if (!a->f) return sv_errf(e, "%s: cannot create temporary file: %s", path, strerror(errno));
    return 0;
}

int sv_atomic_open_dir(sv_atomic *a, const char *path, sv_err *e) {
    if (make_tmp_name(a, path, e)) return -1;
    a->is_dir = 1;
    if (mkdir(a->tmp_path, 0777) != 0)
        return sv_errf(e, "%s: cannot create temporary folder: %s", path, strerror(errno));
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

static void remove_tree(const char *path) {
    DIR *d = opendir(path);
    if (d) {
        struct dirent *de;
        char p[8192];
        while ((de = readdir(d))) {
            if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
            snprintf(p, sizeof p, "%s/%s", path, de->d_name);
            unlink(p);
        }
        closedir(d);
        rmdir(path);
    } else {
        unlink(path);
    }
}

// An existing output folder is replaced only when it holds plain files and no sub-folders, so that
// `upscale in out/` run twice works but pointing OUTPUT at a source tree by mistake fails.
static int replace_dir_allowed(const char *path, sv_err *e) {
    DIR *d = opendir(path);
    if (!d) return sv_errf(e, "%s: cannot read existing output folder: %s", path, strerror(errno));
    struct dirent *de;
    char p[8192];
    int ok = 1;
    while ((de = readdir(d))) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
        snprintf(p, sizeof p, "%s/%s", path, de->d_name);
        struct stat st;
        if (lstat(p, &st) != 0 || !S_ISREG(st.st_mode)) ok = 0;
    }
    closedir(d);
    if (!ok) return sv_errf(e, "%s: output folder exists and holds sub-folders; refusing to replace it", path);
    return 0;
}

int sv_atomic_commit(sv_atomic *a, sv_err *e) {
    if (!a->is_dir) {
        int bad = 0, err = 0;
        if (fflush(a->f) != 0) bad = 1, err = errno;
        if (!bad && fsync(fileno(a->f)) != 0) bad = 1, err = errno;
        if (fclose(a->f) != 0 && !bad) bad = 1, err = errno;
        a->f = NULL;
        if (bad) {
            sv_errf(e, "%s: write failed: %s", a->final_path, strerror(err));
            sv_atomic_abort(a);
            return -1;
        }
        if (rename(a->tmp_path, a->final_path) != 0) {
            sv_errf(e, "%s: cannot rename temporary file into place: %s", a->final_path, strerror(errno));
            sv_atomic_abort(a);
            return -1;
        }
        return 0;
    }
    struct stat st;
    char old[4200] = "";
    if (stat(a->final_path, &st) == 0) {
        if (!S_ISDIR(st.st_mode)) {
            sv_errf(e, "%s: exists and is not a folder", a->final_path);
            sv_atomic_abort(a);
            return -1;
        }
        if (replace_dir_allowed(a->final_path, e)) {
            sv_atomic_abort(a);
            return -1;
        }
        snprintf(old, sizeof old, "%s.old", a->tmp_path);
        if (rename(a->final_path, old) != 0) {
            sv_errf(e, "%s: cannot move the previous output aside: %s", a->final_path, strerror(errno));
            sv_atomic_abort(a);
            return -1;
        }
    }
    if (rename(a->tmp_path, a->final_path) != 0) {
        sv_errf(e, "%s: cannot rename temporary folder into place: %s", a->final_path, strerror(errno));
        if (old[0]) rename(old, a->final_path);
        sv_atomic_abort(a);
        return -1;
    }
    if (old[0]) remove_tree(old);
    return 0;
}

void sv_atomic_abort(sv_atomic *a) {
    if (a->f) {
        fclose(a->f);
        a->f = NULL;
    }
    if (a->tmp_path[0]) remove_tree(a->tmp_path);
    a->tmp_path[0] = 0;
}
