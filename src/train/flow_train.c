// flow_train.c: the unsupervised flow loss, the SPyNet pretraining loop and its evaluation (see flow_train.h).
#include "train/flow_train.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "core/memory.h"
#include "core/progress.h"
#include "io/frames.h"
#include "io/safetensors.h"
#include "ops/conv.h"
#include "ops/ops.h"
#include "train/dataset.h"
#include "train/model_init.h"
#include "train/optim.h"
#include "train/run_lock.h"
#include "train/run_log.h"
#include "train/spynet_train.h"

// ======== the loss ========

double sv_flow_photo_forward(float *warped, const float *ref, const float *supp, const float *flow, int h, int w) {
    flow_warp_forward(warped, supp, flow, 3, h, w, SV_PAD_BORDER, 1);
    return charbonnier_forward(warped, ref, 3 * (size_t)h * w, SV_FLOW_EPS);
}

void sv_flow_photo_backward(float *dflow, float *dwarp, const float *warped, const float *ref, const float *supp,
                            const float *flow, int h, int w, float scale) {
    const size_t n = 3 * (size_t)h * w;
    memset(dwarp, 0, n * sizeof(float));
    charbonnier_backward(dwarp, warped, ref, n, SV_FLOW_EPS, scale / (float)n);
    flow_warp_backward(NULL, dflow, dwarp, supp, flow, 3, h, w, SV_PAD_BORDER, 1);
}

static size_t smooth_terms(int h, int w) { return 2 * ((size_t)h * (w - 1) + (size_t)(h - 1) * w); }

double sv_flow_smooth_forward(const float *flow, int h, int w) {
    const size_t n = smooth_terms(h, w), hw = (size_t)h * w;
    if (!n) return 0;
    double s = 0;
    for (int c = 0; c < 2; c++) {
        const float *f = flow + c * hw;
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) {
                const float v = f[(size_t)y * w + x];
                if (x + 1 < w) {
                    double d = f[(size_t)y * w + x + 1] - v;
                    s += sqrt(d * d + SV_FLOW_EPS);
                }
                if (y + 1 < h) {
                    double d = f[(size_t)(y + 1) * w + x] - v;
                    s += sqrt(d * d + SV_FLOW_EPS);
                }
            }
    }
    return s / (double)n;
}

void sv_flow_smooth_backward(float *dflow, const float *flow, int h, int w, float scale) {
    const size_t n = smooth_terms(h, w), hw = (size_t)h * w;
    if (!n) return;
    const float k = scale / (float)n;
    for (int c = 0; c < 2; c++) {
        const float *f = flow + c * hw;
        float *df = dflow + c * hw;
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) {
                const size_t i = (size_t)y * w + x;
                if (x + 1 < w) {
                    float d = f[i + 1] - f[i], g = k * d / sqrtf(d * d + SV_FLOW_EPS);
                    df[i + 1] += g;
                    df[i] -= g;
                }
                if (y + 1 < h) {
                    float d = f[i + w] - f[i], g = k * d / sqrtf(d * d + SV_FLOW_EPS);
                    df[i + w] += g;
                    df[i] -= g;
                }
            }
    }
}

double sv_flow_magnitude(const float *flow, int h, int w) {
    const size_t hw = (size_t)h * w;
    double s = 0;
    for (size_t i = 0; i < hw; i++) s += hypot(flow[i], flow[hw + i]);
    return hw ? s / (double)hw : 0;
}

// ---- the multi-scale loss ----

struct sv_flowloss {
    int n, h[16], w[16];
    float *ref[16], *supp[16], *flow[16], *dflow[16];  // scale 0: ref/supp/flow point at the caller's data
    float *warped, *dwarp;
};

sv_flowloss *sv_flowloss_create(int h, int w, int nscales, sv_err *e) {
    sv_flowloss *l = sv_calloc(1, sizeof *l, e);
    if (!l) return NULL;
    l->n = 1;
    l->h[0] = h, l->w[0] = w;
    while (l->n < nscales && l->n < 16 && l->h[l->n - 1] / 2 >= 2 && l->w[l->n - 1] / 2 >= 2) {
        l->h[l->n] = l->h[l->n - 1] / 2, l->w[l->n] = l->w[l->n - 1] / 2;
        l->n++;
    }
    const size_t hw = (size_t)h * w;
    if (!(l->warped = sv_malloc(3 * hw * sizeof(float), e)) || !(l->dwarp = sv_malloc(3 * hw * sizeof(float), e)))
        goto fail;
    for (int s = 1; s < l->n; s++) {
        const size_t n = (size_t)l->h[s] * l->w[s];
        if (!(l->ref[s] = sv_malloc(3 * n * sizeof(float), e)) || !(l->supp[s] = sv_malloc(3 * n * sizeof(float), e)) ||
            !(l->flow[s] = sv_malloc(2 * n * sizeof(float), e)) || !(l->dflow[s] = sv_malloc(2 * n * sizeof(float), e)))
            goto fail;
    }
    return l;
fail:
    sv_flowloss_free(l);
    return NULL;
}

