// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// main.c: `slimvsr <command> ...` dispatch and the shared option helpers.
#include <ctype.h>
#include <errno.h>
#include <omp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "core/warn.h"
#include "io/atomic_file.h"
#include "train/dist.h"
#include "slimvsr.h"

static void usage(FILE *f) {
    fprintf(f,
            "slimvsr %s: BasicVSR x4 video super-resolution in C\n"
            "\n"
            "usage: slimvsr <command> [options]\n"
            "  upscale -m MODEL INPUT OUTPUT   upscale a video or a folder of PNG/JPEG frames x4\n"
            "  info MODEL [--size HxW] [--json] layers, channels, parameters and FLOPs per frame\n"
            "       [--profile [--frames N]]   and the time of every layer on N random frames\n"
            "  convert IN.pth OUT.safetensors  import a PyTorch checkpoint into the native format\n"
            "  eval -m MODEL --lr LR --gt GT   PSNR/SSIM of the model's output per clip and the mean\n"
            "  train --data DIR --out RUN_DIR   train BasicVSR on clips (see slimvsr train --help)\n"
            "  train-flow --data DIR --out RUN_DIR  pretrain SPyNet without ground-truth flow\n"
            "  prune -m MODEL --data DIR --out RUN_DIR  SSL: make a trained model smaller and faster\n"
            "\n"
            "`slimvsr <command> --help` describes each command; --version (also after a command) prints the\n"
            "version.\n",
            slimvsr_version());
}

int cli_parse_long(const char *cmd, const char *opt, const char *s, long min, long *out) {
    char *end = NULL;
    long v = s ? strtol(s, &end, 10) : 0;
    if (!s || !*s || *end || v < min) {
        fprintf(stderr, "slimvsr %s: %s needs an integer >= %ld\n", cmd, opt, min);
        return -1;
    }
    *out = v;
    return 0;
}

int cli_parse_double(const char *cmd, const char *opt, const char *s, double min, double max, double *out) {
    char *end = NULL;
    double v = s ? strtod(s, &end) : 0;
    if (!s || !*s || *end || !(v >= min && v <= max)) {
        fprintf(stderr, "slimvsr %s: %s needs a number in [%g, %g]\n", cmd, opt, min, max);
        return -1;
    }
    *out = v;
    return 0;
}

int cli_parse_int(const char *opt, const char *s, int min, int max) {
    if (!s) {
        fprintf(stderr, "slimvsr: %s needs a value\n", opt);
        return -1;
    }
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < min || v > max) {
        fprintf(stderr, "slimvsr: %s expects an integer in [%d, %d], got '%s'\n", opt, min, max, s);
        return -1;
    }
    return (int)v;
}

float cli_parse_act(const char *s) {
    if (!s) {
        fprintf(stderr, "slimvsr: --act needs a value (relu or leaky)\n");
        return -2;
    }
    float slope;
    if (!strcmp(s, "relu")) return 0.0f;
    if (!strcmp(s, "leaky")) return SV_LEAKY_SLOPE;
    if (!sv_act_parse(s, &slope)) return slope;
    fprintf(stderr, "slimvsr: --act expects relu or leaky, got '%s'\n", s);
    return -2;
}

// A two-valued option's bad value: the message naming cmd, opt and both names; -1.
static int bad_two(const char *cmd, const char *opt, const char *s, const char *name0, const char *name1) {
    fprintf(stderr, "slimvsr %s: %s expects %s or %s, got '%s'\n", cmd, opt, name0, name1, s ? s : "");
    return -1;
}

int cli_parse_flow(const char *cmd, const char *s) {
    sv_flow_kind flow;
    if (s && !sv_flow_parse(s, &flow)) return (int)flow;
    return bad_two(cmd, "--flow", s, sv_flow_name(SV_FLOW_SPYNET), sv_flow_name(SV_FLOW_ZERO));
}

