// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// flow_step.c: `slimvsr train-flow` as a step of the training loop (train/loop.h): SPyNet alone, trained
// with Adam on the unsupervised multi-scale loss of flow_train.h over every ordered neighbour pair of the
// batch; or (--supervised) on the end-point error against the exact flow of synthetic sequences rendered
// from photos (flow_supervised.h), a second compute callback, sup_compute.
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/memory.h"
#include "core/warn.h"
#include "ops/conv.h"
#include "ops/ops.h"
#include "train/dist.h"
#include "train/flow_supervised.h"
#include "train/flow_train.h"
#include "train/optim.h"
#include "train/run_log.h"
#include "train/spynet_train.h"

void sv_flowtrain_opts_default(sv_flowtrain_opts *o) {
    memset(o, 0, sizeof *o);
    sv_run_opts_default(&o->run, 3e-3, 1e-6, 8, 2);
    o->smooth = 0.01;
    o->zero_head = -1;
    o->scales = 4;
    o->warmup = 20;
    o->ckpt_every = 200;
    o->eval_pairs = 64;
    o->level_weight = 1.0;
}

#define F(member, type, lo, hi) SV_OPT_FIELD(sv_flowtrain_opts, member, SV_OPT_##type, lo, hi)
static const sv_opt_field k_fields[] = {
    F(smooth, DOUBLE, 0, 0), F(zero_head, INT, -1, 1),
    F(scales, INT, 0, INT_MAX), F(warmup, LONG, 0, LONG_MAX),
    F(group, INT, 0, INT_MAX), F(ckpt_every, LONG, 0, LONG_MAX),
    F(supervised, INT, 0, 1), F(eval_pairs, INT, 0, INT_MAX),
    F(level_weight, DOUBLE, 0, 0), F(static_share, DOUBLE, 0, 0),
};
#undef F
#define N_FIELDS ((int)(sizeof k_fields / sizeof *k_fields))

#define N_TERMS 4
static const char *const k_terms[N_TERMS] = {"photo", "smooth", "photo_zero", "flow_mag"};
static const char *const k_sup_terms[N_TERMS] = {"epe", "epe_zero", "flow_mag", "valid"};

typedef struct {
    sv_flowtrain_opts o;
    size_t nspy;                  // SPyNet's parameters: the first nspy of the model's block
    float *grads, *adam_m, *adam_v;
    int64_t saved_n[2];           // resume: the sizes of the saved adam_m, adam_v
    long step;
    int group;                    // pairs per SPyNet call
    sv_spytrain *spy;
    sv_flowloss *loss;
    float *flows, *dflows;        // [group,2,p,p]
    // supervised
    sv_photo_set photos, heldout;  // training photos; held-out photos (sv_photos_split)
    sv_synth_batch synth;         // batch sequences of seq frames, p x p
    sv_rng srng;                  // the synthetic stream (saved as "synth_rng")
    sv_step *st;                  // the loop's step: its log terms follow the mode
} flow_step;

static int flow_restore(void *ud, sv_run *r, sv_tensor_set *s, const cJSON *meta, const char *path, sv_err *e) {
    flow_step *f = ud;
    f->adam_m = sv_tensor_set_take(s, "flowtrain.adam_m", &f->saved_n[0]);
    f->adam_v = sv_tensor_set_take(s, "flowtrain.adam_v", &f->saved_n[1]);
    if (!f->adam_m || !f->adam_v) return sv_errf(e, "%s: not a slimvsr train-flow state", path);
    if (sv_json_long(meta, "step", 0, LONG_MAX, &f->step, path, e)) return -1;
    const cJSON *oj = cJSON_GetObjectItemCaseSensitive(meta, "opts");
    if (sv_run_opts_from_json(&f->o.run, oj, path, e)) return -1;
    f->o.level_weight = 0;  // a state from before the level terms trained the final flow only
    if (sv_opt_fields_from_json(&f->o, oj, k_fields, N_FIELDS, path, e)) return -1;
    const cJSON *ph = cJSON_GetObjectItemCaseSensitive(oj, "photos");
    f->o.photos = cJSON_IsString(ph) ? ph->valuestring : NULL;
    if (f->o.supervised && sv_json_u64_array(meta, "synth_rng", f->srng.s, SV_RNG_WORDS) != SV_RNG_WORDS)
        return sv_errf(e, "%s: no synthetic rng state (synth_rng) in a supervised train-flow state", path);
    return 0;
}

