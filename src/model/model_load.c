// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// model_load.c: canonical tensors (+ "slimvsr" metadata) -> sv_model, with every shape checked, and back.
//
// Metadata "slimvsr" (JSON, written by sv_model_to_tensors):
//   {"format": 1, "arch": "basicvsr", "num_feat": C, "num_block": N, "act": "leaky_relu_0.1" | "relu",
//    "flow": "zero" (absent: "spynet"), "direction": "uni" (absent: "bi"),
//    "rsc": {"backward_trunk.main.2.0": {"in": [S...], "out": [K2...]}, ...}}
// "act" is sv_act_name(act_slope); "flow" is sv_flow_name(flow), written only for a zero-flow model;
// "direction" is sv_direction_name(dir), written only for a forward-only model (no backward_trunk tensors);
// "rsc" lists only the blocks that are pruned; channel counts of the other layers follow the weights.
#include <cjson/cJSON.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/checkpoint.h"
#include "io/safetensors.h"
#include "model/basicvsr.h"

#define MAX_BLOCKS 1000

static const sv_ntensor *find2(const sv_tensor_set *s, const char *layer, const char *suffix) {
    char name[128];
    snprintf(name, sizeof name, "%s.%s", layer, suffix);
    return sv_tensor_set_find(s, name);
}

// Reads one conv's shape from its weight and checks the bias.
static int read_conv_shape(const sv_tensor_set *s, const sv_layer_ref *L, const char *what, sv_err *e) {
    const sv_ntensor *w = find2(s, L->name, "weight"), *b = find2(s, L->name, "bias");
    if (!w) return sv_errf(e, "%s: not a BasicVSR checkpoint: missing tensor '%s.weight'", what, L->name);
    if (!b) return sv_errf(e, "%s: not a BasicVSR checkpoint: missing tensor '%s.bias'", what, L->name);
    if (w->ndim != 4 || w->shape[2] != w->shape[3] || w->shape[2] % 2 != 1 || w->shape[0] < 1 ||
        w->shape[1] < 1 || w->shape[0] > 65536 || w->shape[1] > 65536 || w->shape[2] > 15)
        return sv_errf(e, "%s: tensor '%s.weight' has an unexpected shape for a conv", what, L->name);
    if (b->ndim != 1 || b->shape[0] != w->shape[0])
        return sv_errf(e, "%s: tensor '%s.bias' has %lld entries, expected %lld", what, L->name,
                       (long long)(b->ndim == 1 ? b->shape[0] : -1), (long long)w->shape[0]);
    L->conv->cout = (int)w->shape[0];
    L->conv->cin = (int)w->shape[1];
    L->conv->k = (int)w->shape[2];
    return 0;
}

static int expect(const sv_conv_layer *c, const char *name, int cout, int cin, int k, const char *what,
                  sv_err *e) {
    if ((cout > 0 && c->cout != cout) || (cin > 0 && c->cin != cin) || c->k != k)
        return sv_errf(e, "%s: layer '%s' is %dx%dx%dx%d, expected %dx%dx%dx%d (not a BasicVSR of this shape)",
                       what, name, c->cout, c->cin, c->k, c->k, cout > 0 ? cout : c->cout, cin > 0 ? cin : c->cin,
                       k, k);
    return 0;
}

// A JSON number that is an integer in [lo, hi] -> *out; -1 otherwise. The range is checked on the double,
// before the conversion (converting an out-of-range double, 1e10 or inf, to int is undefined behaviour).
static int json_int(const cJSON *j, int lo, int hi, int *out) {
    if (!cJSON_IsNumber(j)) return -1;
    double d = j->valuedouble;
    if (!(d >= lo && d <= hi) || d != floor(d)) return -1;
    *out = (int)d;
    return 0;
}

// Parses an index list: n distinct entries in [0, c).
static int parse_index_list(const cJSON *arr, int n, int c, int *out, const char *what, const char *name,
                            sv_err *e) {
    if (!cJSON_IsArray(arr) || cJSON_GetArraySize(arr) != n)
        return sv_errf(e, "%s: RSC list '%s' must be an array of %d channel indices", what, name, n);
    char *seen = calloc((size_t)c, 1);
    if (!seen) return sv_errf(e, "out of memory");
    int i = 0, idx;
    const cJSON *v;
    cJSON_ArrayForEach(v, arr) {
        if (json_int(v, 0, c - 1, &idx) || seen[idx]) {
            free(seen);
            return sv_errf(e, "%s: RSC list '%s' entry %d is not a distinct channel index in [0,%d)", what, name, i,
                           c);
        }
        seen[idx] = 1;
        out[i++] = idx;
    }
    free(seen);
    return 0;
}

