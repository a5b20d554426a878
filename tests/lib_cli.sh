# SPDX-License-Identifier: Apache-2.0 (LICENSE)
# lib_cli.sh: what the tests/cli_*.sh scripts share; sourced from the repository root:
#   . tests/lib_cli.sh; cli_setup NAME
# cli_setup makes the scratch folder $T (removed on exit) and sets SLIMVSR, FRAMETOOL and PY.
# PASS/FAIL lines are what tests/run.sh counts.
SLIMVSR=$(realpath "${SLIMVSR:-build/slimvsr}")
FRAMETOOL=$(realpath "${FRAMETOOL:-build/tests/tools/frametool}")
PY=/usr/bin/python3   # Debian's python3 with python3-numpy
REPO=$PWD             # the scripts source this from the repository root
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-2}
# libgomp's spinning threads make every run several times slower on a busy 2-core machine (as in run.sh)
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive}
# the fixed choice of conv backends: no wisdom file written under $HOME, the same backends in every run
# (cli_tune.sh tests the measured choice)
export SLIMVSR_WISDOM=${SLIMVSR_WISDOM:-off}

cli_setup() {
    T=$(mktemp -d "/tmp/slimvsr-$1-XXXXXX")
    trap 'rm -rf "$T"' EXIT
}

# cli_need_video NAME: the real clip ($SLIMVSR_COCKATOO) and ffmpeg are there; otherwise one FAIL line
# (NAME_setup) and status 1
cli_need_video() {
    if [ -z "${SLIMVSR_COCKATOO:-}" ] || [ ! -s "$SLIMVSR_COCKATOO" ]; then
        ko "$1_setup" "SLIMVSR_COCKATOO is not set; run tests/data/fetch_cockatoo.sh"
        return 1
    fi
    command -v ffmpeg >/dev/null || { ko "$1_setup" "ffmpeg is not installed (tools/install-deps.sh)"; return 1; }
}

ok() { echo "PASS $1"; }
ko() { echo "FAIL $1: $2"; }

# expect_error NAME TEXT_IN_MESSAGE CMD... : non-zero exit, exactly one line on stderr containing TEXT
# (the file or option at fault), no crash
expect_error() {
    local name=$1 needle=$2; shift 2
    "$@" >"$T/out.txt" 2>"$T/err.txt"
    local rc=$?
    local lines; lines=$(wc -l <"$T/err.txt")
    if [ $rc -eq 0 ]; then ko "$name" "exit status 0"; return; fi
    if [ $rc -ge 128 ]; then ko "$name" "killed by signal $((rc - 128))"; return; fi
    if [ "$lines" -ne 1 ]; then ko "$name" "expected one line on stderr, got $lines: $(head -c 400 "$T/err.txt")"; return; fi
    if ! grep -qF -- "$needle" "$T/err.txt"; then ko "$name" "message does not name '$needle': $(cat "$T/err.txt")"; return; fi
    ok "$name"; echo "    $(cat "$T/err.txt")"
}

# wait_for PID CMD...: polls CMD until it succeeds (0) or process PID ends (1); slow builds (ASan) only
# make it wait longer
wait_for() {
    local pid=$1; shift
    while kill -0 "$pid" 2>/dev/null; do
        "$@" && return 0
        sleep 0.05
    done
    return 1
}

# logged RUN N: RUN/log.jsonl has the line of iteration N
logged() { grep -q "\"iter\":$2[,}]" "$1/log.jsonl" 2>/dev/null; }
# last_iter RUN: the last iteration in RUN/log.jsonl
last_iter() { "$PY" -c "import json,sys; print([json.loads(l)['iter'] for l in open(sys.argv[1])][-1])" "$1/log.jsonl" 2>/dev/null; }

# well_formed FILE...: each is a whole safetensors file (header parses, the data ends at the file's end),
# read independently of slimvsr; prints the training state's iteration for a state.safetensors
well_formed() {
    "$PY" - "$@" <<'PY'
import json, struct, sys
for p in sys.argv[1:]:
    b = open(p, "rb").read()
    n = struct.unpack("<Q", b[:8])[0]
    h = json.loads(b[8:8 + n])
    meta = h.pop("__metadata__", {})
    end = max(v["data_offsets"][1] for v in h.values())
    assert 8 + n + end == len(b), (p, 8 + n + end, len(b))
    if "train" in meta:
        print(json.loads(meta["train"])["iter"])
PY
}

# san_preload LIB: sets the array PRE to the command prefix that loads ASan's runtime first when LIB was
# built with it (make SAN=1), as programs that did not link it need (python, a program built through
# pkg-config); empty otherwise.
san_preload() {
    PRE=()
    if readelf -d "$1" | grep -q 'NEEDED.*libasan'; then
        PRE=(env LD_PRELOAD="$(cc -print-file-name=libasan.so)" ASAN_OPTIONS=detect_leaks=0)
    fi
}
