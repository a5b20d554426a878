#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0 (LICENSE)
# prune_experiment.sh: the reduced-scale reproduction of the SSL paper's central comparison
# (docs/pruning-results.md; SSL-NOTES §8), end to end: one dense model trained with `slimvsr train`, pruned
# at the paper's operating point (half the units of every prunable layer) by SSL with and without temporal
# finetuning and by the two conventional baselines, each with the same number of training iterations after
# the dense model; then parameters, FLOPs, seconds per frame and PSNR/SSIM (Y) on Temple.
#
#   bench/prune_experiment.sh [STAGE ...]   stages (default: all, in this order):
#     dense      train the dense model (DENSE_ITERS iterations, FEAT x BLOCKS)
#     sweepdata  the TF-weight sweep's evaluation set: the training clips (GT) with MATLAB-bicubic LR
#     ssl        SSL without TF (the sweep's weight 0): sparsity learning, cut, plain finetuning
#     sweep      SSL with TF at each weight of TF_WEIGHTS; the sparsity phase does not depend on the
#                weight, so each run starts from a copy of ssl's sparsity phase and cut (then --resume)
#     baselines  l1-aligned and l1-keep-last: cut, then finetuning for SP_ITERS + FT_ITERS
#     eval       PSNR/SSIM: every run on the sweep set (training clips) and on Temple (validation)
#     cut        Temple right after the cut, before finetuning (what sparsity learning saves)
#     speed      seconds per frame of every model: `slimvsr upscale` of 10 frames 180x320, 2 threads
#     plot       kept output channels per layer (SVG) of the three schemes
#     summary    the tables (Markdown, stdout)
# A finished stage is skipped, so the script may be re-run after a stop (unfinished prune runs resume).
# `ssl sweep` and `baselines` are independent: two calls may run them at once (one core each).
#
# The TF weight is chosen on the training clips (the sweep set), never on Temple.
# Environment: SLIMVSR (binary, default build/slimvsr), FRAMETOOL, OUT (default bench/work/prune), TRAIN,
# VAL, THREADS (per run, default 1), FEAT, BLOCKS, DENSE_ITERS, SP_ITERS, FT_ITERS, TF_WEIGHTS, SEED (of the
# prune runs' data sampling, default 2; a second OUT with its dense/ and sweepset/ linked repeats them),
# DIRECTION (the dense model's, bi or uni, default bi: with uni, in its own OUT, the SSL paper's
# BasicVSR-uni / SSL-uni rows, issue 17 item 4; bench/uni_latency.sh gives their latency).
set -euo pipefail
# conv backends: the fixed rule unless SLIMVSR_WISDOM names a wisdom file (measured per shape, ops/tune.h;
# fill it with one untimed run first)
export SLIMVSR_WISDOM=${SLIMVSR_WISDOM:-off}
cd "$(dirname "$0")/.."
S=${SLIMVSR:-build/slimvsr}
FT=${FRAMETOOL:-build/tests/tools/frametool}
OUT=${OUT:-bench/work/prune}
TRAIN=${TRAIN:-../shared/data/train/vimeo90k-septuplets}
VAL=${VAL:-../shared/data/val/temple}
THREADS=${THREADS:-1}
FEAT=${FEAT:-32}
BLOCKS=${BLOCKS:-4}
DIRECTION=${DIRECTION:-bi}
DENSE_ITERS=${DENSE_ITERS:-1500}
SP_ITERS=${SP_ITERS:-200}
FT_ITERS=${FT_ITERS:-200}
TF_WEIGHTS=${TF_WEIGHTS:-0.01 0.1 1}
CLIP=${CLIP:-bench/work/clip_10x180x320}
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive}
mkdir -p "$OUT"

# every prune run: the paper's operating point, and a sparsity schedule compressed from the paper's ~19k
# iterations to SP_ITERS (constant lr; the scales learn 50x faster, lambda grows 10x faster): see
# docs/pruning-results.md
COMMON=(--data "$TRAIN" --val "$VAL" --val-frames 8 --batch 2 --seq 5 --patch 32 --val-every 100 --log-every 1
        --seed "${SEED:-2}" --select layer --ratio 0.5 --sparsity-iters "$SP_ITERS" --finetune-iters "$FT_ITERS"
        --scale-lr-mult 50 --lambda-step 1e-3 --threads "$THREADS" -q)
