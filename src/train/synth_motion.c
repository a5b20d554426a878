// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// synth_motion.c: synthetic sequences with exact flow (synth_motion.h): the motion of every layer as a 3x3
// matrix per frame, rendering in depth order, and the flow and validity of every neighbour pair.
//
// Layer l at frame t: a matrix F[l][t] maps layer coordinates u to frame pixels p (homogeneous), and
// U[l][t] = F[l][t]^-1 maps back. The layer's pixel at p in frame t shows its texture at U[l][t] p, so a
// point seen at p in frame r is seen at q = F[l][s] U[l][r] p in frame s, and the flow (ref r, supp s) at p
// is q - p for the layer that p shows. F = T(c + v tau + a tau^2 / 2) R(th0 + om tau) S(exp(sig tau))
// P(g tau), tau = t - (T - 1) / 2 (the middle frame is the reference pose), P the perspective part
// [[1,0,0],[0,1,0],[gx,gy,1]] (the background only; foreground layers are similarities).
#include "train/synth_motion.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "io/frames.h"
#include "train/synth_layers.h"

#define PI 3.14159265358979323846

// A layer's motion (docs/synthetic-motion.md): with probability static_share none (m = 0), else speed
// m = motion_max * u^power in a uniform direction; the
// other parts are drawn as shares of m, as pixels of displacement at the layer's reference radius rref
// (half the frame's diagonal for the background, the shape's radius for a foreground layer).
#define ACCEL_SHARE 0.15   // |a| per component, pixels / frame^2, <= 0.15 m
#define ROT_SHARE 0.3      // rotation: om * rref <= 0.3 m
#define ZOOM_SHARE 0.2     // zoom: sig * rref <= 0.2 m
#define PERSP_SHARE 0.1    // perspective (background): g * rref^2 <= 0.1 m per component
#define ZOOM_TOTAL 0.405   // |sig tau| <= log(1.5) at the first and last frame
#define PERSP_TOTAL 0.1    // |g tau| * rref <= 0.1 at the first and last frame

typedef struct {
    double m[9];
} mat3;

typedef struct {
    double cx, cy, vx, vy, ax, ay, th0, om, sig, gx, gy;
} motion;

typedef struct {
    motion mo;
    double rref;         // reference radius (pixels) of the rotation, zoom and perspective shares
    synth_shape shape;   // kind SYNTH_BACKGROUND for layer 0
    synth_texture tex;
    mat3 *F, *U;         // [T] each
    double *scale;       // [T]: exp(sig tau), pixels per layer unit
} layer;

typedef struct {
    const sv_synth_params *p;
    int nl;              // layers, background included
    layer *l;
    signed char *label;  // [T,H,W]: the layer a pixel shows alone, -1 where a soft edge mixes layers
    signed char *dom;    // [T,H,W]: the topmost layer with alpha >= 1/2 (whose motion the flow follows)
} ctx;

// ---- parameters and buffers ----

void sv_synth_params_default(sv_synth_params *p, int T, int H, int W) {
    *p = (sv_synth_params){.T = T, .H = H, .W = W, .layers_min = 2, .layers_max = 6, .motion_max = 8,
                           .motion_power = 2, .static_share = 0, .size_min = 0.08, .size_max = 0.35, .edge_min = 0.5, .edge_max = 2};
}

static int in_range(double v, double lo, double hi) { return v >= lo && v <= hi; }  // false for NaN

int sv_synth_params_check(const sv_synth_params *p, sv_err *e) {
    if (p->T < 2 || p->T > SV_SYNTH_MAX_T)
        return sv_errf(e, "synthetic motion: T = %d frames (need 2..%d)", p->T, SV_SYNTH_MAX_T);
    if (p->H < 8 || p->W < 8 || p->H > SV_FRAME_MAX_SIDE || p->W > SV_FRAME_MAX_SIDE)
        return sv_errf(e, "synthetic motion: frame size %d x %d (W x H; each side 8..%d)", p->W, p->H,
                       SV_FRAME_MAX_SIDE);
    if (p->layers_min < 0 || p->layers_max > SV_SYNTH_MAX_LAYERS || p->layers_min > p->layers_max)
        return sv_errf(e, "synthetic motion: layers %d..%d (need 0 <= min <= max <= %d)", p->layers_min, p->layers_max,
                       SV_SYNTH_MAX_LAYERS);
    if (!in_range(p->motion_max, 0, 64) || !in_range(p->motion_power, 0.1, 10) || !in_range(p->static_share, 0, 1))
        return sv_errf(e, "synthetic motion: motion_max %g (0..64 pixels), motion_power %g (0.1..10), static_share "
                       "%g (0..1)", p->motion_max, p->motion_power, p->static_share);
    if (!in_range(p->size_min, 0.01, 1) || !in_range(p->size_max, p->size_min, 1))
        return sv_errf(e, "synthetic motion: shape size %g..%g (fractions of the shorter side, 0.01 <= min <= max <= 1)",
                       p->size_min, p->size_max);
    if (!in_range(p->edge_min, 0, 16) || !in_range(p->edge_max, p->edge_min, 16))
        return sv_errf(e, "synthetic motion: edge width %g..%g (pixels, 0 <= min <= max <= 16)", p->edge_min, p->edge_max);
    return 0;
}

