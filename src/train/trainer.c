// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// trainer.c: `slimvsr train` as a step of the training loop (see trainer.h, loop.h): BasicVSR's
// Charbonnier loss through the training graph, Adam with SPyNet as its own group, the EMA, validation,
// and the hooks that make prune's phases of it. The plan and memory estimate are in trainer_plan.c.
#include "train/trainer.h"

#include <limits.h>
#include <sys/stat.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/memory.h"
#include "io/safetensors.h"
#include "train/degrade.h"
#include "pipeline/eval.h"
#include "train/optim.h"
#include "train/run_log.h"
#include "train/trainer_step.h"

void sv_train_opts_default(sv_train_opts *o) {
    memset(o, 0, sizeof *o);
    sv_run_opts_default(&o->run, 2e-4, 1e-7, 4, 7);
    o->spynet_lr_mult = 0.125;
    o->val_every = 500;
    o->val_y = 1;
}

#define F(member, type, lo, hi) SV_OPT_FIELD(sv_train_opts, member, SV_OPT_##type, lo, hi)
static const sv_opt_field k_fields[] = {
    F(spynet_freeze, LONG, 0, LONG_MAX), F(spynet_lr_mult, DOUBLE, 0, 0),
    F(ema, DOUBLE, 0, 0), F(val_every, LONG, 0, LONG_MAX),
    F(val_frames, INT, 0, INT_MAX), F(val_y, INT, 0, 1),
    F(recompute, INT, 0, INT_MAX),
};
#undef F
#define N_FIELDS ((int)(sizeof k_fields / sizeof *k_fields))

cJSON *sv_train_opts_to_json(const sv_train_opts *o) {
    cJSON *j = cJSON_CreateObject();
    sv_run_opts_to_json(j, &o->run);
    if (o->val) cJSON_AddStringToObject(j, "val", o->val);
    sv_opt_fields_to_json(j, o, k_fields, N_FIELDS);
    return j;
}

int sv_train_opts_from_json(sv_train_opts *o, const cJSON *j, const char *what, sv_err *e) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, "val");
    o->val = cJSON_IsString(v) ? v->valuestring : NULL;
    if (sv_run_opts_from_json(&o->run, j, what, e)) return -1;
    return sv_opt_fields_from_json(o, j, k_fields, N_FIELDS, what, e);
}

// ---- the step ----
static int vsr_restore(void *ud, sv_run *r, sv_tensor_set *s, const cJSON *meta, const char *path, sv_err *e) {
    sv_vsr_step *v = ud;
    const sv_train_hooks *h = v->o.hooks;
    v->adam_m = sv_tensor_set_take(s, "train.adam_m", &v->saved_n[0]);
    v->adam_v = sv_tensor_set_take(s, "train.adam_v", &v->saved_n[1]);
    v->ema = sv_tensor_set_take(s, "train.ema", &v->saved_n[2]);
    if (!v->adam_m || !v->adam_v) return sv_errf(e, "%s: not a slimvsr training state (no optimiser state)", path);
    if (h && h->state_ns && sv_tensor_set_move_ns(s, h->state_ns, &v->hook_state, e)) return -1;
    v->best_psnr = sv_json_num(meta, "best_psnr", -INFINITY);
    v->best_ssim = sv_json_num(meta, "best_ssim", 0);
    if (sv_json_long(meta, "step_main", 0, LONG_MAX, &v->step_main, path, e) ||
        sv_json_long(meta, "step_spynet", 0, LONG_MAX, &v->step_spy, path, e) ||
        sv_json_long(meta, "best_iter", 0, LONG_MAX, &v->best_iter, path, e))
        return -1;
    return sv_train_opts_from_json(&v->o, cJSON_GetObjectItemCaseSensitive(meta, "opts"), path, e);
}

