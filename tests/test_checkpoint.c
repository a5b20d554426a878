// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// test_checkpoint.c: checkpoint readers and the safetensors writer.
//  - tests/data/tiny/tiny_basicvsr.pth (PyTorch 1.13 torch.save of a state_dict) equals tiny/weights.bin
//    exactly: names, order, shapes, values;
//  - the cases made by tests/data/make_pth_cases.py (expected values in pth_cases.json): BasicSR
//    params/params_ema with a module. prefix, MMagic state_dict/meta with name translation, views
//    (transposed, sliced, permuted, expanded, shared storages, 0-d, empty), float16/bfloat16/float64,
//    pickle protocol 4, nn.Parameter, deflate, ZIP64 extra fields, legacy format and a disallowed global;
//  - truncated, corrupted, mutated and random files fail cleanly (run under `make SAN=1 test` too);
//  - safetensors: round trip, layout of what is written, F16/BF16/F64 reading, malformed headers;
//  - float32 -> float16 against a search over every float16 value, and the fp16 writer;
//  - hostile files built here: a .pth of many stride-0 views, a header of 100k metadata keys, and models
//    with a NaN/Inf weight or out-of-range numbers in their metadata.
//
// The safetensors files written here were checked once to be readable by plain Python/numpy:
//   /usr/bin/python3 -c "import json,struct,sys,numpy as np; b=open(sys.argv[1],'rb').read();
//     n=struct.unpack('<Q',b[:8])[0]; h=json.loads(b[8:8+n]); d=b[8+n:];
//     [print(k, np.frombuffer(d[v['data_offsets'][0]:v['data_offsets'][1]], '<f4').reshape(v['shape']).sum())
//      for k, v in h.items() if k != '__metadata__']; print(h.get('__metadata__'))" FILE.safetensors
#include <cjson/cJSON.h>
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "io/checkpoint.h"
#include "io/float_convert.h"
#include "io/pickle.h"
#include "io/pth.h"
#include "io/safetensors.h"
#include "io/zip.h"
#include "model/basicvsr.h"
#include "testutil.h"

// ---- helpers ----

// Writes a file afresh (unlinking first: ext4 flushes a file truncated to zero and rewritten, which is slow).
static void spit(const char *path, const void *p, size_t n) {
    unlink(path);
    FILE *f = fopen(path, "wb");
    if (!f) {
        tu_fail(__FILE__, __LINE__, "cannot create %s", path);
        return;
    }
    fwrite(p, 1, n, f);
    fclose(f);
}

static cJSON *read_json(const char *path) {
    size_t n;
    uint8_t *b = tu_read_file(path, &n);
    if (!b) return NULL;
    cJSON *j = cJSON_ParseWithLength((const char *)b, n);
    free(b);
    if (!j) tu_fail(__FILE__, __LINE__, "%s: bad JSON", path);
    return j;
}

static const char *tmp_path(const char *dir, const char *name) {
    static char buf[4][512];
    static int k;
    char *b = buf[k++ % 4];
    snprintf(b, 512, "%s/%s", dir, name);
    return b;
}

static void rm_dir(const char *dir, const char *const *names, int n) {
    for (int i = 0; i < n; i++) unlink(tmp_path(dir, names[i]));
    rmdir(dir);
}

// A failed read returns -1, leaves a message and an empty set.
static int fails_cleanly(int rc, const sv_tensor_set *s, const sv_err *e) {
    return rc == -1 && s->n == 0 && s->t == NULL && e->msg[0] != 0;
}

static uint64_t rng_next(uint64_t *s) {
    *s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
    return *s >> 33;
}

// ---- the tiny BasicVSR checkpoint against weights.bin ----

static void test_tiny_pth_matches_weights_bin(void) {
    cJSON *man = read_json(tu_data("tiny/manifest.json"));
    size_t nbin;
    uint8_t *bin = tu_read_file(tu_data("tiny/weights.bin"), &nbin);
    if (!man || !bin) goto done;
    cJSON *list = cJSON_GetObjectItem(cJSON_GetObjectItem(man, "weights"), "tensors");
    sv_tensor_set s = {0};
    sv_err e = {{0}};
    int rc = sv_pth_read(tu_data("tiny/tiny_basicvsr.pth"), &s, &e);
    CHECKF(rc == 0, "sv_pth_read: %s", e.msg);
    CHECKF(s.n == cJSON_GetArraySize(list), "%d tensors, manifest lists %d", s.n, cJSON_GetArraySize(list));
    int i = 0;
    cJSON *t;
    cJSON_ArrayForEach(t, list) {
        if (i >= s.n) break;
        const sv_ntensor *x = &s.t[i++];
        const char *name = cJSON_GetObjectItem(t, "name")->valuestring;
        CHECKF(strcmp(x->name, name) == 0, "tensor %d is '%s', expected '%s'", i - 1, x->name, name);
        cJSON *shape = cJSON_GetObjectItem(t, "shape");
        CHECKF(x->ndim == cJSON_GetArraySize(shape), "%s: ndim %d", name, x->ndim);
        for (int d = 0; d < x->ndim && d < cJSON_GetArraySize(shape); d++)
            CHECKF(x->shape[d] == (int64_t)cJSON_GetArrayItem(shape, d)->valuedouble, "%s: dim %d", name, d);
        size_t off = (size_t)cJSON_GetObjectItem(t, "offset")->valuedouble;
        size_t nb = (size_t)cJSON_GetObjectItem(t, "nbytes")->valuedouble;
        CHECKF(nb == (size_t)sv_ntensor_numel(x) * 4 && off + nb <= nbin, "%s: size", name);
        if (nb == (size_t)sv_ntensor_numel(x) * 4 && off + nb <= nbin)
            CHECKF(memcmp(x->data, bin + off, nb) == 0, "%s: values differ from weights.bin", name);
    }
    // sv_checkpoint_read dispatches to the same reader.
    sv_tensor_set s2 = {0};
    CHECKF(sv_checkpoint_read(tu_data("tiny/tiny_basicvsr.pth"), &s2, &e) == 0, "%s", e.msg);
    CHECK(s2.n == s.n);
    sv_tensor_set_free(&s2);
    sv_tensor_set_free(&s);
done:
    cJSON_Delete(man);
    free(bin);
}

// ---- generated .pth cases ----

static void check_case(const cJSON *c) {
    const char *file = cJSON_GetObjectItem(c, "file")->valuestring;
    const cJSON *err = cJSON_GetObjectItem(c, "error");
    const cJSON *tensors = cJSON_GetObjectItem(c, "tensors");
    sv_tensor_set s = {0};
    sv_err e = {{0}};
    int rc = sv_checkpoint_read(tu_data(file), &s, &e);
    if (err) {
        CHECKF(fails_cleanly(rc, &s, &e), "%s: expected an error", file);
        CHECKF(strstr(e.msg, err->valuestring) != NULL, "%s: message '%s' lacks '%s'", file, e.msg, err->valuestring);
        CHECKF(strstr(e.msg, file) != NULL, "%s: message does not name the file: %s", file, e.msg);
        sv_tensor_set_free(&s);
        return;
    }
    CHECKF(rc == 0, "%s: %s", file, e.msg);
    CHECKF(s.n == cJSON_GetArraySize(tensors), "%s: %d tensors, expected %d", file, s.n, cJSON_GetArraySize(tensors));
    int i = 0;
    const cJSON *t;
    cJSON_ArrayForEach(t, tensors) {
        if (i >= s.n) break;
        const sv_ntensor *x = &s.t[i++];
        const char *name = cJSON_GetObjectItem(t, "name")->valuestring;
        const cJSON *shape = cJSON_GetObjectItem(t, "shape"), *bits = cJSON_GetObjectItem(t, "bits");
        CHECKF(strcmp(x->name, name) == 0, "%s: tensor %d is '%s', expected '%s'", file, i - 1, x->name, name);
        int same_shape = x->ndim == cJSON_GetArraySize(shape);
        for (int d = 0; same_shape && d < x->ndim; d++)
            same_shape = x->shape[d] == (int64_t)cJSON_GetArrayItem(shape, d)->valuedouble;
        CHECKF(same_shape, "%s: %s: shape differs", file, name);
        CHECKF(sv_ntensor_numel(x) == cJSON_GetArraySize(bits), "%s: %s: numel", file, name);
        if (sv_ntensor_numel(x) != cJSON_GetArraySize(bits)) continue;
        int k = 0, bad = 0;
        const cJSON *b;
        cJSON_ArrayForEach(b, bits) {
            uint32_t got;
            memcpy(&got, &x->data[k++], 4);
            if (got != (uint32_t)b->valuedouble) bad++;
        }
        CHECKF(bad == 0, "%s: %s: %d of %d values differ", file, name, bad, k);
    }
    sv_tensor_set_free(&s);
}