int sv_synth_seq_alloc(sv_synth_seq *s, int T, int H, int W, sv_err *e) {
    memset(s, 0, sizeof *s);
    sv_synth_params p;
    sv_synth_params_default(&p, T, H, W);
    if (sv_synth_params_check(&p, e)) return -1;
    const size_t hw = (size_t)H * W, np = (size_t)(T - 1);
    s->T = T, s->H = H, s->W = W;
    if (!(s->frames = sv_malloc(sizeof(float) * T * 3 * hw, e)) ||
        !(s->flow_b = sv_malloc(sizeof(float) * np * 2 * hw, e)) ||
        !(s->flow_f = sv_malloc(sizeof(float) * np * 2 * hw, e)) ||
        !(s->valid_b = sv_malloc(sizeof(float) * np * hw, e)) || !(s->valid_f = sv_malloc(sizeof(float) * np * hw, e))) {
        sv_synth_seq_free(s);
        return -1;
    }
    return 0;
}

void sv_synth_seq_free(sv_synth_seq *s) {
    if (!s) return;
    free(s->frames);
    free(s->flow_b);
    free(s->flow_f);
    free(s->valid_b);
    free(s->valid_f);
    memset(s, 0, sizeof *s);
}

// ---- matrices ----

static mat3 mat_mul(const mat3 *a, const mat3 *b) {
    mat3 c;
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++)
            c.m[3 * i + j] = a->m[3 * i] * b->m[j] + a->m[3 * i + 1] * b->m[3 + j] + a->m[3 * i + 2] * b->m[6 + j];
    return c;
}

// Equal values (so -0 == 0: a still layer's rates times a negative tau give -0).
static int mat_equal(const mat3 *a, const mat3 *b) {
    for (int i = 0; i < 9; i++)
        if (a->m[i] != b->m[i]) return 0;
    return 1;
}

static mat3 mat_inv(const mat3 *a) {
    const double *m = a->m;
    const double c0 = m[4] * m[8] - m[5] * m[7], c1 = m[5] * m[6] - m[3] * m[8], c2 = m[3] * m[7] - m[4] * m[6];
    const double r = 1.0 / (m[0] * c0 + m[1] * c1 + m[2] * c2);
    mat3 b = {{c0 * r, (m[2] * m[7] - m[1] * m[8]) * r, (m[1] * m[5] - m[2] * m[4]) * r,  //
               c1 * r, (m[0] * m[8] - m[2] * m[6]) * r, (m[2] * m[3] - m[0] * m[5]) * r,  //
               c2 * r, (m[1] * m[6] - m[0] * m[7]) * r, (m[0] * m[4] - m[1] * m[3]) * r}};
    return b;
}

static inline void mat_apply(const mat3 *a, double x, double y, double *ox, double *oy) {
    const double *m = a->m, w = 1.0 / (m[6] * x + m[7] * y + m[8]);
    *ox = (m[0] * x + m[1] * y + m[2]) * w;
    *oy = (m[3] * x + m[4] * y + m[5]) * w;
}

// F(tau) of a motion (see the top of this file).
static mat3 motion_matrix(const motion *mo, double tau) {
    const double tx = mo->cx + mo->vx * tau + 0.5 * mo->ax * tau * tau;
    const double ty = mo->cy + mo->vy * tau + 0.5 * mo->ay * tau * tau;
    const double th = mo->th0 + mo->om * tau, s = exp(mo->sig * tau), gx = mo->gx * tau, gy = mo->gy * tau;
    const double c = s * cos(th), sn = s * sin(th);
    mat3 a = {{c + tx * gx, -sn + tx * gy, tx, sn + ty * gx, c + ty * gy, ty, gx, gy, 1}};
    return a;
}

