#!/bin/bash
# SPDX-License-Identifier: Apache-2.0 (LICENSE)
# Issue 15 item 4: is every pruned model's wall-clock speed-up on the non-SPyNet part at least 0.8x its
# non-SPyNet FLOP reduction? Checks three models, each against its own dense model, in the same run:
#   (a) the shipped models/basicvsr-ssl.safetensors against models/basicvsr-dense.safetensors (48x8);
#   (b) a 64x30 model pruned by SSL with global selection at --ratio 0.5,
#   (c) the same at --flops 0.25, both against the dense 64x30 checkpoint they were pruned from;
#   (b8), (c8) the same two with `--round 8` (every layer keeps a multiple of 8 channels, as the shipped
#   ssl model does: the kernels compute in groups of 8 channels, so a layer that keeps 23 costs what 24 do);
#   (b16), (c16) with `--round 16`: the width of the AVX-512 kernels, whose 16-channel vectors cost a whole
#   vector for a part-filled group (on a CPU whose 512-bit units are full width, Zen 5, an 8-lane op costs
#   what a 16-lane one does).
#
#   bash bench/pruned_speed.sh [--repeat K] [--frames N] [--size HxW] [--threads T] [--data DIR]
#
# Run from anywhere after `make`. Everything it makes goes to bench/work/ (git-ignored), and is kept and
# reused: the dense checkpoint bench/work/basicvsr_f64_b30_seed0.pth (bench/make_checkpoint.py, as
# bench/run.sh makes it: needs /usr/bin/python3 with torch), and the six prune runs bench/work/pruned/RUN
# (model at RUN/model.safetensors; a run folder without it, left by an interrupted run, is removed and
# made again). The prune runs are short (2 sparsity and 2 finetuning iterations on --data, default
# ../shared/data/train): their weights are for timing only. Then bench/profile.sh runs twice, with
# --repeat K (default 3; the fastest run of each model is kept), --frames N (default 10), --size HxW
# (default 180x320) and --threads T (default 2): once with the dense 48x8 as baseline and the ssl model,
# once with the dense 64x30 as baseline and (b), (c), (b8), (c8), (b16), (c16). Prints both tables, the kept
# channels of the six (`slimvsr info`), and a summary line per model: non-SPyNet FLOP reduction, speed-up, their quotient,
# met or NOT met. The time is that of the whole runner (every layer group, the work between the convs
# included), less the spynet group. One benchmark at a time: it takes bench/work/.lock, as run.sh does.
# Exit status 0 when everything ran (whether or not the targets are met), 1 when a slimvsr run failed,
# 2 on a setup error (no binary, no data, no torch). Environment: SLIMVSR (binary, default build/slimvsr),
# PYTHON (default /usr/bin/python3).
set -u -o pipefail
# conv backends: the fixed rule unless SLIMVSR_WISDOM names a wisdom file (measured per shape, ops/tune.h;
# fill it with one untimed run first)
export SLIMVSR_WISDOM=${SLIMVSR_WISDOM:-off}
cd "$(dirname "$0")/.." || exit 2
REPEAT=3 FRAMES=10 SIZE=180x320 THREADS=2 DATA=../shared/data/train
while [ $# -gt 0 ]; do
    case "$1" in
        --repeat) REPEAT=$2; shift 2 ;;
        --frames) FRAMES=$2; shift 2 ;;
        --size) SIZE=$2; shift 2 ;;
        --threads) THREADS=$2; shift 2 ;;
        --data) DATA=$2; shift 2 ;;
        -h|--help) sed -n '3,25p' "$0"; exit 0 ;;
        *) echo "pruned_speed.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
    esac
done

die() { echo "pruned_speed.sh: $*" >&2; exit 2; }
export SLIMVSR=${SLIMVSR:-build/slimvsr}
PY=${PYTHON:-/usr/bin/python3}
WORK=bench/work
CKPT=$WORK/basicvsr_f64_b30_seed0.pth
PRUNED=$WORK/pruned
RUN_B=$PRUNED/f64b30-ratio0.5
RUN_C=$PRUNED/f64b30-flops0.25
RUN_B8=$PRUNED/f64b30-ratio0.5-round8
RUN_C8=$PRUNED/f64b30-flops0.25-round8
RUN_B16=$PRUNED/f64b30-ratio0.5-round16
RUN_C16=$PRUNED/f64b30-flops0.25-round16
DENSE48=models/basicvsr-dense.safetensors
SSL48=models/basicvsr-ssl.safetensors
[ -x "$SLIMVSR" ] || die "$SLIMVSR is missing: run make"
for m in "$DENSE48" "$SSL48"; do [ -f "$m" ] || die "no model file $m"; done
mkdir -p "$WORK" || die "cannot make $WORK"