DENSE="$OUT/dense/model.safetensors"

timed() {  # timed NAME CMD...: runs CMD, appends "NAME wall_s user_s sys_s" to $OUT/times.txt
    local name=$1; shift
    /usr/bin/time -f "$name %e %U %S" -a -o "$OUT/times.txt" "$@"
}

finished() {  # finished RUN N: RUN/log.jsonl reached iteration N
    /usr/bin/python3 -c "import json,sys; sys.exit(json.loads(open(sys.argv[1]).readlines()[-1])['iter'] < int(sys.argv[2]))" \
        "$1/log.jsonl" "$2" 2>/dev/null
}

stage_dense() {
    finished "$OUT/dense" "$DENSE_ITERS" && return 0
    mkdir -p "$OUT/dense"
    if [ -e "$OUT/dense/state.safetensors" ]; then
        timed dense "$S" train --out "$OUT/dense" --resume --threads "$THREADS" -q
    else
        timed dense "$S" train --data "$TRAIN" --val "$VAL" --val-frames 8 --out "$OUT/dense" --feat "$FEAT" \
            --blocks "$BLOCKS" --direction "$DIRECTION" --seed 1 --iters "$DENSE_ITERS" --lr 4e-4 --batch 2 --seq 5 \
            --patch 32 --log-every 50 --val-every 300 --threads "$THREADS" -q
    fi
}

stage_sweepdata() {
    [ -e "$OUT/sweepset/.done" ] && return 0
    rm -rf "$OUT/sweepset"
    mkdir -p "$OUT/sweepset/GT" "$OUT/sweepset/BIx4"
    for c in "$TRAIN"/*/*/; do
        local name; name=$(basename "$(dirname "$c")")_$(basename "$c")
        cp -r "$c" "$OUT/sweepset/GT/$name"
        "$FT" degrade "$c" "$OUT/sweepset/BIx4/$name" bi
    done
    touch "$OUT/sweepset/.done"
}

prune_run() {  # prune_run NAME [options]: a prune run in $OUT/NAME, resumed when it exists
    local name=$1; shift
    [ -e "$OUT/$name/summary.json" ] && return 0
    if [ -e "$OUT/$name/prune.json" ]; then
        timed "$name" "$S" prune --out "$OUT/$name" --resume --threads "$THREADS" -q
    else
        timed "$name" "$S" prune -m "$DENSE" "${COMMON[@]}" --out "$OUT/$name" "$@"
    fi
}

stage_ssl() { prune_run ssl-tf0 --tf-weight 0; }

stage_sweep() {
    for w in $TF_WEIGHTS; do
        local d="$OUT/ssl-tf$w"
        if [ ! -e "$d/prune.json" ]; then
            mkdir -p "$d"
            cp -r "$OUT/ssl-tf0/sparsity" "$OUT/ssl-tf0/pruned-init.safetensors" "$d/"
            /usr/bin/python3 - "$OUT/ssl-tf0/prune.json" "$d/prune.json" "$w" <<'EOF'
import json, sys
j = json.load(open(sys.argv[1])); j["tf_weight"] = float(sys.argv[3]); json.dump(j, open(sys.argv[2], "w"), indent=1)
EOF
        fi
        prune_run "ssl-tf$w"
    done
}

stage_baselines() {
    prune_run l1-aligned --scheme l1-aligned
    prune_run l1-keep-last --scheme l1-keep-last
}

runs() {  # the finished prune runs
    for d in "$OUT"/ssl-tf* "$OUT"/l1-*; do [ -e "$d/summary.json" ] && basename "$d"; done
}

