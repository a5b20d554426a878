#!/bin/bash
# SPDX-License-Identifier: Apache-2.0 (LICENSE)
# Speed benchmark: slimvsr against the reference PyTorch BasicVSR, same machine, same run.
#
#   bash bench/run.sh [--frames N] [--height H] [--width W] [--threads T] [--models "64x30 32x15"]
#                     [--torch-configs "installed glibc-tuned jemalloc tcmalloc"] [--repeat K]
#                     [--idle-wait S] [--no-slimvsr]
#
# Run from the repository root after `make`. Everything it makes goes to bench/work/ (git-ignored).
# Prints one table: per model, slimvsr s/frame, PyTorch s/frame (each allocator configuration, and the best),
# the ratio PyTorch-best / slimvsr, and the peak RSS of each. Each run is repeated K times (default 1) and
# the fastest kept. Before each run it waits up to S seconds (default 120) for the other processes on the
# machine to go quiet, and it reports how much CPU they took during the run ("others %": their CPU time plus
# hypervisor steal, as a share of all cores over the run): a run with a high share is slower than it should
# be. Exit status 1 when slimvsr failed or is missing (the PyTorch numbers are printed all the same),
# 2 on a setup error.
set -u -o pipefail
# conv backends: the fixed rule unless SLIMVSR_WISDOM names a wisdom file (measured per shape, ops/tune.h;
# fill it with one untimed run first)
export SLIMVSR_WISDOM=${SLIMVSR_WISDOM:-off}

FRAMES=10 HEIGHT=180 WIDTH=320 THREADS=2
MODELS="64x30 32x15"
TORCH_CONFIGS="installed glibc-tuned jemalloc tcmalloc"
RUN_SLIMVSR=1 REPEAT=1 IDLE_WAIT=120
while [ $# -gt 0 ]; do
    case "$1" in
        --frames) FRAMES=$2; shift 2 ;;
        --height) HEIGHT=$2; shift 2 ;;
        --width) WIDTH=$2; shift 2 ;;
        --threads) THREADS=$2; shift 2 ;;
        --models) MODELS=$2; shift 2 ;;
        --torch-configs) TORCH_CONFIGS=$2; shift 2 ;;
        --repeat) REPEAT=$2; shift 2 ;;
        --idle-wait) IDLE_WAIT=$2; shift 2 ;;
        --no-slimvsr) RUN_SLIMVSR=0; shift ;;
        -h|--help) sed -n '3,17p' "$0"; exit 0 ;;
        *) echo "run.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
    esac
done

BENCH=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$BENCH/.." && pwd)
WORK=$BENCH/work
PY=${PYTHON:-/usr/bin/python3}
SLIMVSR=${SLIMVSR:-$ROOT/build/slimvsr}
cd "$ROOT" || exit 2

die() { echo "run.sh: $*" >&2; exit 2; }

"$PY" -c 'import torch, numpy' 2>/dev/null \
    || die "$PY cannot import torch and numpy: apt-get install python3-torch (Debian's PyTorch)"
if [ ! -x /usr/bin/time ]; then
    if [ "$(id -u)" = 0 ]; then
        echo "run.sh: installing GNU time (/usr/bin/time) for wall time and peak RSS" >&2
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq time >/dev/null 2>&1
    fi
    [ -x /usr/bin/time ] || die "/usr/bin/time is missing: apt-get install time"
fi

. bench/torch_env.sh
config_hint() {
    case "${1%+cl}" in
        jemalloc) echo "apt-get install libjemalloc2" ;;
        tcmalloc) echo "apt-get install libtcmalloc-minimal4" ;;
        *) echo "unknown configuration" ;;
    esac
}

mkdir -p "$WORK"
# One benchmark at a time: two would share bench/work/ and slow each other down.
exec 9> "$WORK/.lock"
if ! flock -n 9; then
    echo "run.sh: another bench/run.sh is running; waiting for it to finish" >&2
    flock 9 || die "cannot lock $WORK/.lock"
