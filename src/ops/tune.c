// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// tune.c: the wisdom table, this CPU's name, and the one measure-or-recall choice (tune.h).
#include "ops/tune.h"

#include <cpuid.h>
#include <math.h>
#include <omp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/warn.h"
#include "ops/conv_internal.h"

// Longest key and algorithm name a line may hold (longer lines are damaged ones).
enum { KEY_MAX = 200, NAME_MAX_ = 24 };

typedef struct {
    char key[KEY_MAX];
    char algo[NAME_MAX_];
    double ms;
} entry;

struct sv_wisdom {
    entry *e;
    size_t n, cap;
    int measured;
    pthread_mutex_t lock;  // plans may be made on several threads
};

sv_wisdom *sv_wisdom_create(sv_err *e) {
    sv_wisdom *w = sv_calloc(1, sizeof *w, e);
    if (w) pthread_mutex_init(&w->lock, NULL);
    return w;
}

void sv_wisdom_free(sv_wisdom *w) {
    if (!w) return;
    pthread_mutex_destroy(&w->lock);
    free(w->e);
    free(w);
}

size_t sv_wisdom_count(const sv_wisdom *w) { return w->n; }

int sv_wisdom_measured(const sv_wisdom *w) { return w->measured; }

static entry *find(sv_wisdom *w, const char *key) {
    for (size_t i = 0; i < w->n; i++)
        if (!strcmp(w->e[i].key, key)) return &w->e[i];
    return NULL;
}

// Adds or replaces key's entry (the caller holds the lock or owns w alone).
static int put(sv_wisdom *w, const char *key, const char *algo, double ms, sv_err *e) {
    entry *x = find(w, key);
    if (!x) {
        if (w->n == w->cap) {
            const size_t cap = w->cap ? 2 * w->cap : 64;
            entry *grown = realloc(w->e, cap * sizeof *grown);
            if (!grown) return sv_errf(e, "out of memory growing the wisdom table to %zu entries", cap);
            w->e = grown, w->cap = cap;
        }
        x = &w->e[w->n++];
    }
    snprintf(x->key, sizeof x->key, "%s", key);
    snprintf(x->algo, sizeof x->algo, "%s", algo);
    x->ms = ms;
    return 0;
}

