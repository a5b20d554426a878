#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0 (LICENSE)
# train-motion-models.sh: the shipped models remade with a SPyNet that aligns (issue 16, item 5), end to end
# with slimvsr itself. When its models replace models/, it replaces tools/train-default-model.sh (which made
# the models shipped now, whose SPyNet does not align: docs/default-model.md).
#
#   tools/train-motion-models.sh [STAGE ...]    stages (default: all, in this order):
#     data    the Debian training videos (tools/fetch-train-data.sh); the validation clip cutie-judo (first
#             VAL_FRAMES frames: best.safetensors is chosen on it); the report clips: davis-selfie (test),
#             cockatoo frames 100-107 (never trained on), Temple (static, secondary); GT cut to a multiple
#             of 4, LR by MATLAB-exact bicubic x4
#     flow    SPyNet trained supervised on synthetic motion of known flow, two stages as in
#             docs/flow-pretraining.md ("A third run"); skipped when FLOW_MODEL names such a model
#     dense   the dense model: a random FEAT x BLOCKS BasicVSR with that SPyNet (`train --spynet`, frozen
#             for FREEZE iterations, then at lr x 0.125), DENSE_ITERS iterations on the training clips of
#             DATA/train, the Debian videos and synthetic motion from DATA/photos (`--photos`)
#     prune   its SSL-pruned sibling: slimvsr prune --flops PRUNE_FLOPS --round 8, the same data
#     ship    both stored as fp16 (slimvsr convert --fp16) in models/
#     report  PSNR/SSIM (Y) of bicubic, dense and pruned on every report clip: a markdown table on stdout
# A finished stage is skipped; a stopped one resumes from its last checkpoint (every run checkpoints every
# 250 iterations or less, so a lost run folder costs at most that). Wall and CPU times land in
# $OUT/times.txt. Choices (iterations, learning rate, checkpoints kept) are made on cutie-judo only.
# Environment: SLIMVSR (default build/slimvsr), FRAMETOOL (default build/tests/tools/frametool), DATA
# (default ../shared/data), OUT (default bench/work/motion-models), FLOW_MODEL, THREADS (2), FEAT (48),
# BLOCKS (8), DENSE_ITERS (6000), FREEZE (1000), SP_ITERS (500), FT_ITERS (1000), PRUNE_FLOPS (0.5),
# PHOTO_SHARE (0.25), VAL_FRAMES (8).
set -euo pipefail
cd "$(dirname "$0")/.."
S=${SLIMVSR:-build/slimvsr}
FT=${FRAMETOOL:-build/tests/tools/frametool}
DATA=${DATA:-../shared/data}
OUT=${OUT:-bench/work/motion-models}
VIDEOS=data/videos
THREADS=${THREADS:-2}
FEAT=${FEAT:-48}; BLOCKS=${BLOCKS:-8}
DENSE_ITERS=${DENSE_ITERS:-6000}; FREEZE=${FREEZE:-1000}
SP_ITERS=${SP_ITERS:-500}; FT_ITERS=${FT_ITERS:-1000}; PRUNE_FLOPS=${PRUNE_FLOPS:-0.5}
PHOTO_SHARE=${PHOTO_SHARE:-0.25}; VAL_FRAMES=${VAL_FRAMES:-8}
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive} SLIMVSR_WISDOM=${SLIMVSR_WISDOM:-off}
# seq 6: the 3-frame DAVIS triplets, mirrored, give 6 frames (seq 7 would leave them out). tree.avi
# (320x240) is smaller than the GT patch (256x256). --clip-weight sqrt: by windows, vtest.avi (795 frames
# of a still surveillance camera) would give 64% of the clip samples and the 26 DAVIS triplets (real camera
# and object motion) 2%; by the square root of the windows vtest gets 26%, DAVIS 24%, Vimeo 21%,
# sam2-bedroom and cityCC0 13% each (47 clips, 1382 frames, 1.9 GB in memory).
TRAIN=(--data "$DATA/train/vimeo90k-septuplets" --data "$DATA/train/davis-triplets" --data "$DATA/train/sam2-bedroom"
       --data "$DATA/train/cutie-bike" --data "$DATA/train/unimatch-davis"
       --data "$VIDEOS/vtest.avi" --data "$VIDEOS/cityCC0.mpg"
       --clip-weight sqrt --photos "$DATA/photos" --photo-share "$PHOTO_SHARE")