// A count in the metadata (num_feat, num_block), when present, must equal what the weights say.
static int check_meta_count(const cJSON *root, const char *key, int from_weights, const char *what, sv_err *e) {
    const cJSON *j = cJSON_GetObjectItemCaseSensitive(root, key);
    int v;
    if (j && (json_int(j, 0, INT_MAX, &v) || v != from_weights))
        return sv_errf(e, "%s: metadata %s is not %d, the number the weights give", what, key, from_weights);
    return 0;
}

const char *sv_act_name(float slope) { return slope == 0.0f ? "relu" : "leaky_relu_0.1"; }

int sv_act_parse(const char *name, float *slope) {
    if (!strcmp(name, sv_act_name(0.0f))) *slope = 0.0f;
    else if (!strcmp(name, sv_act_name(SV_LEAKY_SLOPE))) *slope = SV_LEAKY_SLOPE;
    else return -1;
    return 0;
}

// A two-valued flag's name: 0 or 1 for name0 or name1, -1 for neither.
static int which_of(const char *name, const char *name0, const char *name1) {
    return !strcmp(name, name0) ? 0 : !strcmp(name, name1) ? 1 : -1;
}

const char *sv_flow_name(sv_flow_kind flow) { return flow == SV_FLOW_ZERO ? "zero" : "spynet"; }

int sv_flow_parse(const char *name, sv_flow_kind *flow) {
    const int k = which_of(name, sv_flow_name(SV_FLOW_SPYNET), sv_flow_name(SV_FLOW_ZERO));
    if (k >= 0) *flow = k ? SV_FLOW_ZERO : SV_FLOW_SPYNET;
    return k < 0 ? -1 : 0;
}

const char *sv_direction_name(sv_direction dir) { return dir == SV_DIR_UNI ? "uni" : "bi"; }

int sv_direction_parse(const char *name, sv_direction *dir) {
    const int k = which_of(name, sv_direction_name(SV_DIR_BI), sv_direction_name(SV_DIR_UNI));
    if (k >= 0) *dir = k ? SV_DIR_UNI : SV_DIR_BI;
    return k < 0 ? -1 : 0;
}

// The direction the "slimvsr" metadata states (absent: SV_DIR_BI), read before the layer table is built
// (which layers exist depends on it). Invalid JSON is left to apply_meta's message.
static int meta_direction(const sv_tensor_set *s, sv_direction *dir, const char *what, sv_err *e) {
    *dir = SV_DIR_BI;
    const char *js = sv_tensor_set_get_meta(s, "slimvsr");
    cJSON *root = js ? cJSON_Parse(js) : NULL;
    const cJSON *d = root ? cJSON_GetObjectItemCaseSensitive(root, "direction") : NULL;
    int rc = 0;
    if (d && (!cJSON_IsString(d) || sv_direction_parse(d->valuestring, dir)))
        rc = sv_errf(e, "%s: metadata direction must be \"%s\" or \"%s\"", what, sv_direction_name(SV_DIR_BI),
                     sv_direction_name(SV_DIR_UNI));
    cJSON_Delete(root);
    return rc;
}

// The direction against the tensors: a uni model has no backward_trunk, a bidirectional one has both trunks.
static int check_direction(const sv_tensor_set *s, sv_direction dir, const char *what, sv_err *e) {
    char bwd[96], fwd[96];
    sv_first_name(bwd, sizeof bwd, SV_BRANCH_BACKWARD);
    sv_first_name(fwd, sizeof fwd, SV_BRANCH_FORWARD);
    const int has_bwd = find2(s, bwd, "weight") != NULL, has_fwd = find2(s, fwd, "weight") != NULL;
    if (dir == SV_DIR_UNI && has_bwd)
        return sv_errf(e, "%s: metadata says direction \"%s\" (forward only) but the file holds '%s.weight' of "
                       "the backward branch", what, sv_direction_name(SV_DIR_UNI), bwd);
    if (dir == SV_DIR_BI && !has_bwd && has_fwd)
        return sv_errf(e, "%s: the file holds no '%s.weight' (no backward branch) but its metadata does not say "
                       "direction \"%s\": a forward-only model must say so", what, bwd, sv_direction_name(SV_DIR_UNI));
    return 0;
}

