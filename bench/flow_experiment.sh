#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0 (LICENSE)
# flow_experiment.sh: does unsupervised SPyNet pretraining (`slimvsr train-flow`) help a small BasicVSR
# trained from scratch? The experiment of docs/flow-pretraining.md, end to end.
#
#   bench/flow_experiment.sh [STAGE ...]     stages: flow scratch pretrained frozen evalflow oracle summary
#                                            (default: all of them, in that order)
# Runs:
#   flow        train-flow: SPyNet of the random 16x2 model (seed 1) pretrained on the training clips
#   scratch     (a) train the random model, SPyNet trained end to end from its random initialisation
#   pretrained  (b) the same, --init from flow/model.safetensors (same non-SPyNet weights as (a))
#   frozen      (c) as (b), SPyNet frozen for the whole run (--spynet-freeze = iters)
#   evalflow    photometric error on Temple LR (first VAL_FRAMES frames): zero flow, random SPyNet,
#               pretrained SPyNet, and the SPyNets at the end of (a) and (b)
#   oracle      the best single translation per ordered pair (brute force, PyTorch): what a flow could gain
#   summary     a table of the validation curves, final numbers and times (Markdown, on stdout)
# A finished stage (its model.safetensors exists) is skipped, so the script may be re-run after a stop;
# `flow` and `scratch` are independent and may run at the same time (two calls), the rest need `flow`.
#
# Environment: SLIMVSR (binary, default build/slimvsr), OUT (default bench/work/flow-exp), TRAIN, VAL,
# THREADS (per run, default 1), ITERS (VSR iterations, default 300), FLOW_ITERS (default 400).
set -euo pipefail
# conv backends: the fixed rule unless SLIMVSR_WISDOM names a wisdom file (measured per shape, ops/tune.h;
# fill it with one untimed run first)
export SLIMVSR_WISDOM=${SLIMVSR_WISDOM:-off}
cd "$(dirname "$0")/.."
S=${SLIMVSR:-build/slimvsr}
OUT=${OUT:-bench/work/flow-exp}
TRAIN=${TRAIN:-../shared/data/train/vimeo90k-septuplets}
VAL=${VAL:-../shared/data/val/temple}
THREADS=${THREADS:-1}
ITERS=${ITERS:-300}
FLOW_ITERS=${FLOW_ITERS:-400}
VAL_FRAMES=${VAL_FRAMES:-8}
# libgomp threads spin while they wait; on a shared, busy machine that costs more than the work itself
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive}
mkdir -p "$OUT"

MODEL=(--feat 16 --blocks 2 --seed 1)
VSR=(--data "$TRAIN" --val "$VAL" --val-frames "$VAL_FRAMES" "${MODEL[@]}" --iters "$ITERS" --batch 2 --seq 5
     --patch 32 --val-every 50 --log-every 10 --threads "$THREADS" -q)

timed() {  # timed NAME CMD...: runs CMD, appends "NAME wall_s user_s sys_s" to $OUT/times.txt
    local name=$1; shift
    /usr/bin/time -f "$name %e %U %S" -a -o "$OUT/times.txt" "$@"
}