stage_eval() {
    local f="$OUT/eval.jsonl"
    : > "$f.tmp"
    for r in dense $(runs); do
        local m="$OUT/$r/model.safetensors"
        for set in sweep val; do
            local lr gt
            if [ $set = sweep ]; then lr="$OUT/sweepset/BIx4"; gt="$OUT/sweepset/GT"; else lr="$VAL/BIx4"; gt="$VAL/GT"; fi
            "$S" eval -q -m "$m" --lr "$lr" --gt "$gt" --y --json --threads 2 \
                | /usr/bin/python3 -c "import json,sys; j=json.load(sys.stdin); print(json.dumps({'run': sys.argv[1], 'set': sys.argv[2], 'psnr': j['mean']['psnr'], 'ssim': j['mean']['ssim']}))" "$r" "$set" >> "$f.tmp"
        done
        "$S" info --json "$m" | /usr/bin/python3 -c "import json,sys; j=json.load(sys.stdin); print(json.dumps({'run': sys.argv[1], 'set': 'info', 'params': j['params'] - j['params_spynet'], 'flops': j['flops'] - j['flops_spynet'], 'flops_all': j['flops'], 'layers': [[l['name'], l['cin'], l['cout']] for l in j['layers'] if 'spynet' not in l['name']]}))" "$r" >> "$f.tmp"
    done
    mv "$f.tmp" "$f"
}

stage_cut() {  # Temple right after the cut, before finetuning (SSL: after its sparsity phase)
    local f="$OUT/cut.jsonl"
    : > "$f.tmp"
    for r in ssl-tf0 l1-aligned l1-keep-last; do
        [ -e "$OUT/$r/pruned-init.safetensors" ] || continue
        "$S" eval -q -m "$OUT/$r/pruned-init.safetensors" --lr "$VAL/BIx4" --gt "$VAL/GT" --y --json --threads 2 \
            | /usr/bin/python3 -c "import json,sys; j=json.load(sys.stdin); print(json.dumps({'run': sys.argv[1], 'psnr': j['mean']['psnr'], 'ssim': j['mean']['ssim']}))" "$r" >> "$f.tmp"
    done
    mv "$f.tmp" "$f"
}

stage_speed() {  # best of 3 runs of each model (the machine is shared)
    [ -d "$CLIP" ] || /usr/bin/python3 bench/make_clip.py "$CLIP"
    local f="$OUT/speed.jsonl"
    : > "$f.tmp"
    for r in dense $(runs); do
        local best=""
        for i in 1 2 3; do
            rm -rf "$OUT/speed_out"
            local t0 t1; t0=$(date +%s.%N)
            "$S" upscale -q -m "$OUT/$r/model.safetensors" --threads 2 "$CLIP" "$OUT/speed_out"
            t1=$(date +%s.%N)
            best=$(/usr/bin/python3 -c "import sys; t=(float(sys.argv[2])-float(sys.argv[1]))/10; b=sys.argv[3]; print(min(t, float(b)) if b else t)" "$t0" "$t1" "$best")
        done
        echo "{\"run\": \"$r\", \"s_per_frame\": $best}" >> "$f.tmp"
    done
    rm -rf "$OUT/speed_out"
    mv "$f.tmp" "$f"
}

stage_plot() {
    /usr/bin/python3 - "$OUT/eval.jsonl" "$OUT/kept-channels.svg" <<'EOF'
import json, sys
info = {j["run"]: j for j in map(json.loads, open(sys.argv[1])) if j["set"] == "info"}
runs = [r for r in ("ssl-tf0", "l1-aligned", "l1-keep-last") if r in info]
if "dense" not in info or not runs:
    sys.exit("plot: run the eval stage first")
dense = {l[0]: l for l in info["dense"]["layers"]}
layers = [n for n in dense if n != "conv_last"]
colors = {"ssl-tf0": "#d62728", "l1-aligned": "#1f77b4", "l1-keep-last": "#2ca02c"}
left, top, bh, bw = 230, 50, 7, 420
H = top + len(layers) * (bh * len(runs) + 6) + 50
out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{left + bw + 80}" height="{H}" font-family="sans-serif" font-size="10">',
       '<rect width="100%" height="100%" fill="white"/>',
       f'<text x="10" y="20" font-size="13">Kept output channels per layer, as a fraction of the dense model ({info["dense"]["layers"][0][2]} features)</text>',
       '<text x="10" y="36">SSL (RSC) and l1-keep-last keep each trunk\'s full hidden state; l1-aligned shrinks it. Dashed: half.</text>']
y = top
for name in layers:
    out.append(f'<text x="{left - 6}" y="{y + bh * len(runs) / 2 + 3}" text-anchor="end">{name}</text>')
    for r in runs:
        c = dict((l[0], l[2]) for l in info[r]["layers"]).get(name, 0)
        frac = c / dense[name][2]
        out.append(f'<rect x="{left}" y="{y}" width="{bw * frac:.1f}" height="{bh - 1}" fill="{colors[r]}"/>'
                   f'<text x="{left + bw * frac + 3:.1f}" y="{y + bh - 1}" font-size="7">{c}/{dense[name][2]}</text>')
        y += bh
    y += 6