# One benchmark at a time (the same lock as bench/run.sh): two would slow each other down.
exec 9> "$WORK/.lock"
if ! flock -n 9; then
    echo "pruned_speed.sh: another benchmark holds $WORK/.lock; waiting for it to finish" >&2
    flock 9 || die "cannot lock $WORK/.lock"
fi
echo "== setup ($(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg))"

# The dense 64x30 checkpoint, as bench/run.sh makes it (written under its own name in a temporary folder,
# then moved, so that an interrupted run leaves no truncated checkpoint behind).
if [ ! -s "$CKPT" ]; then
    "$PY" -c 'import torch' 2>/dev/null \
        || die "$PY cannot import torch: apt-get install python3-torch (Debian's PyTorch)"
    tmp=$WORK/.ckpt-tmp
    rm -rf "$tmp"
    mkdir -p "$tmp" || die "cannot make $tmp"
    if ! "$PY" bench/make_checkpoint.py --feat 64 --blocks 30 --seed 0 "$tmp/$(basename "$CKPT")" \
        || ! mv "$tmp/$(basename "$CKPT")" "$CKPT"; then
        rm -rf "$tmp"
        die "make_checkpoint.py failed"
    fi
    rm -rf "$tmp"
else
    echo "dense 64x30: $CKPT (kept from an earlier run)"
fi

# The six pruned models. A run folder without model.safetensors was left by an interrupted run: it is
# removed (only that folder, under bench/work/pruned/) and made again.
FAILED=0
prune_run() {  # prune_run RUN OPTION VALUE
    local run=$1; shift
    case "$run" in "$PRUNED"/?*) ;; *) die "internal error: $run is not under $PRUNED" ;; esac
    if [ -f "$run/model.safetensors" ]; then
        echo "pruned ($*): $run/model.safetensors (kept from an earlier run)"
        return 0
    fi
    [ -d "$DATA" ] || die "no training data folder $DATA (the prune runs need it; give --data DIR)"
    if [ -e "$run" ]; then
        echo "pruned ($*): $run has no model.safetensors (an interrupted run): removing it and pruning again"
        rm -rf -- "$run"
    fi
    mkdir -p "$PRUNED" || die "cannot make $PRUNED"
    local cmd=("$SLIMVSR" prune -m "$CKPT" --data "$DATA" --out "$run" "$@" --sparsity-iters 2 --finetune-iters 2
               --batch 1 --seq 3 --patch 32 -q)
    echo "pruned ($*): ${cmd[*]}"
    if ! "${cmd[@]}" > "$run.log" 2>&1 || [ ! -f "$run/model.safetensors" ]; then
        echo "   FAILED; last lines of $run.log:"
        tail -n 5 "$run.log" | sed 's/^/   | /'
        FAILED=1
        return 1
    fi
}
PRUNED_MODELS=()
prune_run "$RUN_B" --ratio 0.5 && PRUNED_MODELS+=("$RUN_B/model.safetensors")
prune_run "$RUN_C" --flops 0.25 && PRUNED_MODELS+=("$RUN_C/model.safetensors")
prune_run "$RUN_B8" --ratio 0.5 --round 8 && PRUNED_MODELS+=("$RUN_B8/model.safetensors")
prune_run "$RUN_C8" --flops 0.25 --round 8 && PRUNED_MODELS+=("$RUN_C8/model.safetensors")
prune_run "$RUN_B16" --ratio 0.5 --round 16 && PRUNED_MODELS+=("$RUN_B16/model.safetensors")
prune_run "$RUN_C16" --flops 0.25 --round 16 && PRUNED_MODELS+=("$RUN_C16/model.safetensors")

