#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0 (LICENSE)
# cli_flow_zero.sh: the zero-flow model (--flow zero, issue 16) end to end on tiny clips cut from a real
# video: `train --flow zero` makes a model that says so (info, info --json), upscales without SPyNet
# (SLIMVSR_PROFILE=1), leaves SPyNet's weights as they were, and keeps its flow on --resume (where --flow
# is refused) and as an --init; `convert --flow` switches a model either way; bad values are refused.
# Prints PASS/FAIL lines (counted by tests/run.sh). Needs $SLIMVSR, $FRAMETOOL, $SLIMVSR_COCKATOO.
set -u
cd "$(dirname "$0")/.."
. tests/lib_cli.sh
cli_setup flow-zero
cd "$T" || exit 1

if [ -z "${SLIMVSR_COCKATOO:-}" ] || [ ! -s "$SLIMVSR_COCKATOO" ]; then
    ko flow_zero_setup "SLIMVSR_COCKATOO is not set; run tests/data/fetch_cockatoo.sh"
    exit 0
fi
mkdir -p data val
"$FRAMETOOL" downscale "$SLIMVSR_COCKATOO" data/a 5 20 && "$FRAMETOOL" downscale "$SLIMVSR_COCKATOO" val/BIx4 3 40 \
    && ok flow_zero_setup || ko flow_zero_setup "frametool failed"

ARGS=(--data data --feat 8 --blocks 1 --batch 2 --seq 3 --patch 8 --log-every 1 --seed 3)
tr() { "$SLIMVSR" train -q "$@"; }
# flow_of MODEL: the flow `info --json` reports
flow_of() { "$SLIMVSR" info --json "$1" 2>/dev/null | "$PY" -c "import json,sys; print(json.load(sys.stdin)['flow'])"; }
# same_spynet A B: the two model files hold the same SPyNet tensors, byte for byte
same_spynet() {
    "$PY" - "$1" "$2" <<'PY'
import json, struct, sys
def spynet(p):
    b = open(p, "rb").read()
    n = struct.unpack("<Q", b[:8])[0]
    h = json.loads(b[8:8 + n])
    h.pop("__metadata__", None)
    return {k: b[8 + n + v["data_offsets"][0]:8 + n + v["data_offsets"][1]]
            for k, v in h.items() if k.startswith("spynet.")}
a, b = spynet(sys.argv[1]), spynet(sys.argv[2])
assert a and a == b, "SPyNet tensors differ"
PY
}

# ---- a zero-flow run from a SPyNet model: SPyNet's weights stay as they were ----
tr "${ARGS[@]}" --iters 2 --out runS && ok flow_zero_spynet_run || ko flow_zero_spynet_run "exit status $?"
[ "$(flow_of runS/model.safetensors)" = spynet ] && ok flow_zero_default_spynet \
    || ko flow_zero_default_spynet "$(flow_of runS/model.safetensors)"
tr "${ARGS[@]}" --iters 4 --init runS/model.safetensors --flow zero --out runZ && ok flow_zero_train \
    || ko flow_zero_train "exit status $?"
"$SLIMVSR" info runZ/model.safetensors >info.txt 2>&1 && grep -q "flow: zero" info.txt && ok flow_zero_info \
    || ko flow_zero_info "$(head -2 info.txt)"
"$SLIMVSR" info --json runZ/model.safetensors | "$PY" -c "
import json, sys
j = json.load(sys.stdin)
assert j['flow'] == 'zero' and j['flops_spynet'] == 0 and j['params_spynet'] == 0, j['flow']
assert all(l['calls_per_frame'] == 0 for l in j['layers'] if l['name'].startswith('spynet.'))
" && ok flow_zero_info_json || ko flow_zero_info_json "see above"
same_spynet runS/model.safetensors runZ/model.safetensors && ok flow_zero_spynet_untouched \
    || ko flow_zero_spynet_untouched "training with zero flow changed SPyNet"