static void test_pth_cases(void) {
    cJSON *j = read_json(tu_data("pth_cases.json"));
    if (!j) return;
    const cJSON *c;
    int n = 0;
    cJSON_ArrayForEach(c, cJSON_GetObjectItem(j, "cases")) {
        check_case(c);
        n++;
    }
    CHECKF(n >= 10, "only %d cases", n);
    cJSON_Delete(j);
}

static void test_canonical_names(void) {
    static const char *const io[][2] = {
        {"backward_resblocks.main.2.13.conv1.weight", "backward_trunk.main.2.13.conv1.weight"},
        {"forward_resblocks.main.0.bias", "forward_trunk.main.0.bias"},
        {"upsample1.upsample_conv.weight", "upconv1.weight"},
        {"upsample2.upsample_conv.bias", "upconv2.bias"},
        {"spynet.basic_module.5.basic_module.4.conv.weight", "spynet.basic_module.5.basic_module.8.weight"},
        {"spynet.basic_module.0.basic_module.0.conv.bias", "spynet.basic_module.0.basic_module.0.bias"},
        {"spynet.basic_module.0.basic_module.2.weight", "spynet.basic_module.0.basic_module.2.weight"},
        {"spynet.basic_module.x.basic_module.1.conv.weight", "spynet.basic_module.x.basic_module.1.conv.weight"},
        {"spynet.mean", "spynet.mean"},
        {"fusion.weight", "fusion.weight"},
        {"", ""},
    };
    for (size_t i = 0; i < sizeof io / sizeof *io; i++) {
        char *got = sv_pth_canonical_name(io[i][0]);
        CHECKF(got && strcmp(got, io[i][1]) == 0, "'%s' -> '%s', expected '%s'", io[i][0], got, io[i][1]);
        free(got);
    }
}

// ---- damaged .pth files ----

static uint64_t le_bytes(const uint8_t *p, int n) {
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--) v = v << 8 | p[i];
    return v;
}

static int cmp_desc(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? 1 : x > y ? -1 : 0;
}

// Overwrites k bytes of a file in place.
static void patch(const char *path, const size_t *pos, const uint8_t *val, int k) {
    FILE *f = fopen(path, "r+b");
    if (!f) {
        tu_fail(__FILE__, __LINE__, "cannot open %s", path);
        return;
    }
    for (int i = 0; i < k; i++) {
        fseek(f, (long)pos[i], SEEK_SET);
        fputc(val[i], f);
    }
    fclose(f);
}

static void test_pth_truncated(void) {
    size_t n;
    uint8_t *b = tu_read_file(tu_data("tiny/tiny_basicvsr.pth"), &n);
    if (!b || n < 200) {
        free(b);
        return;
    }
    uint64_t cd_off = le_bytes(b + n - 22 + 16, 4), cd_size = le_bytes(b + n - 22 + 12, 4);
    CHECK(cd_off + cd_size < n);
    // Cuts: at the start, inside data.pkl, inside storages, around and inside the central directory, in
    // the ZIP64 records and in the final EOCD.
    uint64_t cuts[] = {0, 1, 3, 4, 21, 22, 30, 100, 8000, 16500, n / 2, cd_off - 1, cd_off, cd_off + 1,
                       cd_off + 46, cd_off + cd_size / 2, cd_off + cd_size - 1, cd_off + cd_size,
                       cd_off + cd_size + 30, n - 42, n - 22, n - 10, n - 1};
    // The file is written once and then shortened step by step (rewriting it each time is slow on ext4).
    qsort(cuts, sizeof cuts / sizeof *cuts, sizeof *cuts, cmp_desc);
    const char *dir = tu_tmpdir();
    const char *p = tmp_path(dir, "cut.pth");
    spit(p, b, n);
    for (size_t i = 0; i < sizeof cuts / sizeof *cuts; i++) {
        CHECK(truncate(p, (off_t)cuts[i]) == 0);
        sv_tensor_set s = {0};
        sv_err e = {{0}};
        int rc = sv_checkpoint_read(p, &s, &e);
        CHECKF(fails_cleanly(rc, &s, &e), "cut at %llu of %zu was accepted", (unsigned long long)cuts[i], n);
        sv_tensor_set_free(&s);
    }
    free(b);
    // A small archive cut at every length.
    b = tu_read_file(tu_data("pth_noncontig.pth"), &n);
    if (b) spit(p, b, n);
    for (size_t len = n; b && len-- > 0;) {
        CHECK(truncate(p, (off_t)len) == 0);
        sv_tensor_set s = {0};
        sv_err e = {{0}};
        int rc = sv_pth_read(p, &s, &e);
        CHECKF(fails_cleanly(rc, &s, &e), "pth_noncontig.pth cut at %zu was accepted", len);
        sv_tensor_set_free(&s);
    }
    free(b);
    const char *names[] = {"cut.pth"};
    rm_dir(dir, names, 1);
}

// Where an entry's data starts: after its local header, name and extra field.
static uint64_t local_data(const uint8_t *b, size_t n, uint64_t lho) {
    if (lho + 30 > n) return 0;
    return lho + 30 + le_bytes(b + lho + 26, 2) + le_bytes(b + lho + 28, 2);
}

static void test_pth_corrupt_bytes(void) {
    size_t n;
    uint8_t *b = tu_read_file(tu_data("pth_noncontig.pth"), &n);
    if (!b) return;
    sv_zip z;
    sv_err e = {{0}};
    CHECKF(sv_zip_open(&z, tu_data("pth_noncontig.pth"), &e) == 0, "%s", e.msg);
    const sv_zip_entry *pkl = sv_zip_find(&z, "pth_noncontig/data.pkl"), *st = sv_zip_find(&z, "pth_noncontig/data/0");
    CHECK(pkl && st);
    uint64_t at[2] = {pkl ? local_data(b, n, pkl->lho) + 40 : 0, st ? local_data(b, n, st->lho) + 5 : 0};
    sv_zip_close(&z);
    const char *dir = tu_tmpdir(), *p = tmp_path(dir, "bad.pth");
    for (int i = 0; i < 2; i++) {
        b[at[i]] ^= 0x55;
        spit(p, b, n);
        b[at[i]] ^= 0x55;
        sv_tensor_set s = {0};
        int rc = sv_pth_read(p, &s, &e);
        CHECKF(fails_cleanly(rc, &s, &e) && strstr(e.msg, "CRC"), "flipped byte %llu: %s",
               (unsigned long long)at[i], rc ? e.msg : "accepted");
        sv_tensor_set_free(&s);
    }
    free(b);
    const char *names[] = {"bad.pth"};
    rm_dir(dir, names, 1);
}

