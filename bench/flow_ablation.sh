#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0 (LICENSE)
# flow_ablation.sh: does alignment help? Issue 16 item 3: the same BasicVSR trained with the same budget,
# data, seed and schedule three ways, then measured on clips with motion.
#
#   bench/flow_ablation.sh FLOW_MODEL [STAGE ...]    stages: prepare learned zero scratch summary
#                                                    (default: all, in that order)
# FLOW_MODEL: a model whose SPyNet was trained on motion (`train-flow --supervised` run's model.safetensors).
# Arms (each its own run folder under OUT; a finished one is skipped, a stopped one resumed):
#   learned  SPyNet from FLOW_MODEL (`train --spynet`), frozen for FREEZE iterations, then fine-tuned at
#            lr x 0.125 (as BasicSR does)
#   zero     `--flow zero`: no alignment, SPyNet never runs (the same random trunk and reconstruction)
#   scratch  the random model's own SPyNet, trained end to end from the start (what slimvsr did before)
# Data: the training clips of DATA/train (Vimeo-90K septuplets, the 26 DAVIS triplets, sam2-bedroom,
# cutie-bike; LR made on the fly, MATLAB bicubic x4); validation while training on the first VAL_FRAMES
# frames of DATA/val/cutie-judo (real motion; choices are made on it). summary: PSNR/SSIM (Y) of every arm
# and of bicubic on cutie-judo (all 16 frames), Temple and cockatoo frames 100-107 (never trained on); with
# TEST=1 also on DATA/test/davis-selfie (report only, choose nothing on it).
#
# Environment: SLIMVSR (default build/slimvsr), FRAMETOOL (default build/tests/tools/frametool),
# DATA (default ../shared/data), OUT (default bench/work/flow-ablation), FEAT (32), BLOCKS (10),
# ITERS (1000; about 4.5 s a step for the learned arm at the defaults, 2 threads, Zen 4),
# FREEZE (ITERS/4), SEQ (5: the 3-frame triplets need mirroring), PATCH (64), BATCH (4),
# THREADS (2), SEED (1), VAL_FRAMES (8), TEST (0).
set -euo pipefail
export SLIMVSR_WISDOM=${SLIMVSR_WISDOM:-off}
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive}
cd "$(dirname "$0")/.."
[ $# -ge 1 ] || { echo "usage: bench/flow_ablation.sh FLOW_MODEL [prepare|learned|zero|scratch|summary ...]" >&2; exit 2; }
FLOW=$(realpath "$1"); shift
S=${SLIMVSR:-build/slimvsr}
FT=${FRAMETOOL:-build/tests/tools/frametool}
DATA=${DATA:-../shared/data}
OUT=${OUT:-bench/work/flow-ablation}
FEAT=${FEAT:-32}; BLOCKS=${BLOCKS:-10}; ITERS=${ITERS:-1000}; FREEZE=${FREEZE:-$((ITERS / 4))}
SEQ=${SEQ:-5}; PATCH=${PATCH:-64}; BATCH=${BATCH:-4}; THREADS=${THREADS:-2}; SEED=${SEED:-1}
VAL_FRAMES=${VAL_FRAMES:-8}; TEST=${TEST:-0}
mkdir -p "$OUT"

. bench/clips.sh
clip() { bench_clip "$OUT/clips/$1" "$2"; }  # clip NAME SRC: $OUT/clips/NAME/{GT,BIx4}

stage_prepare() {
    clip cutie-judo "$DATA/val/cutie-judo"
    [ -e "$OUT/clips/temple" ] || ln -s "$(realpath "$DATA/val/temple")" "$OUT/clips/temple"  # GT/ and BIx4/
    [ "$TEST" = 1 ] && clip davis-selfie "$DATA/test/davis-selfie"
    bench_cockatoo "$OUT/clips/cockatoo"
    return 0
}

TRAIN=(--data "$DATA/train/vimeo90k-septuplets" --data "$DATA/train/davis-triplets" --data "$DATA/train/sam2-bedroom"
       --data "$DATA/train/cutie-bike")
VSR=("${TRAIN[@]}" --val "$OUT/clips/cutie-judo" --val-frames "$VAL_FRAMES" --feat "$FEAT" --blocks "$BLOCKS"
     --seed "$SEED" --iters "$ITERS" --batch "$BATCH" --seq "$SEQ" --patch "$PATCH" --val-every 250 --log-every 10
     --threads "$THREADS" -q)

arm() {  # arm NAME [options]: trains (or resumes) one arm; /usr/bin/time appends to $OUT/times.txt
    local name=$1 dir=$OUT/$1; shift
    [ -e "$dir/model.safetensors" ] && [ ! -e "$dir.running" ] && return 0
    touch "$dir.running"
    if [ -e "$dir/state.safetensors" ]; then
        /usr/bin/time -f "$name %e %U %S" -a -o "$OUT/times.txt" "$S" train --out "$dir" --resume --threads "$THREADS" -q
    else
        /usr/bin/time -f "$name %e %U %S" -a -o "$OUT/times.txt" "$S" train "${VSR[@]}" --out "$dir" "$@"
    fi
    # a run stopped by Ctrl-C or SIGTERM exits 0 with a checkpoint: still unfinished
    /usr/bin/python3 bench/run_finished.py "$dir" || { echo "$name stopped before its last iteration" >&2; return 1; }
    rm -f "$dir.running"
}

stage_learned() { arm learned --spynet "$FLOW" --spynet-freeze "$FREEZE"; }
stage_zero() { arm zero --flow zero; }
stage_scratch() { arm scratch; }

stage_summary() {
    local clips=(cutie-judo temple cockatoo)
    [ "$TEST" = 1 ] && clips+=(davis-selfie)
    echo "| model | $(printf '%s PSNR/SSIM (Y) | ' "${clips[@]}")"
    echo "|---|$(printf -- '---:|%.0s' "${clips[@]}")"
    for m in bicubic learned zero scratch; do
        local model=$m
        if [ "$m" != bicubic ]; then
            model=$OUT/$m/best.safetensors
            [ -e "$model" ] || model=$OUT/$m/model.safetensors
            [ -e "$model" ] || continue
        fi
        local row="| $m |"
        for c in "${clips[@]}"; do row+=" $(bench_quality "$model" "$OUT/clips/$c") |"; done
        echo "$row"
    done
    [ -e "$OUT/times.txt" ] && { echo; echo "times (wall s, user s, sys s): $(tr '\n' ';' < "$OUT/times.txt")"; }
    return 0
}

main() {
    local stages=("$@")
    [ ${#stages[@]} -gt 0 ] || stages=(prepare learned zero scratch summary)
    for s in "${stages[@]}"; do "stage_$s"; done
}

# one line: bash has read all of it before running any of it, so editing this file cannot derail a run
main "$@"; exit $?
