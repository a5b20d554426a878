// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// cmd_upscale.c: slimvsr upscale [-m MODEL] INPUT OUTPUT
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/progress.h"
#include "cli/upscale_batch.h"
#include "core/memory.h"
#include "io/frames.h"
#include "io/video_formats.h"
#include "model/basicvsr.h"
#include "pipeline/upscale.h"

// The encoders each container takes, from io/video_formats.h's table.
static void print_codecs(FILE *f) {
    int n;
    const sv_container *k = sv_containers(&n);
    char list[256];
    fprintf(f, "  containers (by OUTPUT's extension, or --format) and their encoders:\n");
    for (int i = 0; i < n; i++)
        fprintf(f, "    .%-5s default %s; takes %s\n", k[i].name, k[i].codec, sv_codecs_for(&k[i], list, sizeof list));
}

static void help(FILE *f) {
    fprintf(f,
            "usage: slimvsr upscale [-m MODEL] [options] INPUT OUTPUT\n"
            "\n"
            "  MODEL   ssl (default): the shipped SSL-pruned model; dense: the shipped dense model it was\n"
            "          pruned from; bicubic: MATLAB-bicubic x4, no network (the baseline); or a file: a\n"
            "          PyTorch BasicVSR checkpoint (.pth: BasicSR or MMagic layout) or a slimvsr .safetensors\n"
            "  INPUT   a folder of PNG, JPEG, WebP, TIFF or BMP frames (one kind; in natural order: 2.png\n"
            "          before 10.png) or a video file;\n"
            "          PNG frames' alpha is upscaled by bicubic and kept in a folder OUTPUT (RGBA PNG);\n"
            "          16-bit PNG frames are read at 16 bits and a folder OUTPUT gets 16-bit PNG frames\n"
            "  INPUT   - : standard input, a video stream (y4m, or anything ffmpeg can read from a pipe)\n"
            "  INPUT   a folder of video files (and no frames): a batch, each video to OUTPUT/NAME.EXT\n"
            "          (OUTPUT a folder, created when missing; EXT the input's own, or --ext), one line per\n"
            "          video on stdout; a video that fails does not stop the others; exit status 1 if any\n"
            "          failed\n"
            "  OUTPUT  a folder (PNG frames; same names as the input frames, or 00000000.png... for a video),\n"
            "          or a video file, its container named by the extension: .mp4 .mov (H.264), .mkv (FFV1,\n"
            "          lossless), .webm (VP9), .y4m (raw frames); the input's frame rate is kept.\n"
            "          - : standard output, a y4m stream (or --format); nothing else is written there.\n"
            "          The output appears only when complete (written under a temporary name, then renamed).\n"
            "          An existing output is refused unless -y; the input is never overwritten.\n"
            "\n"
            "options:\n"
            "  -m, --model MODEL   the network to run (default ssl)\n"
            "  --chunk N           frames per chunk (default: a window of at most 1 GB of frames and\n"
            "                      features, within --max-memory; a job that cannot fit at all is refused\n"
            "                      at once, before any frame is read); a forward-only model: 1, always\n"
            "  --lookahead N       frames past each chunk that feed the backward branch (default 10; a\n"
            "                      forward-only model: 0, always)\n"
            "  --max-memory SIZE   memory the whole job may take, e.g. 3G or 800M (default: half of the\n"
            "                      memory available); chooses the chunk and the reconstruction's tiles\n"
            "  --frames FIRST:END  a segment: frames FIRST..END-1 only (numbered from 0; FIRST: to the\n"
            "                      clip's end), bit-identical to the same frames of a whole run with the\n"
            "                      same --chunk and --lookahead (required: --chunk, but for a forward-only\n"
            "                      model); earlier frames are read\n"
            "                      to carry the forward state. A folder OUTPUT names frames as a whole run\n"
            "                      does, so segments' folders merge (README: Long videos across machines)\n"
            "  --dry-run           print the plan (frame size, chunk, lookahead, tile rows, peak memory;\n"
            "                      a resumable video's disk for PNG frames) and stop: nothing is run or\n"
            "                      written\n"
            "  --ext EXT           a batch: the container of every output (mp4, mkv, mov, webm, y4m; default:\n"
            "                      each input's own extension)\n"
            "  --threads N         worker threads (default: all cores)\n"
            "  --act relu|leaky    override the activation of a .pth model (BasicSR/MMagic: leaky;\n"
            "                      the SSL release's BasicVSR: relu)\n"
            "\n"
            "video options (checked against the output before any work; a refusal writes nothing):\n"
            "  --codec NAME        the encoder (--encoder is the same), one this libavcodec has\n"
            "                      (ffmpeg -encoders) that the container takes (listed below)\n"
            "  --crf N             constant quality: 0 (best) to 51 (x264, x265) or 63 (AV1, VP9);\n"
            "                      default 17 for libx264, the encoder's own for the others\n"
            "  --preset NAME       libx264/libx265: ultrafast ... medium (default) ... placebo; libsvtav1:\n"
            "                      0 (slowest) to 13\n"
            "  --pix-fmt NAME      yuv420p (default), yuv420p10le, yuv444p, rgb24, ...: one the codec takes;\n"
            "                      default 10-bit (yuv420p10le) for an input of more than 8 bits, 4:4:4 for\n"
            "                      an odd frame size, bgr0 (lossless RGB) for ffv1\n"
            "  --format NAME       the container of standard output (-): y4m (default), mkv, webm, mp4\n"
            "                      or mov (both fragmented: a pipe cannot be rewound)\n"
            "  --no-copy-streams   leave out the input's audio, subtitle and data streams, chapters and\n"
            "                      metadata (by default a video output keeps every one its container can\n"
            "                      hold, copied without re-encoding, and warns about the others)\n"
            "  A video output keeps a video file input's timestamps (variable frame rates stay variable;\n"
            "  y4m has one rate), rotation, aspect and colour tags, also with --no-copy-streams.\n");
    print_codecs(f);
    fprintf(f,
            "\n"
            "other options:\n"
            "  -y, --overwrite     replace an existing OUTPUT: a file, or a folder slimvsr wrote (one that\n"
            "                      holds anything slimvsr did not write is never replaced)\n"
            "  --resume            continue OUTPUT.partial (fail when there is none; the same command\n"
            "                      without it continues one too, see Resume below)\n"
            "  --no-resume         no OUTPUT.partial: a video is encoded as its frames come (no PNG\n"
            "                      frames on disk), and an interrupted job starts over\n"
            "  --reference         run the naive reference kernels (slow; for checking)\n"
            "  -q, --quiet         no progress output\n"
            "\n"
            "Chunking: BasicVSR propagates features forward and backward through the whole clip, so the\n"
            "backward branch needs every future frame. To bound memory, frames are processed in chunks. The\n"
            "forward branch carries its state across chunk borders exactly. The backward branch of a chunk\n"
            "starts --lookahead frames after the chunk's last frame, so the last frames of a chunk lose the\n"
            "information that lies further in the future than that: in practice a small PSNR loss on the\n"
            "frames just before a chunk border, none elsewhere. A clip that fits in one chunk is processed\n"
            "exactly as in PyTorch. Larger --chunk: fewer borders, more memory (about num_feat*h*w*4 bytes\n"
            "per frame, 15 MB for 64 features at 180x320). Lookahead frames cost their float frame only\n"
            "(3*h*w*4 bytes) but time: each chunk runs the backward branch over them again.\n"
            "\n"
            "Tiles: the reconstruction's maps at 2x and 4x resolution (about 10 KB per input pixel for the\n"
            "whole frame) are computed for one band of rows at a time for large frames (by default the\n"
            "largest bands within 1 KB per input pixel, fewer rows when --max-memory needs it), and each\n"
            "band of the output goes to the writer as it is done; the output is the same to the bit (with\n"
            "SLIMVSR_WISDOM=off: measured backends may differ between tile heights in the last bits),\n"
            "smaller tiles only cost some time.\n"
            "\n"
            "Resume: a folder OUTPUT is written in the visible folder OUTPUT.partial, which holds the\n"
            "finished frames, the job's record (.slimvsr-resume) and, after each chunk (every 8 frames for\n"
            "a forward-only model), the forward branch's state (.slimvsr-state: num_feat*h*w*4 bytes).\n"
            "Interrupted or killed, the job leaves it; the same command continues after the last state\n"
            "saved (at the first chunk not wholly written, or up to 8 frames before), and writes exactly the\n"
            "frames of an uninterrupted run. Another model, input, --chunk, --lookahead or --reference is\n"
            "refused, naming the difference (remove OUTPUT.partial to start over). A video file OUTPUT\n"
            "is resumable the same way: its frames go to OUTPUT.partial as PNG files (with their\n"
            "timestamps), and the video is encoded from them, with the kept streams, once all are there;\n"
            "that costs disk (PNG frames at 4x: 0.6 bytes per output pixel measured, at most about 3,\n"
            "raw RGB: 1.3 to 6 MB per 1080p frame) and some time (README: Resume); --no-resume encodes\n"
            "directly. Standard output and\n"
            "--frames segments are not resumable.\n"
            "\n"
            "Forward-only models (`train --direction uni`, `info` says direction uni) have no backward\n"
            "branch: each frame's output depends on it and the frames before it only. They run with chunk 1\n"
            "and lookahead 0 (an explicit larger --chunk or --lookahead is refused): every frame is emitted\n"
            "as soon as it has been read, at a constant latency of one frame's compute.\n");
}

