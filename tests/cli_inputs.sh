#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0 (LICENSE)
# cli_inputs.sh: the inputs users have (issue 18 item 5): a folder of videos upscaled as a batch (each to
# OUT_DIR/NAME.EXT, one line each, a corrupt video does not stop the others, exit status 1 when one failed,
# -y for outputs in the way, never an input overwritten).
# Prints PASS/FAIL lines (counted by tests/run.sh). Needs $SLIMVSR, $FRAMETOOL, $SLIMVSR_COCKATOO, ffmpeg.
set -u
cd "$(dirname "$0")/.."
MODEL=$(realpath tests/data/tiny/tiny_basicvsr.pth)
. tests/lib_cli.sh
cli_setup inputs
cli_need_video inputs || exit 0
cd "$T" || exit 1

# ---- a folder of videos ----
# a.mp4 (4 frames), b.mkv (3 frames, lossless), aa.mp4 (a.mp4 cut short, between the others: no index, cannot be opened),
# notes.txt (not a video: ignored)
mkdir vids
ffmpeg -nostdin -loglevel error -i "$SLIMVSR_COCKATOO" -vf scale=32:18 -frames:v 4 vids/a.mp4 \
    && ffmpeg -nostdin -loglevel error -i "$SLIMVSR_COCKATOO" -vf scale=32:18 -frames:v 3 -c:v ffv1 vids/b.mkv \
    && head -c 1000 vids/a.mp4 > vids/aa.mp4 && echo notes > vids/notes.txt && ok batch_setup || ko batch_setup "ffmpeg failed"
sums() { md5sum vids/* | sort; }
before=$(sums)

"$SLIMVSR" upscale -q -m "$MODEL" vids out > batch.txt 2> batch.err
rc=$?
cat batch.txt | sed 's/^/    /'
[ $rc -eq 1 ] && ok batch_exit_status_on_failure || ko batch_exit_status_on_failure "exit status $rc, expected 1"
grep -q '^ok .*vids/a.mp4 -> out/a.mp4 (4 frames' batch.txt && grep -q '^ok .*vids/b.mkv -> out/b.mkv (3 frames' batch.txt \
    && ok batch_lines_ok || ko batch_lines_ok "$(cat batch.txt)"
grep -q '^failed vids/aa.mp4: vids/aa.mp4: ' batch.txt && ok batch_line_failed || ko batch_line_failed "$(cat batch.txt)"
[ "$(grep -c . batch.txt)" = 4 ] && grep -q '^2 of 3 videos upscaled, 1 failed$' batch.txt \
    && ok batch_one_line_each || ko batch_one_line_each "$(cat batch.txt)"
[ "$(ls -A out | tr '\n' ' ')" = "a.mp4 b.mkv " ] && ok batch_outputs || ko batch_outputs "out holds: $(ls -A out)"
read -r n w h fps < <("$FRAMETOOL" probe out/b.mkv)
[ "$n $w $h" = "3 128 72" ] && ok batch_output_size || ko batch_output_size "got '$n $w $h'"
# each output is that video upscaled alone (FFV1: lossless, so the frames are equal)
"$SLIMVSR" upscale -q -m "$MODEL" vids/b.mkv alone.mkv && read -r p n < <("$FRAMETOOL" psnr out/b.mkv alone.mkv) \
    && [ "$p $n" = "99.00 3" ] && ok batch_equals_alone || ko batch_equals_alone "PSNR ${p:-?} over ${n:-?} frames"
[ "$(sums)" = "$before" ] && ok batch_inputs_untouched || ko batch_inputs_untouched "an input changed"

# outputs in the way: refused without -y (each one, a line each, exit 1, untouched), replaced with -y
rm vids/aa.mp4
touch -d 2000-01-01 out/a.mp4 out/b.mkv
"$SLIMVSR" upscale -q -m bicubic vids out > again.txt 2>/dev/null
rc=$?
[ $rc -eq 1 ] && [ "$(grep -c '^failed .*exists already' again.txt)" = 2 ] \
    && [ -z "$(find out -type f -newermt 2001-01-01)" ] && ok batch_existing_refused || ko batch_existing_refused "rc $rc: $(cat again.txt)"
"$SLIMVSR" upscale -q -y -m bicubic vids out > again.txt 2>/dev/null
rc=$?
[ $rc -eq 0 ] && [ "$(find out -type f -newermt 2001-01-01 | wc -l)" = 2 ] && grep -q '^2 of 2 videos upscaled, 0 failed$' again.txt \
    && ok batch_existing_replaced_with_y || ko batch_existing_replaced_with_y "rc $rc: $(cat again.txt)"

# --ext: every output in that container; two inputs with one output name: the second fails, named
cp vids/b.mkv vids/a.mkv
"$SLIMVSR" upscale -q -m bicubic --ext mkv vids ext > ext.txt 2>/dev/null
rc=$?
[ $rc -eq 1 ] && [ "$(ls -A ext | tr '\n' ' ')" = "a.mkv b.mkv " ] && grep -q '^failed vids/a.mp4: ext/a.mkv: is also the output of vids/a.mkv' ext.txt \
    && ok batch_ext_and_same_name || ko batch_ext_and_same_name "rc $rc: $(cat ext.txt); ext holds $(ls -A ext)"
rm vids/a.mkv

# an extension slimvsr does not write: that video fails, naming --ext
cp vids/a.mp4 vids/d.avi
"$SLIMVSR" upscale -q -m bicubic vids avi > avi.txt 2>/dev/null
[ $? -eq 1 ] && grep -q '^failed vids/d.avi: avi/d.avi: .*--ext' avi.txt && [ -f avi/a.mp4 ] \
    && ok batch_unwritable_ext || ko batch_unwritable_ext "$(cat avi.txt)"
rm vids/d.avi

# refusals: the input folder as the output; options that do not go with a batch; --ext without one
expect_error batch_out_is_input "is the input folder" "$SLIMVSR" upscale -q -m bicubic vids vids
expect_error batch_no_frames_option "--frames" "$SLIMVSR" upscale -q -m bicubic --chunk 2 --frames 0:2 vids seg
expect_error batch_no_dry_run "--dry-run" "$SLIMVSR" upscale -q -m bicubic --dry-run vids dry
expect_error ext_without_batch "--ext" "$SLIMVSR" upscale -q -m bicubic --ext mkv vids/a.mp4 single.mkv
[ ! -e seg ] && [ ! -e dry ] && [ ! -e single.mkv ] && ok batch_refusals_write_nothing || ko batch_refusals_write_nothing "$(ls)"
