#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0 (LICENSE)
"""Times one BasicVSR training iteration in PyTorch, set up as `slimvsr train` sets up its own.

    /usr/bin/python3 bench/train_torch.py [--feat 32 --blocks 10] [--batch 2 --seq 7 --patch 64]
        [--iters 5 --warmup 1] [--threads 2] [--data DIR] [--spynet trained|frozen] [--channels-last]

The network is bench/basicvsr_ref.py's BasicVSR (LeakyReLU 0.1, BasicSR's layout), randomly initialised.
One iteration is what slimvsr's trainer does per step (src/train/trainer.c, net.c, optim.c):
  - a batch of `batch` clips of `seq` LR patches of patch x patch, with their x4 GT patches, cut at random
    from clips loaded before the timing starts (--data: every folder holding at least `seq` PNG frames,
    GT; LR made once from GT by bicubic x1/4; no --data: random frames);
  - the forward pass of the whole network, SPyNet included;
  - the Charbonnier loss sqrt((y - gt)^2 + 1e-12), averaged over every output value;
  - the backward pass, through SPyNet too unless --spynet frozen (slimvsr's default, --spynet-freeze 0,
    trains SPyNet from the first iteration);
  - Adam with betas (0.9, 0.99), eps 1e-8, learning rate 2e-4 on a cosine schedule, SPyNet's parameters as
    their own group at 0.125 x that rate (slimvsr's --spynet-lr-mult default).
The first --warmup iterations are not timed (oneDNN makes its primitives, the allocator grows). Of the
timed ones it prints each time and the median, the medians of the phases (data, forward + loss,
backward, optimiser) and of the process's CPU time per iteration (all threads: with OMP_WAIT_POLICY=passive
it changes little when other programs take the cores), the peak RSS, and a last line `RESULT key=value ...`
for bench/train_speed.sh.
"""

import argparse
import math
import os
import resource
import statistics
import sys
import time


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--feat", type=int, default=32, help="features (default 32)")
    ap.add_argument("--blocks", type=int, default=10, help="residual blocks per branch (default 10)")
    ap.add_argument("--batch", type=int, default=2, help="clips per iteration (default 2)")
    ap.add_argument("--seq", type=int, default=7, help="frames per clip (default 7)")
    ap.add_argument("--patch", type=int, default=64, help="LR patch side (default 64; GT is 4x)")
    ap.add_argument("--iters", type=int, default=5, help="iterations in all, warm-up included (default 5)")
    ap.add_argument("--warmup", type=int, default=1, help="untimed first iterations (default 1)")
    ap.add_argument("--threads", type=int, default=2, help="intra-op threads (default 2)")
    ap.add_argument("--data", help="folder of training clips (GT PNG frames); default: random frames")
    ap.add_argument("--max-clips", type=int, default=16, help="clips loaded from --data at most (default 16)")
    ap.add_argument("--spynet", choices=["trained", "frozen"], default="trained",
                    help="train SPyNet (slimvsr's default) or keep it fixed (slimvsr --spynet-freeze N)")
    ap.add_argument("--channels-last", action="store_true",
                    help="weights and activations in NHWC (channels_last) memory format: on this machine about "
                         "twice as fast for training (not for inference, see bench/README.md)")
    ap.add_argument("--lr", type=float, default=2e-4)
    ap.add_argument("--spynet-lr-mult", type=float, default=0.125)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    if args.iters <= args.warmup:
        ap.error("--iters must be larger than --warmup")
    return args


def load_clips(root, seq, patch, max_clips):
    """GT clips (uint8 tensors n,3,H,W) and their bicubic x1/4 LR (float in [0,1]), from every folder under
    root holding at least seq PNG frames and at least 4 * patch pixels each way."""
    import numpy as np
    import torch
    import torch.nn.functional as F
    from pngio import read_png

    clips = []
    for d, _, files in sorted(os.walk(root)):
        pngs = sorted(f for f in files if f.lower().endswith(".png"))
        if len(pngs) < seq:
            continue
        gt = np.stack([read_png(os.path.join(d, f)) for f in pngs])  # n,H,W,3
        if gt.shape[1] < 4 * patch or gt.shape[2] < 4 * patch:
            continue
        gt = torch.from_numpy(gt).permute(0, 3, 1, 2).float().div_(255.0)
        h4, w4 = gt.shape[2] // 4 * 4, gt.shape[3] // 4 * 4
        gt = gt[:, :, :h4, :w4].contiguous()
        lr = F.interpolate(gt, scale_factor=0.25, mode="bicubic", align_corners=False, antialias=True)
        clips.append((lr.clamp_(0.0, 1.0), gt))
        if len(clips) >= max_clips:
            break
    return clips


def draw_batch(clips, gen, batch, seq, patch):
    """A batch of random windows and patches: lr (b,seq,3,p,p), gt (b,seq,3,4p,4p)."""
    import torch

    lrs, gts = [], []
    for _ in range(batch):
        lr, gt = clips[int(torch.randint(len(clips), (1,), generator=gen))]
        t0 = int(torch.randint(lr.shape[0] - seq + 1, (1,), generator=gen))
        y = int(torch.randint(lr.shape[2] - patch + 1, (1,), generator=gen))
        x = int(torch.randint(lr.shape[3] - patch + 1, (1,), generator=gen))
        lrs.append(lr[t0:t0 + seq, :, y:y + patch, x:x + patch])
        gts.append(gt[t0:t0 + seq, :, 4 * y:4 * (y + patch), 4 * x:4 * (x + patch)])
    return torch.stack(lrs).contiguous(), torch.stack(gts).contiguous()


