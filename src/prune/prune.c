// prune.c: the `slimvsr prune` pipeline (prune.h): the choice of units, the sparsity-learning and
// temporal-finetuning hooks of the training loop, the cut, and the run folder's phases and resume.
#include "prune/prune.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io/atomic_file.h"
#include "io/safetensors.h"
#include "model/stats.h"
#include "prune/ssl.h"
#include "prune/ssl_train.h"
#include "train/run_lock.h"
#include "train/run_log.h"

void sv_prune_opts_default(sv_prune_opts *o) {
    memset(o, 0, sizeof *o);
    sv_train_opts_default(&o->train);
    o->train.iters = 0;
    o->train.log_every = 1;  // the scale norms of every iteration (SSL-NOTES §2: watch the collapse)
    o->scheme = SV_SCHEME_SSL;
    o->ratio = 0.5;
    o->global = 1;
    o->round = 1;
    o->sparsity_iters = 1000;
    o->finetune_iters = 1000;
    o->tf_weight = 0.01;  // the best non-zero weight of the sweep on training clips (docs/pruning-results.md)
    o->lambda_step = 1e-4;
    o->lambda_every = 5;
    o->lambda_max = 0.1;
    o->scale_lr_mult = 1;
}

static const char *const k_schemes[3] = {"ssl", "l1-aligned", "l1-keep-last"};

const char *sv_prune_scheme_name(sv_prune_scheme s) { return (unsigned)s < 3 ? k_schemes[s] : "?"; }

int sv_prune_scheme_parse(const char *name, sv_prune_scheme *s) {
    for (int i = 0; i < 3; i++)
        if (name && !strcmp(name, k_schemes[i])) {
            *s = (sv_prune_scheme)i;
            return 0;
        }
    return -1;
}

// ---- the choice of units (and, for l1-aligned, of hidden channels) and the cut it gives ----
typedef struct {
    sv_units u;                      // units of the dense model, L1-scored, the choice marked
    unsigned char *hidden[2];        // l1-aligned: hidden channels pruned per branch
} choice;

static void choice_free(choice *c) {
    sv_units_free(&c->u);
    free(c->hidden[0]), free(c->hidden[1]);
    memset(c, 0, sizeof *c);
}

static sv_select_opts select_opts(const sv_prune_opts *o, double ratio) {
    sv_select_opts s = {.ratio = ratio, .global = o->global, .round = o->round};
    s.only_filters = o->scheme != SV_SCHEME_SSL;
    return s;
}

// The l1-aligned hidden channels: per branch the lowest-scored ratio * C (both branches keep as many,
// rounded up to a multiple of round, at least one).
static int choose_hidden(choice *c, sv_model *m, const sv_prune_opts *o, double ratio, sv_err *e) {
    const int C = m->num_feat;
    int keep = C - (int)(ratio * C);
    if (keep < 1) keep = 1;
    if (o->round > 1) keep = (keep + o->round - 1) / o->round * o->round;
    if (keep > C) keep = C;
    float *score = sv_malloc((size_t)C * sizeof(float), e);
    if (!score) return -1;
    for (int b = 0; b < 2; b++) {
        if (!c->hidden[b] && !(c->hidden[b] = sv_malloc((size_t)C, e))) {
            free(score);
            return -1;
        }
        sv_hidden_scores(m, b, score);
        memset(c->hidden[b], 0, (size_t)C);
        for (int t = 0; t < C - keep; t++) {
            int worst = -1;
            for (int j = 0; j < C; j++)
                if (!c->hidden[b][j] && (worst < 0 || score[j] < score[worst])) worst = j;
            c->hidden[b][worst] = 1;
        }
    }
    free(score);
    return 0;
}

static int choose(choice *c, sv_model *m, const sv_prune_opts *o, double ratio, sv_err *e) {
    sv_select_opts s = select_opts(o, ratio);
    if (sv_units_select(&c->u, &s, e) < 0) return -1;
    return o->scheme == SV_SCHEME_L1_ALIGNED ? choose_hidden(c, m, o, ratio, e) : 0;
}