// The video options, each taking a value: 1 when opt is one (stored in w), 0 when it is not, -1 (after a
// message) when its value is missing or not a number. Their values are checked by the writer
// (io/frames.h: sv_frames_output_check), against the output, before any work.
static int video_option(sv_writer_opts *w, const char *opt, const char *val) {
    const char **str = !strcmp(opt, "--codec") || !strcmp(opt, "--encoder") ? &w->encoder
                       : !strcmp(opt, "--preset")                          ? &w->preset
                       : !strcmp(opt, "--pix-fmt")                         ? &w->pix_fmt
                       : !strcmp(opt, "--format")                          ? &w->format
                                                                           : NULL;
    if (!str && strcmp(opt, "--crf")) return 0;
    if (!val) return fprintf(stderr, "slimvsr upscale: %s needs a value\n", opt), -1;
    if (str) *str = val;
    else if ((w->crf = cli_parse_int(opt, val, 0, 63)) < 0) return -1;
    else w->crf_set = 1;
    return 1;
}

// --frames FIRST:END or FIRST: (end 0: the clip's end), frame numbers in decimal digits, END past FIRST.
static int parse_frames(const char *v, long long *first, long long *end) {
    const char *colon = v ? strchr(v, ':') : NULL;
    const size_t nf = colon ? (size_t)(colon - v) : 0, ne = colon ? strlen(colon + 1) : 0;
    int ok = colon && nf > 0 && nf < 16 && ne < 16 && strspn(v, "0123456789") == nf &&
             strspn(colon + 1, "0123456789") == ne;
    if (ok) {
        *first = strtoll(v, NULL, 10);
        *end = ne ? strtoll(colon + 1, NULL, 10) : 0;
        ok = !ne || *end > *first;
    }
    if (ok) return 0;
    fprintf(stderr, "slimvsr upscale: --frames expects FIRST:END, frame numbers from 0 with END past FIRST (END "
            "excluded), or FIRST: for the rest of the clip; got '%s'\n", v ? v : "nothing");
    return -1;
}

