// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// pickle.c: the safe pickle-subset interpreter described in pickle.h. One file on purpose (about 630 lines):
// the opcode table, the value stack and the reduce rules it allows form one state machine, which reads
// best whole; split, each part would need the others' private types.
#include "io/pickle.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    sv_pickle *p;
    const uint8_t *buf;
    size_t len, pos, op_pos;
    const char *what;
    sv_err *e;
    sv_pk_obj **stack;
    size_t sp, scap;
    size_t marks[SV_PICKLE_MAX_MARKS];
    size_t nmarks;
    sv_pk_obj **memo;
    size_t memo_cap, memo_n;
} vm;

// ---- errors and byte reading ----

__attribute__((format(printf, 2, 3))) static int fail(vm *m, const char *fmt, ...) {
    char msg[SV_ERRLEN];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    sv_errf(m->e, "%s: pickle offset %zu: %s", m->what, m->op_pos, msg);
    return -1;
}

static const uint8_t *take(vm *m, uint64_t n) {
    if (n > m->len - m->pos) {
        fail(m, "data ends inside an opcode argument (truncated?)");
        return NULL;
    }
    const uint8_t *q = m->buf + m->pos;
    m->pos += n;
    return q;
}

static uint64_t le(const uint8_t *q, int n) {
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--) v = v << 8 | q[i];
    return v;
}

// ---- objects ----

static sv_pk_obj *mk(vm *m, sv_pk_kind kind) {
    if (m->p->nobj >= SV_PICKLE_MAX_OBJECTS) {
        fail(m, "more than %d objects", SV_PICKLE_MAX_OBJECTS);
        return NULL;
    }
    sv_pk_obj *o = calloc(1, sizeof *o);
    if (!o) {
        fail(m, "out of memory");
        return NULL;
    }
    o->kind = kind;
    o->next = m->p->all;
    m->p->all = o;
    m->p->nobj++;
    return o;
}

static sv_pk_obj *mk_str(vm *m, sv_pk_kind kind, const uint8_t *s, size_t n) {
    sv_pk_obj *o = mk(m, kind);
    if (!o) return NULL;
    o->u.str.s = malloc(n + 1);
    if (!o->u.str.s) {
        fail(m, "out of memory");
        return NULL;
    }
    memcpy(o->u.str.s, s, n);
    o->u.str.s[n] = 0;
    o->u.str.len = n;
    return o;
}

static sv_pk_obj *mk_int(vm *m, int64_t v) {
    sv_pk_obj *o = mk(m, SV_PK_INT);
    if (o) o->u.i = v;
    return o;
}

static int seq_add(vm *m, sv_pk_obj *s, sv_pk_obj *item) {
    if (s->u.seq.n == s->u.seq.cap) {
        size_t cap = s->u.seq.cap ? 2 * s->u.seq.cap : 4;
        sv_pk_obj **it = realloc(s->u.seq.items, cap * sizeof *it);
        if (!it) return fail(m, "out of memory");
        s->u.seq.items = it;
        s->u.seq.cap = cap;
    }
    s->u.seq.items[s->u.seq.n++] = item;
    return 0;
}

// Keys are appended without a duplicate search (which would be quadratic on hostile input); readers
// treat a repeated key as an error, and sv_pk_dict_get returns the last one, as Python would.
static int dict_set(vm *m, sv_pk_obj *d, sv_pk_obj *k, sv_pk_obj *v) {
    if (d->u.dict.n == d->u.dict.cap) {
        size_t cap = d->u.dict.cap ? 2 * d->u.dict.cap : 8;
        sv_pk_obj **ks = realloc(d->u.dict.keys, cap * sizeof *ks);
        if (!ks) return fail(m, "out of memory");
        d->u.dict.keys = ks;
        sv_pk_obj **vs = realloc(d->u.dict.vals, cap * sizeof *vs);
        if (!vs) return fail(m, "out of memory");
        d->u.dict.vals = vs;
        d->u.dict.cap = cap;
    }
    d->u.dict.keys[d->u.dict.n] = k;
    d->u.dict.vals[d->u.dict.n++] = v;
    return 0;
}

// ---- stack, marks, memo ----

