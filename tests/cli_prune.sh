#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0 (LICENSE)
# cli_prune.sh: `slimvsr prune` end to end on tiny clips cut from a real video: the SSL pipeline's run
# folder, the sparsity log (lambda schedule, chosen vs kept scales), the kept channels of every layer, the
# pruned model running through upscale/eval/info, both baselines, --flops, --criterion scale, re-pruning,
# a run killed (SIGKILL) in each phase and resumed (equal to an uninterrupted run), and bad input.
# Prints PASS/FAIL lines (counted by tests/run.sh). Needs $SLIMVSR, $FRAMETOOL, $SLIMVSR_COCKATOO.
set -u
cd "$(dirname "$0")/.."
. tests/lib_cli.sh
cli_setup prune
cd "$T" || exit 1

if [ -z "${SLIMVSR_COCKATOO:-}" ] || [ ! -s "$SLIMVSR_COCKATOO" ]; then
    ko prune_setup "SLIMVSR_COCKATOO is not set; run tests/data/fetch_cockatoo.sh"
    exit 0
fi
mkdir -p data val
"$FRAMETOOL" downscale "$SLIMVSR_COCKATOO" data/a 5 20 && "$FRAMETOOL" downscale "$SLIMVSR_COCKATOO" val/GT 3 10 \
    && "$FRAMETOOL" downscale "$SLIMVSR_COCKATOO" val/BIx4 3 40 && ok prune_setup || ko prune_setup "frametool failed"
# the dense model: 12 features (odd halves: 6 of 12, 3 of 6...), 2 blocks, a few iterations of training
"$SLIMVSR" train -q --data data --feat 12 --blocks 2 --batch 2 --seq 3 --patch 8 --iters 4 --seed 3 --out dense \
    && ok prune_dense_model || ko prune_dense_model "train failed"
D=dense/model.safetensors
TR=(--data data --val val --val-frames 2 --batch 2 --seq 3 --patch 8 --val-every 3 --seed 5)
pr() { "$SLIMVSR" prune -q -m "$D" "${TR[@]}" "$@"; }

# ---- SSL, half of every prunable layer ----
pr --select layer --ratio 0.5 --sparsity-iters 12 --finetune-iters 6 --out ssl && ok prune_ssl_run || ko prune_ssl_run "exit $?"
missing=""
for f in prune.json pruned-init.safetensors model.safetensors summary.json sparsity/log.jsonl sparsity/state.safetensors \
    finetune/log.jsonl finetune/state.safetensors; do [ -s "ssl/$f" ] || missing="$missing $f"; done
