#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0 (LICENSE)
# prune_arms.sh: SSL against conventional pruning with equal budgets (issue 17 item 2), one script that
# reruns everything. From one dense model (DENSE: the motion-aware model of issue 16), for each data seed in
# SEEDS and each operating point in POINTS, the arms
#   a  ssl                 sparsity learning (SP iterations, constant lr), cut, finetuning (FT, annealed)
#   b  ssl-nosparsity      the same RSC cut chosen by L1 on the dense weights, no sparsity learning:
#                          SP + FT iterations of finetuning (`--sparsity-iters 0`)
#   c  l1-keep-last        trunk parameters matched to a (`--params` = a's kept fraction)
#   d  l1-aligned          matched the same way (operating point r50 only)
#   e  dense+              the dense model trained SP + FT more iterations on the same schedule (constant lr
#                          for SP, then annealed; `train --init DENSE --lr-hold SP`), once per seed
# Every arm: the same data, seed, batch, patch and lr; the reconstruction cut identically (`--recon-ratio
# RECON`), temporal finetuning at TF_W for every pruned arm. Points: r50 = global selection `--ratio 0.5`
# (the paper's operating point), f25 = `--flops 0.25` (a stronger cut).
# Temporal Finetuning: stage tf trains arm a (seed 1, r50) at every weight of TF_SWEEP and keeps the one
# with the best PSNR on the validation clip cutie-judo ($OUT/tf_weight.txt, then TF_W of every arm; seed 1's
# r50 arm a is that run); stage drift runs bench/tf_drift.c on the long held-out clip davis-selfie for the
# run without TF (weight 0) and the chosen one: per-frame hidden-state error against the dense model and
# PSNR drop, to see whether the error grows along the recurrence and whether TF flattens it.
#
# PRIMARY COMPARISON (fixed before any run): a - c at r50, mean PSNR (Y) on the held-out clip
# test/davis-selfie, paired by seed, 95% t-interval. "SSL beats L1 pruning" is claimed only if that
# interval excludes zero. Everything else (b, d, e, f25, Temple) is secondary.
#
#   bench/prune_arms.sh DENSE [STAGE ...]   stages: prepare tf runs eval drift summary (default: all)
# A finished run is skipped and a stopped one resumed, so the script can be re-run after any stop.
# Environment: SLIMVSR (build/slimvsr), FRAMETOOL (build/tests/tools/frametool), DATA (../shared/data),
# OUT (bench/work/prune-arms), SEEDS ("1 2 3 4"), POINTS ("r50 f25"), SP (1000), FT (1000), RECON (0.5),
# TF_SWEEP ("0 0.003 0.01 0.03"), TF_W (the tf stage's choice, else 0.01), BATCH (4), SEQ (5), PATCH (64), THREADS (2), VAL_FRAMES (8), SMOKE (0; 1: a few iterations of
# a tiny run on 2 seeds, to check the script, numbers meaningless).
set -euo pipefail
export SLIMVSR_WISDOM=${SLIMVSR_WISDOM:-off}
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive}
cd "$(dirname "$0")/.."
[ $# -ge 1 ] || { echo "usage: bench/prune_arms.sh DENSE [prepare|tf|runs|eval|drift|summary ...]" >&2; exit 2; }
DENSE=$(realpath "$1"); shift
S=${SLIMVSR:-build/slimvsr}
FT=${FRAMETOOL:-build/tests/tools/frametool}
DATA=${DATA:-../shared/data}
OUT=${OUT:-bench/work/prune-arms}
SEEDS=${SEEDS:-1 2 3 4}; POINTS=${POINTS:-r50 f25}; SP=${SP:-1000}; FT_IT=${FT:-1000}; RECON=${RECON:-0.5}
TF_W_GIVEN=${TF_W:-}; TF_W=${TF_W:-0.01}; BATCH=${BATCH:-4}; SEQ=${SEQ:-5}; PATCH=${PATCH:-64}; THREADS=${THREADS:-2}
VAL_FRAMES=${VAL_FRAMES:-8}; TF_SWEEP=${TF_SWEEP:-0 0.003 0.01 0.03}
[ -z "$TF_W_GIVEN" ] && [ -s "$OUT/tf_weight.txt" ] && TF_W=$(cat "$OUT/tf_weight.txt")
if [ "${SMOKE:-0}" = 1 ]; then SEEDS="1 2"; SP=2; FT_IT=2; BATCH=1; SEQ=3; PATCH=16; VAL_FRAMES=2; RECON=0.8
    TF_SWEEP="0 0.01"; fi
TD=${TF_DRIFT:-build/bench/tf_drift}
mkdir -p "$OUT"
. bench/clips.sh

TRAIN=(--data "$DATA/train/vimeo90k-septuplets" --data "$DATA/train/davis-triplets" --data "$DATA/train/sam2-bedroom"
       --data "$DATA/train/cutie-bike")
COMMON=("${TRAIN[@]}" --val "$OUT/clips/cutie-judo" --val-frames "$VAL_FRAMES" --batch "$BATCH" --seq "$SEQ"
        --patch "$PATCH" --val-every 250 --log-every 10 --threads "$THREADS" -q)

stage_prepare() {
    bench_clip "$OUT/clips/cutie-judo" "$DATA/val/cutie-judo"
    bench_clip "$OUT/clips/davis-selfie" "$DATA/test/davis-selfie"
    [ -e "$OUT/clips/temple" ] || ln -s "$(realpath "$DATA/val/temple")" "$OUT/clips/temple"
}

selection() {  # selection POINT: the prune options of an operating point
    case $1 in
        r50) echo "--ratio 0.5" ;;
        f25) echo "--flops 0.25" ;;
        *) echo "prune_arms.sh: unknown operating point $1 (r50, f25)" >&2; return 1 ;;
    esac
}