// The disk that OUTPUT.partial takes when output is a resumable video (not a segment, not --no-resume).
static void print_partial(const char *output, const sv_upscale_plan *p, const sv_upscale_opts *o) {
    if (o->direct || o->first || o->end || sv_frames_output_kind(output) != SV_OUTPUT_VIDEO || p->count <= 0) return;
    const double px = (double)SV_SCALE * p->w * SV_SCALE * p->h * p->count;
    char about[32], most[32];
    printf("partial     %s.partial: PNG frames, about %s (%.2f bytes per output pixel), at most about %s\n",
           output, sv_mem_format((size_t)(px * SV_PARTIAL_PNG_BYTES_TYPICAL), about, sizeof about), SV_PARTIAL_PNG_BYTES_TYPICAL,
           sv_mem_format((size_t)(px * SV_PARTIAL_PNG_BYTES_MOST), most, sizeof most));
}

static void print_plan(const sv_model *m, const char *input, const sv_upscale_plan *p, const sv_upscale_opts *o) {
    char peak[32], budget[32];
    printf("input       %s\n", input);
    printf("frames      %dx%d, %d%s\n", p->w, p->h, p->count, p->count < 0 ? " (unknown)" : "");
    if (o->end)
        printf("segment     frames %lld to %lld (--frames %lld:%lld)\n", o->first, o->end - 1, o->first, o->end);
    else if (o->first) printf("segment     frames %lld to the end (--frames %lld:)\n", o->first, o->first);
    printf("output      %dx%d\n", SV_SCALE * p->w, SV_SCALE * p->h);
    printf("chunk       %d\nlookahead   %d\n", p->chunk, p->lookahead);
    if (m && sv_is_uni(m))
        printf("direction   %s: forward only, zero look-ahead: chunk 1 and lookahead 0 forced, each frame emitted "
               "as soon as it is read\n", sv_direction_name(m->dir));
    if (p->tile_rows >= p->h) printf("tile rows   %d (the whole frame)\n", p->h);
    else printf("tile rows   %d of %d\n", p->tile_rows, p->h);
    printf("peak memory %s (estimate) within %s\n", sv_mem_format(p->peak, peak, sizeof peak),
           sv_mem_format(p->budget, budget, sizeof budget));
}

