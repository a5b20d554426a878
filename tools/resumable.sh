#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0 (LICENSE)
# resumable.sh: sourced by the model-making scripts (train-default-model.sh, train-motion-models.sh). Uses
# their $S (slimvsr), $OUT (the work folder) and $THREADS.
#   timed NAME CMD...: runs CMD, appends "NAME wall_s user_s sys_s" to $OUT/times.txt
#   resumable NAME SUBCOMMAND DIR OPTION...: a run of slimvsr SUBCOMMAND into DIR with the options of a fresh
#     run; a run stopped earlier resumes with its saved options; DIR/.done marks it finished. A run stopped
#     by Ctrl-C or SIGTERM exits 0 too: bench/run_finished.py tells the two apart, and then the caller
#     stops there (return 1) so that no later stage starts from an unfinished model.
timed() {
    local name=$1; shift
    /usr/bin/time -f "$name %e %U %S" -a -o "$OUT/times.txt" "$@"
}

resumable() {
    local name=$1 sub=$2 dir=$3; shift 3
    [ -e "$dir/.done" ] && return 0
    if [ -e "$dir/state.safetensors" ]; then
        timed "$name" "$S" "$sub" --out "$dir" --resume --threads "$THREADS" -q
    else
        timed "$name" "$S" "$sub" --out "$dir" "$@" --threads "$THREADS" -q
    fi
    if ! /usr/bin/python3 bench/run_finished.py "$dir"; then
        echo "$name: $dir stopped before its last iteration; run this again to resume it" >&2
        return 1
    fi
    touch "$dir/.done"
}
