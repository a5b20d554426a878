// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// test_api.c: the public C API (include/slimvsr.h) as an application uses it: errors and their per-thread
// messages, loading from a file and from memory, the model's facts, and the streaming contract (which
// frames come out after which push, AGAIN, END, flush), frame formats and strides, callbacks. That the
// frames equal `slimvsr upscale`'s is tests/cli_api_example.sh.
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "slimvsr.h"
#include "testutil.h"

#define W 21
#define H 13
#define N 5
#define HR_BYTES ((size_t)16 * W * H * 3)

static const char *tiny(void) { return tu_data("tiny/tiny_basicvsr.pth"); }

// N LR frames of W x H: a pattern drifting by one pixel per frame.
static unsigned char *lr_frames(void) {
    unsigned char *f = malloc((size_t)N * W * H * 3);
    for (int i = 0; i < N; i++)
        for (int y = 0; y < H; y++)
            for (int x = 0; x < W; x++)
                for (int c = 0; c < 3; c++)
                    f[(((size_t)i * H + y) * W + x) * 3 + c] = (unsigned char)((x + i) * 37 + y * 11 + c * 70 + (x * y) % 7);
    return f;
}

static void test_version_and_errors(void) {
    CHECK(!strcmp(slimvsr_version(), SLIMVSR_VERSION_STRING));
    char v[32];
    snprintf(v, sizeof v, "%d.%d.%d", SLIMVSR_VERSION_MAJOR, SLIMVSR_VERSION_MINOR, SLIMVSR_VERSION_PATCH);
    CHECK(!strcmp(v, SLIMVSR_VERSION_STRING));
    slimvsr_model *m = (slimvsr_model *)1;
    CHECK(slimvsr_model_load(NULL, &m) == SLIMVSR_ERR_ARGUMENT && m == NULL);
    CHECK(strstr(slimvsr_last_error(), "path is NULL"));
    CHECK(slimvsr_model_load("/nonexistent/%s%n.pth", &m) == SLIMVSR_ERR_IO);
    CHECKF(strstr(slimvsr_last_error(), "/nonexistent/%s%n.pth: "), "message: %s", slimvsr_last_error());
    CHECK(slimvsr_model_load(tu_data("tiny"), &m) == SLIMVSR_ERR_IO);
    CHECK(strstr(slimvsr_last_error(), "is a directory"));
    CHECK(slimvsr_model_load(tu_data("tiny/manifest.json"), &m) == SLIMVSR_ERR_FORMAT);
    CHECKF(strstr(slimvsr_last_error(), "manifest.json"), "message: %s", slimvsr_last_error());
    CHECK(!strcmp(slimvsr_status_name(SLIMVSR_ERR_FORMAT), "SLIMVSR_ERR_FORMAT"));
    CHECK(!strcmp(slimvsr_status_name(12345), "unknown status"));
}

static void *fail_in_thread(void *arg) {
    slimvsr_model *m;
    slimvsr_model_load("/nonexistent/other-thread.pth", &m);
    return strstr(slimvsr_last_error(), "other-thread") ? arg : NULL;
}

// A failure on another thread leaves this thread's message as it was.
static void test_error_message_per_thread(void) {
    slimvsr_model *m;
    CHECK(slimvsr_model_load("/nonexistent/this-thread.pth", &m) == SLIMVSR_ERR_IO);
    pthread_t t;
    static int token;
    void *ok = NULL;
    CHECK(pthread_create(&t, NULL, fail_in_thread, &token) == 0 && pthread_join(t, &ok) == 0 && ok == &token);
    CHECKF(strstr(slimvsr_last_error(), "this-thread"), "message: %s", slimvsr_last_error());
}

