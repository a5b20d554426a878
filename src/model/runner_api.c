// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// runner_api.c: the runner interface of runner.h, shared by its implementations (runner_internal.h).
#include "model/runner_internal.h"

int sv_runner_run_chunk(sv_runner *r, const float *const *frames, int n, int n_emit, const float *prev,
                        sv_output_fn out, void *ud, sv_err *e) {
    if (n < 1 || n > r->max_frames || n_emit < 1 || n_emit > n || n_emit > r->max_emit)
        return sv_errf(e, "runner: %d frames (%d emitted), planned for 1..%d (%d emitted)", n, n_emit,
                       r->max_frames, r->max_emit);
    return r->impl->run_chunk(r, frames, n, n_emit, prev, out, ud, e);
}

int sv_runner_warm_up(sv_runner *r, const float *const *frames, int n, const float *prev, sv_err *e) {
    if (n < 1 || n > r->max_emit)
        return sv_errf(e, "runner: a warm-up over %d frames, planned for 1..%d", n, r->max_emit);
    return r->impl->warm_up(r, frames, n, prev, e);
}

int sv_runner_run(sv_runner *r, const float *const *frames, int n, sv_output_fn out, void *ud, sv_err *e) {
    return sv_runner_run_chunk(r, frames, n, n, NULL, out, ud, e);
}

void sv_runner_set_tap(sv_runner *r, sv_tap_fn tap, void *ud) {
    r->tap = tap;
    r->tap_ud = ud;
}

size_t sv_runner_bytes(const sv_runner *r) { return r->bytes; }

sv_runner_profile sv_runner_get_profile(const sv_runner *r) { return r->prof; }

const sv_prof_table *sv_runner_get_layers(const sv_runner *r) { return &r->table; }

void sv_runner_free(sv_runner *r) {
    if (r) r->impl->free(r);
}

void sv_runner_state_shape(const sv_runner *r, int *planes, size_t *plane_floats) {
    *planes = 0;
    *plane_floats = 0;
    if (r->impl->state_shape) r->impl->state_shape(r, planes, plane_floats);
}

void sv_runner_state_get(const sv_runner *r, int c0, int nc, float *chw) {
    if (r->impl->state_get) r->impl->state_get(r, c0, nc, chw);
}

void sv_runner_state_set(sv_runner *r, int c0, int nc, const float *chw) {
    if (r->impl->state_set) r->impl->state_set(r, c0, nc, chw);
}