static size_t floor_of_stack(const vm *m) { return m->nmarks ? m->marks[m->nmarks - 1] : 0; }

static int push(vm *m, sv_pk_obj *o) {
    if (!o) return -1;
    if (m->sp == m->scap) {
        if (m->scap >= SV_PICKLE_MAX_STACK) return fail(m, "stack deeper than %d", SV_PICKLE_MAX_STACK);
        size_t cap = m->scap ? 2 * m->scap : 64;
        sv_pk_obj **s = realloc(m->stack, cap * sizeof *s);
        if (!s) return fail(m, "out of memory");
        m->stack = s;
        m->scap = cap;
    }
    m->stack[m->sp++] = o;
    return 0;
}

static sv_pk_obj *pop(vm *m) {
    if (m->sp <= floor_of_stack(m)) {
        fail(m, "stack underflow");
        return NULL;
    }
    return m->stack[--m->sp];
}

static sv_pk_obj *top(vm *m) {
    if (m->sp <= floor_of_stack(m)) {
        fail(m, "stack underflow");
        return NULL;
    }
    return m->stack[m->sp - 1];
}

// Removes the items above the innermost mark; *items points at them (valid until the next push).
static int pop_mark(vm *m, sv_pk_obj ***items, size_t *n) {
    if (!m->nmarks) return fail(m, "no MARK on the stack");
    size_t at = m->marks[--m->nmarks];
    *items = m->stack ? m->stack + at : NULL;  // nothing pushed yet: no stack (NULL + 0 is undefined)
    *n = m->sp - at;
    m->sp = at;
    return 0;
}

static int memo_put(vm *m, uint64_t idx) {
    sv_pk_obj *o = top(m);
    if (!o) return -1;
    if (idx >= m->memo_cap) {
        if (idx >= (uint64_t)m->len + 256) return fail(m, "memo index %llu out of range", (unsigned long long)idx);
        size_t cap = m->memo_cap ? 2 * m->memo_cap : 256;
        if (cap <= idx) cap = (size_t)idx + 1;
        sv_pk_obj **mm = realloc(m->memo, cap * sizeof *mm);
        if (!mm) return fail(m, "out of memory");
        memset(mm + m->memo_cap, 0, (cap - m->memo_cap) * sizeof *mm);
        m->memo = mm;
        m->memo_cap = cap;
    }
    if (!m->memo[idx]) m->memo_n++;
    m->memo[idx] = o;
    return 0;
}

static int memo_get(vm *m, uint64_t idx) {
    if (idx >= m->memo_cap || !m->memo[idx]) return fail(m, "memo index %llu was never stored", (unsigned long long)idx);
    return push(m, m->memo[idx]);
}

// ---- globals: the allow-list ----

static const struct {
    const char *name;
    sv_pk_dtype dtype;
    int elem_size;
} storage_types[] = {
    {"FloatStorage", SV_PK_F32, 4},      {"HalfStorage", SV_PK_F16, 2},     {"BFloat16Storage", SV_PK_BF16, 2},
    {"DoubleStorage", SV_PK_F64, 8},     {"LongStorage", SV_PK_NONFLOAT, 8}, {"IntStorage", SV_PK_NONFLOAT, 4},
    {"ShortStorage", SV_PK_NONFLOAT, 2}, {"CharStorage", SV_PK_NONFLOAT, 1}, {"ByteStorage", SV_PK_NONFLOAT, 1},
    {"BoolStorage", SV_PK_NONFLOAT, 1},  {"UntypedStorage", SV_PK_NONFLOAT, 1},
};

static int eq(const char *s, size_t n, const char *lit) { return strlen(lit) == n && memcmp(s, lit, n) == 0; }

// Copies at most 80 printable characters, for messages.
static void printable(char *dst, const char *s, size_t n) {
    size_t k = 0;
    for (size_t i = 0; i < n && k < 80; i++) dst[k++] = s[i] >= 32 && s[i] < 127 ? s[i] : '?';
    dst[k] = 0;
}

