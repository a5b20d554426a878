#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0 (LICENSE)
# results.sh: the README's results table, measured on this machine in one run.
#
#   bench/results.sh            (after `make`; needs /usr/bin/python3 with torch: tools/install-deps.sh --bench)
#
# For bicubic, the shipped dense model and the shipped SSL-pruned model (models/, fp16 storage):
#   - PSNR / SSIM (Y, BT.601; BasicSR's protocol, no border crop) on the held-out test clip with camera and
#     object motion ../shared/data/test/davis-selfie (68 frames of 854x480 cut to 852x480, its LR made here
#     by MATLAB-exact bicubic x4) and on ../shared/data/val/temple (GT 1200x800, its BIx4 LR 300x200, 31
#     frames, a slow camera pan: secondary): `slimvsr eval --y`
#   - parameters and FLOPs per frame at 180x320 with and without SPyNet: `slimvsr info --json`
#   - seconds per frame at 180x320: wall time of `slimvsr upscale` (whole process: load, 10 frames, PNG
#     output) on bench/work/clip_10x180x320, 2 threads, the best of REPEAT runs
# and, next to them, PyTorch (Debian's python3-torch, bench/basicvsr_ref.py) running the same dense network:
#   its seconds per frame on the same clip (one timed pass, model loaded, glibc malloc tuned as in
#   bench/run.sh: its best configuration here), and its Temple output compared with slimvsr's (worst
#   frame PSNR of one against the other: the same network gives the same frames).
# When the fp32 models the shipped files were made from are present (FP32_DENSE, FP32_PRUNED; default
# tools/train-default-model.sh's $RUNS/dense/model.safetensors and $RUNS/pruned/model.safetensors), they are
# measured too: what fp16 storage costs.
# Prints a Markdown table; also writes it to bench/work/results.md.
# Environment: SLIMVSR (binary), MODELS (folder of the shipped models, default models/), RUNS, FP32_DENSE,
# FP32_PRUNED, TEMPLE, DAVIS, REPEAT (timed runs per number, default 2; the best is kept).
set -euo pipefail
# conv backends: the fixed rule unless SLIMVSR_WISDOM names a wisdom file (measured per shape, ops/tune.h;
# fill it with one untimed run first)
export SLIMVSR_WISDOM=${SLIMVSR_WISDOM:-off}
cd "$(dirname "$0")/.."
S=${SLIMVSR:-build/slimvsr}
PY=/usr/bin/python3
TEMPLE=${TEMPLE:-../shared/data/val/temple}
DAVIS=${DAVIS:-../shared/data/test/davis-selfie}
RUNS=${RUNS:-bench/work/default-model}
FP32_DENSE=${FP32_DENSE:-$RUNS/dense/model.safetensors}
FP32_PRUNED=${FP32_PRUNED:-$RUNS/pruned/model.safetensors}
MODELS=$(realpath "${MODELS:-models}")   # the folder of the shipped models
export SLIMVSR_MODELS=$MODELS
REPEAT=${REPEAT:-2}
W=bench/work/results
CLIP=bench/work/clip_10x180x320
export OMP_WAIT_POLICY=passive
GLIBC_TUNED=(MALLOC_MMAP_THRESHOLD_=4294967296 MALLOC_TRIM_THRESHOLD_=68719476736 MALLOC_TOP_PAD_=1073741824
             MALLOC_ARENA_MAX=2)
mkdir -p "$W"
[ -d "$CLIP" ] || "$PY" bench/make_clip.py "$CLIP" --frames 10 --height 180 --width 320 >/dev/null
FT=build/tests/tools/frametool
. bench/clips.sh
bench_clip "$W/davis-selfie" "$DAVIS"

wall() {  # wall CMD...: prints the best wall time in seconds of REPEAT runs of CMD
    local best=
    for _ in $(seq "$REPEAT"); do
        /usr/bin/time -f %e -o "$W/time.txt" "$@" >/dev/null 2>&1
        best=$(awk -v a="${best:-1e9}" -v b="$(cat "$W/time.txt")" 'BEGIN { print (b < a ? b : a) }')
    done
    echo "$best"
}