[ -z "$missing" ] && [ -z "$(find ssl -name '.*tmp-*')" ] && ok prune_ssl_files || ko prune_ssl_files "missing:$missing"
# the sparsity log: one line per iteration; lambda = 1e-4 more every 5 iterations; chosen scales fall
# below the kept ones; validation on the scaled network
"$PY" - ssl/sparsity/log.jsonl <<'PY' && ok prune_sparsity_log || ko prune_sparsity_log "see above"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
assert [r["iter"] for r in rows] == list(range(1, 13)), [r["iter"] for r in rows]
for r in rows:
    want = 1e-4 * ((r["iter"] - 1) // 5 + 1)
    assert abs(r["lambda"] - want) < 1e-9, (r["iter"], r["lambda"], want)
    assert r["chosen"] > 0 and r["penalty"] > 0, r
    assert ("val_psnr" in r) == (r["iter"] % 3 == 0), r
first, last = rows[0], rows[-1]
assert last["scale_chosen"] < first["scale_chosen"] and last["scale_chosen"] < last["scale_kept"], (first, last)
PY
# temporal finetuning logged; the finetune phase starts from the cut model
"$PY" - ssl/finetune/log.jsonl ssl/summary.json <<'PY' && ok prune_tf_log_and_summary || ko prune_tf_log_and_summary "see above"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
assert [r["iter"] for r in rows] == list(range(1, 7)), rows
assert all(r["l_tf"] > 0 for r in rows), rows
s = json.load(open(sys.argv[2]))
assert s["scheme"] == "ssl" and s["params"] < 0.6 * s["dense_params"] and s["flops_180x320"] < s["dense_flops_180x320"], s
assert 5 < s["val_psnr"] < 60, s
PY
# kept channels, from info --json: RSC keeps the 12-channel hidden state; every prunable layer keeps half
"$SLIMVSR" info --json ssl/model.safetensors >info.json 2>&1
"$PY" - info.json <<'PY' && ok prune_ssl_kept_channels || ko prune_ssl_kept_channels "see above"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["pruned"] and d["num_feat"] == 12 and d["params"] < d["dense_params"], d
L = {l["name"]: l for l in d["layers"]}
for b in ("backward_trunk", "forward_trunk"):
    assert L[b + ".main.0"]["cout"] == 12 and L[b + ".main.0"]["cin"] == 15   # never pruned
    for k in range(2):
        c1, c2 = L[f"{b}.main.2.{k}.conv1"], L[f"{b}.main.2.{k}.conv2"]
        assert (c1["cin"], c1["cout"], c2["cin"], c2["cout"]) == (6, 6, 6, 6), (c1, c2)
want = {"fusion": (24, 6), "upconv1": (6, 24), "upconv2": (6, 128), "conv_hr": (32, 32), "conv_last": (32, 3)}
for n, (ci, co) in want.items():
    assert (L[n]["cin"], L[n]["cout"]) == (ci, co), (n, L[n]["cin"], L[n]["cout"], ci, co)
assert all(l["cin"] == l["dense_cin"] and l["cout"] == l["dense_cout"] for n, l in L.items() if "spynet" in n)
PY
"$SLIMVSR" upscale -q -m ssl/model.safetensors val/BIx4 sr && [ "$(ls sr | wc -l)" = 3 ] && ok prune_model_upscales \
    || ko prune_model_upscales "upscale failed"
ev=$("$SLIMVSR" eval -q -m ssl/model.safetensors --lr val/BIx4 --gt val/GT --y --max-frames 2 --json \
    | "$PY" -c "import json,sys; print(json.load(sys.stdin)['mean']['psnr'])")
sv=$("$PY" -c "import json; print(json.load(open('ssl/summary.json'))['val_psnr'])")
awk -v a="$ev" -v b="$sv" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(d < 1e-6) }' \
    && ok "prune_val_equals_eval ($ev dB)" || ko prune_val_equals_eval "eval $ev, summary $sv"

# same_log A B: the same log lines but for the times
same_log() {
    "$PY" -c "
import json, sys
rd = lambda p: [{k: v for k, v in json.loads(l).items() if k != 'seconds'} for l in open(p)]
sys.exit(rd(sys.argv[1]) != rd(sys.argv[2]))" "$1" "$2"
}
# ---- killed (SIGKILL) in the sparsity phase, and in the finetune phase; resumed: the same model ----
for ph in sparsity finetune; do
    n=$([ $ph = sparsity ] && echo 7 || echo 4)
    rm -rf k
    "$SLIMVSR" prune -q -m "$D" "${TR[@]}" --select layer --ratio 0.5 --sparsity-iters 12 --finetune-iters 6 --out k &
    pid=$!
    wait_for $pid logged k/$ph "$n"
    kill -9 $pid 2>/dev/null; wait $pid 2>/dev/null
    if [ -e k/model.safetensors ] || ! logged k/$ph "$n"; then ko "prune_killed_in_$ph" "not killed in time"; continue; fi
    "$SLIMVSR" prune -q --out k --resume && cmp -s k/model.safetensors ssl/model.safetensors \
        && same_log k/$ph/log.jsonl ssl/$ph/log.jsonl \
        && ok "prune_killed_in_${ph}_resumes_identically" || ko "prune_killed_in_${ph}_resumes_identically" "differs"
done
"$SLIMVSR" prune -q --out ssl --resume && cmp -s k/model.safetensors ssl/model.safetensors \
    && ok prune_resume_finished_run || ko prune_resume_finished_run "a finished run changed on --resume"

# ---- the baselines: ssl's schedule (hold/: the cut model at the constant lr, then finetune/, annealed) ----
pr --select layer --ratio 0.5 --scheme l1-keep-last --sparsity-iters 12 --finetune-iters 6 --out keep \
    && "$SLIMVSR" info --json keep/model.safetensors >keep.json && "$PY" - keep.json keep <<'PY' \
    && ok prune_l1_keep_last || ko prune_l1_keep_last "see above"