// The cut of the (folded) model m by the choice: RSC lists, or for l1-aligned the narrower plain model.
static int cut(choice *c, sv_model *m, const sv_prune_opts *o, sv_model *out, sv_err *e) {
    if (o->scheme != SV_SCHEME_L1_ALIGNED) return sv_prune_cut(&c->u, m, out, e);
    sv_model mid;
    if (sv_prune_cut(&c->u, m, &mid, e)) return -1;
    const unsigned char *const h[2] = {c->hidden[0], c->hidden[1]};
    int rc = sv_prune_cut_aligned(h, &mid, out, e);
    sv_model_free(&mid);
    return rc;
}

// FLOPs per 180x320 frame without SPyNet (the part pruning acts on), and parameters without SPyNet.
static void counts(const sv_model *m, double *flops, double *params) {
    sv_model_totals t;
    sv_model_stats(m, 180, 320, NULL, 0, &t);
    if (flops) *flops = t.flops - t.flops_spynet;
    if (params) *params = t.params - t.params_spynet;
}

// The choice on the dense model m: at o->ratio, or at the ratio whose cut keeps o->flops of the FLOPs.
static int plan(choice *c, sv_model *m, const sv_prune_opts *o, double *ratio_used, sv_err *e) {
    memset(c, 0, sizeof *c);
    if (sv_units_build(&c->u, m, e)) return -1;
    sv_units_score_l1(&c->u, m);
    double ratio = o->ratio;
    if (o->flops > 0) {
        double dense, lo = 0.0, hi = 1.0;
        counts(m, &dense, NULL);
        for (int it = 0; it < 24; it++) {  // the smallest ratio whose cut is within the FLOPs target
            const double mid = 0.5 * (lo + hi);
            sv_model p;
            if (choose(c, m, o, mid, e) || cut(c, m, o, &p, e)) return -1;
            double f;
            counts(&p, &f, NULL);
            sv_model_free(&p);
            if (f > o->flops * dense) lo = mid;
            else hi = mid;
        }
        ratio = hi < 0.999 ? hi : 0.999;
    }
    *ratio_used = ratio;
    return choose(c, m, o, ratio, e);
}

// ---- the hooks of the two training phases ----
typedef struct {
    const sv_prune_opts *o;
    const unsigned char *plan;  // the choice on the dense model (a fresh sparsity phase)
    sv_ssl_state ssl;
    int ssl_on;
    long probe;                 // criterion scale: iterations of a uniform penalty before choosing
    sv_tf_state tf;
    int tf_on;
    const sv_model *teacher;
} prune_ctx;

static int ssl_begin(void *ud, sv_model *m, sv_tensor_set *state, sv_model **graph, sv_err *e) {
    prune_ctx *c = ud;
    sv_select_opts s = select_opts(c->o, c->o->ratio);
    if (sv_ssl_begin(&c->ssl, m, &s, 0, c->plan, e)) return -1;
    c->ssl_on = 1;
    c->ssl.lambda_step = (float)c->o->lambda_step;
    c->ssl.lambda_every = c->o->lambda_every;
    c->ssl.lambda_max = (float)c->o->lambda_max;
    if (c->o->criterion_scale && !state) memset(c->ssl.u.pruned, 0, c->ssl.u.nunits);  // chosen after the probe
    if (state && sv_ssl_restore(&c->ssl, state, "sparsity state", e)) return -1;
    *graph = &c->ssl.eff;
    return 0;
}

static int ssl_before_step(void *ud, long iter, const float *lr, sv_trainnet *net, sv_err *e) {
    prune_ctx *c = ud;
    sv_units *u = &c->ssl.u;
    if (c->o->criterion_scale && iter <= c->probe) {
        if (iter < c->probe) {  // the probe: every scale under the same small penalty, nothing chosen
            for (size_t j = 0; j < u->nunits; j++) u->lambda[j] = c->ssl.lambda_step;
            return sv_units_apply(u, c->ssl.base, c->ssl.eff.params, e);
        }
        // the scales that fell furthest are the units to prune
        sv_units_score_scale(u);
        sv_select_opts s = select_opts(c->o, c->o->ratio);
        if (sv_units_select(u, &s, e) < 0) return -1;
        memset(u->lambda, 0, u->nunits * sizeof(float));
    }
    return sv_ssl_before_step(&c->ssl, iter, e);
}

