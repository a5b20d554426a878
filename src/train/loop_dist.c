// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// loop_dist.c: the training loop's collectives over the ranks (loop_dist.h).
#include "train/loop_dist.h"

#include <string.h>

#include "train/dist.h"

// x[0..n) summed over the ranks, then divided by their number.
static int average(float *x, size_t n, int ranks, sv_err *e) {
    if (sv_dist_sum_floats(x, n, e)) return -1;
    const float k = 1.0f / (float)ranks;
    for (size_t i = 0; i < n; i++) x[i] *= k;
    return 0;
}

int sv_run_dist_average(const sv_step *st, sv_run *r, double *v, int nv, int *stop, sv_err *e) {
    if (r->ranks < 2) return 0;
    size_t n = 0, nx = 0;
    float *g = st->gradient(st->ud, &n), *gx = NULL;
    if (st->extra) st->extra(st->ud, &gx, &nx);
    double s[2 + SV_STEP_MAX_TERMS];  // the loss, the terms, the stop flag
    memcpy(s, v, (size_t)nv * sizeof *s);
    s[nv] = *stop;
    if (average(g, n, r->ranks, e) || (nx && average(gx, nx, r->ranks, e)) || sv_dist_sum_doubles(s, (size_t)nv + 1, e))
        return sv_errprefix(e, "iteration %ld", r->iter + 1);
    for (int i = 0; i < nv; i++) v[i] = s[i] / r->ranks;
    *stop = s[nv] > 0;
    return 0;
}

// FNV-1a over n floats' bytes, continuing from h: any difference in any bit shows.
static uint64_t checksum(uint64_t h, const float *x, size_t n) {
    const unsigned char *b = (const unsigned char *)x;
    for (size_t i = 0; i < n * sizeof *x; i++) h = (h ^ b[i]) * 0x100000001b3ull;
    return h;
}

int sv_run_dist_check_weights(const sv_step *st, const sv_run *r, sv_err *e) {
    if (r->ranks < 2) return 0;
    float *grad, *x = NULL;
    size_t nx = 0;
    if (st->extra) x = st->extra(st->ud, &grad, &nx);
    const uint64_t mine = checksum(checksum(0xcbf29ce484222325ull, r->m.params, r->m.nparams), x, nx);
    uint64_t first = mine;
    double differ = 0;
    if (sv_dist_broadcast(&first, sizeof first, e)) return sv_errprefix(e, "iteration %ld: weights check", r->iter);
    differ = first != mine;
    if (sv_dist_sum_doubles(&differ, 1, e)) return sv_errprefix(e, "iteration %ld: weights check", r->iter);
    if (differ == 0) return 0;
    return sv_errf(e, "iteration %ld: the weights of %.0f rank%s differ from rank 0's (this is rank %d of %d: %s); "
                      "the ranks diverged, resume from the last checkpoint",
                   r->iter, differ, differ == 1 ? "" : "s", r->rank, r->ranks, first == mine ? "same" : "different");
}