import json, os, sys
d = json.load(open(sys.argv[1]))
L = {l["name"]: l for l in d["layers"]}
assert not os.path.exists(sys.argv[2] + "/sparsity")
hold = [json.loads(l) for l in open(sys.argv[2] + "/hold/log.jsonl")]
fine = [json.loads(l) for l in open(sys.argv[2] + "/finetune/log.jsonl")]
assert [r["iter"] for r in hold] == list(range(1, 13)) and [r["iter"] for r in fine] == list(range(1, 7))
assert len({r["lr"] for r in hold}) == 1 and fine[-1]["lr"] < fine[0]["lr"] <= hold[0]["lr"], (hold[0], fine)
assert all("l_tf" not in r for r in fine)  # no temporal finetuning by default for a baseline
for b in ("backward_trunk", "forward_trunk"):
    for k in range(2):
        c1, c2 = L[f"{b}.main.2.{k}.conv1"], L[f"{b}.main.2.{k}.conv2"]
        assert (c1["cin"], c1["cout"], c2["cin"], c2["cout"]) == (12, 6, 6, 12), (c1, c2)
assert (L["fusion"]["cout"], L["upconv2"]["cout"], L["conv_hr"]["cout"]) == (6, 128, 32)
PY
pr --select layer --ratio 0.5 --scheme l1-aligned --sparsity-iters 12 --finetune-iters 6 --out aligned \
    && "$SLIMVSR" info --json aligned/model.safetensors >al.json && "$PY" - al.json <<'PY' \
    && ok prune_l1_aligned || ko prune_l1_aligned "see above"
import json, sys
d = json.load(open(sys.argv[1]))
L = {l["name"]: l for l in d["layers"]}
assert d["num_feat"] == 6, d["num_feat"]  # the hidden state itself shrinks
for b in ("backward_trunk", "forward_trunk"):
    assert (L[b + ".main.0"]["cin"], L[b + ".main.0"]["cout"]) == (9, 6)
    for k in range(2):
        c1, c2 = L[f"{b}.main.2.{k}.conv1"], L[f"{b}.main.2.{k}.conv2"]
        assert (c1["cin"], c1["cout"], c2["cin"], c2["cout"]) == (6, 6, 6, 6), (c1, c2)
assert (L["fusion"]["cin"], L["fusion"]["cout"]) == (12, 6)
PY

# ---- fair arms (issue 17): --params with --recon-ratio cuts the reconstruction alike in every scheme and
# matches their sizes; temporal finetuning for a baseline (l1-aligned: through its channel map) ----
for scheme in ssl l1-keep-last; do
    pr --scheme $scheme --params 0.6 --recon-ratio 0.25 --sparsity-iters 2 --finetune-iters 1 --out "pa_$scheme" \
        && "$SLIMVSR" info --json "pa_$scheme/model.safetensors" >"pa_$scheme.json" \
        && ok "prune_params_${scheme}_run" || ko "prune_params_${scheme}_run" "exit $?"
done
"$PY" - pa_ssl pa_l1-keep-last <<'PY' && ok prune_params_recon_ratio_matched || ko prune_params_recon_ratio_matched "see above"
import json, sys
for run in sys.argv[1:]:
    s = json.load(open(run + "/summary.json"))
    L = {l["name"]: l for l in json.load(open(run + ".json"))["layers"]}
    # the parameters without SPyNet: at most the target, not far below (the ratio search's step)
    assert 0.55 < s["params"] / s["dense_params"] <= 0.6, s
    # a quarter of each reconstruction layer's units (rounded down) pruned, in every scheme: fusion 12 -> 9
    # filters, upconv1 12 -> 9 pixel-shuffle groups of 4, upconv2 64 -> 48 groups, conv_hr 64 -> 48
    assert (L["fusion"]["cout"], L["upconv1"]["cout"], L["upconv2"]["cout"], L["conv_hr"]["cout"]) == (9, 36, 192, 48), \
        {k: L[k]["cout"] for k in ("fusion", "upconv1", "upconv2", "conv_hr")}
PY
pr --select layer --ratio 0.5 --scheme l1-aligned --tf-weight 0.5 --sparsity-iters 2 --finetune-iters 3 --out atf \
    && "$PY" - atf <<'PY' && ok prune_tf_for_aligned_baseline || ko prune_tf_for_aligned_baseline "see above"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1] + "/finetune/log.jsonl")]