static void layer_matrices(layer *L, int T) {
    for (int t = 0; t < T; t++) {
        const double tau = t - 0.5 * (T - 1);
        L->F[t] = motion_matrix(&L->mo, tau);
        L->U[t] = mat_inv(&L->F[t]);
        L->scale[t] = exp(L->mo.sig * tau);
    }
}

// ---- motion ----

// Draws a layer's motion rates (centre and orientation are the caller's); see the shares above.
static void draw_motion(motion *mo, const sv_synth_params *p, double rref, int perspective, sv_rng *r) {
    const int still = synth_u01(r) < p->static_share;  // then every rate below is 0: m scales them all
    const double m = still ? 0 : p->motion_max * pow(synth_u01(r), p->motion_power), dir = synth_uniform(r, 0, 2 * PI);
    const double tmax = 0.5 * (p->T - 1);
    mo->vx = m * cos(dir), mo->vy = m * sin(dir);
    mo->ax = ACCEL_SHARE * m * synth_uniform(r, -1, 1);
    mo->ay = ACCEL_SHARE * m * synth_uniform(r, -1, 1);
    mo->om = ROT_SHARE * m * synth_uniform(r, -1, 1) / rref;
    mo->sig = ZOOM_SHARE * m * synth_uniform(r, -1, 1) / rref;
    mo->sig = fmax(-ZOOM_TOTAL / tmax, fmin(ZOOM_TOTAL / tmax, mo->sig));
    const double gmax = PERSP_TOTAL / (tmax * rref);
    mo->gx = perspective ? fmax(-gmax, fmin(gmax, PERSP_SHARE * m * synth_uniform(r, -1, 1) / (rref * rref))) : 0;
    mo->gy = perspective ? fmax(-gmax, fmin(gmax, PERSP_SHARE * m * synth_uniform(r, -1, 1) / (rref * rref))) : 0;
}

// Largest displacement between neighbour frames (both directions) of the given points: layer points when
// in_layer, else frame pixels (the same pixels in every ref frame).
static double max_step(const layer *L, int T, const double *pts, int npts, int in_layer) {
    double mx = 0;
    for (int r = 0; r < T; r++)
        for (int s = r - 1; s <= r + 1; s += 2) {
            if (s < 0 || s >= T) continue;
            for (int i = 0; i < npts; i++) {
                double ux = pts[2 * i], uy = pts[2 * i + 1], px, py, qx, qy;
                if (!in_layer) mat_apply(&L->U[r], ux, uy, &ux, &uy);
                mat_apply(&L->F[r], ux, uy, &px, &py);
                mat_apply(&L->F[s], ux, uy, &qx, &qy);
                mx = fmax(mx, hypot(qx - px, qy - py));
            }
        }
    return mx;
}

// Scales the layer's rates down until no sample point moves more than motion_max between neighbours
// (rotation, zoom and perspective are not linear in their rates, so a few rounds).
static void cap_motion(layer *L, const sv_synth_params *p, const double *pts, int npts, int in_layer) {
    for (int round = 0; round < 8; round++) {
        const double mx = max_step(L, p->T, pts, npts, in_layer);
        if (mx <= p->motion_max) return;
        const double k = 0.999 * p->motion_max / mx;
        motion *mo = &L->mo;
        mo->vx *= k, mo->vy *= k, mo->ax *= k, mo->ay *= k, mo->om *= k, mo->sig *= k, mo->gx *= k, mo->gy *= k;
        layer_matrices(L, p->T);
    }
}

// ---- layers ----

// The texture of layer L: texels covering the layer box [x0, x1] x [y0, y1] plus 2 texels, from photo img.
static int layer_texture(layer *L, const sv_synth_image *img, double x0, double y0, double x1, double y1,
                         sv_rng *r, sv_err *e) {
    const double ux0 = floor(x0) - 2, uy0 = floor(y0) - 2;
    const int tw = (int)(ceil(x1) - ux0) + 3, th = (int)(ceil(y1) - uy0) + 3;
    if (synth_texture_make(&L->tex, img, tw, th, r, e)) return -1;
    L->tex.ux0 = ux0, L->tex.uy0 = uy0;
    return 0;
}