int sv_flowloss_scales(const sv_flowloss *l) { return l->n; }

double sv_flowloss_pair(sv_flowloss *l, const float *ref, const float *supp, const float *flow, float lambda,
                        float scale, float *dflow, double *photo0, double *smooth_out) {
    l->ref[0] = (float *)ref, l->supp[0] = (float *)supp, l->flow[0] = (float *)flow, l->dflow[0] = dflow;
    for (int s = 1; s < l->n; s++) {
        const int ph = l->h[s - 1], pw = l->w[s - 1];
        const size_t n = (size_t)l->h[s] * l->w[s];
        avgpool2_forward(l->ref[s], l->ref[s - 1], 3, ph, pw, 1);
        avgpool2_forward(l->supp[s], l->supp[s - 1], 3, ph, pw, 1);
        avgpool2_forward(l->flow[s], l->flow[s - 1], 2, ph, pw, 1);
        for (size_t i = 0; i < 2 * n; i++) l->flow[s][i] *= 0.5f;  // displacements in this scale's pixels
    }
    double total = 0;
    for (int s = 0; s < l->n; s++) {
        double ph = sv_flow_photo_forward(l->warped, l->ref[s], l->supp[s], l->flow[s], l->h[s], l->w[s]);
        if (s == 0 && photo0) *photo0 = ph;
        total += ph;
        if (!dflow) continue;
        if (s > 0) memset(l->dflow[s], 0, 2 * (size_t)l->h[s] * l->w[s] * sizeof(float));
        sv_flow_photo_backward(l->dflow[s], l->dwarp, l->warped, l->ref[s], l->supp[s], l->flow[s], l->h[s], l->w[s],
                               scale);
    }
    // coarse to fine: d(flow_{s-1}) += pool^T(0.5 * d(flow_s)); the images are data and need no gradient
    for (int s = dflow ? l->n - 1 : 0; s > 0; s--) {
        const size_t n = (size_t)l->h[s] * l->w[s];
        for (size_t i = 0; i < 2 * n; i++) l->dflow[s][i] *= 0.5f;
        avgpool2_backward(l->dflow[s - 1], l->dflow[s], 2, l->h[s - 1], l->w[s - 1], 1);
    }
    const double sm = sv_flow_smooth_forward(flow, l->h[0], l->w[0]);
    if (smooth_out) *smooth_out = sm;
    if (dflow && lambda != 0) sv_flow_smooth_backward(dflow, flow, l->h[0], l->w[0], scale * lambda);
    return total + lambda * sm;
}

void sv_flowloss_free(sv_flowloss *l) {
    if (!l) return;
    for (int s = 1; s < 16; s++) free(l->ref[s]), free(l->supp[s]), free(l->flow[s]), free(l->dflow[s]);
    free(l->warped), free(l->dwarp);
    free(l);
}

// ======== training ========

void sv_flow_zero_head(sv_model *m) {
    for (int l = 0; l < SV_SPY_LEVELS; l++) {
        sv_conv_layer *c = &m->spynet[l][SV_SPY_CONVS - 1];
        memset(c->w, 0, (size_t)c->cout * c->cin * c->k * c->k * sizeof(float));
        memset(c->b, 0, (size_t)c->cout * sizeof(float));
    }
}

void sv_flowtrain_opts_default(sv_flowtrain_opts *o) {
    memset(o, 0, sizeof *o);
    o->feat = 64;
    o->blocks = 30;
    o->act_slope = 0.1f;
    o->iters = 1000;
    o->lr = 3e-3;
    o->lr_min = 1e-6;
    o->batch = 8;
    o->seq = 2;
    o->patch = 64;
    o->degradation = SV_DEG_BI;
    o->smooth = 0.01;
    o->zero_head = -1;
    o->scales = 4;
    o->warmup = 20;
    o->log_every = 10;
    o->ckpt_every = 200;
}

