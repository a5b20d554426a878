// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// tune.h: backends chosen by measurement, remembered in "wisdom" (FFTW's word for it).
//
// With a wisdom table configured (sv_conv_config.wisdom), a conv plan or an RSC block plan whose algorithm
// is left to the library asks the table for its shape on this CPU. On a miss it checks every candidate
// backend against the naive reference on a small map of the same channels (a backend that disagrees is
// never used), times the ones that pass on the real shape (at most SV_TUNE_ROWS rows of it), keeps the
// fastest and records it. Later plans of the same shape, in this process or (once the caller has saved
// the table) in later ones, take the recorded choice at once. An entry holds for one CPU (model, family,
// ISA in use) and thread count: the file may hold several machines' entries side by side.
//
// Without a table the choice is the fixed rule measured once on a reference machine (conv_plan.c,
// rsc_block.c). The library never reads or writes the file by itself: pipeline/wisdom.h does, for the caller.
#pragma once
#include <stddef.h>

#include "core/error.h"

// Rows of the real shape a candidate is timed on: the time of a conv grows with its rows, its ranking
// barely does, and this bounds the cost of tuning a 4K layer.
enum { SV_TUNE_ROWS = 64 };

typedef struct sv_wisdom sv_wisdom;

// The text form's first line starts so (pipeline/wisdom.c recognises its files by it).
#define SV_WISDOM_HEAD "# slimvsr wisdom"

sv_wisdom *sv_wisdom_create(sv_err *e);
void sv_wisdom_free(sv_wisdom *w);

// The text form: '#' comments, then one entry per line: "KEY = ALGO MS", KEY being the kind, the CPU,
// the threads and the shape, ALGO a backend's name, MS its measured milliseconds. Lines that do not parse
// are dropped and counted in *skipped (so a damaged file costs a new measurement, never a wrong plan: an
// entry whose algorithm is no candidate for its shape is ignored when it is looked up). A later line with
// the key of an earlier one replaces it.
int sv_wisdom_parse(sv_wisdom *w, const char *text, int *skipped, sv_err *e);
// The whole table as text (malloc'd; the caller frees).
char *sv_wisdom_format(const sv_wisdom *w, sv_err *e);
// Entries added by measurement since the table was created.
int sv_wisdom_measured(const sv_wisdom *w);
size_t sv_wisdom_count(const sv_wisdom *w);

// This CPU as the wisdom keys name it: brand, family-model-stepping, and the ISA our kernels use
// ("avx512" or "avx2": sv_conv_config.avx2_only counts), with no spaces.
const char *sv_tune_cpu(void);

// ---- for the plans (conv_tune.c, rsc_tune.c) ----
// The configured table, or NULL (tuning off).
sv_wisdom *sv_tune_wisdom(void);

// A kind of plan's candidates, for sv_tune_pick: prepare checks candidate cand against the reference and
// makes it ready to run on the real shape (NULL when it cannot: with e saying why, *wrong = 1 when it ran
// but disagrees with the reference, which is worth a warning; 0 when it does not take the shape); run
// runs it once; release frees what prepare made.
typedef struct {
    void *(*prepare)(void *ctx, int cand, int *wrong, sv_err *e);
    int (*run)(void *ready, sv_err *e);
    void (*release)(void *ready);
} sv_tune_ops;
// Rounds of timed runs after one warm-up round; each round runs every candidate once, so that a burst of
// load elsewhere on the machine slows all of them alike. A candidate's best round counts.
enum { SV_TUNE_ROUNDS = 5 };

// The recorded choice for (kind, shape) on this CPU, else the fastest of the n candidates that prepare
// and run, recorded. names[i] is cand[i]'s name in the table. fallback when none runs, when tuning is off
// or suspended on this thread. A wrong candidate goes to sv_warnf, naming it and the shape. scale turns a
// run's seconds into the real shape's (a candidate may run on part of it) for the table.
int sv_tune_pick(const char *kind, const char *shape, const int *cand, const char *const *names, int n,
                 const sv_tune_ops *ops, void *ctx, double scale, int fallback);

// On this thread, while on: every pick returns its fallback (an RSC block's own convs while its candidates
// are measured).
void sv_tune_suspend(int on);

// The largest |a - b| over n floats against the largest |ref|: 0 when they agree within the tolerance a
// backend must meet (relative 1e-3 of the output's scale), else -1 with e saying by how much.
int sv_tune_agree(const float *a, const float *ref, size_t n, const char *what, sv_err *e);
// Fills x[n] with values in [-1, 1) from a fixed sequence seeded by seed (inputs and weights for checks
// and timings: deterministic, so a tuning run can be repeated).
void sv_tune_fill(float *x, size_t n, unsigned seed);