static void test_info(void) {
    slimvsr_model *m;
    slimvsr_model_info a, b;
    CHECK(slimvsr_model_load(tiny(), &m) == SLIMVSR_OK);
    if (!m) return;
    slimvsr_model_info c;
    CHECK(slimvsr_model_get_info(m, 64, 32, &a) == SLIMVSR_OK && slimvsr_model_get_info(m, 64, 64, &b) == SLIMVSR_OK &&
          slimvsr_model_get_info(m, 64, 33, &c) == SLIMVSR_OK);
    CHECK(a.num_feat == 16 && a.num_block == 2 && a.scale == 4 && a.spynet == 1 && a.pruned == 0);
    // every float of weights.bin but SPyNet's mean and std (3 each) is a parameter
    size_t n = 0;
    free(tu_read_file(tu_data("tiny/weights.bin"), &n));
    CHECKF(a.params == (double)(n / 4 - 6), "params %.0f, weights.bin %zu floats", a.params, n / 4);
    CHECK(a.params_spynet > 0 && a.params_spynet < a.params);
    // twice the area, twice the FLOPs; SPyNet runs on frames rounded up to multiples of 32 (33 -> 64 rows)
    CHECK(a.flops_spynet > 0 && b.flops_spynet == 2 * a.flops_spynet && b.flops == 2 * a.flops);
    CHECKF(c.flops_spynet == b.flops_spynet && c.flops - c.flops_spynet > a.flops - a.flops_spynet, "%g %g", c.flops, b.flops);
    CHECK(slimvsr_model_get_info(m, 0, 36, &a) == SLIMVSR_ERR_ARGUMENT);
    CHECK(slimvsr_model_get_info(NULL, 64, 36, &a) == SLIMVSR_ERR_ARGUMENT);
    slimvsr_model_free(m);
}

typedef struct {
    int calls, last_in, last_out, info_lines;
} counts;

static void on_progress(void *user, int in, int out) {
    counts *c = user;
    c->calls++, c->last_in = in, c->last_out = out;
}

static void on_log(void *user, int level, const char *msg) {
    counts *c = user;
    c->info_lines += level == SLIMVSR_LOG_INFO && strstr(msg, "chunk 2, lookahead 1");
}

// Pulls every frame that is ready into out + k * HR_BYTES (RGB8, packed); returns how many, and the status
// of the last pull in *last.
static int pull_all(slimvsr_upscaler *u, unsigned char *out, int *k, int *last) {
    slimvsr_frame hr = {NULL, 4 * W, 4 * H, 0, SLIMVSR_RGB8};
    int n = 0;
    for (;;) {
        hr.data = out + (size_t)*k * HR_BYTES;
        if ((*last = slimvsr_upscaler_pull(u, &hr)) != SLIMVSR_OK) return n;
        n++, (*k)++;
    }
}

static slimvsr_upscaler *chunked(const slimvsr_model *m, counts *c) {
    slimvsr_upscaler_options o = slimvsr_upscaler_options_default();
    o.chunk = 2, o.lookahead = 1, o.progress = on_progress, o.progress_user = c;
    slimvsr_upscaler *u = NULL;
    CHECKF(slimvsr_upscaler_create(m, W, H, &o, &u) == SLIMVSR_OK, "%s", slimvsr_last_error());
    return u;
}

// Chunk 2 + lookahead 1: the network runs when 3 frames wait and emits 2; after flush, the rest.
static void test_streaming_contract(void) {
    slimvsr_model *m;
    CHECK(slimvsr_model_load(tiny(), &m) == SLIMVSR_OK);
    counts c = {0};
    slimvsr_set_log_callback(on_log, &c);
    slimvsr_upscaler *u = chunked(m, &c);
    slimvsr_set_log_callback(NULL, NULL);
    CHECK(c.info_lines == 1);
    unsigned char *lr = lr_frames(), *out = malloc(N * HR_BYTES);
    if (!u || !lr || !out) return;
    int cw, ch, chunk, la;
    CHECK(slimvsr_upscaler_get_plan(u, &chunk, &la, &cw, &ch) == SLIMVSR_OK);
    CHECK(chunk == 2 && la == 1 && cw == 4 * W && ch == 4 * H);
    const int want[N] = {0, 0, 2, 0, 2};
    int k = 0, last;
    for (int i = 0; i < N; i++) {
        slimvsr_frame f = {lr + (size_t)i * W * H * 3, W, H, 0, SLIMVSR_RGB8};
        CHECK(slimvsr_upscaler_push(u, &f) == SLIMVSR_OK);
        const int got = pull_all(u, out, &k, &last);
        CHECKF(got == want[i] && last == SLIMVSR_AGAIN, "after push %d: %d frames (want %d), status %d", i + 1, got,
               want[i], last);
    }
    CHECK(c.calls == 2 && c.last_in == 5 && c.last_out == 4);
    CHECK(slimvsr_upscaler_flush(u) == SLIMVSR_OK);
    CHECK(pull_all(u, out, &k, &last) == 1 && last == SLIMVSR_END && k == N);
    CHECK(slimvsr_upscaler_pull(u, &(slimvsr_frame){out, 4 * W, 4 * H, 0, SLIMVSR_RGB8}) == SLIMVSR_END);
    slimvsr_frame f = {lr, W, H, 0, SLIMVSR_RGB8};
    CHECK(slimvsr_upscaler_push(u, &f) == SLIMVSR_ERR_STATE && strstr(slimvsr_last_error(), "flushed"));
    slimvsr_upscaler_free(u);

    free(lr), free(out);
    slimvsr_model_free(m);
}

