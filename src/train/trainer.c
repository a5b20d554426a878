// trainer.c: the training loop, checkpoints and resume of `slimvsr train` (see trainer.h).
#include "train/trainer.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/memory.h"
#include "core/progress.h"
#include "io/frames.h"
#include "io/safetensors.h"
#include "model/basicvsr.h"
#include "train/dataset.h"
#include "train/eval.h"
#include "train/model_init.h"
#include "train/net.h"
#include "train/optim.h"
#include "train/run_lock.h"
#include "train/run_log.h"

void sv_train_opts_default(sv_train_opts *o) {
    memset(o, 0, sizeof *o);
    o->feat = 64;
    o->blocks = 30;
    o->act_slope = 0.1f;
    o->iters = 1000;
    o->lr = 2e-4;
    o->lr_min = 1e-7;
    o->batch = 4;
    o->seq = 7;
    o->patch = 64;
    o->degradation = SV_DEG_BI;
    o->spynet_freeze = 0;
    o->spynet_lr_mult = 0.125;
    o->val_every = 500;
    o->log_every = 10;
    o->val_y = 1;
}

// ---- options <-> JSON (saved in the state so that --resume continues the same run) ----
cJSON *sv_train_opts_to_json(const sv_train_opts *o) {
    cJSON *j = cJSON_CreateObject(), *d = cJSON_AddArrayToObject(j, "data");
    for (int i = 0; i < o->ndata; i++) cJSON_AddItemToArray(d, cJSON_CreateString(o->data[i]));
    if (o->val) cJSON_AddStringToObject(j, "val", o->val);
    cJSON_AddNumberToObject(j, "iters", (double)o->iters);
    cJSON_AddNumberToObject(j, "lr", o->lr);
    cJSON_AddNumberToObject(j, "lr_min", o->lr_min);
    cJSON_AddNumberToObject(j, "batch", o->batch);
    cJSON_AddNumberToObject(j, "seq", o->seq);
    cJSON_AddNumberToObject(j, "patch", o->patch);
    cJSON_AddStringToObject(j, "degradation", o->degradation == SV_DEG_BD ? "bd" : "bi");
    cJSON_AddNumberToObject(j, "spynet_freeze", (double)o->spynet_freeze);
    cJSON_AddNumberToObject(j, "spynet_lr_mult", o->spynet_lr_mult);
    cJSON_AddNumberToObject(j, "ema", o->ema);
    cJSON_AddNumberToObject(j, "val_every", (double)o->val_every);
    cJSON_AddNumberToObject(j, "log_every", (double)o->log_every);
    cJSON_AddNumberToObject(j, "val_frames", o->val_frames);
    cJSON_AddNumberToObject(j, "val_y", o->val_y);
    cJSON_AddNumberToObject(j, "recompute", o->recompute);
    sv_json_add_u64(j, "seed", o->seed);
    return j;
}