stage_flow() {
    [ -e "$OUT/flow/model.safetensors" ] && [ ! -e "$OUT/flow/.running" ] && return 0
    mkdir -p "$OUT/flow" && touch "$OUT/flow/.running"
    local resume=()
    [ -e "$OUT/flow/state.safetensors" ] && resume=(--resume)
    if [ ${#resume[@]} -gt 0 ]; then
        timed flow "$S" train-flow --out "$OUT/flow" --resume --threads "$THREADS" -q
    else
        timed flow "$S" train-flow --data "$TRAIN" --out "$OUT/flow" "${MODEL[@]}" --iters "$FLOW_ITERS" --batch 4 \
            --seq 2 --patch 64 --lr 3e-3 --warmup 20 --scales 4 --smooth 0.01 --log-every 10 --checkpoint-every 50 \
            --threads "$THREADS" -q
    fi
    rm -f "$OUT/flow/.running"
}

vsr_run() {  # vsr_run NAME [extra options]
    local name=$1; shift
    [ -e "$OUT/$name/model.safetensors" ] && [ ! -e "$OUT/$name/.running" ] && return 0
    mkdir -p "$OUT/$name" && touch "$OUT/$name/.running"
    if [ -e "$OUT/$name/state.safetensors" ]; then
        timed "$name" "$S" train --out "$OUT/$name" --resume --threads "$THREADS" -q
    else
        timed "$name" "$S" train "${VSR[@]}" --out "$OUT/$name" "$@"
    fi
    rm -f "$OUT/$name/.running"
}

stage_scratch() { vsr_run scratch; }
stage_pretrained() { vsr_run pretrained --init "$OUT/flow/model.safetensors"; }
stage_frozen() { vsr_run frozen --init "$OUT/flow/model.safetensors" --spynet-freeze "$ITERS"; }

stage_evalflow() {
    local f="$OUT/flow_eval.jsonl" lr="$VAL/BIx4"
    : > "$f"
    "$S" train-flow --eval --data "$lr" --max-frames "$VAL_FRAMES" "${MODEL[@]}" --json --threads "$THREADS" >> "$f"
    for m in flow scratch pretrained frozen; do
        [ -e "$OUT/$m/model.safetensors" ] || continue
        "$S" train-flow --eval -m "$OUT/$m/model.safetensors" --data "$lr" --max-frames "$VAL_FRAMES" --json \
            --threads "$THREADS" >> "$f"
    done
    cat "$f"
}

stage_oracle() {  # the best single translation per ordered pair: roughly how much a flow could gain
    /usr/bin/python3 - "$TRAIN" "$VAL/BIx4" "$VAL_FRAMES" <<'EOF' | tee "$OUT/global_shift.txt"
import glob, sys
import numpy as np, torch, torch.nn.functional as F
sys.path.insert(0, "bench")
from pngio import read_png
torch.set_num_threads(1)
train, val, nval = sys.argv[1], sys.argv[2], int(sys.argv[3])
def load(p): return torch.from_numpy(read_png(p).astype(np.float32) / 255).permute(2, 0, 1)
def rho(d): return torch.sqrt(d * d + 1e-6).mean().item()  # the photometric error of train-flow
def shifted(img, dx, dy):  # img sampled at (x + dx, y + dy), bilinear, border: flow_warp with a constant flow
    c, h, w = img.shape
    ys, xs = torch.meshgrid(torch.arange(h, dtype=torch.float32), torch.arange(w, dtype=torch.float32), indexing="ij")
    g = torch.stack([2 * (xs + dx) / (w - 1) - 1, 2 * (ys + dy) / (h - 1) - 1], -1)[None]
    return F.grid_sample(img[None], g, mode="bilinear", padding_mode="border", align_corners=True)[0]
def report(label, frames):
    z = b = mag = 0.0; n = 0
    steps = np.arange(-3, 3.001, 0.25)
    for a, c in zip(frames[:-1], frames[1:]):
        for ref, supp in ((a, c), (c, a)):
            best = min((rho(ref - shifted(supp, dx, dy)), dx, dy) for dx in steps for dy in steps)
            z += rho(ref - supp); b += best[0]; mag += float(np.hypot(best[1], best[2])); n += 1
    print(f"{label}: {n} ordered pairs, photometric error zero flow {z / n:.5f}, best translation {b / n:.5f} "
          f"({100 * (b / z - 1):+.1f}%), mean |translation| {mag / n:.2f} px")
report("Temple LR, first %d frames" % nval, [load(p) for p in sorted(glob.glob(val + "/*.png"))[:nval]])
# Vimeo LR by torch's antialiased bicubic x1/4 (train-flow uses MATLAB's; close enough for this estimate)
for c in sorted(glob.glob(train + "/*/*"))[:8]:
    report("Vimeo LR " + c[len(train):].strip("/") + ", frames 1-3",
           [F.interpolate(load(p)[None], scale_factor=0.25, mode="bicubic", antialias=True)[0].clamp(0, 1)
            for p in sorted(glob.glob(c + "/im*.png"))[:3]])
EOF
}

stage_summary() {
    /usr/bin/python3 - "$OUT" <<'EOF'
import json, os, sys
out = sys.argv[1]
def log(p):
    try:
        return [json.loads(l) for l in open(p) if l.strip()]
    except FileNotFoundError:
        return []
times = {}
if os.path.exists(os.path.join(out, "times.txt")):
    for l in open(os.path.join(out, "times.txt")):
        p = l.split()
        if len(p) == 4 and p[0] not in ("Command",):
            try:
                times.setdefault(p[0], [0, 0])
                times[p[0]][0] += float(p[1]); times[p[0]][1] += float(p[2]) + float(p[3])
            except ValueError:
                pass
fl = log(os.path.join(out, "flow", "log.jsonl"))
if fl:
    print("train-flow (photometric error on training pairs, mean over each logged window):\n")
    print("| iter | photo | photo, zero flow | smooth |\n|---:|---:|---:|---:|")
    for j in fl:
        if j["iter"] % 50 == 0 or j is fl[0]:
            print(f"| {j['iter']} | {j['photo']:.5f} | {j['photo_zero']:.5f} | {j['smooth']:.4f} |")
    print()
runs = [r for r in ("scratch", "pretrained", "frozen") if log(os.path.join(out, r, "log.jsonl"))]
if runs:
    val = {r: {j["iter"]: (j["val_psnr"], j["val_ssim"]) for j in log(os.path.join(out, r, "log.jsonl")) if "val_psnr" in j} for r in runs}
    its = sorted(set().union(*[set(v) for v in val.values()]))
    print("validation on Temple (Y PSNR dB / SSIM):\n")
    print("| iter | " + " | ".join(runs) + " |\n|---:|" + "---:|" * len(runs))
    for it in its:
        cells = [f"{val[r][it][0]:.3f} / {val[r][it][1]:.4f}" if it in val[r] else "" for r in runs]
        print(f"| {it} | " + " | ".join(cells) + " |")
    print()
    print("training loss (mean of the last 50 iterations):\n")
    for r in runs:
        l = [j["loss"] for j in log(os.path.join(out, r, "log.jsonl"))][-5:]
        print(f"- {r}: {sum(l) / len(l):.5f}")
    print()
if times:
    print("times (wall s, CPU s = user + sys):\n")
    for k, (w, c) in times.items():
        print(f"- {k}: {w:.0f} s wall, {c:.0f} s CPU")
    print()
ev = os.path.join(out, "flow_eval.jsonl")
if os.path.exists(ev):
    print("photometric error on Temple LR (whole frames, every ordered neighbour pair):\n")
    print("| SPyNet | photo | vs zero flow | smoothness |\n|---|---:|---:|---:|")
    rows = [json.loads(l) for l in open(ev) if l.strip()]
    if rows:
        print(f"| zero flow | {rows[0]['photo_zero']:.5f} | | |")
    for j in rows:
        print(f"| {j['model']} | {j['photo_model']:.5f} | {100 * (j['photo_model'] / j['photo_zero'] - 1):+.1f}% | {j['smooth_model']:.4f} |")
EOF
}

stages=("$@")
[ ${#stages[@]} -eq 0 ] && stages=(flow scratch pretrained frozen evalflow oracle summary)
for st in "${stages[@]}"; do
    case "$st" in
        flow|scratch|pretrained|frozen|evalflow|oracle|summary) echo "== $st ($(date +%T))" >&2; "stage_$st" ;;
        *) echo "flow_experiment.sh: unknown stage '$st'" >&2; exit 2 ;;
    esac
done
