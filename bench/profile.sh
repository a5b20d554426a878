#!/bin/bash
# SPDX-License-Identifier: Apache-2.0 (LICENSE)
# Per-layer-group profile of a baseline model against pruned ones, same machine, same run.
#
#   bash bench/profile.sh [--frames N] [--size HxW] [--threads T] [--repeat K] [--baseline MODEL] [MODEL...]
#
# Runs `slimvsr info MODEL --profile` (N random frames of HxW through a runner; default 10 of 180x320 on
# 2 threads) for the baseline, then each other model, and prints the layer groups' milliseconds per frame
# side by side, and per pruned model and group the FLOP ratio and the time ratio against the baseline (the
# FIRST model), and their quotient: above 1, the group is slower than its FLOPs say. Without --baseline the
# models are the shipped models/basicvsr-dense.safetensors (the baseline), models/basicvsr-ssl.safetensors
# and each MODEL given; with --baseline MODEL, that model and then each MODEL given. The row "non-SPyNet" is
# the total less the spynet group; under the table, per pruned model, its non-SPyNet FLOP reduction and
# speed-up against the baseline and whether the speed-up is at least 0.8x the FLOP reduction (issue 15).
# With --repeat K each model runs K times and the fastest run (by total) is kept. The full tables go to
# bench/work/profile-*.txt. Names the CPU, its vector ISA and the backends that ran. Needs build/slimvsr
# ($SLIMVSR) and python3.
set -u -o pipefail
# conv backends: the fixed rule unless SLIMVSR_WISDOM names a wisdom file (measured per shape, ops/tune.h;
# fill it with one untimed run first)
export SLIMVSR_WISDOM=${SLIMVSR_WISDOM:-off}
cd "$(dirname "$0")/.." || exit 2
FRAMES=10 SIZE=180x320 THREADS=2 REPEAT=1 BASELINE=""
ARGS=()
while [ $# -gt 0 ]; do
    case "$1" in
        --frames) FRAMES=$2; shift 2 ;;
        --size) SIZE=$2; shift 2 ;;
        --threads) THREADS=$2; shift 2 ;;
        --repeat) REPEAT=$2; shift 2 ;;
        --baseline) BASELINE=$2; shift 2 ;;
        -h|--help) sed -n '3,18p' "$0"; exit 0 ;;
        -*) echo "profile.sh: unknown option $1" >&2; exit 2 ;;
        *) ARGS+=("$1"); shift ;;
    esac
done
if [ -n "$BASELINE" ]; then
    MODELS=("$BASELINE" "${ARGS[@]}")
else
    MODELS=(models/basicvsr-dense.safetensors models/basicvsr-ssl.safetensors "${ARGS[@]}")
fi
SLIMVSR=${SLIMVSR:-build/slimvsr}
[ -x "$SLIMVSR" ] || { echo "profile.sh: $SLIMVSR is missing: run make" >&2; exit 2; }
for m in "${MODELS[@]}"; do
    [ -f "$m" ] || { echo "profile.sh: no model file $m" >&2; exit 2; }
