// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// trainer_plan.c: train's plan, its memory estimate per --recompute setting (--dry-run) and the check
// that a run fits in the memory available (trainer_step.h).
#include <stdio.h>

#include "core/memory.h"
#include "train/trainer_step.h"

void sv_vsr_plan(void *ud, sv_run *r, sv_msg_kind kind) {
    const sv_vsr_step *v = ud;
    const sv_run_opts *o = r->o;
    const sv_model *m = &r->m;
    sv_run_say(o, kind, "model: %d features, %d blocks, %s, flow %s, direction %s, %zu parameters (%zu without "
               "SPyNet)", m->num_feat, m->num_block, m->act_slope > 0 ? "LeakyReLU 0.1" : "ReLU",
               sv_uses_spynet(m) ? "SPyNet" : "zero (SPyNet unused)",
               sv_is_uni(m) ? "uni (forward branch only)" : "bi", m->nparams, m->nparams - v->nspy);
    char hold[48] = "";
    if (o->lr_hold > 0) snprintf(hold, sizeof hold, " (held for %ld)", o->lr_hold);
    sv_run_say(o, kind, "steps: %ld iterations of %d clips x %d frames, LR patch %d (GT %d), lr %.3g%s -> %.3g "
                        "cosine, SPyNet frozen for %ld then lr x %.3g%s", o->iters, o->batch, o->seq, o->patch,
               SV_SCALE * o->patch, o->lr, hold, o->lr_min, v->o.spynet_freeze, v->o.spynet_lr_mult,
               v->o.ema > 0 ? ", EMA on" : "");
}

// Bytes a run holds besides its graph: weights, gradients, Adam's two moments, the EMA, one batch (LR + GT)
static size_t fixed_bytes(const sv_vsr_step *v, const sv_run *r) {
    const sv_run_opts *o = r->o;
    return r->m.nparams * sizeof(float) * (4 + (v->o.ema > 0)) +
           (size_t)o->batch * o->seq * 3 * (1 + SV_SCALE * SV_SCALE) * o->patch * o->patch * sizeof(float);
}

// What the run needs with --recompute k: its graph (sv_trainnet_estimate) and fixed_bytes
static size_t run_bytes(const sv_vsr_step *v, const sv_run *r, int k) {
    const sv_run_opts *o = r->o;
    const sv_net_cfg c = {.batch = o->batch, .seq = o->seq, .h = o->patch, .w = o->patch, .recompute = k};
    return sv_trainnet_estimate(v->graph ? v->graph : &r->m, &c) + fixed_bytes(v, r);
}

void sv_vsr_dry_run(void *ud, sv_run *r) {
    const sv_vsr_step *v = ud;
    sv_run_say(r->o, SV_MSG_OUTPUT, "memory (activations + buffers, plus %.1f MB of weights, gradients, Adam, batch):",
               fixed_bytes(v, r) / 1048576.0);
    const int ks[] = {0, 1, 2, 3, 5, 10};
    for (size_t i = 0; i < sizeof ks / sizeof *ks; i++) {
        if (ks[i] > r->m.num_block) break;
        sv_run_say(r->o, SV_MSG_OUTPUT, "  --recompute %-2d %8.1f MB%s", ks[i], run_bytes(v, r, ks[i]) / 1048576.0,
                   ks[i] == 0 ? "  (keep everything)" : "");
    }
}

int sv_vsr_check_memory(const sv_vsr_step *v, const sv_run *r, sv_err *e) {
    const sv_run_opts *o = r->o;
    const sv_mem_avail av = sv_mem_available();
    const size_t need = run_bytes(v, r, v->o.recompute);
    if (need <= av.bytes) return 0;
    char x[32], y[128], z[32], alt[80] = "";
    for (int k = 1; k <= r->m.num_block && !alt[0]; k++) {
        const size_t b = run_bytes(v, r, k);
        if (k != v->o.recompute && b <= av.bytes)
            snprintf(alt, sizeof alt, "--recompute %d (about %s), or ", k, sv_mem_format(b, z, sizeof z));
    }
    return sv_errf(e, "%s: training needs about %s (--batch %d, --seq %d, --patch %d, --recompute %d); %s: use %sa "
                   "smaller --batch, --seq or --patch", o->out, sv_mem_format(need, x, sizeof x), o->batch, o->seq,
                   o->patch, v->o.recompute, sv_mem_describe(av, y, sizeof y), alt);
}
