// eval.c: model quality on clips with ground truth (see eval.h).
//
// The chunk loop is sv_upscale's (pipeline/upscale.c) with the writer replaced by a measuring sink: the
// same window of chunk + lookahead frames, the same chunk plan (sv_upscale_plan_chunk), the same carried
// forward state, so eval measures exactly the frames `slimvsr upscale` would write.
//
// Flip (test-time augmentation): four runners, one per variant (identity, h, h+v, v), each keeping its
// own forward state across chunks. The window is flipped in place between variants (h, then v, then h,
// then v brings it back), each variant's outputs are flipped back and summed per frame, and the chunk's
// frames are measured once all four have run: sum * 0.25 in float, summed in the order id, h, hv, v.
#include "train/eval.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "core/progress.h"
#include "io/frames.h"
#include "pipeline/upscale.h"
#include "train/metrics.h"

#define DEFAULT_BUDGET ((size_t)1700 << 20)  // as sv_upscale's default
#define NVAR 4

void sv_eval_opts_default(sv_eval_opts *o) {
    memset(o, 0, sizeof *o);
    o->lookahead = -1;
    o->mode = SV_EXEC_FAST;
}

// ---- clip names and listing ----

static int is_dir(const char *p) {
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static int has_ext(const char *name, const char *ext) {
    size_t n = strlen(name), k = strlen(ext);
    return n > k && !strcasecmp(name + n - k, ext);
}

// Clip name of a path: its last component without trailing '/', and without the extension for a file.
static void clip_name(char *dst, size_t n, const char *path) {
    size_t len = strlen(path);
    while (len > 1 && path[len - 1] == '/') len--;
    size_t start = len;
    while (start > 0 && path[start - 1] != '/') start--;
    size_t end = len;
    if (!is_dir(path))
        for (size_t i = len; i > start + 1; i--)
            if (path[i - 1] == '.') {
                end = i - 1;
                break;
            }
    snprintf(dst, n, "%.*s", (int)(end - start), path + start);
}

static int join(char *buf, size_t n, const char *dir, const char *name, sv_err *e) {
    size_t d = strlen(dir);
    if ((size_t)snprintf(buf, n, "%s%s%s", dir, d && dir[d - 1] == '/' ? "" : "/", name) >= n)
        return sv_errf(e, "%s/%s: path too long", dir, name);
    return 0;
}

typedef struct {
    char name[256];
    char path[4096];
} clip_ref;

static int cmp_clip(const void *a, const void *b) {
    return strcmp(((const clip_ref *)a)->name, ((const clip_ref *)b)->name);
}

// A folder's clips: visible sub-folders and video files, sorted by clip name. *has_png: the folder
// itself holds PNG frames (then it is one clip, and the list is not used).
static int list_clips(const char *dir, clip_ref **out, int *n, int *has_png, sv_err *e) {
    *out = NULL, *n = 0, *has_png = 0;
    DIR *d = opendir(dir);
    if (!d) return sv_errf(e, "%s: cannot open folder: %s", dir, strerror(errno));
    clip_ref *v = NULL;
    int cap = 0, rc = 0;
    struct dirent *de;
    char p[4096];
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.') continue;
        if ((rc = join(p, sizeof p, dir, de->d_name, e))) break;
        struct stat st;
        if (stat(p, &st) != 0) continue;
        if (S_ISREG(st.st_mode) && has_ext(de->d_name, ".png")) *has_png = 1;
        if (!S_ISDIR(st.st_mode) && !(S_ISREG(st.st_mode) && sv_frames_is_video_name(de->d_name))) continue;
        if (*n == cap) {
            cap = cap ? 2 * cap : 64;
            clip_ref *g = realloc(v, (size_t)cap * sizeof *g);
            if (!g) {
                rc = sv_errf(e, "%s: out of memory listing clips", dir);
                break;
            }
            v = g;
        }
        snprintf(v[*n].path, sizeof v[*n].path, "%s", p);
        clip_name(v[*n].name, sizeof v[*n].name, p);
        (*n)++;
    }
    closedir(d);
    if (rc) {
        free(v);
        *n = 0;
        return -1;
    }
    if (*n > 1) qsort(v, (size_t)*n, sizeof *v, cmp_clip);
    *out = v;
    return 0;
}

// ---- one clip ----

typedef struct {
    const sv_eval_opts *o;
    const char *lr_path, *gt_path;
    sv_frame_reader *gt;
    int h4, w4;
    unsigned char *gt_rgb, *gt_chw, *out_chw;
    float **acc;        // flip: per emitted frame of the chunk, the sum of the variants' outputs
    int variant;
    int done;
    double sum_psnr, sum_ssim;
    sv_progress *prog;
} sink;