// Layer 0: the camera's motion about the frame centre; the texture covers what any frame sees.
static int setup_background(ctx *c, const sv_synth_image *img, sv_rng *r, sv_err *e) {
    const sv_synth_params *p = c->p;
    layer *L = &c->l[0];
    const double W1 = p->W - 1, H1 = p->H - 1;
    L->shape.kind = SYNTH_BACKGROUND;
    L->rref = 0.5 * hypot(W1, H1);
    L->mo.cx = 0.5 * W1, L->mo.cy = 0.5 * H1;
    draw_motion(&L->mo, p, L->rref, 1, r);
    layer_matrices(L, p->T);
    const double pts[18] = {0, 0, W1, 0, 0, H1, W1, H1, 0.5 * W1, 0, 0.5 * W1, H1, 0, 0.5 * H1, W1, 0.5 * H1,
                            0.5 * W1, 0.5 * H1};
    cap_motion(L, p, pts, 9, 0);
    double x0 = INFINITY, y0 = INFINITY, x1 = -INFINITY, y1 = -INFINITY;
    for (int t = 0; t < p->T; t++)
        for (int i = 0; i < 4; i++) {
            double ux, uy;
            mat_apply(&L->U[t], pts[2 * i], pts[2 * i + 1], &ux, &uy);
            x0 = fmin(x0, ux), y0 = fmin(y0, uy), x1 = fmax(x1, ux), y1 = fmax(y1, uy);
        }
    return layer_texture(L, img, x0, y0, x1, y1, r, e);
}

// Reach of a foreground layer in layer units at scale s: beyond it the layer is not drawn (alpha 0).
static double layer_reach(const synth_shape *sh, double s) { return sh->rmax + 2 * sh->edge / s + 2; }

// Foreground layer l: a random shape anywhere in the middle frame, its own motion, its own photo.
static int setup_foreground(ctx *c, int l, const sv_synth_image *img, sv_rng *r, sv_err *e) {
    const sv_synth_params *p = c->p;
    layer *L = &c->l[l];
    const double side = p->H < p->W ? p->H : p->W;
    const double radius = side * synth_uniform(r, p->size_min, p->size_max);
    const int kind = 1 + (int)sv_rng_below(r, SYNTH_KINDS - 1);
    synth_shape_draw(&L->shape, kind, radius, synth_uniform(r, p->edge_min, p->edge_max), r);
    L->rref = L->shape.rmax;
    L->mo.cx = synth_uniform(r, 0, p->W - 1), L->mo.cy = synth_uniform(r, 0, p->H - 1);
    L->mo.th0 = synth_uniform(r, 0, 2 * PI);
    draw_motion(&L->mo, p, L->rref, 0, r);
    layer_matrices(L, p->T);
    double pts[34] = {0, 0};
    const double rim = L->shape.rmax + L->shape.edge;
    for (int i = 0; i < 16; i++) pts[2 + 2 * i] = rim * cos(PI * i / 8), pts[3 + 2 * i] = rim * sin(PI * i / 8);
    cap_motion(L, p, pts, 17, 1);
    const double ext = layer_reach(&L->shape, exp(-ZOOM_TOTAL));  // the smallest scale any frame has
    return layer_texture(L, img, -ext, -ext, ext, ext, r, e);
}

// ---- rendering ----

// Alpha of foreground layer L at frame pixel (x, y) of frame t; *ux, *uy get the layer point.
static inline double layer_alpha(const layer *L, int t, double x, double y, double *ux, double *uy) {
    mat_apply(&L->U[t], x, y, ux, uy);
    const double reach = layer_reach(&L->shape, L->scale[t]);
    if (*ux * *ux + *uy * *uy > reach * reach) return 0;
    const double d = synth_shape_dist(&L->shape, *ux, *uy) * L->scale[t];  // pixels
    if (L->shape.edge <= 0) return d < 0 ? 1 : 0;
    const double a = 0.5 - d / L->shape.edge;
    return a < 0 ? 0 : a > 1 ? 1 : a;
}

