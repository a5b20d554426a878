#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0 (LICENSE)
# cli_jpeg.sh: folders of JPEG frames, as ffmpeg writes them (1.jpg, 2.jpg, ..., 10.jpg, 11.jpg), as the
# input of upscale, eval, train and train-flow: read in natural order, output as PNG under the same names;
# a truncated frame and a folder mixing PNG and JPEG frames are refused with one line naming a file.
# Prints PASS/FAIL lines (counted by tests/run.sh). Needs $SLIMVSR, $FRAMETOOL, $SLIMVSR_COCKATOO, ffmpeg.
set -u
cd "$(dirname "$0")/.."
MODEL=$(realpath tests/data/tiny/tiny_basicvsr.pth)
. tests/lib_cli.sh
cli_setup jpeg
cli_need_video jpeg || exit 0
cd "$T" || exit 1

# 11 frames one second apart (distinct pictures, so that an order mix-up shows), 64x36: as JPEG (ffmpeg's
# %d: 1.jpg ... 11.jpg, whose strcmp order is 1, 10, 11, 2, ...) and, as a reference, losslessly as PNG
# with zero-padded names (strcmp order and natural order agree).
SEL="select=not(mod(n\,20)),scale=64:36:flags=area"
mkdir -p jpg ref
ffmpeg -nostdin -loglevel error -i "$SLIMVSR_COCKATOO" -vf "$SEL" -fps_mode passthrough -frames:v 11 -q:v 2 jpg/%d.jpg \
    && ffmpeg -nostdin -loglevel error -i "$SLIMVSR_COCKATOO" -vf "$SEL" -fps_mode passthrough -frames:v 11 ref/%04d.png \
    && [ -f jpg/11.jpg ] && [ -f ref/0011.png ] && ok jpeg_setup || ko jpeg_setup "ffmpeg failed"

# The JPEG folder in natural order: frame k is the reference's frame k (within JPEG error), for every k.
read -r n w h fps < <("$FRAMETOOL" probe jpg)
[ "$n $w $h" = "11 64 36" ] && ok jpeg_probe || ko jpeg_probe "got '$n $w $h'"
read -r p n < <("$FRAMETOOL" psnr jpg ref)
awk -v p="$p" 'BEGIN { exit !(p > 30) }' && [ "$n" = 11 ] && ok "jpeg_natural_order (worst frame $p dB against the PNG reference)" \
    || ko jpeg_natural_order "worst frame $p dB over $n frames: frames out of order?"

# upscale: JPEG in, PNG out under the input's names; the same as upscaling the same pixels stored as PNG
# (decoded by slimvsr itself: frametool downscale by 1 writes them as 00000000.png ...).
"$FRAMETOOL" downscale jpg decoded 11 1 || ko jpeg_decode "frametool failed"
if "$SLIMVSR" upscale -q -m "$MODEL" jpg sr_jpg && "$SLIMVSR" upscale -q -m "$MODEL" decoded sr_png; then
    names=$(ls sr_jpg | grep -v '^\.' | sort -n | tr '\n' ' ')
    want=$(for i in $(seq 1 11); do printf '%s.png ' "$i"; done)
    [ "$names" = "$want" ] && ok jpeg_upscale_names || ko jpeg_upscale_names "got '$names'"
    read -r n w h fps < <("$FRAMETOOL" probe sr_jpg)
    [ "$n $w $h" = "11 256 144" ] && ok jpeg_upscale_size || ko jpeg_upscale_size "got '$n $w $h'"
    read -r p n < <("$FRAMETOOL" psnr sr_jpg sr_png)
    [ "$p" = "99.00" ] && [ "$n" = 11 ] && ok jpeg_upscale_equals_png || ko jpeg_upscale_equals_png "PSNR $p over $n frames"
    # and each output frame k is the upscaled input frame k (against the PNG reference, bicubic x4 down)
    "$SLIMVSR" upscale -q -m bicubic jpg bic_jpg && "$SLIMVSR" upscale -q -m bicubic ref bic_ref \
        && read -r p n < <("$FRAMETOOL" psnr bic_jpg bic_ref) \
        && awk -v p="$p" 'BEGIN { exit !(p > 30) }' && [ "$n" = 11 ] && ok "jpeg_upscale_order ($p dB)" \
        || ko jpeg_upscale_order "worst frame ${p:-?} dB over ${n:-?} frames"
else
    ko jpeg_upscale "upscale failed"
fi

# eval: a JPEG LR folder against a PNG GT folder (the reference, upscaled: any GT of the right size works)
"$SLIMVSR" eval -q -m bicubic --lr jpg --gt bic_ref --json > eval.json 2>eval.err \
    && grep -q '"frames": *11' eval.json && ok jpeg_eval || ko jpeg_eval "$(head -c 300 eval.err eval.json)"

# refused: a folder of PNG and JPEG frames (naming one of each), a truncated JPEG frame (naming it)
mkdir -p mixed && cp jpg/1.jpg jpg/2.jpg mixed/ && cp ref/0003.png mixed/3.png
expect_error jpeg_mixed_refused "3.png" "$SLIMVSR" upscale -m "$MODEL" mixed mixed_out
grep -q "1.jpg" "$T/err.txt" && grep -q "PNG and JPEG" "$T/err.txt" && ok jpeg_mixed_names_both || ko jpeg_mixed_names_both "$(cat "$T/err.txt")"
mkdir -p cut && cp jpg/1.jpg jpg/2.jpg cut/ && head -c 400 jpg/3.jpg > cut/3.jpg
expect_error jpeg_truncated_refused "cut/3.jpg" "$SLIMVSR" upscale -m "$MODEL" cut cut_out
[ ! -e cut_out ] && ok jpeg_truncated_no_output || ko jpeg_truncated_no_output "cut_out exists"

# train and train-flow on a folder of JPEG clips (each 5 frames at 64x36; natural order: clip2, clip10)
mkdir -p data/clip2 data/clip10
for i in 1 2 3 4 5; do cp "jpg/$i.jpg" data/clip2/; cp "jpg/$((i + 5)).jpg" data/clip10/; done
"$SLIMVSR" train -q --data data --feat 8 --blocks 1 --batch 2 --seq 3 --patch 8 --iters 2 --log-every 1 --seed 7 \
    --out run 2>train.err && [ -s run/model.safetensors ] && [ "$(last_iter run)" = 2 ] && ok jpeg_train \
    || ko jpeg_train "$(head -c 400 train.err)"
"$SLIMVSR" train-flow -q --data data --feat 8 --blocks 1 --batch 2 --seq 2 --patch 8 --iters 2 --log-every 1 \
    --seed 7 --out flow 2>flow.err && [ -s flow/model.safetensors ] && [ "$(last_iter flow)" = 2 ] && ok jpeg_train_flow \
    || ko jpeg_train_flow "$(head -c 400 flow.err)"
