// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// safetensors.c: see safetensors.h for the format and the checks made.
#include "io/safetensors.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "io/atomic_file.h"
#include "io/float_convert.h"

// ---- reading ----

typedef struct {
    const char *name;       // points into the parsed JSON
    sv_fc_type type;
    int ndim;
    int64_t shape[SV_MAXDIM];
    uint64_t begin, end;
} entry;

static const struct {
    const char *name;
    sv_fc_type type;
} dtypes[] = {{"F32", SV_FC_F32}, {"F16", SV_FC_F16}, {"BF16", SV_FC_BF16}, {"F64", SV_FC_F64}};

// A JSON number that is a non-negative integer exactly representable in a double.
static int json_uint(const cJSON *j, uint64_t *v) {
    if (!cJSON_IsNumber(j)) return -1;
    double d = j->valuedouble;
    if (!(d >= 0 && d <= 9007199254740992.0) || d != floor(d)) return -1;
    *v = (uint64_t)d;
    return 0;
}

static int parse_entry(const char *path, const cJSON *j, uint64_t data_len, entry *en, sv_err *e) {
    const char *name = j->string;
    en->name = name;
    if (!cJSON_IsObject(j)) return sv_errf(e, "%s: header entry '%s' is not an object", path, name);
    const cJSON *dt = cJSON_GetObjectItemCaseSensitive(j, "dtype");
    const cJSON *sh = cJSON_GetObjectItemCaseSensitive(j, "shape");
    const cJSON *off = cJSON_GetObjectItemCaseSensitive(j, "data_offsets");
    if (!cJSON_IsString(dt) || !cJSON_IsArray(sh) || !cJSON_IsArray(off) || cJSON_GetArraySize(off) != 2)
        return sv_errf(e, "%s: tensor '%s' needs \"dtype\", \"shape\" and two \"data_offsets\"", path, name);
    int known = 0;
    for (size_t i = 0; i < sizeof dtypes / sizeof *dtypes; i++) {
        if (strcmp(dt->valuestring, dtypes[i].name) == 0) {
            en->type = dtypes[i].type;
            known = 1;
        }
    }
    if (!known)
        return sv_errf(e, "%s: tensor '%s' has dtype '%.20s' (only F32, F16, BF16 and F64 are supported)", path,
                       name, dt->valuestring);
    int nd = cJSON_GetArraySize(sh);
    if (nd > SV_MAXDIM) return sv_errf(e, "%s: tensor '%s' has %d dimensions (at most %d)", path, name, nd, SV_MAXDIM);
    en->ndim = nd;
    uint64_t numel = 1, v;
    int overflow = 0, k = 0;
    const cJSON *d;
    cJSON_ArrayForEach(d, sh) {
        if (json_uint(d, &v)) return sv_errf(e, "%s: tensor '%s': shape must hold non-negative integers", path, name);
        en->shape[k++] = (int64_t)v;
        overflow |= __builtin_mul_overflow(numel, v, &numel);
    }
    uint64_t nbytes;
    overflow |= __builtin_mul_overflow(numel, (uint64_t)sv_fc_size(en->type), &nbytes);
    if (overflow) return sv_errf(e, "%s: tensor '%s': shape overflows", path, name);
    if (json_uint(cJSON_GetArrayItem(off, 0), &en->begin) || json_uint(cJSON_GetArrayItem(off, 1), &en->end))
        return sv_errf(e, "%s: tensor '%s': data_offsets must be non-negative integers", path, name);
    if (en->begin > en->end || en->end > data_len)
        return sv_errf(e, "%s: tensor '%s': data_offsets [%llu, %llu] fall outside the %llu-byte data section",
                       path, name, (unsigned long long)en->begin, (unsigned long long)en->end,
                       (unsigned long long)data_len);
    if (en->end - en->begin != nbytes)
        return sv_errf(e, "%s: tensor '%s': data_offsets span %llu bytes but shape and dtype need %llu", path,
                       name, (unsigned long long)(en->end - en->begin), (unsigned long long)nbytes);
    return 0;
}

static int cmp_offsets(const void *a, const void *b) {
    const entry *x = a, *y = b;
    if (x->begin != y->begin) return x->begin < y->begin ? -1 : 1;
    if (x->end != y->end) return x->end < y->end ? -1 : 1;
    return 0;
}

static int cmp_entry_names(const void *a, const void *b) {
    return strcmp((*(const entry *const *)a)->name, (*(const entry *const *)b)->name);
}

