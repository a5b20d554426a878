#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0 (LICENSE)
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
# and .lock: the run folder's lock file (the lock itself goes with the process)
[ "$(ls -A runA | wc -l)" = 5 ] && [ -e runA/.lock ] && ok train_files_no_leftovers || ko train_files_no_leftovers "$(ls -A runA)"
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
[ -z "$(ls -A runK | grep -v -x -e state.safetensors -e model.safetensors -e best.safetensors -e log.jsonl -e .lock)" ] \
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

# ---- one process per run folder: a second train (or train-flow, or a --resume) is refused at once, naming
# the holder; a run killed with SIGKILL leaves no lock behind (issue 13, item 5) ----
SMALL=(--data data --feat 8 --blocks 1 --batch 2 --seq 3 --patch 8 --seed 7)
"$SLIMVSR" train -q "${SMALL[@]}" --iters 100000 --val-every 1 --log-every 1 --out runL &
pid=$!
wait_for $pid test -s runL/state.safetensors
expect_error train_locked_run "runL: in use by another slimvsr (pid $pid)" tr "${SMALL[@]}" --iters 2 --out runL
expect_error train_locked_resume "runL: in use by another slimvsr (pid $pid)" tr --out runL --resume --iters 4
expect_error train_flow_locked_run "runL: in use by another slimvsr (pid $pid)" "$SLIMVSR" train-flow -q \
    "${SMALL[@]}" --iters 2 --out runL
kill -9 $pid 2>/dev/null; wait $pid 2>/dev/null
ck=$(well_formed runL/state.safetensors)
tr --out runL --resume --iters $((ck + 1)) && [ "$(last_iter runL)" = $((ck + 1)) ] \
    && ok train_resume_after_kill_not_locked || ko train_resume_after_kill_not_locked "checkpoint '$ck'"
"$SLIMVSR" train-flow -q "${SMALL[@]}" --seq 2 --iters 100000 --log-every 1 --out flowL &
pid=$!
wait_for $pid test -s flowL/log.jsonl
expect_error train_flow_locked_flow "flowL: in use by another slimvsr (pid $pid)" "$SLIMVSR" train-flow -q \
    "${SMALL[@]}" --seq 2 --iters 2 --out flowL
kill -9 $pid 2>/dev/null; wait $pid 2>/dev/null

# ---- never an input as the run folder, nor a folder holding one (issue 13, item 4); nothing written ----
mkdir -p initd && cp runA/model.safetensors initd/
expect_error train_out_is_data "data: is the input" tr "${SMALL[@]}" --iters 1 --out data
expect_error train_out_holds_data "data: holds the input" tr --data data/a --feat 8 --blocks 1 --seq 3 --patch 8 --iters 1 \
    --out data
expect_error train_out_is_val "val: is the input" tr "${SMALL[@]}" --val val --iters 1 --out val
expect_error train_out_holds_init "initd: holds the input" tr "${SMALL[@]}" --init initd/model.safetensors --iters 1 --out initd
expect_error train_flow_out_is_data "data: is the input" "$SLIMVSR" train-flow -q "${SMALL[@]}" --iters 1 --out data
[ "$(ls -A data | wc -l)" = 2 ] && [ "$(ls -A val | wc -l)" = 2 ] && [ "$(ls -A initd)" = model.safetensors ] \
    && ok train_inputs_untouched || ko train_inputs_untouched "$(ls -A data val initd)"

