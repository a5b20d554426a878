#!/usr/bin/env bash
# cli_train.sh: `slimvsr train` end to end on tiny clips cut from a real video: the run folder, the log,
# validation equal to `slimvsr eval`, repeatability, a run killed with SIGKILL and resumed (equal to an
# uninterrupted run), Ctrl-C, --resume rules, --dry-run, and bad input.
# Prints PASS/FAIL lines (counted by tests/run.sh). Needs $SLIMVSR, $FRAMETOOL, $SLIMVSR_COCKATOO.
set -u
cd "$(dirname "$0")/.."
. tests/lib_cli.sh
cli_setup train
cd "$T" || exit 1

if [ -z "${SLIMVSR_COCKATOO:-}" ] || [ ! -s "$SLIMVSR_COCKATOO" ]; then
    ko train_setup "SLIMVSR_COCKATOO is not set; run tests/data/fetch_cockatoo.sh"
    exit 0
fi
# training clips: the first 5 frames of cockatoo.mp4 at 64x36 and at 80x45; validation: 3 frames, GT
# 128x72 with its 4x smaller LR (box-downscaled: any LR works for checking the plumbing)
mkdir -p data val
"$FRAMETOOL" downscale "$SLIMVSR_COCKATOO" data/a 5 20 && "$FRAMETOOL" downscale "$SLIMVSR_COCKATOO" data/b 5 16 \
    && "$FRAMETOOL" downscale "$SLIMVSR_COCKATOO" val/GT 3 10 && "$FRAMETOOL" downscale "$SLIMVSR_COCKATOO" val/BIx4 3 40 \
    && ok train_setup || ko train_setup "frametool failed"

ARGS=(--data data --val val --feat 8 --blocks 1 --batch 2 --seq 3 --patch 8 --val-frames 2 --log-every 2 --seed 7)
tr() { "$SLIMVSR" train -q "$@"; }

# ---- a whole run ----
tr "${ARGS[@]}" --iters 12 --val-every 4 --out runA && ok train_run || ko train_run "exit status $?"
missing=""
for f in state.safetensors model.safetensors best.safetensors log.jsonl; do [ -s "runA/$f" ] || missing="$missing $f"; done
[ -z "$missing" ] && [ "$(well_formed runA/*.safetensors)" = 12 ] && ok train_files || ko train_files "missing:$missing"
[ "$(ls -A runA | wc -l)" = 4 ] && ok train_files_no_leftovers || ko train_files_no_leftovers "$(ls -A runA)"
"$PY" - runA/log.jsonl <<'PY' && ok train_log_jsonl || ko train_log_jsonl "see above"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
iters = [r["iter"] for r in rows]
assert iters == [2, 4, 6, 8, 10, 12], iters
lrs = [r["lr"] for r in rows]
assert lrs == sorted(lrs, reverse=True) and lrs[0] <= 2e-4 and lrs[-1] < 1e-5, lrs  # cosine to 1e-7
for r in rows:
    assert r["loss"] > 0 and r["lr"] > 0 and "seconds" in r, r
    assert ("val_psnr" in r) == (r["iter"] % 4 == 0), r
    if "val_psnr" in r:
        assert 5 < r["val_psnr"] < 60 and 0 < r["val_ssim"] <= 1, r
PY
"$SLIMVSR" info runA/model.safetensors >info.txt 2>&1 && grep -q "8 features, 1 blocks" info.txt && ok train_model_info || ko train_model_info "$(head -3 info.txt)"
"$SLIMVSR" upscale -q -m runA/model.safetensors val/BIx4 sr && [ "$(ls sr | wc -l)" = 3 ] && ok train_model_upscales \
    || ko train_model_upscales "upscale failed"
# validation = `slimvsr eval` of best.safetensors under the same protocol (Y, first 2 frames)
best=$("$PY" -c "import json; print(max(json.loads(l).get('val_psnr', -1) for l in open('runA/log.jsonl')))")
ev=$("$SLIMVSR" eval -q -m runA/best.safetensors --lr val/BIx4 --gt val/GT --y --max-frames 2 --json \
    | "$PY" -c "import json,sys; print(json.load(sys.stdin)['mean']['psnr'])")
