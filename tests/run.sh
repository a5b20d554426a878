#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0 (LICENSE)
# Runs every C test binary in $BUILD/tests and every tests/cli_*.sh and tests/check_*.sh script; counts
# PASS/FAIL lines and prints the summary "N passed, N failed" last. Exit status is non-zero when anything failed.
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
BUILD=$(realpath "$BUILD")
# libgomp threads spin while waiting by default, which slows the serial parts of tests on 2 busy cores
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive}
# conv backends by the fixed rule: no wisdom file under $HOME (tests/cli_tune.sh tests the measured choice)
export SLIMVSR_WISDOM=${SLIMVSR_WISDOM:-off}
export SLIMVSR=${SLIMVSR:-$BUILD/slimvsr}
export FRAMETOOL=${FRAMETOOL:-$BUILD/tests/tools/frametool}
# The real clip (cockatoo.mp4 from Debian's python3-imageio) that the video tests need.
if [ -z "${SLIMVSR_COCKATOO:-}" ]; then
    eval "$(tests/data/fetch_cockatoo.sh)" || echo "run.sh: could not fetch cockatoo.mp4; the video tests will fail" >&2
fi
pass=0; fail=0; failed_names=()
log=$(mktemp)
for t in "$BUILD"/tests/test_* tests/cli_*.sh tests/check_*.sh; do
    [ -e "$t" ] || continue
    echo "== $t"
    "$t" > "$log" 2>&1
    rc=$?
    cat "$log"
    p=$(grep -c '^PASS ' "$log"); f=$(grep -c '^FAIL ' "$log")
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
        f=1; echo "FAIL $t exited with status $rc"
    fi
    pass=$((pass + p)); fail=$((fail + f))
    [ "$f" -gt 0 ] && failed_names+=("$t")
done
rm -f "$log"
[ ${#failed_names[@]} -gt 0 ] && echo "failed in: ${failed_names[*]}"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
