#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0 (LICENSE)
"""Times the reference PyTorch BasicVSR (bench/basicvsr_ref.py) on a folder of PNG frames.

    /usr/bin/python3 bench/torch_upscale.py -m CKPT.pth IN_DIR [--threads 2] [--frames N] [--out DIR]

Loads the checkpoint (BasicSR layout: {'params': ...} or a bare state_dict) and the frames, then times one
full pass of the whole clip as a single sequence (batch 1, all frames) under torch.no_grad(): SPyNet,
both propagation branches and the reconstruction, including the conversion of the output to 8-bit.
Model and frame loading are outside the timed part. Prints the time of the pass, seconds per frame, the
process's peak RSS, and a last line `RESULT key=value ...` for bench/run.sh.
"""

import argparse
import glob
import os
import resource
import sys
import time


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-m", "--model", required=True, help="checkpoint .pth (BasicSR layout)")
    ap.add_argument("in_dir", help="folder of PNG frames (sorted by name)")
    ap.add_argument("--threads", type=int, default=2, help="intra-op threads (default 2)")
    ap.add_argument("--frames", type=int, default=0, help="use only the first N frames (default: all)")
    ap.add_argument("--repeat", type=int, default=1, help="timed passes (default 1); the best is reported")
    ap.add_argument("--act", default="lrelu", choices=["lrelu", "relu"])
    ap.add_argument("--channels-last", action="store_true",
                    help="keep weights and activations in NHWC (channels_last) memory format")
    ap.add_argument("--out", help="also write the upscaled frames as PNGs into this folder (not timed)")
    return ap.parse_args()


def main():
    args = parse_args()
    # OpenMP reads this when torch loads; set_num_threads below covers the rest.
    os.environ.setdefault("OMP_NUM_THREADS", str(args.threads))
    import numpy as np
    import torch

    here = os.path.dirname(os.path.abspath(__file__))
    sys.path.insert(0, here)
    from basicvsr_ref import load_model
    from pngio import read_png, write_png

    torch.set_num_threads(args.threads)

    files = sorted(glob.glob(os.path.join(args.in_dir, "*.png")))
    if args.frames > 0:
        files = files[:args.frames]
    if not files:
        print("torch_upscale: no PNG frames in %s" % args.in_dir, file=sys.stderr)
        return 2

    t0 = time.perf_counter()
    model = load_model(args.model, act=args.act)
    frames = np.stack([read_png(f) for f in files])  # (n, h, w, 3) uint8
    x = torch.from_numpy(frames).permute(0, 3, 1, 2).float().div_(255.0).unsqueeze(0).contiguous()
    if args.channels_last:
        model = model.to(memory_format=torch.channels_last)
    load_s = time.perf_counter() - t0
    n, h, w = x.shape[1], x.shape[3], x.shape[4]
    nf = model.num_feat
    nb = len(model.backward_trunk.main[2])

    passes = []
    out8 = None
    with torch.no_grad():
        for _ in range(max(1, args.repeat)):
            out8 = None
            t1 = time.perf_counter()
            out = model(x, channels_last=args.channels_last)
            out8 = out.clamp_(0.0, 1.0).mul_(255.0).round_().to(torch.uint8)
            del out
            passes.append(time.perf_counter() - t1)

    if args.out:
        os.makedirs(args.out, exist_ok=True)
        frames_out = out8[0].permute(0, 2, 3, 1).contiguous().numpy()
        for i, f in enumerate(files):
            write_png(os.path.join(args.out, os.path.basename(f)), frames_out[i])

    best = min(passes)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: kilobytes
    print("torch %s, %d threads (OMP_NUM_THREADS=%s), %s, LD_PRELOAD=%s, MALLOC_*: %s"
          % (torch.__version__, torch.get_num_threads(), os.environ.get("OMP_NUM_THREADS"),
             "channels_last" if args.channels_last else "NCHW",
             os.environ.get("LD_PRELOAD", "-") or "-",
             " ".join("%s=%s" % (k, v) for k, v in sorted(os.environ.items()) if k.startswith("MALLOC_")) or "-"))
    print("model %s: feat %d, blocks %d; clip %s: %d frames %dx%d -> %dx%d"
          % (os.path.basename(args.model), nf, nb, args.in_dir, n, h, w, 4 * h, 4 * w))
    print("load %.2f s; pass%s %s s; best %.2f s = %.3f s/frame; peak RSS %.0f MiB"
          % (load_s, "es" if len(passes) > 1 else "", " ".join("%.2f" % p for p in passes), best, best / n,
             peak_mb))
    print("RESULT total_s=%.3f per_frame_s=%.4f frames=%d peak_rss_mb=%.0f load_s=%.2f threads=%d"
          % (best, best / n, n, peak_mb, load_s, torch.get_num_threads()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