// Applies the "slimvsr" metadata: activation, flow and RSC lists (the direction: meta_direction). Index
// storage is allocated here.
static int apply_meta(sv_model *m, const sv_tensor_set *s, const char *what, sv_err *e) {
    const char *js = sv_tensor_set_get_meta(s, "slimvsr");
    if (!js) return 0;
    cJSON *root = cJSON_Parse(js);
    if (!root || !cJSON_IsObject(root)) {
        cJSON_Delete(root);
        return sv_errf(e, "%s: metadata 'slimvsr' is not valid JSON", what);
    }
    int rc = 0;
    const cJSON *arch = cJSON_GetObjectItemCaseSensitive(root, "arch");
    const cJSON *act = cJSON_GetObjectItemCaseSensitive(root, "act");
    const cJSON *flow = cJSON_GetObjectItemCaseSensitive(root, "flow");
    const cJSON *rsc = cJSON_GetObjectItemCaseSensitive(root, "rsc");
    if (arch && (!cJSON_IsString(arch) || strcmp(arch->valuestring, "basicvsr"))) {
        rc = sv_errf(e, "%s: metadata says architecture '%s', only 'basicvsr' is supported", what,
                     cJSON_IsString(arch) ? arch->valuestring : "?");
        goto done;
    }
    if (check_meta_count(root, "num_feat", m->num_feat, what, e) ||
        check_meta_count(root, "num_block", m->num_block, what, e)) {
        rc = -1;
        goto done;
    }
    if (act) {
        if (!cJSON_IsString(act) || sv_act_parse(act->valuestring, &m->act_slope)) {
            rc = sv_errf(e, "%s: metadata act must be \"%s\" or \"%s\"", what, sv_act_name(0.0f),
                         sv_act_name(SV_LEAKY_SLOPE));
            goto done;
        }
    }
    if (flow && (!cJSON_IsString(flow) || sv_flow_parse(flow->valuestring, &m->flow))) {
        rc = sv_errf(e, "%s: metadata flow must be \"%s\" or \"%s\"", what, sv_flow_name(SV_FLOW_SPYNET),
                     sv_flow_name(SV_FLOW_ZERO));
        goto done;
    }
    if (rsc) {
        if (!cJSON_IsObject(rsc)) {
            rc = sv_errf(e, "%s: metadata rsc must be an object", what);
            goto done;
        }
        size_t total = 0;
        for (int t = sv_first_branch(m); t < 2; t++)
            for (int k = 0; k < m->num_block; k++)
                total += (size_t)m->trunk[t].blocks[k].conv1.cin + (size_t)m->trunk[t].blocks[k].conv2.cout;
        m->indices = malloc(total * sizeof(int));
        if (!m->indices) {
            rc = sv_errf(e, "out of memory");
            goto done;
        }
        m->nindices = 0;
        int used = 0;
        for (int t = sv_first_branch(m); t < 2 && !rc; t++)
            for (int k = 0; k < m->num_block && !rc; k++) {
                char name[96];
                sv_block_name(name, sizeof name, t, k, NULL);
                const cJSON *blk = cJSON_GetObjectItemCaseSensitive(rsc, name);
                if (!blk) continue;
                used++;
                sv_resblock *b = &m->trunk[t].blocks[k];
                const cJSON *in = cJSON_GetObjectItemCaseSensitive(blk, "in");
                const cJSON *out = cJSON_GetObjectItemCaseSensitive(blk, "out");
                b->in_idx = m->indices + m->nindices;
                rc = parse_index_list(in, b->conv1.cin, m->num_feat, b->in_idx, what, name, e);
                m->nindices += (size_t)b->conv1.cin;
                b->out_idx = m->indices + m->nindices;
                if (!rc) rc = parse_index_list(out, b->conv2.cout, m->num_feat, b->out_idx, what, name, e);
                m->nindices += (size_t)b->conv2.cout;
            }
        if (!rc && used != cJSON_GetArraySize(rsc))
            rc = sv_errf(e, "%s: metadata rsc names a block that does not exist", what);
    }
done:
    cJSON_Delete(root);
    return rc;
}