# ---- numbers: the command line bounds them, a saved run's numbers are checked before any use (issue 13,
# items 2 and 3; the sanitizer build aborts on a float-to-int conversion out of range) ----
expect_error train_threads_bounded "--threads" tr "${SMALL[@]}" --iters 1 --threads 100000 --out rT
expect_error train_flow_threads_bounded "--threads" "$SLIMVSR" train-flow -q "${SMALL[@]}" --iters 1 --threads 100000 --out rT
expect_error train_patch_not_truncated "--patch" tr "${SMALL[@]}" --patch 4294967304 --iters 1 --out rT
expect_error train_flow_patch_not_truncated "--patch" "$SLIMVSR" train-flow -q "${SMALL[@]}" --patch 4294967304 --iters 1 --out rT
[ ! -e rT ] && ok train_bounded_options_leave_nothing || ko train_bounded_options_leave_nothing "$(ls -A rT)"
# set_meta FILE KEY FIELD VALUE: in the safetensors FILE, the JSON of __metadata__[KEY] gets FIELD (a.b: nested)
# set to the JSON VALUE
set_meta() {
    "$PY" - "$@" <<'PY'
import json, struct, sys
f, key, field, value = sys.argv[1:]
b = open(f, "rb").read()
n = struct.unpack("<Q", b[:8])[0]
h = json.loads(b[8:8 + n])
m = json.loads(h["__metadata__"][key])
*up, last = field.split(".")
d = m
for k in up:
    d = d[k]
d[last] = json.loads(value)
h["__metadata__"][key] = json.dumps(m)
t = json.dumps(h).encode()
t += b" " * (-len(t) % 8)
open(f, "wb").write(struct.pack("<Q", len(t)) + t + b[8 + n:])
PY
}
cp -r runA runJ && set_meta runJ/state.safetensors train opts.batch 1e30
expect_error train_state_batch_out_of_range "runJ/state.safetensors: field batch is 1e+30" tr --out runJ --resume
cp -r runA runJ2 && set_meta runJ2/state.safetensors train best_iter -1e300
expect_error train_state_counter_out_of_range "runJ2/state.safetensors: field best_iter is -1e+300" tr --out runJ2 --resume
cp -r runA runJ3 && set_meta runJ3/state.safetensors train opts.patch 8.5
expect_error train_state_patch_fraction "runJ3/state.safetensors: field patch is 8.5" tr --out runJ3 --resume
"$SLIMVSR" train-flow -q "${SMALL[@]}" --seq 2 --iters 2 --out flowJ && set_meta flowJ/state.safetensors flowtrain opts.patch 1e30
expect_error train_flow_state_patch_out_of_range "flowJ/state.safetensors: field patch is 1e+30" \
    "$SLIMVSR" train-flow -q --out flowJ --resume

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
# a NaN weight is refused at load (a corrupt file); weights so large that the loss overflows: the run stops
# at its first iteration with a message, and writes no checkpoint of NaNs
"$PY" - runA/model.safetensors nan.safetensors huge.safetensors <<'PY'
import json, struct, sys
b = bytearray(open(sys.argv[1], "rb").read())
n = struct.unpack("<Q", b[:8])[0]
lo, hi = json.loads(b[8:8 + n])["conv_last.weight"]["data_offsets"]
nan = bytearray(b)
nan[8 + n + lo:8 + n + lo + 4] = struct.pack("<f", float("nan"))
open(sys.argv[2], "wb").write(nan)
b[8 + n + lo:8 + n + hi] = struct.pack("<f", 3e38) * ((hi - lo) // 4)
open(sys.argv[3], "wb").write(b)
PY
expect_error train_nan_init_refused "conv_last.weight' holds a non-finite value" tr "${ARGS[@]}" --iters 4 --init nan.safetensors --out rN
expect_error train_diverged_stops "iteration 1: the loss is" tr "${ARGS[@]}" --iters 4 --init huge.safetensors --out rN
[ -z "$(ls -A rN 2>/dev/null | grep -vx .lock)" ] && ok train_diverged_writes_nothing || ko train_diverged_writes_nothing "$(ls -A rN)"
left=$(ls -d r1 r2 r3 r4 r5 r6 r7 missing 2>/dev/null)
[ -z "$left" ] && ok train_failed_start_leaves_nothing || ko train_failed_start_leaves_nothing "$left"

# ---- memory: a run whose --dry-run estimate exceeds the memory available is refused before its graph is
# allocated, naming the options, and leaves no run folder. Capped so that a regression fails instead of
# taking the machine's RAM: ulimit -v, or under ASan (terabytes of shadow address space) ASan's RSS cap.
cd "$T" && mkdir -p memtest && cd memtest || exit 1
mem_asan=0; ldd "$SLIMVSR" 2>/dev/null | grep -q libasan && mem_asan=1
capped() {  # capped KB CMD...
    local kb=$1; shift
    if [ $mem_asan = 1 ]; then ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}hard_rss_limit_mb=$((kb / 1024)) "$@"
    else (ulimit -v "$kb" && "$@"); fi
}
# --batch 100000 of 8x8 patches: about 225 GB, more than any machine here has
expect_error train_memory_refused "--batch 100000" capped 2000000 "$SLIMVSR" train -q --data "$T/data" \
    --feat 8 --blocks 1 --batch 100000 --seq 3 --patch 8 --iters 1 --out rMem
grep -qF "rMem: training needs about" "$T/err.txt" && grep -qF "available (" "$T/err.txt" \
    && grep -qF "a smaller --batch, --seq or --patch" "$T/err.txt" && ok train_memory_message \
    || ko train_memory_message "$(cat "$T/err.txt")"
[ ! -e rMem ] && ok train_memory_no_run_folder || ko train_memory_no_run_folder "$(ls -A rMem)"
# 64 features, 20 blocks, 8 clips x 6 frames of 32x32: 1.7 GB keeping every activation, under 1 GB with
# --recompute 2 or more; under 1.6 GB of address space (about 1.3 GB left after the libraries) the
# message names a --recompute that fits
if [ $mem_asan = 1 ]; then
    echo "SKIP train_memory_names_recompute: ASan cannot run under ulimit -v"