static int measure(sink *s, const float *chw, sv_err *e) {
    const size_t hw = (size_t)s->h4 * s->w4;
    int r = sv_frames_read(s->gt, s->gt_rgb, e);
    if (r < 0) return -1;
    if (r == 0)
        return sv_errf(e, "%s: GT ends after %d frames, before the LR clip %s", s->gt_path, s->done, s->lr_path);
    for (size_t p = 0; p < hw; p++)
        for (int c = 0; c < 3; c++) s->gt_chw[c * hw + p] = s->gt_rgb[p * 3 + c];
    sv_quantize_n(s->out_chw, chw, 3 * hw);
    double psnr, ssim;
    if (sv_metrics_u8(s->out_chw, s->gt_chw, s->h4, s->w4, s->o->y_only, s->o->crop_border, &psnr, &ssim, e))
        return sv_errprefix(e, "%s", s->gt_path);
    s->sum_psnr += psnr;
    s->sum_ssim += ssim;
    s->done++;
    sv_progress_update(s->prog, s->done);
    return 0;
}

static int emit_plain(void *ud, int index, const float *chw, sv_err *e) { return measure(ud, chw, e); }

// Variant v's flips: 0 none, 1 horizontal, 2 both, 3 vertical (the order the window is flipped in).
static int var_h(int v) { return v == 1 || v == 2; }
static int var_v(int v) { return v == 2 || v == 3; }

static int emit_flip(void *ud, int index, const float *chw, sv_err *e) {
    sink *s = ud;
    const int h = s->h4, w = s->w4, fh = var_h(s->variant), fv = var_v(s->variant);
    float *acc = s->acc[index];
    for (int c = 0; c < 3; c++)
        for (int y = 0; y < h; y++) {
            const float *src = chw + ((size_t)c * h + (fv ? h - 1 - y : y)) * w;
            float *dst = acc + ((size_t)c * h + y) * w;
            for (int x = 0; x < w; x++) {
                float v = src[fh ? w - 1 - x : x];
                dst[x] = s->variant == 0 ? v : dst[x] + v;
            }
        }
    return 0;
}

static void flip_frame(float *f, int h, int w, int horizontal) {
    for (int c = 0; c < 3; c++) {
        float *p = f + (size_t)c * h * w;
        if (horizontal) {
            for (int y = 0; y < h; y++)
                for (int x = 0; x < w / 2; x++) {
                    float t = p[(size_t)y * w + x];
                    p[(size_t)y * w + x] = p[(size_t)y * w + w - 1 - x];
                    p[(size_t)y * w + w - 1 - x] = t;
                }
        } else {
            for (int y = 0; y < h / 2; y++)
                for (int x = 0; x < w; x++) {
                    float t = p[(size_t)y * w + x];
                    p[(size_t)y * w + x] = p[(size_t)(h - 1 - y) * w + x];
                    p[(size_t)(h - 1 - y) * w + x] = t;
                }
        }
    }
}

static void to_float(float *dst, const unsigned char *rgb, int h, int w) {
    size_t hw = (size_t)h * w;
    for (size_t p = 0; p < hw; p++)
        for (int c = 0; c < 3; c++) dst[c * hw + p] = (float)rgb[p * 3 + c] * (1.0f / 255.0f);
}