// Names unique; tensors in offset order exactly tile [0, data_len).
static int check_layout(const char *path, entry *en, int n, uint64_t data_len, sv_err *e) {
    qsort(en, (size_t)n, sizeof *en, cmp_offsets);
    uint64_t at = 0;
    for (int i = 0; i < n; i++) {
        if (en[i].begin != at)
            return sv_errf(e, "%s: tensor '%s' starts at byte %llu of the data, expected %llu (%s)", path, en[i].name,
                           (unsigned long long)en[i].begin, (unsigned long long)at,
                           en[i].begin < at ? "overlapping tensors" : "a hole in the data");
        at = en[i].end;
    }
    if (at != data_len)
        return sv_errf(e, "%s: tensors cover %llu of the %llu data bytes", path, (unsigned long long)at,
                       (unsigned long long)data_len);
    const entry **byname = sv_malloc((size_t)n * sizeof *byname, e);
    if (!byname) return -1;
    for (int i = 0; i < n; i++) byname[i] = &en[i];
    qsort(byname, (size_t)n, sizeof *byname, cmp_entry_names);
    int rc = 0;
    for (int i = 1; i < n && !rc; i++)
        if (strcmp(byname[i - 1]->name, byname[i]->name) == 0)
            rc = sv_errf(e, "%s: tensor '%s' appears twice in the header", path, byname[i]->name);
    free(byname);
    return rc;
}

// Entries of __metadata__ accepted. slimvsr writes at most two ("slimvsr", and in a training state "train",
// "prune" or "flowtrain"), other writers a few ("format"); the cap bounds the work a hostile header causes.
#define MAX_META_ENTRIES 4096

static int cmp_item_keys(const void *a, const void *b) {
    return strcmp((*(const cJSON *const *)a)->string, (*(const cJSON *const *)b)->string);
}

// Keys unique: sorted once, then neighbours compared (searching the set for each key would be quadratic).
static int check_meta_keys(const char *path, const cJSON *m, int n, sv_err *e) {
    const cJSON **byname = sv_malloc((size_t)(n ? n : 1) * sizeof *byname, e);
    if (!byname) return -1;
    int k = 0;
    for (const cJSON *kv = m->child; kv; kv = kv->next) byname[k++] = kv;
    qsort(byname, (size_t)n, sizeof *byname, cmp_item_keys);
    int rc = 0;
    for (int i = 1; i < n && !rc; i++)
        if (strcmp(byname[i - 1]->string, byname[i]->string) == 0)
            rc = sv_errf(e, "%s: __metadata__ key '%s' appears twice", path, byname[i]->string);
    free(byname);
    return rc;
}

static int read_metadata(const char *path, const cJSON *m, sv_tensor_set *out, sv_err *e) {
    if (!cJSON_IsObject(m)) return sv_errf(e, "%s: __metadata__ is not an object", path);
    int n = cJSON_GetArraySize(m);
    if (n > MAX_META_ENTRIES)
        return sv_errf(e, "%s: __metadata__ holds %d entries, more than the %d accepted", path, n, MAX_META_ENTRIES);
    const cJSON *kv;
    cJSON_ArrayForEach(kv, m)
        if (!cJSON_IsString(kv)) return sv_errf(e, "%s: __metadata__ value '%s' is not a string", path, kv->string);
    if (check_meta_keys(path, m, n, e)) return -1;
    cJSON_ArrayForEach(kv, m)
        if (sv_tensor_set_append_meta(out, kv->string, kv->valuestring, e)) return -1;
    return 0;
}

static int read_tensors(FILE *f, const char *path, uint64_t data_start, const entry *en, int n,
                        sv_tensor_set *out, sv_err *e) {
    for (int i = 0; i < n; i++) {
        uint64_t nbytes = en[i].end - en[i].begin;
        size_t numel = (size_t)(nbytes / (uint64_t)sv_fc_size(en[i].type));
        float *data = sv_malloc(numel * sizeof(float), e);
        if (!data) return -1;
        uint8_t *raw = en[i].type == SV_FC_F32 ? (uint8_t *)data : sv_malloc(nbytes, e);
        int bad = !raw || fseeko(f, (off_t)(data_start + en[i].begin), SEEK_SET) != 0 ||
                  fread(raw, 1, nbytes, f) != nbytes;
        if (bad && raw) sv_errf(e, "%s: read error in tensor '%s'", path, en[i].name);
        if (!bad && raw != (uint8_t *)data) sv_fc_array(en[i].type, raw, data, numel);
        if (raw != (uint8_t *)data) free(raw);
        if (bad) {
            free(data);
            return -1;
        }
        if (sv_tensor_set_add(out, en[i].name, en[i].ndim, en[i].shape, data, e)) return -1;
    }
    return 0;
}

