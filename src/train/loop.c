// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// loop.c: the one training loop (loop.h): start or resume, the checks, the run folder, the iterations.
#include "train/loop.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/memory.h"
#include "core/clock.h"
#include "io/frames.h"
#include "model/basicvsr.h"
#include "train/dist.h"
#include "train/loop_dist.h"
#include "train/model_init.h"
#include "train/optim.h"
#include "train/run_log.h"
#include "train/run_state.h"

static int stop_requested(const sv_run_opts *o) { return o->stop && *o->stop; }

// *p (when set) made absolute into *held (freed with the run), or -1 naming option opt.
static int make_absolute(const char **p, char **held, const char *opt, sv_err *e) {
    if (!p || !*p) return 0;
    if (!(*held = realpath(*p, NULL))) return sv_errf(e, "%s %s: %s", opt, *p, strerror(errno));
    *p = *held;
    return 0;
}

// --data, the step's extra input and --photos made absolute, so that the options saved for --resume work
// from any folder.
static int absolute_inputs(const sv_step *st, sv_run *r, sv_err *e) {
    sv_run_opts *o = r->o;
    if (o->ndata < 1 && !(st->clips_optional && *st->clips_optional)) return sv_errf(e, "no training data (--data)");
    for (int i = 0; i < o->ndata; i++)
        if (make_absolute(&o->data[i], &r->abs_paths[i], "--data", e)) return -1;
    if (make_absolute(st->extra_input, &r->abs_paths[o->ndata], st->extra_input_opt, e)) return -1;
    return make_absolute(&o->photos, &r->abs_paths[SV_TRAIN_MAX_DATA + 1], "--photos", e);
}

// The run folder's claim (sv_run_claim, train/run_lock.h) with the run's inputs: --data, the extra one,
// --init.
static int claim_run_folder(const sv_step *st, sv_run *r, int create, sv_err *e) {
    const sv_run_opts *o = r->o;
    const char *in[SV_TRAIN_MAX_DATA + 4];
    int n = 0;
    for (int i = 0; i < o->ndata; i++) in[n++] = o->data[i];
    in[n++] = st->extra_input ? *st->extra_input : NULL;
    in[n++] = o->init;
    in[n++] = o->spynet;
    in[n++] = o->photos;
    return sv_run_claim(&r->lock, o->out, in, n, create, o->resume ? NULL : "state.safetensors", e);
}

// --spynet: the SPyNet weights of the model in path.
static int take_spynet(sv_model *m, const char *path, sv_err *e) {
    sv_model src;
    if (sv_model_load(&src, path, -1, e)) return sv_errprefix(e, "--spynet");
    sv_model_copy_spynet(m, &src);
    sv_model_free(&src);
    return 0;
}

// The model and the step's state: from the run folder (resume) or new (--init, or random).
static int run_start(const sv_step *st, sv_run *r, const sv_run_opts *given, uint64_t *dstate, int *nd, sv_err *e) {
    sv_run_opts *o = r->o;
    if (o->resume ? sv_run_read_state(st, r, dstate, nd, e) : absolute_inputs(st, r, e)) return -1;
    if (!o->dry_run && r->rank == 0 && claim_run_folder(st, r, 0, e)) return -1;
    if (o->resume) {
        if (given->iters > 0) {  // a new total: longer or shorter than the saved one (0: keep it)
            if (given->iters < r->iter)
                return sv_errf(e, "--iters %ld: the run in %s is at iteration %ld already", given->iters, o->out, r->iter);
            o->iters = given->iters;
        }
    } else if (o->init ? sv_model_load(&r->m, o->init, -1, e)
                       : sv_model_init_random(&r->m, o->feat, o->blocks, o->act_slope,
                                              o->direction == SV_DIR_UNI ? SV_DIR_UNI : SV_DIR_BI, o->seed, e)) {
        return -1;
    } else {
        if (o->init && o->direction >= 0 && (int)r->m.dir != o->direction)
            return sv_errf(e, "--direction %s: %s is %s (a model's direction is its tensors; it cannot be "
                           "switched)", sv_direction_name((sv_direction)o->direction), o->init,
                           sv_direction_name(r->m.dir));
        if (o->flow >= 0) r->m.flow = (sv_flow_kind)o->flow;
        if (o->spynet && take_spynet(&r->m, o->spynet, e)) return -1;
    }
    return st->begin(st->ud, r, o->resume, e);
}