// Row y of frame t into out [3,H,W]; label and dom of its pixels.
static void render_row(const ctx *c, int t, int y, float *out) {
    const int W = c->p->W;
    const size_t hw = (size_t)c->p->H * W;
    for (int x = 0; x < W; x++) {
        double ux, uy;
        float col[3], fg[3];
        mat_apply(&c->l[0].U[t], x, y, &ux, &uy);
        synth_texture_sample(&c->l[0].tex, ux, uy, col);
        int top = 0, dom = 0;
        double top_a = 1;
        for (int l = 1; l < c->nl; l++) {
            const double a = layer_alpha(&c->l[l], t, x, y, &ux, &uy);
            if (a <= 0) continue;
            synth_texture_sample(&c->l[l].tex, ux, uy, fg);
            for (int k = 0; k < 3; k++) col[k] += (float)a * (fg[k] - col[k]);
            top = l, top_a = a;
            if (a >= 0.5) dom = l;
        }
        const size_t i = (size_t)y * W + x;
        for (int k = 0; k < 3; k++) out[k * hw + i] = col[k];
        c->label[t * hw + i] = (signed char)(top_a >= 1 ? top : -1);
        c->dom[t * hw + i] = (signed char)dom;
    }
}

// Whether the supp pixels that bilinear warping reads at (qx, qy) all show layer l alone.
static inline int taps_show(const signed char *label, int W, int H, double qx, double qy, int l) {
    const int x0 = (int)qx, y0 = (int)qy, x1 = x0 + 1 < W ? x0 + 1 : x0, y1 = y0 + 1 < H ? y0 + 1 : y0;
    return label[(size_t)y0 * W + x0] == l && label[(size_t)y0 * W + x1] == l && label[(size_t)y1 * W + x0] == l &&
           label[(size_t)y1 * W + x1] == l;
}

// Row y of the flow (ref r, supp s) into flow [2,H,W] and its validity into valid [H,W].
static void flow_row(const ctx *c, int r, int s, int y, float *flow, float *valid) {
    const int H = c->p->H, W = c->p->W;
    const size_t hw = (size_t)H * W;
    mat3 K[SV_SYNTH_MAX_LAYERS + 1];
    for (int l = 0; l < c->nl; l++) {
        const layer *L = &c->l[l];
        // a layer in the same pose in both frames (a still one) does not move: exactly, not F U's rounding
        if (mat_equal(&L->F[s], &L->F[r])) K[l] = (mat3){{1, 0, 0, 0, 1, 0, 0, 0, 1}};
        else K[l] = mat_mul(&L->F[s], &L->U[r]);
    }
    const signed char *lab_r = c->label + r * hw, *lab_s = c->label + s * hw, *dom_r = c->dom + r * hw;
    for (int x = 0; x < W; x++) {
        const size_t i = (size_t)y * W + x;
        const int l = dom_r[i];
        double qx, qy;
        mat_apply(&K[l], x, y, &qx, &qy);
        flow[i] = (float)(qx - x);
        flow[hw + i] = (float)(qy - y);
        const int inside = qx >= 0 && qx <= W - 1 && qy >= 0 && qy <= H - 1;
        valid[i] = lab_r[i] == l && inside && taps_show(lab_s, W, H, qx, qy, l) ? 1.0f : 0.0f;
    }
}

// Every frame, then every flow of s. One parallel region each (over frames or pairs, and rows): many short
// regions cost more than they save when the cores are shared with other work (measured: 7x slower).
static void render_all(const ctx *c, sv_synth_seq *s) {
    const int T = c->p->T, H = c->p->H;
    const size_t hw = (size_t)H * c->p->W;
#pragma omp parallel for collapse(2) schedule(static) if (T * hw >= SYNTH_PAR_MIN)
    for (int t = 0; t < T; t++)
        for (int y = 0; y < H; y++) render_row(c, t, y, s->frames + (size_t)t * 3 * hw);
#pragma omp parallel for collapse(2) schedule(static) if (T * hw >= SYNTH_PAR_MIN)
    for (int q = 0; q < 2 * (T - 1); q++)  // pair i = q / 2; even q: flow_b (ref i), odd q: flow_f (ref i + 1)
        for (int y = 0; y < H; y++) {
            const int i = q / 2, b = q % 2 == 0;
            flow_row(c, b ? i : i + 1, b ? i + 1 : i, y, (b ? s->flow_b : s->flow_f) + (size_t)i * 2 * hw,
                     (b ? s->valid_b : s->valid_f) + (size_t)i * hw);
        }
}

// ---- the whole sequence ----