# profile OUT ARGS...: bench/profile.sh with this script's options, its output shown and kept in OUT
profile() {
    local out=$1; shift
    bash bench/profile.sh --repeat "$REPEAT" --frames "$FRAMES" --size "$SIZE" --threads "$THREADS" "$@" \
        | tee "$out"
    local rc=$?
    [ "$rc" = 2 ] && die "bench/profile.sh: setup error (see above)"
    [ "$rc" = 0 ] || FAILED=1
}
echo
echo "== (a) shipped ssl against the shipped dense 48x8"
profile "$WORK/pruned_speed-a.txt" --baseline "$DENSE48" "$SSL48"
echo
echo "== (b), (c), (b8), (c8), (b16), (c16): 64x30 pruned by SSL (global L1 selection) against the dense 64x30 they were pruned from"
if [ "${#PRUNED_MODELS[@]}" -gt 0 ]; then
    profile "$WORK/pruned_speed-bc.txt" --baseline "$CKPT" "${PRUNED_MODELS[@]}"
else
    echo "(no pruned model to time: see above)"
    : > "$WORK/pruned_speed-bc.txt"
fi

# What was timed: the kept channels of (b) and (c).
echo
echo "== what (b), (c), (b8), (c8), (b16) and (c16) kept (slimvsr info; kept / dense channels)"
echo "note: $CKPT has random weights, initialised as BasicSR does (the residual blocks' convs"
echo "Kaiming-normal scaled by 0.1, zero biases: bench/make_checkpoint.py), so the blocks' filters have far"
echo "smaller L1 norms than the other layers' and global L1 selection prunes mostly the blocks. The prune"
echo "runs are 2 + 2 iterations: their weights are for timing only."
for run in "$RUN_B" "$RUN_C" "$RUN_B8" "$RUN_C8" "$RUN_B16" "$RUN_C16"; do
    m=$run/model.safetensors
    [ -f "$m" ] || continue
    echo "-- $m"
    if ! "$SLIMVSR" info "$m" > "$run.info.txt" 2>&1; then
        echo "   slimvsr info failed:"; tail -n 3 "$run.info.txt" | sed 's/^/   | /'
        FAILED=1
        continue
    fi
    awk '
        $1 ~ /^backward_trunk\.main\.2\.[01]\.conv[12]$/ || $1 ~ /^(fusion|upconv1|upconv2|conv_hr|conv_last)$/ {
            printf "  %-34s cin %9s  cout %9s\n", $1, $2, $3 }
        $1 ~ /_trunk\.main\.2\.[0-9]+\.conv1$/ { split($3, c, "/"); n++; s += c[1]
            if (n == 1 || c[1] < lo) lo = c[1]; if (c[1] > hi) hi = c[1]; dense = c[2] }
        /^FLOPs per frame|^dense model of the same width/ { print "  " $0 }
        END { if (n) printf "  residual blocks (both branches, %d): conv1 keeps %d..%d of %d channels, mean %.1f\n",
                         n, lo, hi, dense, s / n }' "$run.info.txt"
done

# The summary, from profile.sh's lines under each table.
pick() {  # pick FILE NAME: the part of NAME's line after "non-SPyNet "
    awk -v p="$2: non-SPyNet " 'index($0, p) == 1 { print substr($0, length(p) + 1) }' "$1"
}
line() {  # line TAG DESCRIPTION FILE NAME
    local r
    r=$(pick "$3" "$4")
    echo "$1 $2: ${r:-not measured (see above)}"
}
echo
echo "== summary: non-SPyNet wall-clock speed-up against non-SPyNet FLOP reduction (issue 15 item 4, target >= 0.8);"
echo "   $FRAMES random frames of $SIZE, $THREADS threads, best of $REPEAT, whole runner less the spynet group"
line "(a)" "shipped ssl vs dense 48x8" "$WORK/pruned_speed-a.txt" ssl
line "(b)" "64x30 SSL global --ratio 0.5 vs dense 64x30" "$WORK/pruned_speed-bc.txt" "$(basename "$RUN_B")"
line "(c)" "64x30 SSL global --flops 0.25 vs dense 64x30" "$WORK/pruned_speed-bc.txt" "$(basename "$RUN_C")"
line "(b8)" "the same as (b) with --round 8" "$WORK/pruned_speed-bc.txt" "$(basename "$RUN_B8")"
line "(c8)" "the same as (c) with --round 8" "$WORK/pruned_speed-bc.txt" "$(basename "$RUN_C8")"
line "(b16)" "the same as (b) with --round 16" "$WORK/pruned_speed-bc.txt" "$(basename "$RUN_B16")"
line "(c16)" "the same as (c) with --round 16" "$WORK/pruned_speed-bc.txt" "$(basename "$RUN_C16")"

if [ "$FAILED" = 1 ]; then
    echo "pruned_speed.sh: a slimvsr run failed (see above)" >&2
    exit 1
fi
exit 0
