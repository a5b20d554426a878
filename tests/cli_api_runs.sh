#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0 (LICENSE)
# cli_api_runs.sh: slimvsr_train, slimvsr_train_flow and slimvsr_prune (the public API, through
# tests/tools/api_run.c) write the run folders `slimvsr train`, `train-flow` and `prune` write on the same
# options, byte for byte; the stop
# flag leaves a checkpoint that the command line resumes to the same end; bad options are refused naming
# them. Needs $BUILD.
set -u
cd "$(dirname "$0")/.."
. tests/lib_cli.sh
cli_setup api-runs
BUILD=$(realpath "${BUILD:-build}")
API_RUN=$BUILD/tests/tools/api_run
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

same_run() {  # same_run NAME DIR_A DIR_B [FILES]: the model files and the training state are equal, byte for byte
    local f diff="" files=${4:-"state.safetensors model.safetensors best.safetensors"}
    for f in $files; do cmp -s "$2/$f" "$3/$f" || diff="$diff $f"; done
    [ -z "$diff" ] && ok "$1" || ko "$1" "differ:$diff"
}
"$SLIMVSR" train -q "${ARGS[@]}" --out cli || ko api_train_cli_run "slimvsr train failed"
if "$API_RUN" train "${ARGS[@]}" --out api 2>api.txt; then
    same_run api_train_equals_cli cli api
    grep -q "api_run: .*iter" api.txt && ok api_train_info_lines_to_log_callback || ko api_train_info_lines_to_log_callback "$(head -3 api.txt)"
else
    ko api_train_equals_cli "api_train failed: $(tail -2 api.txt)"
fi

# a forward-only model (direction uni) the same way
"$SLIMVSR" train -q "${ARGS[@]}" --direction uni --out cli_uni || ko api_train_uni_cli_run "slimvsr train failed"
if "$API_RUN" train "${ARGS[@]}" --direction uni --out api_uni 2>api_uni.txt; then
    same_run api_train_uni_equals_cli cli_uni api_uni
    cmp -s cli/model.safetensors cli_uni/model.safetensors && ko api_train_uni_differs "a uni run wrote the bi model" \
        || ok api_train_uni_differs
else
    ko api_train_uni_equals_cli "api_run failed: $(tail -2 api_uni.txt)"
fi

# the stop flag, set before the start: one iteration, a checkpoint; the CLI resumes it to the same end
if "$API_RUN" train "${ARGS[@]}" --out stopped --stop-now 2>stop.txt && "$PY" -c "
import json, sys; rows = [json.loads(l) for l in open('stopped/log.jsonl')]; sys.exit(rows[-1]['iter'] != 1)" 2>/dev/null; then
    "$SLIMVSR" train -q --out stopped --resume && same_run api_train_stop_then_cli_resume cli stopped
else
    ko api_train_stop_then_cli_resume "$(tail -2 stop.txt) $(tail -1 stopped/log.jsonl 2>/dev/null)"
fi

# train-flow: SPyNet's photometric pretraining (the default learning rate is the mode's)
FL=(--data data --feat 8 --blocks 1 --batch 2 --patch 8 --iters 4 --checkpoint-every 2 --log-every 1 --seed 5)
"$SLIMVSR" train-flow -q "${FL[@]}" --out fcli || ko api_flow_cli_run "slimvsr train-flow failed"
if "$API_RUN" flow "${FL[@]}" --out fapi 2>fapi.txt; then
    same_run api_train_flow_equals_cli fcli fapi "model.safetensors state.safetensors"
else
    ko api_train_flow_equals_cli "api_run flow failed: $(tail -2 fapi.txt)"
fi

# prune: SSL on the trained model, every phase (sparsity, cut, finetuning with the teacher)
PR=(-m cli/model.safetensors --data data --val val --val-frames 2 --batch 2 --seq 3 --patch 8 --val-every 3 --seed 5
    --select layer --ratio 0.5 --sparsity-iters 4 --finetune-iters 3)
"$SLIMVSR" prune -q "${PR[@]}" --out pcli || ko api_prune_cli_run "slimvsr prune failed"
if "$API_RUN" prune "${PR[@]}" --out papi 2>papi.txt; then
    same_run api_prune_equals_cli pcli papi "model.safetensors pruned-init.safetensors sparsity/state.safetensors finetune/state.safetensors"
else
    ko api_prune_equals_cli "api_run prune failed: $(tail -2 papi.txt)"
fi
expect_error api_prune_bad_lambda_every "lambda_every 0" "$API_RUN" prune "${PR[@]}" --out bad3 --lambda-every 0
expect_error api_prune_bad_ratio "--ratio 1.5" "$API_RUN" prune "${PR[@]}" --ratio 1.5 --out bad4

expect_error api_train_bad_feat "feat 0" "$API_RUN" train "${ARGS[@]}" --feat 0 --out bad1
expect_error api_train_missing_data "no_such_dir" "$API_RUN" train --data no_such_dir --out bad2
[ ! -e bad1 ] && [ ! -e bad2 ] && [ ! -e bad3 ] && [ ! -e bad4 ] && ok api_train_refused_creates_nothing || ko api_train_refused_creates_nothing "$(ls -d bad*)"
