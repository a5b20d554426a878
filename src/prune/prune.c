// SPDX-License-Identifier: Apache-2.0 (LICENSE)
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
#include "train/dist.h"
#include "train/run_lock.h"
#include "train/run_log.h"

void sv_prune_opts_default(sv_prune_opts *o) {
    memset(o, 0, sizeof *o);
    sv_train_opts_default(&o->train);
    o->train.run.iters = 0;
    o->train.run.log_every = 1;  // the scale norms of every iteration (SSL-NOTES §2: watch the collapse)
    o->scheme = SV_SCHEME_SSL;
    o->ratio = 0.5;
    o->global = 1;
    o->round = 1;
    o->sparsity_iters = 1000;
    o->finetune_iters = 1000;
    o->recon_ratio = -1;
    o->tf_weight = SV_TF_WEIGHT_DEFAULT;
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
    sv_select_opts s = {.ratio = ratio, .global = o->global, .round = o->round, .recon_own = o->recon_ratio >= 0,
                        .recon_ratio = o->recon_ratio};
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
    for (int b = sv_first_branch(m); b < 2; b++) {  // a uni model has no backward branch
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

// The error for a --flops/--params target that no ratio reaches: what the strongest cut keeps.
static int unreachable(choice *c, sv_model *m, const sv_prune_opts *o, int by_flops, double keep, double dense,
                       sv_err *e) {
    sv_model p;
    double got[2] = {0, 0};
    if (choose(c, m, o, 0.999, e) || cut(c, m, o, &p, e)) return -1;
    counts(&p, &got[0], &got[1]);
    sv_model_free(&p);
    return sv_errf(e, "--%s %g: %s keeps at least %.3f of the %s (the layers it does not prune hold the rest); "
                      "aim higher%s", by_flops ? "flops" : "params", keep, sv_prune_scheme_name(o->scheme),
                   got[!by_flops] / dense, by_flops ? "FLOPs" : "parameters",
                   o->recon_ratio >= 0 ? " or raise --recon-ratio" : "");
}

// The choice on the dense model m: at o->ratio, or at the ratio whose cut keeps o->flops of the FLOPs
// (o->params of the parameters).
static int plan(choice *c, sv_model *m, const sv_prune_opts *o, double *ratio_used, sv_err *e) {
    memset(c, 0, sizeof *c);
    if (sv_units_build(&c->u, m, e)) return -1;
    sv_units_score_l1(&c->u, m);
    double ratio = o->ratio;
    if (o->flops > 0 || o->params > 0) {
        const int by_flops = o->flops > 0;
        const double keep = by_flops ? o->flops : o->params;
        double dense[2], lo = 0.0, hi = 1.0;
        counts(m, &dense[0], &dense[1]);
        for (int it = 0; it < 24; it++) {  // the smallest ratio whose cut is within the target
            const double mid = 0.5 * (lo + hi);
            sv_model p;
            if (choose(c, m, o, mid, e) || cut(c, m, o, &p, e)) return -1;
            double got[2];
            counts(&p, &got[0], &got[1]);
            sv_model_free(&p);
            if (got[!by_flops] > keep * dense[!by_flops]) lo = mid;
            else hi = mid;
        }
        if (hi == 1.0) return unreachable(c, m, o, by_flops, keep, dense[!by_flops], e);
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
    int *tf_map[2];             // l1-aligned: the dense channel each kept hidden channel of a branch came from
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

static int ssl_after_backward(void *ud, float *grads, sv_err *e) {
    return sv_ssl_after_backward(&((prune_ctx *)ud)->ssl, grads, e);
}

static float *ssl_trained(void *ud, float **grad, size_t *n) {
    sv_ssl_state *s = &((prune_ctx *)ud)->ssl;
    *grad = s->dscale;
    *n = s->u.nunits;
    return s->u.scale;
}

static void ssl_update(void *ud, double lr) {
    prune_ctx *c = ud;
    sv_ssl_update(&c->ssl, lr * c->o->scale_lr_mult);
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
    sv_net_cfg cfg = {.batch = t->run.batch, .seq = t->run.seq, .h = t->run.patch, .w = t->run.patch,
                      .recompute = t->recompute};
    if (sv_tf_begin(&c->tf, c->teacher, &cfg, (float)c->o->tf_weight, e)) return -1;
    c->tf_on = 1;
    c->tf.map[0] = c->tf_map[0], c->tf.map[1] = c->tf_map[1];
    return 0;
}

static int tf_before_step(void *ud, long iter, const float *lr, sv_trainnet *net, sv_err *e) {
    prune_ctx *c = ud;
    return sv_tf_prepare(&c->tf, net, lr, e);
}

static const char *const k_tf_terms[1] = {"l_tf"};

static void tf_term_values(void *ud, double *v) { v[0] = ((prune_ctx *)ud)->tf.last; }

// ---- the run folder ----
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

// ---- the ranks of a data-parallel job (train/dist.h): rank 0 alone writes the run folder ----
// Whether path exists, as rank 0 sees it: every rank takes the same branch, and so meets the same
// collectives. The other ranks wait here for rank 0.
static int agreed_exists(const char *path, int *yes, sv_err *e) {
    *yes = sv_dist_rank() == 0 && exists(path);
    return sv_dist_broadcast(yes, sizeof *yes, e);
}

// After rank 0's writes (rc: their result there, 0 on the other ranks): every rank waits here, so that
// what rank 0 wrote is there for all to read. A rank 0 that failed returns its error, and its main stops
// the job with its message while the others wait.
static int rank0_wrote(int rc, sv_err *e) { return rc ? rc : sv_dist_barrier(e); }

#define F(member, type, lo, hi) SV_OPT_FIELD(sv_prune_opts, member, SV_OPT_##type, lo, hi)
static const sv_opt_field k_fields[] = {
    F(ratio, DOUBLE, 0, 0), F(flops, DOUBLE, 0, 0), F(params, DOUBLE, 0, 0), F(recon_ratio, DOUBLE, 0, 0),
    F(global, INT, 0, 1), F(round, INT, 0, INT_MAX),
    F(sparsity_iters, LONG, 0, LONG_MAX), F(finetune_iters, LONG, 0, LONG_MAX),
    F(tf_weight, DOUBLE, 0, 0), F(lambda_step, DOUBLE, 0, 0),
    F(lambda_every, INT, 0, INT_MAX), F(lambda_max, DOUBLE, 0, 0),
    F(scale_lr_mult, DOUBLE, 0, 0),
};
#undef F
#define N_FIELDS ((int)(sizeof k_fields / sizeof *k_fields))

// prune.json's format: 2 since every scheme follows one schedule (prune.h); a baseline run of format 1
// (one cosine phase) cannot be continued by this code.
#define PRUNE_JSON_FORMAT 2

static cJSON *opts_json(const sv_prune_opts *o) {
    cJSON *j = cJSON_CreateObject();
    cJSON_AddNumberToObject(j, "format", PRUNE_JSON_FORMAT);
    cJSON_AddNumberToObject(j, "ranks", sv_dist_size());
    cJSON_AddStringToObject(j, "model", o->model);
    cJSON_AddStringToObject(j, "scheme", sv_prune_scheme_name(o->scheme));
    cJSON_AddStringToObject(j, "criterion", o->criterion_scale ? "scale" : "l1");
    sv_opt_fields_to_json(j, o, k_fields, N_FIELDS);
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
    o->criterion_scale = cJSON_IsString(c) && !strcmp(c->valuestring, "scale");
    o->flops = o->params = o->tf_weight = 0;  // what a missing field means (the rest keep o's values)
    o->recon_ratio = -1;
    o->global = 1, o->round = 1, o->sparsity_iters = o->finetune_iters = 0;
    const cJSON *fmt = cJSON_GetObjectItemCaseSensitive(j, "format");
    if (o->scheme != SV_SCHEME_SSL && !(cJSON_IsNumber(fmt) && fmt->valuedouble >= PRUNE_JSON_FORMAT)) {
        cJSON_Delete(j);
        *keep = NULL;
        return sv_errf(e, "%s: a %s run of an older slimvsr (one cosine phase); this one trains the baselines in two "
                          "phases like ssl: start the run again in a new folder", path, sv_prune_scheme_name(o->scheme));
    }
    // the integers: whole and in range here, their meaning checked by check_opts
    long ranks = 1;  // a run of before data-parallel pruning: one rank
    if (sv_json_long(j, "ranks", 1, INT_MAX, &ranks, path, e) || sv_dist_check_ranks(path, ranks, e) ||
        sv_opt_fields_from_json(o, j, k_fields, N_FIELDS, path, e))
        return -1;
    return sv_train_opts_from_json(&o->train, t, path, e);
}

static int check_opts(const sv_prune_opts *o, sv_err *e) {
    if (o->flops != 0 && !(o->flops > 0 && o->flops < 1))
        return sv_errf(e, "--flops %g: the FLOPs fraction to keep must be in (0, 1)", o->flops);
    if (o->params != 0 && !(o->params > 0 && o->params < 1))
        return sv_errf(e, "--params %g: the parameter fraction to keep must be in (0, 1)", o->params);
    if (o->flops != 0 && o->params != 0) return sv_errf(e, "--flops and --params: give one target, not both");
    if (!(o->recon_ratio == -1 || (o->recon_ratio >= 0 && o->recon_ratio < 1)))
        return sv_errf(e, "--recon-ratio %g: the fraction of each reconstruction layer to prune must be in [0, 1)",
                       o->recon_ratio);
    if (o->train.run.lr_hold != 0)
        return sv_errf(e, "--lr-hold: prune sets its own schedule (constant for --sparsity-iters, then annealed)");
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

// One pruning run: its options (read back from prune.json on --resume), the dense model, the choice, the
// cut, and what a failed start must undo.
typedef struct {
    sv_prune_opts o;
    cJSON *saved;                    // resume: prune.json (o's strings point into it)
    char *abs[SV_TRAIN_MAX_DATA + 2];
    sv_model dense, cutm;
    choice ch;
    prune_ctx ctx;
    sv_run_lock lock;
    double ratio;                    // the ratio used (what --flops found)
    int made_dir, started, wrote_init;  // started: this call wrote prune.json
    int rank;                        // this process's in the job (train/dist.h): rank 0 writes the run folder
    sv_train_result res;             // the last phase's
} prune_run;

static void run_path(char *buf, size_t n, const prune_run *p, const char *name) {
    sv_run_path(buf, n, p->o.train.run.out, name);
}

// Finetuning's data stream: --seed's, mixed (splitmix64 spreads it), so that it is not another seed's.
static const uint64_t k_finetune_stream = 0x9E3779B97F4A7C15ull;

// Runs one training phase in RUN_DIR/name (resuming it when its state exists). *stopped: before its end.
static int phase(prune_run *p, const char *name, const char *init, long iters, const sv_train_hooks *h, int *stopped,
                 sv_err *e) {
    const sv_prune_opts *o = &p->o;
    sv_train_opts t = o->train;
    char dir[4096], st[4200];
    run_path(dir, sizeof dir, p, name);
    sv_run_path(st, sizeof st, dir, "state.safetensors");
    t.run.out = dir;
    t.run.init = init;
    t.run.iters = iters;
    t.ema = 0;
    t.hooks = h;
    if (agreed_exists(st, &t.run.resume, e)) return sv_errprefix(e, "%s", name);
    t.run.lr_hold = 0;
    if (strcmp(name, "finetune")) t.run.lr_min = t.run.lr;  // constant: the penalty grows, the steps must not shrink
    else t.run.seed ^= k_finetune_stream;                   // fresh samples (prune.h)
    sv_run_say(&o->train.run, SV_MSG_INFO, "== %s: %ld iterations%s", name, iters, t.run.resume ? " (resuming)" : "");
    if (sv_train(&t, &p->res, e)) return sv_errprefix(e, "%s", name);
    *stopped = p->res.stopped;
    return rank0_wrote(0, e);  // its last checkpoint, which what follows reads
}

// The cut after sparsity learning: the trained weights and scales of RUN_DIR/sparsity, folded and cut.
static int cut_after_sparsity(const sv_prune_opts *o, sv_model *out, sv_err *e) {
    char dir[4096];
    sv_run_path(dir, sizeof dir, o->train.run.out, "sparsity");
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
static int claim_run_folder(prune_run *p, int create, sv_err *e) {
    const sv_prune_opts *o = &p->o;
    const char *in[SV_TRAIN_MAX_DATA + 2];
    int n = 0;
    for (int i = 0; i < o->train.run.ndata; i++) in[n++] = o->train.run.data[i];
    in[n++] = o->train.val;
    in[n++] = o->model;
    return sv_run_claim(&p->lock, o->train.run.out, in, n, create, o->train.run.resume ? NULL : "prune.json", e);
}

// A fresh start that failed before a training phase made its folder (on the data, --val, an option the
// phase checks) leaves nothing behind, so that the same command with the input fixed starts again: what it
// wrote goes (prune.json, the cut model when wrote_init), and the run folder too when it made it. Once a
// phase has started, the run stays for --resume.
static void undo_start(prune_run *p) {
    static const char *const phases[2] = {"sparsity", "finetune"};
    char q[4200];
    for (int i = 0; i < 2; i++) {
        run_path(q, sizeof q, p, phases[i]);
        if (exists(q)) return;
    }
    run_path(q, sizeof q, p, "pruned-init.safetensors");
    if (p->wrote_init) remove(q);
    run_path(q, sizeof q, p, "prune.json");
    remove(q);
    if (!p->made_dir) return;
    run_path(q, sizeof q, p, ".lock");
    remove(q);
    sv_run_lock_release(&p->lock);
    rmdir(p->o.train.run.out);
}

static int write_summary(const prune_run *p, sv_err *e) {
    const sv_prune_opts *o = &p->o;
    char q[4096];
    run_path(q, sizeof q, p, "model.safetensors");
    sv_model m;
    if (sv_model_load(&m, q, -1, e)) return -1;
    double df, dp, pf, pp;
    counts(&p->dense, &df, &dp);
    counts(&m, &pf, &pp);
    sv_model_free(&m);
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "scheme", sv_prune_scheme_name(o->scheme));
    cJSON_AddNumberToObject(j, "ratio", p->ratio);
    cJSON_AddNumberToObject(j, "tf_weight", o->tf_weight);
    cJSON_AddNumberToObject(j, "dense_params", dp);
    cJSON_AddNumberToObject(j, "params", pp);
    cJSON_AddNumberToObject(j, "dense_flops_180x320", df);
    cJSON_AddNumberToObject(j, "flops_180x320", pf);
    if (!isnan(p->res.val_psnr)) {
        cJSON_AddNumberToObject(j, "val_psnr", p->res.val_psnr);
        cJSON_AddNumberToObject(j, "val_ssim", p->res.val_ssim);
    }
    char *txt = cJSON_Print(j);
    cJSON_Delete(j);
    run_path(q, sizeof q, p, "summary.json");
    int rc = txt ? write_text(q, txt, e) : sv_errf(e, "out of memory");
    free(txt);
    if (!rc)
        sv_run_say(&o->train.run, SV_MSG_INFO, "pruned (%s, ratio %.3f): %.0f -> %.0f parameters without SPyNet (%.1f%%), "
                   "%.3g -> %.3g FLOPs per 180x320 frame (%.1f%%)", sv_prune_scheme_name(o->scheme), p->ratio, dp, pp,
                   100 * pp / dp, df, pf, 100 * pf / df);
    return rc;
}

// --data, --val and -m made absolute, so that prune.json works from any folder.
static int absolute_inputs(prune_run *p, sv_err *e) {
    sv_prune_opts *o = &p->o;
    if (!o->model) return sv_errf(e, "no dense model (-m)");
    if (o->train.run.ndata < 1) return sv_errf(e, "no training data (--data)");
    const int nd = o->train.run.ndata;
    for (int i = 0; i <= nd + 1; i++) {
        const char **q = i < nd ? &o->train.run.data[i] : i == nd ? &o->train.val : &o->model;
        if (!*q) continue;
        if (!(p->abs[i] = realpath(*q, NULL))) return sv_errf(e, "%s: %s", *q, strerror(errno));
        *q = p->abs[i];
    }
    return 0;
}

// The options (saved ones on --resume) and their checks; *finished: a resumed run that ended already.
static int prune_start(prune_run *p, int *finished, sv_err *e) {
    sv_prune_opts *o = &p->o;
    char q[4096];
    if (!o->train.run.out) return sv_errf(e, "no run folder (--out)");
    run_path(q, sizeof q, p, "prune.json");
    if (o->train.run.resume ? read_opts(o, q, &p->saved, e) : absolute_inputs(p, e)) return -1;
    if (o->tf_weight == SV_TF_WEIGHT_DEFAULT) o->tf_weight = o->scheme == SV_SCHEME_SSL ? SV_TF_WEIGHT_SSL : 0.0;
    if ((p->rank == 0 && claim_run_folder(p, 0, e)) || check_opts(o, e)) return -1;
    run_path(q, sizeof q, p, "summary.json");
    if (agreed_exists(q, finished, e)) return -1;
    *finished = *finished && o->train.run.resume;
    if (*finished) sv_run_say(&o->train.run, SV_MSG_INFO, "%s: finished already (summary.json); nothing to do", o->train.run.out);
    return 0;
}

// The choice on the dense model and its cut (the baselines' start; for ssl a check that it cuts); a fresh
// run's folder and prune.json only then, after every check that needs no training phase.
static int prune_choose(prune_run *p, sv_err *e) {
    sv_prune_opts *o = &p->o;
    if (sv_model_load(&p->dense, o->model, -1, e)) return -1;
    if (plan(&p->ch, &p->dense, o, &p->ratio, e) || cut(&p->ch, &p->dense, o, &p->cutm, e))
        return sv_errprefix(e, "%s", o->model);
    // every rank has checked its options and inputs: one that failed stops the job before rank 0 writes
    if (sv_dist_barrier(e)) return -1;
    if (!o->train.run.resume && p->rank == 0) {
        p->made_dir = !exists(o->train.run.out);
        if (claim_run_folder(p, 1, e)) return -1;
        char q[4096];
        run_path(q, sizeof q, p, "prune.json");
        cJSON *j = opts_json(o);
        char *txt = cJSON_Print(j);
        cJSON_Delete(j);
        p->started = 1;
        int rc = txt ? write_text(q, txt, e) : sv_errf(e, "out of memory");
        free(txt);
        if (rc) return -1;
    }
    o->ratio = p->ratio;  // what --flops found: the criterion-scale choice uses it
    return 0;
}

// Sparsity learning (ssl; the weights and the scales, the penalty growing on the chosen units), then the
// cut model RUN_DIR/pruned-init.safetensors; nothing to do when it exists.
static int prune_sparsity(prune_run *p, int *stopped, sv_err *e) {
    const sv_prune_opts *o = &p->o;
    char q[4096];
    run_path(q, sizeof q, p, "pruned-init.safetensors");
    int done;
    if (agreed_exists(q, &done, e)) return -1;
    if (done) return 0;
    if (o->scheme == SV_SCHEME_SSL && o->sparsity_iters > 0) {
        p->ctx.plan = p->ch.u.pruned;
        p->ctx.probe = o->sparsity_iters / 5;
        sv_train_hooks h = {.ud = &p->ctx, .state_ns = "prune", .begin = ssl_begin, .before_step = ssl_before_step,
                            .after_backward = ssl_after_backward, .trained = ssl_trained, .update = ssl_update,
                            .export_weights = ssl_export, .save = ssl_save, .log = ssl_log};
        int rc = phase(p, "sparsity", o->model, o->sparsity_iters, &h, stopped, e);
        if (p->ctx.ssl_on) sv_ssl_end(&p->ctx.ssl);
        p->ctx.ssl_on = 0;
        if (rc || *stopped) return rc;
        sv_model_free(&p->cutm);
        if (p->rank == 0 && cut_after_sparsity(o, &p->cutm, e)) return -1;
    }
    if (rank0_wrote(p->rank == 0 ? sv_model_save(&p->cutm, q, e) : 0, e)) return -1;
    p->wrote_init = p->rank == 0;
    return 0;
}

// l1-aligned: for temporal finetuning, the dense hidden channel each kept channel of a branch came from.
static int aligned_maps(prune_run *p, sv_err *e) {
    const int C = p->dense.num_feat;
    for (int b = sv_first_branch(&p->dense); b < 2; b++) {
        if (!(p->ctx.tf_map[b] = sv_malloc((size_t)C * sizeof(int), e))) return -1;
        for (int c = 0, k = 0; c < C; c++)
            if (!p->ch.hidden[b][c]) p->ctx.tf_map[b][k++] = c;
    }
    return 0;
}

// The baselines' first phase, RUN_DIR/hold: the cut model trained at the constant --lr for sparsity_iters,
// as ssl's sparsity phase trains (prune.h). *init: the model finetuning starts from.
static int prune_hold(prune_run *p, char *init, size_t n, int *stopped, sv_err *e) {
    if (p->o.scheme == SV_SCHEME_SSL || p->o.sparsity_iters == 0) return 0;
    char fin[4096];
    run_path(fin, sizeof fin, p, "finetune");
    int begun;
    if (agreed_exists(fin, &begun, e)) return -1;
    if (!begun) {  // finetuning has not begun: hold has not ended
        sv_train_hooks h = {.ud = &p->ctx};
        if (phase(p, "hold", init, p->o.sparsity_iters, &h, stopped, e) || *stopped) return *stopped ? 0 : -1;
    }
    run_path(init, n, p, "hold/model.safetensors");
    return 0;
}

// RUN_DIR/model.safetensors (the model in path) and summary.json.
static int write_result(const prune_run *p, const char *path, sv_err *e) {
    char out[4096];
    run_path(out, sizeof out, p, "model.safetensors");
    sv_model m;
    if (sv_model_load(&m, path, -1, e)) return -1;
    int rc = sv_model_save(&m, out, e);
    sv_model_free(&m);
    return rc ? -1 : write_summary(p, e);
}

// Finetuning (with temporal finetuning against the dense model when tf_weight > 0), then
// RUN_DIR/model.safetensors and summary.json.
static int prune_finetune(prune_run *p, int *stopped, sv_err *e) {
    const sv_prune_opts *o = &p->o;
    char init[4096], fin[4096];
    run_path(init, sizeof init, p, "pruned-init.safetensors");
    run_path(fin, sizeof fin, p, "finetune/model.safetensors");
    if (prune_hold(p, init, sizeof init, stopped, e) || *stopped) return *stopped ? 0 : -1;
    if (o->finetune_iters > 0) {
        sv_train_hooks h = {.ud = &p->ctx};
        if (o->tf_weight > 0) {
            if (o->scheme == SV_SCHEME_L1_ALIGNED && aligned_maps(p, e)) return -1;
            p->ctx.teacher = &p->dense;
            h.begin = tf_begin, h.before_step = tf_before_step;
            h.terms = k_tf_terms, h.nterms = 1, h.term_values = tf_term_values;
        }
        if (phase(p, "finetune", init, o->finetune_iters, &h, stopped, e)) return -1;
        if (*stopped) return 0;
    }
    return rank0_wrote(p->rank == 0 ? write_result(p, o->finetune_iters > 0 ? fin : init, e) : 0, e);
}

static void prune_free(prune_run *p) {
    sv_run_lock_release(&p->lock);
    if (p->ctx.tf_on) sv_tf_end(&p->ctx.tf);
    if (p->ctx.ssl_on) sv_ssl_end(&p->ctx.ssl);
    free(p->ctx.tf_map[0]), free(p->ctx.tf_map[1]);
    choice_free(&p->ch);
    if (p->cutm.params) sv_model_free(&p->cutm);
    if (p->dense.params) sv_model_free(&p->dense);
    for (int i = 0; i < SV_TRAIN_MAX_DATA + 2; i++) free(p->abs[i]);
    cJSON_Delete(p->saved);
}

int sv_prune(const sv_prune_opts *opts, sv_err *e) {
    prune_run *p = calloc(1, sizeof *p);
    if (!p) return sv_errf(e, "out of memory");
    p->o = *opts;
    p->ctx.o = &p->o;
    p->res.val_psnr = NAN;
    p->rank = sv_dist_rank();
    if (p->rank > 0) p->o.train.run.msg = NULL;  // rank 0 speaks for the job
    int finished = 0, stopped = 0;
    int rc = prune_start(p, &finished, e);
    if (!rc && !finished) rc = prune_choose(p, e);
    if (!rc && !finished) rc = prune_sparsity(p, &stopped, e);
    if (!rc && !finished && !stopped) rc = prune_finetune(p, &stopped, e);
    if (!rc && stopped)
        sv_run_say(&p->o.train.run, SV_MSG_INFO, "stopped; continue with: slimvsr prune --out %s --resume",
                   p->o.train.run.out);
    if (rc && p->started) undo_start(p);
    prune_free(p);
    free(p);
    return rc;
}