static int flow_begin(void *ud, sv_run *r, int resumed, sv_err *e) {
    flow_step *f = ud;
    if (!resumed && (f->o.zero_head > 0 || (f->o.zero_head < 0 && !r->o->init && !f->o.supervised)))
        sv_flow_zero_head(&r->m);
    if (!resumed) sv_rng_seed(&f->srng, sv_flow_synth_train_seed(r->o->seed));
    f->st->terms = f->o.supervised ? k_sup_terms : k_terms;
    sv_model_param_count(&r->m, &f->nspy);
    if (resumed && ((size_t)f->saved_n[0] != f->nspy || (size_t)f->saved_n[1] != f->nspy))
        return sv_errf(e, "%s/state.safetensors: optimiser state does not match SPyNet's %zu parameters", r->o->out,
                       f->nspy);
    if (!resumed && (!(f->adam_m = sv_calloc(f->nspy, sizeof(float), e)) || !(f->adam_v = sv_calloc(f->nspy, sizeof(float), e))))
        return -1;
    return 0;
}

static int flow_check(void *ud, sv_run *r, sv_err *e) {
    const sv_flowtrain_opts *o = &((flow_step *)ud)->o;
    if (o->group < 0 || o->group > 64 || !(o->smooth >= 0) || o->scales < 1 || o->warmup < 0)
        return sv_errf(e, "invalid options: group %d (0..64), smooth %g (>= 0), scales %d (>= 1), warmup %ld", o->group,
                       o->smooth, o->scales, o->warmup);
    if (o->supervised && !o->photos) return sv_errf(e, "--supervised needs --photos DIR (a folder of photos)");
    if (o->supervised && r->o->ndata > 0)  // the clips would be read every iteration and never trained on
        return sv_errf(e, "--data %s: --supervised trains on --photos only", r->o->data[0]);
    if (!o->supervised && o->photos)
        return sv_errf(e, "--photos %s: only --supervised (or --eval) uses photos", o->photos);
    if (!(o->level_weight >= 0)) return sv_errf(e, "--level-weight %g: a weight >= 0", o->level_weight);
    if (!(o->static_share >= 0 && o->static_share <= 1))
        return sv_errf(e, "--static-share %g: a probability (0..1)", o->static_share);
    if (o->supervised && (o->eval_pairs < 2 || o->eval_pairs % 2))
        return sv_errf(e, "--eval-pairs %d: an even number >= 2", o->eval_pairs);
    return 0;
}

// Supervised: the photos, once, before the data (a bad photo fails the start before the run folder is made).
static int flow_open_inputs(void *ud, sv_run *r, sv_err *e) {
    flow_step *f = ud;
    if (!f->o.supervised) return 0;
    if (sv_photos_load(&f->photos, f->o.photos, SV_PHOTO_SIDE_PER_PATCH * r->o->patch, e)) return -1;
    const int held = sv_photos_split(&f->photos, &f->heldout, e);
    if (held < 0) return -1;
    sv_run_say(r->o, SV_MSG_INFO, "photos: %d from %s for training, %d held out (longer side shrunk to at most %d px)",
               f->photos.n, f->o.photos, held, SV_PHOTO_SIDE_PER_PATCH * r->o->patch);
    if (!held)
        sv_warnf("--photos %s: fewer than %d photos, so the held-out pairs are drawn from the training photos",
                 f->o.photos, SV_HELDOUT_EVERY);
    return 0;
}

