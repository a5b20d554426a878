#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0 (LICENSE)
# cli_train_flow_supervised.sh: `slimvsr train-flow --supervised --photos DIR` end to end on tiny inputs
# made here (photos and a clip from frametool's PNG pattern): bad photo options each give one error line
# naming the option or file and leave no run folder; a run logs the EPE terms and the held-out EPE at its
# checkpoints; a run stopped by Ctrl-C resumes (from the saved synthetic rng) to the same weights as a run
# straight through; `--eval --photos` reports the held-out EPE.
# Prints PASS/FAIL lines (counted by tests/run.sh). Needs $SLIMVSR, $FRAMETOOL.
set -u
cd "$(dirname "$0")/.."
. tests/lib_cli.sh
cli_setup train-flow-sup
cd "$T" || exit 1

mkdir -p data/a photos/sub empty bad
"$FRAMETOOL" png data/a/00000000.png 128 128 && "$FRAMETOOL" png data/a/00000001.png 128 128 \
    && "$FRAMETOOL" png photos/p0.png 120 90 && "$FRAMETOOL" png photos/sub/p1.png 90 120 \
    && "$FRAMETOOL" png photos/sub/p2.png 200 64 && ok sup_setup || ko sup_setup "frametool failed"
echo "not a JPEG" >bad/broken.jpg

# constant learning rate, no warm-up: a run stopped and resumed follows the schedule of a straight one
SUP=(--supervised --photos photos --feat 4 --blocks 1 --batch 2 --seq 2 --patch 32 --lr 1e-3
     --lr-min 1e-3 --warmup 0 --log-every 1 --eval-pairs 4 --seed 5)
fl() { "$SLIMVSR" train-flow -q "$@"; }

# ---- bad photo options: one line naming the option or the file, non-zero exit, no run folder ----
expect_error sup_needs_photos "--supervised needs --photos" fl --supervised --patch 32 --iters 2 --out e1
expect_error sup_empty_photos "--photos $T/empty: no photos" fl --supervised --photos empty --patch 32 \
    --iters 2 --out e2
expect_error sup_corrupt_photo "bad/broken.jpg" fl --supervised --photos bad --patch 32 --iters 2 --out e3
expect_error sup_missing_photos "--photos nowhere" fl --supervised --photos nowhere --patch 32 --iters 2 \
    --out e4
expect_error sup_photos_without_supervised "only --supervised" fl --photos photos --data data --patch 32 --iters 2 \
    --out e5
expect_error sup_refuses_data "data: --supervised trains on --photos only" fl --supervised --photos photos \
    --data data --patch 32 --iters 2 --out e6
left=$(ls -d e? 2>/dev/null)
[ -z "$left" ] && ok sup_errors_leave_nothing || ko sup_errors_leave_nothing "left: $left"

# ---- a run: the supervised log terms, and the held-out EPE at every checkpoint ----
fl "${SUP[@]}" --iters 4 --checkpoint-every 2 --out runA && ok sup_run || ko sup_run "exit status $?"
"$PY" - runA/log.jsonl <<'PY' && ok sup_log || ko sup_log "see above"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
assert [r["iter"] for r in rows] == [1, 2, 3, 4], rows
for r in rows:
    assert all(k in r for k in ("loss", "epe", "epe_zero", "flow_mag", "valid")), r
    assert ("heldout_epe" in r) == (r["iter"] % 2 == 0), r
    assert 0 < r["valid"] <= 1 and r["epe"] >= 0, r
PY

# ---- Ctrl-C, then --resume to 12: the same weights as 12 iterations straight ----
fl "${SUP[@]}" --iters 12 --checkpoint-every 100 --out straight
"$SLIMVSR" train-flow -q "${SUP[@]}" --iters 100000 --checkpoint-every 100 --out cut &  # not through fl: $! is slimvsr
pid=$!
wait_for $pid logged cut 2
kill -INT $pid; wait $pid
rc=$?
stopped=$(last_iter cut)
[ $rc = 0 ] && [ -n "$stopped" ] && [ "$stopped" -lt 12 ] && ok "sup_sigint_checkpoints (at $stopped)" \
    || ko sup_sigint_checkpoints "exit $rc, stopped at '$stopped'"
"$SLIMVSR" train-flow -q --out cut --resume --iters 12 && [ "$(last_iter cut)" = 12 ] \
    && cmp -s cut/model.safetensors straight/model.safetensors && ok sup_resume_same_weights \
    || ko sup_resume_same_weights "log ends at $(last_iter cut); models differ or resume failed"

# ---- --eval --photos: the held-out EPE line (and with --json) ----
out=$("$SLIMVSR" train-flow --eval -m straight/model.safetensors --photos photos --patch 32 --eval-pairs 4 --seed 5)
echo "$out" | grep -q "4 held-out synthetic pairs of 32 x 32: end-point error" && ok sup_eval_text \
    || ko sup_eval_text "$out"
"$SLIMVSR" train-flow --eval -m straight/model.safetensors --photos photos --patch 32 --eval-pairs 4 --seed 5 --json \
    | "$PY" -c 'import json,sys; r=json.load(sys.stdin); assert r["synth_pairs"] == 4 and r["epe"] > 0, r' \
    && ok sup_eval_json || ko sup_eval_json "see above"
expect_error sup_eval_needs_input "--eval needs --data DIR or --photos DIR" "$SLIMVSR" train-flow --eval
