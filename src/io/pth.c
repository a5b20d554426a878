// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// pth.c: PyTorch zip checkpoints -> sv_tensor_set. See pth.h for the layouts accepted.
#include "io/pth.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/float_convert.h"
#include "io/pickle.h"
#include "io/zip.h"

int sv_pth_is_legacy(const uint8_t *head, size_t n) {
    if (n >= 2 && head[0] == 0x80 && head[1] <= 5) return 1;  // pickle PROTO opcode
    if (n >= 262 && memcmp(head + 257, "ustar", 5) == 0) return 1;
    return 0;
}

static int legacy_error(const char *path, sv_err *e) {
    return sv_errf(e,
                   "%s: legacy (non-zip) PyTorch checkpoint, which slimvsr does not read; convert it with "
                   "python -c \"import torch; torch.save(torch.load('%s', map_location='cpu'), 'converted.pth', "
                   "_use_new_zipfile_serialization=True)\"",
                   path, path);
}

// ---- names ----

static int starts(const char *s, const char *prefix) { return strncmp(s, prefix, strlen(prefix)) == 0; }

// Parses 1-6 decimal digits at *p; advances *p.
static int parse_index(const char **p, long *v) {
    int k = 0;
    *v = 0;
    while (k < 6 && (*p)[k] >= '0' && (*p)[k] <= '9') *v = *v * 10 + ((*p)[k++] - '0');
    *p += k;
    return k > 0;
}

char *sv_pth_canonical_name(const char *name) {
    static const char *const renames[][2] = {
        {"backward_resblocks.", "backward_trunk."},
        {"forward_resblocks.", "forward_trunk."},
        {"upsample1.upsample_conv.", "upconv1."},
        {"upsample2.upsample_conv.", "upconv2."},
    };
    size_t cap = strlen(name) + 32;
    char *out = malloc(cap);
    if (!out) return NULL;
    for (size_t i = 0; i < sizeof renames / sizeof *renames; i++) {
        if (starts(name, renames[i][0])) {
            snprintf(out, cap, "%s%s", renames[i][1], name + strlen(renames[i][0]));
            return out;
        }
    }
    // MMagic SPyNet: basic_module.L.basic_module.J.conv.X, J = 0..4 (ConvModule wraps each conv) ->
    // BasicSR's nn.Sequential index 2J (a ReLU sits between the convs).
    const char *p = name;
    long level, j;
    if (starts(p, "spynet.basic_module.")) {
        p += strlen("spynet.basic_module.");
        if (parse_index(&p, &level) && starts(p, ".basic_module.")) {
            p += strlen(".basic_module.");
            if (parse_index(&p, &j) && starts(p, ".conv.")) {
                p += strlen(".conv.");
                snprintf(out, cap, "spynet.basic_module.%ld.basic_module.%ld.%s", level, 2 * j, p);
                return out;
            }
        }
    }
    snprintf(out, cap, "%s", name);
    return out;
}

// Removes "module." prefixes, and in generator mode requires and removes "generator.". NULL = skip.
static const char *strip_prefixes(const char *k, int generator_mode) {
    while (starts(k, "module.")) k += strlen("module.");
    if (generator_mode) {
        if (!starts(k, "generator.")) return NULL;
        k += strlen("generator.");
        while (starts(k, "module.")) k += strlen("module.");
    }
    return k;
}

// ---- archive structure ----

