// SPDX-License-Identifier: Apache-2.0 (LICENSE)
#include "testutil.h"

#include <ftw.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "train/model_init.h"

int tu_failed_checks;
static int n_pass, n_fail;
static void remove_tmpdirs(int keep);

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
    remove_tmpdirs(tu_failed_checks != before);  // a failed test's folders stay for a look
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

// Folders made by tu_tmpdir during the current test, removed by run_test when the test passed.
static char g_tmpdirs[64][256];
static int g_ntmpdirs;

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
    if (g_ntmpdirs < 64) snprintf(g_tmpdirs[g_ntmpdirs++], sizeof g_tmpdirs[0], "%s", b);
    return b;
}

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

static void remove_tmpdirs(int keep) {
    for (int i = 0; i < g_ntmpdirs && !keep; i++) nftw(g_tmpdirs[i], remove_one, 8, FTW_DEPTH | FTW_PHYS);
    g_ntmpdirs = 0;
}

const char *tu_join(const char *dir, const char *name) {
    static char buf[64][4096];
    static int k;
    char d[4096];
    char *b = buf[k++ % 64];
    // dir may be an earlier result, so it is copied first.
    if (snprintf(d, sizeof d, "%s", dir) >= (int)sizeof d || snprintf(b, 4096, "%s/%s", d, name) >= 4096)
        tu_fail(__FILE__, __LINE__, "path too long: %s/%s", dir, name);
    return b;
}

int tu_random_model_dir(sv_model *m, int feat, int blocks, sv_direction dir, uint64_t seed) {
    sv_err e;
    if (!sv_model_init_random(m, feat, blocks, SV_LEAKY_SLOPE, dir, seed, &e)) return 0;
    CHECKF(0, "%s", e.msg);
    return -1;
}

int tu_random_model(sv_model *m, int feat, int blocks, uint64_t seed) {
    return tu_random_model_dir(m, feat, blocks, SV_DIR_BI, seed);
}

void tu_boost_blocks(sv_model *m, uint64_t seed) {
    for (int t = sv_first_branch(m); t < 2; t++)
        for (int k = 0; k < m->num_block; k++) {
            sv_conv_layer *c[2] = {&m->trunk[t].blocks[k].conv1, &m->trunk[t].blocks[k].conv2};
            for (int j = 0; j < 2; j++) {
                size_t n = (size_t)c[j]->cout * c[j]->cin * 9;
                for (size_t i = 0; i < n; i++) c[j]->w[i] *= 10.0f;
                uint64_t st = seed + 100 * t + 10 * k + j;
                tu_fill_uniform(c[j]->b, (size_t)c[j]->cout, -0.1f, 0.1f, &st);
            }
        }
}

void tu_zero_hidden_channel(sv_model *m, int d, int c) {
    sv_conv_layer *cf = &m->trunk[d].conv_first;
    memset(cf->w + (size_t)c * cf->cin * 9, 0, sizeof(float) * cf->cin * 9);
    cf->b[c] = 0;
    for (int k = 0; k < m->num_block; k++) {
        sv_conv_layer *c2 = &m->trunk[d].blocks[k].conv2;
        memset(c2->w + (size_t)c * c2->cin * 9, 0, sizeof(float) * c2->cin * 9);
        c2->b[c] = 0;
    }
}

void tu_band(float *frame, size_t frame_floats, int w4, int y0, int rows, const float *chw) {
    const size_t plane = frame_floats / 3, n = (size_t)rows * w4;
    for (int c = 0; c < 3; c++) memcpy(frame + c * plane + (size_t)y0 * w4, chw + c * n, n * sizeof(float));
}

int tu_collect_frame(void *ud, int index, int y0, int rows, const float *chw, sv_err *e) {
    (void)e;
    tu_frames *c = ud;
    tu_band(c->out + (size_t)index * c->frame, c->frame, c->w4, y0, rows, chw);
    return 0;
}