awk -v a="$best" -v b="$ev" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(d < 1e-6) }' \
    && ok "train_val_equals_eval ($best dB)" || ko train_val_equals_eval "log $best, eval $ev"

# ---- repeatable: the same command gives the same weights, byte for byte ----
tr "${ARGS[@]}" --iters 12 --val-every 4 --out runB && cmp -s runA/model.safetensors runB/model.safetensors \
    && ok train_repeatable || ko train_repeatable "two identical runs differ"

# ---- SIGKILL mid-run, then --resume: nothing corrupted, and the result equals an uninterrupted run ----
# killed once iteration 10 is logged: after the checkpoint at 8, during iteration 11 or 12 (maybe while
# the checkpoint at 12 is being written), well before 24
"$SLIMVSR" train -q "${ARGS[@]}" --iters 24 --val-every 4 --out runK &
pid=$!
wait_for $pid logged runK 10
kill -9 $pid 2>/dev/null; wait $pid 2>/dev/null
last=$(last_iter runK)
ck=$(well_formed runK/state.safetensors)
if [ -n "$last" ] && [ "$last" -lt 24 ] && [ -n "$ck" ] && [ "$ck" -ge 8 ] && [ "$ck" -lt 24 ]; then
    ok "train_killed_midway (log at iter $last, checkpoint at $ck)"
