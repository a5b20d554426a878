#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0 (LICENSE)
"""Reference values for tests/test_metrics.c: PSNR and SSIM under the protocol of SSL-NOTES section 7,
written here with numpy only (no cv2, no BasicSR, nothing shared with the C code).

For each case: two float32 CHW RGB images (raw little-endian float32, [3, h, w]) with values outside
[0,1] and exact rounding ties (x * 255 == k + 0.5 in float32), their uint8 quantisation (raw uint8 CHW),
and in expected.txt one line per (y_only, crop): "case h w y_only crop psnr ssim".

Protocol: clamp to [0,1], multiply by 255 in float32, round half to even (np.rint, like torch.round),
uint8. Y: BT.601 from R, G, B = uint8 / 255 in float64, Y = 16 + 65.481 R + 128.553 G + 24.966 B, not
re-rounded. Crop `crop` pixels at each side. PSNR = 10 log10(255^2 / MSE) over all measured values.
SSIM: 11x11 Gaussian window (sigma 1.5, normalised), 'valid' correlation, C1 = (0.01*255)^2,
C2 = (0.03*255)^2, mean of the SSIM map; RGB: mean of the three per-channel SSIMs.

Run from anywhere: /usr/bin/python3 tests/data/metrics/make_vectors.py
"""
import os

import numpy as np

OUT = os.path.dirname(os.path.abspath(__file__))


def quantize(x):
    v = np.clip(x.astype(np.float32), np.float32(0), np.float32(1)) * np.float32(255)
    return np.rint(v).astype(np.uint8)


def to_measured(q, y_only):
    f = q.astype(np.float64)
    if y_only:
        r, g, b = f[0] / 255.0, f[1] / 255.0, f[2] / 255.0
        return (16.0 + 65.481 * r + 128.553 * g + 24.966 * b)[None]
    return f


def crop(img, c):
    return img[:, c:-c, c:-c] if c > 0 else img


def psnr(a, b):
    mse = np.mean((a - b) ** 2)
    return float('inf') if mse == 0 else 10.0 * np.log10(255.0 ** 2 / mse)


def gaussian_window():
    t = np.arange(11, dtype=np.float64) - 5.0
    g = np.exp(-t * t / (2 * 1.5 ** 2))
    g /= g.sum()
    return np.outer(g, g)


def filter_valid(img, win):
    # every 11x11 patch, weighted by the window: the 2-D 'valid' correlation, computed directly
    patches = np.lib.stride_tricks.sliding_window_view(img, win.shape)
    return np.einsum('ijkl,kl->ij', patches, win)


def ssim_plane(a, b):
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    w = gaussian_window()
    mu_a, mu_b = filter_valid(a, w), filter_valid(b, w)
    s_aa = filter_valid(a * a, w) - mu_a ** 2
    s_bb = filter_valid(b * b, w) - mu_b ** 2
    s_ab = filter_valid(a * b, w) - mu_a * mu_b
    m = ((2 * mu_a * mu_b + c1) * (2 * s_ab + c2)) / ((mu_a ** 2 + mu_b ** 2 + c1) * (s_aa + s_bb + c2))
    return m.mean()


def ssim(a, b):
    return float(np.mean([ssim_plane(a[c], b[c]) for c in range(a.shape[0])]))


def tie_values(rng, n):
    # float32 v with v * 255 (in float32) exactly k + 0.5: half-to-even and half-away rounding differ here
    out = []
    while len(out) < n:
        k = int(rng.integers(0, 255))
        v = np.float32((k + 0.5) / 255)
        for _ in range(8):
            if v * np.float32(255) == np.float32(k + 0.5):
                out.append(v)
                break
            v = np.nextafter(v, np.float32(2) if v * np.float32(255) < k + 0.5 else np.float32(-1))
    return np.array(out, dtype=np.float32)


def make_pair(rng, h, w, noise):
    yy, xx = np.mgrid[0:h, 0:w]
    base = np.stack([xx / w, yy / h, 0.5 + 0.4 * np.sin(xx * 0.5 + yy * 0.3)])
    a = base + rng.uniform(-0.15, 0.15, (3, h, w))   # leaves some values outside [0,1]
    b = a + rng.normal(0, noise, (3, h, w))
    a, b = a.astype(np.float32), b.astype(np.float32)
    for img in (a, b):
        idx = rng.choice(3 * h * w, size=3 * h * w // 50, replace=False)
        img.reshape(-1)[idx] = tie_values(rng, idx.size)
    return a, b


def main():
    rng = np.random.default_rng(20240603)
    cases = [('odd', 37, 41, 0.03), ('small', 23, 19, 0.08)]
    lines = []
    for name, h, w, noise in cases:
        a, b = make_pair(rng, h, w, noise)
        qa, qb = quantize(a), quantize(b)
        a.astype('<f4').tofile(os.path.join(OUT, f'{name}_a.f32'))
        b.astype('<f4').tofile(os.path.join(OUT, f'{name}_b.f32'))
        qa.tofile(os.path.join(OUT, f'{name}_a.u8'))
        qb.tofile(os.path.join(OUT, f'{name}_b.u8'))
        for y_only in (0, 1):
            for c in (0, 4):
                ma, mb = crop(to_measured(qa, y_only), c), crop(to_measured(qb, y_only), c)
                lines.append(f'{name} {h} {w} {y_only} {c} {psnr(ma, mb):.17g} {ssim(ma, mb):.17g}')
    with open(os.path.join(OUT, 'expected.txt'), 'w') as f:
        f.write('\n'.join(lines) + '\n')


if __name__ == '__main__':
    main()