"$PY" -c "
import json
rows = [json.loads(l) for l in open('runZ/log.jsonl')]
assert len(rows) == 4 and all(r['lr_spynet'] == 0 for r in rows), rows
" && ok flow_zero_log_no_spynet_lr || ko flow_zero_log_no_spynet_lr "see above"

# ---- upscale: no time in SPyNet ----
SLIMVSR_PROFILE=1 "$SLIMVSR" upscale -m runZ/model.safetensors val/BIx4 sr 2>prof.txt && [ "$(ls sr | wc -l)" = 3 ] \
    && ok flow_zero_upscales || ko flow_zero_upscales "$(tail -2 prof.txt)"
grep -q "per frame: spynet 0.000 s" prof.txt && ok flow_zero_profile_no_spynet \
    || ko flow_zero_profile_no_spynet "$(grep profile: prof.txt)"

# ---- --resume keeps the flow; --flow is not one of the options a resume may change ----
tr --out runZ --resume --iters 6 && [ "$(last_iter runZ)" = 6 ] && [ "$(flow_of runZ/model.safetensors)" = zero ] \
    && ok flow_zero_resume_keeps || ko flow_zero_resume_keeps \
    "flow after resume: $(flow_of runZ/model.safetensors)"
expect_error flow_zero_resume_refuses_flow "--flow" "$SLIMVSR" train --out runZ --resume --flow spynet

# ---- --init: the model's own flow unless --flow says otherwise ----
tr "${ARGS[@]}" --iters 1 --init runZ/model.safetensors --out runI && [ "$(flow_of runI/model.safetensors)" = zero ] \
    && ok flow_zero_init_keeps || ko flow_zero_init_keeps "$(flow_of runI/model.safetensors)"
tr "${ARGS[@]}" --iters 1 --init runZ/model.safetensors --flow spynet --out runJ \
    && [ "$(flow_of runJ/model.safetensors)" = spynet ] && ok flow_zero_init_back_to_spynet \
    || ko flow_zero_init_back_to_spynet "$(flow_of runJ/model.safetensors)"

# ---- convert --flow both ways ----
"$SLIMVSR" convert --flow zero runS/model.safetensors z.safetensors 2>/dev/null \
    && [ "$(flow_of z.safetensors)" = zero ] && same_spynet runS/model.safetensors z.safetensors \
    && ok flow_zero_convert || ko flow_zero_convert "$(flow_of z.safetensors)"
"$SLIMVSR" convert --flow spynet z.safetensors s.safetensors 2>/dev/null && [ "$(flow_of s.safetensors)" = spynet ] \
    && cmp -s runS/model.safetensors s.safetensors && ok flow_zero_convert_back || ko flow_zero_convert_back \
    "converting back does not give the original file"

# ---- bad values ----
expect_error flow_zero_bad_train_flow "--flow" "$SLIMVSR" train "${ARGS[@]}" --flow bogus --out runX
expect_error flow_zero_bad_convert_flow "--flow" "$SLIMVSR" convert --flow bogus z.safetensors x.safetensors

# ---- --spynet: another model's SPyNet weights at the start (frozen here, so they stay as taken) ----
tr "${ARGS[@]}" --seed 9 --iters 1 --spynet runS/model.safetensors --spynet-freeze 5 --out runP \
    && same_spynet runS/model.safetensors runP/model.safetensors && ok flow_spynet_taken \
    || ko flow_spynet_taken "runP's SPyNet is not runS's"
! same_spynet runP/model.safetensors runJ/model.safetensors 2>/dev/null && ok flow_spynet_differs_without \
    || ko flow_spynet_differs_without "a run without --spynet has the same SPyNet"
expect_error flow_spynet_missing_file "nosuch.safetensors" tr "${ARGS[@]}" --iters 1 --spynet nosuch.safetensors --out runQ
[ ! -e runQ ] && ok flow_spynet_missing_leaves_nothing || ko flow_spynet_missing_leaves_nothing "runQ was made"
expect_error flow_spynet_refused_on_resume "--spynet" "$SLIMVSR" train --out runP --resume --spynet runS/model.safetensors