int cli_parse_direction(const char *cmd, const char *s) {
    sv_direction dir;
    if (s && !sv_direction_parse(s, &dir)) return (int)dir;
    return bad_two(cmd, "--direction", s, sv_direction_name(SV_DIR_BI), sv_direction_name(SV_DIR_UNI));
}

void cli_set_threads(int n) {
    if (n <= 0) {
        long c = sysconf(_SC_NPROCESSORS_ONLN);
        n = c > 0 ? (int)c : 1;
    }
    omp_set_num_threads(n);
}

int cli_parse_bytes(const char *cmd, const char *opt, const char *s, size_t min, size_t *out) {
    char *end = NULL;
    double v = s ? strtod(s, &end) : -1;
    int shift = 0;
    if (end && end != s && *end) {
        const char *units = "KMGT", *u = strchr(units, toupper((unsigned char)*end));
        shift = u ? 10 * (int)(u - units + 1) : -1;
        if (u && (end[1] == 'B' || end[1] == 'b') && !end[2]) end++;
        if (!u || end[1]) shift = -1;
    }
    const double bytes = v * (double)((uint64_t)1 << (shift > 0 ? shift : 0));
    if (!end || end == s || shift < 0 || !(bytes >= (double)min) || bytes >= 0x1p62) {
        fprintf(stderr, "slimvsr %s: %s needs a size of at least %zu MB, like 3G or 800M (got '%s')\n", cmd, opt,
                min >> 20, s ? s : "");
        return -1;
    }
    *out = (size_t)bytes;
    return 0;
}

void cli_job_args_default(cli_job_args *j) { *j = (cli_job_args){.lookahead = -1, .act = -1}; }

int cli_job_option(const char *cmd, cli_job_args *j, const char *a, const char *v, int *takes) {
    *takes = 1;
    if (!strcmp(a, "-m") || !strcmp(a, "--model")) {
        if (!v) return fprintf(stderr, "slimvsr %s: %s needs a value\n", cmd, a), -1;
        j->model = v;
    } else if (!strcmp(a, "--chunk")) {
        if ((j->chunk = cli_parse_int(a, v, 1, 1000000)) < 0) return -1;
    } else if (!strcmp(a, "--lookahead")) {
        if ((j->lookahead = cli_parse_int(a, v, 0, 100000)) < 0) return -1;
    } else if (!strcmp(a, "--max-memory")) {
        if (cli_parse_bytes(cmd, a, v, (size_t)16 << 20, &j->max_memory)) return -1;
    } else if (!strcmp(a, "--threads")) {
        if ((j->threads = cli_parse_int(a, v, 1, 4096)) < 0) return -1;
    } else if (!strcmp(a, "--act")) {
        if ((j->act = cli_parse_act(v)) < -1) return -1;
    } else if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) {
        j->quiet = 1, *takes = 0;
    } else {
        return *takes = 0, 0;
    }
    return 1;
}

int cli_run_option(const char *cmd, const char *a, const char *v, int *threads, int *resume, int *quiet, int *takes) {
    *takes = 0;
    if (!strcmp(a, "--threads")) {
        if ((*threads = cli_parse_int(a, v, 1, 4096)) < 0) return -1;  // as upscale: libgomp fails far beyond
        *takes = 1;
    } else if (!strcmp(a, "--resume")) {
        *resume = 1;
    } else if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) {
        *quiet = 1;
    } else {
        return 0;
    }
    return 1;
}

// The library's warnings (core/warn.h) on stderr, one line each.
static void print_warning(void *ud, const char *msg) { fprintf(stderr, "slimvsr: warning: %s\n", msg); }

static void on_fatal_signal(int sig) {
    sv_atomic_remove_temporaries();
    signal(sig, SIG_DFL);
    raise(sig);
}

void cli_remove_temporaries_on_signal(void) {
    signal(SIGINT, on_fatal_signal);
    signal(SIGTERM, on_fatal_signal);
    signal(SIGHUP, on_fatal_signal);
}