STEP=(--batch 2 --seq 6 --patch 64)
VAL=(--val "$OUT/clips/cutie-judo" --val-frames "$VAL_FRAMES")
FLOW=${FLOW_MODEL:-$OUT/flow2/model.safetensors}

. bench/clips.sh

. tools/resumable.sh  # timed, resumable

stage_data() {
    tools/fetch-train-data.sh "$VIDEOS" >/dev/null
    bench_clip "$OUT/clips/cutie-judo" "$DATA/val/cutie-judo"
    bench_clip "$OUT/clips/davis-selfie" "$DATA/test/davis-selfie"
    [ -e "$OUT/clips/temple" ] || ln -s "$(realpath "$DATA/val/temple")" "$OUT/clips/temple"  # GT/ and BIx4/
    bench_cockatoo "$OUT/clips/cockatoo"
}

stage_flow() {
    [ -n "${FLOW_MODEL:-}" ] && return 0
    resumable flow1 train-flow "$OUT/flow1" --supervised --photos "$DATA/photos" --patch 64 --batch 16 --seq 3 \
        --group 64 --iters 5000 --lr 1e-3 --level-weight 1 --checkpoint-every 250 --eval-pairs 128
    resumable flow2 train-flow "$OUT/flow2" --supervised --photos "$DATA/photos" --init "$OUT/flow1/model.safetensors" \
        --patch 64 --batch 16 --seq 3 --group 64 --iters 400 --lr 2e-4 --static-share 0.2 --checkpoint-every 100 \
        --eval-pairs 128
}

stage_dense() {
    resumable dense train "$OUT/dense" "${TRAIN[@]}" "${VAL[@]}" --feat "$FEAT" --blocks "$BLOCKS" --spynet "$FLOW" \
        --spynet-freeze "$FREEZE" --seed 1 --iters "$DENSE_ITERS" --lr 2e-4 "${STEP[@]}" --val-every 250 --log-every 10
}

stage_prune() {
    [ -e "$OUT/pruned/summary.json" ] && return 0
    if [ -e "$OUT/pruned/prune.json" ]; then
        timed prune "$S" prune --out "$OUT/pruned" --resume --threads "$THREADS" -q
    else
        timed prune "$S" prune -m "$OUT/dense/best.safetensors" "${TRAIN[@]}" "${VAL[@]}" --out "$OUT/pruned" \
            --flops "$PRUNE_FLOPS" --round 8 --sparsity-iters "$SP_ITERS" --finetune-iters "$FT_ITERS" \
            --scale-lr-mult 50 --lambda-step 1e-3 "${STEP[@]}" --seed 2 --val-every 250 --log-every 10 \
            --threads "$THREADS" -q
    fi
}

stage_ship() {
    mkdir -p models
    "$S" convert -y --fp16 "$OUT/dense/best.safetensors" models/basicvsr-dense.safetensors
    "$S" convert -y --fp16 "$OUT/pruned/model.safetensors" models/basicvsr-ssl.safetensors
    ls -l models
}

stage_report() {
    local clips=(davis-selfie cockatoo temple cutie-judo)
    echo "| model | davis-selfie (test) | cockatoo 100-107 | Temple | cutie-judo (validation) |"
    echo "|---|---:|---:|---:|---:|"
    local name m
    for name in bicubic dense pruned; do
        case $name in
            bicubic) m=bicubic ;;
            dense) m=$OUT/dense/best.safetensors ;;
            pruned) m=$OUT/pruned/model.safetensors ;;
        esac
        [ "$m" = bicubic ] || [ -e "$m" ] || continue
        local row="| $name |"
        for c in "${clips[@]}"; do row+=" $(bench_quality "$m" "$OUT/clips/$c") |"; done
        echo "$row"
    done
}

main() {
    mkdir -p "$OUT"
    local stages=("$@")
    [ ${#stages[@]} -gt 0 ] || stages=(data flow dense prune ship report)
    for s in "${stages[@]}"; do
        echo "train-motion-models: stage $s ($(date -u +%H:%M:%S))" >&2
        "stage_$s"
    done
}

# one line: bash has read all of it before running any of it, so editing this file cannot derail a run
main "$@"; exit $?