static int push_global(vm *m, const char *mod, size_t ml, const char *name, size_t nl) {
    int which = -1;
    sv_pk_dtype dtype = SV_PK_NONFLOAT;
    int es = 0;
    if (eq(mod, ml, "collections") && eq(name, nl, "OrderedDict")) which = SV_PK_G_ORDERED_DICT;
    if (eq(mod, ml, "torch._utils")) {
        if (eq(name, nl, "_rebuild_tensor_v2")) which = SV_PK_G_REBUILD_TENSOR_V2;
        if (eq(name, nl, "_rebuild_parameter")) which = SV_PK_G_REBUILD_PARAMETER;
        if (eq(name, nl, "_rebuild_parameter_with_state")) which = SV_PK_G_REBUILD_PARAMETER_WITH_STATE;
    }
    if (eq(mod, ml, "torch")) {
        for (size_t i = 0; i < sizeof storage_types / sizeof *storage_types; i++) {
            if (eq(name, nl, storage_types[i].name)) {
                which = SV_PK_G_STORAGE_TYPE;
                dtype = storage_types[i].dtype;
                es = storage_types[i].elem_size;
            }
        }
    }
    if (which < 0) {
        char a[81], b[81];
        printable(a, mod, ml);
        printable(b, name, nl);
        return fail(m, "refusing global '%s.%s': only tensors, storages and OrderedDict may be loaded "
                       "(a full training checkpoint or an arbitrary pickle is not a state_dict; "
                       "save model.state_dict() instead)", a, b);
    }
    sv_pk_obj *o = mk(m, SV_PK_GLOBAL);
    if (!o) return -1;
    o->u.global.which = (sv_pk_global)which;
    o->u.global.dtype = dtype;
    o->u.global.elem_size = es;
    return push(m, o);
}

// GLOBAL's argument: "module\nname\n".
static int op_global_text(vm *m) {
    const char *parts[2];
    size_t lens[2];
    for (int k = 0; k < 2; k++) {
        const uint8_t *start = m->buf + m->pos;
        const uint8_t *nl = memchr(start, '\n', m->len - m->pos < 256 ? m->len - m->pos : 256);
        if (!nl) return fail(m, "GLOBAL name is unterminated or longer than 255 bytes");
        parts[k] = (const char *)start;
        lens[k] = (size_t)(nl - start);
        m->pos += lens[k] + 1;
    }
    return push_global(m, parts[0], lens[0], parts[1], lens[1]);
}

static int op_stack_global(vm *m) {
    sv_pk_obj *name = pop(m), *mod = name ? pop(m) : NULL;
    if (!mod) return -1;
    if (mod->kind != SV_PK_STR || name->kind != SV_PK_STR) return fail(m, "STACK_GLOBAL needs two strings");
    return push_global(m, mod->u.str.s, mod->u.str.len, name->u.str.s, name->u.str.len);
}

// ---- torch semantics: persistent ids and tensor rebuilding ----

static int valid_key(const sv_pk_obj *k) {
    if (k->kind != SV_PK_STR || k->u.str.len == 0 || k->u.str.len > 64) return 0;
    for (size_t i = 0; i < k->u.str.len; i++) {
        char c = k->u.str.s[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == '-'))
            return 0;
    }
    return 1;
}

// BINPERSID: ('storage', storage_type, key, location, numel) -> storage descriptor.
static int op_persid(vm *m) {
    sv_pk_obj *pid = pop(m);
    if (!pid) return -1;
    if (pid->kind != SV_PK_TUPLE || pid->u.seq.n != 5)
        return fail(m, "persistent id is not a 5-tuple ('storage', type, key, location, numel)");
    sv_pk_obj **it = pid->u.seq.items;
    if (it[0]->kind != SV_PK_STR || strcmp(it[0]->u.str.s, "storage") != 0)
        return fail(m, "persistent id does not name a storage");
    if (it[1]->kind != SV_PK_GLOBAL || it[1]->u.global.which != SV_PK_G_STORAGE_TYPE)
        return fail(m, "persistent id has no storage type");
    if (!valid_key(it[2])) return fail(m, "storage key must be 1-64 characters of [A-Za-z0-9_-]");
    if (it[4]->kind != SV_PK_INT || it[4]->u.i < 0) return fail(m, "storage size is not a non-negative integer");
    int64_t bytes;
    if (__builtin_mul_overflow(it[4]->u.i, (int64_t)it[1]->u.global.elem_size, &bytes))
        return fail(m, "storage size overflows");
    sv_pk_obj *s = mk(m, SV_PK_STORAGE);
    if (!s) return -1;
    s->u.storage.dtype = it[1]->u.global.dtype;
    s->u.storage.elem_size = it[1]->u.global.elem_size;
    s->u.storage.key = it[2]->u.str.s;  // owned by the key string object, which lives as long
    s->u.storage.numel = it[4]->u.i;
    return push(m, s);
}