out.append(f'<line x1="{left + bw / 2}" y1="{top - 4}" x2="{left + bw / 2}" y2="{y}" stroke="#888" stroke-dasharray="3,3"/>')
for i, r in enumerate(runs):
    out.append(f'<rect x="{left + i * 140}" y="{y + 12}" width="12" height="10" fill="{colors[r]}"/>'
               f'<text x="{left + i * 140 + 16}" y="{y + 21}">{r}</text>')
out.append("</svg>")
open(sys.argv[2], "w").write("\n".join(out))
print("wrote", sys.argv[2])
EOF
}

stage_summary() {
    /usr/bin/python3 - "$OUT" <<'EOF'
import json, os, sys
out = sys.argv[1]
ev = [json.loads(l) for l in open(os.path.join(out, "eval.jsonl"))]
sp = {}
if os.path.exists(os.path.join(out, "speed.jsonl")):
    sp = {j["run"]: j["s_per_frame"] for j in map(json.loads, open(os.path.join(out, "speed.jsonl")))}
get = lambda r, s: next((j for j in ev if j["run"] == r and j["set"] == s), None)
runs = [r for r in dict.fromkeys(j["run"] for j in ev)]
d = get("dense", "info")
print("| model | params (no SPyNet) | FLOPs/frame 180x320 (no SPyNet) | s/frame 180x320 | Temple PSNR / SSIM (Y) | training clips PSNR (Y) |")
print("|---|---:|---:|---:|---:|---:|")
for r in runs:
    i, v, t = get(r, "info"), get(r, "val"), get(r, "sweep")
    s = f"{sp[r]:.3f}" if r in sp else ""
    print(f"| {r} | {i['params'] / 1e3:.1f} k ({100 * i['params'] / d['params']:.0f}%) | {i['flops'] / 1e9:.2f} G "
          f"({100 * i['flops'] / d['flops']:.0f}%) | {s} | {v['psnr']:.3f} / {v['ssim']:.4f} | {t['psnr']:.3f} |")
times = {}
if os.path.exists(os.path.join(out, "times.txt")):
    for l in open(os.path.join(out, "times.txt")):
        p = l.split()
        if len(p) == 4:
            try:
                times[p[0]] = times.get(p[0], 0) + float(p[1])
            except ValueError:
                pass
if times:
    print("\nwall time per run (1 thread each): " + ", ".join(f"{k} {v / 60:.0f} min" for k, v in times.items()))
cp = os.path.join(out, "cut.jsonl")
if os.path.exists(cp):
    print("\nTemple (Y) right after the cut, before finetuning (ssl: after sparsity learning):\n")
    print("| model | PSNR / SSIM |\n|---|---:|")
    for j in map(json.loads, open(cp)):
        print(f"| {j['run']} | {j['psnr']:.3f} / {j['ssim']:.4f} |")
for r in runs:
    p = os.path.join(out, r, "sparsity", "log.jsonl")
    if r == "ssl-tf0" and os.path.exists(p):
        rows = [json.loads(l) for l in open(p)]
        print("\nsparsity learning (ssl-tf0), RMS of the scales:\n\n| iter | lambda | chosen | kept | loss |\n|---:|---:|---:|---:|---:|")
        for j in rows:
            if j["iter"] % 25 == 0 or j["iter"] == 1:
                print(f"| {j['iter']} | {j['lambda']:.3f} | {j['scale_chosen']:.4f} | {j['scale_kept']:.4f} | {j['loss']:.5f} |")
EOF
}

stages=("$@")
[ ${#stages[@]} -eq 0 ] && stages=(dense sweepdata ssl sweep baselines eval cut speed plot summary)
for st in "${stages[@]}"; do
    case "$st" in
        dense|sweepdata|ssl|sweep|baselines|eval|cut|speed|plot|summary) echo "== $st ($(date +%T))" >&2; "stage_$st" ;;
        *) echo "prune_experiment.sh: unknown stage '$st'" >&2; exit 2 ;;
    esac
done
