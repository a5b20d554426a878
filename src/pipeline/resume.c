// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// resume.c: the record and checkpoint of resume.h, written through io/atomic_file.h.
#include "pipeline/resume.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io/atomic_file.h"

void sv_resume_record_init(sv_resume_record *r) {
    r->len = 0;
    r->text[0] = 0;
    sv_resume_record_add(r, "slimvsr-resume", "1");
}

void sv_resume_record_add(sv_resume_record *r, const char *key, const char *value) {
    const int n = snprintf(r->text + r->len, sizeof r->text - r->len, "%s %s\n", key, value);
    if (n > 0 && (size_t)n < sizeof r->text - r->len) r->len += (size_t)n;
}

void sv_resume_record_add_int(sv_resume_record *r, const char *key, long long value) {
    char v[32];
    snprintf(v, sizeof v, "%lld", value);
    sv_resume_record_add(r, key, v);
}

// The value of key's line (up to its newline, at most n - 1 bytes) into v: 0, or -1 when absent.
static int value_of(const sv_resume_record *r, const char *key, char *v, size_t n) {
    const size_t k = strlen(key);
    for (const char *l = r->text; *l;) {
        const char *end = strchr(l, '\n');
        const size_t len = end ? (size_t)(end - l) : strlen(l);
        if (len > k && !strncmp(l, key, k) && l[k] == ' ') {
            snprintf(v, n, "%.*s", (int)(len - k - 1), l + k + 1);
            return 0;
        }
        l += len + (end != NULL);
    }
    return -1;
}

int sv_resume_record_int(const sv_resume_record *r, const char *key, int *value) {
    char v[32], *end;
    if (value_of(r, key, v, sizeof v)) return -1;
    const long x = strtol(v, &end, 10);
    if (end == v || *end) return -1;
    *value = (int)x;
    return 0;
}

static void join(char *p, size_t n, const char *dir, const char *name) { snprintf(p, n, "%s/%s", dir, name); }

int sv_resume_record_read(const char *dir, sv_resume_record *r, sv_err *e) {
    char p[SV_ATOMIC_PATH + 32];
    join(p, sizeof p, dir, SV_RESUME_RECORD);
    FILE *f = fopen(p, "rb");
    if (!f) return errno == ENOENT ? 0 : sv_errf(e, "%s: cannot read: %s", p, strerror(errno));
    r->len = fread(r->text, 1, sizeof r->text - 1, f);
    const int bad = ferror(f) || (!feof(f) && fgetc(f) != EOF);
    fclose(f);
    r->text[r->len] = 0;
    if (bad || strlen(r->text) != r->len) return sv_errf(e, "%s: not a resume record of slimvsr upscale", p);
    return 1;
}

// What follows a file's head: written to f, 0 or nonzero on a failed write (errno says why).
typedef int (*body_fn)(FILE *f, void *ud);

// Writes head, then body (NULL: nothing), into dir/name through a temporary (fsynced, renamed).
static int write_atomic(const char *dir, const char *name, const char *head, body_fn body, void *ud, sv_err *e) {
    char p[SV_ATOMIC_PATH + 32];
    join(p, sizeof p, dir, name);
    sv_atomic a;
    if (sv_atomic_open_file(&a, p, SV_ATOMIC_REPLACE, e)) return -1;
    if (fputs(head, a.f) == EOF || (body && body(a.f, ud))) {
        sv_atomic_abort(&a);
        return sv_errf(e, "%s: write failed: %s", p, strerror(errno));
    }
    return sv_atomic_commit(&a, e);
}

int sv_resume_record_write(const char *dir, const sv_resume_record *r, sv_err *e) {
    return write_atomic(dir, SV_RESUME_RECORD, r->text, NULL, NULL, e);
}

int sv_resume_record_check(const char *dir, const sv_resume_record *saved, const sv_resume_record *job, sv_err *e) {
    char key[64], want[1024], had[1024];
    for (const char *l = job->text; *l;) {
        const size_t k = strcspn(l, " \n");
        snprintf(key, sizeof key, "%.*s", (int)k, l);
        value_of(job, key, want, sizeof want);
        if (value_of(saved, key, had, sizeof had)) snprintf(had, sizeof had, "(none)");
        if (strcmp(want, had))
            return sv_errf(e, "%s: was started with %s %s, this job has %s %s: run it with the same options to "
                           "continue, or remove %s to start over", dir, key, had, key, want, dir);
        l += strcspn(l, "\n");
        if (*l) l++;
    }
    return 0;
}

typedef struct {
    const sv_runner *run;
    float *plane;
} state_body;

// The runner's state, a plane at a time through one plane's buffer.
static int write_state(FILE *f, void *ud) {
    const state_body *b = ud;
    int planes;
    size_t pf;
    sv_runner_state_shape(b->run, &planes, &pf);
    for (int c = 0; c < planes; c++) {
        sv_runner_state_get(b->run, c, 1, b->plane);
        if (fwrite(b->plane, sizeof *b->plane, pf, f) != pf) return -1;
    }
    return 0;
}

int sv_resume_state_save(const char *dir, int next, const sv_runner *run, float *plane, sv_err *e) {
    char head[96];
    int planes;
    size_t pf;
    sv_runner_state_shape(run, &planes, &pf);
    snprintf(head, sizeof head, "slimvsr-state 1 next %d floats %zu\n", next, (size_t)planes * pf);
    state_body b = {run, plane};
    return write_atomic(dir, SV_RESUME_STATE, head, write_state, &b, e);
}

// The checkpoint's frame K after its head is checked against the runner's state and the file's size, so
// that a damaged file is refused before the runner's state is touched.
static int state_head(FILE *f, const char *p, const sv_runner *run, sv_err *e) {
    char head[96];
    int next = -1, version = 0, planes;
    size_t floats = 0, pf;
    sv_runner_state_shape(run, &planes, &pf);
    const size_t n = (size_t)planes * pf;
    if (!fgets(head, sizeof head, f) ||
        sscanf(head, "slimvsr-state %d next %d floats %zu", &version, &next, &floats) != 3 || version != 1 ||
        next < 0)
        return sv_errf(e, "%s: not a checkpoint of slimvsr upscale", p);
    if (floats != n) return sv_errf(e, "%s: holds %zu floats of state, this job's model has %zu", p, floats, n);
    struct stat st;
    if (fstat(fileno(f), &st) || (size_t)st.st_size != strlen(head) + n * sizeof(float))
        return sv_errf(e, "%s: truncated or too long", p);
    return next;
}

int sv_resume_state_load(const char *dir, sv_runner *run, float *plane, sv_err *e) {
    char p[SV_ATOMIC_PATH + 32];
    join(p, sizeof p, dir, SV_RESUME_STATE);
    FILE *f = fopen(p, "rb");
    if (!f) return errno == ENOENT ? 0 : sv_errf(e, "%s: cannot read: %s", p, strerror(errno));
    const int next = state_head(f, p, run, e);
    int planes;
    size_t pf;
    sv_runner_state_shape(run, &planes, &pf);
    int c = 0;
    for (; next >= 0 && c < planes && fread(plane, sizeof *plane, pf, f) == pf; c++)
        sv_runner_state_set(run, c, 1, plane);
    fclose(f);
    if (next >= 0 && c < planes) return sv_errf(e, "%s: read failed: %s", p, strerror(errno));
    return next;
}

void sv_resume_clear(const char *dir) {
    char p[SV_ATOMIC_PATH + 32];
    join(p, sizeof p, dir, SV_RESUME_STATE);
    unlink(p);
    join(p, sizeof p, dir, SV_RESUME_RECORD);
    unlink(p);
}