// The clip through an upscaler of chunk + lookahead, pulling after every push (eager), or only when a push
// is refused with AGAIN (the frame not taken) and after flush; *again counts the refusals.
static unsigned char *stream(const slimvsr_model *m, int chunk, int lookahead, int eager, int *again) {
    slimvsr_upscaler_options o = slimvsr_upscaler_options_default();
    o.chunk = chunk, o.lookahead = lookahead;
    slimvsr_upscaler *u;
    unsigned char *lr = lr_frames(), *out = malloc(N * HR_BYTES);
    CHECK(slimvsr_upscaler_create(m, W, H, &o, &u) == SLIMVSR_OK);
    int k = 0, last, rc = SLIMVSR_OK;
    *again = 0;
    for (int i = 0; i < N && rc == SLIMVSR_OK; i++) {
        slimvsr_frame g = {lr + (size_t)i * W * H * 3, W, H, 0, SLIMVSR_RGB8};
        while ((rc = slimvsr_upscaler_push(u, &g)) == SLIMVSR_AGAIN) ++*again, pull_all(u, out, &k, &last);
        if (eager) pull_all(u, out, &k, &last);
    }
    CHECK(rc == SLIMVSR_OK && slimvsr_upscaler_flush(u) == SLIMVSR_OK);
    pull_all(u, out, &k, &last);
    CHECKF(k == N && last == SLIMVSR_END, "%d frames, status %d", k, last);
    slimvsr_upscaler_free(u);
    free(lr);
    return out;
}

// Pushing without pulling: a push is refused with AGAIN when a full window waits behind frames not yet
// pulled (5 frames: never for chunk 2 + lookahead 1, once for 1 + 1, twice for 1 + 0); the frames that
// come out are the same.
static void test_push_again(void) {
    slimvsr_model *m;
    CHECK(slimvsr_model_load(tiny(), &m) == SLIMVSR_OK);
    const int plan[3][2] = {{2, 1}, {1, 1}, {1, 0}};
    for (int p = 0; p < 3; p++) {
        int again_eager, again_lazy;
        unsigned char *a = stream(m, plan[p][0], plan[p][1], 1, &again_eager),
                      *b = stream(m, plan[p][0], plan[p][1], 0, &again_lazy);
        CHECKF(!memcmp(a, b, N * HR_BYTES), "chunk %d lookahead %d: other frames", plan[p][0], plan[p][1]);
        CHECKF(again_eager == 0 && again_lazy == p, "chunk %d lookahead %d: AGAIN %d eager, %d lazy", plan[p][0], plan[p][1], again_eager, again_lazy);
        free(a), free(b);
    }
    slimvsr_model_free(m);
}

