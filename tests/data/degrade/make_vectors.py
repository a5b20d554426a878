#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0 (LICENSE)
"""Reference vectors for src/train/degrade.c, computed independently in numpy (float64).

BI: MATLAB's imresize (bicubic, a = -0.5, antialiasing on), written from its documented algorithm:
for each dimension a dense (out x in) matrix of weights is built, every tap folded back into the
image by half-sample symmetric reflection (MATLAB's aux = [1:n, n:-1:1]), rows normalised to sum 1;
dimensions are processed smallest scale first (MATLAB's sort(scale), ties: rows first).
BD: a full 2-D 13x13 Gaussian (sigma 1.6, normalised) on an edge-padded image (MATLAB's
imfilter 'replicate'), then every 4th pixel from pixel 0.
uint8 cases: MATLAB on a uint8 image rounds (half up) and saturates after each imresize dimension;
imfilter rounds once. Their random images are drawn again until no value (intermediate or final)
lies within 1e-3 of a rounding boundary, so float32 in C cannot round the other way.

Writes raw little-endian float32 files, CHW, next to this script. Run: /usr/bin/python3 make_vectors.py
"""
import math
import os

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))


def cubic(x):
    ax = np.abs(x)
    near = (1.5 * ax**3 - 2.5 * ax**2 + 1.0) * (ax <= 1.0)
    far = (-0.5 * ax**3 + 2.5 * ax**2 - 4.0 * ax + 2.0) * ((ax > 1.0) & (ax <= 2.0))
    return near + far


def fold(i, n):
    """0-based index i (any integer) reflected into [0, n) with the edge sample repeated."""
    period = 2 * n
    m = np.mod(i, period)
    return np.where(m < n, m, period - 1 - m)


def resize_matrix(n_in, n_out, scale):
    shrink = scale < 1.0
    width = 4.0 / scale if shrink else 4.0
    mat = np.zeros((n_out, n_in))
    for o in range(n_out):
        # centre of output sample o (0-based) in input coordinates (0-based, pixel centres at integers)
        centre = (o + 0.5) / scale - 0.5
        lo = math.floor(centre - width / 2.0)
        taps = np.arange(lo, lo + int(math.ceil(width)) + 3)
        d = centre - taps
        w = scale * cubic(scale * d) if shrink else cubic(d)
        w = w / w.sum()
        np.add.at(mat[o], fold(taps, n_in), w)
    return mat


def near_boundary(x):
    f = x - np.floor(x)
    return np.any(np.abs(f - 0.5) < 1e-3)


def round8(x):
    return np.clip(np.floor(x + 0.5), 0, 255)


def imresize(img, scale_hw, out_hw, u8=False):
    """img: (c, h, w) float64 (u8: values 0..255, rounded after each dimension); scale and out size per
    dimension. Returns (out, whether some value sat near a rounding boundary)."""
    risky = False
    c, h, w = img.shape
    order = [0, 1] if scale_hw[0] <= scale_hw[1] else [1, 0]
    out = img
    for dim in order:
        if dim == 0:
            m = resize_matrix(out.shape[1], out_hw[0], scale_hw[0])
            out = np.einsum('oi,ciw->cow', m, out)
        else:
            m = resize_matrix(out.shape[2], out_hw[1], scale_hw[1])
            out = np.einsum('oi,chi->cho', m, out)
        if u8:
            risky |= near_boundary(out)
            out = round8(out)
    return out, risky


def bd(img):
    k = 13
    r = k // 2
    ys, xs = np.mgrid[-r:r + 1, -r:r + 1]
    g = np.exp(-(xs**2 + ys**2) / (2.0 * 1.6**2))
    g /= g.sum()
    c, h, w = img.shape
    pad = np.pad(img, ((0, 0), (r, r), (r, r)), mode='edge')
    blur = np.zeros_like(img)
    for dy in range(k):
        for dx in range(k):
            blur += g[dy, dx] * pad[:, dy:dy + h, dx:dx + w]
    return blur[:, ::4, ::4]


def save(name, a):
    a.astype('<f4').tofile(os.path.join(HERE, name))


def save_u8(name, a):
    a.astype(np.uint8).tofile(os.path.join(HERE, name))


def main():
    rng = np.random.default_rng(20240603)
    cases = [
        # name, (c, h, w), scale (h, w), output (h, w): MATLAB imresize(img, s) -> ceil(s * size)
        ('bi_37x53', (3, 37, 53), (0.25, 0.25), (10, 14)),
        ('bi_20x28', (3, 20, 28), (0.25, 0.25), (5, 7)),
        ('bi_3x5', (2, 3, 5), (0.25, 0.25), (1, 2)),            # kernel far wider than the image
        ('up2_9x13', (3, 9, 13), (2.0, 2.0), (18, 26)),
        ('size_20x28_to_9x11', (3, 20, 28), (9 / 20, 11 / 28), (9, 11)),  # imresize(img, [9 11]): width first
    ]
    for name, shape, scale, out_hw in cases:
        img = rng.random(shape)
        save(name + '_in.f32', img)
        save(name + '_out.f32', imresize(img, scale, out_hw)[0])
    img = rng.random((3, 37, 53))
    save('bd_37x53_in.f32', img)
    save('bd_37x53_out.f32', bd(img))  # (3, 10, 14)

    u8_cases = [
        ('u8_bi_37x53', (3, 37, 53), (0.25, 0.25), (10, 14)),
        ('u8_size_20x28_to_9x11', (3, 20, 28), (9 / 20, 11 / 28), (9, 11)),  # width first matters here
        ('u8_size_28x20_to_11x9', (3, 28, 20), (11 / 28, 9 / 20), (11, 9)),  # rows first
    ]
    for name, shape, scale, out_hw in u8_cases:
        while True:
            img = rng.integers(0, 256, shape).astype(np.float64)
            # strong edges, so the intermediate saturates somewhere
            img[:, :, shape[2] // 2:] = np.where(img[:, :, shape[2] // 2:] > 127, 255.0, 0.0)
            out, risky = imresize(img, scale, out_hw, u8=True)
            if not risky:
                break
        save_u8(name + '_in.u8', img)
        save_u8(name + '_out.u8', out)
    while True:
        img = rng.integers(0, 256, (3, 37, 53)).astype(np.float64)
        out = bd(img)
        if not near_boundary(out):
            break
    save_u8('u8_bd_37x53_in.u8', img)
    save_u8('u8_bd_37x53_out.u8', round8(out))


if __name__ == '__main__':
    main()