static int int_tuple(const sv_pk_obj *t, int64_t *out, int *n) {
    if (t->kind != SV_PK_TUPLE || t->u.seq.n > SV_MAXDIM) return -1;
    for (size_t i = 0; i < t->u.seq.n; i++) {
        const sv_pk_obj *v = t->u.seq.items[i];
        if (v->kind != SV_PK_INT || v->u.i < 0) return -1;
        out[i] = v->u.i;
    }
    *n = (int)t->u.seq.n;
    return 0;
}

int64_t sv_pk_tensor_numel(const sv_pk_tensor *t) {
    int64_t n = 1;
    for (int i = 0; i < t->ndim; i++) n *= t->size[i];
    return n;
}

// _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])
static sv_pk_obj *rebuild_tensor(vm *m, sv_pk_obj *args) {
    if (args->u.seq.n < 6 || args->u.seq.n > 7) {
        fail(m, "_rebuild_tensor_v2 takes 6 or 7 arguments, got %zu", args->u.seq.n);
        return NULL;
    }
    sv_pk_obj **a = args->u.seq.items;
    if (a[0]->kind != SV_PK_STORAGE || a[1]->kind != SV_PK_INT || a[1]->u.i < 0) {
        fail(m, "_rebuild_tensor_v2: bad storage or offset");
        return NULL;
    }
    sv_pk_obj *o = mk(m, SV_PK_TENSOR);
    if (!o) return NULL;
    sv_pk_tensor *t = o->u.tensor = calloc(1, sizeof *t);
    if (!t) {
        fail(m, "out of memory");
        return NULL;
    }
    int ns = 0;
    t->storage = a[0];
    t->offset = a[1]->u.i;
    if (int_tuple(a[2], t->size, &t->ndim) || int_tuple(a[3], t->stride, &ns) || ns != t->ndim) {
        fail(m, "_rebuild_tensor_v2: size/stride must be equal-length tuples of at most %d non-negative ints",
             SV_MAXDIM);
        return NULL;
    }
    // Bounds: numel (overflow-checked), and the last element addressed must lie inside the storage.
    int64_t numel = 1, last = t->offset, storage_n = a[0]->u.storage.numel;
    int overflow = 0;
    for (int i = 0; i < t->ndim; i++) {
        int64_t span;
        overflow |= __builtin_mul_overflow(numel, t->size[i], &numel);
        if (t->size[i] > 0) {
            overflow |= __builtin_mul_overflow(t->size[i] - 1, t->stride[i], &span);
            overflow |= __builtin_add_overflow(last, span, &last);
        }
    }
    if (overflow) {
        fail(m, "_rebuild_tensor_v2: size/stride overflow");
        return NULL;
    }
    if (numel > 0 ? last >= storage_n : t->offset > storage_n) {
        fail(m, "tensor (offset %lld, last element %lld) lies outside its storage '%s' of %lld elements",
             (long long)t->offset, (long long)last, a[0]->u.storage.key, (long long)storage_n);
        return NULL;
    }
    if (numel > storage_n && numel > SV_PICKLE_MAX_EXPAND) {
        fail(m, "tensor of %lld elements expands a storage of %lld elements (limit %d)", (long long)numel,
             (long long)storage_n, SV_PICKLE_MAX_EXPAND);
        return NULL;
    }
    return o;
}

