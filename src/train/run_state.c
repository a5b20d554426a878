// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// run_state.c: the state file and the checkpoints of a training run folder (run_state.h).
#include "train/run_state.h"

#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/safetensors.h"
#include "train/dist.h"
#include "train/run_log.h"

void sv_run_path(char *buf, size_t n, const char *dir, const char *name) { snprintf(buf, n, "%s/%s", dir, name); }

int sv_run_read_state(const sv_step *st, sv_run *r, uint64_t *dstate, int *ndstate, sv_err *e) {
    char p[4096];
    sv_run_path(p, sizeof p, r->o->out, "state.safetensors");
    sv_tensor_set s = {0};
    if (sv_safetensors_read(p, &s, e)) return sv_errprefix(e, "--resume");
    int rc = sv_tensor_set_check_finite(&s, p, e);  // the optimiser's moments and the hooks' state too
    const char *meta = rc ? NULL : sv_tensor_set_get_meta(&s, st->ns);
    if (!rc && !(r->saved = meta ? cJSON_Parse(meta) : NULL)) rc = sv_errf(e, "%s: not a slimvsr %s state", p, st->what);
    if (!rc) {
        *ndstate = sv_json_u64_array(r->saved, "data_state", dstate, SV_DATA_STATE_WORDS);
        long ranks = 1;  // states written before data-parallel training: one rank
        if (sv_json_long(r->saved, "iter", 0, LONG_MAX, &r->iter, p, e) ||
            sv_json_long(r->saved, "ranks", 1, INT_MAX, &ranks, p, e))
            rc = -1;
        else if (sv_dist_check_ranks(p, ranks, e))
            rc = -1;
        else if (!cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(r->saved, "opts")))
            rc = sv_errf(e, "%s: no saved options", p);
    }
    if (!rc) rc = st->restore(st->ud, r, &s, r->saved, p, e);
    if (!rc) rc = sv_model_from_tensors(&r->m, &s, SV_LEAKY_SLOPE, p, e);
    sv_tensor_set_free(&s);
    return rc;
}

static int write_state(const sv_step *st, sv_run *r, sv_err *e) {
    sv_tensor_set s = {0};
    cJSON *j = cJSON_CreateObject();
    cJSON_AddNumberToObject(j, "iter", (double)r->iter);
    cJSON_AddNumberToObject(j, "ranks", r->ranks);
    int rc = sv_model_to_tensors(&r->m, &s, e);
    if (!rc) rc = st->save(st->ud, r, &s, j, e);
    if (!rc) {
        uint64_t ds[SV_DATA_STATE_WORDS];
        if (r->data) sv_json_add_u64_array(j, "data_state", ds, sv_dataset_state(r->data, ds, SV_DATA_STATE_WORDS));
        cJSON_AddItemToObject(j, "opts", st->opts_json(st->ud));
        char *txt = cJSON_PrintUnformatted(j);
        rc = txt ? sv_tensor_set_set_meta(&s, st->ns, txt, e) : sv_errf(e, "out of memory");
        free(txt);
    }
    cJSON_Delete(j);
    char p[4096];
    sv_run_path(p, sizeof p, r->o->out, "state.safetensors");
    if (!rc) rc = sv_safetensors_write(p, &s, e);
    sv_tensor_set_free(&s);
    return rc;
}

int sv_run_checkpoint(const sv_step *st, sv_run *r, sv_err *e) {
    char p[4096];
    sv_run_path(p, sizeof p, r->o->out, "model.safetensors");
    if (st->write_model(st->ud, r, p, e)) return -1;
    return write_state(st, r, e);
}

void sv_run_remove_temporaries(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_name[0] != '.' || !strstr(de->d_name, ".tmp-")) continue;
        char p[4096];
        if (snprintf(p, sizeof p, "%s/%s", dir, de->d_name) < (int)sizeof p) remove(p);
    }
    closedir(d);
}