// One layer against the table: SPyNet and the trunks' conv_first have their dense shape; a conv with a
// feeder reads exactly the feeder's outputs (a quarter of them after a pixel shuffle); every kernel has its
// dense size; fusion reads both hidden states and conv_last writes RGB; a residual block that reads or
// writes fewer than the C hidden channels must have its RSC index lists.
static int check_layer(const sv_model *m, const sv_layer_ref *L, const sv_layer_ref *all, const char *what,
                       sv_err *e) {
    const int C = m->num_feat;
    int cin, cout, k;
    sv_layer_dense_shape(L, C, &cin, &cout, &k);
    const int fixed_out = L->kind == SV_LAYER_SPYNET || L->kind == SV_LAYER_FIRST || L->kind == SV_LAYER_CONV_LAST;
    int fixed_in = L->kind == SV_LAYER_SPYNET || L->kind == SV_LAYER_FIRST || L->kind == SV_LAYER_FUSION;
    if (L->feeder >= 0) {
        const sv_layer_ref *f = &all[L->feeder];
        if (L->shuffled && f->conv->cout % SV_SHUFFLE_GROUP)
            return sv_errf(e, "%s: %s has %d output channels, not a multiple of %d (pixel shuffle x2)", what, f->name,
                           f->conv->cout, SV_SHUFFLE_GROUP);
        cin = L->shuffled ? f->conv->cout / SV_SHUFFLE_GROUP : f->conv->cout;
        fixed_in = 1;
    }
    if (expect(L->conv, L->name, fixed_out ? cout : -1, fixed_in ? cin : -1, k, what, e)) return -1;
    if (L->kind != SV_LAYER_CONV2) return 0;
    const sv_resblock *b = &m->trunk[L->branch].blocks[L->block];
    if ((!b->in_idx && b->conv1.cin != C) || (!b->out_idx && b->conv2.cout != C) || b->conv1.cin > C ||
        b->conv2.cout > C) {
        char name[96];
        sv_block_name(name, sizeof name, L->branch, L->block, NULL);
        return sv_errf(e, "%s: block '%s' has %d inputs / %d outputs but the hidden state has %d channels "
                       "and the file gives no RSC index lists", what, name, b->conv1.cin, b->conv2.cout, C);
    }
    return 0;
}

static int check_shapes(sv_model *m, const char *what, sv_err *e) {
    int nl = sv_model_layers(m, NULL, 0), rc = 0;
    sv_layer_ref *L = sv_calloc((size_t)nl, sizeof *L, e);
    if (!L) return -1;
    sv_model_layers(m, L, nl);
    for (int i = 0; i < nl && !rc; i++) rc = check_layer(m, &L[i], L, what, e);
    free(L);
    return rc;
}

// Every tensor must be one the layers consume: anything else means another architecture (e.g. IconVSR).
static int check_all_known(const sv_tensor_set *s, const sv_layer_ref *L, int nl, const char *what, sv_err *e) {
    for (int i = 0; i < s->n; i++) {
        const char *n = s->t[i].name;
        if (!strcmp(n, "spynet.mean") || !strcmp(n, "spynet.std")) continue;
        int known = 0;
        for (int j = 0; j < nl && !known; j++) {
            size_t len = strlen(L[j].name);
            known = !strncmp(n, L[j].name, len) && (!strcmp(n + len, ".weight") || !strcmp(n + len, ".bias"));
        }
        if (!known) return sv_errf(e, "%s: unexpected tensor '%s': not a BasicVSR checkpoint", what, n);
    }
    return 0;
}