static int name_char(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'; }

// One line "KEY = ALGO MS" into w; 1 when it is not one (the text is left as it was).
static int parse_line(sv_wisdom *w, char *line, sv_err *e) {
    char *eq = strstr(line, " = ");
    if (!eq || eq == line || (size_t)(eq - line) >= KEY_MAX) return 1;
    *eq = 0;
    char algo[NAME_MAX_], *end;
    const char *p = eq + 3;
    size_t n = 0;
    while (name_char(p[n]) && n < NAME_MAX_ - 1) algo[n] = p[n], n++;
    algo[n] = 0;
    if (!n || p[n] != ' ') return 1;
    const double ms = strtod(p + n + 1, &end);
    while (*end == ' ' || *end == '\r') end++;
    if (end == p + n + 1 || *end || !(ms >= 0) || !isfinite(ms)) return 1;
    return put(w, line, algo, ms, e) ? -1 : 0;
}

int sv_wisdom_parse(sv_wisdom *w, const char *text, int *skipped, sv_err *e) {
    *skipped = 0;
    char line[KEY_MAX + 64];
    for (const char *p = text; *p;) {
        const char *nl = strchr(p, '\n');
        const size_t len = nl ? (size_t)(nl - p) : strlen(p);
        if (len && p[0] != '#') {
            int r = 1;
            if (len < sizeof line) {
                memcpy(line, p, len);
                line[len] = 0;
                r = strlen(line) == len ? parse_line(w, line, e) : 1;  // a NUL inside: damaged
            }
            if (r < 0) return -1;
            *skipped += r;
        }
        p += len + (nl != NULL);
    }
    return 0;
}

char *sv_wisdom_format(const sv_wisdom *w, sv_err *e) {
    static const char head[] = SV_WISDOM_HEAD ": the convolution backends measured fastest on each CPU "
                               "(delete the file to measure again)\n";
    const size_t room = sizeof head + w->n * (KEY_MAX + NAME_MAX_ + 32);
    char *s = sv_malloc(room, e);
    if (!s) return NULL;
    size_t at = (size_t)snprintf(s, room, "%s", head);
    for (size_t i = 0; i < w->n; i++)
        at += (size_t)snprintf(s + at, room - at, "%s = %s %.4f\n", w->e[i].key, w->e[i].algo, w->e[i].ms);
    return s;
}

// "BRAND:FAMILY-MODEL-STEPPING:" once, from cpuid (the brand's spaces as '_').
static char g_cpu[2][160];  // ... then "avx2", "avx512"
static pthread_once_t g_cpu_once = PTHREAD_ONCE_INIT;

static void name_cpu(void) {
    unsigned r[12] = {0}, a, b, c, d;
    char brand[49] = "unknown", name[120];
    if (__get_cpuid(0x80000000, &a, &b, &c, &d) && a >= 0x80000004) {
        for (unsigned i = 0; i < 3; i++) __get_cpuid(0x80000002 + i, &r[4 * i], &r[4 * i + 1], &r[4 * i + 2], &r[4 * i + 3]);
        memcpy(brand, r, 48);
        brand[48] = 0;
    }
    unsigned fam = 0, model = 0, step = 0;
    if (__get_cpuid(1, &a, &b, &c, &d)) {
        fam = ((a >> 8) & 0xf) + ((a >> 20) & 0xff);
        model = ((a >> 4) & 0xf) | ((a >> 12) & 0xf0);
        step = a & 0xf;
    }
    size_t n = 0;  // no leading, trailing or repeated separators
    for (const char *p = brand; *p && n < 100; p++) {
        if (*p == ' ' || *p < 33 || *p > 126) {
            if (n && name[n - 1] != '_') name[n++] = '_';
        } else {
            name[n++] = *p;
        }
    }
    if (n && name[n - 1] == '_') n--;
    name[n] = 0;
    for (int i = 0; i < 2; i++)
        snprintf(g_cpu[i], sizeof g_cpu[i], "%s:%u-%u-%u:%s", name, fam, model, step, i ? "avx512" : "avx2");
}

const char *sv_tune_cpu(void) {
    pthread_once(&g_cpu_once, name_cpu);
    return g_cpu[sv_conv_avx512()];
}

// Prepares the candidates and times them in rounds; the fastest index into cand (its seconds in *best_sec),
// or -1.
enum { MAX_CAND = 8 };

static int measure_all(const char *what, const int *cand, const char *const *names, int n, const sv_tune_ops *ops,
                       void *ctx, double *best_sec) {
    void *ready[MAX_CAND];
    double sec[MAX_CAND];
    if (n > MAX_CAND) n = MAX_CAND;
    for (int i = 0; i < n; i++) {
        sv_err err;
        int wrong = 0;
        sec[i] = -1;
        ready[i] = ops->prepare(ctx, cand[i], &wrong, &err);
        if (!ready[i] && wrong) sv_warnf("tuning %s: %s not used: %s", what, names[i], err.msg);
    }
    for (int round = 0; round <= SV_TUNE_ROUNDS; round++)
        for (int i = 0; i < n; i++) {
            if (!ready[i]) continue;
            const double t0 = sv_now();
            if (ops->run(ready[i], NULL)) {  // out of memory for its scratch: not a candidate then
                ops->release(ready[i]);
                ready[i] = NULL;
                continue;
            }
            const double t = sv_now() - t0;
            if (round && (sec[i] < 0 || t < sec[i])) sec[i] = t;  // round 0 warms up
        }
    int best = -1;
    for (int i = 0; i < n; i++) {
        if (ready[i] && (best < 0 || sec[i] < sec[best])) best = i;
        if (ready[i]) ops->release(ready[i]);
    }
    if (best >= 0) *best_sec = sec[best];
    return best;
}

static _Thread_local int g_suspended;

void sv_tune_suspend(int on) { g_suspended = on; }

int sv_tune_pick(const char *kind, const char *shape, const int *cand, const char *const *names, int n,
                 const sv_tune_ops *ops, void *ctx, double scale, int fallback) {
    sv_wisdom *w = sv_tune_wisdom();
    if (!w || g_suspended) return fallback;
    char key[KEY_MAX];
    snprintf(key, sizeof key, "%s %s t%d %s", kind, sv_tune_cpu(), omp_get_max_threads(), shape);
    pthread_mutex_lock(&w->lock);
    const entry *x = find(w, key);
    int known = -1;
    for (int i = 0; x && i < n; i++)
        if (!strcmp(x->algo, names[i])) known = i;
    pthread_mutex_unlock(&w->lock);
    if (known >= 0) return cand[known];
    // measured outside the lock: a candidate's plan may tune its own parts (an RSC block's convs)
    char what[KEY_MAX];
    snprintf(what, sizeof what, "%s %s", kind, shape);
    double sec = 0;
    const int best = measure_all(what, cand, names, n, ops, ctx, &sec);
    if (best < 0) return fallback;
    pthread_mutex_lock(&w->lock);
    if (!put(w, key, names[best], 1e3 * sec * scale, NULL)) w->measured++;
    pthread_mutex_unlock(&w->lock);
    return cand[best];
}

int sv_tune_agree(const float *a, const float *ref, size_t n, const char *what, sv_err *e) {
    double scale = 0, err = 0;
    for (size_t i = 0; i < n; i++) {
        const double d = fabs((double)a[i] - ref[i]);
        if (fabs(ref[i]) > scale) scale = fabs(ref[i]);
        if (isnan(d)) err = INFINITY;
        else if (d > err) err = d;
    }
    if (err <= 1e-3 * (scale > 1e-3 ? scale : 1e-3)) return 0;
    return sv_errf(e, "%s differs from the reference by %.3g (outputs up to %.3g)", what, err, scale);
}

void sv_tune_fill(float *x, size_t n, unsigned seed) {
    unsigned s = seed * 2654435761u + 1;
    for (size_t i = 0; i < n; i++) {
        s = s * 1664525u + 1013904223u;
        x[i] = (float)((s >> 8) * (1.0 / 8388608.0) - 1.0);
    }
}