// Refuses a run whose buffers (what flow_prepare allocates, SPyNet's training graph for groups of G pairs
// counted by sv_spytrain_estimate; the weights, gradients and Adam's two moments; the loop's LR and GT
// batch) exceed the memory available, before any is allocated.
static int check_memory(const sv_run *r, int G, sv_err *e) {
    const sv_run_opts *o = r->o;
    const size_t p = (size_t)o->patch, nlr = (size_t)o->batch * o->seq * 3 * p * p;
    const size_t need = sv_spytrain_estimate(&r->m, (int)p, (int)p, G, sv_conv_preferred_blk()) +
                        r->m.nparams * 4 * sizeof(float) + (1 + SV_SCALE * SV_SCALE) * nlr * sizeof(float) +
                        2 * (size_t)G * 2 * p * p * sizeof(float);
    const sv_mem_avail av = sv_mem_available();
    if (need <= av.bytes) return 0;
    char x[32], y[128];
    return sv_errf(e, "%s: SPyNet training needs about %s (--batch %d, --seq %d, --patch %d, --group %d); %s: use "
                   "a smaller --group, --batch, --seq or --patch", o->out, sv_mem_format(need, x, sizeof x),
                   o->batch, o->seq, o->patch, G, sv_mem_describe(av, y, sizeof y));
}

static int flow_prepare(void *ud, sv_run *r, sv_err *e) {
    flow_step *f = ud;
    const sv_run_opts *o = r->o;
    const int p = o->patch, P = 2 * o->batch * (o->seq - 1), G = f->o.group > 0 ? f->o.group : 16;
    const size_t hw = (size_t)p * p;
    f->group = P < G ? P : G;
    if (check_memory(r, f->group, e)) return -1;
    if (!(f->spy = sv_spytrain_create(&r->m, p, p, f->group, sv_conv_preferred_blk(), 0, e)) ||
        !(f->grads = sv_calloc(r->m.nparams, sizeof(float), e)) ||
        !(f->flows = sv_malloc((size_t)f->group * 2 * hw * sizeof(float), e)) ||
        !(f->dflows = sv_malloc((size_t)f->group * 2 * hw * sizeof(float), e)) ||
        !(f->loss = sv_flowloss_create(p, p, f->o.scales, e)))
        return -1;
    if (f->o.supervised) {
        if (sv_synth_batch_alloc(&f->synth, o->batch, o->seq, p, f->o.static_share, e)) return -1;
        sv_run_say(o, SV_MSG_INFO, "train-flow --supervised: SPyNet (%zu parameters), %ld iterations of %d pairs (%d "
                   "synthetic sequences x %d frames, both directions), LR patch %d, lr %.3g -> %.3g cosine (warm-up "
                   "%ld), loss: end-point error over valid pixels, + %.3g x each coarser level's; still layers %.0f%%; %d held-out "
                   "pairs at every checkpoint", f->nspy, o->iters, P, o->batch, o->seq, p, o->lr, o->lr_min,
                   f->o.warmup, f->o.level_weight, 100 * f->o.static_share, f->o.eval_pairs);
        return 0;
    }
    sv_run_say(o, SV_MSG_INFO, "train-flow: SPyNet (%zu parameters) of a %d x %d model, %ld iterations of %d pairs (%d "
               "clips x %d frames, both directions), LR patch %d, lr %.3g -> %.3g cosine (warm-up %ld), %d photometric "
               "scales, smoothness %.3g", f->nspy, r->m.num_feat, r->m.num_block, o->iters, P, o->batch, o->seq, p,
               o->lr, o->lr_min, f->o.warmup, sv_flowloss_scales(f->loss), f->o.smooth);
    return 0;
}