assert len(rows) == 3 and all(r["l_tf"] > 0 for r in rows), rows
assert json.load(open(sys.argv[1] + "/summary.json"))["tf_weight"] == 0.5
PY
# at this width the reconstruction holds most parameters: a target below what its cut leaves is refused
expect_error prune_params_unreachable "ssl keeps at least 0.5" "$SLIMVSR" prune -q -m "$D" "${TR[@]}" --params 0.5 \
    --recon-ratio 0.25 --out unreach
[ ! -e unreach ] && ok prune_params_unreachable_leaves_nothing || ko prune_params_unreachable_leaves_nothing "$(ls -A unreach)"
expect_error prune_params_and_flops "give one target" "$SLIMVSR" prune -m "$D" --data data --out bad --params 0.5 --flops 0.5
expect_error prune_bad_recon_ratio "--recon-ratio" "$SLIMVSR" prune -m "$D" --data data --out bad --recon-ratio 1
expect_error prune_refuses_lr_hold "--lr-hold" "$SLIMVSR" prune -m "$D" --data data --out bad --lr-hold 5

# ---- --flops: the ratio is searched so that the cut keeps at most that share of the FLOPs ----
pr --flops 0.5 --round 2 --sparsity-iters 3 --finetune-iters 2 --out fl && "$PY" - fl/summary.json <<'PY' \
    && ok prune_flops_target || ko prune_flops_target "see above"
import json, sys
s = json.load(open(sys.argv[1]))
f = s["flops_180x320"] / s["dense_flops_180x320"]
assert 0.4 < f <= 0.5 and 0 < s["ratio"] < 1, (f, s)
PY
# ---- --criterion scale: nothing chosen during the probe (the first fifth), then the choice ----
pr --criterion scale --sparsity-iters 10 --finetune-iters 2 --out sc && "$PY" - sc/sparsity/log.jsonl <<'PY' \
    && ok prune_criterion_scale || ko prune_criterion_scale "see above"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
assert [r["chosen"] for r in rows[:2]] == [0, 0] and all(r["chosen"] > 0 for r in rows[2:]), [r["chosen"] for r in rows]
PY
# ---- re-pruning an SSL-pruned model (index lists compose) ----
"$SLIMVSR" prune -q -m ssl/model.safetensors "${TR[@]}" --ratio 0.3 --sparsity-iters 3 --finetune-iters 2 --out re \
    && "$SLIMVSR" info --json re/model.safetensors >re.json \
    && "$PY" -c "import json; a=json.load(open('re.json')); b=json.load(open('info.json')); assert a['params'] < b['params'] and a['dense_params'] == b['dense_params']" \
    && ok prune_reprune_ssl || ko prune_reprune_ssl "see above"

# ---- paths are never printf formats (issue 13, item 1): a refused pruned model, and a damaged sparsity state
# under a run folder named with conversions; the message carries the names as they are ----
cp ssl/model.safetensors 'm%s%s%s%s%s%s.safetensors' && cp ssl/model.safetensors 'm%p%n.safetensors'
expect_error prune_model_path_not_a_format 'm%s%s%s%s%s%s.safetensors: ' "$SLIMVSR" prune -q \
    -m 'm%s%s%s%s%s%s.safetensors' --data data --out bad --scheme l1-aligned
expect_error prune_model_path_printed_literally 'm%p%n.safetensors: ' "$SLIMVSR" prune -q -m 'm%p%n.safetensors' \
    --data data --out bad --scheme l1-aligned
# a training state without the sparsity-learning part (the dense model's own) as the sparsity phase's
mkdir -p 'rp%s%s%s%s/sparsity' && cp ssl/prune.json 'rp%s%s%s%s/' && cp dense/state.safetensors 'rp%s%s%s%s/sparsity/'
expect_error prune_run_path_not_a_format 'rp%s%s%s%s/sparsity/state.safetensors: ' "$SLIMVSR" prune -q \
    --out 'rp%s%s%s%s' --resume

# ---- numbers in prune.json are checked before any use (issue 13, item 3) ----
cp -r ssl rj && "$PY" -c "
import json, sys
j = json.load(open(sys.argv[1])); j['round'] = 1e300; json.dump(j, open(sys.argv[1], 'w'))" rj/prune.json
expect_error prune_json_round_out_of_range "rj/prune.json: field round is 1e+300" "$SLIMVSR" prune -q --out rj --resume
expect_error prune_threads_bounded "--threads" pr --sparsity-iters 1 --finetune-iters 1 --threads 100000 --out rT
[ ! -e rT ] && ok prune_threads_bounded_leaves_nothing || ko prune_threads_bounded_leaves_nothing "$(ls -A rT)"