// Finds `data.pkl` or `<prefix>/data.pkl`; *prefix gets "" or "<prefix>/".
static const sv_zip_entry *find_pickle(const sv_zip *z, char *prefix, size_t cap, sv_err *e) {
    const sv_zip_entry *found = NULL;
    for (int i = 0; i < z->n; i++) {
        const char *n = z->ent[i].name, *slash = strchr(n, '/');
        int match = strcmp(n, "data.pkl") == 0 || (slash && slash > n && strcmp(slash + 1, "data.pkl") == 0);
        if (!match) continue;
        if (found) {
            sv_errf(e, "%s: holds several data.pkl records ('%s', '%s')", z->path, found->name, n);
            return NULL;
        }
        found = &z->ent[i];
        size_t plen = slash ? (size_t)(slash - n) + 1 : 0;
        if (plen >= cap) {
            sv_errf(e, "%s: archive folder name is too long", z->path);
            return NULL;
        }
        memcpy(prefix, n, plen);
        prefix[plen] = 0;
    }
    if (found) return found;
    for (int i = 0; i < z->n; i++) {
        size_t l = strlen(z->ent[i].name);
        if (l >= 13 && strcmp(z->ent[i].name + l - 13, "constants.pkl") == 0) {
            sv_errf(e, "%s: a TorchScript archive (torch.jit.save), not a torch.save checkpoint; "
                       "save model.state_dict() with torch.save instead", z->path);
            return NULL;
        }
    }
    sv_errf(e, "%s: ZIP archive without a data.pkl record: not a PyTorch checkpoint", z->path);
    return NULL;
}

static int check_byteorder(sv_zip *z, const char *prefix, sv_err *e) {
    char name[1100];
    snprintf(name, sizeof name, "%sbyteorder", prefix);
    const sv_zip_entry *en = sv_zip_find(z, name);
    if (!en) return 0;  // older torch: always little-endian
    uint8_t *b;
    uint64_t n;
    if (sv_zip_read_all(z, en, 16, &b, &n, e)) return -1;
    int ok = n == 6 && memcmp(b, "little", 6) == 0;
    free(b);
    if (!ok) return sv_errf(e, "%s: big-endian checkpoints are not supported", z->path);
    return 0;
}

// ---- tensors ----

static sv_fc_type fc_type(sv_pk_dtype d) {
    switch (d) {
    case SV_PK_F16: return SV_FC_F16;
    case SV_PK_BF16: return SV_FC_BF16;
    case SV_PK_F64: return SV_FC_F64;
    default: return SV_FC_F32;
    }
}

static int is_contiguous(const sv_pk_tensor *t) {
    int64_t expect = 1;
    for (int d = t->ndim - 1; d >= 0; d--) {
        if (t->size[d] != 1 && t->stride[d] != expect) return 0;
        expect *= t->size[d];
    }
    return 1;
}

// Reads the span of the storage that the view addresses and gathers it into a C-contiguous float32
// array. The pickle interpreter has already checked the view against the storage's element count.
static int load_tensor(sv_zip *z, const char *prefix, const char *tname, const sv_pk_tensor *t, float **out,
                       sv_err *e) {
    const sv_pk_obj *st = t->storage;
    sv_fc_type ft = fc_type(st->u.storage.dtype);
    uint64_t es = (uint64_t)st->u.storage.elem_size;
    char rec[1200];
    snprintf(rec, sizeof rec, "%sdata/%s", prefix, st->u.storage.key);
    const sv_zip_entry *en = sv_zip_find(z, rec);
    if (!en) return sv_errf(e, "%s: tensor '%s': storage record '%s' is missing", z->path, tname, rec);
    uint64_t need = (uint64_t)st->u.storage.numel * es;
    if (en->usize < need)
        return sv_errf(e, "%s: tensor '%s': storage record '%s' holds %llu bytes, %llu expected", z->path, tname,
                       rec, (unsigned long long)en->usize, (unsigned long long)need);
    int64_t numel = sv_pk_tensor_numel(t);
    float *dst = sv_malloc((size_t)numel * sizeof(float), e);
    if (!dst) return -1;
    *out = dst;
    if (numel == 0) return 0;
    int64_t last = t->offset;
    for (int d = 0; d < t->ndim; d++) last += (t->size[d] - 1) * t->stride[d];
    uint64_t nbytes = (uint64_t)(last - t->offset + 1) * es;
    uint8_t *raw = sv_malloc(nbytes, e);
    if (!raw) return -1;
    if (sv_zip_read(z, en, (uint64_t)t->offset * es, nbytes, raw, e)) {
        free(raw);
        return sv_errprefix(e, "tensor '%s'", tname);
    }
    if (is_contiguous(t)) {
        sv_fc_array(ft, raw, dst, (size_t)numel);
    } else {
        int64_t idx[SV_MAXDIM] = {0}, pos = 0;
        for (int64_t i = 0; i < numel; i++) {
            dst[i] = sv_fc_one(ft, raw + (uint64_t)pos * es);
            for (int d = t->ndim - 1; d >= 0; d--) {
                pos += t->stride[d];
                if (++idx[d] < t->size[d]) break;
                pos -= t->stride[d] * t->size[d];
                idx[d] = 0;
            }
        }
    }
    free(raw);
    return 0;
}

