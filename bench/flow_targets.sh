#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0 (LICENSE)
# flow_targets.sh: issue 16's flow targets for one or more models, in one table.
#
#   bench/flow_targets.sh [--test] MODEL [MODEL ...]
#
# For each MODEL (a model file; every row also shows the zero flow's numbers):
#   - held-out synthetic pairs: the end-point error (px) of its flow on EVAL_PAIRS pairs of 64 x 64 rendered
#     from the held-out photos (every 8th photo of PHOTOS, never trained on; `train-flow --eval --photos`),
#     against the zero flow's. Target: <= 0.5 px.
#   - real LR clips: the photometric error of its flow over every ordered neighbour pair of whole LR frames,
#     against the zero flow and the best single translation per pair (`train-flow --eval --data`), and the
#     share of the translation's gain that the flow gets. Target: at least half of it on clips with motion,
#     more than all of it on clips with non-rigid motion. The clips: the validation clip val/cutie-judo
#     (static camera, people moving: the translation gains nothing, so only a flow that follows them can),
#     and training clips that no flow training reads (train-flow --supervised reads photos only): the first
#     16 frames of sam2-bedroom (hand-held camera), cutie-bike (4 frames) and the 26 davis-triplets (3
#     frames each: dancers, boxers, animals, vehicles: non-rigid motion). With --test, also the first 16
#     frames of test/davis-selfie: report on it, choose nothing on it.
#   - still: the mean |flow| (px) on four identical copies of cutie-judo's first LR frame, where the true
#     flow is exactly 0 (a still camera over a still scene).
# LR frames are made once with frametool's MATLAB-bicubic x4 (cached under WORK).
#
# Environment: SLIMVSR (default build/slimvsr), FRAMETOOL (default build/tests/tools/frametool),
# DATA (default ../shared/data), PHOTOS (default $DATA/photos), WORK (default bench/work/flow-targets),
# EVAL_PAIRS (default 256), THREADS (default 2), SEED (the held-out draw, default 0).
set -euo pipefail
export SLIMVSR_WISDOM=${SLIMVSR_WISDOM:-off}
cd "$(dirname "$0")/.."
S=${SLIMVSR:-build/slimvsr}
FT=${FRAMETOOL:-build/tests/tools/frametool}
DATA=${DATA:-../shared/data}
PHOTOS=${PHOTOS:-$DATA/photos}
WORK=${WORK:-bench/work/flow-targets}
EVAL_PAIRS=${EVAL_PAIRS:-256}
THREADS=${THREADS:-2}
SEED=${SEED:-0}
TEST=0
if [ "${1:-}" = "--test" ]; then TEST=1; shift; fi
[ $# -ge 1 ] || { echo "usage: bench/flow_targets.sh [--test] MODEL [MODEL ...]" >&2; exit 2; }

# lr NAME SRC_DIR N: the first N frames of SRC_DIR (PNG or JPEG), degraded to LR, in $WORK/lr/NAME
lr() {
    local name=$1 src=$2 n=$3 dst=$WORK/lr/$1
    [ -d "$dst" ] && return 0
    local hr=$WORK/hr/$name
    rm -rf "$hr" && mkdir -p "$hr" "$(dirname "$dst")"
    local f
    for f in $(ls "$src" | grep -iE '\.(png|jpe?g)$' | sort | head -n "$n"); do ln -s "$(realpath "$src/$f")" "$hr/$f"; done
    "$FT" degrade "$hr" "$dst.tmp" bi > /dev/null
    mv "$dst.tmp" "$dst"
}
mkdir -p "$WORK/lr"
CLIPS=(cutie-judo bedroom bike davis-triplets)
lr cutie-judo "$DATA/val/cutie-judo" 16
lr bedroom "$DATA/train/sam2-bedroom" 16
lr bike "$DATA/train/cutie-bike" 16
for d in "$DATA/train/davis-triplets"/*/; do lr "davis-triplets/$(basename "$d")" "$d" 3; done
still=$WORK/lr/still
if [ ! -d "$still" ]; then
    mkdir -p "$still.tmp"
    for i in 0 1 2 3; do cp "$WORK/lr/cutie-judo/$(ls "$WORK/lr/cutie-judo" | head -n 1)" "$still.tmp/0000000$i.png"; done
    mv "$still.tmp" "$still"
fi
if [ $TEST = 1 ]; then lr davis-selfie "$DATA/test/davis-selfie" 16; CLIPS+=(davis-selfie); fi

echo "| model | held-out EPE (px) | zero flow | $(printf '%s (flow / zero / translation, share) | ' "${CLIPS[@]}")still: mean |flow| (px) |"
echo "|---|---:|---:|$(printf -- '---|%.0s' "${CLIPS[@]}")---:|"
for m in "$@"; do
    mopt=(-m "$m")
    syn=$("$S" train-flow --eval "${mopt[@]}" --photos "$PHOTOS" --patch 64 --eval-pairs "$EVAL_PAIRS" --seed "$SEED" \
          --threads "$THREADS" --json)
    row="| $m | $(echo "$syn" | python3 -c 'import json,sys; j=json.load(sys.stdin); print("%.3f | %.3f" % (j["epe"], j["epe_zero"]))') |"
    for c in "${CLIPS[@]}"; do
        r=$("$S" train-flow --eval "${mopt[@]}" --data "$WORK/lr/$c" --threads "$THREADS" --json)
        row+=$(echo "$r" | python3 -c 'import json,sys
j=json.load(sys.stdin); z, f, t = j["photo_zero"], j["photo_model"], j["photo_translation"]
share = "%.0f%%" % (100 * (z - f) / (z - t)) if z - t > 1e-9 else ("better than zero" if f < z else "worse than zero")
print(" %.5f / %.5f / %.5f, %s |" % (f, z, t, share))')
    done
    row+=$("$S" train-flow --eval "${mopt[@]}" --data "$still" --threads "$THREADS" --json |
           python3 -c 'import json,sys; print(" %.3f |" % json.load(sys.stdin)["flow_mag"])')
    echo "$row"
done