// One step: every ordered neighbour pair of the batch, both directions, through SPyNet in groups; the loss
// is the mean over pairs (terms: photo, smooth, photo_zero, flow_mag), its gradient goes into f->grads
// (SPyNet's part).
static int flow_compute(void *ud, sv_run *r, double lr, double *loss, double *terms, sv_err *e) {
    flow_step *f = ud;
    const int B = r->o->batch, T = r->o->seq, p = r->o->patch, P = 2 * B * (T - 1), G = f->group;
    const size_t hw = (size_t)p * p;
    const float scale = 1.0f / (float)P, lam = (float)f->o.smooth;
    const float *ref[64], *supp[64];
    float *flow[64];
    const float *dflow[64];
    *loss = 0;
    memset(terms, 0, N_TERMS * sizeof *terms);
    memset(f->grads, 0, f->nspy * sizeof(float));
    for (int p0 = 0; p0 < P; p0 += G) {
        const int np = P - p0 < G ? P - p0 : G;
        for (int j = 0; j < np; j++) {
            // pair q: sample s, neighbours (i, i+1); even q: supp = i+1 warped onto ref = i; odd q: reversed
            const int q = p0 + j, s = q / (2 * (T - 1)), i = (q / 2) % (T - 1);
            const float *xi = r->lr_buf + ((size_t)s * T + i) * 3 * hw, *xn = xi + 3 * hw;
            ref[j] = q % 2 ? xn : xi;
            supp[j] = q % 2 ? xi : xn;
            flow[j] = f->flows + (size_t)j * 2 * hw;
            dflow[j] = f->dflows + (size_t)j * 2 * hw;
        }
        if (sv_spytrain_forward(f->spy, ref, supp, np, flow, e)) return -1;
        memset(f->dflows, 0, (size_t)np * 2 * hw * sizeof(float));
        for (int j = 0; j < np; j++) {
            double ph, sm;
            *loss += sv_flowloss_pair(f->loss, ref[j], supp[j], flow[j], lam, scale, f->dflows + (size_t)j * 2 * hw,
                                      &ph, &sm) / P;
            terms[0] += ph / P;
            terms[1] += sm / P;
            terms[2] += charbonnier_forward(ref[j], supp[j], 3 * hw, SV_FLOW_EPS) / P;
            terms[3] += sv_flow_magnitude(flow[j], p, p) / P;
        }
        if (sv_spytrain_backward(f->spy, dflow, np, f->grads, e)) return -1;
    }
    return 0;
}

// Supervised: this rank's slice of batch x ranks new sequences from the synthetic stream, the EPE loss
// (flow_supervised.h) averaged over the global batch's pairs with valid pixels (counted over the ranks).
static int sup_compute(void *ud, sv_run *r, double lr, double *loss, double *terms, sv_err *e) {
    flow_step *f = ud;
    memset(f->grads, 0, f->nspy * sizeof(float));
    if (sv_synth_batch_render(&f->synth, &f->photos, &f->srng, r->rank, r->ranks, e)) return -1;
    long nvalid;
    double used = sv_synth_batch_used(&f->synth, &nvalid);
    if (sv_dist_sum_doubles(&used, 1, e)) return sv_errprefix(e, "iteration %ld", r->iter + 1);
    return sv_flow_supervised_batch(f->spy, f->group, &f->synth, (float)f->o.level_weight, used / r->ranks, f->flows,
                                    f->dflows, f->grads, loss, terms, e);
}

static int sup_validate(void *ud, sv_run *r, cJSON *j, char *txt, size_t ntxt, sv_train_result *res, sv_err *e) {
    flow_step *f = ud;
    sv_flow_synth_eval_result ev;
    if (!f->o.supervised) return 0;
    if (sv_flow_eval_synth(&r->m, &f->heldout, f->o.eval_pairs, r->o->patch, sv_flow_synth_heldout_seed(r->o->seed),
                           &ev, e))
        return -1;
    cJSON_AddNumberToObject(j, "heldout_epe", ev.epe);
    cJSON_AddNumberToObject(j, "heldout_epe_zero", ev.epe_zero);
    snprintf(txt, ntxt, "  held-out EPE %.4f px (zero flow %.4f)", ev.epe, ev.epe_zero);
    return 0;
}

// SPyNet's part of the gradient block: what the loop averages over the ranks.
static float *flow_gradient(void *ud, size_t *n) {
    flow_step *f = ud;
    *n = f->nspy;
    return f->grads;
}

static int flow_update(void *ud, sv_run *r, double lr, sv_err *e) {
    flow_step *f = ud;
    f->step++;
    sv_adam_step(r->m.params, f->grads, f->adam_m, f->adam_v, f->nspy, (float)lr, SV_ADAM_B1, SV_ADAM_B2_TORCH,
                 SV_ADAM_EPS, f->step);
    return 0;
}