static int ssl_after_backward(void *ud, float *grads, double lr, sv_err *e) {
    prune_ctx *c = ud;
    return sv_ssl_after_backward(&c->ssl, grads, lr * c->o->scale_lr_mult, e);
}

static int ssl_export(void *ud, sv_model *m, sv_err *e) {
    prune_ctx *c = ud;
    if (sv_units_apply(&c->ssl.u, m, c->ssl.eff.params, e)) return -1;
    memcpy(m->params, c->ssl.eff.params, m->nparams * sizeof(float));
    return 0;
}

static int ssl_save(void *ud, sv_tensor_set *s, sv_err *e) { return sv_ssl_save(&((prune_ctx *)ud)->ssl, s, e); }

static void ssl_log(void *ud, cJSON *j) {
    prune_ctx *c = ud;
    double chosen, kept, lmax = 0;
    sv_units_scale_norms(&c->ssl.u, &chosen, &kept);
    for (size_t i = 0; i < c->ssl.u.nunits; i++) lmax = fmax(lmax, c->ssl.u.lambda[i]);
    long n = 0;
    for (size_t i = 0; i < c->ssl.u.nunits; i++) n += c->ssl.u.pruned[i];
    cJSON_AddNumberToObject(j, "penalty", c->ssl.last_penalty);
    cJSON_AddNumberToObject(j, "lambda", lmax);
    cJSON_AddNumberToObject(j, "chosen", (double)n);
    // RMS of the chosen and of the kept units' scales: the chosen ones should collapse towards 0
    cJSON_AddNumberToObject(j, "scale_chosen", n ? chosen / sqrt((double)n) : 0.0);
    cJSON_AddNumberToObject(j, "scale_kept", kept / sqrt((double)(c->ssl.u.nunits - n > 0 ? c->ssl.u.nunits - n : 1)));
}

static int tf_begin(void *ud, sv_model *m, sv_tensor_set *state, sv_model **graph, sv_err *e) {
    prune_ctx *c = ud;
    const sv_train_opts *t = &c->o->train;
    sv_net_cfg cfg = {.batch = t->batch, .seq = t->seq, .h = t->patch, .w = t->patch, .recompute = t->recompute};
    if (sv_tf_begin(&c->tf, c->teacher, &cfg, (float)c->o->tf_weight, e)) return -1;
    c->tf_on = 1;
    return 0;
}

static int tf_before_step(void *ud, long iter, const float *lr, sv_trainnet *net, sv_err *e) {
    prune_ctx *c = ud;
    return sv_tf_prepare(&c->tf, net, lr, e);
}

static void tf_log(void *ud, cJSON *j) { cJSON_AddNumberToObject(j, "l_tf", ((prune_ctx *)ud)->tf.last); }

// ---- the run folder ----
static void path_in(char *buf, size_t n, const char *dir, const char *name) { snprintf(buf, n, "%s/%s", dir, name); }

static int exists(const char *p) {
    struct stat st;
    return stat(p, &st) == 0;
}

static int write_text(const char *path, const char *text, sv_err *e) {
    sv_atomic a;
    if (sv_atomic_open_file(&a, path, SV_ATOMIC_REPLACE, e)) return -1;
    if (fputs(text, a.f) == EOF) {
        sv_atomic_abort(&a);
        return sv_errf(e, "%s: write failed", path);
    }
    return sv_atomic_commit(&a, e);
}

