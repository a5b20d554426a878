#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0 (LICENSE)
# cli_uni.sh: the forward-only model (`train --direction uni`, issue 17 item 4) end to end on tiny clips cut
# from a real video: the model says so (info, info --json: no backward_trunk, fusion 12 -> 12), upscale
# plans chunk 1 and lookahead 0 and says so in --dry-run, refuses a larger --chunk or --lookahead, and its
# frames of a clip cut to its first frames equal the first frames of the whole clip's (zero look-ahead);
# --resume keeps it, --init must match it; `prune` (SSL and both baselines) keeps the flag and the pruned
# model upscales; convert round-trips it; bad values are refused naming the option.
# Prints PASS/FAIL lines (counted by tests/run.sh). Needs $SLIMVSR, $FRAMETOOL, $SLIMVSR_COCKATOO, ffmpeg.
set -u
cd "$(dirname "$0")/.."
. tests/lib_cli.sh
cli_setup uni
cd "$T" || exit 1

cli_need_video uni || exit 0
mkdir -p data val
"$FRAMETOOL" downscale "$SLIMVSR_COCKATOO" data/a 5 20 && "$FRAMETOOL" downscale "$SLIMVSR_COCKATOO" val/GT 3 10 \
    && "$FRAMETOOL" downscale "$SLIMVSR_COCKATOO" val/BIx4 3 40 && "$FRAMETOOL" downscale "$SLIMVSR_COCKATOO" lr 6 40 \
    && ok uni_setup || ko uni_setup "frametool failed"

ARGS=(--data data --feat 12 --blocks 2 --batch 2 --seq 3 --patch 8 --log-every 1 --seed 3)
tr() { "$SLIMVSR" train -q "$@"; }
# json_of MODEL KEY: what `info --json` reports
json_of() { "$SLIMVSR" info --json "$1" 2>/dev/null | "$PY" -c "import json,sys; print(json.load(sys.stdin)['$2'])"; }
# same_pngs DIR_A DIR_B N...: frames N.png of both folders are the same files, byte for byte
same_pngs() {
    local a=$1 b=$2 f; shift 2
    for f in "$@"; do cmp -s "$a/$f.png" "$b/$f.png" || return 1; done
}

# ---- train a random uni model; info ----
tr "${ARGS[@]}" --direction uni --iters 3 --out runU && ok uni_train || ko uni_train "exit status $?"
M=runU/model.safetensors
[ "$(json_of $M direction)" = uni ] && ok uni_info_json || ko uni_info_json "direction $(json_of $M direction)"
"$SLIMVSR" info --json $M | "$PY" -c "
import json, sys
j = json.load(sys.stdin)
names = [l['name'] for l in j['layers']]
assert not any(n.startswith('backward_trunk') for n in names), names
f = [l for l in j['layers'] if l['name'] == 'fusion'][0]
assert f['cin'] == 12 and f['cout'] == 12, f
assert all(l['calls_per_frame'] == 1 for l in j['layers'] if l['name'].startswith('spynet.')), 'SPyNet calls'
" && ok uni_info_layers || ko uni_info_layers "see above"
"$SLIMVSR" info $M | head -1 | grep -q "direction: uni" && ok uni_info_text \
    || ko uni_info_text "$("$SLIMVSR" info $M | head -1)"
tr "${ARGS[@]}" --iters 1 --out runB && [ "$(json_of runB/model.safetensors direction)" = bi ] \
    && ok uni_default_bi || ko uni_default_bi "a plain train made $(json_of runB/model.safetensors direction)"

# ---- upscale: chunk 1, no lookahead, no dependence on later frames ----
"$SLIMVSR" upscale --dry-run -m $M lr sr >plan.txt 2>&1 && grep -q "^chunk       1$" plan.txt \
    && grep -q "^lookahead   0$" plan.txt && grep -q "^direction   uni: .*forced" plan.txt && ok uni_dry_run \
    || ko uni_dry_run "$(cat plan.txt)"
"$SLIMVSR" upscale -q -m $M lr sr && [ "$(ls sr | wc -l)" = 6 ] && ok uni_upscale || ko uni_upscale "exit status $?"
mkdir -p lr3 && cp lr/00000000.png lr/00000001.png lr/00000002.png lr3/
"$SLIMVSR" upscale -q -m $M lr3 sr3 && same_pngs sr sr3 00000000 00000001 00000002 && ok uni_no_lookahead \
    || ko uni_no_lookahead "the first 3 frames of the clip differ from the clip cut to 3"