int sv_model_from_tensors(sv_model *m, const sv_tensor_set *s, float act_slope_default, const char *what,
                          sv_err *e) {
    memset(m, 0, sizeof *m);
    m->act_slope = act_slope_default;
    if (meta_direction(s, &m->dir, what, e) || check_direction(s, m->dir, what, e)) return -1;
    const int b0 = sv_first_branch(m);  // the branch that gives C and the block count
    char name[96];
    sv_first_name(name, sizeof name, b0);
    const sv_ntensor *first = find2(s, name, "weight");
    if (!first)
        return sv_errf(e, "%s: not a BasicVSR checkpoint (no tensor '%s.weight'; found %d tensors%s%s)", what,
                       name, s->n, s->n ? ", the first is " : "", s->n ? s->t[0].name : "");
    if (first->ndim != 4 || first->shape[0] < 1 || first->shape[0] > SV_MAX_FEAT || first->shape[1] != first->shape[0] + 3)
        return sv_errf(e, "%s: '%s.weight' is not [C, C+3, 3, 3]", what, name);
    m->num_feat = (int)first->shape[0];
    while (m->num_block < MAX_BLOCKS) {
        sv_block_name(name, sizeof name, b0, m->num_block, ".conv1");
        if (!find2(s, name, "weight")) break;
        m->num_block++;
    }
    for (int t = 0; t < 2; t++) {
        m->trunk[t].blocks = sv_calloc((size_t)(m->num_block ? m->num_block : 1), sizeof(sv_resblock), e);
        if (!m->trunk[t].blocks) goto fail;
    }
    int nl = sv_model_layers(m, NULL, 0);
    sv_layer_ref *L = sv_calloc((size_t)nl, sizeof *L, e);
    if (!L) goto fail;
    sv_model_layers(m, L, nl);
    size_t total = 0;
    int rc = 0;
    for (int i = 0; i < nl && !rc; i++) {
        rc = read_conv_shape(s, &L[i], what, e);
        if (!rc) total += (size_t)L[i].conv->cout * L[i].conv->cin * L[i].conv->k * L[i].conv->k + L[i].conv->cout;
    }
    if (!rc) rc = check_all_known(s, L, nl, what, e);
    if (!rc) rc = sv_tensor_set_check_finite(s, what, e);
    if (!rc) rc = apply_meta(m, s, what, e);
    if (!rc) rc = check_shapes(m, what, e);
    if (!rc) {
        m->nparams = total;
        m->params = sv_malloc(total * sizeof(float), e);
        if (!m->params) rc = -1;
    }
    size_t off = 0;
    for (int i = 0; i < nl && !rc; i++) {
        sv_conv_layer *c = L[i].conv;
        size_t nw = (size_t)c->cout * c->cin * c->k * c->k;
        c->w = m->params + off;
        c->b = c->w + nw;
        memcpy(c->w, find2(s, L[i].name, "weight")->data, nw * sizeof(float));
        memcpy(c->b, find2(s, L[i].name, "bias")->data, (size_t)c->cout * sizeof(float));
        off += nw + (size_t)c->cout;
    }
    free(L);
    if (rc) goto fail;
    static const float mean[3] = {0.485f, 0.456f, 0.406f}, std[3] = {0.229f, 0.224f, 0.225f};
    const sv_ntensor *tm = sv_tensor_set_find(s, "spynet.mean"), *ts = sv_tensor_set_find(s, "spynet.std");
    if ((tm && sv_ntensor_numel(tm) != 3) || (ts && sv_ntensor_numel(ts) != 3)) {
        sv_errf(e, "%s: spynet.mean / spynet.std must have 3 entries", what);
        goto fail;
    }
    for (int c = 0; c < 3; c++) {
        m->spy_mean[c] = tm ? tm->data[c] : mean[c];
        m->spy_std[c] = ts ? ts->data[c] : std[c];
    }
    return 0;
fail:
    sv_model_free(m);
    return -1;
}

int sv_model_load(sv_model *m, const char *path, float act_slope_override, sv_err *e) {
    sv_tensor_set s = {0};
    if (sv_checkpoint_read(path, &s, e)) {
        sv_tensor_set_free(&s);
        return -1;
    }
    int rc = sv_model_from_tensors(m, &s, SV_LEAKY_SLOPE, path, e);
    sv_tensor_set_free(&s);
    if (!rc && act_slope_override >= 0) m->act_slope = act_slope_override;
    return rc;
}

static int add_copy(sv_tensor_set *s, const char *name, int ndim, const int64_t *shape, const float *src, size_t n,
                    sv_err *e) {
    float *d = sv_malloc(n * sizeof(float), e);
    if (!d) return -1;
    memcpy(d, src, n * sizeof(float));
    return sv_tensor_set_add(s, name, ndim, shape, d, e);
}