static int run_check(const sv_step *st, sv_run *r, sv_err *e) {
    const sv_run_opts *o = r->o;
    const int max_patch = SV_FRAME_MAX_SIDE / SV_SCALE;
    if (o->batch < 1 || o->seq < 2 || o->patch < 8 || o->patch > max_patch || o->iters < 1 || *st->ckpt_every < 1 ||
        o->log_every < 1) {
        sv_errf(e, "invalid options: batch %d, seq %d (>= 2), patch %d (8..%d), iters %ld, %s %ld, log-every %ld",
                o->batch, o->seq, o->patch, max_patch, o->iters, st->ckpt_opt, *st->ckpt_every, o->log_every);
        return o->resume ? sv_errprefix(e, "%s/state.safetensors", o->out) : -1;
    }
    if (!(o->photo_share >= 0 && o->photo_share <= 1))
        return sv_errf(e, "--photo-share %g out of range (0..1)", o->photo_share);
    if (!o->photos && o->photo_share != SV_PHOTO_SHARE_DEFAULT)
        return sv_errf(e, "--photo-share needs --photos DIR (the photos of the synthetic samples)");
    if (r->ranks > 1 && !st->gradient)
        return sv_errf(e, "this %s is not data-parallel yet: run it on one rank (this job has %d)", st->what, r->ranks);
    return st->check ? st->check(st->ud, r, e) : 0;
}

// The data, the step's buffers, then the run folder: a start that fails on its data or options leaves
// nothing behind.
static int run_setup(const sv_step *st, sv_run *r, const uint64_t *dstate, int nd, sv_err *e) {
    const sv_run_opts *o = r->o;
    if (st->open_inputs && st->open_inputs(st->ud, r, e)) return -1;
    sv_data_opts dopt;
    sv_data_opts_default(&dopt);
    dopt.seq = o->seq;
    dopt.patch = o->patch;
    dopt.batch = o->batch;
    dopt.rank = r->rank;
    dopt.ranks = r->ranks;
    dopt.degradation = o->degradation;
    dopt.seed = o->seed;
    dopt.clip_weight = o->clip_weight;
    dopt.photos = o->photos;
    dopt.photo_share = o->photos ? o->photo_share : 0;
    if (o->ndata > 0) {  // else the step makes its own batches (clips_optional)
        if (!(r->data = sv_dataset_open(o->data, o->ndata, &dopt, e))) return -1;
        if (nd && sv_dataset_restore(r->data, dstate, nd, e)) return -1;
        char d[512];
        sv_dataset_describe(r->data, d, sizeof d);
        sv_run_say(o, SV_MSG_INFO, "data: %s", d);
    }
    if (st->prepare(st->ud, r, e)) return -1;
    const size_t nlr = (size_t)o->batch * o->seq * 3 * o->patch * o->patch;
    if (r->data && (!(r->lr_buf = sv_malloc(nlr * sizeof(float), e)) ||
                    !(r->gt_buf = sv_malloc(SV_SCALE * SV_SCALE * nlr * sizeof(float), e))))
        return -1;
    if (r->rank > 0) return 0;  // rank 0 keeps the run folder
    if (claim_run_folder(st, r, 1, e)) return -1;
    char logp[4096];
    sv_run_path(logp, sizeof logp, o->out, "log.jsonl");
    if (!o->resume) {
        remove(logp);
        return 0;
    }
    sv_run_remove_temporaries(o->out);
    if (sv_log_trim(logp, r->iter, e)) return -1;
    sv_run_say(o, SV_MSG_INFO, "resuming %s at iteration %ld of %ld", o->out, r->iter, o->iters);
    return 0;
}

typedef struct {
    double sum[1 + SV_STEP_MAX_TERMS];  // the loss and the step's terms since the last log line
    long n;
    double t0;
    long it0;
} log_acc;

// One log.jsonl line (with validation at a checkpoint) and its progress line.
static int log_point(const sv_step *st, sv_run *r, double lr, log_acc *a, int ckpt, sv_train_result *res, sv_err *e) {
    const sv_run_opts *o = r->o;
    const double now = sv_now();
    double mean[1 + SV_STEP_MAX_TERMS];
    for (int i = 0; i <= st->nterms; i++) mean[i] = a->sum[i] / (double)a->n;
    cJSON *j = cJSON_CreateObject();
    cJSON_AddNumberToObject(j, "iter", (double)r->iter);
    cJSON_AddNumberToObject(j, "loss", mean[0]);
    for (int i = 0; i < st->nterms; i++) cJSON_AddNumberToObject(j, st->terms[i], mean[1 + i]);
    cJSON_AddNumberToObject(j, "lr", lr);
    char mid[256] = "", val[128] = "";
    if (st->log) st->log(st->ud, r, lr, mean, j, mid, sizeof mid);
    cJSON_AddNumberToObject(j, "seconds", now - a->t0);
    int rc = ckpt && st->validate ? st->validate(st->ud, r, j, val, sizeof val, res, e) : 0;
    char p[4096];
    sv_run_path(p, sizeof p, o->out, "log.jsonl");
    if (!rc) rc = sv_log_append(p, j, e);
    cJSON_Delete(j);
    const double ips = (double)(r->iter - a->it0) / (now - a->t0 + 1e-9);
    if (!rc)
        sv_run_say(o, SV_MSG_INFO, "iter %ld/%ld  loss %.5f%s  lr %.3g  %.2f it/s  ETA %.0f s%s", r->iter, o->iters,
                   mean[0], mid, lr, ips, (double)(o->iters - r->iter) / (ips + 1e-9), val);
    memset(a->sum, 0, sizeof a->sum);
    a->n = 0;
    return rc;
}

