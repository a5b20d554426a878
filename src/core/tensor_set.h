// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// tensor_set.h: a list of named float32 tensors plus string metadata, the common currency between
// checkpoint readers (.pth, safetensors), the model builder and the writers.
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

#define SV_MAXDIM 8

typedef struct {
    char *name;                // canonical (BasicSR) name, e.g. "backward_trunk.main.2.0.conv1.weight"
    int ndim;
    int64_t shape[SV_MAXDIM];
    float *data;               // owned, C-contiguous, numel floats
} sv_ntensor;

typedef struct {
    char *key, *value;         // owned strings (safetensors __metadata__ is a str -> str map)
} sv_meta_kv;

typedef struct {
    sv_ntensor *t;
    int n, cap;
    sv_meta_kv *meta;
    int nmeta, capmeta;
} sv_tensor_set;

int64_t sv_ntensor_numel(const sv_ntensor *t);

// Takes ownership of data (freed by sv_tensor_set_free, also on failure). Copies name and shape.
int sv_tensor_set_add(sv_tensor_set *s, const char *name, int ndim, const int64_t *shape, float *data,
                      sv_err *e);
const sv_ntensor *sv_tensor_set_find(const sv_tensor_set *s, const char *name);
// Sets metadata key to a copy of value, replacing an entry of the same key.
int sv_tensor_set_set_meta(sv_tensor_set *s, const char *key, const char *value, sv_err *e);
// Adds the entry without looking for the key (which costs a search per entry): for callers that know their
// keys are new, such as a reader that has checked its keys for repeats once.
int sv_tensor_set_append_meta(sv_tensor_set *s, const char *key, const char *value, sv_err *e);
const char *sv_tensor_set_get_meta(const sv_tensor_set *s, const char *key);
// Adds a copy of n floats as the 1-D tensor name.
int sv_tensor_set_add_flat(sv_tensor_set *s, const char *name, const float *src, size_t n, sv_err *e);
// Removes the tensor called name and hands its data to the caller (who frees it); NULL when absent.
float *sv_tensor_set_take(sv_tensor_set *s, const char *name, int64_t *numel);
// Moves the tensors named "ns.*" and (a copy of) the metadata entry ns from `from` into `to`.
int sv_tensor_set_move_ns(sv_tensor_set *from, const char *ns, sv_tensor_set *to, sv_err *e);
// Fails on the first NaN or infinite value, naming `what` (the file), the tensor and the index, and calling
// the file corrupt: training stops at the first non-finite loss or gradient, so no file slimvsr wrote
// holds one, and running such weights gives black frames without an error.
int sv_tensor_set_check_finite(const sv_tensor_set *s, const char *what, sv_err *e);
void sv_tensor_set_free(sv_tensor_set *s);