int sv_model_to_tensors(const sv_model *m, sv_tensor_set *s, sv_err *e) {
    sv_model *mm = (sv_model *)m;  // sv_model_layers hands out non-const views; nothing is modified
    int nl = sv_model_layers(mm, NULL, 0);
    sv_layer_ref *L = sv_calloc((size_t)nl, sizeof *L, e);
    if (!L) return -1;
    sv_model_layers(mm, L, nl);
    int rc = 0;
    int64_t s3[4] = {1, 3, 1, 1};
    rc = add_copy(s, "spynet.mean", 4, s3, m->spy_mean, 3, e);
    if (!rc) rc = add_copy(s, "spynet.std", 4, s3, m->spy_std, 3, e);
    for (int i = 0; i < nl && !rc; i++) {
        const sv_conv_layer *c = L[i].conv;
        char name[128];
        int64_t ws[4] = {c->cout, c->cin, c->k, c->k}, bs[1] = {c->cout};
        snprintf(name, sizeof name, "%s.weight", L[i].name);
        rc = add_copy(s, name, 4, ws, c->w, (size_t)c->cout * c->cin * c->k * c->k, e);
        snprintf(name, sizeof name, "%s.bias", L[i].name);
        if (!rc) rc = add_copy(s, name, 1, bs, c->b, (size_t)c->cout, e);
    }
    free(L);
    if (rc) return -1;
    cJSON *root = cJSON_CreateObject(), *rsc = cJSON_CreateObject();
    cJSON_AddNumberToObject(root, "format", 1);
    cJSON_AddStringToObject(root, "arch", "basicvsr");
    cJSON_AddNumberToObject(root, "num_feat", m->num_feat);
    cJSON_AddNumberToObject(root, "num_block", m->num_block);
    cJSON_AddStringToObject(root, "act", sv_act_name(m->act_slope));
    if (!sv_uses_spynet(m)) cJSON_AddStringToObject(root, "flow", sv_flow_name(m->flow));
    if (sv_is_uni(m)) cJSON_AddStringToObject(root, "direction", sv_direction_name(m->dir));
    for (int t = sv_first_branch(m); t < 2; t++)
        for (int k = 0; k < m->num_block; k++) {
            const sv_resblock *b = &m->trunk[t].blocks[k];
            if (!b->in_idx && !b->out_idx) continue;
            char name[96];
            sv_block_name(name, sizeof name, t, k, NULL);
            cJSON *o = cJSON_AddObjectToObject(rsc, name);
            int n_in = b->conv1.cin, n_out = b->conv2.cout;
            cJSON *in = cJSON_AddArrayToObject(o, "in"), *out = cJSON_AddArrayToObject(o, "out");
            for (int i = 0; i < n_in; i++) cJSON_AddItemToArray(in, cJSON_CreateNumber(b->in_idx ? b->in_idx[i] : i));
            for (int i = 0; i < n_out; i++)
                cJSON_AddItemToArray(out, cJSON_CreateNumber(b->out_idx ? b->out_idx[i] : i));
        }
    cJSON_AddItemToObject(root, "rsc", rsc);
    char *js = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    if (!js) return sv_errf(e, "out of memory");
    rc = sv_tensor_set_set_meta(s, "slimvsr", js, e);
    free(js);
    return rc;
}

int sv_model_clone(const sv_model *src, sv_model *dst, sv_err *e) {
    sv_tensor_set s = {0};
    int rc = sv_model_to_tensors(src, &s, e);
    if (!rc) rc = sv_model_from_tensors(dst, &s, src->act_slope, "model copy", e);
    sv_tensor_set_free(&s);
    return rc;
}

void sv_model_free(sv_model *m) {
    free(m->params);
    free(m->indices);
    free(m->trunk[0].blocks);
    free(m->trunk[1].blocks);
    memset(m, 0, sizeof *m);
}

int sv_model_save(const sv_model *m, const char *path, sv_err *e) {
    sv_tensor_set s = {0};
    int rc = sv_model_to_tensors(m, &s, e);
    if (!rc) rc = sv_safetensors_write(path, &s, e);
    sv_tensor_set_free(&s);
    return rc;
}