int sv_train_opts_from_json(sv_train_opts *o, const cJSON *j, const char *what, sv_err *e) {
    const cJSON *d = cJSON_GetObjectItemCaseSensitive(j, "data"), *it;
    o->ndata = 0;
    cJSON_ArrayForEach(it, d) {
        if (!cJSON_IsString(it) || o->ndata == SV_TRAIN_MAX_DATA) return sv_errf(e, "%s: bad saved data list", what);
        o->data[o->ndata++] = it->valuestring;
    }
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, "val");
    o->val = cJSON_IsString(v) ? v->valuestring : NULL;
    o->lr = sv_json_num(j, "lr", o->lr);
    o->lr_min = sv_json_num(j, "lr_min", o->lr_min);
    const cJSON *dg = cJSON_GetObjectItemCaseSensitive(j, "degradation");
    o->degradation = cJSON_IsString(dg) && !strcmp(dg->valuestring, "bd") ? SV_DEG_BD : SV_DEG_BI;
    o->spynet_lr_mult = sv_json_num(j, "spynet_lr_mult", o->spynet_lr_mult);
    o->ema = sv_json_num(j, "ema", o->ema);
    o->seed = sv_json_u64(j, "seed", o->seed);
    // the integers: whole and in range here, their meaning checked where the run starts (sv_train)
    if (sv_json_long(j, "iters", 0, LONG_MAX, &o->iters, what, e) ||
        sv_json_int(j, "batch", 0, INT_MAX, &o->batch, what, e) || sv_json_int(j, "seq", 0, INT_MAX, &o->seq, what, e) ||
        sv_json_int(j, "patch", 0, INT_MAX, &o->patch, what, e) ||
        sv_json_long(j, "spynet_freeze", 0, LONG_MAX, &o->spynet_freeze, what, e) ||
        sv_json_long(j, "val_every", 0, LONG_MAX, &o->val_every, what, e) ||
        sv_json_long(j, "log_every", 0, LONG_MAX, &o->log_every, what, e) ||
        sv_json_int(j, "val_frames", 0, INT_MAX, &o->val_frames, what, e) ||
        sv_json_int(j, "val_y", 0, 1, &o->val_y, what, e) ||
        sv_json_int(j, "recompute", 0, INT_MAX, &o->recompute, what, e))
        return -1;
    return 0;
}

// ---- the run ----
typedef struct {
    sv_train_opts o;
    sv_model m;
    sv_model *graph;              // the model the training graph runs on (hooks; default &m)
    size_t n, nspy;               // parameters, SPyNet's share (the first nspy of the block)
    float *grads, *adam_m, *adam_v, *ema;
    long iter, step_main, step_spy, best_iter;
    double best_psnr, best_ssim;
    sv_dataset *data;
    sv_trainnet *net;
    float *lr_buf, *gt_buf;
    char val_lr[4096], val_gt[4096];
    cJSON *saved_opts;            // on resume: the options' JSON (o's strings point into it)
    char *abs_paths[SV_TRAIN_MAX_DATA + 1];  // --data and --val made absolute (a resume may start elsewhere)
    sv_run_lock lock;             // the run folder's, for the run's life
} run;

static void path_in(char *buf, size_t n, const char *dir, const char *name) { snprintf(buf, n, "%s/%s", dir, name); }