static cJSON *opts_to_json(const sv_flowtrain_opts *o) {
    cJSON *j = cJSON_CreateObject(), *d = cJSON_AddArrayToObject(j, "data");
    for (int i = 0; i < o->ndata; i++) cJSON_AddItemToArray(d, cJSON_CreateString(o->data[i]));
    cJSON_AddNumberToObject(j, "iters", (double)o->iters);
    cJSON_AddNumberToObject(j, "lr", o->lr);
    cJSON_AddNumberToObject(j, "lr_min", o->lr_min);
    cJSON_AddNumberToObject(j, "batch", o->batch);
    cJSON_AddNumberToObject(j, "seq", o->seq);
    cJSON_AddNumberToObject(j, "patch", o->patch);
    cJSON_AddStringToObject(j, "degradation", o->degradation == SV_DEG_BD ? "bd" : "bi");
    cJSON_AddNumberToObject(j, "smooth", o->smooth);
    cJSON_AddNumberToObject(j, "zero_head", o->zero_head);
    cJSON_AddNumberToObject(j, "scales", o->scales);
    cJSON_AddNumberToObject(j, "warmup", (double)o->warmup);
    cJSON_AddNumberToObject(j, "group", o->group);
    cJSON_AddNumberToObject(j, "log_every", (double)o->log_every);
    cJSON_AddNumberToObject(j, "ckpt_every", (double)o->ckpt_every);
    sv_json_add_u64(j, "seed", o->seed);
    return j;
}

// Fills o from the saved JSON; the data strings point into j (keep j alive while o is used).
static int opts_from_json(sv_flowtrain_opts *o, const cJSON *j, const char *what, sv_err *e) {
    const cJSON *d = cJSON_GetObjectItemCaseSensitive(j, "data"), *it;
    o->ndata = 0;
    cJSON_ArrayForEach(it, d) {
        if (!cJSON_IsString(it) || o->ndata == SV_FLOW_MAX_DATA) return sv_errf(e, "%s: bad saved data list", what);
        o->data[o->ndata++] = it->valuestring;
    }
    o->lr = sv_json_num(j, "lr", o->lr);
    o->lr_min = sv_json_num(j, "lr_min", o->lr_min);
    const cJSON *dg = cJSON_GetObjectItemCaseSensitive(j, "degradation");
    o->degradation = cJSON_IsString(dg) && !strcmp(dg->valuestring, "bd") ? SV_DEG_BD : SV_DEG_BI;
    o->smooth = sv_json_num(j, "smooth", o->smooth);
    o->seed = sv_json_u64(j, "seed", o->seed);
    // the integers: whole and in range here, their meaning checked where the run starts (sv_flow_train)
    if (sv_json_long(j, "iters", 0, LONG_MAX, &o->iters, what, e) ||
        sv_json_int(j, "batch", 0, INT_MAX, &o->batch, what, e) || sv_json_int(j, "seq", 0, INT_MAX, &o->seq, what, e) ||
        sv_json_int(j, "patch", 0, INT_MAX, &o->patch, what, e) ||
        sv_json_int(j, "scales", 0, INT_MAX, &o->scales, what, e) ||
        sv_json_long(j, "warmup", 0, LONG_MAX, &o->warmup, what, e) ||
        sv_json_int(j, "group", 0, INT_MAX, &o->group, what, e) ||
        sv_json_long(j, "log_every", 0, LONG_MAX, &o->log_every, what, e) ||
        sv_json_long(j, "ckpt_every", 0, LONG_MAX, &o->ckpt_every, what, e))
        return -1;
    return 0;
}

typedef struct {
    sv_flowtrain_opts o;
    sv_model m;
    size_t nspy;                  // SPyNet's parameters: the first nspy of the model's block
    float *grads, *adam_m, *adam_v;
    long iter, step;
    sv_dataset *data;
    sv_spytrain *spy;
    sv_flowloss *loss;
    float *lr_buf, *gt_buf, *flows, *dflows;
    cJSON *saved_opts;
    char *abs_data[SV_FLOW_MAX_DATA];
    sv_run_lock lock;             // the run folder's, for the run's life
} flowrun;

static void path_in(char *buf, size_t n, const char *dir, const char *name) { snprintf(buf, n, "%s/%s", dir, name); }

// model.safetensors, then state.safetensors (each atomic): a kill between the two leaves a state that is
// one checkpoint older than the model, which --resume simply redoes.
static int checkpoint(flowrun *r, const uint64_t *dstate, int ndstate, sv_err *e) {
    char p[4096];
    sv_tensor_set s = {0};
    int rc = sv_model_to_tensors(&r->m, &s, e);
    path_in(p, sizeof p, r->o.out, "model.safetensors");
    if (!rc) rc = sv_safetensors_write(p, &s, e);
    if (!rc) rc = sv_tensor_set_add_flat(&s, "flowtrain.adam_m", r->adam_m, r->nspy, e);
    if (!rc) rc = sv_tensor_set_add_flat(&s, "flowtrain.adam_v", r->adam_v, r->nspy, e);
    if (!rc) {
        cJSON *j = cJSON_CreateObject();
        cJSON_AddNumberToObject(j, "iter", (double)r->iter);
        cJSON_AddNumberToObject(j, "step", (double)r->step);
        sv_json_add_u64_array(j, "data_state", dstate, ndstate);
        cJSON_AddItemToObject(j, "opts", opts_to_json(&r->o));
        char *txt = cJSON_PrintUnformatted(j);
        cJSON_Delete(j);
        rc = txt ? sv_tensor_set_set_meta(&s, "flowtrain", txt, e) : sv_errf(e, "out of memory");
        free(txt);
    }
    path_in(p, sizeof p, r->o.out, "state.safetensors");
    if (!rc) rc = sv_safetensors_write(p, &s, e);
    sv_tensor_set_free(&s);
    return rc;
}