def main():
    args = parse_args()
    # OpenMP reads this when torch loads; set_num_threads below covers the rest.
    os.environ.setdefault("OMP_NUM_THREADS", str(args.threads))
    import torch

    here = os.path.dirname(os.path.abspath(__file__))
    sys.path.insert(0, here)
    from basicvsr_ref import BasicVSR

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    gen = torch.Generator().manual_seed(args.seed)

    if args.data:
        clips = load_clips(args.data, args.seq, args.patch, args.max_clips)
        if not clips:
            print("train_torch: no clip of at least %d PNG frames of %dx%d or more under %s"
                  % (args.seq, 4 * args.patch, 4 * args.patch, args.data), file=sys.stderr)
            return 2
        source = "%d clips from %s" % (len(clips), args.data)
    else:
        n, p = args.seq + 1, args.patch
        gt = torch.rand(n, 3, 4 * p + 4, 4 * p + 4, generator=gen)
        clips = [(torch.nn.functional.avg_pool2d(gt, 4), gt)]
        source = "random frames"

    model = BasicVSR(num_feat=args.feat, num_block=args.blocks, act="lrelu")
    model.train()
    if args.channels_last:
        model = model.to(memory_format=torch.channels_last)
    spy = list(model.spynet.parameters())
    spy_ids = {id(q) for q in spy}
    main_params = [q for q in model.parameters() if id(q) not in spy_ids]
    groups = [{"params": main_params, "lr": args.lr, "mult": 1.0}]
    if args.spynet == "trained":
        groups.append({"params": spy, "lr": args.lr * args.spynet_lr_mult, "mult": args.spynet_lr_mult})
    else:
        for q in spy:
            q.requires_grad_(False)
    opt = torch.optim.Adam(groups, lr=args.lr, betas=(0.9, 0.99), eps=1e-8)
    nparams = sum(q.numel() for q in model.parameters())
    print("train_torch: torch %s, %d threads, %d features x %d blocks (%d parameters), batch %d x %d frames, "
          "LR patch %d, SPyNet %s, %s, data: %s"
          % (torch.__version__, torch.get_num_threads(), args.feat, args.blocks, nparams, args.batch, args.seq,
             args.patch, args.spynet, "channels_last" if args.channels_last else "NCHW", source))

    lr_min = 1e-7
    times, cpu, phases = [], [], {"data": [], "forward": [], "backward": [], "optimiser": []}
    for it in range(args.iters):
        # the cosine schedule slimvsr follows (train/optim.c), over --iters
        cur = lr_min + 0.5 * (args.lr - lr_min) * (1.0 + math.cos(math.pi * it / args.iters))
        c0, t0 = time.process_time(), time.perf_counter()
        lr, gt = draw_batch(clips, gen, args.batch, args.seq, args.patch)
        t1 = time.perf_counter()
        out = model(lr, channels_last=args.channels_last)
        loss = torch.sqrt((out - gt) ** 2 + 1e-12).mean()
        t2 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        t3 = time.perf_counter()
        for g in opt.param_groups:
            g["lr"] = cur * g["mult"]
        opt.step()
        t4, c4 = time.perf_counter(), time.process_time()
        loss_v = float(loss)
        del out, loss
        if not math.isfinite(loss_v):
            print("train_torch: iteration %d: the loss is %g" % (it + 1, loss_v), file=sys.stderr)
            return 1
        tag = "warm-up" if it < args.warmup else "timed"
        print("  iteration %d (%s): %.3f s, loss %.5f  (data %.3f, forward+loss %.3f, backward %.3f, Adam %.3f)"
              % (it + 1, tag, t4 - t0, loss_v, t1 - t0, t2 - t1, t3 - t2, t4 - t3), flush=True)
        if it >= args.warmup:
            times.append(t4 - t0)
            cpu.append(c4 - c0)
            for k, v in zip(phases, (t1 - t0, t2 - t1, t3 - t2, t4 - t3)):
                phases[k].append(v)

    med = statistics.median(times)
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    ph = {k: statistics.median(v) for k, v in phases.items()}
    cpu_med = statistics.median(cpu)
    print("train_torch: median of %d timed iterations: %.3f s/iteration (data %.3f, forward+loss %.3f, "
          "backward %.3f, Adam %.3f), %.3f CPU s/iteration; peak RSS %.0f MiB"
          % (len(times), med, ph["data"], ph["forward"], ph["backward"], ph["optimiser"], cpu_med, rss_mb))
    print("RESULT s_per_iter=%.4f cpu_per_iter=%.4f data=%.4f forward=%.4f backward=%.4f adam=%.4f rss_mb=%.0f "
          "timed=%d" % (med, cpu_med, ph["data"], ph["forward"], ph["backward"], ph["optimiser"], rss_mb,
                        len(times)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