// Random byte mutations (patched in place, then undone) of small archives: any outcome but a crash (ASan/UBSan watch) is fine; a
// success must give a well-formed set.
static void test_pth_mutations(void) {
    const char *files[] = {"pth_noncontig.pth", "pth_zip64.pth", "pth_deflate.pth"};
    const char *dir = tu_tmpdir(), *p = tmp_path(dir, "mut.pth");
    uint64_t rng = 12345;
    for (int f = 0; f < 3; f++) {
        size_t n;
        uint8_t *b = tu_read_file(tu_data(files[f]), &n);
        if (!b) continue;
        spit(p, b, n);
        for (int it = 0; it < 600; it++) {
            size_t pos[4];
            uint8_t val[4], orig[4];
            int k = 1 + (int)(rng_next(&rng) % 4);
            for (int j = 0; j < k; j++) {
                pos[j] = rng_next(&rng) % n;
                val[j] = (uint8_t)rng_next(&rng);
            }
            for (int j = k - 1; j >= 0; j--) orig[j] = b[pos[j]];  // restored in reverse: repeats are fine
            patch(p, pos, val, k);
            sv_tensor_set s = {0};
            sv_err e = {{0}};
            int rc = sv_checkpoint_read(p, &s, &e);
            CHECK(rc == 0 || fails_cleanly(rc, &s, &e));
            for (int i = 0; rc == 0 && i < s.n; i++) CHECK(s.t[i].name && s.t[i].data && s.t[i].ndim <= SV_MAXDIM);
            sv_tensor_set_free(&s);
            patch(p, pos, orig, k);
        }
        free(b);
    }
    const char *names[] = {"mut.pth"};
    rm_dir(dir, names, 1);
}

// Mutated data.pkl inside a valid archive (its CRC fixed up in the central directory), so that the whole
// path runs: interpreter, dict selection, tensor views, storage reads.
static void test_pth_pickle_mutations(void) {
    const char *files[][2] = {{"pth_noncontig.pth", "pth_noncontig/data.pkl"}, {"pth_mmagic.pth", "pth_mmagic/data.pkl"}};
    const char *dir = tu_tmpdir(), *p = tmp_path(dir, "pk.pth");
    uint64_t rng = 4242;
    int accepted = 0, refused = 0;
    for (int f = 0; f < 2; f++) {
        size_t n;
        uint8_t *b = tu_read_file(tu_data(files[f][0]), &n);
        sv_zip z;
        sv_err e = {{0}};
        if (!b || sv_zip_open(&z, tu_data(files[f][0]), &e)) {
            free(b);
            tu_fail(__FILE__, __LINE__, "%s", e.msg);
            continue;
        }
        const sv_zip_entry *en = sv_zip_find(&z, files[f][1]);
        uint64_t data = en ? local_data(b, n, en->lho) : 0, len = en ? en->usize : 0, cd = z.cd_off;
        sv_zip_close(&z);
        // the central record of data.pkl: the first one in these archives
        CHECK(en && le_bytes(b + cd, 4) == 0x02014b50 && le_bytes(b + cd + 16, 4) == crc32(0, b + data, (uInt)len));
        if (!en || data + len > n) {
            free(b);
            continue;
        }
        uint8_t *m = malloc(n);
        memcpy(m, b, n);
        spit(p, b, n);
        for (int it = 0; it < 800; it++) {
            size_t pos[7];
            uint8_t val[7], orig[7];
            int k = 1 + (int)(rng_next(&rng) % 3);
            for (int j = 0; j < k; j++) {
                pos[j] = data + rng_next(&rng) % len;
                m[pos[j]] = (uint8_t)rng_next(&rng);
            }
            uint32_t crc = (uint32_t)crc32(0, m + data, (uInt)len);
            for (int j = 0; j < 4; j++) m[pos[k + j] = cd + 16 + j] = (uint8_t)(crc >> (8 * j));
            for (int j = 0; j < k + 4; j++) val[j] = m[pos[j]], orig[j] = b[pos[j]];
            patch(p, pos, val, k + 4);
            sv_tensor_set s = {0};
            int rc = sv_pth_read(p, &s, &e);
            CHECK(rc == 0 || fails_cleanly(rc, &s, &e));
            rc == 0 ? accepted++ : refused++;
            sv_tensor_set_free(&s);
            patch(p, pos, orig, k + 4);
            for (int j = 0; j < k + 4; j++) m[pos[j]] = orig[j];
        }
        free(m);
        free(b);
    }
    CHECKF(accepted > 0 && refused > 0, "%d accepted, %d refused", accepted, refused);
    const char *names[] = {"pk.pth"};
    rm_dir(dir, names, 1);
}

// The pickle interpreter on mutated torch pickles (the zip CRC would stop them before it otherwise).
static void test_pickle_mutations(void) {
    const char *files[][2] = {{"pth_mmagic.pth", "pth_mmagic/data.pkl"},
                              {"pth_noncontig.pth", "pth_noncontig/data.pkl"},
                              {"pth_proto4.pth", "pth_proto4/data.pkl"}};
    uint64_t rng = 777;
    for (int f = 0; f < 3; f++) {
        sv_zip z;
        sv_err e = {{0}};
        if (sv_zip_open(&z, tu_data(files[f][0]), &e)) {
            tu_fail(__FILE__, __LINE__, "%s", e.msg);
            continue;
        }
        const sv_zip_entry *en = sv_zip_find(&z, files[f][1]);
        uint8_t *pk = NULL;
        uint64_t n = 0;
        CHECKF(en && sv_zip_read_all(&z, en, 1 << 20, &pk, &n, &e) == 0, "%s: %s", files[f][0], e.msg);
        sv_zip_close(&z);
        if (!pk) continue;
        sv_pickle p = {0};
        sv_pk_obj *root;
        CHECKF(sv_pickle_load(&p, pk, n, "test", &root, &e) == 0 && root && root->kind == SV_PK_DICT, "%s", e.msg);
        sv_pickle_free(&p);
        uint8_t *m = malloc(n);
        for (int it = 0; it < 2000; it++) {
            memcpy(m, pk, n);
            int k = 1 + (int)(rng_next(&rng) % 3);
            for (int j = 0; j < k; j++) m[rng_next(&rng) % n] = (uint8_t)rng_next(&rng);
            size_t len = it % 5 == 0 ? (size_t)(rng_next(&rng) % n) : n;  // sometimes truncated too
            int rc = sv_pickle_load(&p, m, len, "test", &root, &e);
            CHECK(rc == 0 ? root != NULL : (root == NULL && e.msg[0]));
            sv_pickle_free(&p);
        }
        free(m);
        free(pk);
    }
}

#define PK(lit) lit, sizeof(lit) - 1