static int read_state(flowrun *r, uint64_t *dstate, int *ndstate, sv_err *e) {
    char p[4096];
    path_in(p, sizeof p, r->o.out, "state.safetensors");
    sv_tensor_set s = {0};
    if (sv_safetensors_read(p, &s, e)) return sv_errprefix(e, "--resume");
    int64_t nm = 0, nv = 0;
    float *am = sv_tensor_set_take(&s, "flowtrain.adam_m", &nm), *av = sv_tensor_set_take(&s, "flowtrain.adam_v", &nv);
    const char *meta = sv_tensor_set_get_meta(&s, "flowtrain");
    cJSON *j = meta ? cJSON_Parse(meta) : NULL;
    int rc = 0;
    if (!am || !av || !j) rc = sv_errf(e, "%s: not a slimvsr train-flow state", p);
    if (!rc) rc = sv_model_from_tensors(&r->m, &s, 0.1f, p, e);
    if (!rc) {
        sv_model_param_count(&r->m, &r->nspy);
        if ((size_t)nm != r->nspy || (size_t)nv != r->nspy)
            rc = sv_errf(e, "%s: optimiser state does not match SPyNet's %zu parameters", p, r->nspy);
    }
    if (!rc) {
        *ndstate = sv_json_u64_array(j, "data_state", dstate, SV_DATA_STATE_WORDS);
        r->saved_opts = cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(j, "opts"), 1);
        if (sv_json_long(j, "iter", 0, LONG_MAX, &r->iter, p, e) || sv_json_long(j, "step", 0, LONG_MAX, &r->step, p, e))
            rc = -1;
        else rc = r->saved_opts ? opts_from_json(&r->o, r->saved_opts, p, e) : sv_errf(e, "%s: no saved options", p);
    }
    if (!rc) {
        r->adam_m = am, r->adam_v = av;
        am = av = NULL;
    }
    free(am), free(av);
    cJSON_Delete(j);
    sv_tensor_set_free(&s);
    return rc;
}

typedef struct {
    double loss, photo, smooth, zero, mag;
} step_loss;

// One step: every ordered neighbour pair of the batch, both directions, through SPyNet in groups; the loss
// is the mean over pairs, its gradient goes into r->grads (SPyNet's part).
static int flow_step(flowrun *r, step_loss *out, sv_err *e) {
    const int B = r->o.batch, T = r->o.seq, p = r->o.patch, P = 2 * B * (T - 1);
    const int G = r->o.group > 0 ? r->o.group : 16;
    const size_t hw = (size_t)p * p;
    const float scale = 1.0f / (float)P, lam = (float)r->o.smooth;
    const float *ref[64], *supp[64];
    float *flow[64];
    const float *dflow[64];
    memset(out, 0, sizeof *out);
    if (sv_dataset_next(r->data, r->lr_buf, r->gt_buf, e)) return -1;
    for (int p0 = 0; p0 < P; p0 += G) {
        const int np = P - p0 < G ? P - p0 : G;
        for (int j = 0; j < np; j++) {
            // pair q: sample s, neighbours (i, i+1); even q: supp = i+1 warped onto ref = i; odd q: reversed
            const int q = p0 + j, s = q / (2 * (T - 1)), i = (q / 2) % (T - 1);
            const float *xi = r->lr_buf + ((size_t)s * T + i) * 3 * hw, *xn = xi + 3 * hw;
            ref[j] = q % 2 ? xn : xi;
            supp[j] = q % 2 ? xi : xn;
            flow[j] = r->flows + (size_t)j * 2 * hw;
            dflow[j] = r->dflows + (size_t)j * 2 * hw;
        }
        if (sv_spytrain_forward(r->spy, ref, supp, np, flow, e)) return -1;
        memset(r->dflows, 0, (size_t)np * 2 * hw * sizeof(float));
        for (int j = 0; j < np; j++) {
            double ph, sm;
            out->loss += sv_flowloss_pair(r->loss, ref[j], supp[j], flow[j], lam, scale,
                                          r->dflows + (size_t)j * 2 * hw, &ph, &sm) / P;
            out->photo += ph / P;
            out->smooth += sm / P;
            out->zero += charbonnier_forward(ref[j], supp[j], 3 * hw, SV_FLOW_EPS) / P;
            out->mag += sv_flow_magnitude(flow[j], p, p) / P;
        }
        if (sv_spytrain_backward(r->spy, dflow, np, r->grads, e)) return -1;
    }
    return 0;
}