static volatile sig_atomic_t g_stop_requested;

static void on_stop_signal(int sig) {
    g_stop_requested = 1;
    signal(SIGINT, on_fatal_signal);  // a second Ctrl-C stops at once (the last checkpoint stays)
    signal(SIGTERM, on_fatal_signal);
}

volatile sig_atomic_t *cli_stop_on_signal(void) {
    // both blocked while the handler runs: a SIGTERM that follows a SIGINT at once meets the fatal handler
    struct sigaction sa = {.sa_handler = on_stop_signal};
    sigemptyset(&sa.sa_mask);
    sigaddset(&sa.sa_mask, SIGINT);
    sigaddset(&sa.sa_mask, SIGTERM);
    sa.sa_flags = SA_RESTART;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    return &g_stop_requested;
}

static int run(int argc, char **argv);
static int is_training(int argc, char **argv);
static int run_training(int argc, char **argv);

int main(int argc, char **argv) {
    // A file-size limit (ulimit -f) would otherwise kill the process mid-write with SIGXFSZ; ignored, the
    // write fails with EFBIG and takes the same path as a full disk: an error naming the file, the
    // temporary output removed, the earlier output untouched.
    signal(SIGXFSZ, SIG_IGN);
    // A closed pipe (upscale ... - | head) would kill the process with SIGPIPE; ignored, the write fails
    // with EPIPE: an error naming standard output and a non-zero exit.
    signal(SIGPIPE, SIG_IGN);
    // SVT-AV1 (upscale --codec libsvtav1) logs to stderr by itself, past libav's log: errors only
    setenv("SVT_LOG", "1", 0);
    cli_remove_temporaries_on_signal();
    sv_set_warning_handler(print_warning, NULL);
    cli_conv_setup();
    const int rc = is_training(argc, argv) ? run_training(argc, argv) : run(argc, argv);
    cli_conv_finish();
    return rc;
}

static int is_training(int argc, char **argv) {
    return argc > 1 && (!strcmp(argv[1], "train") || !strcmp(argv[1], "train-flow") || !strcmp(argv[1], "prune"));
}

// A training command as one rank of a data-parallel job (train/dist.h; one rank of one without MPI). A rank
// that fails has printed its message; it stops every rank, which would otherwise wait for it.
static int run_training(int argc, char **argv) {
    sv_err e;
    if (sv_dist_init(&argc, &argv, &e)) {
        fprintf(stderr, "slimvsr: %s\n", e.msg);
        return 1;
    }
    const int rc = run(argc, argv);
    if (rc && sv_dist_size() > 1) {
        fprintf(stderr, "slimvsr: rank %d of %d failed; stopping every rank\n", sv_dist_rank(), sv_dist_size());
        fflush(stderr);
        sv_dist_abort(rc);
    }
    sv_dist_finish();
    return rc;
}

static int run(int argc, char **argv) {
    if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    // --version anywhere: `slimvsr upscale --version` answers as `slimvsr --version` does
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--version") || (i == 1 && !strcmp(argv[i], "version"))) {
            printf("slimvsr %s\n", slimvsr_version());
            return 0;
        }
    if (!strcmp(argv[1], "upscale")) return cmd_upscale(argc - 1, argv + 1);
    if (!strcmp(argv[1], "info")) return cmd_info(argc - 1, argv + 1);
    if (!strcmp(argv[1], "convert")) return cmd_convert(argc - 1, argv + 1);
    if (!strcmp(argv[1], "eval")) return cmd_eval(argc - 1, argv + 1);
    if (!strcmp(argv[1], "train")) return cmd_train(argc - 1, argv + 1);
    if (!strcmp(argv[1], "train-flow")) return cmd_train_flow(argc - 1, argv + 1);
    if (!strcmp(argv[1], "prune")) return cmd_prune(argc - 1, argv + 1);
    fprintf(stderr, "slimvsr: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