static int cmp_names(const void *a, const void *b) {
    return strcmp((*(const sv_ntensor *const *)a)->name, (*(const sv_ntensor *const *)b)->name);
}

static int check_unique(const sv_tensor_set *s, const char *path, sv_err *e) {
    if (s->n < 2) return 0;
    const sv_ntensor **v = sv_malloc((size_t)s->n * sizeof *v, e);
    if (!v) return -1;
    for (int i = 0; i < s->n; i++) v[i] = &s->t[i];
    qsort(v, (size_t)s->n, sizeof *v, cmp_names);
    int rc = 0;
    for (int i = 1; i < s->n && !rc; i++)
        if (strcmp(v[i - 1]->name, v[i]->name) == 0)
            rc = sv_errf(e, "%s: tensor '%s' appears twice (after removing 'module.'/'generator.' prefixes and "
                            "translating MMagic names)", path, v[i]->name);
    free(v);
    return rc;
}

// Lists up to a few string keys of d, for messages.
static void key_list(const sv_pk_obj *d, char *buf, size_t cap) {
    size_t k = 0;
    buf[0] = 0;
    for (size_t i = 0; i < d->u.dict.n && i < 8; i++) {
        const sv_pk_obj *key = d->u.dict.keys[i];
        if (key->kind == SV_PK_STR && k < cap)
            k += (size_t)snprintf(buf + k, cap - k, "%s'%.40s'", k ? ", " : "", key->u.str.s);
    }
    if (d->u.dict.n > 8 && k < cap) snprintf(buf + k, cap - k, ", ...");
}

// The key under which v is loaded (prefixes removed, not yet translated), or NULL when the entry is skipped:
// not a float tensor under a string key, or outside "generator." in generator mode.
static const char *loaded_key(const sv_pk_obj *k, const sv_pk_obj *v, int generator_mode) {
    if (k->kind != SV_PK_STR || v->kind != SV_PK_TENSOR) return NULL;
    if (v->u.tensor->storage->u.storage.dtype == SV_PK_NONFLOAT) return NULL;
    return strip_prefixes(k->u.str.s, generator_mode);
}

// The bound on the float32 bytes that one .pth may materialise. torch.save stores every element of a float
// storage in at least 2 bytes (float16/bfloat16), uncompressed, so tensors that do not overlap take at most
// twice the file's size in memory. The factor 4 leaves room for deflated archives and for views that share
// a storage; the constant for small files with expand()ed tensors (pickle.h allows 2^24 elements, 64 MiB,
// per tensor: four such). Many stride-0 views of one tiny storage, each under the per-tensor limit, would
// otherwise take gigabytes from a file of a few kilobytes.
#define PTH_BYTES_PER_FILE_BYTE 4
#define PTH_EXTRA_BYTES (256ull << 20)

static int check_total_size(const sv_zip *z, const sv_pk_obj *sd, int generator_mode, sv_err *e) {
    uint64_t total = 0, limit = PTH_BYTES_PER_FILE_BYTE * z->fsize + PTH_EXTRA_BYTES;
    for (size_t i = 0; i < sd->u.dict.n; i++) {
        const sv_pk_obj *v = sd->u.dict.vals[i];
        if (!loaded_key(sd->u.dict.keys[i], v, generator_mode)) continue;
        uint64_t bytes;
        if (__builtin_mul_overflow((uint64_t)sv_pk_tensor_numel(v->u.tensor), (uint64_t)sizeof(float), &bytes) ||
            __builtin_add_overflow(total, bytes, &total))
            total = UINT64_MAX;
    }
    if (total <= limit) return 0;
    return sv_errf(e, "%s: its tensors would take %llu MiB as float32, over the %llu MiB that a %llu-byte file may "
                      "hold (%dx its size + %llu MiB): views repeat their storage (stride 0?)", z->path,
                   (unsigned long long)(total >> 20), (unsigned long long)(limit >> 20),
                   (unsigned long long)z->fsize, PTH_BYTES_PER_FILE_BYTE, PTH_EXTRA_BYTES >> 20);
}

