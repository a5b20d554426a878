#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0 (LICENSE)
# cli_resume.sh: what train, train-flow and prune share through the one training loop (train/loop.h,
# issue 14): a run killed with SIGKILL resumes to the same bytes, --resume without --iters keeps the saved
# total, Ctrl-C stops with a checkpoint and a second one at once, a refused start leaves nothing, and run
# folders and data paths holding printf conversions (%n%s%x) are only ever paths.
# Prints PASS/FAIL lines (counted by tests/run.sh). Needs $SLIMVSR, $FRAMETOOL, $SLIMVSR_COCKATOO.
set -u
cd "$(dirname "$0")/.."
. tests/lib_cli.sh
cli_setup resume
cd "$T" || exit 1

if [ -z "${SLIMVSR_COCKATOO:-}" ] || [ ! -s "$SLIMVSR_COCKATOO" ]; then
    ko resume_setup "SLIMVSR_COCKATOO is not set; run tests/data/fetch_cockatoo.sh"
    exit 0
fi
# data: 5 frames of 64x36 (quick runs on 8x8 patches); big: 4 frames of 256x144, for iterations long
# enough (about a second) to signal a run in the middle of one
mkdir -p data big empty
"$FRAMETOOL" downscale "$SLIMVSR_COCKATOO" data/a 5 20 && "$FRAMETOOL" downscale "$SLIMVSR_COCKATOO" big/a 4 5 \
    && ok resume_setup || ko resume_setup "frametool failed"

# state_iter RUN: the iteration of RUN/state.safetensors (train's or train-flow's), after checking that the
# file is whole
state_iter() {
    "$PY" - "$1/state.safetensors" <<'PY'
import json, struct, sys
b = open(sys.argv[1], "rb").read()
n = struct.unpack("<Q", b[:8])[0]
h = json.loads(b[8:8 + n])
meta = h.pop("__metadata__", {})
assert 8 + n + max(v["data_offsets"][1] for v in h.values()) == len(b)
print(json.loads(meta.get("train") or meta["flowtrain"])["iter"])
PY
}
no_temporaries() { [ -z "$(find "$1" -name '.*.tmp-*')" ]; }
# sigint_twice PID: a SIGINT, and once the process has taken it (no longer pending), a second one
sigint_twice() {
    kill -INT "$1"
    while awk '/^ShdPnd/ { exit ($2 ~ /^0+$/) }' "/proc/$1/status" 2>/dev/null; do sleep 0.01; done
    kill -INT "$1"
}

# ---- train-flow killed with SIGKILL, then --resume without --iters: the saved total, the same bytes ----
FL=(--data data --feat 8 --blocks 1 --batch 2 --seq 2 --patch 8 --log-every 2 --checkpoint-every 4 --seed 7)
"$SLIMVSR" train-flow -q "${FL[@]}" --iters 200 --out flowK &
pid=$!
wait_for $pid logged flowK 10
kill -9 $pid 2>/dev/null; wait $pid 2>/dev/null
last=$(last_iter flowK)
if [ -n "$last" ] && [ "$last" -lt 200 ]; then
    "$SLIMVSR" train-flow -q --out flowK --resume && [ "$(last_iter flowK)" = 200 ] && [ "$(state_iter flowK)" = 200 ] \
        && ok "flow_resume_keeps_total (killed at $last)" || ko flow_resume_keeps_total "log ends at $(last_iter flowK)"
    "$SLIMVSR" train-flow -q "${FL[@]}" --iters 200 --out flowU
    cmp -s flowK/model.safetensors flowU/model.safetensors && cmp -s flowK/state.safetensors flowU/state.safetensors \
        && ok flow_killed_resumes_identically || ko flow_killed_resumes_identically "the resumed run's files differ"
else
    ko flow_resume_keeps_total "not killed in time (log at '$last')"
fi

# ---- train and train-flow: Ctrl-C stops after the iteration with a checkpoint (exit 0); --resume without
# --iters goes on to the saved total ----
sigint_case() {  # NAME RUN_DIR CMD...: signalled once iteration 2 is logged; sets $stopped
    local name=$1 dir=$2; shift 2
    "$@" &
    local pid=$!
    wait_for $pid logged "$dir" 2
    kill -INT $pid; wait $pid
    local rc=$?
    stopped=$(last_iter "$dir")
    [ $rc = 0 ] && [ -n "$stopped" ] && [ "$(state_iter "$dir")" = "$stopped" ] && ok "$name (at $stopped)" \
        || ko "$name" "exit $rc, log at '$stopped'"
}
sigint_case train_sigint_checkpoints trI "$SLIMVSR" train -q --data data --feat 8 --blocks 1 --batch 2 --seq 3 \
    --patch 8 --log-every 1 --val-every 1000 --iters 100000 --out trI
"$SLIMVSR" train -q --out trI --resume --iters $((stopped + 2)) && [ "$(last_iter trI)" = $((stopped + 2)) ] \
    && ok train_resume_sets_total || ko train_resume_sets_total "log ends at $(last_iter trI)"
"$SLIMVSR" train -q --out trI --resume && [ "$(last_iter trI)" = $((stopped + 2)) ] \
    && ok train_resume_keeps_total || ko train_resume_keeps_total "log ends at $(last_iter trI)"
