// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// memory.c: the memory this process can still allocate (memory.h).
#include "core/memory.h"

#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

enum { TEXT_MAX = 1 << 20, PATH_MAX_LEN = 4096, LINE_MAX_LEN = 8192 };
// cgroup v1 shows "no limit" as 2^63 rounded down to a page; nothing real comes near 2^60 bytes
#define NO_LIMIT_FROM (1LL << 60)

// A /proc or /sys text file, whole (they report size 0: read to the end), NUL-terminated; NULL if unreadable.
static char *read_text(const char *path) {
    FILE *f = fopen(path, "re");
    if (!f) return NULL;
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    while (buf) {
        len += fread(buf + len, 1, cap - 1 - len, f);
        if (len < cap - 1 || cap >= TEXT_MAX) break;
        char *grown = realloc(buf, cap *= 2);
        if (!grown) free(buf);
        buf = grown;
    }
    fclose(f);
    if (buf) buf[len] = '\0';
    return buf;
}

// The rest of the first line of text that starts with key followed by sep, or NULL.
static const char *line_value(const char *text, const char *key, char sep) {
    const size_t k = strlen(key);
    for (const char *l = text; l && *l;) {
        if (!strncmp(l, key, k) && l[k] == sep) return l + k + 1;
        l = strchr(l, '\n');
        if (l) l++;
    }
    return NULL;
}

// A non-negative decimal at s (leading blanks skipped); -1 when there is none.
static long long parse_count(const char *s, const char **end) {
    while (*s == ' ' || *s == '\t') s++;
    if (*s < '0' || *s > '9') return -1;
    long long v = 0;
    for (; *s >= '0' && *s <= '9'; s++) v = v < LLONG_MAX / 10 - 9 ? v * 10 + (*s - '0') : LLONG_MAX;
    if (end) *end = s;
    return v;
}

long long sv_mem_parse_kb(const char *text, const char *key) {
    const char *v = line_value(text, key, ':'), *end;
    long long n = v ? parse_count(v, &end) : -1;
    if (n < 0) return -1;
    while (*end == ' ' || *end == '\t') end++;
    if (strncmp(end, "kB", 2)) return n;
    return n < LLONG_MAX / 1024 ? n * 1024 : LLONG_MAX;
}

long long sv_mem_parse_stat(const char *text, const char *key) {
    const char *v = line_value(text, key, ' ');
    return v ? parse_count(v, NULL) : -1;
}

long long sv_mem_parse_limit(const char *text) {
    while (*text == ' ' || *text == '\t') text++;
    if (!strncmp(text, "max", 3)) return -1;
    long long n = parse_count(text, NULL);
    if (n < 0) return *text == '-' ? -1 : -2;  // v1 also accepts -1 for "no limit"
    return n >= NO_LIMIT_FROM ? -1 : n;
}

// Copies the line at l (up to '\n') into buf; 0, or -1 when it does not fit.
static int copy_line(const char *l, char *buf, size_t n) {
    const char *nl = strchr(l, '\n');
    const size_t len = nl ? (size_t)(nl - l) : strlen(l);
    if (len >= n) return -1;
    memcpy(buf, l, len);
    buf[len] = '\0';
    return 0;
}

// 1 when the comma-separated list has item
static int has_item(const char *list, const char *item) {
    const size_t k = strlen(item);
    for (const char *p = list; p; p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL)
        if (!strncmp(p, item, k) && (p[k] == ',' || p[k] == '\0')) return 1;
    return 0;
}

int sv_mem_parse_cgroup(const char *proc_cgroup, int v2, char *path, size_t n) {
    char line[LINE_MAX_LEN];
    for (const char *l = proc_cgroup; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
        if (copy_line(l, line, sizeof line)) continue;
        char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
        if (!c2) continue;
        *c1 = *c2 = '\0';
        const int match = v2 ? !strcmp(line, "0") && c2 == c1 + 1 : has_item(c1 + 1, "memory");
        if (!match) continue;
        if (strlen(c2 + 1) >= n) return -1;
        strcpy(path, c2 + 1);
        return 0;
    }
    return -1;
}

int sv_mem_parse_mountinfo(const char *mountinfo, int v2, char *root, size_t nroot, char *mnt, size_t nmnt) {
    char line[LINE_MAX_LEN];
    for (const char *l = mountinfo; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
        // ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS [OPTIONAL...] - FSTYPE SOURCE SUPEROPTIONS
        char *f[6] = {0}, *save = NULL, *tok;
        if (copy_line(l, line, sizeof line)) continue;
        int i = 0;
        for (tok = strtok_r(line, " ", &save); tok && i < 5; tok = strtok_r(NULL, " ", &save)) f[i++] = tok;
        while (tok && strcmp(tok, "-")) tok = strtok_r(NULL, " ", &save);
        const char *fstype = tok ? strtok_r(NULL, " ", &save) : NULL, *src = fstype ? strtok_r(NULL, " ", &save) : NULL;
        const char *super = src ? strtok_r(NULL, " ", &save) : NULL;
        if (i < 5 || !super) continue;
        const int match = v2 ? !strcmp(fstype, "cgroup2") : !strcmp(fstype, "cgroup") && has_item(super, "memory");
        if (!match || strlen(f[3]) >= nroot || strlen(f[4]) >= nmnt) continue;
        strcpy(root, f[3]);
        strcpy(mnt, f[4]);
        return 0;
    }
    return -1;
}

