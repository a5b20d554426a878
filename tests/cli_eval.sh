#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0 (LICENSE)
# cli_eval.sh: `slimvsr eval` end to end on tiny clips made here: exact GT (PSNR inf, SSIM 1), numbers
# against frametool's independent PSNR, clip folders, video input, options, and bad input.
# Prints PASS/FAIL lines (counted by tests/run.sh). Needs $SLIMVSR and $FRAMETOOL.
set -u
cd "$(dirname "$0")/.."
MODEL=$(realpath tests/data/tiny/tiny_basicvsr.pth)
. tests/lib_cli.sh
cli_setup eval
cd "$T" || exit 1

# near NAME GOT WANT TOL: |GOT - WANT| <= TOL
near() {
    awk -v a="$2" -v b="$3" -v t="$4" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(d <= t) }' && ok "$1 ($2 vs $3)" \
        || ko "$1" "got $2, want $3 (tolerance $4)"
}
# mkframe OUT.png W H F: a W x H frame, box-downscaled by F from frametool's (W*F) x (H*F) gradient, so
# frames made with different F differ a little
mkframe() {
    rm -rf mk && mkdir mk && "$FRAMETOOL" png mk/a.png $(($2 * $4)) $(($3 * $4)) \
        && "$FRAMETOOL" downscale mk mk_out 1 "$4" && mv mk_out/00000000.png "$1" && rm -rf mk mk_out
}
# field FILE KEY: the first number after "KEY": in a one-line JSON file
field() { grep -o "\"$2\": [^,}]*" "$1" | head -1 | sed 's/.*: //'; }
ev() { "$SLIMVSR" eval -q -m "$MODEL" "$@"; }

# ---- setup: a 4-frame LR clip (24x20) and its x4 output as GT ----
mkdir -p lr && for f in 1 2 3 4; do mkframe lr/f$f.png 24 20 $f; done
"$SLIMVSR" upscale -q -m "$MODEL" lr gt && [ "$(ls gt | wc -l)" = 4 ] && ok setup || ko setup "upscale failed"

# The model's own output as GT: PSNR inf, SSIM 1, on RGB and Y, with a crop, in the table and in JSON.
ev --lr lr --gt gt >t.txt && grep -qE '^lr +4 +inf +1\.000000$' t.txt && grep -qE '^mean \(1 clip\) +4 +inf +1\.000000$' t.txt \
    && ok exact_gt_table || ko exact_gt_table "$(cat t.txt)"
ev --lr lr --gt gt --y --crop-border 4 --json >j.txt && [ "$(field j.txt psnr)" = 1e999 ] && [ "$(field j.txt ssim)" = 1 ] \
    && [ "$(field j.txt frames)" = 4 ] && grep -q '"y_only": true, "crop_border": 4' j.txt \
    && ok exact_gt_json || ko exact_gt_json "$(cat j.txt)"
# chunked like upscale: same chunking on both sides gives the same frames
"$SLIMVSR" upscale -q -m "$MODEL" --chunk 2 --lookahead 0 lr gt_chunk
ev --lr lr --gt gt_chunk --chunk 2 --lookahead 0 --json >j.txt && [ "$(field j.txt psnr)" = 1e999 ] \
    && ok chunked_exact || ko chunked_exact "$(cat j.txt)"
# a lossless video as LR
"$FRAMETOOL" downscale lr lr.mkv 4 1 && ev --lr lr.mkv --gt gt --json >j.txt && [ "$(field j.txt psnr)" = 1e999 ] \
    && grep -q '"name": "lr"' j.txt && ok video_lr || ko video_lr "$(cat j.txt)"
# first frames only
ev --lr lr --gt gt --max-frames 2 --json >j.txt && [ "$(field j.txt frames)" = 2 ] && ok max_frames || ko max_frames "$(cat j.txt)"
# flip: averaging four flipped runs changes the output, a little
ev --lr lr --gt gt --flip --json >j.txt && p=$(field j.txt psnr) \
    && awk -v p="$p" 'BEGIN { exit !(p > 25 && p < 1000) }' && ok "flip_changes_output ($p dB)" || ko flip_changes_output "$(cat j.txt)"