# ---- never an input as the run folder, nor a folder holding one (issue 13, item 4) ----
mkdir -p dm && cp "$D" dm/
expect_error prune_out_holds_model "dm: holds the input" "$SLIMVSR" prune -q -m dm/model.safetensors "${TR[@]}" \
    --sparsity-iters 1 --finetune-iters 1 --out dm
expect_error prune_out_is_data "data: is the input" pr --sparsity-iters 1 --finetune-iters 1 --out data
[ "$(ls -A dm)" = model.safetensors ] && [ "$(ls -A data)" = a ] && ok prune_inputs_untouched \
    || ko prune_inputs_untouched "$(ls -A dm data)"

# ---- a start that fails on --val leaves nothing: the same command with a good --val then runs (item 7) ----
mkdir -p valnogt/BIx4
for scheme in ssl l1-keep-last; do
    expect_error "prune_${scheme}_bad_val" "valnogt" pr --scheme $scheme --sparsity-iters 2 --finetune-iters 1 \
        --val valnogt --out "rv_$scheme"
    [ ! -e "rv_$scheme" ] && ok "prune_${scheme}_bad_val_leaves_nothing" \
        || ko "prune_${scheme}_bad_val_leaves_nothing" "$(ls -A "rv_$scheme")"
    pr --scheme $scheme --sparsity-iters 2 --finetune-iters 1 --out "rv_$scheme" && [ -s "rv_$scheme/summary.json" ] \
        && ok "prune_${scheme}_rerun_after_bad_val" || ko "prune_${scheme}_rerun_after_bad_val" "exit status $?"
done

# ---- one process per run folder (item 5): a second prune is refused at once, naming the holder; so is a
# training run on a phase's folder ----
"$SLIMVSR" prune -q -m "$D" "${TR[@]}" --val-every 1 --sparsity-iters 100000 --finetune-iters 1 --out kL &
pid=$!
wait_for $pid test -s kL/sparsity/state.safetensors
expect_error prune_locked_run "kL: in use by another slimvsr (pid $pid)" pr --sparsity-iters 1 --finetune-iters 1 --out kL
expect_error prune_locked_phase "kL/sparsity: in use by another slimvsr (pid $pid)" "$SLIMVSR" train -q --data data \
    --patch 8 --iters 1 --out kL/sparsity
kill -9 $pid 2>/dev/null; wait $pid 2>/dev/null

# ---- bad input: one line naming the option or file, no run folder left behind ----
expect_error prune_bad_ratio_zero "--ratio" "$SLIMVSR" prune -m "$D" --data data --out bad --ratio 0
expect_error prune_bad_ratio_big "--ratio" "$SLIMVSR" prune -m "$D" --data data --out bad --ratio 1.5
expect_error prune_bad_flops "--flops" "$SLIMVSR" prune -m "$D" --data data --out bad --flops 2
expect_error prune_bad_scheme "--scheme" "$SLIMVSR" prune -m "$D" --data data --out bad --scheme magic
expect_error prune_scale_needs_ssl "--criterion scale" "$SLIMVSR" prune -m "$D" --data data --out bad --criterion scale --scheme l1-aligned
printf 'not a model' >junk.safetensors
expect_error prune_bad_model "junk.safetensors" "$SLIMVSR" prune -m junk.safetensors --data data --out bad
expect_error prune_other_network other_network.pth "$SLIMVSR" prune -m "$OLDPWD/tests/data/cli/other_network.pth" --data data --out bad
expect_error prune_missing_model "nosuch.pth" "$SLIMVSR" prune -m nosuch.pth --data data --out bad
expect_error prune_aligned_of_pruned "RSC" "$SLIMVSR" prune -m ssl/model.safetensors --data data --out bad --scheme l1-aligned
expect_error prune_no_data "--data" "$SLIMVSR" prune -m "$D" --out bad
[ ! -e bad ] && ok prune_bad_input_leaves_nothing || ko prune_bad_input_leaves_nothing "$(ls -A bad)"
expect_error prune_existing_run "prune.json" "$SLIMVSR" prune -m "$D" --data data --out ssl
expect_error prune_resume_nothing "prune.json" "$SLIMVSR" prune --out nothing --resume
expect_error prune_resume_changed "--ratio" "$SLIMVSR" prune --out ssl --resume --ratio 0.3