static int op_reduce(vm *m, int newobj) {
    sv_pk_obj *args = pop(m), *fn = args ? pop(m) : NULL;
    if (!fn) return -1;
    if (fn->kind != SV_PK_GLOBAL) return fail(m, "%s of a non-global", newobj ? "NEWOBJ" : "REDUCE");
    if (args->kind != SV_PK_TUPLE) return fail(m, "%s arguments are not a tuple", newobj ? "NEWOBJ" : "REDUCE");
    size_t n = args->u.seq.n;
    sv_pk_obj **a = args->u.seq.items;
    switch (fn->u.global.which) {
    case SV_PK_G_ORDERED_DICT:
        if (n != 0) return fail(m, "OrderedDict() with arguments is not supported");
        return push(m, mk(m, SV_PK_DICT));
    case SV_PK_G_REBUILD_TENSOR_V2:
        if (newobj) break;
        return push(m, rebuild_tensor(m, args));
    case SV_PK_G_REBUILD_PARAMETER:
    case SV_PK_G_REBUILD_PARAMETER_WITH_STATE:
        if (newobj) break;
        if (n < 1 || a[0]->kind != SV_PK_TENSOR) return fail(m, "_rebuild_parameter needs a tensor");
        return push(m, a[0]);
    case SV_PK_G_STORAGE_TYPE:
        break;
    }
    return fail(m, "this global cannot be called here");
}

static int op_build(vm *m) {
    sv_pk_obj *state = pop(m), *obj = state ? top(m) : NULL;
    if (!obj) return -1;
    // OrderedDict state is {'_metadata': ...}: module versions, not needed. Tensors may carry Python
    // attributes. Both are ignored; BUILD on anything else is refused.
    if (obj->kind != SV_PK_DICT && obj->kind != SV_PK_TENSOR) return fail(m, "BUILD on an unsupported object");
    return 0;
}

// ---- the main loop ----

static int read_int_op(vm *m, int op) {
    const uint8_t *q;
    switch (op) {
    case 'J': return (q = take(m, 4)) ? push(m, mk_int(m, (int32_t)(uint32_t)le(q, 4))) : -1;
    case 'K': return (q = take(m, 1)) ? push(m, mk_int(m, q[0])) : -1;
    case 'M': return (q = take(m, 2)) ? push(m, mk_int(m, (int64_t)le(q, 2))) : -1;
    }
    // LONG1 / LONG4: little-endian two's complement of n bytes
    uint64_t n;
    if (op == 0x8a) {
        if (!(q = take(m, 1))) return -1;
        n = q[0];
    } else {
        if (!(q = take(m, 4))) return -1;
        int32_t n4 = (int32_t)(uint32_t)le(q, 4);
        if (n4 < 0) return fail(m, "negative LONG4 length");
        n = (uint64_t)n4;
    }
    if (!(q = take(m, n))) return -1;
    if (n > 8) return push(m, mk(m, SV_PK_BIGINT));
    uint64_t v = n ? le(q, (int)n) : 0;
    if (n && n < 8 && (q[n - 1] & 0x80)) v |= ~0ull << (8 * n);
    return push(m, mk_int(m, (int64_t)v));
}

static int read_str_op(vm *m, int op) {
    int lenbytes = 4;
    sv_pk_kind kind = SV_PK_STR;
    switch (op) {
    case 0x8c: lenbytes = 1; break;            // SHORT_BINUNICODE
    case 0x8d: lenbytes = 8; break;            // BINUNICODE8
    case 'B': kind = SV_PK_BYTES; break;       // BINBYTES
    case 'C': kind = SV_PK_BYTES; lenbytes = 1; break;
    case 0x8e: kind = SV_PK_BYTES; lenbytes = 8; break;
    case 'U': lenbytes = 1; break;             // SHORT_BINSTRING
    }
    const uint8_t *q = take(m, (uint64_t)lenbytes);
    if (!q) return -1;
    uint64_t n = le(q, lenbytes);
    if (op == 'T' && n > 0x7fffffff) return fail(m, "negative BINSTRING length");
    if (!(q = take(m, n))) return -1;
    return push(m, mk_str(m, kind, q, (size_t)n));
}

static int collect(vm *m, sv_pk_kind kind) {
    sv_pk_obj **items = NULL;
    size_t n = 0;
    if (pop_mark(m, &items, &n)) return -1;
    sv_pk_obj *o = mk(m, kind);
    if (!o) return -1;
    if (kind == SV_PK_DICT) {
        if (n % 2) return fail(m, "DICT with an odd number of items");
        for (size_t i = 0; i < n; i += 2)
            if (dict_set(m, o, items[i], items[i + 1])) return -1;
    } else {
        for (size_t i = 0; i < n; i++)
            if (seq_add(m, o, items[i])) return -1;
    }
    return push(m, o);
}