else
    mkdir -p bigclips && "$FRAMETOOL" downscale "$SLIMVSR_COCKATOO" bigclips/a 6 5 >/dev/null \
        || ko train_memory_setup "frametool failed"
    expect_error train_memory_names_recompute "use --recompute " capped 1600000 "$SLIMVSR" train -q --data bigclips \
        --feat 64 --blocks 20 --batch 8 --seq 6 --patch 32 --iters 1 --out rMem2
    [ ! -e rMem2 ] && ok train_memory_recompute_no_run_folder || ko train_memory_recompute_no_run_folder "$(ls -A rMem2)"
fi
# ---- synthetic motion from photos (--photos) with clips weighted by sqrt (--clip-weight): trains, resumes
# to the bytes of an uninterrupted run (both options saved in the state) ----
cd "$T" || exit 1
mkdir -p photos/sub nophotos && "$FRAMETOOL" png photos/p0.png 120 90 >/dev/null \
    && "$FRAMETOOL" png photos/sub/p1.png 90 120 >/dev/null || ko train_photos_setup "frametool failed"
PH=(--data data --photos photos --photo-share 0.5 --clip-weight sqrt --feat 8 --blocks 1 --batch 2 --seq 3 --patch 8 --log-every 1 --seed 3)
tr "${PH[@]}" --iters 20 --out runP && ok train_photos || ko train_photos "exit status $?"
"$SLIMVSR" train --data data --photos photos --feat 8 --blocks 1 --batch 2 --seq 3 --patch 8 --iters 1 --out runPd \
    2>&1 | grep -qF "25% of samples synthetic motion from 2 photos" && ok train_photos_default_share \
    || ko train_photos_default_share "the data line does not say the default share"
# stopped by Ctrl-C, resumed: the weights of the run straight through (the synthetic samples' stream resumes)
"$SLIMVSR" train -q "${PH[@]}" --iters 20 --out runPI &
pid=$!
wait_for $pid logged runPI 4
kill -INT $pid; wait $pid
stopped=$(last_iter runPI)
# bench/run_finished.py (the experiment scripts' test of a finished run): not yet, then yes
"$PY" "$REPO/bench/run_finished.py" runPI && ko run_finished_stopped "a stopped run counts as finished" \
    || ok run_finished_stopped
tr --out runPI --resume && cmp -s runPI/model.safetensors runP/model.safetensors \
    && ok "train_photos_resume_exact (stopped at $stopped)" || ko train_photos_resume_exact "resumed run differs"
"$PY" "$REPO/bench/run_finished.py" runPI && ok run_finished_done || ko run_finished_done "a finished run does not count"
expect_error train_clip_weight_bad "--clip-weight must be windows, sqrt or equal" tr --data data --clip-weight most \
    --iters 1 --out rCW
"$SLIMVSR" train --data data --clip-weight equal --feat 8 --blocks 1 --batch 2 --seq 3 --patch 8 --iters 1 --out runCW \
    2>&1 | grep -qF "clips weighted equal" && ok train_clip_weight_said || ko train_clip_weight_said "not in the data line"
expect_error train_photo_share_needs_photos "--photo-share needs --photos" tr --data data --photo-share 0.5 \
    --feat 8 --blocks 1 --iters 1 --out rP1
expect_error train_photo_share_range "--photo-share" tr --data data --photos photos --photo-share 1.5 --iters 1 --out rP2
expect_error train_photos_missing "nothere" tr --data data --photos nothere --feat 8 --blocks 1 --iters 1 --out rP3
expect_error train_photos_empty "no photos" tr --data data --photos nophotos --feat 8 --blocks 1 --patch 8 --iters 1 \
    --out rP4
[ ! -e rP1 ] && [ ! -e rP3 ] && [ ! -e rP4 ] && ok train_photos_no_run_folder || ko train_photos_no_run_folder "$(ls -d rP*)"

# train-flow the same: 64 pairs of 512x512 LR patches (GT frames of 2048x2048) and a batch of 32 x 5 frames
# need about 30 GB, more than any machine here has (so that the sanitizer build, which cannot run under
# ulimit -v, is refused too)
mkdir -p huge && for f in 0 1 2; do "$FRAMETOOL" png huge/$f.png 2048 2048; done
expect_error train_flow_memory_refused "--group 64" capped 2000000 "$SLIMVSR" train-flow -q --data huge \
    --feat 8 --blocks 1 --batch 32 --seq 5 --patch 512 --group 64 --iters 1 --out rMemF
grep -qF "rMemF: SPyNet training needs about" "$T/err.txt" && grep -qF "available (" "$T/err.txt" \
    && ok train_flow_memory_message || ko train_flow_memory_message "$(cat "$T/err.txt")"
[ ! -e rMemF ] && ok train_flow_memory_no_run_folder || ko train_flow_memory_no_run_folder "$(ls -A rMemF)"
cd "$T" || exit 1
