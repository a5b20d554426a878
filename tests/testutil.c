#include "testutil.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int tu_failed_checks;
static int n_pass, n_fail;

void tu_fail(const char *file, int line, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "  %s:%d: ", file, line);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    tu_failed_checks++;
}

void run_test(const char *name, void (*fn)(void)) {
    int before = tu_failed_checks;
    fn();
    if (tu_failed_checks == before) {
        printf("PASS %s\n", name);
        n_pass++;
    } else {
        printf("FAIL %s\n", name);
        n_fail++;
    }
    fflush(stdout);
}

int test_summary(void) {
    printf("# %d passed, %d failed\n", n_pass, n_fail);
    return n_fail ? 1 : 0;
}

const char *tu_data(const char *name) {
    static char buf[8][4096];
    static int k;
    const char *dir = getenv("SLIMVSR_TESTDATA");
    if (!dir) dir = "tests/data";
    char *b = buf[k++ % 8];
    snprintf(b, 4096, "%s/%s", dir, name);
    return b;
}

void *tu_read_file(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        tu_fail(__FILE__, __LINE__, "cannot open %s", path);
        return NULL;
    }
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    void *p = malloc(len > 0 ? (size_t)len : 1);
    if (fread(p, 1, (size_t)len, f) != (size_t)len) {
        tu_fail(__FILE__, __LINE__, "short read %s", path);
        free(p);
        fclose(f);
        return NULL;
    }
    fclose(f);
    *n = (size_t)len;
    return p;
}

float *tu_read_f32(const char *path, size_t expect_count) {
    size_t n;
    float *p = tu_read_file(path, &n);
    if (!p) return NULL;
    if (expect_count && n != expect_count * 4) {
        tu_fail(__FILE__, __LINE__, "%s: %zu bytes, expected %zu floats", path, n, expect_count);
        free(p);
        return NULL;
    }
    return p;
}

double *tu_read_f64(const char *path, size_t expect_count) {
    size_t n;
    double *p = tu_read_file(path, &n);
    if (!p) return NULL;
    if (expect_count && n != expect_count * 8) {
        tu_fail(__FILE__, __LINE__, "%s: %zu bytes, expected %zu doubles", path, n, expect_count);
        free(p);
        return NULL;
    }
    return p;
}

double tu_max_abs_diff(const float *a, const float *b, size_t n) {
    double m = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - (double)b[i]);
        if (d > m || d != d) m = d != d ? INFINITY : d;
    }
    return m;
}

void tu_fill_uniform(float *x, size_t n, float lo, float hi, uint64_t *state) {
    for (size_t i = 0; i < n; i++) {
        *state = *state * 6364136223846793005ULL + 1442695040888963407ULL;
        double u = (double)(*state >> 11) / 9007199254740992.0;
        x[i] = lo + (hi - lo) * (float)u;
    }
}

const char *tu_tmpdir(void) {
    static char buf[4][256];
    static int k;
    char *b = buf[k++ % 4];
    const char *base = getenv("TMPDIR");
    snprintf(b, 256, "%s/slimvsr-test-XXXXXX", base ? base : "/tmp");
    if (!mkdtemp(b)) {
        tu_fail(__FILE__, __LINE__, "mkdtemp failed");
        return "/tmp";
    }
    return b;
}