static volatile sig_atomic_t g_stop;
static void on_signal(int sig) {
    (void)sig;
    g_stop = 1;
}

static void flowrun_free(flowrun *r) {
    sv_spytrain_free(r->spy);
    sv_dataset_free(r->data);
    free(r->grads), free(r->adam_m), free(r->adam_v), free(r->lr_buf), free(r->gt_buf);
    free(r->flows), free(r->dflows);
    sv_flowloss_free(r->loss);
    sv_model_free(&r->m);
    cJSON_Delete(r->saved_opts);
    for (int i = 0; i < SV_FLOW_MAX_DATA; i++) free(r->abs_data[i]);
    sv_run_lock_release(&r->lock);
}

static int absolute_data(flowrun *r, sv_err *e) {
    if (r->o.ndata < 1) return sv_errf(e, "no training data (--data)");
    for (int i = 0; i < r->o.ndata; i++) {  // absolute, so that --resume works from any folder
        if (!(r->abs_data[i] = realpath(r->o.data[i], NULL))) return sv_errf(e, "%s: %s", r->o.data[i], strerror(errno));
        r->o.data[i] = r->abs_data[i];
    }
    return 0;
}

// Refuses a run whose buffers (what the allocations below take, SPyNet's training graph for groups of G
// pairs counted by sv_spytrain_estimate) exceed the memory available, before any is allocated.
static int check_memory(const flowrun *r, int G, sv_err *e) {
    const size_t p = (size_t)r->o.patch, nlr = (size_t)r->o.batch * r->o.seq * 3 * p * p;
    const size_t need = sv_spytrain_estimate(&r->m, (int)p, (int)p, G, sv_conv_preferred_blk()) +
                        r->m.nparams * 4 * sizeof(float) + 17 * nlr * sizeof(float) + 2 * (size_t)G * 2 * p * p * sizeof(float);
    const sv_mem_avail av = sv_mem_available();
    if (need <= av.bytes) return 0;
    char x[32], y[128];
    return sv_errf(e, "%s: SPyNet training needs about %s (--batch %d, --seq %d, --patch %d, --group %d); %s: use "
                   "a smaller --group, --batch, --seq or --patch", r->o.out, sv_mem_format(need, x, sizeof x),
                   r->o.batch, r->o.seq, r->o.patch, G, sv_mem_describe(av, y, sizeof y));
}

// The run folder's claim (sv_run_claim, train/run_lock.h) with this run's inputs: --data, --init.
static int claim_run_folder(flowrun *r, int create, sv_err *e) {
    const char *in[SV_FLOW_MAX_DATA + 1];
    int n = 0;
    for (int i = 0; i < r->o.ndata; i++) in[n++] = r->o.data[i];
    in[n++] = r->o.init;
    return sv_run_claim(&r->lock, r->o.out, in, n, create, r->o.resume ? NULL : "state.safetensors", e);
}

// Loads or creates the model and the optimiser state (fresh run) or the whole run (resume).
static int flowrun_setup(flowrun *r, const sv_flowtrain_opts *opts, uint64_t *dstate, int *ndstate, sv_err *e) {
    if (r->o.resume ? read_state(r, dstate, ndstate, e) : absolute_data(r, e)) return -1;
    if (claim_run_folder(r, 0, e)) return -1;
    if (r->o.resume) {
        if (opts->iters > r->o.iters) r->o.iters = opts->iters;  // --iters may extend a run
        r->o.resume = 1;
        r->o.quiet = opts->quiet;
        r->o.out = opts->out;
        return 0;
    }
    if (r->o.init ? sv_model_load(&r->m, r->o.init, -1, e)
                  : sv_model_init_random(&r->m, r->o.feat, r->o.blocks, r->o.act_slope, r->o.seed, e))
        return -1;
    if (r->o.zero_head > 0 || (r->o.zero_head < 0 && !r->o.init)) sv_flow_zero_head(&r->m);
    sv_model_param_count(&r->m, &r->nspy);
    if (!(r->adam_m = sv_calloc(r->nspy, sizeof(float), e)) || !(r->adam_v = sv_calloc(r->nspy, sizeof(float), e)))
        return -1;
    return 0;
}