done
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive}
mkdir -p bench/work
# Each model's name in the table and in its file's name: the file name less its extension (and less a
# "basicvsr-" or "basicvsr_" prefix in the table). A prune run's model.safetensors, or a name that two
# models share, is named after its folder instead; a name still taken gets the model's position appended.
names=() stems=()
for i in "${!MODELS[@]}"; do
    stem=$(basename "${MODELS[$i]%.*}")
    dup=0
    for j in "${!MODELS[@]}"; do
        [ "$j" != "$i" ] && [ "$(basename "${MODELS[$j]%.*}")" = "$stem" ] && dup=1
    done
    if [ "$stem" = model ] || [ "$dup" = 1 ]; then
        stem=$(basename "$(dirname "${MODELS[$i]}")")
    fi
    for s in "${stems[@]}"; do [ "$s" = "$stem" ] && stem=$stem-$i; done
    stems[i]=$stem
    names[i]=${stem#basicvsr[-_]}
done
# the models take turns (dense, pruned, ..., dense, ...) so that a change in the machine's load hits each
files=() best=()
for ((k = 0; k < REPEAT; k++)); do
    for i in "${!MODELS[@]}"; do
        m=${MODELS[$i]} out=bench/work/profile-${stems[$i]}.txt
        "$SLIMVSR" info "$m" --profile --size "$SIZE" --frames "$FRAMES" --threads "$THREADS" >"$out.tmp" \
            || { echo "profile.sh: slimvsr info --profile failed on $m" >&2; rm -f "$out.tmp"; exit 1; }
        t=$(awk '$1 == "total" { print $2 }' "$out.tmp")
        if [ -z "${best[$i]:-}" ] || awk -v a="$t" -v b="${best[$i]}" 'BEGIN { exit !(a < b) }'; then
            best[i]=$t
            mv "$out.tmp" "$out"
        fi
        rm -f "$out.tmp"
        files[i]="${names[$i]}=$out"
    done
done
cpu=$(grep -m1 '^model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
isa=$(grep -m1 '^flags' /proc/cpuinfo | tr ' ' '\n' | grep -xE 'avx2|fma|avx512f|avx512_bf16|avx512vnni|avx512_fp16' | tr '\n' ' ')
echo "CPU: ${cpu:-unknown}; vector ISA: ${isa:-none of avx2/avx512}; $THREADS threads; $FRAMES random frames of $SIZE;" \
     "best of $REPEAT; $(date -u '+%Y-%m-%d %H:%M UTC')"
/usr/bin/python3 - "${files[@]}" <<'PY'
import re, sys
runs = []
for arg in sys.argv[1:]:
    name, path = arg.split("=", 1)
    groups, backends, order = {}, set(), []
    in_groups = False
    for line in open(path):
        if line.startswith("group "):
            in_groups = True
            continue
        f = line.split()
        if in_groups and len(f) >= 5:
            g = " ".join(f[:-4])
            groups[g] = (float(f[-4]), float(f[-2]))  # ms per frame, GFLOP per frame
            order.append(g)
        elif len(f) > 2 and re.match(r"(winograd|onednn|reference)", f[1]):
            backends.add(re.sub(r"-f\dx\d", "", f[1]))
    # non-SPyNet: the total less the spynet group (ms and GFLOP per frame)
    if "total" in groups:
        sp = groups.get("spynet", (0.0, 0.0))
        groups["non-SPyNet"] = (groups["total"][0] - sp[0], groups["total"][1] - sp[1])
    runs.append((name, groups, order, backends))
base, bg, order, _ = runs[0]
if "non-SPyNet" in bg:
    order = order + ["non-SPyNet"]
print("backends: " + ", ".join(sorted(set().union(*[r[3] for r in runs]))))
print("ms per frame by layer group; for each model after the first: FLOP and time ratio to %s, and time/FLOP"
      " (above 1: slower than its FLOPs say)" % base)
wb = max(10, len(base))
head = "%-18s %*s" % ("group", wb, base)
for name, *_ in runs[1:]:
    head += " | %*s %6s %6s %6s" % (max(10, len(name)), name, "FLOPs", "time", "t/F")
print(head)
for g in order:
    row = "%-18s %*.2f" % (g, wb, bg[g][0])
    for name, gr, *_ in runs[1:]:
        ms, fl = gr.get(g, (0.0, 0.0))
        fr = "%6.2f" % (fl / bg[g][1]) if bg[g][1] > 0 else "%6s" % "-"
        tr = ms / bg[g][0] if bg[g][0] > 0 else 0
        q = "%6.2f" % (tr / (fl / bg[g][1])) if bg[g][1] > 0 and fl > 0 else "%6s" % "-"
        row += " | %*.2f %s %6.2f %s" % (max(10, len(name)), ms, fr, tr, q)
    print(row)
print("(SPyNet has the same FLOPs in every model: its time ratio shows how far the machine's load moved the runs)")
# issue 15: a pruned model's wall-clock speed-up on the non-SPyNet part should be at least 0.8x its
# non-SPyNet FLOP reduction (speed-up / FLOP reduction = 1 / t/F of the non-SPyNet row)
for name, gr, *_ in runs[1:]:
    b, p = bg.get("non-SPyNet"), gr.get("non-SPyNet")
    if not b or not p or min(b + p) <= 0:
        print("%s: non-SPyNet FLOP reduction and speed-up not measurable (no total or spynet group)" % name)
        continue
    red, spd = b[1] / p[1], b[0] / p[0]
    q = spd / red
    print("%s: non-SPyNet FLOP reduction %.2fx, speed-up %.2fx, speed-up/FLOP-reduction %.2f (target >= 0.8): %s"
          % (name, red, spd, q, "met" if q >= 0.8 else "NOT met"))
PY
