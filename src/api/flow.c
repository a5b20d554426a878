// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// flow.c: slimvsr_train_flow, `slimvsr train-flow` as a call: the public options onto sv_flowtrain_opts
// (train/flow_train.h), the run's part through train.c's mapping (api_train.h).
#include "api/api_train.h"
#include "train/flow_train.h"

// The fields of the same name and meaning in slimvsr_train_flow_options and sv_flowtrain_opts.
#define FLOW_FIELDS(X) X(smooth) X(scales) X(warmup) X(zero_head) X(group) X(supervised) X(photos) X(eval_pairs) \
    X(level_weight) X(static_share)

slimvsr_train_flow_options slimvsr_train_flow_options_default(void) {
    sv_flowtrain_opts f;
    sv_flowtrain_opts_default(&f);
    slimvsr_train_flow_options o;
    api_run_from_sv(&o.run, &f.run);
    o.run.lr = -1;  // the mode's (cmd_train_flow.c)
#define FROM(x) o.x = f.x;
    FLOW_FIELDS(FROM)
    o.checkpoint_every = f.ckpt_every;
    return o;
}

// What `slimvsr train-flow` refuses while parsing its arguments (cmd_train_flow.c); lr < 0 is the default.
static int check(const slimvsr_train_flow_options *o) {
    static const char fn[] = "slimvsr_train_flow";
    if (!o) return api_fail(SLIMVSR_ERR_ARGUMENT, "%s: options is NULL", fn);
    slimvsr_train_options run = o->run;
    if (run.lr < 0) run.lr = 0;
    const int rc = api_train_check(fn, &run);
    if (rc) return rc;
    if (o->scales < 1 || o->scales > 16 || o->warmup < 0 || o->zero_head < -1 || o->zero_head > 1 || o->group < 0 ||
        o->group > 64 || o->checkpoint_every < 1 || (o->supervised & ~1) || o->eval_pairs < 2)
        return api_fail(SLIMVSR_ERR_ARGUMENT, "%s: scales %d (1..16), warmup %ld (>= 0), zero_head %d (-1..1), group %d "
                        "(0..64), checkpoint_every %ld (>= 1), supervised %d (0 or 1), eval_pairs %d (>= 2)", fn,
                        o->scales, o->warmup, o->zero_head, o->group, o->checkpoint_every, o->supervised,
                        o->eval_pairs);
    if (!(o->smooth >= 0 && o->smooth <= 1000 && o->level_weight >= 0 && o->level_weight <= 1000 &&
          o->static_share >= 0 && o->static_share <= 1))
        return api_fail(SLIMVSR_ERR_ARGUMENT, "%s: smooth %g, level_weight %g (0..1000), static_share %g (0..1)", fn,
                        o->smooth, o->level_weight, o->static_share);
    return SLIMVSR_OK;
}

int slimvsr_train_flow(const slimvsr_train_flow_options *o) {
    const int rc = check(o);
    if (rc) return rc;
    sv_flowtrain_opts f;
    sv_flowtrain_opts_default(&f);
    const double photometric_lr = f.run.lr;
    api_run_to_sv(&f.run, &o->run);
    if (o->run.lr < 0) f.run.lr = o->supervised ? SV_FLOW_SUPERVISED_LR : photometric_lr;
#define TO(x) f.x = o->x;
    FLOW_FIELDS(TO)
    f.ckpt_every = o->checkpoint_every;
    sv_err e = {{0}};
    return sv_flow_train(&f, NULL, &e) ? api_fail_err(SLIMVSR_ERR_RUN, &e) : SLIMVSR_OK;
}
