// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// run_log.c: log.jsonl and saved-option helpers of the training run folders (see run_log.h).
#include "train/run_log.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

double sv_json_num(const cJSON *j, const char *k, double dflt) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, k);
    return cJSON_IsNumber(v) ? v->valuedouble : dflt;
}

int sv_json_long(const cJSON *j, const char *k, long lo, long hi, long *v, const char *what, sv_err *e) {
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(j, k);
    if (!x) return 0;
    if (!cJSON_IsNumber(x)) return sv_errf(e, "%s: field %s is not a number", what, k);
    const double d = x->valuedouble;
    // range-checked as a double first: converting one outside long's range is undefined
    if (!(d >= -0x1p63 && d < 0x1p63) || d != floor(d) || (long)d < lo || (long)d > hi)
        return sv_errf(e, "%s: field %s is %g, not an integer in [%ld, %ld]", what, k, d, lo, hi);
    *v = (long)d;
    return 0;
}

int sv_json_int(const cJSON *j, const char *k, int lo, int hi, int *v, const char *what, sv_err *e) {
    long l = *v;
    if (sv_json_long(j, k, lo, hi, &l, what, e)) return -1;
    *v = (int)l;
    return 0;
}

void sv_json_add_u64(cJSON *j, const char *k, uint64_t v) {
    char w[32];
    snprintf(w, sizeof w, "%" PRIu64, v);
    cJSON_AddStringToObject(j, k, w);
}

uint64_t sv_json_u64(const cJSON *j, const char *k, uint64_t dflt) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, k);
    return cJSON_IsString(v) ? strtoull(v->valuestring, NULL, 10) : dflt;
}

void sv_json_add_u64_array(cJSON *j, const char *k, const uint64_t *v, int n) {
    cJSON *a = cJSON_AddArrayToObject(j, k);
    for (int i = 0; i < n; i++) {
        char w[32];
        snprintf(w, sizeof w, "%" PRIu64, v[i]);
        cJSON_AddItemToArray(a, cJSON_CreateString(w));
    }
}

int sv_json_u64_array(const cJSON *j, const char *k, uint64_t *v, int max) {
    const cJSON *it;
    int n = 0;
    cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(j, k)) {
        if (n < max && cJSON_IsString(it)) v[n++] = strtoull(it->valuestring, NULL, 10);
    }
    return n;
}

int sv_log_append(const char *path, const cJSON *j, sv_err *e) {
    FILE *f = fopen(path, "a");
    if (!f) return sv_errf(e, "%s: cannot append: %s", path, strerror(errno));
    char *txt = cJSON_PrintUnformatted(j);
    int rc = txt && fprintf(f, "%s\n", txt) > 0 ? 0 : -1;
    free(txt);
    if (fclose(f) || rc) return sv_errf(e, "%s: write failed: %s", path, strerror(errno));
    return 0;
}

int sv_log_trim(const char *path, long iter, sv_err *e) {
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    char tmp[4096 + 16];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *g = fopen(tmp, "w");
    if (!g) {
        fclose(f);
        return sv_errf(e, "%s: cannot write: %s", tmp, strerror(errno));
    }
    char line[8192];
    while (fgets(line, sizeof line, f)) {
        cJSON *j = cJSON_Parse(line);
        const double it = sv_json_num(j, "iter", -1);
        if (j && it >= 0 && it <= iter) fputs(line, g);
        cJSON_Delete(j);
    }
    fclose(f);
    if (fclose(g) || rename(tmp, path)) return sv_errf(e, "%s: cannot rewrite the log: %s", path, strerror(errno));
    return 0;
}
