// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// prune.c: slimvsr_prune, `slimvsr prune` as a call: the public options onto sv_prune_opts (prune/prune.h),
// the training part through train.c's mapping; sv_prune checks the rest itself.
#include "api/api_train.h"
#include "prune/prune.h"

_Static_assert(SLIMVSR_SCHEME_SSL == (int)SV_SCHEME_SSL && SLIMVSR_SCHEME_L1_ALIGNED == (int)SV_SCHEME_L1_ALIGNED &&
                   SLIMVSR_SCHEME_L1_KEEP_LAST == (int)SV_SCHEME_L1_KEEP_LAST, "prune schemes");

// The fields of the same name and meaning in slimvsr_prune_options and sv_prune_opts.
#define PRUNE_FIELDS(X) X(model) X(ratio) X(flops) X(params) X(recon_ratio) X(global) X(criterion_scale) X(round) X(sparsity_iters) \
    X(finetune_iters) X(tf_weight) X(lambda_step) X(lambda_max) X(scale_lr_mult) X(lambda_every)

slimvsr_prune_options slimvsr_prune_options_default(void) {
    sv_prune_opts p;
    sv_prune_opts_default(&p);
    slimvsr_prune_options o;
    api_train_from_sv(&o.train, &p.train);
#define FROM(f) o.f = p.f;
    PRUNE_FIELDS(FROM)
    o.scheme = (int)p.scheme;
    return o;
}

// What `slimvsr prune` refuses while parsing its arguments and sv_prune does not check (cmd_prune.c).
static int check(const slimvsr_prune_options *o) {
    static const char fn[] = "slimvsr_prune";
    if (!o) return api_fail(SLIMVSR_ERR_ARGUMENT, "%s: options is NULL", fn);
    const int rc = api_train_check(fn, &o->train);
    if (rc) return rc;
    if (o->scheme < SLIMVSR_SCHEME_SSL || o->scheme > SLIMVSR_SCHEME_L1_KEEP_LAST || (o->global & ~1) ||
        (o->criterion_scale & ~1) || o->lambda_every < 1)
        return api_fail(SLIMVSR_ERR_ARGUMENT, "%s: scheme %d (slimvsr_prune_scheme), global %d, criterion_scale %d "
                        "(0 or 1), lambda_every %d (>= 1)", fn, o->scheme, o->global, o->criterion_scale, o->lambda_every);
    if (!(o->lambda_step >= 0 && o->lambda_step <= 10 && o->lambda_max >= 0 && o->lambda_max <= 1e3 &&
          o->scale_lr_mult >= 1e-6 && o->scale_lr_mult <= 1e6 && o->tf_weight <= 1e6))
        return api_fail(SLIMVSR_ERR_ARGUMENT, "%s: lambda_step %g (0..10), lambda_max %g (0..1000), scale_lr_mult %g "
                        "(1e-6..1e6), tf_weight %g (<= 1e6)", fn, o->lambda_step, o->lambda_max, o->scale_lr_mult,
                        o->tf_weight);
    return SLIMVSR_OK;
}

int slimvsr_prune(const slimvsr_prune_options *o) {
    const int rc = check(o);
    if (rc) return rc;
    sv_prune_opts p;
    sv_prune_opts_default(&p);
    api_train_to_sv(&p.train, &o->train);
#define TO(f) p.f = o->f;
    PRUNE_FIELDS(TO)
    p.scheme = (sv_prune_scheme)o->scheme;
    sv_err e = {{0}};
    return sv_prune(&p, &e) ? api_fail_err(SLIMVSR_ERR_RUN, &e) : SLIMVSR_OK;
}