static int read_impl(FILE *f, const char *path, uint64_t fsize, sv_tensor_set *out, sv_err *e) {
    uint8_t lenbuf[8];
    if (fsize < 8 || fread(lenbuf, 1, 8, f) != 8)
        return sv_errf(e, "%s: too short for a safetensors file (truncated?)", path);
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--) hlen = hlen << 8 | lenbuf[i];
    if (hlen > SV_SAFETENSORS_MAX_HEADER)
        return sv_errf(e, "%s: safetensors header length %llu is over the %llu-byte limit (not a safetensors file?)",
                       path, (unsigned long long)hlen, SV_SAFETENSORS_MAX_HEADER);
    if (hlen > fsize - 8)
        return sv_errf(e, "%s: safetensors header length %llu runs past the end of the %llu-byte file (truncated?)",
                       path, (unsigned long long)hlen, (unsigned long long)fsize);
    uint64_t data_len = fsize - 8 - hlen;
    char *h = sv_malloc(hlen + 1, e);
    if (!h) return -1;
    if (fread(h, 1, hlen, f) != hlen) {
        free(h);
        return sv_errf(e, "%s: read error in the header", path);
    }
    h[hlen] = 0;
    const char *end = NULL;
    cJSON *root = hlen && h[0] == '{' ? cJSON_ParseWithLengthOpts(h, hlen, &end, 0) : NULL;
    int rc = 0;
    if (!cJSON_IsObject(root)) {
        rc = sv_errf(e, "%s: safetensors header is not a JSON object", path);
    } else {
        for (const char *p = end; p < h + hlen; p++)
            if (*p != ' ') rc = sv_errf(e, "%s: safetensors header has trailing bytes after the JSON object", path);
    }
    int n = 0;
    entry *en = NULL;
    if (!rc) {
        en = sv_calloc((size_t)cJSON_GetArraySize(root), sizeof *en, e);
        if (!en) rc = -1;
    }
    const cJSON *item, *meta = NULL;
    if (!rc) {
        cJSON_ArrayForEach(item, root) {
            if (strcmp(item->string, "__metadata__") != 0) rc = parse_entry(path, item, data_len, &en[n++], e);
            else if (meta) rc = sv_errf(e, "%s: __metadata__ appears twice in the header", path);
            else rc = read_metadata(path, meta = item, out, e);
            if (rc) break;
        }
    }
    if (!rc) rc = check_layout(path, en, n, data_len, e);
    if (!rc) rc = read_tensors(f, path, 8 + hlen, en, n, out, e);
    free(en);
    cJSON_Delete(root);
    free(h);
    return rc;
}

int sv_safetensors_read(const char *path, sv_tensor_set *out, sv_err *e) {
    FILE *f = fopen(path, "rb");
    if (!f) return sv_errf(e, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    int rc;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) rc = sv_errf(e, "%s: not a regular file", path);
    else rc = read_impl(f, path, (uint64_t)st.st_size, out, e);
    fclose(f);
    if (rc) sv_tensor_set_free(out);
    return rc;
}

// ---- writing ----

typedef struct {
    char *s;
    size_t n, cap;
    int oom;
} strbuf;

static void sb_put(strbuf *b, const char *s, size_t n) {
    if (b->oom) return;
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->n + n + 1) cap *= 2;
        char *p = realloc(b->s, cap);
        if (!p) {
            b->oom = 1;
            return;
        }
        b->s = p;
        b->cap = cap;
    }
    memcpy(b->s + b->n, s, n);
    b->n += n;
    b->s[b->n] = 0;
}

static void sb_str(strbuf *b, const char *s) { sb_put(b, s, strlen(s)); }

// A JSON string literal: quotes, backslashes and control characters escaped; other bytes as they are.
static void sb_json_string(strbuf *b, const char *s) {
    sb_put(b, "\"", 1);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        char esc[8];
        if (c == '"' || c == '\\') {
            esc[0] = '\\';
            esc[1] = (char)c;
            sb_put(b, esc, 2);
        } else if (c < 0x20) {
            snprintf(esc, sizeof esc, "\\u%04x", c);
            sb_put(b, esc, 6);
        } else {
            sb_put(b, s, 1);
        }
    }
    sb_put(b, "\"", 1);
}

static int cmp_tensor_names(const void *a, const void *b) {
    return strcmp((*(const sv_ntensor *const *)a)->name, (*(const sv_ntensor *const *)b)->name);
}

// Builds the header (padded to a multiple of 8 bytes) for the tensors in the given order.
// Whether the fp16 writer stores this tensor as F16: everything but the smallest tensors (SPyNet's
// normalisation constants, 3-element biases), which cost nothing in float32.
static int as_f16(int f16, const sv_ntensor *t) { return f16 && sv_ntensor_numel(t) >= SV_SAFETENSORS_F16_MIN; }

