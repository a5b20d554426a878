// SPDX-License-Identifier: Apache-2.0 (LICENSE)
#include "core/tensor_set.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int64_t sv_ntensor_numel(const sv_ntensor *t) {
    int64_t n = 1;
    for (int i = 0; i < t->ndim; i++) n *= t->shape[i];
    return n;
}

int sv_tensor_set_add(sv_tensor_set *s, const char *name, int ndim, const int64_t *shape, float *data,
                      sv_err *e) {
    if (ndim < 0 || ndim > SV_MAXDIM) {
        free(data);
        return sv_errf(e, "tensor '%s' has %d dimensions (at most %d supported)", name, ndim, SV_MAXDIM);
    }
    if (s->n == s->cap) {
        int cap = s->cap ? s->cap * 2 : 64;
        sv_ntensor *t = realloc(s->t, (size_t)cap * sizeof *t);
        if (!t) {
            free(data);
            return sv_errf(e, "out of memory growing the tensor list");
        }
        s->t = t;
        s->cap = cap;
    }
    sv_ntensor *t = &s->t[s->n];
    memset(t, 0, sizeof *t);
    t->name = strdup(name);
    if (!t->name) {
        free(data);
        return sv_errf(e, "out of memory");
    }
    t->ndim = ndim;
    for (int i = 0; i < ndim; i++) t->shape[i] = shape[i];
    t->data = data;
    s->n++;
    return 0;
}

const sv_ntensor *sv_tensor_set_find(const sv_tensor_set *s, const char *name) {
    for (int i = 0; i < s->n; i++)
        if (strcmp(s->t[i].name, name) == 0) return &s->t[i];
    return NULL;
}

int sv_tensor_set_set_meta(sv_tensor_set *s, const char *key, const char *value, sv_err *e) {
    for (int i = 0; i < s->nmeta; i++) {
        if (strcmp(s->meta[i].key, key) == 0) {
            char *v = strdup(value);
            if (!v) return sv_errf(e, "out of memory");
            free(s->meta[i].value);
            s->meta[i].value = v;
            return 0;
        }
    }
    return sv_tensor_set_append_meta(s, key, value, e);
}

int sv_tensor_set_append_meta(sv_tensor_set *s, const char *key, const char *value, sv_err *e) {
    if (s->nmeta == s->capmeta) {
        int cap = s->capmeta ? s->capmeta * 2 : 8;
        sv_meta_kv *m = realloc(s->meta, (size_t)cap * sizeof *m);
        if (!m) return sv_errf(e, "out of memory");
        s->meta = m;
        s->capmeta = cap;
    }
    s->meta[s->nmeta].key = strdup(key);
    s->meta[s->nmeta].value = strdup(value);
    if (!s->meta[s->nmeta].key || !s->meta[s->nmeta].value) {
        free(s->meta[s->nmeta].key);
        free(s->meta[s->nmeta].value);
        return sv_errf(e, "out of memory");
    }
    s->nmeta++;
    return 0;
}

const char *sv_tensor_set_get_meta(const sv_tensor_set *s, const char *key) {
    for (int i = 0; i < s->nmeta; i++)
        if (strcmp(s->meta[i].key, key) == 0) return s->meta[i].value;
    return NULL;
}

int sv_tensor_set_add_flat(sv_tensor_set *s, const char *name, const float *src, size_t n, sv_err *e) {
    float *d = sv_malloc((n ? n : 1) * sizeof(float), e);
    if (!d) return -1;
    memcpy(d, src, n * sizeof(float));
    int64_t shape[1] = {(int64_t)n};
    return sv_tensor_set_add(s, name, 1, shape, d, e);
}

float *sv_tensor_set_take(sv_tensor_set *s, const char *name, int64_t *numel) {
    for (int i = 0; i < s->n; i++) {
        if (strcmp(s->t[i].name, name)) continue;
        float *data = s->t[i].data;
        if (numel) *numel = sv_ntensor_numel(&s->t[i]);
        free(s->t[i].name);
        memmove(&s->t[i], &s->t[i + 1], (size_t)(s->n - i - 1) * sizeof *s->t);
        s->n--;
        return data;
    }
    return NULL;
}

int sv_tensor_set_move_ns(sv_tensor_set *from, const char *ns, sv_tensor_set *to, sv_err *e) {
    const size_t n = strlen(ns);
    for (int i = 0; i < from->n;) {
        sv_ntensor *t = &from->t[i];
        if (strncmp(t->name, ns, n) || t->name[n] != '.') {
            i++;
            continue;
        }
        sv_ntensor keep = *t;
        memmove(t, t + 1, (size_t)(from->n - i - 1) * sizeof *t);
        from->n--;
        int rc = sv_tensor_set_add(to, keep.name, keep.ndim, keep.shape, keep.data, e);
        free(keep.name);
        if (rc) return -1;
    }
    const char *m = sv_tensor_set_get_meta(from, ns);
    return m ? sv_tensor_set_set_meta(to, ns, m, e) : 0;
}

void sv_tensor_set_free(sv_tensor_set *s) {
    for (int i = 0; i < s->n; i++) {
        free(s->t[i].name);
        free(s->t[i].data);
    }
    for (int i = 0; i < s->nmeta; i++) {
        free(s->meta[i].key);
        free(s->meta[i].value);
    }
    free(s->t);
    free(s->meta);
    memset(s, 0, sizeof *s);
}

int sv_tensor_set_check_finite(const sv_tensor_set *s, const char *what, sv_err *e) {
    for (int k = 0; k < s->n; k++) {
        const sv_ntensor *t = &s->t[k];
        const size_t n = (size_t)sv_ntensor_numel(t);
        for (size_t i = 0; i < n; i++) {
            const float v = t->data[i];
            if (!isfinite(v))
                return sv_errf(e, "%s: tensor '%s' holds a non-finite value (%s) at index %zu: the file is corrupt",
                               what, t->name, isnan(v) ? "NaN" : v > 0 ? "+Inf" : "-Inf", i);
        }
    }
    return 0;
}
