// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// cmd_eval.c: slimvsr eval [-m MODEL] --lr DIR --gt DIR: PSNR/SSIM per clip and the mean over clips.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/progress.h"
#include "model/basicvsr.h"
#include "pipeline/eval.h"

static void help(FILE *f) {
    fprintf(f,
            "usage: slimvsr eval [-m MODEL] --lr LR --gt GT [options]\n"
            "\n"
            "Runs MODEL on every LR clip and measures PSNR and SSIM of each x4 output frame against its GT\n"
            "frame; prints the mean per clip and the mean over clips (every clip counts once).\n"
            "\n"
            "  LR, GT  one clip each (a folder of image frames or a video file), or folders of clips with the\n"
            "          same names (REDS / Vid4 layout: sub-folders of frames or video files; a clip is\n"
            "          named by its folder, or its file name without the extension; extra GT clips are\n"
            "          ignored). Frames pair up in sorted name order; counts must match and GT frames must\n"
            "          be exactly 4x the LR frames.\n"
            "\n"
            "options:\n"
            "  -m, --model MODEL   the network: a .pth or .safetensors file, a shipped model (ssl, the\n"
            "                      default; dense), or bicubic (MATLAB-bicubic x4: the baseline)\n"
            "  --y                 measure on the Y channel (BT.601) instead of RGB (Vid4, Vimeo-90K-T: --y;\n"
            "                      REDS4: RGB)\n"
            "  --crop-border N     ignore N pixels at each side of the x4 frames (default 0)\n"
            "  --flip              test-time augmentation: run the model on the clip and on its horizontally,\n"
            "                      vertically and doubly flipped versions, flip the outputs back and measure\n"
            "                      their mean (4x the time; memory for 4 runs)\n"
            "  --max-frames N      only the first N frames of each clip (the model sees only those)\n"
            "  --json              print one JSON object instead of the table\n"
            "  --chunk N, --lookahead N   as for `slimvsr upscale` (the same frames upscale would write)\n"
            "  --max-memory SIZE   memory for the runners when --chunk is not given, e.g. 3G (default: half of\n"
            "                      the memory available)\n"
            "  --threads N         worker threads (default: all cores)\n"
            "  --act relu|leaky    override the activation of a .pth model\n"
            "  -q, --quiet         no progress output\n"
            "\n"
            "Protocol (BasicSR's calculate_psnr/calculate_ssim): outputs clamped to [0,1], x255, rounded half\n"
            "to even to 8 bits (what `slimvsr upscale` writes); Y = 16 + 65.481 R + 128.553 G + 24.966 B from\n"
            "the 8-bit values / 255, kept in floating point; SSIM with an 11x11 Gaussian window (sigma 1.5),\n"
            "no padding, RGB SSIM = mean of the three channels' SSIMs. A frame equal to its GT has PSNR inf,\n"
            "and so does any mean that includes it (JSON writes inf as 1e999, which JSON parsers read as\n"
            "infinity or the largest double).\n");
}

static void json_str(const char *s) {
    putchar('"');
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') printf("\\%c", c);
        else if (c < 0x20) printf("\\u%04x", c);
        else putchar(c);
    }
    putchar('"');
}

static void json_num(double v) {
    if (isinf(v)) printf(v > 0 ? "1e999" : "-1e999");
    else if (isnan(v)) printf("null");
    else printf("%.10g", v);
}

static void print_json(const sv_eval_result *r, int n, const sv_eval_result *mean, const sv_eval_opts *o) {
    printf("{\"y_only\": %s, \"crop_border\": %d, \"flip\": %s, \"max_frames\": %d, \"clips\": [",
           o->y_only ? "true" : "false", o->crop_border, o->flip ? "true" : "false", o->max_frames);
    for (int i = 0; i < n; i++) {
        printf("%s{\"name\": ", i ? ", " : "");
        json_str(r[i].name);
        printf(", \"frames\": %d, \"psnr\": ", r[i].frames);
        json_num(r[i].psnr);
        printf(", \"ssim\": ");
        json_num(r[i].ssim);
        printf("}");
    }
    printf("], \"mean\": {\"clips\": %d, \"frames\": %d, \"psnr\": ", n, mean->frames);
    json_num(mean->psnr);
    printf(", \"ssim\": ");
    json_num(mean->ssim);
    printf("}}\n");
}

static void print_table(const sv_eval_result *r, int n, const sv_eval_result *mean, const sv_eval_opts *o) {
    printf("%-24s %7s %10s %9s   (%s%s, crop %d)\n", "clip", "frames", "PSNR(dB)", "SSIM", o->y_only ? "Y" : "RGB",
           o->flip ? ", flip x4" : "", o->crop_border);
    for (int i = 0; i < n; i++) printf("%-24s %7d %10.4f %9.6f\n", r[i].name, r[i].frames, r[i].psnr, r[i].ssim);
    char label[64];
    snprintf(label, sizeof label, "mean (%d clip%s)", n, n == 1 ? "" : "s");
    printf("%-24s %7d %10.4f %9.6f\n", label, mean->frames, mean->psnr, mean->ssim);
}

int cmd_eval(int argc, char **argv) {
    sv_eval_opts o;
    sv_eval_opts_default(&o);
    cli_job_args j;
    cli_job_args_default(&j);
    const char *lr = NULL, *gt = NULL;
    int json = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int takes, known = cli_job_option("eval", &j, a, v, &takes);
        if (known < 0) return 2;
        if (known) {
            i += takes;
        } else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            help(stdout);
            return 0;
        } else if (!strcmp(a, "--lr") || !strcmp(a, "--gt")) {
            if (!v) return fprintf(stderr, "slimvsr eval: %s needs a value\n", a), 2;
            if (!strcmp(a, "--lr")) lr = v;
            else gt = v;
            i++;
        } else if (!strcmp(a, "--y")) {
            o.y_only = 1;
        } else if (!strcmp(a, "--crop-border")) {
            if ((o.crop_border = cli_parse_int(a, v, 0, 4096)) < 0) return 2;
            i++;
        } else if (!strcmp(a, "--flip")) {
            o.flip = 1;
        } else if (!strcmp(a, "--max-frames")) {
            if ((o.max_frames = cli_parse_int(a, v, 1, 1000000000)) < 0) return 2;
            i++;
        } else if (!strcmp(a, "--json")) {
            json = 1;
        } else {
            fprintf(stderr, "slimvsr eval: unknown argument '%s' (see slimvsr eval --help)\n", a);
            return 2;
        }
    }
    if (!lr || !gt) {
        help(stderr);
        return 2;
    }
    if (j.threads) cli_set_threads(j.threads);
    o.chunk = j.chunk, o.lookahead = j.lookahead, o.mem_budget = j.max_memory;
    sv_err e;
    sv_model m;
    const sv_model *use;
    if (cli_load_model(j.model, j.act, 1, &m, &use)) return 1;
    sv_eval_result *res = NULL, mean;
    int n = 0;
    cli_progress prog;
    sv_runner_profile prof;
    o.progress = cli_progress_callback(&prog, j.quiet);
    o.profile = cli_profile_wanted(&prof);
    int rc = sv_eval_dirs(use, lr, gt, &o, &res, &n, &mean, &e);
    if (rc) {
        fprintf(stderr, "slimvsr: %s\n", e.msg);
    } else {
        cli_profile_print(o.profile);
        if (json) print_json(res, n, &mean, &o);
        else print_table(res, n, &mean, &o);
    }
    free(res);
    sv_model_free(&m);
    return rc ? 1 : 0;
}