int sv_eval_clip(const sv_model *m, const char *lr, const char *gt, const sv_eval_opts *o, sv_eval_result *res,
                 sv_err *e) {
    memset(res, 0, sizeof *res);
    clip_name(res->name, sizeof res->name, lr);
    sv_frame_reader *rd = sv_frames_open(lr, e);
    if (!rd) return -1;
    sv_frame_reader *gr = sv_frames_open(gt, e);
    if (!gr) {
        sv_frames_close(rd);
        return -1;
    }
    int rc = -1;
    const int nvar = o->flip ? NVAR : 1;
    const int w = sv_frames_width(rd), h = sv_frames_height(rd), count = sv_frames_count(rd);
    sv_runner *run[NVAR] = {NULL};
    float **frames = NULL, *slots = NULL, *prev = NULL, *accbuf = NULL, **acc = NULL;
    unsigned char *rgb_in = NULL, *gt_rgb = NULL, *gt_chw = NULL, *out_chw = NULL;
    int win = 0;
    if (sv_frames_width(gr) != 4 * w || sv_frames_height(gr) != 4 * h) {
        sv_errf(e, "%s: GT frames are %dx%d, expected %dx%d (4x the %dx%d frames of %s)", gt, sv_frames_width(gr),
                sv_frames_height(gr), 4 * w, 4 * h, w, h, lr);
        goto done;
    }
    if (4 * w - 2 * o->crop_border < 11 || 4 * h - 2 * o->crop_border < 11) {
        sv_errf(e, "%s: %dx%d frames cropped by %d at each side are smaller than the 11x11 SSIM window", gt, 4 * w,
                4 * h, o->crop_border);
        goto done;
    }
    if (is_dir(lr) && is_dir(gt) && count != sv_frames_count(gr)) {
        sv_errf(e, "%s: %d GT frames, but %d LR frames in %s", gt, sv_frames_count(gr), count, lr);
        goto done;
    }
    // A folder's count is exact; a video's is the container's estimate, so leave it some room.
    int hint = sv_upscale_count_hint(count, !is_dir(lr));
    if (o->max_frames > 0 && (hint < 0 || hint > o->max_frames)) hint = o->max_frames;
    sv_upscale_opts u;
    sv_upscale_opts_default(&u);
    u.chunk = o->chunk;
    u.lookahead = o->lookahead;
    // flip: four runners plus the output sums share the budget
    u.mem_budget = (o->mem_budget ? o->mem_budget : DEFAULT_BUDGET) / (o->flip ? NVAR + 1 : 1);
    int chunk, la;
    sv_upscale_plan_chunk(m, h, w, hint, &u, &chunk, &la);
    win = chunk + la;
    const size_t fsz = (size_t)3 * h * w, osz = 16 * fsz;
    frames = calloc((size_t)win, sizeof *frames);
    slots = malloc(win * fsz * sizeof(float));
    prev = malloc(fsz * sizeof(float));
    rgb_in = malloc(fsz);
    gt_rgb = malloc(osz), gt_chw = malloc(osz), out_chw = malloc(osz);
    if (o->flip) {
        // the last chunk of a clip emits the whole window (chunk + lookahead frames)
        acc = calloc((size_t)win, sizeof *acc);
        accbuf = malloc((size_t)win * osz * sizeof(float));
    }
    if (!frames || !slots || !prev || !rgb_in || !gt_rgb || !gt_chw || !out_chw || (o->flip && (!acc || !accbuf))) {
        sv_errf(e, "%s: out of memory for a window of %d frames of %dx%d", lr, win, w, h);
        goto done;
    }
    for (int i = 0; i < win; i++) frames[i] = slots + (size_t)i * fsz;
    for (int i = 0; o->flip && i < win; i++) acc[i] = accbuf + (size_t)i * osz;
    for (int v = 0; v < nvar; v++)
        if (!(run[v] = sv_runner_create(m, h, w, win, o->mode, e))) goto done;
    sv_progress prog;
    char label[300];
    snprintf(label, sizeof label, "eval %s", res->name);
    sv_progress_start(&prog, label, o->max_frames > 0 && (count < 0 || count > o->max_frames) ? o->max_frames : count,
                      o->quiet);
    sink s = {.o = o, .lr_path = lr, .gt_path = gt, .gt = gr, .h4 = 4 * h, .w4 = 4 * w, .gt_rgb = gt_rgb,
              .gt_chw = gt_chw, .out_chw = out_chw, .acc = acc, .prog = &prog};
    int have = 0, eof = 0, started = 0, read = 0, limited = 0;
    for (;;) {
        while (!eof && have < win) {
            if (o->max_frames > 0 && read == o->max_frames) {
                eof = limited = 1;
                break;
            }
            int r = sv_frames_read(rd, rgb_in, e);
            if (r < 0) goto done;
            if (r == 0) {
                eof = 1;
                break;
            }
            to_float(frames[have++], rgb_in, h, w);
            read++;
        }
        if (have == 0) {
            if (!started) {
                sv_errf(e, "%s: no frames to read", lr);
                goto done;
            }
            break;
        }
        int n_emit = eof ? have : (have < chunk ? have : chunk);
        for (int v = 0; v < nvar; v++) {
            if (v > 0) {  // v = 1: h; 2: h+v; 3: v (each step flips one more axis)
                for (int i = 0; i < have; i++) flip_frame(frames[i], h, w, v != 2);
                if (started) flip_frame(prev, h, w, v != 2);
            }
            s.variant = v;
            if (sv_runner_run_chunk(run[v], (const float *const *)frames, have, n_emit, started ? prev : NULL,
                                    o->flip ? emit_flip : emit_plain, &s, e))
                goto done;
        }
        if (o->flip) {
            for (int i = 0; i < have; i++) flip_frame(frames[i], h, w, 0);  // back to the original
            if (started) flip_frame(prev, h, w, 0);
            for (int k = 0; k < n_emit; k++) {
                for (size_t q = 0; q < osz; q++) acc[k][q] *= 0.25f;
                if (measure(&s, acc[k], e)) goto done;
            }
        }
        started = 1;
        memcpy(prev, frames[n_emit - 1], fsz * sizeof(float));
        for (int k = 0; k < n_emit; k++) {  // the lookahead frames move to the front
            float *f = frames[0];
            memmove(frames, frames + 1, (size_t)(win - 1) * sizeof *frames);
            frames[win - 1] = f;
        }
        have -= n_emit;
        if (eof && have == 0) break;
    }
    if (!limited) {
        int r = sv_frames_read(gr, gt_rgb, e);
        if (r < 0) goto done;
        if (r > 0) {
            sv_errf(e, "%s: GT has more frames than the %d of the LR clip %s", gt, s.done, lr);
            goto done;
        }
    }
    sv_progress_finish(&prog, s.done);
    res->frames = s.done;
    res->psnr = s.sum_psnr / s.done;
    res->ssim = s.sum_ssim / s.done;
    rc = 0;
done:
    for (int v = 0; v < NVAR; v++) sv_runner_free(run[v]);
    sv_frames_close(rd);
    sv_frames_close(gr);
    free(frames), free(slots), free(prev), free(rgb_in), free(gt_rgb), free(gt_chw), free(out_chw);
    free(acc), free(accbuf);
    return rc;
}

