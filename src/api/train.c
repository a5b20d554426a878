// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// train.c: slimvsr_train, `slimvsr train` as a call: the public options map field by field onto
// sv_train_opts (train/trainer.h), whose defaults they take; the checks the command line makes while
// parsing are made here, the rest by the training loop itself.
#include <string.h>

#include "api/api_train.h"
#include "train/dataset.h"
#include "train/degrade.h"

_Static_assert(SLIMVSR_TRAIN_MAX_DATA == SV_TRAIN_MAX_DATA, "one limit on --data");
_Static_assert(SLIMVSR_FLOW_SPYNET == (int)SV_FLOW_SPYNET && SLIMVSR_FLOW_ZERO == (int)SV_FLOW_ZERO, "flow kinds");
_Static_assert(SLIMVSR_DIRECTION_BI == (int)SV_DIR_BI && SLIMVSR_DIRECTION_UNI == (int)SV_DIR_UNI, "directions");
_Static_assert((int)SLIMVSR_DEGRADE_BI == (int)SV_DEG_BI && (int)SLIMVSR_DEGRADE_BD == (int)SV_DEG_BD, "degradations");
_Static_assert((int)SLIMVSR_CLIP_WEIGHT_WINDOWS == (int)SV_CLIP_WEIGHT_WINDOWS &&
                   (int)SLIMVSR_CLIP_WEIGHT_SQRT == (int)SV_CLIP_WEIGHT_SQRT &&
                   (int)SLIMVSR_CLIP_WEIGHT_EQUAL == (int)SV_CLIP_WEIGHT_EQUAL, "clip weights");

// The fields of the same name and meaning in slimvsr_train_options and sv_train_opts (.run for RUN_FIELDS).
#define RUN_FIELDS(X) X(ndata) X(out) X(init) X(spynet) X(feat) X(blocks) X(act_slope) X(flow) X(direction) \
    X(iters) X(lr) X(lr_min) X(lr_hold) X(batch) X(seq) X(patch) X(degradation) X(clip_weight) X(photos) \
    X(photo_share) X(log_every) X(seed) X(resume) X(stop)
#define TRAIN_FIELDS(X) X(val) X(spynet_freeze) X(spynet_lr_mult) X(ema) X(val_every) X(val_frames) X(recompute)

void api_run_from_sv(slimvsr_train_options *o, const sv_run_opts *r) {
    memset(o, 0, sizeof *o);
#define FROM_RUN(f) o->f = r->f;
    RUN_FIELDS(FROM_RUN)
    memcpy(o->data, r->data, sizeof o->data);
}

void api_run_to_sv(sv_run_opts *r, const slimvsr_train_options *o) {
#define TO_RUN(f) r->f = o->f;
    RUN_FIELDS(TO_RUN)
    memcpy(r->data, o->data, sizeof r->data);
    r->msg = api_forward_msg;
}

void api_train_from_sv(slimvsr_train_options *o, const sv_train_opts *t) {
    api_run_from_sv(o, &t->run);
#define FROM_TRAIN(f) o->f = t->f;
    TRAIN_FIELDS(FROM_TRAIN)
    o->val_rgb = !t->val_y;
}

void api_train_to_sv(sv_train_opts *t, const slimvsr_train_options *o) {
    api_run_to_sv(&t->run, o);
#define TO_TRAIN(f) t->f = o->f;
    TRAIN_FIELDS(TO_TRAIN)
    t->val_y = !o->val_rgb;
}

slimvsr_train_options slimvsr_train_options_default(void) {
    sv_train_opts t;
    sv_train_opts_default(&t);
    slimvsr_train_options o;
    api_train_from_sv(&o, &t);
    return o;
}

// What `slimvsr train` refuses while parsing its arguments (cli/run_args.c, cmd_train.c).
int api_train_check(const char *fn, const slimvsr_train_options *o) {
    if (!o) return api_fail(SLIMVSR_ERR_ARGUMENT, "%s: options is NULL", fn);
    if (o->ndata < 0 || o->ndata > SLIMVSR_TRAIN_MAX_DATA)
        return api_fail(SLIMVSR_ERR_ARGUMENT, "%s: ndata %d (0..%d)", fn, o->ndata, SLIMVSR_TRAIN_MAX_DATA);
    for (int i = 0; i < o->ndata; i++)
        if (!o->data[i]) return api_fail(SLIMVSR_ERR_ARGUMENT, "%s: data[%d] is NULL", fn, i);
    if (o->feat < 1 || o->blocks < 1 || o->val_frames < 0 || o->recompute < 0 || o->spynet_freeze < 0 || o->seq < 2)
        return api_fail(SLIMVSR_ERR_ARGUMENT, "%s: feat %d, blocks %d, seq %d, val_frames %d, recompute %d, "
                        "spynet_freeze %ld (feat, blocks >= 1, seq >= 2, the others >= 0)", fn, o->feat, o->blocks,
                        o->seq, o->val_frames, o->recompute, o->spynet_freeze);
    if (!(o->lr >= 0 && o->lr <= 1 && o->lr_min >= 0 && o->lr_min <= 1 && o->spynet_lr_mult >= 0 &&
          o->spynet_lr_mult <= 100 && o->ema >= 0 && o->ema < 1 && o->act_slope >= 0 && o->act_slope < 1 &&
          o->lr_hold >= 0))
        return api_fail(SLIMVSR_ERR_ARGUMENT, "%s: lr %g, lr_min %g (0..1), spynet_lr_mult %g (0..100), ema %g, "
                        "act_slope %g (0..<1), lr_hold %ld (>= 0)", fn, o->lr, o->lr_min, o->spynet_lr_mult, o->ema,
                        o->act_slope, o->lr_hold);
    if (o->flow < SLIMVSR_FLOW_DEFAULT || o->flow > SLIMVSR_FLOW_ZERO || o->direction < SLIMVSR_DIRECTION_DEFAULT ||
        o->direction > SLIMVSR_DIRECTION_UNI ||
        (o->degradation != SLIMVSR_DEGRADE_BI && o->degradation != SLIMVSR_DEGRADE_BD) ||
        !sv_clip_weight_name(o->clip_weight))
        return api_fail(SLIMVSR_ERR_ARGUMENT, "%s: flow %d (slimvsr_flow), direction %d (slimvsr_direction), "
                        "degradation %d (slimvsr_degradation), clip_weight %d (slimvsr_clip_weight)", fn, o->flow,
                        o->direction, o->degradation, o->clip_weight);
    return SLIMVSR_OK;
}

void api_forward_msg(void *ud, sv_msg_kind kind, const char *line) { api_log_info("%s", line); }

int slimvsr_train(const slimvsr_train_options *o) {
    const int rc = api_train_check("slimvsr_train", o);
    if (rc) return rc;
    sv_train_opts t;
    sv_train_opts_default(&t);
    api_train_to_sv(&t, o);
    sv_err e = {{0}};
    return sv_train(&t, NULL, &e) ? api_fail_err(SLIMVSR_ERR_RUN, &e) : SLIMVSR_OK;
}
