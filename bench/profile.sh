#!/bin/bash
# Per-layer-group profile of the dense model against pruned ones, same machine, same run.
#
#   bash bench/profile.sh [--frames N] [--size HxW] [--threads T] [--repeat K] [MODEL...]
#
# Runs `slimvsr info MODEL --profile` (N random frames of HxW through a runner; default 10 of 180x320 on
# 2 threads) for the shipped models/basicvsr-dense.safetensors (the baseline) and
# models/basicvsr-ssl.safetensors, then each MODEL given, and prints the layer groups' milliseconds per
# frame side by side, and per pruned model and group the FLOP ratio and the time ratio against the dense
# model, and their quotient: above 1, the group is slower than its FLOPs say. With --repeat K each model
# runs K times and the fastest run (by total) is kept. The full tables go to bench/work/profile-*.txt.
# Names the CPU, its vector ISA and the backends that ran. Needs build/slimvsr ($SLIMVSR) and python3.
set -u -o pipefail
cd "$(dirname "$0")/.."
FRAMES=10 SIZE=180x320 THREADS=2 REPEAT=1
MODELS=(models/basicvsr-dense.safetensors models/basicvsr-ssl.safetensors)
while [ $# -gt 0 ]; do
    case "$1" in
        --frames) FRAMES=$2; shift 2 ;;
        --size) SIZE=$2; shift 2 ;;
        --threads) THREADS=$2; shift 2 ;;
        --repeat) REPEAT=$2; shift 2 ;;
        -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
        -*) echo "profile.sh: unknown option $1" >&2; exit 2 ;;
        *) MODELS+=("$1"); shift ;;
    esac
done
SLIMVSR=${SLIMVSR:-build/slimvsr}
[ -x "$SLIMVSR" ] || { echo "profile.sh: $SLIMVSR is missing: run make" >&2; exit 2; }
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive}
mkdir -p bench/work
# the models take turns (dense, pruned, ..., dense, ...) so that a change in the machine's load hits each
files=() best=()
for ((k = 0; k < REPEAT; k++)); do
    for i in "${!MODELS[@]}"; do
        m=${MODELS[$i]} out=bench/work/profile-$(basename "${MODELS[$i]%.*}").txt
        "$SLIMVSR" info "$m" --profile --size "$SIZE" --frames "$FRAMES" --threads "$THREADS" >"$out.tmp" \
            || { echo "profile.sh: slimvsr info --profile failed on $m" >&2; exit 1; }
        t=$(awk '$1 == "total" { print $2 }' "$out.tmp")
        if [ -z "${best[$i]:-}" ] || awk -v a="$t" -v b="${best[$i]}" 'BEGIN { exit !(a < b) }'; then
            best[$i]=$t
            mv "$out.tmp" "$out"
        fi
        rm -f "$out.tmp"
        files[$i]="$m=$out"
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
    model, path = arg.split("=", 1)
    groups, backends, order = {}, set(), []
    in_groups = False
    for line in open(path):
        if line.startswith("group "):
            in_groups = True
            continue
        f = line.split()
        if in_groups and len(f) >= 5:
            name = " ".join(f[:-4])
            groups[name] = (float(f[-4]), float(f[-2]))  # ms per frame, GFLOP per frame
            order.append(name)
        elif len(f) > 2 and re.match(r"(winograd|onednn|reference)", f[1]):
            backends.add(re.sub(r"-f\dx\d", "", f[1]))
    runs.append((re.sub(r"^basicvsr-", "", model.split("/")[-1].replace(".safetensors", "")), groups, order, backends))
base, bg, order, _ = runs[0]
print("backends: " + ", ".join(sorted(set().union(*[r[3] for r in runs]))))
print("ms per frame by layer group; for each model after the first: FLOP and time ratio to %s, and time/FLOP"
      " (above 1: slower than its FLOPs say)" % base)
head = "%-18s %10s" % ("group", base[:10])
for name, *_ in runs[1:]:
    head += " | %10s %6s %6s %6s" % (name[:10], "FLOPs", "time", "t/F")
print(head)
for g in order:
    row = "%-18s %10.2f" % (g, bg[g][0])
    for _, gr, *_ in runs[1:]:
        ms, fl = gr.get(g, (0.0, 0.0))
        fr = "%6.2f" % (fl / bg[g][1]) if bg[g][1] > 0 else "%6s" % "-"
        tr = ms / bg[g][0] if bg[g][0] > 0 else 0
        q = "%6.2f" % (tr / (fl / bg[g][1])) if bg[g][1] > 0 and fl > 0 else "%6s" % "-"
        row += " | %10.2f %s %6.2f %s" % (ms, fr, tr, q)
    print(row)
print("(SPyNet has the same FLOPs in every model: its time ratio shows how far the machine's load moved the runs)")
PY
