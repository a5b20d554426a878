#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0 (LICENSE)
"""Compares two folders of PNG frames (sorted by name, paired in order): max and mean absolute difference in
8-bit levels and PSNR over all frames. Used by bench/run.sh to check that slimvsr and PyTorch agree.

    /usr/bin/python3 bench/compare_pngs.py DIR_A DIR_B
"""

import glob
import math
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pngio import read_png  # noqa: E402


def main():
    if len(sys.argv) != 3:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    a_files = sorted(glob.glob(os.path.join(sys.argv[1], "*.png")))
    b_files = sorted(glob.glob(os.path.join(sys.argv[2], "*.png")))
    if not a_files or len(a_files) != len(b_files):
        print("compare_pngs: %d frames in %s, %d in %s" % (len(a_files), sys.argv[1], len(b_files), sys.argv[2]))
        return 1
    worst, total, count, sq = 0, 0.0, 0, 0.0
    for fa, fb in zip(a_files, b_files):
        a, b = read_png(fa).astype(np.int32), read_png(fb).astype(np.int32)
        if a.shape != b.shape:
            print("compare_pngs: %s is %s, %s is %s" % (fa, a.shape, fb, b.shape))
            return 1
        d = np.abs(a - b)
        worst = max(worst, int(d.max()))
        total += float(d.sum())
        sq += float((d.astype(np.float64) ** 2).sum())
        count += d.size
    mse = sq / count
    psnr = float("inf") if mse == 0 else 10 * math.log10(255.0 ** 2 / mse)
    print("frames %d: max abs diff %d, mean abs diff %.4f (8-bit levels), PSNR %.2f dB"
          % (len(a_files), worst, total / count, psnr))
    return 0


if __name__ == "__main__":
    sys.exit(main())