// ---- clips ----

int sv_eval_dirs(const sv_model *m, const char *lr, const char *gt, const sv_eval_opts *o,
                 sv_eval_result **per_clip, int *nclips, sv_eval_result *mean, sv_err *e) {
    *per_clip = NULL, *nclips = 0;
    memset(mean, 0, sizeof *mean);
    struct stat st;
    if (stat(lr, &st) != 0) return sv_errf(e, "%s: cannot open LR input: %s", lr, strerror(errno));
    if (stat(gt, &st) != 0) return sv_errf(e, "%s: cannot open GT input: %s", gt, strerror(errno));
    clip_ref *lc = NULL, *gc = NULL;
    int nl = 0, ng = 0, png = 0, rc = -1;
    sv_eval_result *res = NULL;
    const clip_ref **pair = NULL;  // the GT clip of each LR clip
    if (is_dir(lr)) {
        if (list_clips(lr, &lc, &nl, &png, e)) return -1;
        if (!png && nl == 0) {
            free(lc);
            return sv_errf(e, "%s: no PNG frames, clip folders or videos", lr);
        }
    }
    if (!is_dir(lr) || png) {  // one clip
        free(lc);
        lc = calloc(1, sizeof *lc);
        if (!lc) return sv_errf(e, "out of memory");
        nl = 1;
        snprintf(lc[0].path, sizeof lc[0].path, "%s", lr);
        clip_name(lc[0].name, sizeof lc[0].name, lr);
        gc = calloc(1, sizeof *gc);
        if (!gc) goto done;
        ng = 1;
        snprintf(gc[0].path, sizeof gc[0].path, "%s", gt);
        snprintf(gc[0].name, sizeof gc[0].name, "%s", lc[0].name);
    } else {
        if (!is_dir(gt)) {
            sv_errf(e, "%s: GT must be a folder of clips, as LR %s is", gt, lr);
            goto done;
        }
        if (list_clips(gt, &gc, &ng, &png, e)) goto done;
    }
    res = calloc((size_t)nl, sizeof *res);
    if (!res) {
        sv_errf(e, "out of memory");
        goto done;
    }
    pair = calloc((size_t)nl, sizeof *pair);
    if (!pair) {
        sv_errf(e, "out of memory");
        goto done;
    }
    for (int i = 0; i < nl; i++) {  // pair every clip before running anything
        for (int j = 0; j < ng; j++)
            if (!strcmp(gc[j].name, lc[i].name)) {
                if (pair[i]) {
                    sv_errf(e, "%s: two GT clips named '%s': %s and %s", gt, lc[i].name, pair[i]->path, gc[j].path);
                    goto done;
                }
                pair[i] = &gc[j];
            }
        if (!pair[i]) {
            sv_errf(e, "%s: no GT clip named '%s' (for %s)", gt, lc[i].name, lc[i].path);
            goto done;
        }
    }
    for (int i = 0; i < nl; i++) {
        if (sv_eval_clip(m, lc[i].path, pair[i]->path, o, &res[i], e)) goto done;
        snprintf(res[i].name, sizeof res[i].name, "%s", lc[i].name);
        mean->frames += res[i].frames;
        mean->psnr += res[i].psnr;
        mean->ssim += res[i].ssim;
    }
    snprintf(mean->name, sizeof mean->name, "mean");
    mean->psnr /= nl;
    mean->ssim /= nl;
    *per_clip = res, *nclips = nl;
    res = NULL;
    rc = 0;
done:
    free(lc), free(gc), free(res), free(pair);
    return rc;
}