fi
CLIP=$WORK/clip_${FRAMES}x${HEIGHT}x${WIDTH}
echo "== setup ($(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, $THREADS threads, load average $(cut -d' ' -f1-3 /proc/loadavg))"
"$PY" "$BENCH/make_clip.py" "$CLIP" --frames "$FRAMES" --height "$HEIGHT" --width "$WIDTH" || die "make_clip.py failed"
for m in $MODELS; do
    feat=${m%x*} blocks=${m#*x}
    ckpt=$WORK/basicvsr_f${feat}_b${blocks}_seed0.pth
    [ -s "$ckpt" ] || "$PY" "$BENCH/make_checkpoint.py" --feat "$feat" --blocks "$blocks" --seed 0 "$ckpt" \
        || die "make_checkpoint.py failed"
done

# Results: one line per kept run in $RESULTS: model|who|status|s/frame|peak MiB|others %
RESULTS=$WORK/results.txt
: > "$RESULTS"
SLIM_FAILED=0
HZ=$(getconf CLK_TCK)
NCPU=$(nproc)

field() { sed -n "s/.*$1=\([^ ]*\).*/\1/p" "$2" | tail -1; }   # key=value from a RESULT line
# "busy steal total" jiffies of all CPUs so far (busy: user nice system irq softirq; total includes idle)
cpu_jiffies() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8, $9, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9 }' /proc/stat; }
# Waits up to IDLE_WAIT seconds until the machine is nearly idle: under 15% of all cores busy in each of
# three 2-second samples in a row (a test suite between two of its programs is idle for a moment only).
wait_idle() {
    local waited=0 quiet=0 a b busy
    while :; do
        a=$(cpu_jiffies); sleep 2; b=$(cpu_jiffies); waited=$((waited + 2))
        busy=$(echo "$a $b" | awk '{ d = $6 - $3; print (d > 0) ? int(100 * ($4 - $1 + $5 - $2) / d) : 0 }')
        if [ "$busy" -lt 15 ]; then quiet=$((quiet + 1)); else quiet=0; fi
        [ "$quiet" -ge 3 ] && return 0
        [ "$waited" -ge "$IDLE_WAIT" ] && { echo "   (machine still ${busy}% busy after ${waited} s; running anyway)"; return 0; }
    done
}
# timed_run OUT_PREFIX CMD...: runs CMD under /usr/bin/time -v (stdout+stderr to OUT_PREFIX.log), then
# sets RC, WALL (s), RSS_MB and OTHERS (% of all cores taken by other processes and steal during the run).
timed_run() {
    local prefix=$1; shift
    local before after ours
    before=$(cpu_jiffies)
    /usr/bin/time -v -o "$prefix.time" "$@" > "$prefix.log" 2>&1
    RC=$?
    after=$(cpu_jiffies)
    WALL=$(sed -n 's/.*Elapsed (wall clock) time (h:mm:ss or m:ss): //p' "$prefix.time" \
           | awk -F: '{ s = 0; for (i = 1; i <= NF; i++) s = s * 60 + $i; print s }')
    RSS_MB=$(( $(sed -n 's/.*Maximum resident set size (kbytes): //p' "$prefix.time") / 1024 ))
    ours=$(awk -F': ' '/User time|System time/ { s += $2 } END { print s + 0 }' "$prefix.time")
    OTHERS=$(echo "$before $after" | awk -v ours="$ours" -v hz="$HZ" -v n="$NCPU" -v wall="$WALL" '{
        other = ($4 - $1 + $5 - $2) / hz - ours; if (other < 0) other = 0
        printf "%d", (wall > 0) ? 100 * other / (wall * n) : 0 }')
}