static cJSON *opts_json(const sv_prune_opts *o) {
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "model", o->model);
    cJSON_AddStringToObject(j, "scheme", sv_prune_scheme_name(o->scheme));
    cJSON_AddNumberToObject(j, "ratio", o->ratio);
    cJSON_AddNumberToObject(j, "flops", o->flops);
    cJSON_AddNumberToObject(j, "global", o->global);
    cJSON_AddStringToObject(j, "criterion", o->criterion_scale ? "scale" : "l1");
    cJSON_AddNumberToObject(j, "round", o->round);
    cJSON_AddNumberToObject(j, "sparsity_iters", (double)o->sparsity_iters);
    cJSON_AddNumberToObject(j, "finetune_iters", (double)o->finetune_iters);
    cJSON_AddNumberToObject(j, "tf_weight", o->tf_weight);
    cJSON_AddNumberToObject(j, "lambda_step", o->lambda_step);
    cJSON_AddNumberToObject(j, "lambda_every", o->lambda_every);
    cJSON_AddNumberToObject(j, "lambda_max", o->lambda_max);
    cJSON_AddNumberToObject(j, "scale_lr_mult", o->scale_lr_mult);
    cJSON_AddItemToObject(j, "train", sv_train_opts_to_json(&o->train));
    return j;
}

// Reads RUN_DIR/prune.json into o (strings point into *keep).
static int read_opts(sv_prune_opts *o, const char *path, cJSON **keep, sv_err *e) {
    FILE *f = fopen(path, "rb");
    if (!f) return sv_errf(e, "--resume: %s: %s", path, strerror(errno));
    char buf[1 << 16];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    cJSON *j = cJSON_Parse(buf);
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(j, "model"), *s = cJSON_GetObjectItemCaseSensitive(j, "scheme");
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(j, "criterion"), *t = cJSON_GetObjectItemCaseSensitive(j, "train");
    if (!cJSON_IsString(m) || !cJSON_IsString(s) || !cJSON_IsObject(t) || sv_prune_scheme_parse(s->valuestring, &o->scheme)) {
        cJSON_Delete(j);
        return sv_errf(e, "%s: not a slimvsr prune run (bad or truncated prune.json)", path);
    }
    *keep = j;
    o->model = m->valuestring;
    o->ratio = sv_json_num(j, "ratio", o->ratio);
    o->flops = sv_json_num(j, "flops", 0);
    o->criterion_scale = cJSON_IsString(c) && !strcmp(c->valuestring, "scale");
    o->tf_weight = sv_json_num(j, "tf_weight", 0);
    o->lambda_step = sv_json_num(j, "lambda_step", o->lambda_step);
    o->lambda_max = sv_json_num(j, "lambda_max", o->lambda_max);
    o->scale_lr_mult = sv_json_num(j, "scale_lr_mult", o->scale_lr_mult);
    o->global = 1, o->round = 1, o->sparsity_iters = o->finetune_iters = 0;
    // the integers: whole and in range here, their meaning checked by check_opts
    if (sv_json_int(j, "global", 0, 1, &o->global, path, e) || sv_json_int(j, "round", 0, INT_MAX, &o->round, path, e) ||
        sv_json_long(j, "sparsity_iters", 0, LONG_MAX, &o->sparsity_iters, path, e) ||
        sv_json_long(j, "finetune_iters", 0, LONG_MAX, &o->finetune_iters, path, e) ||
        sv_json_int(j, "lambda_every", 0, INT_MAX, &o->lambda_every, path, e))
        return -1;
    return sv_train_opts_from_json(&o->train, t, path, e);
}

static int check_opts(const sv_prune_opts *o, sv_err *e) {
    if (o->flops != 0 && !(o->flops > 0 && o->flops < 1))
        return sv_errf(e, "--flops %g: the FLOPs fraction to keep must be in (0, 1)", o->flops);
    if (o->flops == 0 && !(o->ratio > 0 && o->ratio < 1))
        return sv_errf(e, "--ratio %g: the fraction of units to prune must be in (0, 1)", o->ratio);
    if (o->round < 1 || o->round > 64) return sv_errf(e, "--round %d: must be 1..64 (e.g. 1, 8, 16)", o->round);
    if (o->sparsity_iters < 0 || o->finetune_iters < 0) return sv_errf(e, "iterations must be >= 0");
    if (o->criterion_scale && o->scheme != SV_SCHEME_SSL)
        return sv_errf(e, "--criterion scale needs --scheme ssl (the baselines learn no scales)");
    if (o->criterion_scale && o->sparsity_iters < 2)
        return sv_errf(e, "--criterion scale needs --sparsity-iters >= 2 (a probe, then the choice)");
    if (!(o->tf_weight >= 0)) return sv_errf(e, "--tf-weight %g must be >= 0", o->tf_weight);
    if (!(o->lambda_step >= 0 && o->lambda_max >= 0 && o->lambda_every >= 1 && o->scale_lr_mult > 0))
        return sv_errf(e, "the penalty schedule needs --lambda-step, --lambda-max >= 0, --lambda-every >= 1, "
                          "--scale-lr-mult > 0");
    return 0;
}

