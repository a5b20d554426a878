// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// run_opts.c: the common options of the training commands, their messages and their JSON (run_opts.h).
#include "train/run_opts.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "model/basicvsr.h"
#include "train/dataset.h"
#include "train/degrade.h"
#include "train/run_log.h"

void sv_run_opts_default(sv_run_opts *o, double lr, double lr_min, int batch, int seq) {
    *o = (sv_run_opts){.lr = lr, .lr_min = lr_min, .batch = batch, .seq = seq, .feat = 64, .blocks = 30,
                       .act_slope = SV_LEAKY_SLOPE, .flow = -1, .direction = -1, .iters = 1000, .patch = 64,
                       .degradation = SV_DEG_BI, .log_every = 10,
                       .photo_share = SV_PHOTO_SHARE_DEFAULT};
}

void sv_run_say(const sv_run_opts *o, sv_msg_kind kind, const char *fmt, ...) {
    if (!o->msg || (kind == SV_MSG_INFO && o->quiet)) return;
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    o->msg(o->msg_ud, kind, line);
}

void sv_opt_fields_to_json(cJSON *j, const void *o, const sv_opt_field *f, int n) {
    const char *base = o;
    for (int i = 0; i < n; i++) {
        const void *p = base + f[i].off;
        const double v = f[i].type == SV_OPT_INT ? *(const int *)p
                       : f[i].type == SV_OPT_LONG ? (double)*(const long *)p : *(const double *)p;
        cJSON_AddNumberToObject(j, f[i].key, v);
    }
}

int sv_opt_fields_from_json(void *o, const cJSON *j, const sv_opt_field *f, int n, const char *what, sv_err *e) {
    char *base = o;
    for (int i = 0; i < n; i++) {
        void *p = base + f[i].off;
        // the integers: whole and in range here, their meaning checked where the run starts
        if (f[i].type == SV_OPT_DOUBLE) *(double *)p = sv_json_num(j, f[i].key, *(double *)p);
        else if (f[i].type == SV_OPT_LONG ? sv_json_long(j, f[i].key, f[i].lo, f[i].hi, p, what, e)
                                          : sv_json_int(j, f[i].key, (int)f[i].lo, (int)f[i].hi, p, what, e))
            return -1;
    }
    return 0;
}

#define F(member, type, lo, hi) SV_OPT_FIELD(sv_run_opts, member, SV_OPT_##type, lo, hi)
static const sv_opt_field k_run_fields[] = {
    F(iters, LONG, 0, LONG_MAX), F(lr, DOUBLE, 0, 0),
    F(lr_min, DOUBLE, 0, 0), F(lr_hold, LONG, 0, LONG_MAX), F(batch, INT, 0, INT_MAX),
    F(seq, INT, 0, INT_MAX), F(patch, INT, 0, INT_MAX),
    F(log_every, LONG, 0, LONG_MAX), F(photo_share, DOUBLE, 0, 0),
};
#undef F
#define N_RUN_FIELDS ((int)(sizeof k_run_fields / sizeof *k_run_fields))

void sv_run_opts_to_json(cJSON *j, const sv_run_opts *o) {
    cJSON *d = cJSON_AddArrayToObject(j, "data");
    for (int i = 0; i < o->ndata; i++) cJSON_AddItemToArray(d, cJSON_CreateString(o->data[i]));
    sv_opt_fields_to_json(j, o, k_run_fields, N_RUN_FIELDS);
    cJSON_AddStringToObject(j, "degradation", o->degradation == SV_DEG_BD ? "bd" : "bi");
    cJSON_AddStringToObject(j, "clip_weight", sv_clip_weight_name(o->clip_weight));
    sv_json_add_u64(j, "seed", o->seed);
    if (o->photos) cJSON_AddStringToObject(j, "photos", o->photos);
}

int sv_run_opts_from_json(sv_run_opts *o, const cJSON *j, const char *what, sv_err *e) {
    const cJSON *d = cJSON_GetObjectItemCaseSensitive(j, "data"), *it;
    o->ndata = 0;
    cJSON_ArrayForEach(it, d) {
        if (!cJSON_IsString(it) || o->ndata == SV_TRAIN_MAX_DATA) return sv_errf(e, "%s: bad saved data list", what);
        o->data[o->ndata++] = it->valuestring;
    }
    const cJSON *dg = cJSON_GetObjectItemCaseSensitive(j, "degradation");
    o->degradation = cJSON_IsString(dg) && !strcmp(dg->valuestring, "bd") ? SV_DEG_BD : SV_DEG_BI;
    o->seed = sv_json_u64(j, "seed", o->seed);
    const cJSON *cw = cJSON_GetObjectItemCaseSensitive(j, "clip_weight");
    o->clip_weight = cJSON_IsString(cw) ? sv_clip_weight_parse(cw->valuestring) : SV_CLIP_WEIGHT_WINDOWS;
    if (o->clip_weight < 0) return sv_errf(e, "%s: unknown clip_weight", what);
    const cJSON *ph = cJSON_GetObjectItemCaseSensitive(j, "photos");
    o->photos = cJSON_IsString(ph) ? ph->valuestring : NULL;
    return sv_opt_fields_from_json(o, j, k_run_fields, N_RUN_FIELDS, what, e);
}
