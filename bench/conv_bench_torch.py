#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0 (LICENSE)
# conv_bench_torch.py: PyTorch's time for the BasicVSR conv shapes, 2 threads, batch 1, fp32, as the
# baseline for bench/conv_bench.c (which runs this script with --torch).
#   /usr/bin/python3 bench/conv_bench_torch.py [reps]
# One line per shape: "torch cin cout k h w  wall_nchw cpuT_nchw  wall_mkldnn cpuT_mkldnn" (ms), where
# nchw is F.conv2d on a plain NCHW tensor (what a PyTorch model pays, oneDNN layout reorders included)
# and mkldnn the same conv on tensors kept in oneDNN's blocked layout (no reorders). wall is the fastest
# of reps runs; cpuT the smallest process CPU time of a run divided by the thread count (robust on a busy
# machine; see conv_bench.c).
import sys, time
import torch
import torch.utils.mkldnn
import torch.nn.functional as F

# (cin, cout, k, h, w): the shapes of bench/conv_bench.c
SHAPES = [
    (64, 64, 3, 180, 320),   # trunk residual-block convs (x120 per frame)
    (67, 64, 3, 180, 320),   # trunk first conv, cat[x, h]
    (64, 256, 3, 180, 320),  # upconv1
    (64, 256, 3, 360, 640),  # upconv2
    (64, 64, 3, 720, 1280),  # conv_hr
    (64, 3, 3, 720, 1280),   # conv_last
    (128, 64, 1, 180, 320),  # fusion 1x1
    (8, 32, 7, 192, 320),    # SPyNet level 5 (finest), convs 1..5
    (32, 64, 7, 192, 320),
    (64, 32, 7, 192, 320),
    (32, 16, 7, 192, 320),
    (16, 2, 7, 192, 320),
]


def best_ms(fn, reps, threads):
    fn()
    wall, cpu = [], []
    for _ in range(reps):
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        wall.append((time.perf_counter() - t0) * 1e3)
        cpu.append((time.process_time() - c0) * 1e3 / threads)
    return min(wall), min(cpu)


def main():
    reps = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    torch.set_num_threads(2)
    torch.manual_seed(0)
    with torch.no_grad():
        for cin, cout, k, h, w in SHAPES:
            x = torch.rand(1, cin, h, w)
            wt = torch.rand(cout, cin, k, k) - 0.5
            b = torch.rand(cout)
            w_plain, c_plain = best_ms(lambda: F.conv2d(x, wt, b, padding=k // 2), reps, 2)
            xm = x.to_mkldnn()
            conv = torch.nn.Conv2d(cin, cout, k, padding=k // 2)
            conv.weight.data.copy_(wt)
            conv.bias.data.copy_(b)
            convm = torch.utils.mkldnn.to_mkldnn(conv)
            w_mkl, c_mkl = best_ms(lambda: convm(xm), reps, 2)
            print(f"torch {cin} {cout} {k} {h} {w} {w_plain:.2f} {c_plain:.2f} {w_mkl:.2f} {c_mkl:.2f}", flush=True)


if __name__ == "__main__":
    main()