static void test_pickle_limits(void) {
    sv_pickle p = {0};
    sv_pk_obj *root;
    sv_err e = {{0}};
    // MARK nesting beyond the limit
    size_t n = SV_PICKLE_MAX_MARKS + 10;
    uint8_t *b = malloc(n);
    memset(b, '(', n);
    CHECK(sv_pickle_load(&p, b, n, "marks", &root, &e) == -1 && strstr(e.msg, "nested"));
    sv_pickle_free(&p);
    // stack deeper than the limit (EMPTY_DICT pushes)
    n = SV_PICKLE_MAX_STACK + 10;
    b = realloc(b, n);
    memset(b, '}', n);
    CHECK(sv_pickle_load(&p, b, n, "stack", &root, &e) == -1 && strstr(e.msg, "stack deeper"));
    sv_pickle_free(&p);
    free(b);
    // individual refusals
    static const struct {
        const char *bytes;
        size_t n;
        const char *msg;
    } bad[] = {
        {PK("\x80\x02" "cos\nsystem\n."), "refusing global 'os.system'"},
        {PK("\x80\x02" "cbuiltins\neval\n."), "refusing global 'builtins.eval'"},
        {PK("\x80\x02" "ctorch\nFloatStorage\n)R."), "cannot be called"},
        {PK("\x80\x02" "h\x05."), "never stored"},
        {PK("\x80\x02" "r\xff\xff\xff\x7f."), "stack underflow"},
        {PK("\x80\x02" "N" "r\xff\xff\xff\x7f."), "out of range"},
        {PK("\x80\x02" "0."), "underflow"},
        {PK("\x80\x02" "(N" "u."), "stack underflow"},
        {PK("\x80\x02" "]N" "s."), "underflow"},
        {PK("\x80\x02" "X\xff\xff\xff\xff" "ab."), "truncated"},
        {PK("\x80\x02" "N"), "without STOP"},
        {PK("\x80\x06" "N."), "protocol"},
        {PK("\x80\x02" "I12\n."), "unsupported pickle opcode 'I'"},
        {PK("\x80\x02" "(X\x07\x00\x00\x00storage" "ctorch\nFloatStorage\nX\x01\x00\x00\x00" "0X\x03\x00\x00\x00"
         "cpuJ\xff\xff\xff\xfftQ."), "non-negative"},
        {PK("\x80\x02" "(X\x07\x00\x00\x00storage" "ctorch\nFloatStorage\nX\x03\x00\x00\x00" "../X\x03\x00\x00\x00"
         "cpuK\x01tQ."), "storage key"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        int rc = sv_pickle_load(&p, (const uint8_t *)bad[i].bytes, bad[i].n, "case", &root, &e);
        CHECKF(rc == -1 && strstr(e.msg, bad[i].msg), "case %zu: rc %d, message '%s' (expected '%s')", i, rc,
               rc ? e.msg : "", bad[i].msg);
        sv_pickle_free(&p);
    }
}

// A tensor view that reaches past its storage must be refused by the interpreter.
static void test_pickle_view_bounds(void) {
    // _rebuild_tensor_v2(storage of 4 floats, offset 1, size (2,2), stride (2,1), False, OrderedDict())
    // addresses element 1 + 2 + 1 = 4: one past the end.
    const char head[] = "\x80\x02" "ctorch._utils\n_rebuild_tensor_v2\n" "((X\x07\x00\x00\x00storage"
                        "ctorch\nFloatStorage\nX\x01\x00\x00\x00" "0X\x03\x00\x00\x00" "cpuK\x04tQK\x01";
    const char tail_bad[] = "K\x02K\x02\x86K\x02K\x01\x86\x89" "ccollections\nOrderedDict\n)RtR.";
    const char tail_ok[] = "K\x01K\x02\x86K\x02K\x01\x86\x89" "ccollections\nOrderedDict\n)RtR.";
    for (int ok = 0; ok < 2; ok++) {
        uint8_t buf[256];
        size_t nh = sizeof head - 1, nt = (ok ? sizeof tail_ok : sizeof tail_bad) - 1;
        memcpy(buf, head, nh);
        memcpy(buf + nh, ok ? tail_ok : tail_bad, nt);
        sv_pickle p = {0};
        sv_pk_obj *root = NULL;
        sv_err e = {{0}};
        int rc = sv_pickle_load(&p, buf, nh + nt, "view", &root, &e);
        if (ok) {
            CHECKF(rc == 0 && root && root->kind == SV_PK_TENSOR, "%s", e.msg);
            if (rc == 0 && root && root->kind == SV_PK_TENSOR) {
                CHECK(root->u.tensor->offset == 1 && root->u.tensor->ndim == 2 && root->u.tensor->size[0] == 1);
                CHECK(root->u.tensor->stride[0] == 2 && root->u.tensor->storage->u.storage.numel == 4);
            }
        } else {
            CHECKF(rc == -1 && strstr(e.msg, "outside its storage"), "rc %d: %s", rc, e.msg);
        }
        sv_pickle_free(&p);
    }
}

// ---- hand-made .pth archives ----

typedef struct {
    uint8_t *b;
    size_t n, cap;
} bytes;

static void put(bytes *b, const void *p, size_t n) {
    if (b->n + n > b->cap) {
        b->cap = 2 * (b->n + n) + 256;
        b->b = realloc(b->b, b->cap);
    }
    memcpy(b->b + b->n, p, n);
    b->n += n;
}

static void put_le(bytes *b, uint64_t v, int n) {
    uint8_t q[8];
    for (int i = 0; i < n; i++) q[i] = (uint8_t)(v >> (8 * i));
    put(b, q, (size_t)n);
}

#define PUT(b, lit) put(b, lit, sizeof(lit) - 1)

// A ZIP archive of stored entries (no ZIP64), as torch.save's reader needs it: local headers with the data,
// the central directory, the end record.
static void write_zip(const char *path, const char *const *names, const bytes *data, int n) {
    bytes z = {0}, cd = {0};
    for (int i = 0; i < n; i++) {
        uint32_t crc = (uint32_t)crc32(0, data[i].b, (uInt)data[i].n);
        uint64_t lho = z.n, nl = strlen(names[i]);
        bytes *rec[2] = {&z, &cd};
        for (int r = 0; r < 2; r++) {
            put_le(rec[r], r ? 0x02014b50 : 0x04034b50, 4);
            if (r) put_le(rec[r], 20, 2);                       // version made by
            put_le(rec[r], 20, 2);                              // version needed
            put_le(rec[r], 0, 6);                               // flags, method (stored), time
            put_le(rec[r], 0, 2);                               // date
            put_le(rec[r], crc, 4);
            put_le(rec[r], data[i].n, 4);
            put_le(rec[r], data[i].n, 4);
            put_le(rec[r], nl, 2);
            put_le(rec[r], 0, 2);                               // extra
            if (r) {  // comment length, disk, attributes; the local header's offset
                put_le(rec[r], 0, 6);
                put_le(rec[r], 0, 4);
                put_le(rec[r], lho, 4);
            }
            put(rec[r], names[i], nl);
        }
        put(&z, data[i].b, data[i].n);
    }
    uint64_t cd_off = z.n;
    put(&z, cd.b, cd.n);
    put_le(&z, 0x06054b50, 4);
    put_le(&z, 0, 4);
    put_le(&z, (uint64_t)n, 2);
    put_le(&z, (uint64_t)n, 2);
    put_le(&z, cd.n, 4);
    put_le(&z, cd_off, 4);
    put_le(&z, 0, 2);
    spit(path, z.b, z.n);
    free(z.b);
    free(cd.b);
}

// A .pth whose state_dict holds n views of size (side, side) and stride (0, 0) of one 1-element float
// storage: each view materialises side^2 floats from 4 bytes of the file.
static void write_stride0_pth(const char *path, int n, int side) {
    bytes pk = {0}, st = {0};
    PUT(&pk, "\x80\x02}(");
    for (int i = 0; i < n; i++) {
        char key[16];
        int kl = snprintf(key, sizeof key, "t%d.weight", i);
        PUT(&pk, "X");
        put_le(&pk, (uint64_t)kl, 4);
        put(&pk, key, (size_t)kl);
        PUT(&pk, "ctorch._utils\n_rebuild_tensor_v2\n(" "(X\x07\x00\x00\x00" "storage" "ctorch\nFloatStorage\n"
                 "X\x01\x00\x00\x00" "0" "X\x03\x00\x00\x00" "cpu" "K\x01tQ" "K\x00M");
        put_le(&pk, (uint64_t)side, 2);
        PUT(&pk, "M");
        put_le(&pk, (uint64_t)side, 2);
        PUT(&pk, "\x86K\x00K\x00\x86\x89" "ccollections\nOrderedDict\n)RtR");
    }
    PUT(&pk, "u.");
    float one = 1.0f;
    put(&st, &one, 4);
    const char *names[] = {"arch/data.pkl", "arch/data/0"};
    const bytes data[] = {pk, st};
    write_zip(path, names, data, 2);
    free(pk.b);
    free(st.b);
}

// Stride-0 views each within the per-tensor limit (2^24 elements) but together far beyond what the file
// could hold: refused before anything is materialised (30 views: 1920 MiB). A few small ones still load.
static void test_pth_stride0_total(void) {
    const char *dir = tu_tmpdir(), *p = tmp_path(dir, "views.pth");
    write_stride0_pth(p, 30, 4096);
    sv_tensor_set s = {0};
    sv_err e = {{0}};
    int rc = sv_checkpoint_read(p, &s, &e);
    CHECKF(fails_cleanly(rc, &s, &e) && strstr(e.msg, p) && strstr(e.msg, "1920 MiB") && strstr(e.msg, "stride 0"),
           "30 stride-0 views of 4096x4096: %s", rc ? e.msg : "accepted");
    sv_tensor_set_free(&s);
    write_stride0_pth(p, 3, 1024);
    rc = sv_checkpoint_read(p, &s, &e);
    CHECKF(rc == 0 && s.n == 3, "3 views of 1024x1024: %s", rc ? e.msg : "wrong count");
    for (int i = 0; rc == 0 && i < s.n; i++)
        CHECK(s.t[i].ndim == 2 && s.t[i].shape[0] == 1024 && s.t[i].data[0] == 1.0f &&
              s.t[i].data[1024 * 1024 - 1] == 1.0f);
    sv_tensor_set_free(&s);
    const char *names[] = {"views.pth"};
    rm_dir(dir, names, 1);
}

static void test_garbage_and_sniffing(void) {
    const char *dir = tu_tmpdir(), *p = tmp_path(dir, "junk.bin");
    uint64_t rng = 99;
    static const char *const prefixes[] = {"", "PK\x03\x04", "PK\x05\x06", "\x80\x02", "\x10\0\0\0\0\0\0\0{"};
    static const size_t plen[] = {0, 4, 4, 2, 9};
    for (int it = 0; it < 500; it++) {
        size_t n = (size_t)(rng_next(&rng) % 3000);
        uint8_t *b = malloc(n + 16);
        for (size_t i = 0; i < n + 16; i++) b[i] = (uint8_t)rng_next(&rng);
        int k = it % 5;
        memcpy(b, prefixes[k], plen[k]);
        if (n < plen[k]) n = plen[k];
        spit(p, b, n);
        free(b);
        sv_tensor_set s = {0};
        sv_err e = {{0}};
        int rc = sv_checkpoint_read(p, &s, &e);
        CHECKF(fails_cleanly(rc, &s, &e), "random file %d (%zu bytes) accepted", it, n);
        sv_tensor_set_free(&s);
    }
    sv_tensor_set s = {0};
    sv_err e = {{0}};
    spit(p, "hello world, this is not a model", 32);
    CHECK(sv_checkpoint_read(p, &s, &e) == -1 && strstr(e.msg, "not a PyTorch checkpoint or safetensors file"));
    spit(p, "", 0);
    CHECK(sv_checkpoint_read(p, &s, &e) == -1 && strstr(e.msg, "not a PyTorch checkpoint or safetensors file"));
    CHECK(sv_checkpoint_read(tmp_path(dir, "missing.pth"), &s, &e) == -1 && strstr(e.msg, "cannot open"));
    CHECK(sv_checkpoint_read(dir, &s, &e) == -1 && strstr(e.msg, "is a directory"));
    CHECK(sv_pth_read(p, &s, &e) == -1 && strstr(e.msg, "not a PyTorch zip checkpoint"));
    // An old tar-format checkpoint is recognised as legacy too.
    uint8_t tar[512] = {0};
    memcpy(tar + 257, "ustar", 5);
    spit(p, tar, sizeof tar);
    CHECK(sv_checkpoint_read(p, &s, &e) == -1 && strstr(e.msg, "legacy"));
    CHECK(s.n == 0);
    const char *names[] = {"junk.bin"};
    rm_dir(dir, names, 1);
}

// ---- safetensors ----

static void add_tensor(sv_tensor_set *s, const char *name, int ndim, const int64_t *shape, uint64_t *rng) {
    int64_t n = 1;
    for (int i = 0; i < ndim; i++) n *= shape[i];
    float *d = malloc((size_t)(n ? n : 1) * sizeof(float));
    for (int64_t i = 0; i < n; i++) {
        uint32_t bits = (uint32_t)rng_next(rng);
        d[i] = (float)(int32_t)bits / 1e6f;
    }
    sv_err e;
    CHECKF(sv_tensor_set_add(s, name, ndim, shape, d, &e) == 0, "%s", e.msg);
}

static void test_safetensors_round_trip(void) {
    sv_tensor_set s = {0};
    uint64_t rng = 5;
    const int64_t s1[] = {13, 3, 3, 3}, s2[] = {7}, s3[] = {2, 0, 5}, s4[] = {1, 1, 1, 1, 1, 1, 1, 2};
    add_tensor(&s, "zeta.weight", 4, s1, &rng);
    add_tensor(&s, "alpha.bias", 1, s2, &rng);
    add_tensor(&s, "empty", 3, s3, &rng);
    add_tensor(&s, "scalar", 0, NULL, &rng);
    add_tensor(&s, "deep \"quoted\\\" name\n", 8, s4, &rng);
    sv_err e = {{0}};
    sv_tensor_set_set_meta(&s, "slimvsr", "{\"num_feat\": 16, \"act\": \"relu\"}", &e);
    sv_tensor_set_set_meta(&s, "note", "tab\there, unicode \xc3\xa9, ctrl \x01", &e);
    const char *dir = tu_tmpdir(), *p = tmp_path(dir, "rt.safetensors");
    CHECKF(sv_safetensors_write(p, &s, &e) == 0, "%s", e.msg);
    // Layout: header length a multiple of 8, data section exactly the tensors' bytes.
    size_t n;
    uint8_t *b = tu_read_file(p, &n);
    uint64_t hl = b ? le_bytes(b, 8) : 0;
    size_t total = 0;
    for (int i = 0; i < s.n; i++) total += (size_t)sv_ntensor_numel(&s.t[i]) * 4;
    CHECKF(b && hl % 8 == 0 && 8 + hl + total == n, "header %llu, file %zu", (unsigned long long)hl, n);
    free(b);
    sv_tensor_set r = {0};
    CHECKF(sv_checkpoint_read(p, &r, &e) == 0, "%s", e.msg);
    CHECK(r.n == s.n);
    // Written and returned in name order.
    for (int i = 1; i < r.n; i++) CHECK(strcmp(r.t[i - 1].name, r.t[i].name) < 0);
    for (int i = 0; i < s.n; i++) {
        const sv_ntensor *a = &s.t[i], *x = sv_tensor_set_find(&r, a->name);
        CHECKF(x != NULL, "'%s' missing after the round trip", a->name);
        if (!x) continue;
        CHECK(x->ndim == a->ndim);
        for (int d = 0; d < a->ndim; d++) CHECK(x->shape[d] == a->shape[d]);
        CHECK(memcmp(x->data, a->data, (size_t)sv_ntensor_numel(a) * 4) == 0);
    }
    CHECK(r.nmeta == 2);
    for (int i = 0; i < s.nmeta; i++) {
        const char *v = sv_tensor_set_get_meta(&r, s.meta[i].key);
        CHECKF(v && strcmp(v, s.meta[i].value) == 0, "metadata '%s' -> '%s'", s.meta[i].key, v ? v : "(none)");
    }
    sv_tensor_set_free(&r);
    // Overwrite in place; no temporary files are left behind.
    CHECKF(sv_safetensors_write(p, &s, &e) == 0, "%s", e.msg);
    int nfiles = 0;
    DIR *d = opendir(dir);
    for (struct dirent *de; d && (de = readdir(d));) nfiles += de->d_name[0] != '.' || strlen(de->d_name) > 2;
    if (d) closedir(d);
    CHECKF(nfiles == 1, "%d entries in %s: temporary files left behind?", nfiles, dir);
    // An unwritable destination fails with a message naming it.
    CHECK(sv_safetensors_write(tmp_path(dir, "no/such/dir/x.safetensors"), &s, &e) == -1 && strstr(e.msg, "no/such"));
    // Duplicate names cannot be written.
    add_tensor(&s, "alpha.bias", 1, s2, &rng);
    CHECK(sv_safetensors_write(tmp_path(dir, "dup.safetensors"), &s, &e) == -1 && strstr(e.msg, "twice"));
    sv_tensor_set_free(&s);
    const char *names[] = {"rt.safetensors", "dup.safetensors"};
    rm_dir(dir, names, 2);
}

// The tiny BasicVSR weights through safetensors and back.
static void test_safetensors_tiny(void) {
    sv_tensor_set s = {0}, r = {0};
    sv_err e = {{0}};
    if (sv_pth_read(tu_data("tiny/tiny_basicvsr.pth"), &s, &e)) {
        tu_fail(__FILE__, __LINE__, "%s", e.msg);
        return;
    }
    const char *dir = tu_tmpdir(), *p = tmp_path(dir, "tiny.safetensors");
    CHECKF(sv_safetensors_write(p, &s, &e) == 0, "%s", e.msg);
    CHECKF(sv_safetensors_read(p, &r, &e) == 0, "%s", e.msg);
    CHECK(r.n == s.n && r.nmeta == 0);
    for (int i = 0; i < s.n; i++) {
        const sv_ntensor *x = sv_tensor_set_find(&r, s.t[i].name);
        CHECK(x && sv_ntensor_numel(x) == sv_ntensor_numel(&s.t[i]) &&
              memcmp(x->data, s.t[i].data, (size_t)sv_ntensor_numel(x) * 4) == 0);
    }
    sv_tensor_set_free(&s);
    sv_tensor_set_free(&r);
    const char *names[] = {"tiny.safetensors"};
    rm_dir(dir, names, 1);
}

// Writes a safetensors file from a header string and data bytes; declared_len < 0 means the real length.
static void write_st(const char *path, const char *header, long long declared_len, const void *data, size_t n) {
    size_t hl = strlen(header);
    uint64_t dl = declared_len < 0 ? hl : (uint64_t)declared_len;
    uint8_t *b = malloc(8 + hl + n + 1);
    for (int i = 0; i < 8; i++) b[i] = (uint8_t)(dl >> (8 * i));
    memcpy(b + 8, header, hl);
    if (n) memcpy(b + 8 + hl, data, n);
    spit(path, b, 8 + hl + n);
    free(b);
}

static void test_safetensors_dtypes(void) {
    const char *dir = tu_tmpdir(), *p = tmp_path(dir, "dt.safetensors");
    // F16: 1, -0, smallest subnormal, -inf, 65504 | BF16: 1, -2 | F64: 1.5, -1e300 (-> -inf), 0.1
    uint8_t data[10 + 4 + 24];
    const uint16_t h[5] = {0x3c00, 0x8000, 0x0001, 0xfc00, 0x7bff}, bf[2] = {0x3f80, 0xc000};
    const double d[3] = {1.5, -1e300, 0.1};
    memcpy(data, h, 10);
    memcpy(data + 10, bf, 4);
    memcpy(data + 14, d, 24);
    write_st(p,
             "{\"h\":{\"dtype\":\"F16\",\"shape\":[5],\"data_offsets\":[0,10]},"
             "\"b\":{\"dtype\":\"BF16\",\"shape\":[2,1],\"data_offsets\":[10,14]},"
             "\"d\":{\"dtype\":\"F64\",\"shape\":[3],\"data_offsets\":[14,38]}}   ",
             -1, data, sizeof data);
    sv_tensor_set s = {0};
    sv_err e = {{0}};
    CHECKF(sv_safetensors_read(p, &s, &e) == 0, "%s", e.msg);
    const sv_ntensor *th = sv_tensor_set_find(&s, "h"), *tb = sv_tensor_set_find(&s, "b"), *td = sv_tensor_set_find(&s, "d");
    CHECK(th && tb && td);
    if (th && tb && td) {
        float sub = 1.0f / 16777216.0f;  // 2^-24
        uint32_t negzero;
        memcpy(&negzero, &th->data[1], 4);
        CHECK(th->data[0] == 1.0f && negzero == 0x80000000u && th->data[2] == sub && th->data[3] < -3e38f &&
              th->data[4] == 65504.0f);
        CHECK(tb->data[0] == 1.0f && tb->data[1] == -2.0f && tb->ndim == 2);
        CHECK(td->data[0] == 1.5f && td->data[1] < -3e38f && td->data[2] == 0.1f);
    }
    sv_tensor_set_free(&s);
    const char *names[] = {"dt.safetensors"};
    rm_dir(dir, names, 1);
}

// The nearest float16 to x by a search over all finite non-negative float16 values (ascending bit patterns
// are ascending values), ties to the even bit pattern; beyond 65504 + half an ulp (65520) it is inf.
static uint16_t f16_reference(float x) {
    static float vals[0x7c00];
    static int ready = 0;
    if (!ready) {
        for (uint32_t h = 0; h < 0x7c00; h++) {
            uint16_t hh = (uint16_t)h;
            vals[h] = sv_fc_one(SV_FC_F16, (const uint8_t *)&hh);
        }
        ready = 1;
    }
    uint16_t sign = signbit(x) ? 0x8000 : 0;
    double a = fabs((double)x);
    if (a >= 65520.0) return sign | 0x7c00;
    int lo = 0, hi = 0x7bff;  // largest lo with vals[lo] <= a
    while (lo < hi) {
        int mid = (lo + hi + 1) / 2;
        if (vals[mid] <= a) lo = mid;
        else hi = mid - 1;
    }
    if (lo == 0x7bff) return sign | (uint16_t)lo;
    double dl = a - vals[lo], du = vals[lo + 1] - a;
    int pick = dl < du ? lo : du < dl ? lo + 1 : (lo % 2 ? lo + 1 : lo);
    return sign | (uint16_t)pick;
}

static void test_f16_conversion(void) {
    // Every float16 value survives float16 -> float32 -> float16 (NaNs stay NaNs).
    int bad = 0;
    for (uint32_t h = 0; h < 0x10000; h++) {
        uint16_t hh = (uint16_t)h, back = sv_fc_f32_to_f16(sv_fc_one(SV_FC_F16, (const uint8_t *)&hh));
        int nan = (h & 0x7c00) == 0x7c00 && (h & 0x3ff);
        bad += nan ? !((back & 0x7c00) == 0x7c00 && (back & 0x3ff)) : back != hh;
    }
    CHECKF(bad == 0, "%d float16 values do not survive a round trip", bad);
    // Exact midpoints between neighbours (ties), their neighbours one float32 ulp away, the overflow
    // boundary, subnormals and underflow, and random values over the whole range.
    uint64_t rng = 11;
    int n = 0;
    bad = 0;
    for (uint32_t h = 0; h < 0x7c00; h++, n++) {
        uint16_t a = (uint16_t)h, b = (uint16_t)(h + 1);
        float mid = (sv_fc_one(SV_FC_F16, (const uint8_t *)&a) + sv_fc_one(SV_FC_F16, (const uint8_t *)&b)) / 2;
        float xs[3] = {mid, nextafterf(mid, 0), nextafterf(mid, INFINITY)};
        for (int k = 0; k < 3; k++)
            for (int sg = 0; sg < 2; sg++) {
                float x = sg ? -xs[k] : xs[k];
                if (sv_fc_f32_to_f16(x) != f16_reference(x) && bad++ < 5)
                    tu_fail(__FILE__, __LINE__, "%.9g -> 0x%04x, expected 0x%04x", x, sv_fc_f32_to_f16(x),
                            f16_reference(x));
            }
    }
    for (int i = 0; i < 200000; i++, n++) {
        uint32_t bits = (uint32_t)rng_next(&rng);
        float x;
        memcpy(&x, &bits, 4);
        if (!isfinite(x)) continue;
        x = ldexpf(frexpf(x, &(int){0}), (int)(rng_next(&rng) % 48) - 30);  // exponents 2^-31 .. 2^17
        if (sv_fc_f32_to_f16(x) != f16_reference(x) && bad++ < 5)
            tu_fail(__FILE__, __LINE__, "%.9g -> 0x%04x, expected 0x%04x", x, sv_fc_f32_to_f16(x), f16_reference(x));
    }
    CHECKF(bad == 0, "%d of %d conversions differ from the nearest float16", bad, n);
    CHECK(sv_fc_f32_to_f16(INFINITY) == 0x7c00 && sv_fc_f32_to_f16(-INFINITY) == 0xfc00);
    uint16_t qn = sv_fc_f32_to_f16(NAN);
    CHECK((qn & 0x7c00) == 0x7c00 && (qn & 0x3ff));
    CHECK(sv_fc_f32_to_f16(65519.99f) == 0x7bff && sv_fc_f32_to_f16(65520.0f) == 0x7c00);
    CHECK(sv_fc_f32_to_f16(1e-10f) == 0 && sv_fc_f32_to_f16(-1e-10f) == 0x8000);
}

// sv_safetensors_write_f16: big tensors as F16 (the nearest float16 of each value), small ones as F32;
// values beyond float16's range are refused and leave no file.
static void test_safetensors_f16_write(void) {
    sv_tensor_set s = {0};
    uint64_t rng = 7;
    const int64_t big[] = {5, 3, 3, 3}, small[] = {3};
    add_tensor(&s, "w", 4, big, &rng);
    add_tensor(&s, "b", 1, small, &rng);
    for (int i = 0; i < 135; i++) s.t[0].data[i] /= 1000;  // |values| up to ~2: float16's normal range
    sv_err e = {{0}};
    const char *dir = tu_tmpdir(), *p = tmp_path(dir, "h.safetensors");
    CHECKF(sv_safetensors_write_f16(p, &s, &e) == 0, "%s", e.msg);
    size_t n;
    uint8_t *b = tu_read_file(p, &n);
    uint64_t hl = b ? le_bytes(b, 8) : 0;
    CHECKF(b && 8 + hl + 135 * 2 + 3 * 4 == n, "file of %zu bytes", n);
    if (b) {
        char *hdr = strndup((const char *)b + 8, hl);
        CHECKF(strstr(hdr, "\"w\":{\"dtype\":\"F16\"") && strstr(hdr, "\"b\":{\"dtype\":\"F32\""), "%s", hdr);
        free(hdr);
    }
    free(b);
    sv_tensor_set r = {0};
    CHECKF(sv_checkpoint_read(p, &r, &e) == 0, "%s", e.msg);
    const sv_ntensor *w = sv_tensor_set_find(&r, "w"), *bb = sv_tensor_set_find(&r, "b");
    CHECK(w && bb);
    if (w && bb) {
        int bad = 0;
        for (int i = 0; i < 135; i++) {
            uint16_t h = f16_reference(s.t[0].data[i]);
            bad += w->data[i] != sv_fc_one(SV_FC_F16, (const uint8_t *)&h);
        }
        CHECKF(bad == 0, "%d weights are not the nearest float16", bad);
        CHECK(memcmp(bb->data, s.t[1].data, 12) == 0);
    }
    sv_tensor_set_free(&r);
    // 70000 does not fit float16: an error naming the tensor, and the earlier file stays as it was.
    s.t[0].data[4] = 70000;
    CHECK(sv_safetensors_write_f16(p, &s, &e) == -1 && strstr(e.msg, "'w'") && strstr(e.msg, "float16"));
    size_t n2;
    b = tu_read_file(p, &n2);
    CHECK(b && n2 == n);
    free(b);
    sv_tensor_set_free(&s);
    const char *names[] = {"h.safetensors"};
    rm_dir(dir, names, 1);
}

static void test_safetensors_malformed(void) {
    const char *dir = tu_tmpdir(), *p = tmp_path(dir, "bad.safetensors");
    float data[6] = {1, 2, 3, 4, 5, 6};
    static const struct {
        const char *header;
        long long declared;
        size_t ndata;
        const char *msg;
    } cases[] = {
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 1000, 8, "past the end"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 1ll << 40, 8, "limit"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 3, 8, "not a JSON object"},
        {"[1, 2]", -1, 0, "not a JSON object"},
        {" {}", -1, 0, "not a JSON object"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}xx", -1, 8, "trailing"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", -1, 4, "outside"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,0]}}", -1, 8, "outside"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
         "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", -1, 12, "overlapping"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
         "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}", -1, 12, "hole"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", -1, 12, "cover 4 of the 12"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", -1, 8, "need 12"},
        {"{\"a\":{\"dtype\":\"I64\",\"shape\":[1],\"data_offsets\":[0,8]}}", -1, 8, "dtype 'I64'"},
        {"{\"a\":{\"dtype\":\"U8\",\"shape\":[8],\"data_offsets\":[0,8]}}", -1, 8, "dtype 'U8'"},
        {"{\"a\":{\"dtype\":\"F8_E4M3\",\"shape\":[8],\"data_offsets\":[0,8]}}", -1, 8, "dtype"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[-2],\"data_offsets\":[0,8]}}", -1, 8, "shape must"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1.5],\"data_offsets\":[0,8]}}", -1, 8, "shape must"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[\"2\"],\"data_offsets\":[0,8]}}", -1, 8, "shape must"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,1,1,1,1,2],\"data_offsets\":[0,8]}}", -1, 8, "dimensions"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296,16],\"data_offsets\":[0,8]}}", -1, 8, "overflow"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
         "\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}", -1, 12, "twice"},
        {"{\"__metadata__\":{\"k\":1},\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", -1, 8, "not a string"},
        {"{\"__metadata__\":[],\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", -1, 8, "not an object"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2]}}", -1, 8, "data_offsets"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8,9]}}", -1, 8, "data_offsets"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,-8]}}", -1, 8, "non-negative"},
        {"{\"a\":[1]}", -1, 0, "not an object"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]", -1, 8, "not a JSON object"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        write_st(p, cases[i].header, cases[i].declared, data, cases[i].ndata);
        sv_tensor_set s = {0};
        sv_err e = {{0}};
        int rc = sv_safetensors_read(p, &s, &e);
        CHECKF(fails_cleanly(rc, &s, &e) && strstr(e.msg, cases[i].msg), "case %zu: rc %d, '%s' (expected '%s')", i,
               rc, rc ? e.msg : "", cases[i].msg);
        sv_tensor_set_free(&s);
    }
    // Short files.
    for (int n = 0; n < 9; n++) {
        spit(p, "\x02\0\0\0\0\0\0\0{}", (size_t)n);
        sv_tensor_set s = {0};
        sv_err e = {{0}};
        CHECKF(fails_cleanly(sv_safetensors_read(p, &s, &e), &s, &e), "%d-byte file accepted", n);
    }
    // Valid edge cases: an empty file body, zero-size tensors sharing an offset.
    write_st(p, "{}", -1, NULL, 0);
    sv_tensor_set s = {0};
    sv_err e = {{0}};
    CHECKF(sv_safetensors_read(p, &s, &e) == 0 && s.n == 0, "%s", e.msg);
    sv_tensor_set_free(&s);
    write_st(p, "{\"z\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[0,0]},"
                "\"y\":{\"dtype\":\"F32\",\"shape\":[2,0],\"data_offsets\":[0,0]},"
                "\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", -1, data, 4);
    CHECKF(sv_safetensors_read(p, &s, &e) == 0 && s.n == 3, "%s", e.msg);
    sv_tensor_set_free(&s);
    const char *names[] = {"bad.safetensors"};
    rm_dir(dir, names, 1);
}