// Runs one training phase in RUN_DIR/name (resuming it when its state exists). *done: it reached its end.
static int phase(const sv_prune_opts *o, const char *name, const char *init, long iters, const sv_train_hooks *h,
                 int *done, sv_train_result *res, sv_err *e) {
    sv_train_opts t = o->train;
    char dir[4096], st[4200];
    path_in(dir, sizeof dir, o->train.out, name);
    path_in(st, sizeof st, dir, "state.safetensors");
    t.out = dir;
    t.init = init;
    t.iters = iters;
    t.ema = 0;
    t.hooks = h;
    t.resume = exists(st);
    if (!strcmp(name, "sparsity")) t.lr_min = t.lr;  // constant: the penalty grows, the steps must not shrink
    if (!t.quiet) fprintf(stderr, "== %s: %ld iterations%s\n", name, iters, t.resume ? " (resuming)" : "");
    if (sv_train(&t, res, e)) return sv_errprefix(e, "%s", name);
    *done = !res->stopped;
    return 0;
}

// The cut after sparsity learning: the trained weights and scales of RUN_DIR/sparsity, folded and cut.
static int cut_after_sparsity(const sv_prune_opts *o, sv_model *out, sv_err *e) {
    char dir[4096];
    path_in(dir, sizeof dir, o->train.out, "sparsity");
    sv_tensor_set hs = {0};
    sv_model m = {0};
    int rc = sv_train_state_model(dir, &m, "prune", &hs, e);
    prune_ctx c = {.o = o};
    sv_model *graph = NULL;
    if (!rc) rc = ssl_begin(&c, &m, &hs, &graph, e);
    if (!rc) rc = sv_units_fold(&c.ssl.u, &m, e);
    if (!rc) {
        choice ch = {.u = c.ssl.u};
        rc = cut(&ch, &m, o, out, e);
    }
    if (c.ssl_on) sv_ssl_end(&c.ssl);
    if (m.params) sv_model_free(&m);
    sv_tensor_set_free(&hs);
    return rc;
}

// The run folder's claim (sv_run_claim, train/run_lock.h) with the run's inputs: --data, --val, -m.
static int claim_run_folder(const sv_prune_opts *o, sv_run_lock *lock, int create, sv_err *e) {
    const char *in[SV_TRAIN_MAX_DATA + 2];
    int n = 0;
    for (int i = 0; i < o->train.ndata; i++) in[n++] = o->train.data[i];
    in[n++] = o->train.val;
    in[n++] = o->model;
    return sv_run_claim(lock, o->train.out, in, n, create, o->resume ? NULL : "prune.json", e);
}

// A fresh start that failed before a training phase made its folder (on the data, --val, an option the
// phase checks) leaves nothing behind, so that the same command with the input fixed starts again: what it
// wrote goes (prune.json, the cut model when wrote_init), and the run folder too when it made it. Once a
// phase has started, the run stays for --resume.
static void undo_start(const sv_prune_opts *o, int made_dir, int wrote_init, sv_run_lock *lock) {
    static const char *const phases[2] = {"sparsity", "finetune"};
    char p[4200];
    for (int i = 0; i < 2; i++) {
        path_in(p, sizeof p, o->train.out, phases[i]);
        if (exists(p)) return;
    }
    path_in(p, sizeof p, o->train.out, "pruned-init.safetensors");
    if (wrote_init) remove(p);
    path_in(p, sizeof p, o->train.out, "prune.json");
    remove(p);
    if (!made_dir) return;
    path_in(p, sizeof p, o->train.out, ".lock");
    remove(p);
    sv_run_lock_release(lock);
    rmdir(o->train.out);
}

