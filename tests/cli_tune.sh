#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0 (LICENSE)
# cli_tune.sh: the wisdom file on the command line (ops/tune.h, src/cli/conv_setup.c): the first upscale
# measures and saves it, the next recalls it (nothing measured, the same output bytes), SLIMVSR_WISDOM=off
# measures nothing, the default path lies under $XDG_CACHE_HOME, a damaged line is re-measured with a
# warning, and a file that is not a wisdom file is neither used nor overwritten.
# Prints PASS/FAIL lines (counted by tests/run.sh). Needs $SLIMVSR and $FRAMETOOL.
set -u
cd "$(dirname "$0")/.."
. tests/lib_cli.sh
cli_setup tune
TINY=tests/data/tiny/tiny_basicvsr.pth
mkdir -p "$T/lr"
for i in 0 1 2; do "$FRAMETOOL" png "$T/lr/f00$i.png" 28 20 || ko tune_frames "frametool png failed"; done
W=$T/cache/w.txt
up() { SLIMVSR_WISDOM=$1 "$SLIMVSR" upscale -q -m "$TINY" "$T/lr" "$2" >"$T/out.txt" 2>"$T/err.txt"; }
entries() { grep -c ' = ' "$1" 2>/dev/null || echo 0; }

# --- first run: measures and saves, saying so once ---
if up "$W" "$T/sr1"; then
    n=$(entries "$W")
    [ "$n" -gt 3 ] && head -1 "$W" | grep -q '^# slimvsr wisdom' && ok tune_saved || ko tune_saved "$n entries: $(head -3 "$W")"
    grep -q "measured the fastest backends of $n layer shapes on this CPU, kept in $W" "$T/err.txt" \
        && ok tune_message || ko tune_message "$(cat "$T/err.txt")"
    # every entry names this CPU's key and an algorithm among the candidates
    bad=$(grep ' = ' "$W" | grep -vE '^(conv|rsc) [^ ]+:[0-9]+-[0-9]+-[0-9]+:avx(2|512) t2 .* = (wino6|wino|wino7|wino7f4|dnnl|dnnl_auto|passes|strips|direct) [0-9.]+$')
    [ -z "$bad" ] && ok tune_entries || ko tune_entries "$bad"
else
    ko tune_first_run "exit status $?: $(cat "$T/err.txt")"
fi
# --- second run: recalled, nothing measured, the file untouched, the same output ---
cp "$W" "$T/w_before.txt" 2>/dev/null
if up "$W" "$T/sr2"; then
    [ ! -s "$T/err.txt" ] && cmp -s "$W" "$T/w_before.txt" && ok tune_recalled || ko tune_recalled "$(cat "$T/err.txt")"
    diff -r "$T/sr1" "$T/sr2" >/dev/null && ok tune_same_output || ko tune_same_output "outputs differ"
else
    ko tune_second_run "exit status $?: $(cat "$T/err.txt")"
fi
# --- off: nothing written; the default path: under $XDG_CACHE_HOME ---
up off "$T/sr3" && [ ! -e off ] && [ ! -e "$T/cache/off" ] && [ ! -s "$T/err.txt" ] && ok tune_off || ko tune_off "$(cat "$T/err.txt")"
if XDG_CACHE_HOME=$T/xdg SLIMVSR_WISDOM= "$SLIMVSR" upscale -q -m "$TINY" "$T/lr" "$T/sr4" 2>"$T/err.txt"; then
    [ ! -e "$T/xdg/slimvsr/wisdom.txt" ] && ok tune_empty_is_off || ko tune_empty_is_off "a file was written"
else
    ko tune_empty_is_off "exit status $?: $(cat "$T/err.txt")"
fi
if (unset SLIMVSR_WISDOM; XDG_CACHE_HOME=$T/xdg "$SLIMVSR" upscale -q -m "$TINY" "$T/lr" "$T/sr5" 2>"$T/err.txt"); then
    [ -s "$T/xdg/slimvsr/wisdom.txt" ] && ok tune_default_path || ko tune_default_path "$(cat "$T/err.txt")"
else
    ko tune_default_path "exit status $?: $(cat "$T/err.txt")"
fi
# --- a damaged line: a warning, measured again, the file mended ---
sed -i '2s/ = .*/ = ??? 1/' "$W"
if up "$W" "$T/sr6"; then
    grep -q "$W: 1 damaged line ignored" "$T/err.txt" && grep -q "measured the fastest backends of 1 layer shape on" "$T/err.txt" \
        && ! grep -q '???' "$W" && ok tune_damaged || ko tune_damaged "$(cat "$T/err.txt")"
    diff -r "$T/sr1" "$T/sr6" >/dev/null && ok tune_damaged_same_output || ko tune_damaged_same_output "outputs differ"
else
    ko tune_damaged "exit status $?: $(cat "$T/err.txt")"
fi
# --- not a wisdom file: warned about, not used, not overwritten; the job still runs ---
printf 'my notes\n' >"$T/notes.txt"
if up "$T/notes.txt" "$T/sr7"; then
    grep -q "notes.txt: not a wisdom file" "$T/err.txt" && [ "$(cat "$T/notes.txt")" = "my notes" ] \
        && ok tune_foreign_file || ko tune_foreign_file "$(cat "$T/err.txt")"
else
    ko tune_foreign_file "exit status $?: $(cat "$T/err.txt")"
fi