# prune_run DIR [options]: one `slimvsr prune` run, resumed when it was stopped, skipped when finished
prune_run() {
    local dir=$1; shift
    [ -e "$dir/summary.json" ] && return 0
    mkdir -p "$(dirname "$dir")"
    if [ -e "$dir/prune.json" ]; then "$S" prune --out "$dir" --resume --threads "$THREADS" -q
    else "$S" prune -m "$DENSE" "${COMMON[@]}" --recon-ratio "$RECON" --out "$dir" "$@"; fi
}

kept_params() {  # kept_params RUN: the fraction of the dense parameters (without SPyNet) RUN kept
    /usr/bin/python3 -c 'import json, sys; s = json.load(open(sys.argv[1])); print(s["params"] / s["dense_params"])' \
        "$1/summary.json"
}

arms_of() {  # arms_of SEED POINT: a, then the arms matched to it
    local seed=$1 pt=$2 base=$OUT/s$1/$2 sel
    sel=$(selection "$pt")
    mkdir -p "$base"
    # seed 1's r50 arm a is the tf stage's run at the chosen weight
    [ "$seed" = 1 ] && [ "$pt" = r50 ] && [ -e "$OUT/tf/w$TF_W/summary.json" ] && [ ! -e "$base/a" ] \
        && ln -s "$OUT/tf/w$TF_W" "$base/a"
    # shellcheck disable=SC2086
    prune_run "$base/a" --scheme ssl $sel --seed "$seed" --sparsity-iters "$SP" --finetune-iters "$FT_IT" --tf-weight "$TF_W"
    # shellcheck disable=SC2086
    prune_run "$base/b" --scheme ssl $sel --seed "$seed" --sparsity-iters 0 --finetune-iters $((SP + FT_IT)) \
        --tf-weight "$TF_W"
    local p; p=$(kept_params "$base/a")
    prune_run "$base/c" --scheme l1-keep-last --params "$p" --seed "$seed" --sparsity-iters "$SP" \
        --finetune-iters "$FT_IT" --tf-weight "$TF_W"
    [ "$pt" = r50 ] && prune_run "$base/d" --scheme l1-aligned --params "$p" --seed "$seed" --sparsity-iters "$SP" \
        --finetune-iters "$FT_IT" --tf-weight "$TF_W"
    return 0
}

