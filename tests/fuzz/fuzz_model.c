// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// fuzz_model.c: a native model file end to end, fuzzing what matters in it: the safetensors header (names,
// dtypes, shapes, offsets) and the model's metadata (the "slimvsr" JSON in __metadata__: width, blocks,
// activation, RSC index lists), checked against the tensors by model/model_load.c. The input is the header
// JSON alone; the harness builds the file around it (length prefix, then zero bytes up to the largest data
// offset the header names, at most 64 MB), so that mutations land in the header instead of in weights. A
// model that loads is walked layer by layer (stats) and written back to tensors, which uses every index
// list.
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "core/tensor_set.h"
#include "fuzz.h"
#include "io/safetensors.h"
#include "model/basicvsr.h"
#include "model/stats.h"

// The largest data_offsets end in the header, 0 when it is not a JSON object or names none.
static size_t data_size(const uint8_t *data, size_t size) {
    cJSON *j = cJSON_ParseWithLength((const char *)data, size);
    double end = 0;
    for (cJSON *t = j ? j->child : NULL; t; t = t->next) {
        cJSON *o = cJSON_GetObjectItemCaseSensitive(t, "data_offsets");
        cJSON *hi = cJSON_IsArray(o) ? cJSON_GetArrayItem(o, 1) : NULL;
        if (cJSON_IsNumber(hi) && hi->valuedouble > end) end = hi->valuedouble;
    }
    cJSON_Delete(j);
    return end > 0 && end <= (64 << 20) ? (size_t)end : 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    size_t nd = data_size(data, size);
    uint8_t *file = calloc(8 + size + nd, 1);
    if (!file) return 0;
    for (int i = 0; i < 8; i++) file[i] = (uint8_t)((uint64_t)size >> (8 * i));
    memcpy(file + 8, data, size);
    const char *path = fuzz_file(file, 8 + size + nd, ".safetensors");
    free(file);
    sv_tensor_set s = {0}, back = {0};
    sv_err e;
    sv_model m;
    int rc = sv_safetensors_read(path, &s, &e);
    if (!rc) rc = sv_model_from_tensors(&m, &s, 0.1f, "fuzz", &e);
    fuzz_note("model", rc, &e);
    if (!rc) {
        sv_model_totals t;
        sv_model_stats(&m, 37, 53, NULL, 0, &t);
        sv_model_to_tensors(&m, &back, &e);
        sv_model_free(&m);
    }
    sv_tensor_set_free(&back);
    sv_tensor_set_free(&s);
    return 0;
}