// One clip through an upscaler of the given formats and row padding (bytes past each row, filled with
// 0xAB, which must come back untouched on output); the HR frames, converted to packed RGB8.
static unsigned char *run_clip(const slimvsr_model *m, int in_format, int out_format, size_t pad) {
    slimvsr_upscaler_options o = slimvsr_upscaler_options_default();
    o.output_format = out_format;
    slimvsr_upscaler *u;
    if (slimvsr_upscaler_create(m, W, H, &o, &u)) {
        CHECKF(0, "%s", slimvsr_last_error());
        return NULL;
    }
    const size_t ipx = in_format == SLIMVSR_RGBF32 ? 12 : 3, opx = out_format == SLIMVSR_RGBF32 ? 12 : 3;
    const size_t istride = W * ipx + pad, ostride = 4 * W * opx + pad;
    unsigned char *lr = lr_frames(), *in = malloc(H * istride), *hr = malloc(4 * H * ostride),
                  *out = malloc(N * HR_BYTES);
    memset(in, 0xAB, H * istride), memset(hr, 0xAB, 4 * H * ostride);
    int k = 0, rc = SLIMVSR_OK;
    size_t touched = 0;  // padding bytes written by pull
    for (int i = 0; i <= N && rc != SLIMVSR_END; i++) {
        if (i < N) {
            for (int p = 0; p < W * H * 3; p++) {
                const unsigned char v = lr[(size_t)i * W * H * 3 + p];
                char *at = (char *)in + (size_t)(p / (3 * W)) * istride;
                if (ipx == 12) ((float *)at)[p % (3 * W)] = v / 255.0f;
                else at[p % (3 * W)] = (char)v;
            }
            CHECK(slimvsr_upscaler_push(u, &(slimvsr_frame){in, W, H, istride, in_format}) == SLIMVSR_OK);
        } else {
            CHECK(slimvsr_upscaler_flush(u) == SLIMVSR_OK);
        }
        while ((rc = slimvsr_upscaler_pull(u, &(slimvsr_frame){hr, 4 * W, 4 * H, ostride, out_format})) == SLIMVSR_OK) {
            for (int y = 0; y < 4 * H; y++) {
                const unsigned char *row = hr + y * ostride;
                for (int x = 0; x < 12 * W; x++) {
                    const float f = opx == 12 ? ((const float *)row)[x] : row[x] / 255.0f;
                    out[k * HR_BYTES + (size_t)y * 12 * W + x] = (unsigned char)(f <= 0 ? 0 : f >= 1 ? 255 : f * 255 + 0.5f);
                }
                for (size_t b = 4 * W * opx; b < ostride; b++) touched += row[b] != 0xAB;
            }
            k++;
        }
    }
    CHECK(k == N && rc == SLIMVSR_END);
    CHECKF(touched == 0, "pull wrote %zu bytes of the rows' padding", touched);
    slimvsr_upscaler_free(u);
    free(lr), free(in), free(hr);
    return out;
}

// RGB8 or float frames, packed or with padded rows: the same output (floats quantised as upscale does).
static void test_formats_and_strides(void) {
    slimvsr_model *m;
    CHECK(slimvsr_model_load(tiny(), &m) == SLIMVSR_OK);
    unsigned char *a = run_clip(m, SLIMVSR_RGB8, SLIMVSR_RGB8, 0), *b = run_clip(m, SLIMVSR_RGB8, SLIMVSR_RGB8, 7),
                  *c = run_clip(m, SLIMVSR_RGBF32, SLIMVSR_RGBF32, 16), *d = run_clip(m, SLIMVSR_RGBF32, SLIMVSR_RGB8, 0);
    CHECK(a && b && c && d);
    if (a && b && c && d) {
        CHECK(!memcmp(a, b, N * HR_BYTES));
        CHECK(!memcmp(a, d, N * HR_BYTES));
        size_t off = 0;  // float output is not rounded by the library: at most one step off after rounding here
        for (size_t i = 0; i < N * HR_BYTES; i++) off += abs(a[i] - c[i]) > 1;
        CHECKF(off == 0, "%zu bytes more than 1 apart", off);
    }
    free(a), free(b), free(c), free(d);
    slimvsr_model_free(m);
}

// A model from memory runs as the same file; a damaged one fails naming the memory, not a /proc path.
static void test_load_memory(void) {
    size_t n = 0;
    unsigned char *bytes = tu_read_file(tiny(), &n);
    slimvsr_model *a, *b;
    CHECK(bytes && slimvsr_model_load(tiny(), &a) == SLIMVSR_OK);
    CHECK(slimvsr_model_load_memory(bytes, n, &b) == SLIMVSR_OK);
    unsigned char *x = run_clip(a, SLIMVSR_RGB8, SLIMVSR_RGB8, 0), *y = run_clip(b, SLIMVSR_RGB8, SLIMVSR_RGB8, 0);
    CHECK(x && y && !memcmp(x, y, N * HR_BYTES));
    free(x), free(y);
    slimvsr_model_free(a), slimvsr_model_free(b);
    CHECK(slimvsr_model_load_memory(bytes, n / 2, &b) == SLIMVSR_ERR_FORMAT && b == NULL);
    CHECKF(strstr(slimvsr_last_error(), "(model in memory)") && !strstr(slimvsr_last_error(), "/proc/"), "message: %s",
           slimvsr_last_error());
    free(bytes);
}

