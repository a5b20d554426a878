#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0 (LICENSE)
# test.sh: the README's test command. Installs what is missing, builds, runs the whole test suite in the
# normal build and again under AddressSanitizer + UndefinedBehaviorSanitizer. The last line is the
# combined summary "N passed, N failed"; the exit status is non-zero when anything failed.
set -uo pipefail
cd "$(dirname "$0")/.."
tools/install-deps.sh || { echo "test.sh: installing dependencies failed"; exit 1; }
eval "$(tests/data/fetch_cockatoo.sh)" || echo "test.sh: could not fetch cockatoo.mp4; video tests will fail" >&2
jobs=$(nproc)
total_pass=0; total_fail=0
for mode in normal sanitizers; do
    san=0; [ $mode = sanitizers ] && san=1
    echo "=== $mode build"
    # with the normal build, the MPI build (build-mpi/) that tests/cli_mpi.sh runs beside it
    if ! { make -j"$jobs" SAN=$san all tests && { [ $san = 1 ] || make -j"$jobs" MPI=1 all; }; } \
        >/tmp/slimvsr-build-$mode.log 2>&1; then
        cat /tmp/slimvsr-build-$mode.log; echo "test.sh: $mode build failed"; total_fail=$((total_fail + 1)); continue
    fi
    build=build; [ $san = 1 ] && build=build-san
    # ASan: report leaks too; UBSan: stop at the first error with a stack trace
    out=$(ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 BUILD=$build tests/run.sh 2>&1)
    echo "$out"
    summary=$(echo "$out" | tail -n 1)
    p=$(echo "$summary" | sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\1/p')
    f=$(echo "$summary" | sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\2/p')
    [ -z "$p" ] && { p=0; f=1; }
    total_pass=$((total_pass + p)); total_fail=$((total_fail + f))
done
echo "$total_pass passed, $total_fail failed"
[ "$total_fail" -eq 0 ]
