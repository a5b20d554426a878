// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// synth_layers.c: random shapes and pre-filtered photo textures of the synthetic-motion layers
// (synth_layers.h).
#include "train/synth_layers.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define PI 3.14159265358979323846

// ---- shapes ----

// Ellipse of semi-axes radius and radius * aspect, aspect in [0.35, 1].
static void draw_ellipse(synth_shape *s, double radius, sv_rng *r) {
    s->a = radius;
    s->b = radius * synth_uniform(r, 0.35, 1.0);
    s->rmax = radius;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

// Convex polygon: 3..8 vertices at sorted random angles on a circle (so convex, counter-clockwise), no gap
// between neighbours over 0.9 pi (so the origin is well inside), then squeezed along y by [0.5, 1].
static void draw_polygon(synth_shape *s, double radius, sv_rng *r) {
    const int n = 3 + (int)sv_rng_below(r, SYNTH_POLY_MAX - 2);
    double ang[SYNTH_POLY_MAX], gap = 2 * PI;
    for (int tries = 0; tries < 16 && gap > 0.9 * PI; tries++) {
        for (int i = 0; i < n; i++) ang[i] = synth_uniform(r, 0, 2 * PI);
        qsort(ang, n, sizeof *ang, cmp_double);
        gap = ang[0] + 2 * PI - ang[n - 1];
        for (int i = 1; i < n; i++) gap = fmax(gap, ang[i] - ang[i - 1]);
    }
    if (gap > 0.9 * PI)  // unlucky draws: a regular polygon
        for (int i = 0; i < n; i++) ang[i] = ang[0] + 2 * PI * i / n;
    const double squeeze = synth_uniform(r, 0.5, 1.0);
    double *vx = s->vx, *vy = s->vy;
    for (int i = 0; i < n; i++) vx[i] = radius * cos(ang[i]), vy[i] = radius * squeeze * sin(ang[i]);
    for (int i = 0; i < n; i++) {
        const int j = (i + 1) % n;
        const double ex = vx[j] - vx[i], ey = vy[j] - vy[i], len = sqrt(ex * ex + ey * ey);
        s->nx[i] = ey / len, s->ny[i] = -ex / len;  // outward normal of a counter-clockwise edge
        s->d[i] = s->nx[i] * vx[i] + s->ny[i] * vy[i];
    }
    s->n = n;
    s->rmax = radius;
}

// Blob: radius r0 (1 + sum_k amp_k cos(k phi + phase_k)), k = 2, 3, 4, the amplitudes summing to <= 0.45
// (star-shaped, never through the centre), r0 chosen so that the largest radius is at most `radius`.
static void draw_blob(synth_shape *s, double radius, sv_rng *r) {
    double sum = 0;
    for (int k = 0; k < SYNTH_BLOB_HARM; k++) {
        const double ph = synth_uniform(r, 0, 2 * PI);
        s->amp[k] = synth_uniform(r, 0.0, 0.3);
        s->ca[k] = cos(ph), s->sa[k] = sin(ph);
        sum += s->amp[k];
    }
    if (sum > 0.45)
        for (int k = 0; k < SYNTH_BLOB_HARM; k++) s->amp[k] *= 0.45 / sum;
    s->r0 = radius / (1 + fmin(sum, 0.45));
    s->rmax = radius;
}

void synth_shape_draw(synth_shape *s, int kind, double radius, double edge, sv_rng *r) {
    memset(s, 0, sizeof *s);
    s->kind = kind;
    s->edge = edge;
    if (kind == SYNTH_ELLIPSE) draw_ellipse(s, radius, r);
    else if (kind == SYNTH_POLYGON) draw_polygon(s, radius, r);
    else draw_blob(s, radius, r);
}

// Ellipse: (rho - 1) / |grad rho| with rho = sqrt((x/a)^2 + (y/b)^2), exact on the boundary's normal
// direction to first order.
static double ellipse_dist(const synth_shape *s, double x, double y) {
    const double a2 = s->a * s->a, b2 = s->b * s->b;
    const double rho = sqrt(x * x / a2 + y * y / b2), g = sqrt(x * x / (a2 * a2) + y * y / (b2 * b2));
    if (g < 1e-12) return -fmin(s->a, s->b);
    return (rho - 1) * rho / g;
}

// Distance from (x, y) to the segment (ax, ay)-(bx, by).
static double segment_dist(double x, double y, double ax, double ay, double bx, double by) {
    const double ex = bx - ax, ey = by - ay, px = x - ax, py = y - ay;
    double t = (px * ex + py * ey) / (ex * ex + ey * ey);
    t = t < 0 ? 0 : t > 1 ? 1 : t;
    const double dx = px - t * ex, dy = py - t * ey;
    return sqrt(dx * dx + dy * dy);
}

// Convex polygon: inside, the largest signed distance to an edge's line (exact); outside, the distance to
// the nearest edge (exact, so sharp corners do not grow a long faint halo).
static double polygon_dist(const synth_shape *s, double x, double y) {
    double d = -INFINITY;
    for (int i = 0; i < s->n; i++) d = fmax(d, s->nx[i] * x + s->ny[i] * y - s->d[i]);
    if (d <= 0) return d;
    d = INFINITY;
    for (int i = 0; i < s->n; i++) {
        const int j = (i + 1) % s->n;
        d = fmin(d, segment_dist(x, y, s->vx[i], s->vy[i], s->vx[j], s->vy[j]));
    }
    return d;
}

// Blob: radial distance |u| - r(phi); cos(k phi), sin(k phi) from powers of (x + iy) / |u|, no trigonometry.
static double blob_dist(const synth_shape *s, double x, double y) {
    const double rad = sqrt(x * x + y * y);
    if (rad < 1e-12) return -s->r0;
    const double c1 = x / rad, s1 = y / rad;
    double ck = c1, sk = s1, f = 1;
    for (int k = 0; k < SYNTH_BLOB_HARM; k++) {
        const double cn = ck * c1 - sk * s1, sn = sk * c1 + ck * s1;  // (k + 2) phi
        ck = cn, sk = sn;
        f += s->amp[k] * (ck * s->ca[k] - sk * s->sa[k]);
    }
    return rad - s->r0 * f;
}

double synth_shape_dist(const synth_shape *s, double x, double y) {
    if (s->kind == SYNTH_ELLIPSE) return ellipse_dist(s, x, y);
    if (s->kind == SYNTH_POLYGON) return polygon_dist(s, x, y);
    return blob_dist(s, x, y);
}

// ---- textures ----

// Folds the taps of one output that fall off an axis of len pixels onto its edge pixels (rounding at an end,
// k < 1 at the first or last pixel), so that every tap reads a pixel of the axis.
static void fold_taps(int len, int *start, int *cnt, float *w) {
    while (*start < 0 && *cnt > 1) {
        w[1] += w[0];
        memmove(w, w + 1, sizeof(float) * (*cnt - 1));
        (*start)++, (*cnt)--;
    }
    while (*start + *cnt > len && *cnt > 1) {
        w[*cnt - 2] += w[*cnt - 1];
        (*cnt)--;
    }
    *start = *start < 0 ? 0 : *start > len - 1 ? len - 1 : *start;
}

// One-dimensional resampling taps: output j of n covers input [off + j k, off + (j + 1) k) of an axis of len
// pixels, input pixel i spanning [i, i + 1). k >= 1: every input pixel weighs its overlap with that
// interval (area average); k < 1: linear interpolation at the interval's centre. Taps: start[j], cnt[j],
// wt[j * stride + i], all on the axis (fold_taps).
static void make_taps(int n, int len, double off, double k, int stride, int *start, int *cnt, float *wt) {
    for (int j = 0; j < n; j++) {
        float *w = wt + (size_t)j * stride;
        if (k >= 1) {
            const double a = off + j * k, b = a + k;
            int i0 = (int)floor(a), i1 = (int)ceil(b) - 1;
            if (i1 - i0 + 1 > stride) i1 = i0 + stride - 1;
            for (int i = i0; i <= i1; i++) w[i - i0] = (float)((fmin(b, i + 1.0) - fmax(a, (double)i)) / k);
            start[j] = i0, cnt[j] = i1 - i0 + 1;
        } else {
            const double c = off + (j + 0.5) * k - 0.5;
            const int i0 = (int)floor(c);
            w[0] = (float)(1 - (c - i0)), w[1] = (float)(c - i0);
            start[j] = i0, cnt[j] = 2;
        }
        fold_taps(len, &start[j], &cnt[j], w);
    }
}

// Rows pass: tmp [3, nrows, tw] (rows y0 .. y0 + nrows - 1 of img) from the column taps, uint8 -> [0, 1].
static void resample_rows(float *tmp, const sv_synth_image *img, int y0, int nrows, int tw, const int *xs,
                          const int *xc, const float *xw, int stride) {
    const size_t plane = (size_t)nrows * tw;
    for (int r = 0; r < nrows; r++) {
        const unsigned char *row = img->rgb + (size_t)(y0 + r) * img->w * 3;
        for (int j = 0; j < tw; j++) {
            float acc[3] = {0, 0, 0};
            for (int i = 0; i < xc[j]; i++) {
                const unsigned char *p = row + (size_t)(xs[j] + i) * 3;
                const float w = xw[(size_t)j * stride + i];
                for (int c = 0; c < 3; c++) acc[c] += w * p[c];
            }
            for (int c = 0; c < 3; c++) tmp[c * plane + (size_t)r * tw + j] = acc[c] * (1.0f / 255.0f);
        }
    }
}

// Columns pass: t->px [3, th, tw] from tmp (rows y0 ..) and the row taps.
static void resample_cols(synth_texture *t, const float *tmp, int y0, int nrows, const int *ys, const int *yc,
                          const float *yw, int stride) {
    const int tw = t->tw, th = t->th;
    const size_t plane = (size_t)nrows * tw;
    for (int j = 0; j < th; j++)
        for (int c = 0; c < 3; c++) {
            float *out = t->px + ((size_t)c * th + j) * tw;
            memset(out, 0, sizeof(float) * tw);
            for (int i = 0; i < yc[j]; i++) {
                const float *in = tmp + c * plane + (size_t)(ys[j] + i - y0) * tw;
                const float w = yw[(size_t)j * stride + i];
                for (int x = 0; x < tw; x++) out[x] += w * in[x];
            }
        }
}

// Resamples img's part starting at (sx0, sy0), k image pixels per texel, into t (t->tw, t->th set).
static int texture_resample(synth_texture *t, const sv_synth_image *img, double sx0, double sy0, double k,
                            sv_err *e) {
    const int stride = k >= 1 ? (int)ceil(k) + 2 : 2, n = t->tw > t->th ? t->tw : t->th;
    int *xs = sv_malloc(sizeof(int) * 4 * n, e);
    float *xw = sv_malloc(sizeof(float) * 2 * (size_t)n * stride, e), *tmp = NULL;
    int rc = -1;
    if (!xs || !xw) goto done;
    int *xc = xs + n, *ys = xs + 2 * n, *yc = xs + 3 * n;
    float *yw = xw + (size_t)n * stride;
    make_taps(t->tw, img->w, sx0, k, stride, xs, xc, xw);
    make_taps(t->th, img->h, sy0, k, stride, ys, yc, yw);
    const int y0 = ys[0], y1 = ys[t->th - 1] + yc[t->th - 1] - 1;  // taps only grow along the axis
    const int nrows = y1 - y0 + 1;
    if (!(tmp = sv_malloc(sizeof(float) * 3 * (size_t)nrows * t->tw, e))) goto done;
    resample_rows(tmp, img, y0, nrows, t->tw, xs, xc, xw, stride);
    resample_cols(t, tmp, y0, nrows, ys, yc, yw, stride);
    rc = 0;
done:
    free(xs);
    free(xw);
    free(tmp);
    return rc;
}

int synth_texture_make(synth_texture *t, const sv_synth_image *img, int tw, int th, sv_rng *r, sv_err *e) {
    const double kmax = fmin((double)img->w / tw, (double)img->h / th);
    double k = kmax;
    if (kmax > 1) k = exp(synth_uniform(r, log(fmax(1.0, kmax / 8)), log(kmax)));
    const double sx0 = synth_uniform(r, 0, fmax(0.0, img->w - k * tw));
    const double sy0 = synth_uniform(r, 0, fmax(0.0, img->h - k * th));
    t->tw = tw, t->th = th;
    if (!(t->px = sv_malloc(sizeof(float) * 3 * (size_t)tw * th, e))) return -1;
    return texture_resample(t, img, sx0, sy0, k, e);
}

void synth_texture_free(synth_texture *t) {
    free(t->px);
    t->px = NULL;
}