static int write_summary(const sv_prune_opts *o, const sv_model *dense, double ratio, const sv_train_result *res,
                         sv_err *e) {
    char p[4096];
    path_in(p, sizeof p, o->train.out, "model.safetensors");
    sv_model m;
    if (sv_model_load(&m, p, -1, e)) return -1;
    double df, dp, pf, pp;
    counts(dense, &df, &dp);
    counts(&m, &pf, &pp);
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "scheme", sv_prune_scheme_name(o->scheme));
    cJSON_AddNumberToObject(j, "ratio", ratio);
    cJSON_AddNumberToObject(j, "tf_weight", o->scheme == SV_SCHEME_SSL ? o->tf_weight : 0.0);
    cJSON_AddNumberToObject(j, "dense_params", dp);
    cJSON_AddNumberToObject(j, "params", pp);
    cJSON_AddNumberToObject(j, "dense_flops_180x320", df);
    cJSON_AddNumberToObject(j, "flops_180x320", pf);
    if (res && !isnan(res->val_psnr)) {
        cJSON_AddNumberToObject(j, "val_psnr", res->val_psnr);
        cJSON_AddNumberToObject(j, "val_ssim", res->val_ssim);
    }
    char *txt = cJSON_Print(j);
    cJSON_Delete(j);
    path_in(p, sizeof p, o->train.out, "summary.json");
    int rc = txt ? write_text(p, txt, e) : sv_errf(e, "out of memory");
    free(txt);
    if (!rc && !o->train.quiet)
        fprintf(stderr, "pruned (%s, ratio %.3f): %.0f -> %.0f parameters without SPyNet (%.1f%%), %.3g -> %.3g FLOPs "
                        "per 180x320 frame (%.1f%%)\n", sv_prune_scheme_name(o->scheme), ratio, dp, pp, 100 * pp / dp,
                df, pf, 100 * pf / df);
    sv_model_free(&m);
    return rc;
}