static void test_bad_calls(void) {
    slimvsr_model *m;
    CHECK(slimvsr_model_load(tiny(), &m) == SLIMVSR_OK);
    slimvsr_upscaler *u = (slimvsr_upscaler *)1;
    CHECK(slimvsr_upscaler_create(m, 0, H, NULL, &u) == SLIMVSR_ERR_ARGUMENT && u == NULL);
    slimvsr_upscaler_options o = slimvsr_upscaler_options_default();
    o.output_format = 7;
    CHECK(slimvsr_upscaler_create(m, W, H, &o, &u) == SLIMVSR_ERR_ARGUMENT && strstr(slimvsr_last_error(), "output_format"));
    o = slimvsr_upscaler_options_default();
    o.chunk = 4, o.max_memory = 1000;
    CHECK(slimvsr_upscaler_create(m, W, H, &o, &u) == SLIMVSR_ERR_NO_MEMORY && strstr(slimvsr_last_error(), "max_memory"));
    CHECK(slimvsr_upscaler_create(NULL, W, H, NULL, &u) == SLIMVSR_OK);  // bicubic
    unsigned char *lr = lr_frames(), *hr = malloc(HR_BYTES);
    CHECK(slimvsr_upscaler_push(u, &(slimvsr_frame){lr, W + 1, H, 0, SLIMVSR_RGB8}) == SLIMVSR_ERR_ARGUMENT);
    CHECK(strstr(slimvsr_last_error(), "frame of 22x13, the upscaler's is 21x13"));
    CHECK(slimvsr_upscaler_push(u, &(slimvsr_frame){lr, W, H, 3 * W - 1, SLIMVSR_RGB8}) == SLIMVSR_ERR_ARGUMENT);
    CHECK(slimvsr_upscaler_push(u, &(slimvsr_frame){NULL, W, H, 0, SLIMVSR_RGB8}) == SLIMVSR_ERR_ARGUMENT);
    CHECK(slimvsr_upscaler_push(u, &(slimvsr_frame){lr, W, H, 0, SLIMVSR_RGB8}) == SLIMVSR_OK);
    CHECK(slimvsr_upscaler_pull(u, &(slimvsr_frame){hr, 4 * W, 4 * H, 0, SLIMVSR_RGBF32}) == SLIMVSR_ERR_ARGUMENT);
    CHECK(slimvsr_upscaler_pull(u, &(slimvsr_frame){hr, 4 * W, 4 * H, 0, SLIMVSR_RGB8}) == SLIMVSR_AGAIN);
    CHECK(slimvsr_upscaler_flush(u) == SLIMVSR_OK);
    CHECK(slimvsr_upscaler_pull(u, &(slimvsr_frame){hr, 4 * W, 4 * H, 0, SLIMVSR_RGB8}) == SLIMVSR_OK);
    CHECK(slimvsr_upscaler_pull(u, &(slimvsr_frame){hr, 4 * W, 4 * H, 0, SLIMVSR_RGB8}) == SLIMVSR_END);
    CHECK(slimvsr_upscaler_push(NULL, NULL) == SLIMVSR_ERR_ARGUMENT);
    slimvsr_upscaler_free(u);
    slimvsr_upscaler_free(NULL);
    slimvsr_model_free(NULL);
    slimvsr_model_free(m);
    free(lr), free(hr);
}