static int small_tuple(vm *m, size_t n) {
    if (m->sp < floor_of_stack(m) + n) return fail(m, "stack underflow");
    sv_pk_obj *o = mk(m, SV_PK_TUPLE);
    if (!o) return -1;
    for (size_t i = 0; i < n; i++)
        if (seq_add(m, o, m->stack[m->sp - n + i])) return -1;
    m->sp -= n;
    return push(m, o);
}

// APPENDS / SETITEMS / ADDITEMS: items above the mark go into the container just below it.
static int add_items(vm *m, int op) {
    sv_pk_obj **items = NULL;
    size_t n = 0;
    if (pop_mark(m, &items, &n)) return -1;
    sv_pk_obj *c = top(m);
    if (!c) return -1;
    if (op == 'u') {
        if (c->kind != SV_PK_DICT || n % 2) return fail(m, "SETITEMS needs a dict and key/value pairs");
        for (size_t i = 0; i < n; i += 2)
            if (dict_set(m, c, items[i], items[i + 1])) return -1;
        return 0;
    }
    if (c->kind != (op == 'e' ? SV_PK_LIST : SV_PK_SET)) return fail(m, "APPENDS/ADDITEMS on a wrong container");
    for (size_t i = 0; i < n; i++)
        if (seq_add(m, c, items[i])) return -1;
    return 0;
}

static int step(vm *m, int op, int *done, sv_pk_obj **out) {
    const uint8_t *q;
    sv_pk_obj *a, *b, *c;
    switch (op) {
    case 0x80:  // PROTO
        if (!(q = take(m, 1))) return -1;
        if (q[0] > 5) return fail(m, "pickle protocol %d is not supported (2..5)", q[0]);
        return 0;
    case 0x95:  // FRAME: a length hint, checked and otherwise ignored
        if (!(q = take(m, 8))) return -1;
        if (le(q, 8) > m->len - m->pos) return fail(m, "FRAME runs past the end of the data (truncated?)");
        return 0;
    case '.':   // STOP
        if (!(*out = pop(m))) return -1;
        *done = 1;
        return 0;
    case '(':   // MARK
        if (m->nmarks == SV_PICKLE_MAX_MARKS) return fail(m, "MARKs nested deeper than %d", SV_PICKLE_MAX_MARKS);
        m->marks[m->nmarks++] = m->sp;
        return 0;
    case '0': return pop(m) ? 0 : -1;                          // POP
    case '1': { sv_pk_obj **it; size_t n; return pop_mark(m, &it, &n); }  // POP_MARK
    case '2': return (a = top(m)) ? push(m, a) : -1;           // DUP
    case 'N': return push(m, mk(m, SV_PK_NONE));
    case 0x88:
    case 0x89:                                                 // NEWTRUE / NEWFALSE
        if (!(a = mk(m, SV_PK_BOOL))) return -1;
        a->u.i = op == 0x88;
        return push(m, a);
    case 'J': case 'K': case 'M': case 0x8a: case 0x8b:
        return read_int_op(m, op);
    case 'G': {                                                // BINFLOAT, big-endian double
        if (!(q = take(m, 8))) return -1;
        uint64_t bits = 0;
        for (int i = 0; i < 8; i++) bits = bits << 8 | q[i];
        if (!(a = mk(m, SV_PK_FLOAT))) return -1;
        memcpy(&a->u.f, &bits, 8);
        return push(m, a);
    }
    case 'X': case 0x8c: case 0x8d: case 'B': case 'C': case 0x8e: case 'T': case 'U':
        return read_str_op(m, op);
    case ')': return push(m, mk(m, SV_PK_TUPLE));
    case ']': return push(m, mk(m, SV_PK_LIST));
    case '}': return push(m, mk(m, SV_PK_DICT));
    case 0x8f: return push(m, mk(m, SV_PK_SET));               // EMPTY_SET
    case 't': return collect(m, SV_PK_TUPLE);
    case 'l': return collect(m, SV_PK_LIST);
    case 'd': return collect(m, SV_PK_DICT);
    case 0x91: return collect(m, SV_PK_SET);                   // FROZENSET
    case 0x85: return small_tuple(m, 1);
    case 0x86: return small_tuple(m, 2);
    case 0x87: return small_tuple(m, 3);
    case 'a':                                                  // APPEND
        if (!(b = pop(m)) || !(a = top(m))) return -1;
        if (a->kind != SV_PK_LIST) return fail(m, "APPEND to a non-list");
        return seq_add(m, a, b);
    case 's':                                                  // SETITEM
        if (!(c = pop(m)) || !(b = pop(m)) || !(a = top(m))) return -1;
        if (a->kind != SV_PK_DICT) return fail(m, "SETITEM on a non-dict");
        return dict_set(m, a, b, c);
    case 'e': case 'u': case 0x90:                             // APPENDS / SETITEMS / ADDITEMS
        return add_items(m, op);
    case 'q': return (q = take(m, 1)) ? memo_put(m, q[0]) : -1;       // BINPUT
    case 'r': return (q = take(m, 4)) ? memo_put(m, le(q, 4)) : -1;   // LONG_BINPUT
    case 0x94: return memo_put(m, m->memo_n);                          // MEMOIZE
    case 'h': return (q = take(m, 1)) ? memo_get(m, q[0]) : -1;       // BINGET
    case 'j': return (q = take(m, 4)) ? memo_get(m, le(q, 4)) : -1;   // LONG_BINGET
    case 'c': return op_global_text(m);
    case 0x93: return op_stack_global(m);
    case 'R': return op_reduce(m, 0);
    case 0x81: return op_reduce(m, 1);                         // NEWOBJ
    case 'b': return op_build(m);
    case 'Q': return op_persid(m);
    }
    if (op >= 32 && op < 127) return fail(m, "unsupported pickle opcode '%c' (0x%02x)", op, op);
    return fail(m, "unsupported pickle opcode 0x%02x", op);
}