static int build_header(const char *path, const sv_tensor_set *s, const sv_ntensor **order, int f16, strbuf *b,
                        sv_err *e) {
    char num[64];
    sb_str(b, "{");
    if (s->nmeta) {
        sb_str(b, "\"__metadata__\":{");
        for (int i = 0; i < s->nmeta; i++) {
            if (i) sb_str(b, ",");
            sb_json_string(b, s->meta[i].key);
            sb_str(b, ":");
            sb_json_string(b, s->meta[i].value);
        }
        sb_str(b, "}");
    }
    uint64_t at = 0;
    for (int i = 0; i < s->n; i++) {
        const sv_ntensor *t = order[i];
        if (!t->name[0] || strcmp(t->name, "__metadata__") == 0)
            return sv_errf(e, "%s: tensor name '%s' cannot be written", path, t->name);
        if (i && strcmp(order[i - 1]->name, t->name) == 0)
            return sv_errf(e, "%s: tensor '%s' appears twice", path, t->name);
        if (s->nmeta || i) sb_str(b, ",");
        sb_json_string(b, t->name);
        int half = as_f16(f16, t);
        sb_str(b, half ? ":{\"dtype\":\"F16\",\"shape\":[" : ":{\"dtype\":\"F32\",\"shape\":[");
        for (int d = 0; d < t->ndim; d++) {
            if (t->shape[d] < 0) return sv_errf(e, "%s: tensor '%s' has a negative dimension", path, t->name);
            snprintf(num, sizeof num, "%s%lld", d ? "," : "", (long long)t->shape[d]);
            sb_str(b, num);
        }
        uint64_t nbytes = (uint64_t)sv_ntensor_numel(t) * (half ? 2 : 4);
        snprintf(num, sizeof num, "],\"data_offsets\":[%llu,%llu]}", (unsigned long long)at,
                 (unsigned long long)(at + nbytes));
        sb_str(b, num);
        at += nbytes;
    }
    sb_str(b, "}");
    while (b->n % 8) sb_str(b, " ");
    if (b->oom) return sv_errf(e, "out of memory building the safetensors header");
    return 0;
}

// Writes one tensor's data, as float32 or converted to float16 (in blocks, through a small buffer).
static int write_data(FILE *f, const sv_ntensor *t, int half, const char *path, sv_err *e) {
    size_t numel = (size_t)sv_ntensor_numel(t);
    if (!half) {
        if (fwrite(t->data, sizeof(float), numel, f) != numel)
            return sv_errf(e, "%s: write failed: %s", path, strerror(errno));
        return 0;
    }
    uint16_t buf[4096];
    for (size_t i = 0; i < numel;) {
        size_t n = numel - i < 4096 ? numel - i : 4096;
        for (size_t k = 0; k < n; k++) {
            float v = t->data[i + k];
            buf[k] = sv_fc_f32_to_f16(v);
            if (isfinite(v) && (buf[k] & 0x7c00u) == 0x7c00u)
                return sv_errf(e, "%s: tensor '%s' holds %g, beyond float16's range (65504): store it as float32",
                               path, t->name, v);
        }
        if (fwrite(buf, 2, n, f) != n) return sv_errf(e, "%s: write failed: %s", path, strerror(errno));
        i += n;
    }
    return 0;
}

static int write_set(const char *path, const sv_tensor_set *s, int f16, sv_err *e) {
    const sv_ntensor **order = sv_malloc((size_t)(s->n ? s->n : 1) * sizeof *order, e);
    if (!order) return -1;
    for (int i = 0; i < s->n; i++) order[i] = &s->t[i];
    qsort(order, (size_t)s->n, sizeof *order, cmp_tensor_names);
    strbuf b = {0};
    int rc = build_header(path, s, order, f16, &b, e);
    sv_atomic a;
    if (!rc) rc = sv_atomic_open_file(&a, path, SV_ATOMIC_REPLACE, e);
    if (!rc) {
        uint8_t len[8];
        for (int i = 0; i < 8; i++) len[i] = (uint8_t)((uint64_t)b.n >> (8 * i));
        if (fwrite(len, 1, 8, a.f) != 8 || fwrite(b.s, 1, b.n, a.f) != b.n)
            rc = sv_errf(e, "%s: write failed: %s", path, strerror(errno));
        for (int i = 0; !rc && i < s->n; i++) rc = write_data(a.f, order[i], as_f16(f16, order[i]), path, e);
        if (rc) sv_atomic_abort(&a);
        else rc = sv_atomic_commit(&a, e);
    }
    free(b.s);
    free(order);
    return rc;
}

int sv_safetensors_write(const char *path, const sv_tensor_set *s, sv_err *e) { return write_set(path, s, 0, e); }

int sv_safetensors_write_f16(const char *path, const sv_tensor_set *s, sv_err *e) { return write_set(path, s, 1, e); }