// The training options start at `slimvsr train`'s defaults (its --help); a run without a folder or data is
// refused before it creates anything.
static void test_train_options(void) {
    const slimvsr_train_options o = slimvsr_train_options_default();
    CHECK(o.feat == 64 && o.blocks == 30 && o.iters == 1000 && o.lr == 2e-4 && o.lr_min == 1e-7 && o.batch == 4);
    CHECK(o.seq == 7 && o.patch == 64 && o.degradation == SLIMVSR_DEGRADE_BI && o.log_every == 10 && o.seed == 0);
    CHECK(o.flow == SLIMVSR_FLOW_DEFAULT && o.val_every == 500 && o.val_rgb == 0 && o.spynet_lr_mult == 0.125);
    CHECK(o.direction == SLIMVSR_DIRECTION_DEFAULT);
    CHECK(o.act_slope > 0.099f && o.act_slope < 0.101f && o.ndata == 0 && !o.out && !o.stop && !o.resume);
    CHECK(slimvsr_train(NULL) == SLIMVSR_ERR_ARGUMENT);
    slimvsr_train_options bad = o;
    bad.lr = 2;
    CHECK(slimvsr_train(&bad) == SLIMVSR_ERR_ARGUMENT && strstr(slimvsr_last_error(), "lr 2"));
    bad = o, bad.direction = 2;
    CHECK(slimvsr_train(&bad) == SLIMVSR_ERR_ARGUMENT && strstr(slimvsr_last_error(), "direction 2"));
    bad = o, bad.ndata = 1;
    CHECK(slimvsr_train(&bad) == SLIMVSR_ERR_ARGUMENT && strstr(slimvsr_last_error(), "data[0] is NULL"));
    CHECK(slimvsr_train(&o) == SLIMVSR_ERR_RUN && strstr(slimvsr_last_error(), "no run folder (--out)"));
}

// The train-flow options start at `slimvsr train-flow`'s defaults (its --help), the run's part included.
static void test_train_flow_options(void) {
    const slimvsr_train_flow_options o = slimvsr_train_flow_options_default();
    CHECK(o.run.lr < 0 && o.run.lr_min == 1e-6 && o.run.batch == 8 && o.run.seq == 2 && o.run.iters == 1000);
    CHECK(o.smooth == 0.01 && o.scales == 4 && o.warmup == 20 && o.zero_head == -1 && o.group == 0);
    CHECK(o.checkpoint_every == 200 && o.supervised == 0 && !o.photos && o.eval_pairs == 64 && o.level_weight == 1);
    CHECK(slimvsr_train_flow(NULL) == SLIMVSR_ERR_ARGUMENT);
    slimvsr_train_flow_options bad = o;
    bad.scales = 17;
    CHECK(slimvsr_train_flow(&bad) == SLIMVSR_ERR_ARGUMENT && strstr(slimvsr_last_error(), "scales 17"));
    CHECK(slimvsr_train_flow(&o) == SLIMVSR_ERR_RUN && strstr(slimvsr_last_error(), "--out"));
}

// The pruning options start at `slimvsr prune`'s defaults (its --help), training part included.
static void test_prune_options(void) {
    const slimvsr_prune_options o = slimvsr_prune_options_default();
    CHECK(o.scheme == SLIMVSR_SCHEME_SSL && o.ratio == 0.5 && o.flops == 0 && o.global == 1 && o.round == 1);
    CHECK(o.params == 0 && o.recon_ratio == -1 && o.train.lr_hold == 0);
    CHECK(o.criterion_scale == 0 && o.sparsity_iters == 1000 && o.finetune_iters == 1000 && o.tf_weight == -1);
    CHECK(o.lambda_step == 1e-4 && o.lambda_every == 5 && o.lambda_max == 0.1 && o.scale_lr_mult == 1 && !o.model);
    CHECK(o.train.log_every == 1 && o.train.iters == 0 && o.train.lr == 2e-4 && o.train.val_every == 500);
    CHECK(slimvsr_prune(NULL) == SLIMVSR_ERR_ARGUMENT);
    slimvsr_prune_options bad = o;
    bad.scheme = 3;
    CHECK(slimvsr_prune(&bad) == SLIMVSR_ERR_ARGUMENT && strstr(slimvsr_last_error(), "scheme 3"));
    bad = o, bad.train.batch = 0;
    CHECK(slimvsr_prune(&bad) == SLIMVSR_ERR_RUN);
}

int main(void) {
    run_test("api_version_and_errors", test_version_and_errors);
    run_test("api_error_message_per_thread", test_error_message_per_thread);
    run_test("api_info", test_info);
    run_test("api_streaming_contract", test_streaming_contract);
    run_test("api_push_again", test_push_again);
    run_test("api_formats_and_strides", test_formats_and_strides);
    run_test("api_load_memory", test_load_memory);
    run_test("api_bad_calls", test_bad_calls);
    run_test("api_train_options", test_train_options);
    run_test("api_train_flow_options", test_train_flow_options);
    run_test("api_prune_options", test_prune_options);
    return test_summary();
}