// The options that do not go with a folder of videos (batch), and --ext that goes with it only: 1 after a
// message when one is given where it does not go.
static int batch_refused(int batch, const sv_upscale_opts *o, int dry, const char *ext) {
    const char *bad = !batch ? (ext ? "--ext" : NULL)
                      : o->first || o->end ? "--frames"
                      : o->resume          ? "--resume"
                      : dry                ? "--dry-run"
                      : o->out.format      ? "--format"
                                           : NULL;
    if (!bad) return 0;
    fprintf(stderr, "slimvsr upscale: %s %s\n", bad,
            batch ? "does not go with a folder of videos (each is upscaled as a whole)"
                  : "is for a folder of videos (INPUT holds no video files)");
    return 1;
}

int cmd_upscale(int argc, char **argv) {
    sv_upscale_opts o;
    sv_upscale_opts_default(&o);
    cli_job_args j;
    cli_job_args_default(&j);
    const char *pos[2] = {NULL, NULL};
    int npos = 0, dry = 0;
    const char *ext = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int takes, known = cli_job_option("upscale", &j, a, v, &takes);
        if (known < 0) return 2;
        if (known) {
            i += takes;
        } else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            help(stdout);
            return 0;
        } else if ((known = video_option(&o.out, a, v)) != 0) {
            if (known < 0) return 2;
            i++;
        } else if (!strcmp(a, "-y") || !strcmp(a, "--overwrite")) {
            o.out.replace = 1;
        } else if (!strcmp(a, "--resume")) {
            o.resume = 1;
        } else if (!strcmp(a, "--no-resume")) {
            o.direct = 1;
        } else if (!strcmp(a, "--no-copy-streams")) {
            o.out.drop_streams = 1;
        } else if (!strcmp(a, "--reference")) {
            o.mode = SV_EXEC_REFERENCE;
        } else if (!strcmp(a, "--frames")) {
            if (parse_frames(v, &o.first, &o.end)) return 2;
            i++;
        } else if (!strcmp(a, "--dry-run")) {
            dry = 1;
        } else if (!strcmp(a, "--ext")) {
            if (!v || !*v || strchr(v, '/'))
                return fprintf(stderr, "slimvsr upscale: --ext needs a container extension (mp4, mkv, ...)\n"), 2;
            ext = v[0] == '.' ? v + 1 : v;
            i++;
        } else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "slimvsr upscale: unknown option '%s' (see slimvsr upscale --help)\n", a);
            return 2;
        } else if (npos < 2) {
            pos[npos++] = a;
        } else {
            fprintf(stderr, "slimvsr upscale: too many arguments ('%s')\n", a);
            return 2;
        }
    }
    if (npos != 2) {
        help(stderr);
        return 2;
    }
    // A video stream on a terminal is screens of binary: refused before anything is read, as compressors do.
    if (!dry && !strcmp(pos[1], "-") && isatty(STDOUT_FILENO)) {
        fprintf(stderr, "slimvsr upscale: standard output is a terminal: pipe it into a program "
                        "(... - | ffplay -) or redirect it to a file\n");
        return 2;
    }
    if (j.threads) cli_set_threads(j.threads);
    o.chunk = j.chunk, o.lookahead = j.lookahead, o.mem_budget = j.max_memory;
    sv_err e;
    sv_model m;
    const sv_model *use;
    const int batch = cli_upscale_is_batch(pos[0]);
    if (batch_refused(batch, &o, dry, ext)) return 2;
    if (batch) {
        if (cli_load_model(j.model, j.act, 1, &m, &use)) return 1;
        const cli_batch b = {use, j.model, ext, &o, j.quiet};
        const int rc = cli_upscale_batch(&b, pos[0], pos[1]);
        sv_model_free(&m);
        return rc;
    }
    if (cli_load_model(j.model, j.act, 1, &m, &use) || cli_check_output(pos[1], j.model, pos[0], o.out.replace)) {
        sv_model_free(&m);
        return 1;
    }
    if (dry) {
        sv_upscale_plan plan;
        const int rc = sv_upscale_dry_run(use, pos[0], pos[1], &o, &plan, &e);
        if (rc) {
            fprintf(stderr, "slimvsr: %s\n", e.msg);
        } else {
            print_plan(use, pos[0], &plan, &o);
            print_partial(pos[1], &plan, &o);
        }
        sv_model_free(&m);
        return rc ? 1 : 0;
    }
    cli_progress prog;
    sv_runner_profile prof;
    o.progress = cli_progress_callback(&prog, j.quiet);
    o.profile = cli_profile_wanted(&prof);
    int resumed_at = -1;
    o.resumed_at = &resumed_at;
    int rc = sv_upscale(use, pos[0], pos[1], &o, &e);
    if (resumed_at >= 0 && !j.quiet)
        fprintf(stderr, "slimvsr: continued %s.partial at frame %d\n", pos[1], resumed_at);
    if (rc) fprintf(stderr, "slimvsr: %s\n", e.msg);
    else cli_profile_print(o.profile);
    sv_model_free(&m);
    return rc ? 1 : 0;
}