for m in $MODELS; do
    feat=${m%x*} blocks=${m#*x}
    ckpt=$WORK/basicvsr_f${feat}_b${blocks}_seed0.pth
    label="${feat}/${blocks}"

    # slimvsr: the whole CLI run, end to end (model load, PNG decode and encode included).
    out=$WORK/out_slimvsr_$m
    if [ "$RUN_SLIMVSR" = 1 ]; then
        echo "== slimvsr $label: $SLIMVSR upscale -m $ckpt --threads $THREADS $CLIP $out"
        if [ ! -x "$SLIMVSR" ]; then
            echo "   FAILED: $SLIMVSR is not built (run make)"
            echo "$label|slimvsr|not built|-|-|-" >> "$RESULTS"; SLIM_FAILED=1
        else
            best="" row=""
            for r in $(seq "$REPEAT"); do
                rm -rf "$out"
                wait_idle
                timed_run "$WORK/slimvsr_$m" "$SLIMVSR" upscale -m "$ckpt" --threads "$THREADS" "$CLIP" "$out"
                nout=$(find "$out" -maxdepth 1 -name "*.png" 2>/dev/null | wc -l)
                if [ "$RC" != 0 ] || [ "$nout" != "$FRAMES" ]; then
                    echo "   FAILED: exit status $RC, $nout of $FRAMES frames written; last lines of $WORK/slimvsr_$m.log:"
                    tail -n 5 "$WORK/slimvsr_$m.log" | sed 's/^/   | /'
                    row="$label|slimvsr|failed (rc $RC)|-|-|-"; best=""
                    break
                fi
                spf=$(awk -v w="$WALL" -v n="$FRAMES" 'BEGIN { printf "%.3f", w / n }')
                echo "   run $r: $WALL s wall for $FRAMES frames = $spf s/frame, peak RSS $RSS_MB MiB, others ${OTHERS}%"
                if [ -z "$best" ] || awk -v a="$spf" -v b="$best" 'BEGIN { exit !(a < b) }'; then
                    best=$spf; row="$label|slimvsr|ok|$spf|$RSS_MB|$OTHERS"
                fi
            done
            echo "$row" >> "$RESULTS"
            [ -n "$best" ] || SLIM_FAILED=1
        fi
    fi

    # PyTorch: one timed pass of the whole clip (model loaded) per allocator configuration.
    for cfg in $TORCH_CONFIGS; do
        if ! envs=$(torch_env "$cfg"); then
            echo "== PyTorch $label [$cfg]: skipped ($(config_hint "$cfg"))"
            echo "$label|torch $cfg|not available|-|-|-" >> "$RESULTS"
            continue
        fi
        tout=$WORK/out_torch_$m
        extra=$(torch_args "$cfg")
        write=()
        [ "$cfg" = "${TORCH_CONFIGS%% *}" ] && { rm -rf "$tout"; write=(--out "$tout"); }
        echo "== PyTorch $label [$cfg]: ${envs:+$envs }$PY bench/torch_upscale.py -m $ckpt $CLIP --threads $THREADS${extra:+ $extra}"
        best="" row=""
        for r in $(seq "$REPEAT"); do
            wait_idle
            # shellcheck disable=SC2086  # $envs is a list of VAR=value words, $extra one option or none
            timed_run "$WORK/torch_${m}_$cfg" env $envs "$PY" "$BENCH/torch_upscale.py" -m "$ckpt" "$CLIP" \
                --threads "$THREADS" $extra "${write[@]}"
            log=$WORK/torch_${m}_$cfg.log
            if [ "$RC" != 0 ] || ! grep -q '^RESULT ' "$log"; then
                echo "   FAILED: exit status $RC; last lines of $log:"; tail -n 5 "$log" | sed 's/^/   | /'
                row="$label|torch $cfg|failed (rc $RC)|-|-|-"; best=""
                break
            fi
            spf=$(field per_frame_s "$log")
            echo "   run $r: $(grep -E '^load ' "$log"), others ${OTHERS}%"
            if [ -z "$best" ] || awk -v a="$spf" -v b="$best" 'BEGIN { exit !(a < b) }'; then
                best=$spf; row="$label|torch $cfg|ok|$spf|$(field peak_rss_mb "$log")|$OTHERS"
            fi
            write=()
        done
        echo "$row" >> "$RESULTS"
    done

    # Do the two agree? (8-bit outputs; a random model's output is close to the bilinear base.)
    if [ -d "$out" ] && [ -d "$WORK/out_torch_$m" ] && grep -q "^$label|slimvsr|ok" "$RESULTS"; then
        echo "== slimvsr vs PyTorch outputs, $label: $("$PY" "$BENCH/compare_pngs.py" "$out" "$WORK/out_torch_$m")"
    fi
done

# The table.
echo
echo "BasicVSR x4, $FRAMES frames ${WIDTH}x${HEIGHT} -> $((4 * WIDTH))x$((4 * HEIGHT)), $THREADS threads, $(nproc) cores"
echo "(slimvsr: whole CLI run incl. load and PNG I/O; PyTorch: one forward pass of the loaded clip)"
awk -F'|' '
    { model[NR] = $1; who[NR] = $2; st[NR] = $3; spf[NR] = $4; mem[NR] = $5; ld[NR] = $6
      if (!($1 in seen)) { seen[$1] = 1; order[++nm] = $1 }
      if ($2 == "slimvsr" && $3 == "ok") slim[$1] = $4
      if ($2 == "slimvsr") { slimtxt[$1] = ($3 == "ok") ? $4 : $3; slimmem[$1] = $5 }
      if ($2 ~ /^torch/ && $3 == "ok" && (!($1 in best) || $4 + 0 < best[$1] + 0)) {
          best[$1] = $4; bestcfg[$1] = substr($2, 7); bestmem[$1] = $5 }
    }
    END {
        printf "\n%-7s %-20s %-14s %10s %9s\n", "model", "run", "s/frame", "peak MiB", "others %"
        for (i = 1; i <= NR; i++)
            printf "%-7s %-20s %-14s %10s %9s\n", model[i], who[i], (st[i] == "ok") ? sprintf("%.3f", spf[i]) : st[i], mem[i], ld[i]
        printf "\n%-7s %16s %24s %14s %12s %12s\n", "model", "slimvsr s/frame", "PyTorch best s/frame",
               "speed ratio", "slimvsr MiB", "PyTorch MiB"
        for (k = 1; k <= nm; k++) {
            m = order[k]
            tb = (m in best) ? sprintf("%.3f (%s)", best[m], bestcfg[m]) : "-"
            ratio = (m in slim && m in best && slim[m] > 0) ? sprintf("%.2fx", best[m] / slim[m]) : "-"
            printf "%-7s %16s %24s %14s %12s %12s\n", m, (m in slimtxt) ? slimtxt[m] : "-", tb, ratio,
                   (m in slimmem) ? slimmem[m] : "-", (m in best) ? bestmem[m] : "-"
        }
        print "\nspeed ratio = PyTorch best s/frame / slimvsr s/frame (above 1: slimvsr is faster)"
    }' "$RESULTS"
echo "others % = CPU time of other processes plus steal during the run, as a share of all $NCPU cores: above ~10%"
echo "the run was slowed by other work on the machine; rerun (--repeat 3 keeps the fastest of three)."

if [ "$SLIM_FAILED" = 1 ]; then
    echo "run.sh: slimvsr did not run (see above); the PyTorch numbers stand on their own" >&2
    exit 1
fi
exit 0
