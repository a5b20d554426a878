#!/bin/bash
# SPDX-License-Identifier: Apache-2.0 (LICENSE)
# Issue 15: is one training iteration of slimvsr at least 1.5x faster than PyTorch's? Times both on the same
# machine in the same run: `slimvsr train` on a dense random BasicVSR, and bench/train_torch.py with the same
# network (bench/basicvsr_ref.py), batch, frames, patch, loss (Charbonnier), optimiser (Adam, SPyNet as its
# own group, trained from the first iteration as slimvsr's default --spynet-freeze 0 does) and threads.
#
#   bash bench/train_speed.sh [--models 32x10[,64x30]] [--iters N] [--repeat K] [--isa native|avx2]
#                             [--slimvsr PATH] [--keep] [--data DIR] [--threads T]
#                             [--batch B --seq T --patch P] [--spynet trained|frozen]
#                             [--torch-configs "glibc-tuned+cl glibc-tuned"] [--omp-wait passive|active|default]
#
# Each run does --iters iterations (default 5); the first is a warm-up (oneDNN makes its primitives, the
# allocators grow) and is not counted, and the run's time is the median of the others. slimvsr's come from
# its log.jsonl (`--log-every 1`: its "seconds" field is the time since the iterations began, so start-up,
# loading the data and the final checkpoint are outside); PyTorch's from train_torch.py's own clock around
# each iteration (batch drawing, forward, loss, backward, Adam). --repeat K runs every program K times,
# interleaved, and keeps each one's fastest median. Models are FEATxBLOCKS (default 32x10; 64x30 takes about
# 10 times as long). Data: --data (default ../shared/data/train/vimeo90k-septuplets, the Vimeo-90K septuplets:
# the other clips of ../shared/data/train are shorter than 7 frames). Threads: --threads (default 2), as
# OMP_NUM_THREADS for both. --omp-wait (default passive) sets OMP_WAIT_POLICY for both (both use libgomp;
# idle OpenMP threads spinning on a busy machine slow both down).
#
# PyTorch configurations (--torch-configs, the best one is compared): `installed` (glibc malloc as it is),
# `glibc-tuned` (the malloc settings of bench/run.sh, which keep freed memory in the heap), `jemalloc`,
# `tcmalloc` (when installed); `+cl` appended runs the model in channels_last (NHWC) memory format, which
# here is about twice as fast for training (for inference it is slower: bench/README.md).
#
# --isa avx2 sets SLIMVSR_CONV_ISA=avx2 (slimvsr's own AVX-512 kernels off) and ONEDNN_MAX_CPU_ISA=AVX2
# for both programs: both run their convolutions through the same system oneDNN, so limiting one alone
# would not compare like with like. --isa native (default) leaves both as they are.
#
# Run folders go to a mktemp folder outside the repository, removed at the end unless --keep. One benchmark
# at a time: it takes bench/work/.lock, as bench/run.sh does. Exit status 0 when everything ran (whether or
# not the target is met), 1 when a run failed, 2 on a setup error (no slimvsr, no torch, no data), 130 when
# interrupted (the slimvsr run is stopped and the folder removed). Environment: SLIMVSR (the binary, as
# --slimvsr; default build/slimvsr), PYTHON (default /usr/bin/python3).
set -euo pipefail
CALLER_DIR=$PWD  # --slimvsr and --data are relative to it; the defaults to the repository
cd "$(dirname "$0")/.."

MODELS=32x10 ITERS=5 REPEAT=1 ISA=native SLIMVSR=${SLIMVSR:-build/slimvsr} KEEP=0 THREADS=2
DATA=../shared/data/train/vimeo90k-septuplets BATCH=2 SEQ=7 PATCH=64 SPYNET=trained OMP_WAIT=passive
TORCH_CONFIGS="glibc-tuned+cl glibc-tuned"
PY=${PYTHON:-/usr/bin/python3}
TARGET=1.5