int sv_prune(const sv_prune_opts *opts, sv_err *e) {
    sv_prune_opts O = *opts, *o = &O;
    cJSON *saved = NULL;
    char *abs[SV_TRAIN_MAX_DATA + 2] = {0};
    sv_model dense = {0}, cutm = {0};
    choice ch = {0};
    prune_ctx ctx = {.o = o};
    sv_run_lock lock = {0};
    int rc = -1, done = 1, made_dir = 0, started = 0, wrote_init = 0;  // started: this call wrote prune.json
    sv_train_result res = {.val_psnr = NAN};
    char pj[4096], pinit[4096], pfin[4096], pout[4096];
    if (!o->train.out) return sv_errf(e, "no run folder (--out)");
    path_in(pj, sizeof pj, o->train.out, "prune.json");
    path_in(pinit, sizeof pinit, o->train.out, "pruned-init.safetensors");
    path_in(pout, sizeof pout, o->train.out, "model.safetensors");
    if (o->resume) {
        const char *out = o->train.out;
        int quiet = o->train.quiet;
        if (read_opts(o, pj, &saved, e)) goto done;
        o->train.out = out;
        o->train.quiet = quiet;
    } else {
        if (!o->model) {
            rc = sv_errf(e, "no dense model (-m)");
            goto done;
        }
        if (o->train.ndata < 1) {
            rc = sv_errf(e, "no training data (--data)");
            goto done;
        }
        // absolute paths, so that prune.json works from any folder
        for (int i = 0; i <= o->train.ndata + 1; i++) {
            const char **p = i < o->train.ndata ? &o->train.data[i] : i == o->train.ndata ? &o->train.val : &o->model;
            if (!*p) continue;
            if (!(abs[i] = realpath(*p, NULL))) {
                rc = sv_errf(e, "%s: %s", *p, strerror(errno));
                goto done;
            }
            *p = abs[i];
        }
    }
    if (claim_run_folder(o, &lock, 0, e) || check_opts(o, e)) goto done;
    path_in(pfin, sizeof pfin, o->train.out, "summary.json");
    if (o->resume && exists(pfin)) {  // finished already
        if (!o->train.quiet) fprintf(stderr, "%s: finished already (summary.json); nothing to do\n", o->train.out);
        rc = 0;
        goto done;
    }
    if (sv_model_load(&dense, o->model, -1, e)) goto done;
    // the choice, and its cut of the dense model (the baselines' start; for ssl a check that it cuts)
    double ratio;
    if (plan(&ch, &dense, o, &ratio, e) || cut(&ch, &dense, o, &cutm, e)) {
        sv_errprefix(e, "%s", o->model);
        goto done;
    }
    if (!o->resume) {  // the run folder only now, after every check that needs no training phase
        made_dir = !exists(o->train.out);
        if (claim_run_folder(o, &lock, 1, e)) goto done;
        cJSON *j = opts_json(o);
        char *txt = cJSON_Print(j);
        cJSON_Delete(j);
        started = 1;
        rc = txt ? write_text(pj, txt, e) : sv_errf(e, "out of memory");
        free(txt);
        if (rc) goto done;
        rc = -1;
    }
    o->ratio = ratio;  // what --flops found: the criterion-scale choice and prune.json use it
    if (!exists(pinit)) {
        rc = 0;
        if (o->scheme == SV_SCHEME_SSL && o->sparsity_iters > 0) {
            // sparsity learning: the weights and the scales, the penalty growing on the chosen units
            ctx.plan = ch.u.pruned;
            ctx.probe = o->sparsity_iters / 5;
            sv_train_hooks h = {.ud = &ctx, .state_ns = "prune", .begin = ssl_begin, .before_step = ssl_before_step,
                                .after_backward = ssl_after_backward, .export_weights = ssl_export, .save = ssl_save,
                                .log = ssl_log};
            rc = phase(o, "sparsity", o->model, o->sparsity_iters, &h, &done, &res, e);
            if (ctx.ssl_on) sv_ssl_end(&ctx.ssl);
            ctx.ssl_on = 0;
            if (rc || !done) goto done;
            sv_model_free(&cutm);
            rc = cut_after_sparsity(o, &cutm, e);
        }
        if (!rc) rc = sv_model_save(&cutm, pinit, e);
        if (rc) goto done;
        wrote_init = 1;
        rc = -1;
    }
    long ft = o->finetune_iters + (o->scheme == SV_SCHEME_SSL ? 0 : o->sparsity_iters);
    if (ft > 0) {
        sv_train_hooks h = {.ud = &ctx};
        if (o->scheme == SV_SCHEME_SSL && o->tf_weight > 0) {
            ctx.teacher = &dense;
            h.begin = tf_begin, h.before_step = tf_before_step, h.log = tf_log;
        }
        rc = phase(o, "finetune", pinit, ft, &h, &done, &res, e);
        if (rc || !done) goto done;
        path_in(pfin, sizeof pfin, o->train.out, "finetune/model.safetensors");
    } else {
        snprintf(pfin, sizeof pfin, "%s", pinit);
    }
    sv_model fin;
    if (sv_model_load(&fin, pfin, -1, e)) goto done;
    rc = sv_model_save(&fin, pout, e);
    sv_model_free(&fin);
    if (!rc) rc = write_summary(o, &dense, ratio, &res, e);
done:
    if (!rc && !done && !o->train.quiet) fprintf(stderr, "stopped; continue with: slimvsr prune --out %s --resume\n", o->train.out);
    if (rc && started) undo_start(o, made_dir, wrote_init, &lock);
    sv_run_lock_release(&lock);
    if (ctx.tf_on) sv_tf_end(&ctx.tf);
    if (ctx.ssl_on) sv_ssl_end(&ctx.ssl);
    choice_free(&ch);
    if (cutm.params) sv_model_free(&cutm);
    if (dense.params) sv_model_free(&dense);
    for (int i = 0; i < SV_TRAIN_MAX_DATA + 2; i++) free(abs[i]);
    cJSON_Delete(saved);
    return rc;
}
