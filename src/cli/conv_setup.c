// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// conv_setup.c: the environment's say in how convolutions run (cli.h), read once before any command.
//   SLIMVSR_CONV_ALGO (wino6|wino|wino7|wino7f4|dnnl|dnnl_auto|ref), SLIMVSR_CONV_BLK (8|16) and
//   SLIMVSR_CONV_ISA (avx2: no AVX-512 kernels of our own) force the backend, layout and instructions,
//   for benchmarks and comparisons (ops/conv.h); other values are ignored with a warning.
//   SLIMVSR_WISDOM names the wisdom file (ops/tune.h: each layer shape's backend measured once on this
//   CPU); "off" or empty: no measuring, the fixed rule. Unset: $XDG_CACHE_HOME/slimvsr/wisdom.txt, else
//   $HOME/.cache/slimvsr/wisdom.txt.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "pipeline/wisdom.h"
#include "ops/conv.h"

static sv_wisdom *g_wisdom;
static char g_path[4096];
static int g_save;  // 0: the file was not ours to write (unreadable, or not a wisdom file)

// The wisdom file's path, or 0 when measuring is off.
static int wisdom_path(void) {
    const char *env = getenv("SLIMVSR_WISDOM"), *cache = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
    int n = -1;
    if (env && (!*env || !strcmp(env, "off"))) return 0;
    if (env) n = snprintf(g_path, sizeof g_path, "%s", env);
    else if (cache && *cache) n = snprintf(g_path, sizeof g_path, "%s/slimvsr/wisdom.txt", cache);
    else if (home && *home) n = snprintf(g_path, sizeof g_path, "%s/.cache/slimvsr/wisdom.txt", home);
    return n > 0 && n < (int)sizeof g_path;
}

static void open_wisdom(void) {
    sv_err e;
    int skipped = 0;
    if (!wisdom_path() || !(g_wisdom = sv_wisdom_create(&e))) return;
    g_save = 1;
    if (sv_wisdom_load(g_wisdom, g_path, &skipped, &e)) {
        fprintf(stderr, "slimvsr: warning: %s; measuring without it, and not saving\n", e.msg);
        g_save = 0;
    } else if (skipped) {
        fprintf(stderr, "slimvsr: warning: %s: %d damaged line%s ignored (measured again)\n", g_path, skipped,
                skipped == 1 ? "" : "s");
    }
}

void cli_conv_setup(void) {
    const char *algo = getenv("SLIMVSR_CONV_ALGO"), *blk = getenv("SLIMVSR_CONV_BLK"),
               *isa = getenv("SLIMVSR_CONV_ISA");
    open_wisdom();
    sv_conv_config c = {.algo = algo && *algo ? algo : NULL,
                        .blk = blk && (!strcmp(blk, "8") || !strcmp(blk, "16")) ? atoi(blk) : 0,
                        .avx2_only = isa && !strcmp(isa, "avx2"),
                        .wisdom = g_wisdom};
    if (blk && *blk && !c.blk) fprintf(stderr, "slimvsr: warning: SLIMVSR_CONV_BLK=%s ignored (8 or 16)\n", blk);
    if (isa && *isa && !c.avx2_only) fprintf(stderr, "slimvsr: warning: SLIMVSR_CONV_ISA=%s ignored (avx2)\n", isa);
    sv_err e;
    if (sv_conv_configure(&c, &e)) {
        fprintf(stderr, "slimvsr: warning: SLIMVSR_CONV_ALGO ignored: %s\n", e.msg);
        c.algo = NULL;
        sv_conv_configure(&c, NULL);
    }
}

void cli_conv_finish(void) {
    const int n = g_wisdom ? sv_wisdom_measured(g_wisdom) : 0;
    sv_err e;
    if (n && g_save && sv_wisdom_save(g_wisdom, g_path, &e))
        fprintf(stderr, "slimvsr: warning: the measured convolution backends were not saved: %s\n", e.msg);
    else if (n && g_save)
        fprintf(stderr, "slimvsr: measured the fastest backends of %d layer shape%s on this CPU, kept in %s\n", n,
                n == 1 ? "" : "s", g_path);
    sv_wisdom_free(g_wisdom);
    g_wisdom = NULL;
}
