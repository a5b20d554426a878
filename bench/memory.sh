#!/bin/bash
# SPDX-License-Identifier: Apache-2.0 (LICENSE)
# Peak memory and time per frame of `slimvsr upscale` by input size (issue 15, item 5).
#
#   bash bench/memory.sh [--frames N] [--sizes "180x320 720x1280 1080x1920"] [MODEL...]
#
# Cuts N frames (default 3) of ../shared/data/demo/reds-demo_000, scales them to each size with ffmpeg
# (bicubic) into bench/work/memory/, and runs `/usr/bin/time -v slimvsr upscale -q -m MODEL --chunk 1 CLIP
# OUT/` for each model (default: the shipped dense and ssl models and, when bench/pruned_speed.sh has made
# it, the dense 64x30 checkpoint). Prints per run the tile rows of the plan (--dry-run), the peak RSS, the
# bytes per input pixel (peak RSS / (H x W)), the seconds per frame (the stages of SLIMVSR_PROFILE=1 summed) and that time over
# the same model's time at the first size. Targets: at most 1.5 KB per input pixel, a 1280x720 frame in at
# most 3 GB, 1920x1080 in at most 6 GB, 1280x720 at most 20x the time of 180x320. Needs build/slimvsr
# ($SLIMVSR), ffmpeg and /usr/bin/time (Debian package `time`).
set -u -o pipefail
# conv backends: the fixed rule unless SLIMVSR_WISDOM names a wisdom file (measured per shape, ops/tune.h;
# fill it with one untimed run first)
export SLIMVSR_WISDOM=${SLIMVSR_WISDOM:-off}
cd "$(dirname "$0")/.."
FRAMES=3 SIZES="180x320 720x1280 1080x1920"
MODELS=()
while [ $# -gt 0 ]; do
    case "$1" in
        --frames) FRAMES=$2; shift 2 ;;
        --sizes) SIZES=$2; shift 2 ;;
        -h|--help) sed -n '3,15p' "$0"; exit 0 ;;
        -*) echo "memory.sh: unknown option $1" >&2; exit 2 ;;
        *) MODELS+=("$1"); shift ;;
    esac
done
SLIMVSR=${SLIMVSR:-build/slimvsr}
SRC=../shared/data/demo/reds-demo_000
[ -x "$SLIMVSR" ] || { echo "memory.sh: $SLIMVSR is missing: run make" >&2; exit 2; }
[ -d "$SRC" ] || { echo "memory.sh: $SRC is missing" >&2; exit 2; }
[ -x /usr/bin/time ] || { echo "memory.sh: /usr/bin/time is missing: apt-get install time" >&2; exit 2; }
if [ ${#MODELS[@]} -eq 0 ]; then
    MODELS=(models/basicvsr-dense.safetensors models/basicvsr-ssl.safetensors)
    [ -s bench/work/basicvsr_f64_b30_seed0.pth ] && MODELS+=(bench/work/basicvsr_f64_b30_seed0.pth)
fi
WORK=bench/work/memory
mkdir -p "$WORK"
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive}
for s in $SIZES; do
    h=${s%x*} w=${s#*x} clip=$WORK/clip-$s
    [ "$(ls "$clip" 2>/dev/null | wc -l)" = "$FRAMES" ] && continue
    rm -rf "$clip" && mkdir -p "$clip"
    for ((i = 0; i < FRAMES; i++)); do
        f=$(printf '%08d.png' "$i")
        ffmpeg -loglevel error -y -i "$SRC/$f" -vf "scale=$w:$h:flags=bicubic" "$clip/$f" \
            || { echo "memory.sh: ffmpeg failed on $SRC/$f" >&2; exit 2; }
    done
done
cpu=$(grep -m1 '^model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
isa=$(grep -m1 '^flags' /proc/cpuinfo | tr ' ' '\n' | grep -xE 'avx2|avx512f' | tr '\n' ' ')
echo "CPU: ${cpu:-unknown}; ISA: ${isa:-?}; $(nproc) cores; $FRAMES frames per clip, --chunk 1; $(date -u '+%Y-%m-%d %H:%M UTC')"
printf '%-40s %-10s %-12s %10s %9s %9s %8s\n' model input "tile rows" "peak RSS" "KB/px" "s/frame" "x first"
status=0
for m in "${MODELS[@]}"; do
    first=""
    for s in $SIZES; do
        h=${s%x*} w=${s#*x} clip=$WORK/clip-$s out=$WORK/out-$s
        rm -rf "$out"
        tiles=$("$SLIMVSR" upscale -q -m "$m" --chunk 1 --dry-run "$clip" "$out" 2>&1 | sed -n 's/.*tile rows[: ]*\([^,;]*\).*/\1/p' | head -1)
        if ! SLIMVSR_PROFILE=1 /usr/bin/time -v "$SLIMVSR" upscale -q -m "$m" --chunk 1 "$clip" "$out" \
            >"$WORK/run.log" 2>&1; then
            echo "memory.sh: slimvsr upscale failed on $m at $s:" >&2
            tail -3 "$WORK/run.log" >&2
            status=1
            continue
        fi
        kb=$(awk '/Maximum resident set size/ { print $NF }' "$WORK/run.log")
        # the stages of the profile line ("per frame: spynet X s, trunks Y s, ..."), summed
        spf=$(awk '/^profile:/ { t = 0; for (i = 1; i < NF; i++) if ($(i + 1) ~ /^s,?$/) t += $i; printf "%.3f", t }' \
            "$WORK/run.log")
        [ -z "$first" ] && first=$spf
        awk -v m="$(basename "$m")" -v s="$s" -v t="${tiles:-?}" -v kb="$kb" -v px=$((h * w)) -v spf="$spf" \
            -v first="$first" 'BEGIN {
                rss = kb >= 1048576 ? sprintf("%.2f GB", kb * 1024 / 1e9) : sprintf("%.0f MB", kb * 1024 / 1e6)
                ratio = (spf != "" && first != "" && first > 0) ? sprintf("%.1f", spf / first) : "?"
                printf "%-40s %-10s %-12s %10s %9.2f %9s %8s\n", m, s, t, rss, kb * 1024 / px / 1000, spf, ratio }'
        rm -rf "$out"
    done
done
exit $status