"$SLIMVSR" eval --help | grep -q -- '--flip' && ok flip_documented || ko flip_documented "--help lacks --flip"

# ---- numbers against frametool's PSNR (RGB, whole frame, its own code) on one-frame clips ----
# clips c1, c2: LR frames a, b; GT: the x4 output of another frame, so the PSNR is finite
mkdir -p LR/c1 LR/c2 LRo/c1 LRo/c2
mkframe LR/c1/f.png 24 20 1; mkframe LR/c2/f.png 24 20 3
mkframe LRo/c1/f.png 24 20 2; mkframe LRo/c2/f.png 24 20 5
"$SLIMVSR" upscale -q -m "$MODEL" LRo/c1 GT_c1 && "$SLIMVSR" upscale -q -m "$MODEL" LRo/c2 GT_c2 \
    && "$SLIMVSR" upscale -q -m "$MODEL" LR/c1 SR_c1 && "$SLIMVSR" upscale -q -m "$MODEL" LR/c2 SR_c2
mkdir -p GT && mv GT_c1 GT/c1 && mv GT_c2 GT/c2 && mkdir GT/unused
read -r p1 _ < <("$FRAMETOOL" psnr SR_c1 GT/c1)
read -r p2 _ < <("$FRAMETOOL" psnr SR_c2 GT/c2)
ev --lr LR --gt GT --json >j.txt || ko clip_folders "eval failed: $(cat j.txt)"
e1=$(grep -o '"name": "c1", "frames": 1, "psnr": [^,]*' j.txt | sed 's/.*: //')
e2=$(grep -o '"name": "c2", "frames": 1, "psnr": [^,]*' j.txt | sed 's/.*: //')
em=$(grep -o '"mean": {"clips": 2, "frames": 2, "psnr": [^,]*' j.txt | sed 's/.*: //')
near psnr_c1_matches_frametool "${e1:-none}" "$p1" 0.006
near psnr_c2_matches_frametool "${e2:-none}" "$p2" 0.006
near mean_over_clips "${em:-none}" "$(awk -v a="$p1" -v b="$p2" 'BEGIN { print (a + b) / 2 }')" 0.006
# Y differs from RGB on colour frames; a crop changes the number too
ev --lr LR/c1 --gt GT/c1 --y --json >j.txt && py=$(field j.txt psnr) \
    && awk -v a="$py" -v b="$e1" 'BEGIN { d = a - b; exit !(d > 0.01 || d < -0.01) }' && ok "y_channel_differs ($py vs $e1)" \
    || ko y_channel_differs "$(cat j.txt)"

# ---- bad input: one line naming the file or clip, non-zero exit ----
mkdir -p gt_short && cp gt/f1.png gt/f2.png gt/f3.png gt_short/
expect_error count_mismatch gt_short "$SLIMVSR" eval -m "$MODEL" --lr lr --gt gt_short
expect_error size_mismatch "expected 96x80" "$SLIMVSR" eval -m "$MODEL" --lr lr --gt lr
expect_error missing_gt no_such_gt "$SLIMVSR" eval -m "$MODEL" --lr lr --gt no_such_gt
expect_error missing_lr no_such_lr "$SLIMVSR" eval -m "$MODEL" --lr no_such_lr --gt gt
mkdir -p LR/c3 && cp LR/c1/f.png LR/c3/
expect_error missing_gt_clip c3 "$SLIMVSR" eval -m "$MODEL" --lr LR --gt GT
rm -rf LR/c3
mkdir -p gt_bad && cp gt/*.png gt_bad/ && head -c 60 gt/f3.png >gt_bad/f3.png
expect_error corrupt_gt_frame f3.png "$SLIMVSR" eval -q -m "$MODEL" --lr lr --gt gt_bad
expect_error crop_too_large "SSIM window" "$SLIMVSR" eval -m "$MODEL" --lr lr --gt gt --crop-border 40
"$SLIMVSR" eval -m "$MODEL" --lr lr >/dev/null 2>&1
[ $? -eq 2 ] && ok usage_without_gt || ko usage_without_gt "expected exit status 2"
exit 0