"$SLIMVSR" upscale -q -m $M --frames 2:5 lr seg && same_pngs sr seg 00000002 00000003 00000004 \
    && ok uni_segment_no_chunk || ko uni_segment_no_chunk "segment differs"
expect_error uni_refuses_lookahead "--lookahead 2" "$SLIMVSR" upscale -m $M --lookahead 2 lr x1
expect_error uni_refuses_chunk "--chunk 4" "$SLIMVSR" upscale -m $M --chunk 4 lr x2
"$SLIMVSR" upscale -q -m $M --chunk 1 --lookahead 0 lr sr1 && ok uni_accepts_chunk_1 || ko uni_accepts_chunk_1 "refused"
expect_error uni_eval_refuses_lookahead "--lookahead 3" "$SLIMVSR" eval -m $M --lookahead 3 --lr val/BIx4 --gt val/GT

# ---- an interrupted upscale: saved every 8 frames, continued, equal to an uninterrupted run ----
"$FRAMETOOL" downscale "$SLIMVSR_COCKATOO" lr24 24 10 && "$SLIMVSR" upscale -q --threads 1 -m $M lr24 full24 \
    || ko uni_resume_setup "frametool or upscale failed"
pngs_at_least() { [ "$(ls "$1" 2>/dev/null | grep -c '\.png$')" -ge "$2" ]; }
for n in 3 13; do
    "$SLIMVSR" upscale -q --threads 1 -m $M lr24 "cut$n" 2>/dev/null &
    pid=$!
    wait_for "$pid" pngs_at_least "cut$n.partial" "$n"
    kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    "$SLIMVSR" upscale --threads 1 -m $M lr24 "cut$n" >/dev/null 2>"err$n.txt"
    # where it went on: a saved frame, a multiple of 8 (and past 0 once 13 frames were written)
    at=$(sed -n 's/.*continued .* at frame \([0-9]*\).*/\1/p' "err$n.txt")
    [ -n "$at" ] && [ $((at % 8)) = 0 ] && { [ "$n" = 3 ] || [ "$at" -ge 8 ]; } && diff -r full24 "cut$n" >/dev/null \
        && ok "uni_resume_$n" \
        || ko "uni_resume_$n" "continued at '$at' (a multiple of 8 wanted): $(tail -1 "err$n.txt")"
done

# ---- resume and --init keep it; --init of another direction is refused ----
tr --out runU --resume --iters 4 && [ "$(json_of $M direction)" = uni ] && ok uni_resume_keeps \
    || ko uni_resume_keeps "direction after resume: $(json_of $M direction)"
expect_error uni_resume_refuses_direction "--direction" "$SLIMVSR" train --out runU --resume --direction bi
tr "${ARGS[@]}" --iters 1 --init $M --out runI && [ "$(json_of runI/model.safetensors direction)" = uni ] \
    && ok uni_init_keeps || ko uni_init_keeps "$(json_of runI/model.safetensors direction)"
expect_error uni_init_mismatch "cannot be switched" tr "${ARGS[@]}" --iters 1 --init $M --direction bi --out runJ
expect_error uni_bad_direction "--direction" "$SLIMVSR" train "${ARGS[@]}" --direction sideways --out runX

# ---- convert round trip (the model was trained on by the resume above: its frames again) ----
"$SLIMVSR" convert $M c.safetensors >/dev/null 2>&1 && [ "$(json_of c.safetensors direction)" = uni ] \
    && "$SLIMVSR" upscale -q -m $M lr3 srm && "$SLIMVSR" upscale -q -m c.safetensors lr3 src \
    && same_pngs srm src 00000000 00000001 00000002 && ok uni_convert \
    || ko uni_convert "convert lost the direction or changed frames"

# ---- prune: SSL and the baselines keep the flag; the pruned models upscale ----
TR=(--data data --val val --val-frames 2 --batch 2 --seq 3 --patch 8 --val-every 3 --seed 5)
for scheme in ssl l1-keep-last l1-aligned; do
    "$SLIMVSR" prune -q -m $M "${TR[@]}" --scheme $scheme --select layer --ratio 0.5 --sparsity-iters 3 \
        --finetune-iters 2 --out "p_$scheme" && [ "$(json_of p_$scheme/model.safetensors direction)" = uni ] \
        && [ "$(json_of p_$scheme/model.safetensors pruned)" = True ] \
        && "$SLIMVSR" upscale -q -m "p_$scheme/model.safetensors" lr3 "sr_$scheme" \
        && [ "$(ls sr_$scheme | wc -l)" = 3 ] \
        && ok "uni_prune_$scheme" || ko "uni_prune_$scheme" "exit status $?"
done
