// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// testutil.h: a tiny test harness. Each test binary calls TEST(name) blocks through run_test(); every
// check that fails prints file:line and marks the current test failed. main() ends with test_summary(),
// which prints "PASS name" / "FAIL name" lines that tests/run.sh counts.
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "model/basicvsr.h"

extern int tu_failed_checks;

void tu_fail(const char *file, int line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#define CHECK(cond)                                                    \
    do {                                                               \
        if (!(cond)) tu_fail(__FILE__, __LINE__, "check failed: %s", #cond); \
    } while (0)
#define CHECKF(cond, ...)                                  \
    do {                                                   \
        if (!(cond)) tu_fail(__FILE__, __LINE__, __VA_ARGS__); \
    } while (0)

// Runs fn, prints PASS/FAIL with its name.
void run_test(const char *name, void (*fn)(void));
// Returns the process exit code: 0 when every test passed.
int test_summary(void);

// Path of a file in the test data folder (tests/data, or $SLIMVSR_TESTDATA). Static buffer, rotating.
const char *tu_data(const char *name);
// Reads a whole file (malloc'd, *n bytes); NULL after a failed check.
void *tu_read_file(const char *path, size_t *n);
// Reads a whole raw float32 (or float64 converted to float32 when is_f64) file; count is checked
// against expect_count when expect_count > 0. Returns malloc'd data or NULL after a failed check.
float *tu_read_f32(const char *path, size_t expect_count);
double *tu_read_f64(const char *path, size_t expect_count);
// Max |a-b| over n floats.
double tu_max_abs_diff(const float *a, const float *b, size_t n);
// Deterministic uniform random floats in [lo, hi).
void tu_fill_uniform(float *x, size_t n, float lo, float hi, uint64_t *state);
// Creates a fresh empty temporary folder for a test; returns its path (4 rotating static buffers).
// run_test removes the folders of a test that passed and keeps those of a failed one.
const char *tu_tmpdir(void);
// "dir/name" in one of 64 rotating static buffers (dir may be an earlier result).
const char *tu_join(const char *dir, const char *name);
// A runner's output callback (sv_runner_run's, ud a tu_frames): copies each band of output frame `index`
// into its rows of out + index * frame.
typedef struct {
    float *out;
    size_t frame;  // floats per output frame
    int w4;        // its width
} tu_frames;
int tu_collect_frame(void *ud, int index, int y0, int rows, const float *chw, sv_err *e);
// A band (model/runner.h: sv_output_fn) into its rows of frame (frame_floats floats, [3, H, w4]).
void tu_band(float *frame, size_t frame_floats, int w4, int y0, int rows, const float *chw);
// A random BasicVSR of feat x blocks (LeakyReLU, train/model_init.h) from seed; 0, or -1 after a failed check.
int tu_random_model(sv_model *m, int feat, int blocks, uint64_t seed);
// The same with a direction (SV_DIR_UNI: the forward branch alone).
int tu_random_model_dir(sv_model *m, int feat, int blocks, sv_direction dir, uint64_t seed);
// Makes m's residual blocks matter: their weights x10 (they start near identity, x0.1) and random biases in
// [-0.1, 0.1) from seed.
void tu_boost_blocks(sv_model *m, uint64_t seed);
// Zeroes hidden channel c of branch d (t = 0 backward, 1 forward) wherever it is written: conv_first's row
// and every block's conv2 row (weights and bias), so the channel stays 0 along the whole recurrence.
void tu_zero_hidden_channel(sv_model *m, int d, int c);