die() { echo "train_speed.sh: $*" >&2; exit 2; }
from_caller() { case "$1" in /*) echo "$1" ;; *) echo "$CALLER_DIR/$1" ;; esac; }
need_value() { [ $# -ge 2 ] || die "$1 needs a value (see --help)"; }
while [ $# -gt 0 ]; do
    case "$1" in
        --models) need_value "$@"; MODELS=${2//,/ }; shift 2 ;;
        --iters) need_value "$@"; ITERS=$2; shift 2 ;;
        --repeat) need_value "$@"; REPEAT=$2; shift 2 ;;
        --isa) need_value "$@"; ISA=$2; shift 2 ;;
        --slimvsr) need_value "$@"; SLIMVSR=$(from_caller "$2"); shift 2 ;;
        --keep) KEEP=1; shift ;;
        --data) need_value "$@"; DATA=$(from_caller "$2"); shift 2 ;;
        --threads) need_value "$@"; THREADS=$2; shift 2 ;;
        --batch) need_value "$@"; BATCH=$2; shift 2 ;;
        --seq) need_value "$@"; SEQ=$2; shift 2 ;;
        --patch) need_value "$@"; PATCH=$2; shift 2 ;;
        --spynet) need_value "$@"; SPYNET=$2; shift 2 ;;
        --torch-configs) need_value "$@"; TORCH_CONFIGS=$2; shift 2 ;;
        --omp-wait) need_value "$@"; OMP_WAIT=$2; shift 2 ;;
        -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
        *) die "unknown argument '$1' (see --help)" ;;
    esac
done

is_int() { [[ $1 =~ ^[0-9]+$ ]] && [ "$1" -ge "$2" ]; }
is_int "$ITERS" 3 || die "--iters $ITERS: give at least 3 (one warm-up, two timed)"
is_int "$REPEAT" 1 || die "--repeat $REPEAT: give a whole number of at least 1"
for v in "$THREADS" "$BATCH"; do is_int "$v" 1 || die "bad --threads/--batch value '$v'"; done
is_int "$SEQ" 2 || die "--seq $SEQ: at least 2 frames"
# PyTorch's SPyNet (bench/basicvsr_ref.py, as BasicSR's) has no coarsest level below 33 pixels
is_int "$PATCH" 33 || die "--patch $PATCH: at least 33 (PyTorch's SPyNet rejects smaller frames)"
for m in $MODELS; do [[ $m =~ ^[0-9]+x[0-9]+$ ]] || die "--models: '$m' is not FEATxBLOCKS (e.g. 32x10)"; done
case "$ISA" in native|avx2) ;; *) die "--isa $ISA: native or avx2" ;; esac
case "$SPYNET" in trained|frozen) ;; *) die "--spynet $SPYNET: trained or frozen" ;; esac
case "$OMP_WAIT" in passive|active|default) ;; *) die "--omp-wait $OMP_WAIT: passive, active or default" ;; esac

# ---- what is needed, with a clear message for each ----
[ -e "$SLIMVSR" ] || die "slimvsr not found at $SLIMVSR: run make, or give --slimvsr PATH"
[ -x "$SLIMVSR" ] || die "$SLIMVSR is not executable"
[ -x "$PY" ] || die "$PY not found: PyTorch runs with Debian's python3 (apt-get install python3-torch)"
TORCH_VERSION=$("$PY" -c 'import torch; print(torch.__version__)' 2>/dev/null) \
    || die "PyTorch is missing for $PY: apt-get install python3-torch"
[ -d "$DATA" ] || die "no training data folder $DATA (give --data DIR: clips of at least $SEQ PNG frames)"
[ -x /usr/bin/time ] || die "/usr/bin/time is missing: apt-get install time"
command -v flock > /dev/null || die "flock is missing: apt-get install util-linux"

. bench/torch_env.sh
CONFIGS=""
for c in $TORCH_CONFIGS; do
    if torch_env "$c" > /dev/null; then CONFIGS="$CONFIGS $c"; else echo "train_speed.sh: PyTorch configuration $c is not available here; skipped" >&2; fi
done
[ -n "$CONFIGS" ] || die "no PyTorch configuration available among '$TORCH_CONFIGS'"

# ---- the environment both programs run in ----
export OMP_NUM_THREADS=$THREADS
[ "$OMP_WAIT" = default ] || export OMP_WAIT_POLICY=$OMP_WAIT
CPU_MODEL=$(awk -F': ' '/^model name/ { n = $2 } /^cpu family/ { f = $2 } /^model[[:space:]]*:/ { m = $2 }
                  /^$/ { exit } END { printf "%s (family %s, model %s)", n, f, m }' /proc/cpuinfo)
if grep -qw avx512f /proc/cpuinfo; then CPU_ISA=avx512; elif grep -qw avx2 /proc/cpuinfo; then CPU_ISA=avx2; else CPU_ISA="neither avx2 nor avx512"; fi
if [ "$ISA" = avx2 ]; then
    export SLIMVSR_CONV_ISA=avx2 ONEDNN_MAX_CPU_ISA=AVX2
    ISA_USED="avx2 (SLIMVSR_CONV_ISA=avx2, ONEDNN_MAX_CPU_ISA=AVX2, for both; the CPU has $CPU_ISA)"
else
    ISA_USED="$CPU_ISA (the CPU's flags; slimvsr's kernels and oneDNN's choose it)"
fi

mkdir -p bench/work
exec 9> bench/work/.lock
if ! flock -n 9; then
    echo "train_speed.sh: another benchmark holds bench/work/.lock; waiting for it to finish" >&2
    flock 9 || die "cannot lock bench/work/.lock"
fi
TMP=$(mktemp -d "${TMPDIR:-/tmp}/slimvsr-train-speed.XXXXXX")
SLIM_PID=""  # the slimvsr run in the background, if any
# shellcheck disable=SC2317  # called by the traps
cleanup() {
    if [ -n "$SLIM_PID" ]; then  # a second signal stops slimvsr at once, not after its iteration
        kill "$SLIM_PID" 2> /dev/null && sleep 0.2 && kill "$SLIM_PID" 2> /dev/null
        wait "$SLIM_PID" 2> /dev/null || true
    fi
    if [ "$KEEP" = 1 ]; then echo "run folders kept in $TMP"; else rm -rf "$TMP"; fi
}
trap cleanup EXIT
trap 'echo "train_speed.sh: interrupted" >&2; exit 130' INT TERM

HZ=$(getconf CLK_TCK)
NCPU=$(nproc)
# "busy total" jiffies of all CPUs so far (busy includes steal; total includes idle and iowait)
cpu_jiffies() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9 }' /proc/stat; }
# others_pct BEFORE AFTER OURS_S WALL_S: the CPU time of other processes and steal during a run, in % of all
# cores (above ~10%, the run was slowed down)
others_pct() {
    echo "$1 $2" | awk -v ours="$3" -v wall="$4" -v hz="$HZ" -v n="$NCPU" '{
        o = ($3 - $1) / hz - ours; if (o < 0) o = 0; printf "%.0f", (wall > 0) ? 100 * o / (n * wall) : 0 }'
}
# median of the numbers on stdin
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) exit 1; print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

echo "== train_speed.sh ($(date -u '+%Y-%m-%d %H:%M UTC'), load average $(cut -d' ' -f1-3 /proc/loadavg))"
echo "CPU:       $CPU_MODEL, $NCPU cores; $THREADS threads (OMP_NUM_THREADS=$THREADS, OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-unset})"
echo "ISA:       $ISA_USED"
echo "slimvsr:   $SLIMVSR"
echo "PyTorch:   $TORCH_VERSION ($PY), configurations:$CONFIGS"
echo "step:      batch $BATCH x $SEQ frames, LR patch $PATCH (GT $((4 * PATCH))), Charbonnier, Adam, SPyNet $SPYNET"
echo "timing:    $ITERS iterations per run, the first not counted, median of the rest; best of $REPEAT run(s)"
echo "data:      $DATA"

FAILED=0
RESULTS=$TMP/results.txt  # model|who|s/iter|others %|peak MiB|extra
: > "$RESULTS"

# proc_cpu PID: the CPU time of a process so far, user + system, in clock ticks (status 1 once it is gone)
proc_cpu() {
    local f
    read -r -a f < "/proc/$1/stat" 2> /dev/null || return 1
    echo $((f[13] + f[14]))
}
# proc_hwm PID: its peak RSS so far in kB (0 once it is gone)
proc_hwm() {
    local k v hwm=0
    { while read -r k v _; do [ "$k" = VmHWM: ] && hwm=$v; done < "/proc/$1/status"; } 2> /dev/null || true
    echo "$hwm"
}

# run_slimvsr MODEL FEAT BLOCKS R: one `slimvsr train` run; appends its line to RESULTS. Its wall time per
# iteration: the median of the differences of log.jsonl's "seconds", the first iteration left out. Its CPU
# time per iteration: the process's, read from /proc when log.jsonl gets its first line and again when it
# gets line ITERS-1 (the last iteration is left out: the process writes its checkpoint and exits after it),
# divided by the ITERS-2 iterations between. "others" covers that same window.
run_slimvsr() {
    local model=$1 feat=$2 blocks=$3 r=$4 dir=$TMP/slimvsr-$1-$4 freeze=() pid n rc=0 hwm=0 h
    local log c1="" c2="" j1="" j2="" w1="" w2="" spi cpi others
    mkdir -p "$dir"
    log=$dir/run/log.jsonl
    [ "$SPYNET" = frozen ] && freeze=(--spynet-freeze "$ITERS")
    "$SLIMVSR" train --data "$DATA" --out "$dir/run" --feat "$feat" --blocks "$blocks" --batch "$BATCH" \
        --seq "$SEQ" --patch "$PATCH" --iters "$ITERS" --log-every 1 --threads "$THREADS" --seed "$r" \
        "${freeze[@]}" > "$dir/log" 2>&1 &
    pid=$! SLIM_PID=$!
    while kill -0 "$pid" 2> /dev/null; do
        n=0
        if [ -f "$log" ]; then while IFS= read -r _; do n=$((n + 1)); done < "$log"; fi
        if [ -z "$c1" ] && [ "$n" -ge 1 ]; then
            c1=$(proc_cpu "$pid") || break
            j1=$(cpu_jiffies) w1=$EPOCHREALTIME
        fi
        if [ -z "$c2" ] && [ "$n" -ge $((ITERS - 1)) ]; then
            c2=$(proc_cpu "$pid") || break
            j2=$(cpu_jiffies) w2=$EPOCHREALTIME
        fi
        h=$(proc_hwm "$pid")
        [ "$h" -gt "$hwm" ] && hwm=$h
        sleep 0.05
    done
    wait "$pid" || rc=$?
    SLIM_PID=""
    if [ "$rc" != 0 ]; then
        echo "   slimvsr run $r FAILED (exit status $rc); its output:"; sed 's/^/     /' "$dir/log"
        FAILED=1; return 0
    fi
    spi=$(sed -n 's/.*"seconds":\([0-9.eE+-]*\).*/\1/p' "$log" \
          | awk 'NR > 1 { print $1 - prev } { prev = $1 }' | median) || {
        echo "   slimvsr run $r: no per-iteration times in $log"; FAILED=1; return 0; }
    if [ -n "$c2" ]; then
        cpi=$(awk -v a="$c1" -v b="$c2" -v hz="$HZ" -v n=$((ITERS - 2)) 'BEGIN { printf "%.4f", (b - a) / hz / n }')
        others=$(others_pct "$j1" "$j2" "$(awk -v a="$c1" -v b="$c2" -v hz="$HZ" 'BEGIN { print (b - a) / hz }')" \
                 "$(awk -v a="$w1" -v b="$w2" 'BEGIN { print b - a }')")
    else
        cpi=nan others="?"
    fi
    printf "   slimvsr run %d: %.3f s/iteration (median of %d), %s CPU s/iteration, peak RSS %d MiB, others %s%%\n" \
        "$r" "$spi" $((ITERS - 1)) "$cpi" $((hwm / 1024)) "$others"
    echo "$model|slimvsr|$spi|$cpi|$others|$((hwm / 1024))" >> "$RESULTS"
}