quality() {  # quality MODEL: "PSNR / SSIM | PSNR / SSIM" (Y) on davis-selfie, then Temple
    echo "$(bench_quality "$1" "$W/davis-selfie") | $(bench_quality "$1" "$TEMPLE")"
}

info() {  # info MODEL: "params params_no_spynet gflops gflops_no_spynet" at 180x320
    "$S" info --json "$1" | "$PY" -c "
import json,sys; j=json.load(sys.stdin)
print(j['params'], j['params'] - j['params_spynet'], '%.1f' % (j['flops'] / 1e9), '%.1f' % ((j['flops'] - j['flops_spynet']) / 1e9))"
}

rows=()
for m in bicubic dense ssl; do
    q=$(quality "$m")
    t=$(wall "$S" upscale -q -y -m "$m" --threads 2 "$CLIP" "$W/out_$m")
    spf=$(awk -v t="$t" 'BEGIN { printf "%.3f", t / 10 }')
    if [ "$m" = bicubic ]; then
        rows+=("| bicubic (MATLAB imresize) | 0 | 0 | | $q | $spf |")
    else
        read -r p pn f fn < <(info "$m")
        mb=$(awk -v b="$(stat -c %s "$MODELS/basicvsr-$m.safetensors")" 'BEGIN { printf "%.1f", b / 1e6 }')
        rows+=("| slimvsr $m | $pn ($p) | $fn ($f) | $mb | $q | $spf |")
    fi
done
for r in dense pruned; do
    f=$FP32_DENSE
    [ "$r" = pruned ] && f=$FP32_PRUNED
    [ -e "$f" ] || continue
    q=$(quality "$f")
    mb=$(awk -v b="$(stat -c %s "$f")" 'BEGIN { printf "%.1f", b / 1e6 }')
    rows+=("| $r in fp32 (before fp16 storage) | | | $mb | $q | |")
done

# PyTorch: the same dense network
"$PY" bench/safetensors_to_pth.py "$MODELS/basicvsr-dense.safetensors" "$W/dense.pth"
best=
for _ in $(seq "$REPEAT"); do
    r=$(env "${GLIBC_TUNED[@]}" "$PY" bench/torch_upscale.py -m "$W/dense.pth" "$CLIP" --threads 2 | sed -n 's/^RESULT //p')
    s=$(echo "$r" | tr ' ' '\n' | sed -n 's/^per_frame_s=//p')
    best=$(awk -v a="${best:-1e9}" -v b="$s" 'BEGIN { print (b < a ? b : a) }')
done
env "${GLIBC_TUNED[@]}" "$PY" bench/torch_upscale.py -m "$W/dense.pth" "$TEMPLE/BIx4" --threads 2 --out "$W/torch_temple" >/dev/null
"$S" upscale -q -y -m dense --threads 2 "$TEMPLE/BIx4" "$W/slimvsr_temple"
read -r agree n < <(build/tests/tools/frametool psnr "$W/torch_temple" "$W/slimvsr_temple")
rows+=("| PyTorch $("$PY" -c 'import torch; print(torch.__version__)'), the same dense network | | | | | its Temple frames vs slimvsr's: worst $agree dB | $(printf '%.3f' "$best") |")

{
    echo "| model | parameters without SPyNet (with) | GFLOPs/frame at 180x320 without SPyNet (with) | file MB | davis-selfie PSNR / SSIM (Y, test, motion) | Temple PSNR / SSIM (Y) | s/frame at 180x320, 2 threads |"
    echo "|---|---:|---:|---:|---:|---:|---:|"
    printf '%s\n' "${rows[@]}"
    echo
    echo "Measured $(date -u +%Y-%m-%d) by bench/results.sh on $(nproc) cores of $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')."
} | tee bench/work/results.md
