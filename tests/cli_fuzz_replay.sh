#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0 (LICENSE)
# cli_fuzz_replay.sh: every fuzz target (tests/fuzz/fuzz_*.c, built with driver.c's main by `make tests`)
# replayed on its seed corpus (tests/fuzz/make_seeds.sh) and on every input a fuzzer ever crashed on
# (tests/fuzz/regressions/TARGET/). Under `make SAN=1 test` this is the regression test of each crash.
# Prints PASS/FAIL lines (counted by tests/run.sh). Needs $SLIMVSR, $FRAMETOOL, $SLIMVSR_COCKATOO.
set -u
cd "$(dirname "$0")/.."
. tests/lib_cli.sh
cli_setup fuzz
BIN=$(dirname "$SLIMVSR")/tests/fuzz
if tests/fuzz/make_seeds.sh "$T/seeds" > "$T/seeds.log" 2>&1; then ok fuzz_seeds; else ko fuzz_seeds "$(tail -3 "$T/seeds.log")"; fi
for src in tests/fuzz/fuzz_*.c; do
    t=$(basename "$src" .c); t=${t#fuzz_}
    [ "$t" = util ] && continue
    dirs=("$T/seeds/$t")
    [ -n "$(ls -A "tests/fuzz/regressions/$t" 2>/dev/null)" ] && dirs+=("tests/fuzz/regressions/$t")
    "$BIN/fuzz_$t" "${dirs[@]}" 2>"$T/err.txt"
    rc=$?
    [ $rc -eq 0 ] || ko "fuzz_replay_$t" "exit $rc: $(grep -m3 -E 'ERROR|runtime error|SUMMARY' "$T/err.txt")"
done