else ko train_killed_midway "log at iter '$last', checkpoint at '$ck'"; fi
# every file is whole (atomic writes) and the models load; the log lines are JSON, each iteration once
well_formed runK/*.safetensors >/dev/null && "$SLIMVSR" info runK/model.safetensors >/dev/null 2>&1 \
    && "$SLIMVSR" info runK/best.safetensors >/dev/null 2>&1 && ok train_killed_files_load \
    || ko train_killed_files_load "a file is not whole after SIGKILL"
tr --out runK --resume && ok train_resume || ko train_resume "exit status $?"
# the resume removes any temporary that a kill during a checkpoint write left behind
[ -z "$(ls -A runK | grep -v -x -e state.safetensors -e model.safetensors -e best.safetensors -e log.jsonl)" ] \
    && ok train_resume_no_leftovers || ko train_resume_no_leftovers "$(ls -A runK)"
tr "${ARGS[@]}" --iters 24 --val-every 4 --out runU
cmp -s runK/model.safetensors runU/model.safetensors && cmp -s runK/best.safetensors runU/best.safetensors \
    && cmp -s runK/state.safetensors runU/state.safetensors \
    && ok train_resumed_equals_uninterrupted || ko train_resumed_equals_uninterrupted "the resumed run's files differ"
"$PY" - runK/log.jsonl runU/log.jsonl <<'PY' && ok train_resumed_log || ko train_resumed_log "see above"
import json, sys
k = [json.loads(l) for l in open(sys.argv[1])]
u = [json.loads(l) for l in open(sys.argv[2])]
assert [r["iter"] for r in k] == [r["iter"] for r in u] == list(range(2, 25, 2)), [r["iter"] for r in k]
for a, b in zip(k, u):
    assert a["loss"] == b["loss"] and a.get("val_psnr") == b.get("val_psnr") and a["lr"] == b["lr"], (a, b)
PY

# ---- --resume rules ----
expect_error train_refuses_existing_run "runA" tr "${ARGS[@]}" --iters 12 --out runA
expect_error train_resume_refuses_changes "--lr" tr --out runA --resume --lr 1e-3
expect_error train_resume_refuses_fewer_iters "--iters 8" tr --out runA --resume --iters 8
tr --out runA --resume --iters 16 && [ "$(last_iter runA)" = 16 ] && [ "$(well_formed runA/state.safetensors)" = 16 ] \
    && ok train_resume_extends || ko train_resume_extends "log ends at $(last_iter runA)"
expect_error train_resume_without_run "state.safetensors" tr --out nothing_here --resume
[ ! -e nothing_here ] && ok train_resume_without_run_leaves_nothing || ko train_resume_without_run_leaves_nothing "nothing_here made"

# ---- Ctrl-C: stops after the current iteration with a checkpoint, exit 0; --resume finishes (here with a
# shorter total, from another folder: the saved --data/--val paths are absolute) ----
"$SLIMVSR" train -q "${ARGS[@]}" --iters 400 --val-every 100 --out runI &
pid=$!
wait_for $pid logged runI 4
kill -INT $pid; wait $pid
rc=$?
stopped=$(last_iter runI)
ck=$(well_formed runI/state.safetensors 2>/dev/null)
[ $rc -eq 0 ] && [ -n "$stopped" ] && [ "$stopped" -lt 400 ] && [ "$ck" = "$stopped" ] \
    && ok "train_sigint_checkpoints (stopped at $stopped)" || ko train_sigint_checkpoints "exit $rc, log at '$stopped', checkpoint at '$ck'"
mkdir -p elsewhere && (cd elsewhere && "$SLIMVSR" train -q --out ../runI --resume --iters $((stopped + 3))) \
    && [ "$(last_iter runI)" = $((stopped + 3)) ] && "$PY" - runI/log.jsonl <<'PY' && ok train_sigint_resumes || ko train_sigint_resumes "see above"
import json, sys
it = [json.loads(l)["iter"] for l in open(sys.argv[1])]
assert it == sorted(set(it)), it
PY

# ---- --dry-run: the plan and the memory table on stdout, nothing written ----
"$SLIMVSR" train "${ARGS[@]}" --out runD --dry-run >dry.txt 2>&1 && [ "$(grep -c -- "--recompute [0-9]" dry.txt)" -ge 2 ] \
    && grep -q "parameters" dry.txt && [ ! -e runD ] && ok train_dry_run || ko train_dry_run "$(cat dry.txt)"

# ---- bad input: one line naming the file or option, non-zero exit, and no run folder left behind ----
mkdir -p empty valbad/x
"$FRAMETOOL" png notamodel.png 8 8
echo x >afile
expect_error train_missing_data "--data nowhere" tr --data nowhere --out r1
expect_error train_empty_data "empty" tr --data empty --out r2
expect_error train_missing_val "--val nowhere" tr "${ARGS[@]}" --val nowhere --out r3
expect_error train_val_without_gt "valbad" tr "${ARGS[@]}" --val valbad --out r4
expect_error train_out_parent_missing "missing/run" tr "${ARGS[@]}" --iters 2 --out missing/run
expect_error train_out_parent_is_file "afile/run" tr "${ARGS[@]}" --iters 2 --out afile/run
expect_error train_out_is_file "afile" tr "${ARGS[@]}" --iters 2 --out afile
expect_error train_init_not_a_model "notamodel.png" tr "${ARGS[@]}" --init notamodel.png --out r5
expect_error train_patch_too_large "patch" tr "${ARGS[@]}" --patch 64 --out r6
expect_error train_seq_one "--seq" tr "${ARGS[@]}" --seq 1 --out r7
expect_error train_no_out "--out" tr "${ARGS[@]}"
# a NaN weight: the run stops at its first iteration with a message, and writes no checkpoint of NaNs
"$PY" - runA/model.safetensors nan.safetensors <<'PY'
import json, struct, sys
b = bytearray(open(sys.argv[1], "rb").read())
n = struct.unpack("<Q", b[:8])[0]
o = 8 + n + json.loads(b[8:8 + n])["conv_last.weight"]["data_offsets"][0]
b[o:o + 4] = struct.pack("<f", float("nan"))
open(sys.argv[2], "wb").write(b)
PY
expect_error train_diverged_stops "iteration 1: the loss is nan" tr "${ARGS[@]}" --iters 4 --init nan.safetensors --out rN
[ -z "$(ls -A rN 2>/dev/null)" ] && ok train_diverged_writes_nothing || ko train_diverged_writes_nothing "$(ls -A rN)"
left=$(ls -d r1 r2 r3 r4 r5 r6 r7 missing 2>/dev/null)
[ -z "$left" ] && ok train_failed_start_leaves_nothing || ko train_failed_start_leaves_nothing "$left"