// __metadata__: at most 4096 entries (100k are refused at once, not inserted one search at a time), keys
// unique, one __metadata__ object.
static void test_safetensors_metadata_limits(void) {
    const char *dir = tu_tmpdir(), *p = tmp_path(dir, "meta.safetensors");
    const char *tensor = "\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}";
    const float one = 1;
    const int counts[] = {4096, 4097, 100000};
    for (int c = 0; c < 3; c++) {
        bytes h = {0};
        PUT(&h, "{\"__metadata__\":{");
        for (int i = 0; i < counts[c]; i++) {
            char kv[64];
            put(&h, kv, (size_t)snprintf(kv, sizeof kv, "%s\"key%d\":\"v%d\"", i ? "," : "", i, i));
        }
        PUT(&h, "},");
        put(&h, tensor, strlen(tensor) + 1);  // with its NUL, for write_st
        write_st(p, (const char *)h.b, -1, &one, 4);
        free(h.b);
        sv_tensor_set s = {0};
        sv_err e = {{0}};
        int rc = sv_safetensors_read(p, &s, &e);
        if (c == 0) {
            CHECKF(rc == 0 && s.nmeta == 4096, "4096 metadata keys: %s", rc ? e.msg : "wrong count");
            const char *v = sv_tensor_set_get_meta(&s, "key4095");
            CHECK(v && strcmp(v, "v4095") == 0);
        } else {
            char n[32];
            snprintf(n, sizeof n, "holds %d entries", counts[c]);
            CHECKF(fails_cleanly(rc, &s, &e) && strstr(e.msg, p) && strstr(e.msg, n) && strstr(e.msg, "4096"),
                   "%d metadata keys: %s", counts[c], rc ? e.msg : "accepted");
        }
        sv_tensor_set_free(&s);
    }
    static const struct {
        const char *header, *msg;
    } bad[] = {
        {"{\"__metadata__\":{\"k\":\"1\",\"j\":\"2\",\"k\":\"3\"},", "key 'k' appears twice"},
        {"{\"__metadata__\":{\"k\":\"1\"},\"__metadata__\":{\"j\":\"2\"},", "__metadata__ appears twice"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char h[256];
        snprintf(h, sizeof h, "%s%s", bad[i].header, tensor);
        write_st(p, h, -1, &one, 4);
        sv_tensor_set s = {0};
        sv_err e = {{0}};
        int rc = sv_safetensors_read(p, &s, &e);
        CHECKF(fails_cleanly(rc, &s, &e) && strstr(e.msg, p) && strstr(e.msg, bad[i].msg), "case %zu: %s", i,
               rc ? e.msg : "accepted");
        sv_tensor_set_free(&s);
    }
    const char *names[] = {"meta.safetensors"};
    rm_dir(dir, names, 1);
}

// ---- tensors -> model: values and metadata numbers ----

// The tiny BasicVSR's tensors, with "slimvsr" metadata json (when not NULL) and one value replaced (when
// tensor is not NULL), written to path (as float16 when f16) and loaded as a model. Returns its rc (-2 when
// the tiny model is missing).
static int load_altered(const char *path, const char *json, const char *tensor, int64_t index, float value,
                        int f16, sv_err *e) {
    sv_tensor_set s = {0};
    if (sv_pth_read(tu_data("tiny/tiny_basicvsr.pth"), &s, e)) {
        tu_fail(__FILE__, __LINE__, "%s", e->msg);
        return -2;
    }
    const sv_ntensor *t = tensor ? sv_tensor_set_find(&s, tensor) : NULL;
    CHECKF(!tensor || (t && index < sv_ntensor_numel(t)), "no tensor %s[%lld]", tensor, (long long)index);
    if (t && index < sv_ntensor_numel(t)) t->data[index] = value;
    if (json) CHECK(sv_tensor_set_set_meta(&s, "slimvsr", json, e) == 0);
    int rc = f16 ? sv_safetensors_write_f16(path, &s, e) : sv_safetensors_write(path, &s, e);
    CHECKF(rc == 0, "%s", e->msg);
    sv_tensor_set_free(&s);
    sv_model m;
    rc = sv_model_load(&m, path, -1, e);
    if (rc == 0) sv_model_free(&m);
    return rc;
}

// A NaN or infinite weight or bias, stored as float32 or float16, is refused at load, naming the file, the
// tensor and the place.
static void test_model_nonfinite(void) {
    const char *dir = tu_tmpdir(), *p = tmp_path(dir, "bad.safetensors");
    sv_err e = {{0}};
    CHECKF(load_altered(p, NULL, "fusion.bias", 3, 0.5f, 0, &e) == 0, "finite control: %s", e.msg);
    static const struct {
        const char *tensor;
        int64_t index;
        float value;
        int f16;
        const char *what;
    } cases[] = {
        {"fusion.bias", 3, NAN, 0, "(NaN) at index 3"},
        {"upconv1.weight", 7, INFINITY, 1, "(+Inf) at index 7"},
        {"spynet.basic_module.0.basic_module.0.weight", 0, -INFINITY, 0, "(-Inf) at index 0"},
        {"spynet.std", 2, NAN, 1, "(NaN) at index 2"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        int rc = load_altered(p, NULL, cases[i].tensor, cases[i].index, cases[i].value, cases[i].f16, &e);
        char want[200];
        snprintf(want, sizeof want, "%s: tensor '%s' holds a non-finite value %s: the file is corrupt", p,
                 cases[i].tensor, cases[i].what);
        CHECKF(rc == -1 && strstr(e.msg, want), "case %zu: %s (expected '%s')", i, rc ? e.msg : "accepted", want);
    }
    const char *names[] = {"bad.safetensors"};
    rm_dir(dir, names, 1);
}

// JSON numbers in the metadata become ints only when they are integers in range: RSC index entries of
// 1e10, -1e10, 1e300, 1e400 (inf) or 2.5, and num_feat/num_block of 1e300 or 16.5, are refused naming the
// file and the field (the sanitizer build's float-cast-overflow check watches the conversions).
static void test_model_meta_numbers(void) {
    const char *dir = tu_tmpdir(), *p = tmp_path(dir, "meta.safetensors");
    static const char *const entries[] = {"1e10", "-1e10", "1e300", "1e400", "2.5", "-1", "16", "0"};
    sv_err e = {{0}};
    for (size_t i = 0; i < sizeof entries / sizeof *entries; i++) {
        // the tiny model: 16 features, 2 blocks; block 0 of the backward trunk with identity lists but for
        // entry 5 of "in" (entry "0" repeats index 0)
        char json[512], in[128] = "", out[128] = "";
        for (int k = 0; k < 16; k++) {
            char v[16];
            snprintf(v, sizeof v, "%s%d", k ? "," : "", k);
            strcat(out, v);
            if (k == 5) snprintf(v, sizeof v, ",%s", entries[i]);
            strcat(in, v);
        }
        snprintf(json, sizeof json,
                 "{\"num_feat\":16,\"rsc\":{\"backward_trunk.main.2.0\":{\"in\":[%s],\"out\":[%s]}}}", in, out);
        int rc = load_altered(p, json, NULL, 0, 0, 0, &e);
        CHECKF(rc == -1 && strstr(e.msg, p) && strstr(e.msg, "RSC list 'backward_trunk.main.2.0' entry 5"),
               "entry %s: %s", entries[i], rc ? e.msg : "accepted");
    }
    static const struct {
        const char *json, *msg;
    } cases[] = {
        {"{\"num_feat\":1e300}", "metadata num_feat"},
        {"{\"num_feat\":16.5}", "metadata num_feat"},
        {"{\"num_feat\":-1e10}", "metadata num_feat"},
        {"{\"num_block\":1e10}", "metadata num_block"},
        {"{\"num_block\":\"2\"}", "metadata num_block"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        int rc = load_altered(p, cases[i].json, NULL, 0, 0, 0, &e);
        CHECKF(rc == -1 && strstr(e.msg, p) && strstr(e.msg, cases[i].msg), "%s: %s", cases[i].json,
               rc ? e.msg : "accepted");
    }
    // controls: the numbers the model has, and identity lists
    CHECKF(load_altered(p, "{\"num_feat\":16,\"num_block\":2.0}", NULL, 0, 0, 0, &e) == 0, "%s", e.msg);
    const char *ident = "{\"rsc\":{\"forward_trunk.main.2.1\":{\"in\":[0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15],"
                        "\"out\":[15,14,13,12,11,10,9,8,7,6,5,4,3,2,1,0]}}}";
    CHECKF(load_altered(p, ident, NULL, 0, 0, 0, &e) == 0, "%s", e.msg);
    const char *names[] = {"meta.safetensors"};
    rm_dir(dir, names, 1);
}

int main(void) {
    run_test("tiny_pth_matches_weights_bin", test_tiny_pth_matches_weights_bin);
    run_test("pth_cases", test_pth_cases);
    run_test("canonical_names", test_canonical_names);
    run_test("pth_truncated", test_pth_truncated);
    run_test("pth_corrupt_bytes", test_pth_corrupt_bytes);
    run_test("pth_mutations", test_pth_mutations);
    run_test("pth_pickle_mutations", test_pth_pickle_mutations);
    run_test("pickle_mutations", test_pickle_mutations);
    run_test("pickle_limits", test_pickle_limits);
    run_test("pickle_view_bounds", test_pickle_view_bounds);
    run_test("pth_stride0_total", test_pth_stride0_total);
    run_test("garbage_and_sniffing", test_garbage_and_sniffing);
    run_test("safetensors_round_trip", test_safetensors_round_trip);
    run_test("safetensors_tiny", test_safetensors_tiny);
    run_test("safetensors_dtypes", test_safetensors_dtypes);
    run_test("safetensors_malformed", test_safetensors_malformed);
    run_test("safetensors_metadata_limits", test_safetensors_metadata_limits);
    run_test("model_nonfinite", test_model_nonfinite);
    run_test("model_meta_numbers", test_model_meta_numbers);
    run_test("f16_conversion", test_f16_conversion);
    run_test("safetensors_f16_write", test_safetensors_f16_write);
    return test_summary();
}