// The iterations, until the total or a stop; *stopped: by the stop flag.
static int run_iterate(const sv_step *st, sv_run *r, int *stopped, sv_train_result *res, sv_err *e) {
    const sv_run_opts *o = r->o;
    log_acc a = {.t0 = sv_now(), .it0 = r->iter};
    while (r->iter < o->iters) {
        double lr = sv_hold_cosine_lr(o->lr, o->lr_min, o->lr_hold, r->iter, o->iters), v[1 + SV_STEP_MAX_TERMS];
        if (st->warmup && r->iter < *st->warmup) lr *= (double)(r->iter + 1) / (double)(*st->warmup + 1);
        if ((r->data && sv_dataset_next(r->data, r->lr_buf, r->gt_buf, e)) || st->compute(st->ud, r, lr, &v[0], v + 1, e))
            return -1;
        *stopped = stop_requested(o);  // with several ranks: set on every rank when on any
        if (sv_run_dist_average(st, r, v, 1 + st->nterms, stopped, e)) return -1;
        if (!isfinite(v[0]))
            return sv_errf(e, "iteration %ld: the loss is %g (diverged); lower --lr or resume from the last checkpoint",
                           r->iter + 1, v[0]);
        if (st->update(st->ud, r, lr, e)) return -1;
        r->iter++;
        for (int i = 0; i <= st->nterms; i++) a.sum[i] += v[i];
        a.n++;
        const int ckpt = r->iter % *st->ckpt_every == 0 || r->iter == o->iters || *stopped;
        if ((ckpt || r->iter % SV_DIST_CHECK_EVERY == 0) && sv_run_dist_check_weights(st, r, e)) return -1;
        const int mine = r->rank == 0;  // rank 0 logs, validates and writes the checkpoints
        if (mine && (r->iter % o->log_every == 0 || ckpt) && log_point(st, r, lr, &a, ckpt, res, e)) return -1;
        if (mine && ckpt && sv_run_checkpoint(st, r, e)) return -1;
        if (*stopped) break;
    }
    return 0;
}

static void run_free(sv_run *r) {
    sv_dataset_free(r->data);
    free(r->lr_buf), free(r->gt_buf);
    sv_model_free(&r->m);
    cJSON_Delete(r->saved);
    for (int i = 0; i <= SV_TRAIN_MAX_DATA + 1; i++) free(r->abs_paths[i]);
    sv_run_lock_release(&r->lock);
}

int sv_run_loop(const sv_step *st, sv_run_opts *o, const sv_run_opts *given, sv_train_result *res, sv_err *e) {
    sv_run R = {.o = o, .rank = sv_dist_rank(), .ranks = sv_dist_size()}, *r = &R;
    uint64_t dstate[SV_DATA_STATE_WORDS];
    int nd = 0, stopped = 0;
    if (res) res->iter = 0, res->stopped = 0, res->val_psnr = res->val_ssim = NAN;
    if (r->rank > 0) o->msg = NULL;  // rank 0 speaks for the job
    int rc = o->out ? run_start(st, r, given, dstate, &nd, e) : sv_errf(e, "no run folder (--out)");
    if (!rc) rc = run_check(st, r, e);
    if (!rc && st->plan && !o->quiet) st->plan(st->ud, r, o->dry_run ? SV_MSG_OUTPUT : SV_MSG_INFO);
    if (!rc && o->dry_run) {
        if (st->dry_run) st->dry_run(st->ud, r);
    } else if (!rc) {
        rc = run_setup(st, r, dstate, nd, e);
        if (!rc) rc = run_iterate(st, r, &stopped, res, e);
        if (!rc && stopped) sv_run_say(o, SV_MSG_INFO, "stopped at iteration %ld; continue with --resume", r->iter);
        if (!rc && st->finish) st->finish(st->ud, r);
    }
    if (res) res->iter = r->iter, res->stopped = stopped && r->iter < o->iters;
    st->end(st->ud);
    run_free(r);
    return rc;
}