static int convert_dict(sv_zip *z, const char *prefix, const sv_pk_obj *root, sv_tensor_set *out, sv_err *e) {
    if (!root || root->kind != SV_PK_DICT)
        return sv_errf(e, "%s: data.pkl does not hold a dict (a state_dict or a dict wrapping one)", z->path);
    const sv_pk_obj *sd = root;
    static const char *const wrappers[] = {"params", "params_ema", "state_dict"};
    for (size_t i = 0; i < sizeof wrappers / sizeof *wrappers; i++) {
        const sv_pk_obj *v = sv_pk_dict_get(root, wrappers[i]);
        if (v && v->kind == SV_PK_DICT) {
            sd = v;
            break;
        }
    }
    int generator_mode = 0;
    for (size_t i = 0; i < sd->u.dict.n; i++) {
        const sv_pk_obj *k = sd->u.dict.keys[i];
        if (k->kind == SV_PK_STR && starts(strip_prefixes(k->u.str.s, 0), "generator.")) generator_mode = 1;
    }
    if (check_total_size(z, sd, generator_mode, e)) return -1;
    for (size_t i = 0; i < sd->u.dict.n; i++) {
        const sv_pk_obj *k = sd->u.dict.keys[i], *v = sd->u.dict.vals[i];
        const char *stripped = loaded_key(k, v, generator_mode);
        if (!stripped) continue;
        if (strlen(k->u.str.s) != k->u.str.len) return sv_errf(e, "%s: a tensor name holds a NUL byte", z->path);
        char *name = sv_pth_canonical_name(stripped);
        if (!name) return sv_errf(e, "out of memory");
        float *data = NULL;
        const sv_pk_tensor *t = v->u.tensor;
        int rc = load_tensor(z, prefix, k->u.str.s, t, &data, e);
        if (!rc) rc = sv_tensor_set_add(out, name, t->ndim, t->size, data, e);  // owns data, even on failure
        else free(data);
        free(name);
        if (rc) return -1;
    }
    if (out->n == 0) {
        char keys[512];
        key_list(root, keys, sizeof keys);
        return sv_errf(e, "%s: no float tensors found (top-level keys: %s)", z->path, keys[0] ? keys : "none");
    }
    return check_unique(out, z->path, e);
}

int sv_pth_read(const char *path, sv_tensor_set *out, sv_err *e) {
    uint8_t head[262];
    FILE *f = fopen(path, "rb");
    if (!f) return sv_errf(e, "%s: cannot open: %s", path, strerror(errno));
    size_t n = fread(head, 1, sizeof head, f);
    fclose(f);
    if (n < 4 || memcmp(head, "PK", 2) != 0) {
        if (sv_pth_is_legacy(head, n)) return legacy_error(path, e);
        return sv_errf(e, "%s: not a PyTorch zip checkpoint (no ZIP signature)", path);
    }
    sv_zip z;
    if (sv_zip_open(&z, path, e)) return -1;
    sv_pickle pk = {0};
    uint8_t *pkl = NULL;
    uint64_t pkl_len = 0;
    char prefix[1024], what[1200];
    sv_pk_obj *root = NULL;
    int rc = -1;
    const sv_zip_entry *en = find_pickle(&z, prefix, sizeof prefix, e);
    if (!en || check_byteorder(&z, prefix, e)) goto done;
    if (sv_zip_read_all(&z, en, SV_PICKLE_MAX_BYTES, &pkl, &pkl_len, e)) goto done;
    snprintf(what, sizeof what, "%s: %s", path, en->name);
    if (sv_pickle_load(&pk, pkl, pkl_len, what, &root, e)) goto done;
    rc = convert_dict(&z, prefix, root, out, e);
done:
    if (rc) sv_tensor_set_free(out);
    sv_pickle_free(&pk);
    free(pkl);
    sv_zip_close(&z);
    return rc;
}