# result_field KEY FILE: the value of KEY in FILE's `RESULT key=value ...` line
result_field() {
    awk -v k="$1" '/^RESULT / { for (i = 2; i <= NF; i++) if (index($i, k "=") == 1) print substr($i, length(k) + 2) }' "$2"
}

# run_torch MODEL FEAT BLOCKS R CONFIG: one train_torch.py run; appends its line to RESULTS. Its times per
# iteration are train_torch.py's medians; "others" covers the whole process.
run_torch() {
    local model=$1 feat=$2 blocks=$3 r=$4 cfg=$5 dir=$TMP/torch-$1-$5-$4 before after wall ours rss spi cpi others
    local envs args=()
    mkdir -p "$dir"
    envs=$(torch_env "$cfg")
    read -r -a args <<< "$(torch_args "$cfg")"
    before=$(cpu_jiffies)
    # shellcheck disable=SC2086  # envs is a list of NAME=value words
    if ! env $envs /usr/bin/time -f '%e %U %S %M' -o "$dir/time" "$PY" bench/train_torch.py --feat "$feat" \
        --blocks "$blocks" --batch "$BATCH" --seq "$SEQ" --patch "$PATCH" --iters "$ITERS" --warmup 1 \
        --threads "$THREADS" --data "$DATA" --spynet "$SPYNET" --seed "$r" "${args[@]}" > "$dir/log" 2>&1; then
        echo "   PyTorch $cfg run $r FAILED; its output:"; sed 's/^/     /' "$dir/log"
        FAILED=1; return 0
    fi
    after=$(cpu_jiffies)
    read -r wall ours rss < <(awk '{ print $1, $2 + $3, int($4 / 1024) }' "$dir/time")
    spi=$(result_field s_per_iter "$dir/log")
    cpi=$(result_field cpu_per_iter "$dir/log")
    if [ -z "$spi" ] || [ -z "$cpi" ]; then
        echo "   PyTorch $cfg run $r: no RESULT line in its output"; FAILED=1; return 0
    fi
    others=$(others_pct "$before" "$after" "$ours" "$wall")
    printf "   PyTorch %s run %d: %.3f s/iteration (median of %d), %s CPU s/iteration, peak RSS %d MiB, others %s%%; %s\n" \
        "$cfg" "$r" "$spi" $((ITERS - 1)) "$cpi" "$rss" "$others" \
        "$(sed -n 's/^train_torch: median[^(]*(\(.*\)).*/\1/p' "$dir/log")"
    echo "$model|PyTorch $cfg|$spi|$cpi|$others|$rss" >> "$RESULTS"
}

