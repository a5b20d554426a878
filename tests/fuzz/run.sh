#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0 (LICENSE)
# run.sh [SECONDS] [TARGET ...]: runs each libFuzzer target (default: all) for SECONDS (default 300) on one
# core, starting from the seed corpus (make_seeds.sh) plus its own corpus of earlier runs
# (bench/work/fuzz/corpus/TARGET, kept between runs) and the regression inputs; prints one Markdown row per
# target: executions, exec/s, coverage (edges) and features at the end, corpus size, crashes.
# A crash's input is copied to tests/fuzz/regressions/TARGET/ (commit it: the replay test runs it from
# then on) and its report kept in bench/work/fuzz/TARGET.log.
#   make FUZZ=1 fuzz && tests/fuzz/run.sh 300
set -uo pipefail
cd "$(dirname "$0")/../.."
SECS=${1:-300}; shift || true
TARGETS=("$@"); [ ${#TARGETS[@]} -gt 0 ] || TARGETS=(zip pickle pth safetensors model png jpeg video)
W=bench/work/fuzz
mkdir -p "$W"
if [ -z "${SLIMVSR_COCKATOO:-}" ]; then eval "$(tests/data/fetch_cockatoo.sh)"; export SLIMVSR_COCKATOO; fi
export OMP_WAIT_POLICY=passive
tests/fuzz/make_seeds.sh "$W/seeds" || { echo "run.sh: make_seeds.sh failed" >&2; exit 2; }
echo "| target | seconds | executions | exec/s | coverage (edges) | features | corpus | crashes |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|"
for t in "${TARGETS[@]}"; do
    bin=build-fuzz/fuzz/fuzz_$t
    [ -x "$bin" ] || { echo "run.sh: $bin missing: make FUZZ=1 fuzz" >&2; exit 2; }
    mkdir -p "$W/corpus/$t" "$W/crashes/$t" "tests/fuzz/regressions/$t"
    dirs=("$W/corpus/$t" "$W/seeds/$t" "tests/fuzz/regressions/$t")
    ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1 UBSAN_OPTIONS=print_stacktrace=1 \
        "$bin" "${dirs[@]}" -max_total_time="$SECS" -print_final_stats=1 -rss_limit_mb=4096 -timeout=20 \
        -fork=0 -ignore_crashes=0 -artifact_prefix="$W/crashes/$t/" > "$W/$t.log" 2>&1
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$W/$t.log")
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$W/$t.log")
    last=$(grep -E '^#[0-9]+' "$W/$t.log" | tail -1)
    cov=$(echo "$last" | sed -n 's/.*cov: \([0-9]*\).*/\1/p'); ft=$(echo "$last" | sed -n 's/.*ft: \([0-9]*\).*/\1/p')
    corp=$(echo "$last" | sed -n 's/.*corp: \([0-9]*\).*/\1/p')
    n=0
    for c in "$W/crashes/$t"/*; do
        [ -e "$c" ] || continue
        cp "$c" "tests/fuzz/regressions/$t/" && n=$((n + 1))
    done
    echo "| $t | $SECS | ${execs:-?} | ${rate:-?} | ${cov:-?} | ${ft:-?} | ${corp:-?} | $n |"
done
