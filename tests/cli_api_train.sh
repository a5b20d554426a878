#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0 (LICENSE)
# cli_api_train.sh: slimvsr_train (the public API, through tests/tools/api_train.c) writes the run folder
# `slimvsr train` writes on the same options, byte for byte; its stop flag leaves a checkpoint that the
# command line resumes to the same end; bad options are refused naming them. Needs $BUILD.
set -u
cd "$(dirname "$0")/.."
. tests/lib_cli.sh
cli_setup api-train
BUILD=$(realpath "${BUILD:-build}")
API_TRAIN=$BUILD/tests/tools/api_train
cd "$T" || exit 1

# two training clips of 5 frames (48x40, 40x32) and validation GT (64x48, 3 frames) with its BI LR
"$PY" - <<'PY'
import numpy as np
rng = np.random.default_rng(11)
for name, (h, w, n) in {"a": (40, 48, 5), "b": (32, 40, 5), "gt": (48, 64, 3)}.items():
    tex = rng.integers(0, 256, (h + 2 * n, w + 2 * n, 3), dtype=np.uint8)
    np.stack([tex[i:i + h, 2 * i:2 * i + w] for i in range(n)]).tofile(f"{name}.rgb")
PY
mkdir -p data val
"$FRAMETOOL" unraw a.rgb 48 40 data/a && "$FRAMETOOL" unraw b.rgb 40 32 data/b && "$FRAMETOOL" unraw gt.rgb 64 48 val/GT \
    && "$FRAMETOOL" degrade val/GT val/BIx4 bi && ok api_train_setup || ko api_train_setup "frametool failed"
ARGS=(--data data --val val --feat 8 --blocks 1 --batch 2 --seq 3 --patch 8 --val-frames 2 --log-every 2 --seed 5
      --iters 6 --val-every 3)

same_run() {  # same_run NAME DIR_A DIR_B: the model files and the training state are equal, byte for byte
    local f diff=""
    for f in state.safetensors model.safetensors best.safetensors; do cmp -s "$2/$f" "$3/$f" || diff="$diff $f"; done
    [ -z "$diff" ] && ok "$1" || ko "$1" "differ:$diff"
}
"$SLIMVSR" train -q "${ARGS[@]}" --out cli || ko api_train_cli_run "slimvsr train failed"
if "$API_TRAIN" "${ARGS[@]}" --out api 2>api.txt; then
    same_run api_train_equals_cli cli api
    grep -q "api_train: .*iter" api.txt && ok api_train_info_lines_to_log_callback || ko api_train_info_lines_to_log_callback "$(head -3 api.txt)"
else
    ko api_train_equals_cli "api_train failed: $(tail -2 api.txt)"
fi

# the stop flag, set before the start: one iteration, a checkpoint; the CLI resumes it to the same end
if "$API_TRAIN" "${ARGS[@]}" --out stopped --stop-now 2>stop.txt && "$PY" -c "
import json, sys; rows = [json.loads(l) for l in open('stopped/log.jsonl')]; sys.exit(rows[-1]['iter'] != 1)" 2>/dev/null; then
    "$SLIMVSR" train -q --out stopped --resume && same_run api_train_stop_then_cli_resume cli stopped
else
    ko api_train_stop_then_cli_resume "$(tail -2 stop.txt) $(tail -1 stopped/log.jsonl 2>/dev/null)"
fi

expect_error api_train_bad_feat "feat 0" "$API_TRAIN" "${ARGS[@]}" --feat 0 --out bad1
expect_error api_train_missing_data "no_such_dir" "$API_TRAIN" --data no_such_dir --out bad2
[ ! -e bad1 ] && [ ! -e bad2 ] && ok api_train_refused_creates_nothing || ko api_train_refused_creates_nothing "$(ls -d bad*)"
