// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// ssl_train.c: sparsity learning around a training step, and the temporal-finetuning teacher.
#include "prune/ssl_train.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/layout.h"
#include "train/optim.h"

int sv_ssl_begin(sv_ssl_state *s, sv_model *base, const sv_select_opts *sel, int score_by_scale,
                 const unsigned char *pruned, sv_err *e) {
    memset(s, 0, sizeof *s);
    s->base = base;
    s->lambda_every = 5;
    s->lambda_step = 1e-4f;
    s->lambda_max = 0.1f;
    if (sv_units_build(&s->u, base, e)) return -1;
    if (pruned) {
        memcpy(s->u.pruned, pruned, s->u.nunits);
    } else {
        if (score_by_scale) sv_units_score_scale(&s->u);
        else sv_units_score_l1(&s->u, base);
        if (sv_units_select(&s->u, sel, e) < 0) goto fail;
    }
    if (sv_model_clone(base, &s->eff, e)) goto fail;
    if (!(s->dscale = sv_calloc(s->u.nunits, sizeof(float), e)) ||
        !(s->adam_m = sv_calloc(s->u.nunits, sizeof(float), e)) || !(s->adam_v = sv_calloc(s->u.nunits, sizeof(float), e)))
        goto fail;
    return 0;
fail:
    sv_ssl_end(s);
    return -1;
}

int sv_ssl_before_step(sv_ssl_state *s, long iter, sv_err *e) {
    sv_units_lambda_step(&s->u, iter, s->lambda_every, s->lambda_step, s->lambda_max);
    return sv_units_apply(&s->u, s->base, s->eff.params, e);
}

int sv_ssl_after_backward(sv_ssl_state *s, float *grads, sv_err *e) {
    memset(s->dscale, 0, s->u.nunits * sizeof(float));
    return sv_units_backward(&s->u, s->base, grads, s->dscale, e);
}

void sv_ssl_update(sv_ssl_state *s, double lr) {
    s->last_penalty = sv_units_penalty(&s->u, s->dscale);
    s->step++;
    sv_adam_step(s->u.scale, s->dscale, s->adam_m, s->adam_v, s->u.nunits, (float)lr, SV_ADAM_B1, SV_ADAM_B2, SV_ADAM_EPS,
                 s->step);
}

static const char *const k_names[5] = {"prune.scale", "prune.lambda", "prune.adam_m", "prune.adam_v", "prune.chosen"};

int sv_ssl_save(const sv_ssl_state *s, sv_tensor_set *ts, sv_err *e) {
    const size_t n = s->u.nunits;
    float *chosen = sv_malloc(n * sizeof(float) + 1, e);
    if (!chosen) return -1;
    for (size_t j = 0; j < n; j++) chosen[j] = s->u.pruned[j];
    const float *v[5] = {s->u.scale, s->u.lambda, s->adam_m, s->adam_v, chosen};
    int rc = 0;
    for (int i = 0; i < 5 && !rc; i++) rc = sv_tensor_set_add_flat(ts, k_names[i], v[i], n, e);
    free(chosen);
    char meta[64];
    snprintf(meta, sizeof meta, "{\"step\": %ld}", s->step);
    return rc ? rc : sv_tensor_set_set_meta(ts, "prune", meta, e);
}

int sv_ssl_restore(sv_ssl_state *s, sv_tensor_set *ts, const char *what, sv_err *e) {
    const size_t n = s->u.nunits;
    float *dst[4] = {s->u.scale, s->u.lambda, s->adam_m, s->adam_v};
    const char *meta = sv_tensor_set_get_meta(ts, "prune");
    const char *st = meta ? strstr(meta, "\"step\":") : NULL;
    if (!st) return sv_errf(e, "%s: no sparsity-learning state (prune.*) in this checkpoint", what);
    s->step = strtol(st + 7, NULL, 10);
    for (int i = 0; i < 5; i++) {
        int64_t got = 0;
        float *v = sv_tensor_set_take(ts, k_names[i], &got);
        if (!v || (size_t)got != n) {
            free(v);
            return sv_errf(e, "%s: %s missing or not %zu values (the units of this model)", what, k_names[i], n);
        }
        if (i < 4) memcpy(dst[i], v, n * sizeof(float));
        else
            for (size_t j = 0; j < n; j++) s->u.pruned[j] = v[j] != 0.0f;
        free(v);
    }
    return 0;
}

void sv_ssl_end(sv_ssl_state *s) {
    sv_units_free(&s->u);
    if (s->eff.params) sv_model_free(&s->eff);
    free(s->dscale), free(s->adam_m), free(s->adam_v);
    memset(s, 0, sizeof *s);
}

