// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// synth_motion.h: synthetic image sequences with exact dense optical flow, for supervised SPyNet training
// (issue 16; docs/synthetic-motion.md explains the choices and the motion distribution).
//
// From photos held in memory (8-bit RGB, interleaved, as io/frames.h and io/png_io.h give them) one call
// renders T frames of H x W and the ground-truth flow between every neighbour pair, both directions:
//   - a background: one photo moved by a smooth camera motion, a homography per frame (sub-pixel
//     translation, mild zoom, rotation and perspective, each changing smoothly over time);
//   - foreground layers: random shapes (ellipses, convex polygons, blobs) with soft edges, each textured
//     from another photo and moving on its own (translation + rotation + scale), drawn in depth order
//     over the background (layer 0 at the back), so they occlude it and each other.
// Every layer's texture is the photo area-averaged to about one texel per frame pixel (pre-filtered once
// per sequence, only the part that is seen), then sampled bilinearly: frames are not aliased.
//
// Flow convention (SPyNet's and the propagation's, SSL-NOTES §1, ops/ops.h): for a pair (ref, supp) the
// flow f [2,H,W] (plain CHW, channel 0 = dx, 1 = dy, in pixels, pixel (x, y) at integer coordinates:
// grid_sample with align_corners=True) satisfies ref(p) = supp(p + f(p)) for every visible p, so
// flow_warp_forward(out, supp, f) reproduces ref there. Pairs as in BasicVSR (train/net.h):
//   flow_b[i] = flow(ref = frame i,     supp = frame i + 1)   (the backward branch warps h_{i+1} onto i)
//   flow_f[i] = flow(ref = frame i + 1, supp = frame i)       (the forward branch warps h_i onto i + 1)
// Validity mask per flow (1 valid, 0 not): p is valid when the ref pixel shows one layer alone (not a soft
// edge mixing two layers), its correspondence p + f(p) lies inside the supp frame, and the four supp pixels
// that bilinear warping reads there show that same layer alone. So occluded pixels, pixels uncovered or
// covered by a moving layer, and pixels whose match leaves the frame are 0. The flow itself is defined
// everywhere (the motion of the layer that dominates the ref pixel).
//
// Deterministic: the same parameters, photos and rng state give bit-identical frames, flows and masks
// (all random draws come from the caller's sv_rng, train/rng.h, before any pixel is rendered). No global
// state, no output. Rendering runs on OpenMP threads over rows.
#pragma once
#include "core/error.h"
#include "train/rng.h"

// Largest T accepted (frames per sequence) and largest number of foreground layers.
#define SV_SYNTH_MAX_T 256
#define SV_SYNTH_MAX_LAYERS 16

typedef struct {
    int T, H, W;              // frames per sequence (2..SV_SYNTH_MAX_T), frame size (8..SV_FRAME_MAX_SIDE)
    int layers_min, layers_max;  // foreground layers per sequence, uniform in [min, max] (default 2..6;
                                 // 0..SV_SYNTH_MAX_LAYERS)
    double motion_max;        // largest motion between neighbour frames, pixels (default 8; 0..64)
    double motion_power;      // a layer's speed is motion_max * u^power, u uniform in [0, 1) (default 2)
    double static_share;      // probability that a layer does not move at all (default 0; 0..1): a still
                              // camera, a still object (docs/synthetic-motion.md: why not from the start)
    double size_min, size_max;  // foreground shape radius as a fraction of min(H, W) (default 0.08..0.35)
    double edge_min, edge_max;  // width of a shape's soft edge in pixels, uniform (default 0.5..2; 0 = hard)
} sv_synth_params;

// The defaults above for T frames of H x W.
void sv_synth_params_default(sv_synth_params *p, int T, int H, int W);
// 0, or -1 with a message naming the parameter and its allowed range.
int sv_synth_params_check(const sv_synth_params *p, sv_err *e);

// One photo: 8-bit RGB interleaved, h * w * 3 bytes, pixel (y, x) channel c at rgb[(y * w + x) * 3 + c].
typedef struct {
    const unsigned char *rgb;
    int w, h;                 // at least 8 x 8
} sv_synth_image;

// One rendered sequence (buffers owned by the struct, see sv_synth_seq_alloc).
typedef struct {
    int T, H, W;
    float *frames;            // [T,3,H,W], plain CHW per frame, values in [0, 1]
    float *flow_b, *flow_f;   // [T-1,2,H,W]: pair i as above
    float *valid_b, *valid_f; // [T-1,H,W]: 1 where flow_b[i] / flow_f[i] is exact and visible, else 0
    int layers;               // foreground layers of the last render
} sv_synth_seq;

// Allocates the buffers of a T x H x W sequence (may be reused by any number of renders). 0 or -1.
int sv_synth_seq_alloc(sv_synth_seq *s, int T, int H, int W, sv_err *e);
// Frees the buffers (s itself is the caller's); zeroes s. NULL-safe.
void sv_synth_seq_free(sv_synth_seq *s);

// Renders one sequence into s (allocated for p's T, H, W) from nsrc photos (background and layer textures
// are drawn among them, a layer's photo differs from the background's when nsrc > 1). Advances rng.
// Returns 0, or -1 with a message (bad parameters, a missing or too small photo, a sequence of another
// size, out of memory).
int sv_synth_render(const sv_synth_params *p, const sv_synth_image *src, int nsrc, sv_rng *rng, sv_synth_seq *s,
                    sv_err *e);
// Advances rng exactly as sv_synth_render with the same arguments would, rendering nothing: a sequence
// another rank renders (train/flow_supervised.h). 0, or -1 with a message as sv_synth_render's.
int sv_synth_skip(const sv_synth_params *p, const sv_synth_image *src, int nsrc, sv_rng *rng, sv_err *e);