static void flow_log(void *ud, sv_run *r, double lr, const double *mean, cJSON *j, char *txt, size_t ntxt) {
    snprintf(txt, ntxt, "  photo %.5f (zero flow %.5f)  smooth %.4f  |flow| %.3f", mean[1], mean[3], mean[2], mean[4]);
}

static void sup_log(void *ud, sv_run *r, double lr, const double *mean, cJSON *j, char *txt, size_t ntxt) {
    snprintf(txt, ntxt, "  EPE %.4f px (zero flow %.4f)  |flow| %.3f  valid %.2f", mean[1], mean[2], mean[3], mean[4]);
}

static int any_compute(void *ud, sv_run *r, double lr, double *loss, double *terms, sv_err *e) {
    return (((flow_step *)ud)->o.supervised ? sup_compute : flow_compute)(ud, r, lr, loss, terms, e);
}

static void any_log(void *ud, sv_run *r, double lr, const double *mean, cJSON *j, char *txt, size_t ntxt) {
    (((flow_step *)ud)->o.supervised ? sup_log : flow_log)(ud, r, lr, mean, j, txt, ntxt);
}

static int flow_write_model(void *ud, sv_run *r, const char *path, sv_err *e) { return sv_model_save(&r->m, path, e); }

static int flow_save(void *ud, sv_run *r, sv_tensor_set *s, cJSON *j, sv_err *e) {
    flow_step *f = ud;
    if (sv_tensor_set_add_flat(s, "flowtrain.adam_m", f->adam_m, f->nspy, e) ||
        sv_tensor_set_add_flat(s, "flowtrain.adam_v", f->adam_v, f->nspy, e))
        return -1;
    cJSON_AddNumberToObject(j, "step", (double)f->step);
    if (f->o.supervised) sv_json_add_u64_array(j, "synth_rng", f->srng.s, SV_RNG_WORDS);
    return 0;
}

static cJSON *flow_opts_json(void *ud) {
    const flow_step *f = ud;
    cJSON *j = cJSON_CreateObject();
    sv_run_opts_to_json(j, &f->o.run);
    sv_opt_fields_to_json(j, &f->o, k_fields, N_FIELDS);
    if (f->o.photos) cJSON_AddStringToObject(j, "photos", f->o.photos);
    return j;
}

static void flow_end(void *ud) {
    flow_step *f = ud;
    sv_spytrain_free(f->spy);
    sv_flowloss_free(f->loss);
    free(f->grads), free(f->adam_m), free(f->adam_v), free(f->flows), free(f->dflows);
    sv_photos_free(&f->heldout);
    sv_photos_free(&f->photos);
    sv_synth_batch_free(&f->synth);
}

int sv_flow_train(const sv_flowtrain_opts *opts, sv_train_result *res, sv_err *e) {
    flow_step f = {.o = *opts};
    // The callbacks dispatch on f.o.supervised, which a resumed run takes from its state (flow_restore);
    // flow_begin then points st.terms at the mode's names.
    sv_step st = {.ud = &f, .ns = "flowtrain", .what = "train-flow", .terms = k_terms, .nterms = N_TERMS,
                  .ckpt_every = &f.o.ckpt_every, .ckpt_opt = "checkpoint-every", .warmup = &f.o.warmup,
                  .clips_optional = &f.o.supervised, .extra_input = &f.o.photos, .extra_input_opt = "--photos",
                  .restore = flow_restore,
                  .begin = flow_begin, .check = flow_check, .open_inputs = flow_open_inputs, .prepare = flow_prepare,
                  .compute = any_compute, .update = flow_update, .gradient = flow_gradient, .log = any_log,
                  .validate = sup_validate, .write_model = flow_write_model, .save = flow_save,
                  .opts_json = flow_opts_json, .end = flow_end};
    f.st = &st;
    return sv_run_loop(&st, &f.o.run, &opts->run, res, e);
}