// The number in file dir/name parsed by parse (-2 when unreadable)
static long long read_number(const char *dir, const char *name, long long (*parse)(const char *)) {
    char p[PATH_MAX_LEN];
    if (snprintf(p, sizeof p, "%s/%s", dir, name) >= (int)sizeof p) return -2;
    char *t = read_text(p);
    const long long v = t ? parse(t) : -2;
    free(t);
    return v;
}

static long long parse_inactive_v1(const char *t) { return sv_mem_parse_stat(t, "total_inactive_file"); }
static long long parse_inactive_v2(const char *t) { return sv_mem_parse_stat(t, "inactive_file"); }

// Room left under one cgroup's limit (SIZE_MAX: no limit there): limit - (usage - inactive page cache).
static size_t cgroup_room_at(const char *dir, int v2) {
    const long long lim = read_number(dir, v2 ? "memory.max" : "memory.limit_in_bytes", sv_mem_parse_limit);
    if (lim < 0) return SIZE_MAX;
    long long used = read_number(dir, v2 ? "memory.current" : "memory.usage_in_bytes", sv_mem_parse_limit);
    const long long inactive = read_number(dir, "memory.stat", v2 ? parse_inactive_v2 : parse_inactive_v1);
    if (used < 0) used = 0;
    if (inactive > 0 && inactive < used) used -= inactive;
    return lim > used ? (size_t)(lim - used) : 0;
}

// The least room over the process's cgroup and its ancestors in one hierarchy (v1 memory or v2).
static size_t cgroup_room(int v2) {
    char *cg = read_text("/proc/self/cgroup"), *mi = cg ? read_text("/proc/self/mountinfo") : NULL;
    char path[PATH_MAX_LEN], root[PATH_MAX_LEN], mnt[PATH_MAX_LEN], dir[2 * PATH_MAX_LEN];
    const int ok = mi && !sv_mem_parse_cgroup(cg, v2, path, sizeof path) &&
                   !sv_mem_parse_mountinfo(mi, v2, root, sizeof root, mnt, sizeof mnt);
    free(cg), free(mi);
    if (!ok) return SIZE_MAX;
    // the path below the mount: a mount of a sub-folder (containers) shows that folder at mnt; a path
    // outside what the mount shows leaves only the mount's own folder to read
    const size_t nr = strcmp(root, "/") ? strlen(root) : 0;
    const char *rel = !strncmp(path, root, nr) && (path[nr] == '/' || !path[nr]) ? path + nr : "";
    snprintf(dir, sizeof dir, "%s%s", mnt, strcmp(rel, "/") ? rel : "");
    size_t best = SIZE_MAX;
    const size_t nm = strlen(mnt);
    for (;;) {
        const size_t room = cgroup_room_at(dir, v2);
        if (room < best) best = room;
        char *slash = strrchr(dir, '/');
        if (strlen(dir) <= nm || !slash || slash < dir + nm) break;
        *slash = '\0';
    }
    return best;
}

static void take(sv_mem_avail *a, size_t bytes, sv_mem_bound b) {
    if (bytes < a->bytes) a->bytes = bytes, a->bound = b;
}

sv_mem_avail sv_mem_available(void) {
    sv_mem_avail a = {SIZE_MAX, SV_MEM_UNKNOWN};
    char *t = read_text("/proc/meminfo");
    const long long avail = t ? sv_mem_parse_kb(t, "MemAvailable") : -1;
    free(t);
    if (avail >= 0) take(&a, (size_t)avail, SV_MEM_AVAILABLE);
    take(&a, cgroup_room(1), SV_MEM_CGROUP);
    take(&a, cgroup_room(0), SV_MEM_CGROUP);
    static const struct {
        int resource;
        const char *status_key;  // what /proc/self/status counts against it
        sv_mem_bound bound;
    } limits[] = {{RLIMIT_AS, "VmSize", SV_MEM_RLIMIT_AS}, {RLIMIT_DATA, "VmData", SV_MEM_RLIMIT_DATA}};
    char *status = read_text("/proc/self/status");
    for (size_t i = 0; i < sizeof limits / sizeof *limits; i++) {
        struct rlimit rl;
        if (getrlimit(limits[i].resource, &rl) || rl.rlim_cur == RLIM_INFINITY) continue;
        const long long used = status ? sv_mem_parse_kb(status, limits[i].status_key) : -1;
        const size_t u = used > 0 ? (size_t)used : 0;
        take(&a, rl.rlim_cur > u ? (size_t)(rl.rlim_cur - u) : 0, limits[i].bound);
    }
    free(status);
    return a;
}

const char *sv_mem_bound_name(sv_mem_bound b) {
    switch (b) {
    case SV_MEM_AVAILABLE: return "MemAvailable";
    case SV_MEM_CGROUP: return "the cgroup's memory limit";
    case SV_MEM_RLIMIT_AS: return "RLIMIT_AS, ulimit -v";
    case SV_MEM_RLIMIT_DATA: return "RLIMIT_DATA, ulimit -d";
    default: return "no limit known";
    }
}

const char *sv_mem_format(size_t bytes, char *buf, size_t n) {
    const double mb = (double)bytes / (1 << 20);
    if (mb >= 1024)
        snprintf(buf, n, "%.1f GB", mb / 1024);
    else
        snprintf(buf, n, "%.0f MB", mb);
    return buf;
}

const char *sv_mem_describe(sv_mem_avail av, char *buf, size_t n) {
    char b[32];
    snprintf(buf, n, "%s %s available (%s)", sv_mem_format(av.bytes, b, sizeof b),
             av.bytes >= (size_t)1 << 30 ? "are" : "is", sv_mem_bound_name(av.bound));
    return buf;
}