BIGF=(--data big --feat 8 --blocks 1 --batch 4 --seq 4 --patch 32 --log-every 1)
sigint_case flow_sigint_checkpoints flowI "$SLIMVSR" train-flow -q "${BIGF[@]}" --iters 100000 --checkpoint-every 1000 \
    --out flowI

# ---- a second Ctrl-C stops at once (exit 130), leaving the last checkpoint whole and no temporaries ----
sigint_twice_case() {  # NAME RUN_DIR_OF_THE_STATE CMD...: signalled once its first checkpoint is there
    local name=$1 dir=$2; shift 2
    "$@" &
    local pid=$!
    wait_for $pid test -s "$dir/state.safetensors"
    sigint_twice $pid
    wait $pid
    local rc=$?
    [ $rc = 130 ] && [ -n "$(state_iter "$dir")" ] && no_temporaries "$dir" && ok "$name" \
        || ko "$name" "exit $rc, state '$(state_iter "$dir")', $(ls -A "$dir")"
}
sigint_twice_case flow_second_sigint_stops_at_once flow2 "$SLIMVSR" train-flow -q "${BIGF[@]}" --iters 100000 \
    --checkpoint-every 1 --out flow2
sigint_twice_case train_second_sigint_stops_at_once train2 "$SLIMVSR" train -q --data big --feat 32 --blocks 4 \
    --batch 2 --seq 4 --patch 32 --log-every 1 --val-every 1 --iters 100000 --out train2
"$SLIMVSR" train -q --data data --feat 32 --blocks 4 --batch 2 --seq 3 --patch 8 --iters 1 --out dense \
    && ok resume_dense_model || ko resume_dense_model "train failed"
sigint_twice_case prune_second_sigint_stops_at_once prune2/sparsity "$SLIMVSR" prune -q -m dense/model.safetensors \
    --data big --batch 2 --seq 4 --patch 32 --val-every 1 --sparsity-iters 100000 --finetune-iters 1 --out prune2

# ---- a refused start leaves nothing behind ----
expect_error flow_missing_data "--data nowhere" "$SLIMVSR" train-flow -q --data nowhere --out rf1
expect_error flow_empty_data "empty" "$SLIMVSR" train-flow -q --data empty --out rf2
expect_error flow_patch_too_large "patch" "$SLIMVSR" train-flow -q --data data --patch 64 --iters 2 --out rf3
expect_error flow_resume_without_run "state.safetensors" "$SLIMVSR" train-flow -q --out rf4 --resume
expect_error prune_resume_without_run "prune.json" "$SLIMVSR" prune -q --out rf5 --resume
left=$(ls -d rf1 rf2 rf3 rf4 rf5 2>/dev/null)
[ -z "$left" ] && ok refused_starts_leave_nothing || ko refused_starts_leave_nothing "$left"

# ---- %n%s%x in run folders and data paths: ordinary paths, in results and in messages ----
P='%n%s%x'
mkdir -p "d$P" "v$P" && cp -r data/a "d$P/" && "$FRAMETOOL" downscale "$SLIMVSR_COCKATOO" "v$P/GT" 3 10 >/dev/null \
    && "$FRAMETOOL" downscale "$SLIMVSR_COCKATOO" "v$P/BIx4" 3 40 >/dev/null
PR=(--data "d$P" --batch 2 --seq 3 --patch 8 --seed 3)
SM=("${PR[@]}" --feat 8 --blocks 1)
"$SLIMVSR" train -q "${SM[@]}" --val "v$P" --val-frames 2 --val-every 2 --iters 2 --out "t$P" \
    && "$SLIMVSR" train -q --out "t$P" --resume --iters 3 && [ "$(last_iter "t$P")" = 3 ] \
    && [ -s "t$P/best.safetensors" ] && ok train_percent_paths || ko train_percent_paths "exit status $?"
"$SLIMVSR" train-flow -q "${SM[@]}" --seq 2 --iters 2 --out "f$P" && "$SLIMVSR" train-flow -q --out "f$P" --resume \
    --iters 3 && [ "$(last_iter "f$P")" = 3 ] && ok flow_percent_paths || ko flow_percent_paths "exit status $?"
"$SLIMVSR" prune -q -m dense/model.safetensors "${PR[@]}" --val "v$P" --val-frames 2 --sparsity-iters 2 \
    --finetune-iters 1 --out "p$P" && [ -s "p$P/summary.json" ] && ok prune_percent_paths \
    || ko prune_percent_paths "exit status $?"
expect_error train_percent_val_named "--val nov$P: " "$SLIMVSR" train -q "${SM[@]}" --val "nov$P" --out "bad$P"
expect_error flow_percent_data_named "--data nod$P: " "$SLIMVSR" train-flow -q --data "nod$P" --out "bad$P"
expect_error prune_percent_data_named "nod$P: " "$SLIMVSR" prune -q -m dense/model.safetensors --data "nod$P" \
    --out "bad$P"
expect_error train_percent_run_in_use "t$P: holds a run already" "$SLIMVSR" train -q "${SM[@]}" --iters 1 --out "t$P"
expect_error prune_percent_out_is_data "d$P: is the input" "$SLIMVSR" prune -q -m dense/model.safetensors \
    "${PR[@]}" --out "d$P"
[ ! -e "bad$P" ] && ok percent_refused_leave_nothing || ko percent_refused_leave_nothing "$(ls -A "bad$P")"
