#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0 (LICENSE)
# cli_disk_full.sh: writes that run out of space. A file-size limit (ulimit -f, in a subshell) stands in
# for a full disk: the write fails with EFBIG exactly where ENOSPC would. For convert, upscale (video and
# PNG folder) and a training checkpoint: a one-line error naming the file, a non-zero exit, no temporary
# file left, and the earlier good output byte for byte as it was (and still usable: the run resumes).
# Prints PASS/FAIL lines (counted by tests/run.sh). Needs $SLIMVSR, $FRAMETOOL, $SLIMVSR_COCKATOO.
set -u
cd "$(dirname "$0")/.."
TINY=$(realpath tests/data/tiny/tiny_basicvsr.pth)
. tests/lib_cli.sh
cli_setup diskfull
cd "$T" || exit 1

# limited KB CMD...: CMD under a file-size limit of KB kilobytes
limited() { local kb=$1; shift; (ulimit -f "$kb"; "$@"); }
# untouched NAME COPY FILE: FILE still equals COPY, and FILE's folder holds no temporary (.tmp / hidden) file
untouched() {
    if ! diff -rq "$2" "$3" >/dev/null 2>&1; then ko "$1" "$3 changed"; return; fi
    local left; left=$(ls -A "$(dirname "$3")" | grep -E '^\.|tmp' | grep -vx '\.lock' || true)
    [ -z "$left" ] && ok "$1" || ko "$1" "left behind: $left"
}

# convert: 6 MB of safetensors under a 1 MB limit
mkdir -p out && "$SLIMVSR" convert "$TINY" out/m.safetensors 2>/dev/null
cp out/m.safetensors good.safetensors
expect_error convert_disk_full "out/m.safetensors: write failed: File too large" limited 1024 "$SLIMVSR" convert -y --fp16 "$TINY" out/m.safetensors
untouched convert_keeps_old_file good.safetensors out/m.safetensors

# upscale into a video and into a PNG folder
mkdir -p lr vid png
"$FRAMETOOL" downscale "$SLIMVSR_COCKATOO" lr/c 4 20
"$SLIMVSR" upscale -q -m "$TINY" lr/c vid/sr.mkv && "$SLIMVSR" upscale -q -m "$TINY" lr/c png/sr && ok upscale_good_outputs \
    || ko upscale_good_outputs "upscale failed"
cp vid/sr.mkv good.mkv && cp -r png/sr good_png
expect_error upscale_video_disk_full "File too large" limited 64 "$SLIMVSR" upscale -q -y --no-resume -m "$TINY" lr/c vid/sr.mkv
untouched upscale_video_keeps_old_file good.mkv vid/sr.mkv
# Resumable (the default): the frames (50 KB each) and the checkpoint (147 KB) fit under 256 KB, the raw
# 4:4:4 video (442 KB) does not; the frames stay in the partial folder, and the same command with room
# again only encodes them.
Y4M=(-m "$TINY" --pix-fmt yuv444p lr/c vid/sr.y4m)
"$SLIMVSR" upscale -q "${Y4M[@]}" && cp vid/sr.y4m good.y4m
expect_error upscale_video_partial_disk_full "the frames stay in vid/sr.y4m.partial" limited 256 \
    "$SLIMVSR" upscale -q -y "${Y4M[@]}"
untouched upscale_video_partial_keeps_old_file good.y4m vid/sr.y4m
[ "$(ls vid/sr.y4m.partial | grep -c '\.png$')" = 4 ] && ok upscale_video_partial_keeps_frames \
    || ko upscale_video_partial_keeps_frames "$(ls -A vid/sr.y4m.partial 2>&1)"
"$SLIMVSR" upscale -y "${Y4M[@]}" 2>err.txt && cmp -s good.y4m vid/sr.y4m && [ ! -e vid/sr.y4m.partial ] \
    && grep -q "continued vid/sr.y4m.partial at frame 4" err.txt && ok upscale_video_encodes_after_disk_full \
    || ko upscale_video_encodes_after_disk_full "$(cat err.txt; ls -A vid)"
expect_error upscale_png_disk_full "File too large" limited 8 "$SLIMVSR" upscale -q -y -m "$TINY" lr/c png/sr
untouched upscale_png_keeps_old_folder good_png png/sr

# training: a checkpoint at iteration 2; the next one (iteration 4) hits the limit; the run then resumes
# from iteration 2 with room again
"$SLIMVSR" train -q --data lr --feat 4 --blocks 1 --batch 1 --seq 2 --patch 8 --iters 2 --val-every 2 --seed 1 \
    --out run --threads 1 && ok train_first_checkpoint || ko train_first_checkpoint "train failed"
cp run/state.safetensors good_state.safetensors
expect_error train_checkpoint_disk_full "run/" limited 1024 "$SLIMVSR" train -q --out run --resume --iters 4 --threads 1
untouched train_keeps_old_checkpoint good_state.safetensors run/state.safetensors
"$SLIMVSR" train -q --out run --resume --iters 4 --threads 1 && [ "$(last_iter run)" = 4 ] && ok train_resumes_after_disk_full \
    || ko train_resumes_after_disk_full "resume failed (last iteration $(last_iter run))"