static int is_dir(const char *p) {
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

// --val DIR: DIR/GT with DIR/BIx4 (BI) or DIR/BDx4 (BD) or DIR/LR.
static int find_val(run *r, sv_err *e) {
    const char *v = r->o.val;
    path_in(r->val_gt, sizeof r->val_gt, v, "GT");
    if (!is_dir(v)) return sv_errf(e, "%s: validation folder not found", v);
    if (!is_dir(r->val_gt)) return sv_errf(e, "%s: no GT/ folder for validation", v);
    const char *cands[2] = {r->o.degradation == SV_DEG_BD ? "BDx4" : "BIx4", "LR"};
    for (int i = 0; i < 2; i++) {
        path_in(r->val_lr, sizeof r->val_lr, v, cands[i]);
        if (is_dir(r->val_lr)) return 0;
    }
    return sv_errf(e, "%s: no %s/ or LR/ folder beside GT/ for validation", v, cands[0]);
}

// The weights that validation and the model files use (the EMA weights when on, through the hooks'
// export) go into r->m.params for a while; *keep holds the training weights until export_end.
static int export_begin(run *r, float **keep, sv_err *e) {
    const sv_train_hooks *h = r->o.hooks;
    const int hook = h && h->export_weights;
    *keep = NULL;
    if (!r->ema && !hook) return 0;
    if (!(*keep = sv_malloc(r->n * sizeof(float), e))) return -1;
    memcpy(*keep, r->m.params, r->n * sizeof(float));
    if (r->ema) memcpy(r->m.params, r->ema, r->n * sizeof(float));
    if (hook && h->export_weights(h->ud, &r->m, e)) {
        memcpy(r->m.params, *keep, r->n * sizeof(float));
        free(*keep);
        return -1;
    }
    return 0;
}

static void export_end(run *r, float *keep) {
    if (!keep) return;
    memcpy(r->m.params, keep, r->n * sizeof(float));
    free(keep);
}

// Writes the exported weights to path, atomically.
static int write_model(run *r, const char *path, sv_err *e) {
    float *keep;
    if (export_begin(r, &keep, e)) return -1;
    int rc = sv_model_save(&r->m, path, e);
    export_end(r, keep);
    return rc;
}

static int write_state(run *r, sv_err *e) {
    sv_tensor_set s = {0};
    int rc = sv_model_to_tensors(&r->m, &s, e);
    if (!rc) rc = sv_tensor_set_add_flat(&s, "train.adam_m", r->adam_m, r->n, e);
    if (!rc) rc = sv_tensor_set_add_flat(&s, "train.adam_v", r->adam_v, r->n, e);
    if (!rc && r->ema) rc = sv_tensor_set_add_flat(&s, "train.ema", r->ema, r->n, e);
    if (!rc) {
        cJSON *j = cJSON_CreateObject();
        cJSON_AddNumberToObject(j, "iter", (double)r->iter);
        cJSON_AddNumberToObject(j, "step_main", (double)r->step_main);
        cJSON_AddNumberToObject(j, "step_spynet", (double)r->step_spy);
        cJSON_AddNumberToObject(j, "best_iter", (double)r->best_iter);
        if (r->best_iter > 0) {
            cJSON_AddNumberToObject(j, "best_psnr", r->best_psnr);
            cJSON_AddNumberToObject(j, "best_ssim", r->best_ssim);
        }
        uint64_t st[SV_DATA_STATE_WORDS];
        sv_json_add_u64_array(j, "data_state", st, sv_dataset_state(r->data, st, SV_DATA_STATE_WORDS));
        cJSON_AddItemToObject(j, "opts", sv_train_opts_to_json(&r->o));
        char *txt = cJSON_PrintUnformatted(j);
        cJSON_Delete(j);
        rc = txt ? sv_tensor_set_set_meta(&s, "train", txt, e) : sv_errf(e, "out of memory");
        free(txt);
    }
    if (!rc && r->o.hooks && r->o.hooks->save) rc = r->o.hooks->save(r->o.hooks->ud, &s, e);
    char p[4096];
    path_in(p, sizeof p, r->o.out, "state.safetensors");
    if (!rc) rc = sv_safetensors_write(p, &s, e);
    sv_tensor_set_free(&s);
    return rc;
}

// Reads RUN_DIR/state.safetensors: model, optimiser, counters, sampler position, options.
static int read_state(run *r, uint64_t *data_state, int *ndata_state, sv_err *e) {
    char p[4096];
    path_in(p, sizeof p, r->o.out, "state.safetensors");
    sv_tensor_set s = {0};
    if (sv_safetensors_read(p, &s, e)) return sv_errprefix(e, "--resume");
    if (sv_tensor_set_check_finite(&s, p, e)) {  // the optimiser's moments and the hooks' state too
        sv_tensor_set_free(&s);
        return -1;
    }
    int64_t nm = 0, nv = 0, ne = 0;
    float *am = sv_tensor_set_take(&s, "train.adam_m", &nm), *av = sv_tensor_set_take(&s, "train.adam_v", &nv);
    float *em = sv_tensor_set_take(&s, "train.ema", &ne);
    const char *meta = sv_tensor_set_get_meta(&s, "train");
    cJSON *j = meta ? cJSON_Parse(meta) : NULL;
    int rc = 0;
    const sv_train_hooks *h = r->o.hooks;
    sv_tensor_set hs = {0};  // the hooks' own tensors
    if (!am || !av || !j) rc = sv_errf(e, "%s: not a slimvsr training state (no optimiser state)", p);
    if (!rc && h && h->state_ns) rc = sv_tensor_set_move_ns(&s, h->state_ns, &hs, e);
    if (!rc) rc = sv_model_from_tensors(&r->m, &s, 0.1f, p, e);
    if (!rc && ((size_t)nm != r->m.nparams || (size_t)nv != r->m.nparams || (em && (size_t)ne != r->m.nparams)))
        rc = sv_errf(e, "%s: optimiser state does not match the model's %zu parameters", p, r->m.nparams);
    if (!rc) {
        r->best_psnr = sv_json_num(j, "best_psnr", -INFINITY);
        r->best_ssim = sv_json_num(j, "best_ssim", 0);
        *ndata_state = sv_json_u64_array(j, "data_state", data_state, SV_DATA_STATE_WORDS);
        const cJSON *oj = cJSON_GetObjectItemCaseSensitive(j, "opts");
        r->saved_opts = cJSON_Duplicate(oj, 1);
        if (sv_json_long(j, "iter", 0, LONG_MAX, &r->iter, p, e) ||
            sv_json_long(j, "step_main", 0, LONG_MAX, &r->step_main, p, e) ||
            sv_json_long(j, "step_spynet", 0, LONG_MAX, &r->step_spy, p, e) ||
            sv_json_long(j, "best_iter", 0, LONG_MAX, &r->best_iter, p, e))
            rc = -1;
        else if (!r->saved_opts) rc = sv_errf(e, "%s: no saved options", p);
        else rc = sv_train_opts_from_json(&r->o, r->saved_opts, p, e);
    }
    if (!rc && h && h->begin && h->begin(h->ud, &r->m, &hs, &r->graph, e)) rc = sv_errprefix(e, "%s", p);
    sv_tensor_set_free(&hs);
    if (!rc) {
        r->adam_m = am, r->adam_v = av, r->ema = em;
        am = av = em = NULL;
    }
    free(am), free(av), free(em);
    cJSON_Delete(j);
    sv_tensor_set_free(&s);
    return rc;
}

int sv_train_state_model(const char *run_dir, sv_model *m, const char *ns, sv_tensor_set *ns_state, sv_err *e) {
    char p[4096];
    path_in(p, sizeof p, run_dir, "state.safetensors");
    sv_tensor_set s = {0}, tr = {0};
    if (sv_safetensors_read(p, &s, e)) return -1;
    int rc = sv_tensor_set_move_ns(&s, "train", &tr, e);  // Adam, EMA: not the model's
    if (!rc && ns) rc = sv_tensor_set_move_ns(&s, ns, ns_state, e);
    if (!rc) rc = sv_model_from_tensors(m, &s, 0.1f, p, e);
    sv_tensor_set_free(&tr);
    sv_tensor_set_free(&s);
    return rc;
}

// A run killed while writing a checkpoint leaves its temporary (".NAME.tmp-PID-N", io/atomic_file.c)
// beside the files; the final names are intact. A resumed run removes such leftovers.
static void remove_stale_temporaries(const char *dir) {
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

static int log_line(run *r, cJSON *j, sv_err *e) {
    char p[4096];
    path_in(p, sizeof p, r->o.out, "log.jsonl");
    return sv_log_append(p, j, e);
}

static int validate(run *r, double *psnr, double *ssim, sv_err *e) {
    float *keep;
    if (export_begin(r, &keep, e)) return -1;
    sv_eval_opts eo;
    sv_eval_opts_default(&eo);
    eo.y_only = r->o.val_y;
    eo.max_frames = r->o.val_frames;
    eo.quiet = 1;
    sv_eval_result *per = NULL, mean;
    int nclips = 0;
    int rc = sv_eval_dirs(&r->m, r->val_lr, r->val_gt, &eo, &per, &nclips, &mean, e);
    free(per);
    export_end(r, keep);
    if (!rc) *psnr = mean.psnr, *ssim = mean.ssim;
    return rc;
}

static int checkpoint(run *r, sv_err *e) {
    char p[4096];
    path_in(p, sizeof p, r->o.out, "model.safetensors");
    if (write_model(r, p, e)) return -1;
    return write_state(r, e);
}

static size_t first_nonfinite(const float *x, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (!isfinite(x[i])) return i;
    return n;
}

static volatile sig_atomic_t g_stop;
static void on_signal(int sig) {
    g_stop = 1;
    signal(sig, SIG_DFL);  // a second Ctrl-C stops at once (the last checkpoint stays)
}

static void print_plan(run *r, FILE *f) {
    size_t spy;
    sv_model_param_count(&r->m, &spy);
    fprintf(f, "model: %d features, %d blocks, %s, %zu parameters (%zu without SPyNet)\n", r->m.num_feat,
            r->m.num_block, r->m.act_slope > 0 ? "LeakyReLU 0.1" : "ReLU", r->m.nparams, r->m.nparams - spy);
    fprintf(f, "steps: %ld iterations of %d clips x %d frames, LR patch %d (GT %d), lr %.3g -> %.3g cosine, "
               "SPyNet frozen for %ld then lr x %.3g%s\n",
            r->o.iters, r->o.batch, r->o.seq, r->o.patch, 4 * r->o.patch, r->o.lr, r->o.lr_min, r->o.spynet_freeze,
            r->o.spynet_lr_mult, r->o.ema > 0 ? ", EMA on" : "");
}

// Bytes a run holds besides its graph: weights, gradients, Adam's two moments, the EMA, one batch (LR + GT)
static size_t run_fixed_bytes(const run *r) {
    return r->m.nparams * sizeof(float) * (4 + (r->o.ema > 0)) +
           (size_t)r->o.batch * r->o.seq * 3 * 17 * r->o.patch * r->o.patch * sizeof(float);
}

// What the run needs with --recompute k: its graph (sv_trainnet_estimate) and run_fixed_bytes
static size_t run_bytes(const run *r, int k) {
    const sv_net_cfg c = {.batch = r->o.batch, .seq = r->o.seq, .h = r->o.patch, .w = r->o.patch, .recompute = k};
    return sv_trainnet_estimate(r->graph ? r->graph : &r->m, &c) + run_fixed_bytes(r);
}

static void print_memory(run *r, FILE *f) {
    fprintf(f, "memory (activations + buffers, plus %.1f MB of weights, gradients, Adam, batch):\n",
            run_fixed_bytes(r) / 1048576.0);
    int ks[] = {0, 1, 2, 3, 5, 10};
    for (size_t i = 0; i < sizeof ks / sizeof *ks; i++) {
        if (ks[i] > r->m.num_block) break;
        fprintf(f, "  --recompute %-2d %8.1f MB%s\n", ks[i], run_bytes(r, ks[i]) / 1048576.0,
                ks[i] == 0 ? "  (keep everything)" : "");
    }
}

// --dry-run's estimate made automatic: a run that does not fit in the memory available (core/memory.h) is
// refused before its graph is allocated, naming the options that change it and a --recompute that fits.
static int check_memory(const run *r, sv_err *e) {
    const sv_mem_avail av = sv_mem_available();
    const size_t need = run_bytes(r, r->o.recompute);
    if (need <= av.bytes) return 0;
    char x[32], y[128], z[32], alt[80] = "";
    for (int k = 1; k <= r->m.num_block && !alt[0]; k++) {
        const size_t b = run_bytes(r, k);
        if (k != r->o.recompute && b <= av.bytes)
            snprintf(alt, sizeof alt, "--recompute %d (about %s), or ", k, sv_mem_format(b, z, sizeof z));
    }
    return sv_errf(e, "%s: training needs about %s (--batch %d, --seq %d, --patch %d, --recompute %d); %s: use %sa "
                   "smaller --batch, --seq or --patch", r->o.out, sv_mem_format(need, x, sizeof x), r->o.batch,
                   r->o.seq, r->o.patch, r->o.recompute, sv_mem_describe(av, y, sizeof y), alt);
}

static void run_free(run *r) {
    sv_trainnet_free(r->net);
    sv_dataset_free(r->data);
    free(r->grads), free(r->adam_m), free(r->adam_v), free(r->ema), free(r->lr_buf), free(r->gt_buf);
    sv_model_free(&r->m);
    cJSON_Delete(r->saved_opts);
    for (int i = 0; i <= SV_TRAIN_MAX_DATA; i++) free(r->abs_paths[i]);
    sv_run_lock_release(&r->lock);
}

// --data and --val made absolute, so that the options saved for --resume work from any folder.
static int absolute_inputs(run *r, sv_err *e) {
    if (r->o.ndata < 1) return sv_errf(e, "no training data (--data)");
    for (int i = 0; i <= r->o.ndata; i++) {
        const char **p = i < r->o.ndata ? &r->o.data[i] : &r->o.val;
        if (!*p) continue;
        if (!(r->abs_paths[i] = realpath(*p, NULL)))
            return sv_errf(e, "%s %s: %s", i < r->o.ndata ? "--data" : "--val", *p, strerror(errno));
        *p = r->abs_paths[i];
    }
    return 0;
}

// The run folder's claim (sv_run_claim, train/run_lock.h) with this run's inputs: --data, --val, --init.
static int claim_run_folder(run *r, int create, sv_err *e) {
    const char *in[SV_TRAIN_MAX_DATA + 2];
    int n = 0;
    for (int i = 0; i < r->o.ndata; i++) in[n++] = r->o.data[i];
    in[n++] = r->o.val;
    in[n++] = r->o.init;
    return sv_run_claim(&r->lock, r->o.out, in, n, create, r->o.resume ? NULL : "state.safetensors", e);
}

int sv_train(const sv_train_opts *opts, sv_train_result *res, sv_err *e) {
    run R = {0}, *r = &R;
    const sv_train_hooks *h = opts->hooks;
    if (res) res->iter = 0, res->stopped = 0, res->val_psnr = res->val_ssim = NAN;
    r->o = *opts;
    r->best_psnr = -INFINITY;
    uint64_t dstate[SV_DATA_STATE_WORDS];
    int ndstate = 0, rc = -1;
    if (!r->o.out) return sv_errf(e, "no run folder (--out)");
    if (r->o.resume ? read_state(r, dstate, &ndstate, e) : absolute_inputs(r, e)) goto done;
    if (!r->o.dry_run && claim_run_folder(r, 0, e)) goto done;
    if (r->o.resume) {
        if (opts->iters > 0) {  // a new total: longer or shorter than the saved one (0: keep it)
            if (opts->iters < r->iter) {
                rc = sv_errf(e, "--iters %ld: the run in %s is at iteration %ld already", opts->iters, r->o.out,
                             r->iter);
                goto done;
            }
            r->o.iters = opts->iters;
        }
        r->o.resume = 1;
        r->o.quiet = opts->quiet;
        r->o.dry_run = opts->dry_run;
    } else {
        if (r->o.init) {
            if (sv_model_load(&r->m, r->o.init, -1, e)) goto done;
        } else if (sv_model_init_random(&r->m, r->o.feat, r->o.blocks, r->o.act_slope, r->o.seed, e)) {
            goto done;
        }
        if (h && h->begin && h->begin(h->ud, &r->m, NULL, &r->graph, e)) goto done;
    }
    r->n = r->m.nparams;
    sv_model_param_count(&r->m, &r->nspy);
    const int max_patch = SV_FRAME_MAX_SIDE / SV_DATA_SCALE;
    if (r->o.batch < 1 || r->o.seq < 2 || r->o.patch < 8 || r->o.patch > max_patch || r->o.iters < 1 ||
        r->o.val_every < 1 || r->o.log_every < 1) {
        rc = sv_errf(e, "invalid options: batch %d, seq %d (>= 2), patch %d (8..%d), iters %ld, val-every %ld, "
                        "log-every %ld", r->o.batch, r->o.seq, r->o.patch, max_patch, r->o.iters, r->o.val_every,
                     r->o.log_every);
        if (r->o.resume) sv_errprefix(e, "%s/state.safetensors", r->o.out);
        goto done;
    }
    FILE *info = r->o.quiet ? NULL : r->o.dry_run ? stdout : stderr;
    if (info) print_plan(r, info);
    if (r->o.dry_run) {
        print_memory(r, stdout);
        rc = 0;
        goto done;
    }
    if (r->o.val && find_val(r, e)) goto done;
    sv_data_opts dopt;
    sv_data_opts_default(&dopt);
    dopt.seq = r->o.seq;
    dopt.patch = r->o.patch;
    dopt.batch = r->o.batch;
    dopt.degradation = r->o.degradation;
    dopt.seed = r->o.seed;
    if (!(r->data = sv_dataset_open(r->o.data, r->o.ndata, &dopt, e))) goto done;
    if (ndstate && sv_dataset_restore(r->data, dstate, ndstate, e)) goto done;
    if (info) {
        char d[512];
        sv_dataset_describe(r->data, d, sizeof d);
        fprintf(info, "data: %s\n", d);
    }
    if (check_memory(r, e)) goto done;
    sv_net_cfg c = {.batch = r->o.batch, .seq = r->o.seq, .h = r->o.patch, .w = r->o.patch, .recompute = r->o.recompute};
    if (!(r->net = sv_trainnet_create(r->graph ? r->graph : &r->m, &c, e))) goto done;
    const size_t nlr = (size_t)r->o.batch * r->o.seq * 3 * r->o.patch * r->o.patch;
    if (!(r->grads = sv_calloc(r->n, sizeof(float), e)) || !(r->lr_buf = sv_malloc(nlr * sizeof(float), e)) ||
        !(r->gt_buf = sv_malloc(16 * nlr * sizeof(float), e)))
        goto done;
    if (!r->adam_m && (!(r->adam_m = sv_calloc(r->n, sizeof(float), e)) || !(r->adam_v = sv_calloc(r->n, sizeof(float), e))))
        goto done;
    if (r->o.ema > 0 && !r->ema) {
        if (!(r->ema = sv_malloc(r->n * sizeof(float), e))) goto done;
        memcpy(r->ema, r->m.params, r->n * sizeof(float));
    }
    // the run folder only now, so that a start that fails on its data or options leaves nothing behind
    if (claim_run_folder(r, 1, e)) goto done;
    char logp[4096];
    path_in(logp, sizeof logp, r->o.out, "log.jsonl");
    if (r->o.resume) {
        remove_stale_temporaries(r->o.out);
        if (sv_log_trim(logp, r->iter, e)) goto done;
        if (info) fprintf(info, "resuming %s at iteration %ld of %ld\n", r->o.out, r->iter, r->o.iters);
    } else {
        remove(logp);
    }
    if (info) fprintf(info, "memory: %.1f MB of activations and buffers\n", sv_trainnet_bytes(r->net) / 1048576.0);
    g_stop = 0;
    void (*old_int)(int) = signal(SIGINT, on_signal), (*old_term)(int) = signal(SIGTERM, on_signal);
    double t_start = sv_now(), t_log = t_start, loss_sum = 0;
    long loss_n = 0, it0 = r->iter;
    rc = 0;
    while (r->iter < r->o.iters && !rc) {
        const double lr = sv_cosine_lr(r->o.lr, r->o.lr_min, r->iter, r->o.iters);
        const int spy_on = r->iter >= r->o.spynet_freeze;
        double loss;
        memset(r->grads, 0, r->n * sizeof(float));
        if (sv_dataset_next(r->data, r->lr_buf, r->gt_buf, e) ||
            (h && h->before_step && h->before_step(h->ud, r->iter, r->lr_buf, r->net, e)) ||
            sv_trainnet_step(r->net, r->lr_buf, r->gt_buf, r->grads, spy_on, &loss, e) ||
            (h && h->after_backward && h->after_backward(h->ud, r->grads, lr, e))) {
            rc = -1;
            break;
        }
        if (!isfinite(loss)) {
            rc = sv_errf(e, "iteration %ld: the loss is %g (diverged); lower --lr or resume from the last checkpoint",
                         r->iter + 1, loss);
            break;
        }
        const size_t bad = first_nonfinite(r->grads, r->n);
        if (bad < r->n) {  // an overflow in backward: Adam would spread it to every weight
            rc = sv_errf(e, "iteration %ld: the gradient of parameter %zu is %g (diverged); lower --lr or resume from "
                            "the last checkpoint", r->iter + 1, bad, r->grads[bad]);
            break;
        }
        // SPyNet is the first nspy parameters of the block: its own group, step count and learning rate
        const float b1 = 0.9f, b2 = 0.99f, eps = 1e-8f;
        r->step_main++;
        sv_adam_step(r->m.params + r->nspy, r->grads + r->nspy, r->adam_m + r->nspy, r->adam_v + r->nspy,
                     r->n - r->nspy, (float)lr, b1, b2, eps, r->step_main);
        if (spy_on) {
            r->step_spy++;
            sv_adam_step(r->m.params, r->grads, r->adam_m, r->adam_v, r->nspy, (float)(lr * r->o.spynet_lr_mult), b1,
                         b2, eps, r->step_spy);
        }
        if (r->ema) sv_ema_update(r->ema, r->m.params, r->n, (float)r->o.ema);
        r->iter++;
        loss_sum += loss;
        loss_n++;
        const int last = r->iter == r->o.iters || g_stop;
        const int do_val = r->iter % r->o.val_every == 0 || last;
        if (r->iter % r->o.log_every == 0 || do_val) {
            double now = sv_now();
            cJSON *j = cJSON_CreateObject();
            cJSON_AddNumberToObject(j, "iter", (double)r->iter);
            cJSON_AddNumberToObject(j, "loss", loss_sum / (double)loss_n);
            cJSON_AddNumberToObject(j, "lr", lr);
            cJSON_AddNumberToObject(j, "lr_spynet", spy_on ? lr * r->o.spynet_lr_mult : 0.0);
            cJSON_AddNumberToObject(j, "seconds", now - t_start);
            if (h && h->log) h->log(h->ud, j);
            double psnr = 0, ssim = 0;
            if (do_val && r->o.val) {
                if (validate(r, &psnr, &ssim, e)) {
                    cJSON_Delete(j);
                    rc = -1;
                    break;
                }
                cJSON_AddNumberToObject(j, "val_psnr", psnr);
                cJSON_AddNumberToObject(j, "val_ssim", ssim);
                if (res) res->val_psnr = psnr, res->val_ssim = ssim;
            }
            rc = log_line(r, j, e);
            cJSON_Delete(j);
            if (info) {
                double ips = (double)(r->iter - it0) / (now - t_start + 1e-9);
                fprintf(info, "iter %ld/%ld  loss %.5f  lr %.3g  %.2f it/s  ETA %.0f s", r->iter, r->o.iters,
                        loss_sum / (double)loss_n, lr, ips, (double)(r->o.iters - r->iter) / (ips + 1e-9));
                if (do_val && r->o.val) fprintf(info, "  val %.3f dB / %.4f", psnr, ssim);
                fputc('\n', info);
            }
            loss_sum = 0;
            loss_n = 0;
            t_log = now;
            if (!rc && do_val && r->o.val && psnr > r->best_psnr) {
                r->best_psnr = psnr;
                r->best_ssim = ssim;
                r->best_iter = r->iter;
                char bp[4096];
                path_in(bp, sizeof bp, r->o.out, "best.safetensors");
                rc = write_model(r, bp, e);
            }
        }
        if (!rc && do_val) rc = checkpoint(r, e);
        if (g_stop) break;
    }
    (void)t_log;
    signal(SIGINT, old_int);
    signal(SIGTERM, old_term);
    if (!rc && info) {
        if (g_stop) fprintf(info, "stopped at iteration %ld; continue with --resume\n", r->iter);
        if (r->best_iter > 0)
            fprintf(info, "best validation: %.3f dB / %.4f at iteration %ld\n", r->best_psnr, r->best_ssim,
                    r->best_iter);
    }
done:
    if (res) res->iter = r->iter, res->stopped = g_stop && r->iter < r->o.iters;
    run_free(r);
    return rc;
}
