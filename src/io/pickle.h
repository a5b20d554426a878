// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// pickle.h: a safe interpreter for the subset of Python's pickle protocol (2..5) that torch.save writes
// for state_dicts (the `data.pkl` record of a torch>=1.6 zip checkpoint).
//
// Nothing is ever executed: GLOBAL/STACK_GLOBAL resolve only an allow-list of names to built-in
// meanings, and REDUCE applies those meanings in C:
//   collections.OrderedDict()                         -> an (ordered) dict
//   torch._utils._rebuild_tensor_v2(storage, offset, size, stride, requires_grad, hooks[, metadata])
//                                                     -> a tensor view (offset/size/stride into a storage)
//   torch._utils._rebuild_parameter(tensor, requires_grad, hooks)            -> the tensor
//   torch._utils._rebuild_parameter_with_state(tensor, requires_grad, hooks, state) -> the tensor
//   torch.{Float,Half,Double,BFloat16}Storage         -> storage types with a float dtype
//   torch.{Long,Int,Short,Char,Byte,Bool,Untyped}Storage -> storage types of non-float data
// Any other global (os.system, numpy, mmengine classes, ...) is refused with an error naming it.
// BINPERSID resolves torch's persistent ids ('storage', storage_type, key, location, numel) into storage
// descriptors; the bytes themselves are read by the caller (pth.c) from `<prefix>/data/<key>`.
//
// Opcodes: PROTO FRAME STOP MARK POP POP_MARK DUP, NONE NEWTRUE NEWFALSE, BININT BININT1 BININT2 LONG1
// LONG4 BINFLOAT, BINUNICODE SHORT_BINUNICODE BINUNICODE8 BINBYTES SHORT_BINBYTES BINBYTES8 BINSTRING
// SHORT_BINSTRING, EMPTY_TUPLE TUPLE TUPLE1 TUPLE2 TUPLE3, EMPTY_LIST LIST APPEND APPENDS, EMPTY_DICT DICT
// SETITEM SETITEMS, EMPTY_SET ADDITEMS FROZENSET, BINPUT LONG_BINPUT MEMOIZE BINGET LONG_BINGET, GLOBAL
// STACK_GLOBAL REDUCE NEWOBJ BUILD BINPERSID. Anything else is an error naming the opcode and offset.
//
// Limits: program length SV_PICKLE_MAX_BYTES, at most SV_PICKLE_MAX_OBJECTS objects, stack depth
// SV_PICKLE_MAX_STACK, mark nesting SV_PICKLE_MAX_MARKS, memo indices below the program length (Python
// numbers them 0, 1, 2, ...). Every tensor is checked to lie inside its storage, and may not have more
// elements than max(storage numel, SV_PICKLE_MAX_EXPAND) (stride-0 expansions stay small).
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "core/tensor_set.h"

#define SV_PICKLE_MAX_BYTES (64ull << 20)
#define SV_PICKLE_MAX_OBJECTS (8 << 20)
#define SV_PICKLE_MAX_STACK (1 << 20)
#define SV_PICKLE_MAX_MARKS 4096
#define SV_PICKLE_MAX_EXPAND (1 << 24)

typedef enum {
    SV_PK_NONE, SV_PK_BOOL, SV_PK_INT, SV_PK_BIGINT, SV_PK_FLOAT, SV_PK_STR, SV_PK_BYTES,
    SV_PK_TUPLE, SV_PK_LIST, SV_PK_SET, SV_PK_DICT, SV_PK_GLOBAL, SV_PK_STORAGE, SV_PK_TENSOR,
} sv_pk_kind;

// Element type of a storage. Only the float ones are converted to tensors by the readers.
typedef enum { SV_PK_F32, SV_PK_F16, SV_PK_BF16, SV_PK_F64, SV_PK_NONFLOAT } sv_pk_dtype;

typedef enum {
    SV_PK_G_ORDERED_DICT, SV_PK_G_REBUILD_TENSOR_V2, SV_PK_G_REBUILD_PARAMETER,
    SV_PK_G_REBUILD_PARAMETER_WITH_STATE, SV_PK_G_STORAGE_TYPE,
} sv_pk_global;

typedef struct sv_pk_obj sv_pk_obj;

typedef struct {
    sv_pk_obj *storage;     // an SV_PK_STORAGE object
    int64_t offset;         // in elements
    int ndim;
    int64_t size[SV_MAXDIM], stride[SV_MAXDIM];  // stride in elements, >= 0
} sv_pk_tensor;

struct sv_pk_obj {
    sv_pk_kind kind;
    sv_pk_obj *next;        // allocation list (internal)
    union {
        int64_t i;                                          // BOOL, INT
        double f;                                           // FLOAT
        struct { char *s; size_t len; } str;                // STR, BYTES (NUL-terminated copy)
        struct { sv_pk_obj **items; size_t n, cap; } seq;   // TUPLE, LIST, SET
        struct { sv_pk_obj **keys, **vals; size_t n, cap; } dict;
        struct { sv_pk_global which; sv_pk_dtype dtype; int elem_size; } global;
        struct { sv_pk_dtype dtype; int elem_size; char *key; int64_t numel; } storage;
        sv_pk_tensor *tensor;
    } u;
};

typedef struct {
    sv_pk_obj *all;   // every object made, freed together
    size_t nobj;
} sv_pickle;

// Runs the pickle program buf[0..len) and sets *out to its result (owned by p). `what` names the source
// in messages (e.g. "model.pth: archive/data.pkl"). On failure p still owns what was made: call
// sv_pickle_free either way.
int sv_pickle_load(sv_pickle *p, const uint8_t *buf, size_t len, const char *what, sv_pk_obj **out, sv_err *e);
void sv_pickle_free(sv_pickle *p);

// The value stored under the string key in a dict, or NULL (also when d is not a dict).
sv_pk_obj *sv_pk_dict_get(const sv_pk_obj *d, const char *key);
// Number of elements of a tensor (product of its sizes).
int64_t sv_pk_tensor_numel(const sv_pk_tensor *t);