for m in $MODELS; do
    feat=${m%x*} blocks=${m#*x}
    echo
    echo "== $feat features x $blocks blocks"
    for r in $(seq 1 "$REPEAT"); do
        run_slimvsr "$m" "$feat" "$blocks" "$r"
        for c in $CONFIGS; do run_torch "$m" "$feat" "$blocks" "$r" "$c"; done
    done
done

# ---- the table: each program's fastest run, and the ratio to PyTorch's best configuration ----
# best MODEL: per program "who|wall|cpu|others|rss": the fastest run's wall time with its others % and RSS,
# and the lowest CPU time of its runs
best() {
    awk -F'|' -v m="$1" '$1 == m {
        if (!($2 in w) || $3 < w[$2]) { w[$2] = $3; o[$2] = $5; r[$2] = $6 }
        if ($4 != "nan" && (!($2 in c) || $4 < c[$2])) c[$2] = $4 }
        END { for (k in w) print k "|" w[k] "|" ((k in c) ? c[k] : "nan") "|" o[k] "|" r[k] }' "$RESULTS" | sort
}
echo
printf "%-7s %-24s %12s %12s %9s %9s\n" model run "s/iteration" "CPU s/iter" "peak MiB" "others %"
MET=1 ANY=0
for m in $MODELS; do
    rows=$(best "$m")
    [ -n "$rows" ] || continue
    while IFS='|' read -r who spi cpi others rss; do
        printf "%-7s %-24s %12.3f %12s %9s %9s\n" "$m" "$who" "$spi" "$cpi" "$rss" "$others"
    done <<< "$rows"
    slim=$(grep '^slimvsr|' <<< "$rows" || true)
    torch=$(grep '^PyTorch' <<< "$rows" | sort -t'|' -k2,2g | head -1 || true)
    if [ -z "$slim" ] || [ -z "$torch" ]; then
        echo "$m: no ratio (a run failed)"; MET=0; continue
    fi
    ANY=1
    IFS='|' read -r _ s_wall s_cpu s_oth _ <<< "$slim"
    IFS='|' read -r t_who t_wall _ t_oth _ <<< "$torch"
    t_cpu=$(grep '^PyTorch' <<< "$rows" | cut -d'|' -f3 | grep -v nan | sort -g | head -1 || true)
    ratio=$(awk -v a="$t_wall" -v b="$s_wall" 'BEGIN { printf "%.2f", a / b }')
    cratio=$(awk -v a="${t_cpu:-nan}" -v b="$s_cpu" 'BEGIN { if (a == "nan" || b == "nan" || b <= 0) print "?"; else printf "%.2f", a / b }')
    if awk -v x="$ratio" -v t="$TARGET" 'BEGIN { exit !(x >= t) }'; then verdict=met; else verdict="NOT met"; MET=0; fi
    noisy=""
    awk -v a="$s_oth" -v b="$t_oth" 'BEGIN { exit !(a == "?" || b == "?" || a > 10 || b > 10) }' \
        && noisy=" (noisy: other programs took more than 10% of the CPUs during a compared run)"
    echo "$m: wall time per iteration, ${t_who} / slimvsr = $t_wall / $s_wall s = ${ratio}x; target ${TARGET}x: $verdict$noisy"
    echo "$m: CPU time per iteration, best PyTorch / slimvsr = ${t_cpu:-?} / $s_cpu s = ${cratio}x (changes less with the noise)"
done
echo "others % = CPU time of other processes plus steal during the run (slimvsr: during its timed iterations), as a"
echo "share of all $NCPU cores: above ~10% the run was slowed down (use --repeat on a busy machine). CPU s/iter: the"
echo "process's CPU time (all threads) per iteration; with OMP_WAIT_POLICY=passive, idle threads take none."
if [ "$ANY" = 1 ] && [ "$MET" = 1 ]; then echo "target ${TARGET}x met for every model"; fi
exit "$FAILED"