static int vsr_begin(void *ud, sv_run *r, int resumed, sv_err *e) {
    sv_vsr_step *v = ud;
    const sv_train_hooks *h = v->o.hooks;
    v->n = r->m.nparams;
    sv_model_param_count(&r->m, &v->nspy);
    if (resumed && ((size_t)v->saved_n[0] != v->n || (size_t)v->saved_n[1] != v->n || (v->ema && (size_t)v->saved_n[2] != v->n)))
        return sv_errf(e, "%s/state.safetensors: optimiser state does not match the model's %zu parameters", r->o->out,
                       v->n);
    if (h && h->begin && h->begin(h->ud, &r->m, resumed ? &v->hook_state : NULL, &v->graph, e))
        return resumed ? sv_errprefix(e, "%s/state.safetensors", r->o->out) : -1;
    return 0;
}

static int is_dir(const char *p) {
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

// --val DIR: DIR/GT with DIR/BIx4 (BI) or DIR/BDx4 (BD) or DIR/LR.
static int vsr_open_inputs(void *ud, sv_run *r, sv_err *e) {
    sv_vsr_step *v = ud;
    const char *dir = v->o.val;
    if (!dir) return 0;
    sv_run_path(v->val_gt, sizeof v->val_gt, dir, "GT");
    if (!is_dir(dir)) return sv_errf(e, "%s: validation folder not found", dir);
    if (!is_dir(v->val_gt)) return sv_errf(e, "%s: no GT/ folder for validation", dir);
    const char *cands[2] = {v->o.run.degradation == SV_DEG_BD ? "BDx4" : "BIx4", "LR"};
    for (int i = 0; i < 2; i++) {
        sv_run_path(v->val_lr, sizeof v->val_lr, dir, cands[i]);
        if (is_dir(v->val_lr)) return 0;
    }
    return sv_errf(e, "%s: no %s/ or LR/ folder beside GT/ for validation", dir, cands[0]);
}

static int vsr_prepare(void *ud, sv_run *r, sv_err *e) {
    sv_vsr_step *v = ud;
    const sv_run_opts *o = &v->o.run;
    if (sv_vsr_check_memory(v, r, e)) return -1;
    sv_net_cfg c = {.batch = o->batch, .seq = o->seq, .h = o->patch, .w = o->patch, .recompute = v->o.recompute};
    if (!(v->net = sv_trainnet_create(v->graph ? v->graph : &r->m, &c, e))) return -1;
    if (!(v->grads = sv_calloc(v->n, sizeof(float), e))) return -1;
    if (!v->adam_m && (!(v->adam_m = sv_calloc(v->n, sizeof(float), e)) || !(v->adam_v = sv_calloc(v->n, sizeof(float), e))))
        return -1;
    if (v->o.ema > 0 && !v->ema) {
        if (!(v->ema = sv_malloc(v->n * sizeof(float), e))) return -1;
        memcpy(v->ema, r->m.params, v->n * sizeof(float));
    }
    sv_run_say(o, SV_MSG_INFO, "memory: %.1f MB of activations and buffers", sv_trainnet_bytes(v->net) / 1048576.0);
    return 0;
}

static int vsr_compute(void *ud, sv_run *r, double lr, double *loss, double *terms, sv_err *e) {
    sv_vsr_step *v = ud;
    const sv_train_hooks *h = v->o.hooks;
    v->spy_on = r->iter >= v->o.spynet_freeze && sv_uses_spynet(&r->m);  // zero flow: SPyNet is unused
    memset(v->grads, 0, v->n * sizeof(float));
    if ((h && h->before_step && h->before_step(h->ud, r->iter, r->lr_buf, v->net, e)) ||
        sv_trainnet_step(v->net, r->lr_buf, r->gt_buf, v->grads, v->spy_on, loss, e))
        return -1;
    if (h && h->after_backward && h->after_backward(h->ud, v->grads, e)) return -1;
    if (h && h->term_values) h->term_values(h->ud, terms);
    return 0;
}

static float *vsr_gradient(void *ud, size_t *n) {
    sv_vsr_step *v = ud;
    *n = v->n;
    return v->grads;
}

static float *vsr_extra(void *ud, float **grad, size_t *n) {
    const sv_train_hooks *h = ((sv_vsr_step *)ud)->o.hooks;
    *n = 0;
    return h && h->trained ? h->trained(h->ud, grad, n) : NULL;
}

static size_t first_nonfinite(const float *x, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (!isfinite(x[i])) return i;
    return n;
}

static int vsr_update(void *ud, sv_run *r, double lr, sv_err *e) {
    sv_vsr_step *v = ud;
    const size_t bad = first_nonfinite(v->grads, v->n);
    if (bad < v->n)  // an overflow in backward: Adam would spread it to every weight
        return sv_errf(e, "iteration %ld: the gradient of parameter %zu is %g (diverged); lower --lr or resume from "
                          "the last checkpoint", r->iter + 1, bad, v->grads[bad]);
    const sv_train_hooks *h = v->o.hooks;
    if (h && h->update) h->update(h->ud, lr);
    // SPyNet is the first nspy parameters of the block: its own group, step count and learning rate
    const float b1 = SV_ADAM_B1, b2 = SV_ADAM_B2, eps = SV_ADAM_EPS;
    const size_t ns = v->nspy;
    v->step_main++;
    sv_adam_step(r->m.params + ns, v->grads + ns, v->adam_m + ns, v->adam_v + ns, v->n - ns, (float)lr, b1, b2, eps,
                 v->step_main);
    if (v->spy_on) {
        v->step_spy++;
        sv_adam_step(r->m.params, v->grads, v->adam_m, v->adam_v, ns, (float)(lr * v->o.spynet_lr_mult), b1, b2, eps,
                     v->step_spy);
    }
    if (v->ema) sv_ema_update(v->ema, r->m.params, v->n, (float)v->o.ema);
    return 0;
}

static void vsr_log(void *ud, sv_run *r, double lr, const double *mean, cJSON *j, char *txt, size_t ntxt) {
    sv_vsr_step *v = ud;
    cJSON_AddNumberToObject(j, "lr_spynet", v->spy_on ? lr * v->o.spynet_lr_mult : 0.0);
    if (v->o.hooks && v->o.hooks->log) v->o.hooks->log(v->o.hooks->ud, j);
}

// The weights that validation and the model files use (the EMA weights when on, through the hooks'
// export) go into m->params for a while; *keep holds the training weights until export_end.
static int export_begin(sv_vsr_step *v, sv_model *m, float **keep, sv_err *e) {
    const sv_train_hooks *h = v->o.hooks;
    const int hook = h && h->export_weights;
    *keep = NULL;
    if (!v->ema && !hook) return 0;
    if (!(*keep = sv_malloc(v->n * sizeof(float), e))) return -1;
    memcpy(*keep, m->params, v->n * sizeof(float));
    if (v->ema) memcpy(m->params, v->ema, v->n * sizeof(float));
    if (hook && h->export_weights(h->ud, m, e)) {
        memcpy(m->params, *keep, v->n * sizeof(float));
        free(*keep);
        return -1;
    }
    return 0;
}

static void export_end(sv_vsr_step *v, sv_model *m, float *keep) {
    if (!keep) return;
    memcpy(m->params, keep, v->n * sizeof(float));
    free(keep);
}

// Writes the exported weights to path, atomically.
static int vsr_write_model(void *ud, sv_run *r, const char *path, sv_err *e) {
    float *keep;
    if (export_begin(ud, &r->m, &keep, e)) return -1;
    int rc = sv_model_save(&r->m, path, e);
    export_end(ud, &r->m, keep);
    return rc;
}

static int vsr_validate(void *ud, sv_run *r, cJSON *j, char *txt, size_t ntxt, sv_train_result *res, sv_err *e) {
    sv_vsr_step *v = ud;
    if (!v->o.val) return 0;
    float *keep;
    if (export_begin(v, &r->m, &keep, e)) return -1;
    sv_eval_opts eo;
    sv_eval_opts_default(&eo);
    eo.y_only = v->o.val_y;
    eo.max_frames = v->o.val_frames;
    sv_eval_result *per = NULL, mean;
    int nclips = 0;
    int rc = sv_eval_dirs(&r->m, v->val_lr, v->val_gt, &eo, &per, &nclips, &mean, e);
    free(per);
    export_end(v, &r->m, keep);
    if (rc) return -1;
    cJSON_AddNumberToObject(j, "val_psnr", mean.psnr);
    cJSON_AddNumberToObject(j, "val_ssim", mean.ssim);
    snprintf(txt, ntxt, "  val %.3f dB / %.4f", mean.psnr, mean.ssim);
    if (res) res->val_psnr = mean.psnr, res->val_ssim = mean.ssim;
    if (!(mean.psnr > v->best_psnr)) return 0;
    v->best_psnr = mean.psnr;
    v->best_ssim = mean.ssim;
    v->best_iter = r->iter;
    char bp[4096];
    sv_run_path(bp, sizeof bp, r->o->out, "best.safetensors");
    return vsr_write_model(v, r, bp, e);
}

static int vsr_save(void *ud, sv_run *r, sv_tensor_set *s, cJSON *j, sv_err *e) {
    sv_vsr_step *v = ud;
    if (sv_tensor_set_add_flat(s, "train.adam_m", v->adam_m, v->n, e) ||
        sv_tensor_set_add_flat(s, "train.adam_v", v->adam_v, v->n, e) ||
        (v->ema && sv_tensor_set_add_flat(s, "train.ema", v->ema, v->n, e)))
        return -1;
    cJSON_AddNumberToObject(j, "step_main", (double)v->step_main);
    cJSON_AddNumberToObject(j, "step_spynet", (double)v->step_spy);
    cJSON_AddNumberToObject(j, "best_iter", (double)v->best_iter);
    if (v->best_iter > 0) {
        cJSON_AddNumberToObject(j, "best_psnr", v->best_psnr);
        cJSON_AddNumberToObject(j, "best_ssim", v->best_ssim);
    }
    const sv_train_hooks *h = v->o.hooks;
    return h && h->save ? h->save(h->ud, s, e) : 0;
}

static cJSON *vsr_opts_json(void *ud) { return sv_train_opts_to_json(&((sv_vsr_step *)ud)->o); }

static void vsr_finish(void *ud, sv_run *r) {
    sv_vsr_step *v = ud;
    if (v->best_iter > 0)
        sv_run_say(r->o, SV_MSG_INFO, "best validation: %.3f dB / %.4f at iteration %ld", v->best_psnr, v->best_ssim,
                   v->best_iter);
}

static void vsr_end(void *ud) {
    sv_vsr_step *v = ud;
    sv_trainnet_free(v->net);
    free(v->grads), free(v->adam_m), free(v->adam_v), free(v->ema);
    sv_tensor_set_free(&v->hook_state);
}

int sv_train(const sv_train_opts *opts, sv_train_result *res, sv_err *e) {
    sv_vsr_step v = {.o = *opts, .best_psnr = -INFINITY};
    const sv_train_hooks *h = opts->hooks;
    const sv_step st = {.ud = &v, .ns = "train", .what = "training", .terms = h ? h->terms : NULL,
                        .nterms = h ? h->nterms : 0, .ckpt_every = &v.o.val_every,
                        .ckpt_opt = "val-every", .extra_input = &v.o.val, .extra_input_opt = "--val",
                        .restore = vsr_restore, .begin = vsr_begin, .plan = sv_vsr_plan, .dry_run = sv_vsr_dry_run,
                        .open_inputs = vsr_open_inputs, .prepare = vsr_prepare, .compute = vsr_compute,
                        .update = vsr_update, .gradient = vsr_gradient, .extra = vsr_extra, .log = vsr_log,
                        .validate = vsr_validate, .write_model = vsr_write_model,
                        .save = vsr_save, .opts_json = vsr_opts_json, .finish = vsr_finish, .end = vsr_end};
    return sv_run_loop(&st, &v.o.run, &opts->run, res, e);
}

int sv_train_state_model(const char *run_dir, sv_model *m, const char *ns, sv_tensor_set *ns_state, sv_err *e) {
    char p[4096];
    sv_run_path(p, sizeof p, run_dir, "state.safetensors");
    sv_tensor_set s = {0}, tr = {0};
    if (sv_safetensors_read(p, &s, e)) return -1;
    int rc = sv_tensor_set_move_ns(&s, "train", &tr, e);  // Adam, EMA: not the model's
    if (!rc && ns) rc = sv_tensor_set_move_ns(&s, ns, ns_state, e);
    if (!rc) rc = sv_model_from_tensors(m, &s, SV_LEAKY_SLOPE, p, e);
    sv_tensor_set_free(&tr);
    sv_tensor_set_free(&s);
    return rc;
}