int sv_flow_train(const sv_flowtrain_opts *opts, sv_err *e) {
    flowrun R = {0}, *r = &R;
    r->o = *opts;
    uint64_t dstate[SV_DATA_STATE_WORDS];
    int ndstate = 0, rc = -1;
    if (!r->o.out) return sv_errf(e, "no run folder (--out)");
    if (flowrun_setup(r, opts, dstate, &ndstate, e)) goto done;
    const int max_patch = SV_FRAME_MAX_SIDE / SV_DATA_SCALE;
    if (r->o.batch < 1 || r->o.seq < 2 || r->o.patch < 8 || r->o.patch > max_patch || r->o.iters < 1 ||
        r->o.log_every < 1 || r->o.ckpt_every < 1 || r->o.group < 0 || r->o.group > 64 || !(r->o.smooth >= 0) ||
        r->o.scales < 1 || r->o.warmup < 0) {
        rc = sv_errf(e, "invalid options: batch %d, seq %d (>= 2), patch %d (8..%d), iters %ld, log-every %ld, "
                        "checkpoint-every %ld, group %d (0..64), smooth %g (>= 0), scales %d (>= 1), warmup %ld",
                     r->o.batch, r->o.seq, r->o.patch, max_patch, r->o.iters, r->o.log_every, r->o.ckpt_every,
                     r->o.group, r->o.smooth, r->o.scales, r->o.warmup);
        goto done;
    }
    FILE *info = r->o.quiet ? NULL : stderr;
    sv_data_opts dopt;
    sv_data_opts_default(&dopt);
    dopt.seq = r->o.seq;
    dopt.patch = r->o.patch;
    dopt.batch = r->o.batch;
    dopt.degradation = r->o.degradation;
    dopt.seed = r->o.seed;
    if (!(r->data = sv_dataset_open(r->o.data, r->o.ndata, &dopt, e))) goto done;
    if (ndstate && sv_dataset_restore(r->data, dstate, ndstate, e)) goto done;
    const int B = r->o.batch, T = r->o.seq, p = r->o.patch, P = 2 * B * (T - 1);
    const int G = r->o.group > 0 ? r->o.group : 16, Gc = P < G ? P : G;
    const size_t hw = (size_t)p * p, nlr = (size_t)B * T * 3 * hw;
    if (check_memory(r, Gc, e)) goto done;
    if (!(r->spy = sv_spytrain_create(&r->m, p, p, Gc, sv_conv_preferred_blk(), 0, e))) goto done;
    if (!(r->grads = sv_calloc(r->m.nparams, sizeof(float), e)) || !(r->lr_buf = sv_malloc(nlr * sizeof(float), e)) ||
        !(r->gt_buf = sv_malloc(16 * nlr * sizeof(float), e)) ||
        !(r->flows = sv_malloc((size_t)Gc * 2 * hw * sizeof(float), e)) ||
        !(r->dflows = sv_malloc((size_t)Gc * 2 * hw * sizeof(float), e)) ||
        !(r->loss = sv_flowloss_create(p, p, r->o.scales, e)))
        goto done;
    if (info) {
        char d[512];
        sv_dataset_describe(r->data, d, sizeof d);
        fprintf(info, "data: %s\n", d);
        fprintf(info, "train-flow: SPyNet (%zu parameters) of a %d x %d model, %ld iterations of %d pairs (%d clips "
                      "x %d frames, both directions), LR patch %d, lr %.3g -> %.3g cosine (warm-up %ld), %d photometric scales, smoothness %.3g\n",
                r->nspy, r->m.num_feat, r->m.num_block, r->o.iters, P, B, T, p, r->o.lr, r->o.lr_min, r->o.warmup,
                sv_flowloss_scales(r->loss), r->o.smooth);
    }
    if (claim_run_folder(r, 1, e)) goto done;  // the run folder only now: a failed start leaves nothing
    char logp[4096];
    path_in(logp, sizeof logp, r->o.out, "log.jsonl");
    if (r->o.resume) {
        if (sv_log_trim(logp, r->iter, e)) goto done;
        if (info) fprintf(info, "resuming %s at iteration %ld of %ld\n", r->o.out, r->iter, r->o.iters);
    } else {
        remove(logp);
    }
    g_stop = 0;
    void (*old_int)(int) = signal(SIGINT, on_signal), (*old_term)(int) = signal(SIGTERM, on_signal);
    const double t0 = sv_now();
    const long it0 = r->iter;
    step_loss sum = {0};
    long nsum = 0;
    rc = 0;
    while (r->iter < r->o.iters && !rc) {
        double lr = sv_cosine_lr(r->o.lr, r->o.lr_min, r->iter, r->o.iters);
        if (r->iter < r->o.warmup) lr *= (double)(r->iter + 1) / (double)(r->o.warmup + 1);
        step_loss sl;
        memset(r->grads, 0, r->nspy * sizeof(float));
        if (flow_step(r, &sl, e)) {
            rc = -1;
            break;
        }
        if (!isfinite(sl.loss)) {
            rc = sv_errf(e, "iteration %ld: the loss is %g (diverged); lower --lr or resume from the last checkpoint",
                         r->iter + 1, sl.loss);
            break;
        }
        r->step++;
        sv_adam_step(r->m.params, r->grads, r->adam_m, r->adam_v, r->nspy, (float)lr, 0.9f, 0.999f, 1e-8f, r->step);
        r->iter++;
        sum.loss += sl.loss, sum.photo += sl.photo, sum.smooth += sl.smooth, sum.zero += sl.zero, sum.mag += sl.mag;
        nsum++;
        const int last = r->iter == r->o.iters || g_stop;
        if (r->iter % r->o.log_every == 0 || last) {
            const double now = sv_now(), k = 1.0 / (double)nsum;
            cJSON *j = cJSON_CreateObject();
            cJSON_AddNumberToObject(j, "iter", (double)r->iter);
            cJSON_AddNumberToObject(j, "loss", sum.loss * k);
            cJSON_AddNumberToObject(j, "photo", sum.photo * k);
            cJSON_AddNumberToObject(j, "smooth", sum.smooth * k);
            cJSON_AddNumberToObject(j, "photo_zero", sum.zero * k);
            cJSON_AddNumberToObject(j, "flow_mag", sum.mag * k);
            cJSON_AddNumberToObject(j, "lr", lr);
            cJSON_AddNumberToObject(j, "seconds", now - t0);
            rc = sv_log_append(logp, j, e);
            cJSON_Delete(j);
            if (info) {
                const double ips = (double)(r->iter - it0) / (now - t0 + 1e-9);
                fprintf(info, "iter %ld/%ld  loss %.5f  photo %.5f (zero flow %.5f)  smooth %.4f  |flow| %.3f  lr %.3g  "
                              "%.2f it/s  ETA %.0f s\n", r->iter, r->o.iters, sum.loss * k, sum.photo * k, sum.zero * k,
                        sum.smooth * k, sum.mag * k, lr, ips, (double)(r->o.iters - r->iter) / (ips + 1e-9));
            }
            memset(&sum, 0, sizeof sum);
            nsum = 0;
        }
        if (!rc && (r->iter % r->o.ckpt_every == 0 || last)) {
            ndstate = sv_dataset_state(r->data, dstate, SV_DATA_STATE_WORDS);
            rc = checkpoint(r, dstate, ndstate, e);
        }
        if (g_stop) break;
    }
    signal(SIGINT, old_int);
    signal(SIGTERM, old_term);
    if (!rc && info && g_stop) fprintf(info, "stopped at iteration %ld; continue with --resume\n", r->iter);
done:
    flowrun_free(r);
    return rc;
}

