#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0 (LICENSE)
# mpi_cost.sh: issue 19 item 3, the cost model of data-parallel training, measured here. Needs build/ and
# build-mpi/ (`make && make MPI=1`), openmpi-bin and the training clips of $DATA.
#   1. seconds per iteration of `train` (FEAT x BLOCKS, global batch BATCH x SEQ frames, patch PATCH):
#      1 process with 2 threads against `mpirun -np 2` ranks of 1 thread with BATCH/2 each (threads x
#      ranks = 2 either way), the median over ITERS iterations after the first 2;
#   2. the all-reduce of blocks of 2, 7, 20 and 25 MB (bench/allreduce_bench.c) between 2 ranks on loopback;
#   3. the estimate for N nodes of one rank each (the per-rank batch fixed, so the compute time per step
#      stays t_c): a ring all-reduce of G bytes costs t_r = 2 (N-1)/N G / B + 2 (N-1) L (B the link's
#      bandwidth, L its latency per message); with no overlap, efficiency = t_c / (t_c + t_r).
# Environment: DATA (../shared/data), FEAT (32), BLOCKS (10), BATCH (2), SEQ (7), PATCH (64), ITERS (6),
# OUT (bench/work/mpi-cost).
set -euo pipefail
cd "$(dirname "$0")/.."
export SLIMVSR_WISDOM=${SLIMVSR_WISDOM:-off} OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
DATA=${DATA:-../shared/data}; FEAT=${FEAT:-32}; BLOCKS=${BLOCKS:-10}; BATCH=${BATCH:-2}; SEQ=${SEQ:-7}
PATCH=${PATCH:-64}; ITERS=${ITERS:-6}; OUT=${OUT:-bench/work/mpi-cost}
for b in build/slimvsr build-mpi/slimvsr build-mpi/bench/allreduce_bench; do
    [ -x "$b" ] || { echo "mpi_cost.sh: $b is missing (make && make MPI=1 bench)" >&2; exit 1; }
done
rm -rf "$OUT" && mkdir -p "$OUT"
echo "CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores"
ARGS=(--data "$DATA/train/vimeo90k-septuplets" --feat "$FEAT" --blocks "$BLOCKS" --seq "$SEQ" --patch "$PATCH"
      --iters "$ITERS" --log-every 1 --seed 1 -q)
build/slimvsr train "${ARGS[@]}" --batch "$BATCH" --threads 2 --out "$OUT/one"
mpirun --oversubscribe -np 2 build-mpi/slimvsr train "${ARGS[@]}" --batch $((BATCH / 2)) --threads 1 --out "$OUT/two"
mpirun --oversubscribe -np 2 build-mpi/bench/allreduce_bench 2 7 20 25 | tee "$OUT/allreduce.txt"
/usr/bin/python3 - "$OUT" "$FEAT" "$BLOCKS" <<'PY'
import json, os, statistics, sys
out, feat, blocks = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
def step_seconds(run):
    s = [json.loads(l)["seconds"] for l in open(os.path.join(out, run, "log.jsonl"))]
    return statistics.median([b - a for a, b in zip(s[1:], s[2:])])
t1, t2 = step_seconds("one"), step_seconds("two")
print("train %dx%d, s/iteration: 1 process x 2 threads %.3f; 2 ranks x 1 thread %.3f (%.2fx)" % (feat, blocks, t1, t2, t1 / t2))
rows = [l.split() for l in open(os.path.join(out, "allreduce.txt")) if l.split() and l.split()[0][0].isdigit()]
loop = {float(r[0]): float(r[1]) / 1e3 for r in rows}
print("all-reduce on loopback, 2 ranks: " + ", ".join("%g MB %.1f ms" % (k, v * 1e3) for k, v in sorted(loop.items())))
# the estimate: the gradient block of 64x30 (fp32, SPyNet included) and of this run's model
n_params = {"64x30": 6.29e6}
links = {"10 GbE": (1.25e9, 50e-6), "100 Gb InfiniBand": (12.5e9, 2e-6)}
print("\nestimate, one rank per node, per-rank compute t_c = %.2f s (this run) and 38 s (64x30, batch 4x7):" % t2)
print("| gradient | link | N = 8 | N = 32 | N = 128 |\n|---|---|---:|---:|---:|")
info = json.loads(os.popen("build/slimvsr info --json " + os.path.join(out, "one", "model.safetensors")).read())
for tc, g, what in ((t2, info["params"] * 4.0, "%dx%d" % (feat, blocks)), (38.0, n_params["64x30"] * 4, "64x30")):
    for link, (bw, lat) in links.items():
        cells = []
        for n in (8, 32, 128):
            tr = 2 * (n - 1) / n * g / bw + 2 * (n - 1) * lat
            cells.append("%.0f%% (t_r %.3f s)" % (100 * tc / (tc + tr), tr))
        print("| %s, %.1f MB | %s | %s |" % (what, g / 1e6, link, " | ".join(cells)))
PY