// ---- temporal finetuning ----
// |d| summed over one entry pair, its sign gradient (scaled by g) added to *ds.
static inline double tf_term(float s, float te, float *ds, float g) {
    const float d = s - te;
    if (ds) *ds += d > 0 ? g : d < 0 ? -g : 0.0f;
    return fabsf(d);
}

static double tf_hook(void *ud, int branch, int frame, const float *state, float *dstate, size_t n) {
    sv_tf_state *t = ud;
    const float *teacher = sv_trainnet_state(t->teacher, branch, frame, NULL);
    const float g = (float)(t->weight / t->count);
    const int *map = t->map[branch];
    double sum = 0;
    if (!map) {  // the same layout: entry for entry (padding channels are 0 in both)
        for (size_t i = 0; i < n; i++) sum += tf_term(state[i], teacher[i], dstate ? dstate + i : NULL, g);
    } else {
        const size_t hw = (size_t)t->h * t->w, fs = sv_fmap_floats(t->sc, t->h, t->w, t->blk),
                     ft = sv_fmap_floats(t->tc, t->h, t->w, t->blk);
        for (size_t s = 0; s < n / fs; s++)
            for (int c = 0; c < t->sc; c++) {
                const size_t is = s * fs + sv_fmap_index(c, 0, 0, t->h, t->w, t->blk);
                const size_t it = s * ft + sv_fmap_index(map[c], 0, 0, t->h, t->w, t->blk);
                for (size_t p = 0; p < hw; p++) {
                    const size_t o = p * (size_t)t->blk;
                    sum += tf_term(state[is + o], teacher[it + o], dstate ? dstate + is + o : NULL, g);
                }
            }
    }
    t->last += sum / t->count;
    return t->weight * sum / t->count;
}

int sv_tf_begin(sv_tf_state *t, const sv_model *teacher, const sv_net_cfg *c, float weight, sv_err *e) {
    memset(t, 0, sizeof *t);
    t->weight = weight;
    t->seq = c->seq;
    t->teacher = sv_trainnet_create(teacher, c, e);
    return t->teacher ? 0 : -1;
}

int sv_tf_prepare(sv_tf_state *t, sv_trainnet *student, const float *lr, sv_err *e) {
    size_t ns, nt, nbs, nbt;  // the forward branch's state (every model has one), the backward branch's
    int h2, w2, blk2;
    sv_trainnet_state(student, SV_BRANCH_FORWARD, 0, &ns);
    sv_trainnet_state(t->teacher, SV_BRANCH_FORWARD, 0, &nt);
    sv_trainnet_state(student, SV_BRANCH_BACKWARD, 0, &nbs);
    sv_trainnet_state(t->teacher, SV_BRANCH_BACKWARD, 0, &nbt);
    if (!nbs != !nbt) return sv_errf(e, "temporal finetuning: teacher and student differ in direction (bi, uni)");
    const int b0 = nbs ? SV_BRANCH_BACKWARD : SV_BRANCH_FORWARD;  // the branches both have
    sv_trainnet_state_shape(student, &t->sc, &t->h, &t->w, &t->blk);
    sv_trainnet_state_shape(t->teacher, &t->tc, &h2, &w2, &blk2);
    if (h2 != t->h || w2 != t->w || blk2 != t->blk) return sv_errf(e, "temporal finetuning: teacher and student differ in shape");
    for (int b = b0; b < 2; b++)
        for (int c = 0; t->map[b] && c < t->sc; c++)
            if (t->map[b][c] < 0 || t->map[b][c] >= t->tc)
                return sv_errf(e, "temporal finetuning: channel map entry %d is outside the teacher's %d", t->map[b][c], t->tc);
    if ((!t->map[b0] || !t->map[SV_BRANCH_FORWARD]) && (t->sc != t->tc || ns != nt))
        return sv_errf(e, "temporal finetuning: the student's hidden state has %d channels, the teacher's %d, and no "
                          "channel map says which teacher channel each one was kept from", t->sc, t->tc);
    t->count = (2 - b0) * (double)t->seq * (double)(ns / sv_fmap_floats(t->sc, t->h, t->w, t->blk)) * t->sc *
               (double)t->h * t->w;
    t->last = 0;
    if (sv_trainnet_forward_states(t->teacher, lr, e)) return -1;
    sv_trainnet_set_state_loss(student, tf_hook, t);
    return 0;
}

void sv_tf_end(sv_tf_state *t) {
    sv_trainnet_free(t->teacher);
    memset(t, 0, sizeof *t);
}