static int check_inputs(const sv_synth_params *p, const sv_synth_image *src, int nsrc, const sv_rng *rng,
                        sv_err *e) {
    if (sv_synth_params_check(p, e)) return -1;
    if (!rng) return sv_errf(e, "synthetic motion: no random state (rng is NULL)");
    if (!src || nsrc < 1) return sv_errf(e, "synthetic motion: no source images (%d given)", nsrc);
    for (int i = 0; i < nsrc; i++)
        if (!src[i].rgb || src[i].w < 8 || src[i].h < 8 || src[i].w > SV_FRAME_MAX_SIDE || src[i].h > SV_FRAME_MAX_SIDE)
            return sv_errf(e, "synthetic motion: source image %d is %s%d x %d (need pixels and sides 8..%d)", i,
                           src[i].rgb ? "" : "missing, ", src[i].w, src[i].h, SV_FRAME_MAX_SIDE);
    return 0;
}

static int check_output(const sv_synth_params *p, const sv_synth_seq *s, sv_err *e) {
    if (!s || !s->frames || s->T != p->T || s->H != p->H || s->W != p->W)
        return sv_errf(e, "synthetic motion: the output sequence is %s%d frames of %d x %d, the parameters ask for "
                       "%d of %d x %d (sv_synth_seq_alloc)", s && s->frames ? "" : "not allocated, ", s ? s->T : 0,
                       s ? s->W : 0, s ? s->H : 0, p->T, p->W, p->H);
    return 0;
}

static void ctx_free(ctx *c) {
    for (int l = 0; l < c->nl; l++) synth_texture_free(&c->l[l].tex);
    if (c->l) free(c->l[0].F);
    free(c->l);
    free(c->label);
    free(c->dom);
}

// Allocates the layers (matrices for every frame) and the label maps.
static int ctx_alloc(ctx *c, const sv_synth_params *p, int nl, sv_err *e) {
    memset(c, 0, sizeof *c);
    c->p = p;
    const size_t n = (size_t)p->T * p->H * p->W, per = (size_t)p->T * (2 * sizeof(mat3) + sizeof(double));
    if (!(c->l = sv_calloc(nl, sizeof(layer), e))) return -1;
    c->nl = nl;
    char *m = sv_malloc(per * nl, e);
    if (!m || !(c->label = sv_malloc(n, e)) || !(c->dom = sv_malloc(n, e))) {
        free(m);
        return -1;
    }
    for (int l = 0; l < nl; l++) {
        char *b = m + per * l;
        c->l[l].F = (mat3 *)b;
        c->l[l].U = c->l[l].F + p->T;
        c->l[l].scale = (double *)(c->l[l].U + p->T);
    }
    return 0;
}

// Every draw of one sequence, into c: its layers with their shapes, motions and textures (what rendering
// paints). 0 or -1; c is to be freed either way.
static int draw(ctx *c, const sv_synth_params *p, const sv_synth_image *src, int nsrc, sv_rng *rng, sv_err *e) {
    const int nfg = p->layers_min + (int)sv_rng_below(rng, (uint64_t)(p->layers_max - p->layers_min + 1));
    const int bg = (int)sv_rng_below(rng, (uint64_t)nsrc);
    if (ctx_alloc(c, p, 1 + nfg, e) || setup_background(c, &src[bg], rng, e)) return -1;
    for (int l = 1; l <= nfg; l++) {
        int k = nsrc > 1 ? (int)sv_rng_below(rng, (uint64_t)(nsrc - 1)) : 0;
        if (nsrc > 1 && k >= bg) k++;  // another photo than the background's
        if (setup_foreground(c, l, &src[k], rng, e)) return -1;
    }
    return 0;
}

int sv_synth_render(const sv_synth_params *p, const sv_synth_image *src, int nsrc, sv_rng *rng, sv_synth_seq *s,
                    sv_err *e) {
    if (check_inputs(p, src, nsrc, rng, e) || check_output(p, s, e)) return -1;
    ctx c = {0};
    const int rc = draw(&c, p, src, nsrc, rng, e);
    if (!rc) {
        render_all(&c, s);
        s->layers = c.nl - 1;
    }
    ctx_free(&c);
    return rc;
}

int sv_synth_skip(const sv_synth_params *p, const sv_synth_image *src, int nsrc, sv_rng *rng, sv_err *e) {
    if (check_inputs(p, src, nsrc, rng, e)) return -1;
    ctx c = {0};
    const int rc = draw(&c, p, src, nsrc, rng, e);
    ctx_free(&c);
    return rc;
}
