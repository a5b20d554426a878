#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0 (LICENSE)
"""Writes a low-resolution test clip as PNG frames 00000000.png, 00000001.png, ... for the benchmark.

    /usr/bin/python3 bench/make_clip.py OUT_DIR --frames 10 --height 180 --width 320 [--source DIR]

Content: real frames when a source is found (default: the first of shared/data/demo/reds-demo_000,
shared/data/demo/night-market-lr, shared/data/val/temple/GT next to this repository), centre-cropped to the
target aspect ratio and area-averaged to the target size; a clip shorter than --frames is played back and
forth. Without a source (--synthetic, or no shared/ folder) it draws smooth moving content instead.
Needs numpy only (no PIL, no ffmpeg).
"""

import argparse
import glob
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pngio import read_png, write_png  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
SHARED = os.path.join(HERE, "..", "..", "shared", "data")
DEFAULT_SOURCES = [
    os.path.join(SHARED, "demo", "reds-demo_000"),
    os.path.join(SHARED, "demo", "night-market-lr"),
    os.path.join(SHARED, "val", "temple", "GT"),
]


def area_matrix(n_out, n_in):
    """(n_out, n_in) weights averaging the input cells that each output cell covers (exact box filter)."""
    m = np.zeros((n_out, n_in), dtype=np.float64)
    scale = n_in / n_out
    for o in range(n_out):
        lo, hi = o * scale, (o + 1) * scale
        i = int(np.floor(lo))
        while i < hi and i < n_in:
            m[o, i] = min(hi, i + 1) - max(lo, i)
            i += 1
        m[o] /= m[o].sum()
    return m


def fit(img, h, w):
    """Centre-crop img (H, W, 3) uint8 to the aspect ratio h:w, then area-resize to (h, w)."""
    src_h, src_w = img.shape[:2]
    if src_h * w > src_w * h:  # too tall
        crop_h = max(1, round(src_w * h / w))
        top = (src_h - crop_h) // 2
        img = img[top:top + crop_h]
    elif src_h * w < src_w * h:  # too wide
        crop_w = max(1, round(src_h * w / h))
        left = (src_w - crop_w) // 2
        img = img[:, left:left + crop_w]
    if img.shape[:2] == (h, w):
        return np.ascontiguousarray(img)
    mh = area_matrix(h, img.shape[0])
    mw = area_matrix(w, img.shape[1])
    out = np.einsum("yi,ijc,xj->yxc", mh, img.astype(np.float64), mw, optimize=True)
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def bounce(count, n):
    """Frame indices 0, 1, ..., n-1, n-2, ..., 0, 1, ... of length count."""
    if n == 1:
        return [0] * count
    period = 2 * (n - 1)
    return [k % period if k % period < n else period - k % period for k in range(count)]


def synthetic_frame(t, h, w):
    """Smooth gradients, a drifting sinusoidal texture and two moving discs (deterministic)."""
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    u, v = x / w, y / h
    dx, dy = 1.5 * t, 0.75 * t  # global motion in pixels per frame
    tex = 0.5 + 0.25 * np.sin((x - dx) * 0.21) * np.cos((y - dy) * 0.17) + 0.1 * np.sin((x + y - 2 * dx) * 0.05)
    img = np.stack([0.6 * u + 0.4 * tex, 0.5 * v + 0.5 * tex, 0.3 + 0.4 * (1 - u) * tex], axis=2)
    for cx, cy, r, col, sx, sy in ((0.3, 0.4, 0.12, (0.9, 0.2, 0.1), 2.0, 0.5),
                                   (0.7, 0.6, 0.08, (0.1, 0.3, 0.9), -1.0, -1.5)):
        px, py = cx * w + sx * t, cy * h + sy * t
        d = np.sqrt((x - px) ** 2 + (y - py) ** 2) - r * min(h, w)
        alpha = np.clip(0.5 - d / 2.0, 0.0, 1.0)[:, :, None]  # 2-pixel soft edge
        img = img * (1 - alpha) + np.array(col) * alpha
    return np.clip(np.rint(img * 255), 0, 255).astype(np.uint8)


def list_pngs(folder):
    return sorted(glob.glob(os.path.join(folder, "*.png")))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out_dir")
    ap.add_argument("--frames", type=int, default=10)
    ap.add_argument("--height", type=int, default=180)
    ap.add_argument("--width", type=int, default=320)
    ap.add_argument("--source", help="folder of PNG frames to take the content from")
    ap.add_argument("--synthetic", action="store_true", help="draw synthetic content, ignore any source")
    args = ap.parse_args()
    if args.frames < 1 or args.height < 1 or args.width < 1:
        ap.error("--frames, --height and --width must be positive")

    source = None
    if not args.synthetic:
        candidates = [args.source] if args.source else DEFAULT_SOURCES
        for folder in candidates:
            if folder and list_pngs(folder):
                source = folder
                break
        if args.source and source is None:
            print("make_clip: no PNG files in %s" % args.source, file=sys.stderr)
            return 2

    os.makedirs(args.out_dir, exist_ok=True)
    for old in list_pngs(args.out_dir):
        os.remove(old)
    if source:
        files = list_pngs(source)
        order = bounce(args.frames, len(files))
        cache = {}
        for k, idx in enumerate(order):
            if idx not in cache:
                cache[idx] = fit(read_png(files[idx]), args.height, args.width)
            write_png(os.path.join(args.out_dir, "%08d.png" % k), cache[idx])
        what = "frames of %s" % os.path.abspath(source)
    else:
        for k in range(args.frames):
            write_png(os.path.join(args.out_dir, "%08d.png" % k), synthetic_frame(k, args.height, args.width))
        what = "synthetic content"
    print("%s: %d frames %dx%d (h x w) from %s" % (args.out_dir, args.frames, args.height, args.width, what))
    return 0


if __name__ == "__main__":
    sys.exit(main())
