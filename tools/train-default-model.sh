#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0 (LICENSE)
# train-default-model.sh: how the shipped models in models/ were made, end to end, with slimvsr itself.
#
#   tools/train-default-model.sh [STAGE ...]    stages (default: all, in this order):
#     data    the training videos from Debian (tools/fetch-train-data.sh) and the held-out check set:
#             frames 100-107 of cockatoo.mp4 (named 0-7) (never trained on), GT 1280x720 + MATLAB-bicubic LR
#     flow    SPyNet pretraining (slimvsr train-flow) from a random FEAT x BLOCKS model with zeroed flow
#             heads, so that VSR training starts from small smooth flows instead of a random SPyNet's
#     dense   the dense model: slimvsr train --init flow/model.safetensors, DENSE_ITERS iterations
#     prune   its SSL-pruned sibling: slimvsr prune --flops PRUNE_FLOPS --round 8
#     ship    both stored as fp16 (slimvsr convert --fp16) in models/
# A finished stage is skipped; a stopped stage resumes (the runs checkpoint). Wall and CPU times land in
# $OUT/times.txt. Training data: the Vimeo-90K septuplets of ../shared/data/train (Vimeo-90K is public) and
# the Debian videos; ../shared/data/val (Temple) is never used here: it is the test set of
# bench/results.sh.
# Environment: SLIMVSR (binary, default build/slimvsr), OUT (default bench/work/default-model), VIMEO,
# THREADS (default 2), FEAT, BLOCKS, FLOW_ITERS, DENSE_ITERS, SP_ITERS, FT_ITERS, PRUNE_FLOPS.
set -euo pipefail
cd "$(dirname "$0")/.."
S=${SLIMVSR:-build/slimvsr}
FT=build/tests/tools/frametool
OUT=${OUT:-bench/work/default-model}
VIMEO=${VIMEO:-../shared/data/train/vimeo90k-septuplets}
VIDEOS=data/videos
THREADS=${THREADS:-2}
FEAT=${FEAT:-48}
BLOCKS=${BLOCKS:-8}
FLOW_ITERS=${FLOW_ITERS:-300}
DENSE_ITERS=${DENSE_ITERS:-800}
SP_ITERS=${SP_ITERS:-150}
FT_ITERS=${FT_ITERS:-150}
PRUNE_FLOPS=${PRUNE_FLOPS:-0.5}
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive}
DATA=(--data "$VIMEO" --data "$VIDEOS")
STEP=(--batch 2 --seq 7 --patch 48)

. tools/resumable.sh  # timed, resumable

stage_flow() {
    resumable flow train-flow "$OUT/flow" "${DATA[@]}" --feat "$FEAT" --blocks "$BLOCKS" --seed 1 \
        --iters "$FLOW_ITERS" --batch 4 --seq 2 --patch 48
}

stage_dense() {
    resumable dense train "$OUT/dense" --init "$OUT/flow/model.safetensors" "${DATA[@]}" --val "$OUT/check" \
        --seed 1 --iters "$DENSE_ITERS" --lr 4e-4 "${STEP[@]}" --val-every 250 --log-every 10
}

stage_prune() {
    [ -e "$OUT/pruned/summary.json" ] && return 0
    if [ -e "$OUT/pruned/prune.json" ]; then
        timed prune "$S" prune --out "$OUT/pruned" --resume --threads "$THREADS" -q
    else
        # the sparsity schedule compressed to SP_ITERS as in docs/pruning-results.md
        timed prune "$S" prune -m "$OUT/dense/model.safetensors" "${DATA[@]}" --val "$OUT/check" \
            --out "$OUT/pruned" --flops "$PRUNE_FLOPS" --round 8 --sparsity-iters "$SP_ITERS" \
            --finetune-iters "$FT_ITERS" --scale-lr-mult 50 --lambda-step 1e-3 "${STEP[@]}" \
            --seed 2 --val-every 100 --log-every 1 --threads "$THREADS" -q
    fi
}

stage_ship() {
    mkdir -p models
    "$S" convert -y --fp16 "$OUT/dense/model.safetensors" models/basicvsr-dense.safetensors
    "$S" convert -y --fp16 "$OUT/pruned/model.safetensors" models/basicvsr-ssl.safetensors
    ls -l models
}

main() {
    mkdir -p "$OUT"
    local stages=("$@")
    [ ${#stages[@]} -gt 0 ] || stages=(data flow dense prune ship)
    for s in "${stages[@]}"; do
        echo "train-default-model: stage $s ($(date -u +%H:%M:%S))" >&2
        "stage_$s"
    done
}

# one line: bash has read all of it before running any of it, so editing this file cannot derail a run
main "$@"; exit $?
