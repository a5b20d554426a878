#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0 (LICENSE)
# cli_segments.sh: `upscale --frames FIRST:END`, a long video split across machines (README: Long videos
# across machines): segments with boundaries aligned to nothing equal one run with the same --chunk and
# --lookahead frame for frame (cmp of the PNGs), PNG folders merge by name, video segments joined with
# ffmpeg's concat demuxer equal the whole run, and bad ranges are refused naming --frames.
# Prints PASS/FAIL lines (counted by tests/run.sh). Needs $SLIMVSR, $FRAMETOOL, $SLIMVSR_COCKATOO, ffmpeg.
set -u
cd "$(dirname "$0")/.."
MODEL=tests/data/tiny/tiny_basicvsr.pth
. tests/lib_cli.sh
cli_setup segments

up() { "$SLIMVSR" upscale -q -m "$MODEL" "$@"; }

# same_frames NAME WHOLE DIR...: the PNGs of the DIRs, merged into one folder, are WHOLE's, byte for byte
same_frames() {
    local name=$1 whole=$2; shift 2
    local merged="$T/merged_$name" f bad=""
    mkdir -p "$merged"
    for d in "$@"; do cp "$d"/*.png "$merged"/ || { ko "$name" "no frames in $d"; return; }; done
    [ "$(ls "$merged" | wc -l)" = "$(ls "$whole" | wc -l)" ] || bad="$(ls "$merged" | wc -l) frames, want $(ls "$whole" | wc -l)"
    for f in "$whole"/*.png; do cmp -s "$f" "$merged/$(basename "$f")" || bad="$bad $(basename "$f")"; done
    if [ -z "$bad" ]; then ok "$name"; else ko "$name" "differs:$bad"; fi
}

if [ -z "${SLIMVSR_COCKATOO:-}" ] || [ ! -s "$SLIMVSR_COCKATOO" ]; then
    ko segments_setup "SLIMVSR_COCKATOO is not set; run tests/data/fetch_cockatoo.sh"
    exit 0
fi
# 13 frames of 64x36 (box-downscaled by 20), as a lossless video and as PNG frames
"$FRAMETOOL" downscale "$SLIMVSR_COCKATOO" "$T/lr.mkv" 13 20 && "$FRAMETOOL" downscale "$SLIMVSR_COCKATOO" "$T/lr" 13 20 \
    && ok segments_setup || ko segments_setup "downscale failed"

# Video input, chunks of 4 with 2 frames of lookahead; segments 0:5, 5:11, 11: (5 and 11 are no chunk
# borders: the first segment's last chunk reads lookahead past it, the next warms up over frames 0..3)
up --chunk 4 --lookahead 2 "$T/lr.mkv" "$T/whole"
up --chunk 4 --lookahead 2 --frames 0:5 "$T/lr.mkv" "$T/s0"
up --chunk 4 --lookahead 2 --frames 5:11 "$T/lr.mkv" "$T/s1"
up --chunk 4 --lookahead 2 --frames 11: "$T/lr.mkv" "$T/s2"
[ "$(ls "$T/s1" | tr '\n' ' ')" = "00000005.png 00000006.png 00000007.png 00000008.png 00000009.png 00000010.png " ] \
    && ok segment_names_are_frame_numbers || ko segment_names_are_frame_numbers "$(ls "$T/s1" | tr '\n' ' ')"
same_frames three_segments_equal_one_run "$T/whole" "$T/s0" "$T/s1" "$T/s2"
# a segment on chunk borders (4:8: one chunk warmed up, one run) and one frame alone
up --chunk 4 --lookahead 2 --frames 4:8 "$T/lr.mkv" "$T/s48"
up --chunk 4 --lookahead 2 --frames 9:10 "$T/lr.mkv" "$T/s9"
bad=""
for f in "$T"/s48/*.png "$T"/s9/*.png; do cmp -s "$f" "$T/whole/$(basename "$f")" || bad="$bad $f"; done
[ "$(ls "$T/s48" "$T/s9" | grep -c png)" = 5 ] && [ -z "$bad" ] && ok aligned_and_one_frame_segments \
    || ko aligned_and_one_frame_segments "differs:$bad; $(ls "$T/s48" "$T/s9" | tr '\n' ' ')"

# Folder input (its names kept), chunks of 3 and the default lookahead; two segments, the second ending
# at the clip's last frame
up --chunk 3 "$T/lr" "$T/whole3"
up --chunk 3 --frames 0:7 "$T/lr" "$T/f0"
up --chunk 3 --frames 7:13 "$T/lr" "$T/f1"
same_frames two_segments_default_lookahead "$T/whole3" "$T/f0" "$T/f1"

# Video segments joined with ffmpeg's concat demuxer (as the README says) equal the whole run's frames
if command -v ffmpeg >/dev/null; then
    up --chunk 4 --lookahead 2 --frames 0:6 "$T/lr.mkv" "$T/v0.mkv"
    up --chunk 4 --lookahead 2 --frames 6:13 "$T/lr.mkv" "$T/v1.mkv"
    printf "file '%s'\n" "$T/v0.mkv" "$T/v1.mkv" >"$T/list.txt"
    ffmpeg -v error -f concat -safe 0 -i "$T/list.txt" -c copy "$T/joined.mkv"
    read -r p n < <("$FRAMETOOL" psnr "$T/joined.mkv" "$T/whole")
    [ "$p" = "99.00" ] && [ "$n" = 13 ] && ok video_segments_concat_equal_one_run || ko video_segments_concat_equal_one_run "PSNR $p over $n frames"
    read -r n _ _ fps < <("$FRAMETOOL" probe "$T/joined.mkv")
    read -r _ _ _ fps_in < <("$FRAMETOOL" probe "$T/lr.mkv")
    [ "$n $fps" = "13 $fps_in" ] && ok video_segments_concat_rate || ko video_segments_concat_rate "got $n frames at $fps, want 13 at $fps_in"
    # the input's audio is not kept in a segment (it would start at the clip's start): one warning
    ffmpeg -v error -i "$T/lr.mkv" -f lavfi -i anullsrc=r=48000:cl=mono -map 0:v -map 1:a -c:v copy -c:a flac \
        -shortest "$T/lr_audio.mkv"
    up --chunk 4 --frames 3:6 "$T/lr_audio.mkv" "$T/va.mkv" 2>"$T/warn.txt"
    streams=$(ffprobe -v error -show_entries stream=codec_type -of csv=p=0 "$T/va.mkv" | tr '\n' ' ')
    [ "$streams" = "video " ] && [ "$(grep -c 'not kept in a segment' "$T/warn.txt")" = 1 ] \
        && ok segment_drops_audio_with_warning || ko segment_drops_audio_with_warning "streams '$streams': $(cat "$T/warn.txt")"
    # a refused segment says only why (no warning about the audio before it)
    expect_error frames_refused_without_warning --chunk up --frames 3:6 "$T/lr_audio.mkv" "$T/bad.mkv"
else
    ko video_segments_concat "ffmpeg is not installed"
fi

# The README's Slurm array, its three tasks run one after the other, then its join: ffprobe's frame count,
# the A:B of each task, the merged folder encoded by ffmpeg (FFV1 here instead of H.264, to compare exactly)
if command -v ffprobe >/dev/null && command -v ffmpeg >/dev/null; then
    TASKS=3
    FRAMES=$(ffprobe -v error -select_streams v:0 -count_packets -show_entries stream=nb_read_packets -of csv=p=0 "$T/lr.mkv")
    [ "$FRAMES" = 13 ] && ok readme_frame_count || ko readme_frame_count "ffprobe says '$FRAMES'"
    PER=$(( (FRAMES + TASKS - 1) / TASKS ))
    for SLURM_ARRAY_TASK_ID in 0 1 2; do
        A=$(( SLURM_ARRAY_TASK_ID * PER ))
        B=$(( A + PER < FRAMES ? A + PER : FRAMES ))
        mkdir -p "$T/seg"
        up --chunk 4 --lookahead 2 --frames "$A:$B" "$T/lr.mkv" "$T/seg/$SLURM_ARRAY_TASK_ID"
    done
    same_frames readme_slurm_array_equals_one_run "$T/whole" "$T/seg/0" "$T/seg/1" "$T/seg/2"
    ffmpeg -v error -framerate 20 -i "$T/merged_readme_slurm_array_equals_one_run/%08d.png" -i "$T/lr.mkv" -map 0:v \
        -map '1:a?' -c:v ffv1 -pix_fmt bgr0 "$T/encoded.mkv"
    read -r p n < <("$FRAMETOOL" psnr "$T/encoded.mkv" "$T/whole")
    [ "$p" = "99.00" ] && [ "$n" = 13 ] && ok readme_join_encodes_all_frames || ko readme_join_encodes_all_frames "PSNR $p over $n frames"
fi

# --dry-run shows the segment and writes nothing
up --dry-run --chunk 4 --frames 3:9 "$T/lr.mkv" "$T/dry" >"$T/dry.txt" && grep -q "^segment  *frames 3 to 8 (--frames 3:9)" "$T/dry.txt" \
    && [ ! -e "$T/dry" ] && ok dry_run_shows_segment || ko dry_run_shows_segment "$(cat "$T/dry.txt")"

# Bad ranges: refused in one line naming --frames (or --chunk), before any output exists
expect_error frames_end_before_first --frames up --chunk 4 --frames 8:3 "$T/lr" "$T/bad"
expect_error frames_empty --frames up --chunk 4 --frames 5:5 "$T/lr" "$T/bad"
expect_error frames_not_numeric --frames up --chunk 4 --frames five:9 "$T/lr" "$T/bad"
expect_error frames_negative --frames up --chunk 4 --frames -2:9 "$T/lr" "$T/bad"
expect_error frames_no_colon --frames up --chunk 4 --frames 7 "$T/lr" "$T/bad"
expect_error frames_no_value --frames up --chunk 4 --frames
expect_error frames_need_chunk --chunk up --frames 0:5 "$T/lr" "$T/bad"
# a segment keeps no partial output (it is rerun, not resumed): --resume with --frames is refused
expect_error frames_not_resumable "--resume: a segment" up --chunk 4 --frames 3:9 --resume "$T/lr" "$T/bad"
expect_error frames_past_end_folder --frames up --chunk 4 --frames 10:14 "$T/lr" "$T/bad"
expect_error frames_start_past_end_folder --frames up --chunk 4 --frames 13: "$T/lr" "$T/bad"
# a video's frame count is the container's estimate: the end is found when the clip ends, and the
# output is not left behind
expect_error frames_past_end_video --frames up --chunk 4 --frames 10:20 "$T/lr.mkv" "$T/bad"
expect_error frames_start_past_end_video --frames up --chunk 4 --frames 20: "$T/lr.mkv" "$T/bad"
[ ! -e "$T/bad" ] && ok refused_ranges_leave_nothing || ko refused_ranges_leave_nothing "$(ls -A "$T/bad")"