int sv_pickle_load(sv_pickle *p, const uint8_t *buf, size_t len, const char *what, sv_pk_obj **out, sv_err *e) {
    *out = NULL;
    if (len > SV_PICKLE_MAX_BYTES)
        return sv_errf(e, "%s: pickle of %zu bytes is over the %llu-byte limit", what, len, SV_PICKLE_MAX_BYTES);
    vm m = {.p = p, .buf = buf, .len = len, .what = what, .e = e};
    int done = 0, rc = 0;
    while (!done) {
        if (m.pos >= len) {
            rc = sv_errf(e, "%s: pickle ends without STOP (truncated?)", what);
            break;
        }
        m.op_pos = m.pos;
        int op = buf[m.pos++];
        if (step(&m, op, &done, out)) {
            rc = -1;
            *out = NULL;
            break;
        }
    }
    free(m.stack);
    free(m.memo);
    return rc;
}

sv_pk_obj *sv_pk_dict_get(const sv_pk_obj *d, const char *key) {
    if (!d || d->kind != SV_PK_DICT) return NULL;
    size_t n = strlen(key);
    sv_pk_obj *found = NULL;
    for (size_t i = 0; i < d->u.dict.n; i++) {
        const sv_pk_obj *k = d->u.dict.keys[i];
        if (k->kind == SV_PK_STR && k->u.str.len == n && memcmp(k->u.str.s, key, n) == 0) found = d->u.dict.vals[i];
    }
    return found;
}

void sv_pickle_free(sv_pickle *p) {
    sv_pk_obj *o = p->all;
    while (o) {
        sv_pk_obj *next = o->next;
        switch (o->kind) {
        case SV_PK_STR:
        case SV_PK_BYTES: free(o->u.str.s); break;
        case SV_PK_TUPLE:
        case SV_PK_LIST:
        case SV_PK_SET: free(o->u.seq.items); break;
        case SV_PK_DICT:
            free(o->u.dict.keys);
            free(o->u.dict.vals);
            break;
        case SV_PK_TENSOR: free(o->u.tensor); break;
        default: break;
        }
        free(o);
        o = next;
    }
    p->all = NULL;
    p->nobj = 0;
}