// ======== evaluation ========

static int is_dir(const char *p) {
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static int has_suffix(const char *s, const char *suf) {
    size_t n = strlen(s), k = strlen(suf);
    return n >= k && !strcasecmp(s + n - k, suf);
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

// The clips of one source: itself when it is a file or holds PNG frames; else its sub-folders and video
// files, in name order. *out: malloc'd array of malloc'd paths.
static int list_clips(const char *src, char ***out, int *n, sv_err *e) {
    *out = NULL;
    *n = 0;
    if (!is_dir(src)) {
        struct stat st;
        if (stat(src, &st)) return sv_errf(e, "%s: %s", src, strerror(errno));
        if (!(*out = sv_malloc(sizeof(char *), e))) return -1;
        if (!((*out)[0] = strdup(src))) return sv_errf(e, "out of memory");
        *n = 1;
        return 0;
    }
    DIR *d = opendir(src);
    if (!d) return sv_errf(e, "%s: %s", src, strerror(errno));
    struct dirent *de;
    int cap = 0, png = 0, rc = 0;
    char **v = NULL;
    while ((de = readdir(d)) && !rc) {
        if (de->d_name[0] == '.') continue;
        if (has_suffix(de->d_name, ".png")) {
            png = 1;
            continue;
        }
        char p[4096];
        snprintf(p, sizeof p, "%s/%s", src, de->d_name);
        if (!is_dir(p) && !sv_frames_is_video_name(de->d_name)) continue;
        if (*n == cap) {
            cap = cap ? 2 * cap : 16;
            char **nv = realloc(v, (size_t)cap * sizeof *v);
            if (!nv) {
                rc = sv_errf(e, "out of memory");
                break;
            }
            v = nv;
        }
        if (!(v[*n] = strdup(p))) rc = sv_errf(e, "out of memory");
        else (*n)++;
    }
    closedir(d);
    if (png && !rc) {  // a folder of frames is one clip, whatever else it holds
        for (int i = 0; i < *n; i++) free(v[i]);
        *n = 0;
        if (!v && !(v = malloc(sizeof *v))) rc = sv_errf(e, "out of memory");
        else if (!(v[0] = strdup(src))) rc = sv_errf(e, "out of memory");
        else *n = 1;
    }
    if (!rc && !*n) rc = sv_errf(e, "%s: no PNG frames, clip folders or videos", src);
    if (rc) {
        for (int i = 0; i < *n; i++) free(v[i]);
        free(v);
        *n = 0;
        return -1;
    }
    qsort(v, (size_t)*n, sizeof *v, cmp_str);
    *out = v;
    return 0;
}

static void rgb_to_chw(float *dst, const unsigned char *rgb, int h, int w) {
    const size_t hw = (size_t)h * w;
    for (size_t i = 0; i < hw; i++)
        for (int c = 0; c < 3; c++) dst[c * hw + i] = rgb[i * 3 + c] * (1.0f / 255.0f);
}

// Adds one clip's pairs to the sums in r.
static int eval_clip(const sv_model *m, const char *path, int max_frames, sv_flow_eval_result *r, sv_err *e) {
    sv_frame_reader *rd = sv_frames_open(path, e);
    if (!rd) return -1;
    const int h = sv_frames_height(rd), w = sv_frames_width(rd);
    const size_t hw = (size_t)h * w;
    unsigned char *rgb = sv_malloc(hw * 3, e);
    float *img[2] = {sv_malloc(3 * hw * sizeof(float), e), sv_malloc(3 * hw * sizeof(float), e)};
    float *fl[2] = {sv_malloc(2 * hw * sizeof(float), e), sv_malloc(2 * hw * sizeof(float), e)};
    float *warped = sv_malloc(3 * hw * sizeof(float), e);
    sv_spytrain *spy = NULL;
    int rc = -1, nread = 0;
    if (!rgb || !img[0] || !img[1] || !fl[0] || !fl[1] || !warped) goto out;
    if (!(spy = sv_spytrain_create(m, h, w, 2, sv_conv_preferred_blk(), 0, e))) goto out;
    for (;;) {
        if (max_frames > 0 && nread == max_frames) break;
        int got = sv_frames_read(rd, rgb, e);
        if (got < 0) goto out;
        if (!got) break;
        float *cur = img[nread & 1], *prev = img[(nread + 1) & 1];
        rgb_to_chw(cur, rgb, h, w);
        if (nread++ == 0) continue;
        const float *ref[2] = {prev, cur}, *supp[2] = {cur, prev};
        if (sv_spytrain_forward(spy, ref, supp, 2, fl, e)) goto out;
        for (int j = 0; j < 2; j++) {
            r->photo_zero += charbonnier_forward(ref[j], supp[j], 3 * hw, SV_FLOW_EPS);
            r->photo_model += sv_flow_photo_forward(warped, ref[j], supp[j], fl[j], h, w);
            r->smooth_model += sv_flow_smooth_forward(fl[j], h, w);
            r->flow_mag += sv_flow_magnitude(fl[j], h, w);
            r->pairs++;
        }
    }
    r->clips++;
    rc = 0;
out:
    if (rc) sv_errprefix(e, "%s", path);
    sv_spytrain_free(spy);
    sv_frames_close(rd);
    free(rgb), free(img[0]), free(img[1]), free(fl[0]), free(fl[1]), free(warped);
    return rc;
}

int sv_flow_eval(const sv_model *m, const char *const *sources, int nsources, int max_frames,
                 sv_flow_eval_result *r, sv_err *e) {
    memset(r, 0, sizeof *r);
    for (int s = 0; s < nsources; s++) {
        char **clips;
        int n, rc = 0;
        if (list_clips(sources[s], &clips, &n, e)) return -1;
        for (int i = 0; i < n && !rc; i++) rc = eval_clip(m, clips[i], max_frames, r, e);
        for (int i = 0; i < n; i++) free(clips[i]);
        free(clips);
        if (rc) return -1;
    }
    if (!r->pairs) return sv_errf(e, "no pairs of frames to evaluate (clips need at least 2 frames)");
    r->photo_zero /= (double)r->pairs;
    r->photo_model /= (double)r->pairs;
    r->smooth_model /= (double)r->pairs;
    r->flow_mag /= (double)r->pairs;
    return 0;
}
