#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0 (LICENSE)
# cli_tf_drift.sh: bench/tf_drift.c (issue 17's Temporal Finetuning analysis): a model against itself has
# zero hidden-state error and no PSNR drop on every frame; the shipped SSL model against the dense one it
# was pruned from has a positive, finite error on every frame of both branches; a teacher of another
# hidden width is refused with a message. Needs $SLIMVSR (beside its bench/), $FRAMETOOL, $SLIMVSR_COCKATOO.
set -u
cd "$(dirname "$0")/.."
. tests/lib_cli.sh
cli_setup tf_drift
TD="$(dirname "$SLIMVSR")/bench/tf_drift"  # the build folder of the slimvsr under test
cd "$T" || exit 1
[ -x "$TD" ] || { ko tf_drift_setup "$TD missing (make tests builds it)"; exit 0; }
mkdir -p clip && "$FRAMETOOL" downscale "$SLIMVSR_COCKATOO" clip/GT 5 10 >/dev/null \
    && "$FRAMETOOL" degrade clip/GT clip/LR bi >/dev/null && ok tf_drift_setup || ko tf_drift_setup "frametool failed"
DENSE=$REPO/models/basicvsr-dense.safetensors SSL=$REPO/models/basicvsr-ssl.safetensors
"$TD" -m "$DENSE" --teacher "$DENSE" --lr clip/LR --gt clip/GT --y >self.json && "$PY" - self.json <<'PY' \
    && ok tf_drift_self_zero || ko tf_drift_self_zero "see above"
import json, sys
j = json.load(open(sys.argv[1]))
assert j["frames"] == 5 and len(j["per_frame"]) == 5, j["frames"]
for f in j["per_frame"]:
    assert f["hidden_err_forward"] == 0 and f["hidden_err_backward"] == 0 and f["psnr_drop"] == 0, f
    assert 20 < f["psnr"] < 60, f
PY
"$TD" -m "$SSL" --teacher "$DENSE" --lr clip/LR --gt clip/GT >ssl.json && "$PY" - ssl.json <<'PY' \
    && ok tf_drift_pruned_positive || ko tf_drift_pruned_positive "see above"
import json, math, sys
j = json.load(open(sys.argv[1]))
assert len(j["per_frame"]) == 5
for f in j["per_frame"]:
    for k in ("hidden_err_forward", "hidden_err_backward"):
        assert 0 < f[k] < 10 and math.isfinite(f[k]), f
    assert abs(f["psnr_drop"] - (f["psnr_teacher"] - f["psnr"])) < 1e-3, f
PY
expect_error tf_drift_width_refused "not comparable" "$TD" -m "$REPO/tests/data/tiny/tiny_basicvsr.pth" \
    --teacher "$DENSE" --lr clip/LR --gt clip/GT