dense_more() {  # dense_more SEED: arm e
    local dir=$OUT/s$1/e
    [ -e "$dir/model.safetensors" ] && [ ! -e "$dir.running" ] && return 0
    mkdir -p "$OUT/s$1" && touch "$dir.running"
    if [ -e "$dir/state.safetensors" ]; then "$S" train --out "$dir" --resume --threads "$THREADS" -q
    else "$S" train --init "$DENSE" "${COMMON[@]}" --seed "$1" --iters $((SP + FT_IT)) --lr-hold "$SP" --out "$dir"; fi
    # a run stopped by Ctrl-C or SIGTERM exits 0 with a checkpoint: still unfinished
    /usr/bin/python3 bench/run_finished.py "$dir" || { echo "arm e, seed $1: stopped before its last iteration" >&2; return 1; }
    rm -f "$dir.running"
}

val_psnr() {  # val_psnr MODEL: mean PSNR (Y) on the validation clip
    "$S" eval -q -m "$1" --lr "$OUT/clips/cutie-judo/BIx4" --gt "$OUT/clips/cutie-judo/GT" --y --json \
        --threads "$THREADS" | /usr/bin/python3 -c 'import json, sys; print(json.load(sys.stdin)["mean"]["psnr"])'
}

stage_tf() {
    local w best="" bp=-1 p
    : > "$OUT/tf_choice.jsonl"
    for w in $TF_SWEEP; do
        prune_run "$OUT/tf/w$w" --scheme ssl --ratio 0.5 --seed 1 --sparsity-iters "$SP" --finetune-iters "$FT_IT" \
            --tf-weight "$w"
        p=$(val_psnr "$OUT/tf/w$w/model.safetensors")
        echo "{\"weight\": $w, \"val_psnr\": $p}" >> "$OUT/tf_choice.jsonl"
        if /usr/bin/python3 -c 'import sys; sys.exit(not float(sys.argv[1]) > float(sys.argv[2]))' "$p" "$bp"; then
            best=$w bp=$p
        fi
    done
    echo "$best" > "$OUT/tf_weight.txt"
    TF_W=$best
    echo "TF weight chosen on cutie-judo: $best" >&2
}

stage_drift() {
    local w
    for w in 0 "$TF_W"; do
        [ -s "$OUT/drift-w$w.json" ] && continue
        "$TD" -m "$OUT/tf/w$w/model.safetensors" --teacher "$DENSE" --lr "$OUT/clips/davis-selfie/BIx4" \
            --gt "$OUT/clips/davis-selfie/GT" --y > "$OUT/drift-w$w.json.tmp" && mv "$OUT/drift-w$w.json.tmp" "$OUT/drift-w$w.json"
    done
}

stage_runs() {
    local seed pt
    for seed in $SEEDS; do
        for pt in $POINTS; do arms_of "$seed" "$pt"; done
        dense_more "$seed"
    done
}

# eval.jsonl: one line per (model, clip): {"run": "s1/r50/a", "clip": ..., "psnr": ..., "ssim": ...}
stage_eval() {
    local f=$OUT/eval.jsonl m run c
    touch "$f"
    for m in "$DENSE" "$OUT"/s*/*/*/model.safetensors "$OUT"/s*/e/model.safetensors; do
        [ -e "$m" ] || continue
        run=${m#"$OUT"/}; run=${run%/model.safetensors}; [ "$m" = "$DENSE" ] && run=dense
        for c in davis-selfie temple; do
            grep -q "\"run\": \"$run\", \"clip\": \"$c\"" "$f" && continue
            "$S" eval -q -m "$m" --lr "$OUT/clips/$c/BIx4" --gt "$OUT/clips/$c/GT" --y --json --threads "$THREADS" |
                /usr/bin/python3 -c '
import json, sys
j = json.load(sys.stdin)
print(json.dumps({"run": sys.argv[1], "clip": sys.argv[2], "psnr": j["mean"]["psnr"], "ssim": j["mean"]["ssim"]}))' \
                    "$run" "$c" >> "$f"
        done
    done
}

stage_summary() {
    /usr/bin/python3 bench/prune_arms_summary.py "$OUT" "$TF_W"
}

main() {
    local stages=("$@") st
    [ ${#stages[@]} -gt 0 ] || stages=(prepare tf runs eval drift summary)
    for st in "${stages[@]}"; do
        case $st in
            prepare|tf|runs|eval|drift|summary) echo "== $st ($(date +%T))" >&2; "stage_$st" ;;
            *) echo "prune_arms.sh: unknown stage $st" >&2; exit 2 ;;
        esac
    done
}

# one line: bash has read all of it before running any of it, so editing this file cannot derail a run
main "$@"; exit $?
