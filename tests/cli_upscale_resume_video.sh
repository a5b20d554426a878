#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0 (LICENSE)
# cli_upscale_resume_video.sh: an interrupted `slimvsr upscale` to a video file leaves OUTPUT.partial (PNG
# frames, their timestamps, the record and the checkpoint), and the same command (or --resume) continues
# it to the video an uninterrupted run writes: SIGKILL and SIGINT before the first checkpoint, inside a
# chunk, late, and while the video is encoded. Lossless FFV1 in Matroska, so the decoded frames compare
# exactly (ffmpeg's framemd5: each frame's MD5 with its timestamp, so a variable frame rate is checked
# too); the FLAC audio is copied, its packets identical to the input's. Also: the partial path equals a
# direct (--no-resume) run, an MP4 with AAC, and the refusals. The clips are made by ffmpeg here and the
# outputs read by ffmpeg/ffprobe. Prints PASS/FAIL lines (counted by tests/run.sh). Needs $SLIMVSR,
# $FRAMETOOL, $SLIMVSR_COCKATOO, ffmpeg and ffprobe.
set -u
cd "$(dirname "$0")/.."
MODEL=$(realpath tests/data/tiny/tiny_basicvsr.pth)
. tests/lib_cli.sh
cli_setup upscale-resume-video
cli_need_video resume_video || exit 0
command -v ffprobe >/dev/null || { ko resume_video_setup "ffprobe is not installed"; exit 0; }
cd "$T" || exit 1

# 24 frames of 128x72 at 10 fps with a gap of 0.35 s after frame 11 (a variable rate), 2.8 s of audio
"$FRAMETOOL" downscale "$SLIMVSR_COCKATOO" lr 24 10 \
    && ffmpeg -v error -framerate 10 -i lr/%08d.png -f lavfi -i sine=frequency=440:sample_rate=22050:duration=2.8 \
        -vf "setpts='if(gte(N,12),(N*0.1+0.35)/TB,N*0.1/TB)'" -fps_mode passthrough -c:v ffv1 -c:a flac in.mkv \
    && ffmpeg -v error -i in.mkv -map 0:v -c:v libx264 -crf 0 -map 0:a -c:a aac in.mp4 \
    && ok resume_video_setup || { ko resume_video_setup "frametool or ffmpeg failed"; exit 0; }
# one thread, so that a job lasts some seconds and can be stopped part-way
JOB=(-q --threads 1 -m "$MODEL" --chunk 3 --lookahead 2)
MP4=(--codec libx264 --crf 0 --pix-fmt yuv444p)

# frames FILE: the decoded video frames, each MD5 with its timestamp and duration
frames() { ffmpeg -v error -i "$1" -map 0:v -f framemd5 - 2>/dev/null | grep -v '^#'; }
# audio FILE: the audio packets as they are (no decoding), each MD5 with its timestamp
audio() { ffmpeg -v error -i "$1" -map 0:a -c copy -f framemd5 - 2>/dev/null | grep -v '^#'; }
# same NAME GOT WANT
same() { if [ -n "$2" ] && [ "$2" = "$3" ]; then ok "$1"; else ko "$1" "differs: $(diff <(echo "$2") <(echo "$3") | head -4 | tr '\n' ' ')"; fi; }
pngs() { ls "$1" 2>/dev/null | grep -c '\.png$'; }
has_frames() { [ "$(pngs "$1")" -ge "$2" ]; }
# encoding OUT: the video's temporary file is there (every frame was written, the encode has begun)
encoding() { ls -A | grep -q "^\.$1\.tmp-"; }

"$SLIMVSR" upscale "${JOB[@]}" in.mkv full.mkv && [ ! -e full.mkv.partial ] && ok resume_video_reference \
    || ko resume_video_reference "upscale failed or left full.mkv.partial"
"$SLIMVSR" upscale "${JOB[@]}" --no-resume in.mkv direct.mkv
FULL=$(frames full.mkv)
same resume_video_equals_direct_run "$FULL" "$(frames direct.mkv)"
same resume_video_audio_copied "$(audio full.mkv)" "$(audio in.mkv)"
# times FILE: the video frames' presentation times in seconds
times() { ffprobe -v error -select_streams v:0 -show_entries frame=pts_time -of csv=p=0 "$1" | tr -d , | paste -sd' ' -; }
same resume_video_keeps_vfr_times "$(times full.mkv)" "$(times in.mkv)"
echo "$(times in.mkv)" | grep -q ' 1.100000 1.500000 ' && ok resume_video_input_is_vfr \
    || ko resume_video_input_is_vfr "$(times in.mkv)"

# The encode at the end reports its progress as a job of its own, after the upscale's.
"$SLIMVSR" upscale --threads 1 -m bicubic in.mkv progress.mkv 2>err.txt
tail -1 err.txt | grep -q "^encode: 24/24 frames" && grep -q "^upscale: 24/24 frames" err.txt \
    && ok resume_video_encode_progress || ko resume_video_encode_progress "$(cat err.txt)"

# --dry-run says what the partial folder will take (the container's estimate of 28 frames of 512x288: 12 MB
# of raw RGB), writes nothing
"$SLIMVSR" upscale --dry-run "${JOB[@]}" in.mkv dry.mkv >dry.txt && [ ! -e dry.mkv.partial ] \
    && grep -q "^partial  *dry.mkv.partial: PNG frames, about 2 MB .* at most about 12 MB" dry.txt \
    && ! "$SLIMVSR" upscale --dry-run --no-resume "${JOB[@]}" in.mkv dry.mkv | grep -q partial \
    && ok resume_video_dry_run_partial || ko resume_video_dry_run_partial "$(cat dry.txt)"

# run_to OUT SIG WHEN...: starts the job on OUT and sends SIG once WHEN... holds; fails if the job ended first
run_to() {
    local out=$1 sig=$2; shift 2
    "$SLIMVSR" upscale "${JOB[@]}" "${EXTRA[@]}" in."${out##*.}" "$out" 2>/dev/null &
    local pid=$!
    if wait_for "$pid" "$@"; then kill -"$sig" "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; return 0; fi
    wait "$pid" 2>/dev/null
    return 1
}

# check NAME OUT [--resume]: OUT was left partial; the continuation equals the uninterrupted run
check() {
    local name=$1 out=$2; shift 2
    if [ -d "$out.partial" ] && [ -f "$out.partial/.slimvsr-resume" ] && [ ! -e "$out" ]; then ok "${name}_leaves_partial"
    else ko "${name}_leaves_partial" "partial: $(ls -A "$out.partial" 2>&1 | head -5 | tr '\n' ' '); output: $(ls "$out" 2>&1)"; fi
    if "$SLIMVSR" upscale "${JOB[@]}" "${EXTRA[@]}" "$@" in."${out##*.}" "$out" 2>err.txt; then
        same "${name}_equals_uninterrupted" "$(frames "$out")" "$WANT"
        same "${name}_audio_identical" "$(audio "$out")" "$(audio in."${out##*.}")"
        [ ! -e "$out.partial" ] && ! ls -A | grep -q "^\.$out\.tmp-" && ok "${name}_partial_gone" \
            || ko "${name}_partial_gone" "$(ls -A | grep "$out")"
    else
        ko "${name}_equals_uninterrupted" "resume failed: $(cat err.txt)"
    fi
}

EXTRA=() WANT=$FULL
i=0
for sig in KILL INT; do
    for n in 1 7 20; do
        i=$((i + 1))
        more=(); [ $((i % 2)) -eq 0 ] && more=(--resume)  # every other one with --resume
        if run_to "v_${sig}_$n.mkv" "$sig" has_frames "v_${sig}_$n.mkv.partial" "$n"; then
            check "resume_video_${sig}_$n" "v_${sig}_$n.mkv" "${more[@]}"
        else
            ko "resume_video_${sig}_$n" "the job ended before it was interrupted"
        fi
    done
    # while the video is encoded: every frame is there, the next job only encodes
    if run_to "v_${sig}_enc.mkv" "$sig" encoding "v_${sig}_enc.mkv"; then
        [ "$(pngs "v_${sig}_enc.mkv.partial")" = 24 ] && ok "resume_video_${sig}_encoding_keeps_frames" \
            || ko "resume_video_${sig}_encoding_keeps_frames" "$(pngs "v_${sig}_enc.mkv.partial") frames"
        check "resume_video_${sig}_encoding" "v_${sig}_enc.mkv"
    else
        ko "resume_video_${sig}_encoding" "the job ended before its encode was seen"
    fi
done

# MP4 with AAC audio and lossless H.264 (4:4:4, CRF 0): the same frames and the same audio packets
EXTRA=("${MP4[@]}")
"$SLIMVSR" upscale "${JOB[@]}" "${EXTRA[@]}" in.mp4 full.mp4
WANT=$(frames full.mp4)
if run_to v.mp4 KILL has_frames v.mp4.partial 10; then check resume_video_mp4 v.mp4
else ko resume_video_mp4 "the job ended before it was interrupted"; fi
EXTRA=()

# Refusals: another chunk (naming it), standard output with --resume, --resume with --no-resume; the
# partial folder stays as it was.
run_to other.mkv KILL has_frames other.mkv.partial 7
before=$(cd other.mkv.partial && md5sum -- * .slimvsr-*)
expect_error resume_video_other_chunk_refused "chunk 3, this job has chunk 4" \
    "$SLIMVSR" upscale -q --threads 1 -m "$MODEL" --chunk 4 --lookahead 2 in.mkv other.mkv
expect_error resume_video_stdout_refused "standard output: cannot be resumed" \
    "$SLIMVSR" upscale "${JOB[@]}" --resume in.mkv -
expect_error resume_video_both_refused "--resume and --no-resume" \
    "$SLIMVSR" upscale "${JOB[@]}" --resume --no-resume in.mkv other.mkv
[ "$(cd other.mkv.partial && md5sum -- * .slimvsr-*)" = "$before" ] && ok resume_video_refusal_keeps_partial \
    || ko resume_video_refusal_keeps_partial "$(ls -A other.mkv.partial)"
# --no-resume writes directly, and leaves the partial folder of another job alone
"$SLIMVSR" upscale "${JOB[@]}" --no-resume in.mkv other.mkv && same resume_video_no_resume_direct "$(frames other.mkv)" "$FULL"
[ "$(cd other.mkv.partial && md5sum -- * .slimvsr-*)" = "$before" ] && ok resume_video_no_resume_leaves_partial \
    || ko resume_video_no_resume_leaves_partial "$(ls -A other.mkv.partial)"

# A folder named OUTPUT.partial that slimvsr did not write is refused and left as it is.
mkdir mine.mkv.partial && echo keep >mine.mkv.partial/notes.txt
expect_error resume_video_foreign_partial_refused "holds no .slimvsr-resume" "$SLIMVSR" upscale "${JOB[@]}" in.mkv mine.mkv
[ "$(ls -A mine.mkv.partial)" = notes.txt ] && [ "$(cat mine.mkv.partial/notes.txt)" = keep ] && [ ! -e mine.mkv ] \
    && ok resume_video_foreign_partial_untouched || ko resume_video_foreign_partial_untouched "$(ls -A mine.mkv.partial)"

# A file slimvsr did not write, put into the partial folder meanwhile, stays (with the folder), with a warning.
run_to keep.mkv KILL has_frames keep.mkv.partial 7
echo keep >keep.mkv.partial/notes.txt
"$SLIMVSR" upscale "${JOB[@]}" in.mkv keep.mkv 2>err.txt
same resume_video_with_foreign_file "$(frames keep.mkv)" "$FULL"
[ "$(ls -A keep.mkv.partial)" = notes.txt ] && grep -q "keep.mkv.partial: kept" err.txt \
    && ok resume_video_foreign_file_kept || ko resume_video_foreign_file_kept "$(ls -A keep.mkv.partial) / $(cat err.txt)"

# A job that fails part-way (a damaged frame) leaves no partial output it started.
cp -r lr bad && head -c 100 lr/00000012.png >bad/00000012.png
expect_error resume_video_failed_job_fails "00000012.png" "$SLIMVSR" upscale "${JOB[@]}" bad bad.mkv
[ ! -e bad.mkv.partial ] && [ ! -e bad.mkv ] && ok resume_video_failed_job_leaves_nothing \
    || ko resume_video_failed_job_leaves_nothing "$(ls -A | grep bad)"

# Free space (a small tmpfs: mount needs root). in.mp4's output frames (512x288) take about 2.3 MB of PNG
# at the measured 0.63 bytes per pixel, at most about 11 MB (this model's noisy output: about 5 MB): on
# 1.2 MB a new job encodes directly (one warning, no partial folder); on 9 MB it stays resumable with a
# warning that it may not fit.
mkdir small
if mount -t tmpfs -o size=1200k tmpfs small 2>/dev/null; then
    "$SLIMVSR" upscale "${JOB[@]}" in.mp4 small/a.mp4 2>err.txt
    rc=$?
    n=$(ffprobe -v error -count_frames -select_streams v:0 -show_entries stream=nb_read_frames -of csv=p=0 small/a.mp4 2>/dev/null)
    want=$(ffprobe -v error -count_frames -select_streams v:0 -show_entries stream=nb_read_frames -of csv=p=0 in.mp4)
    [ $rc = 0 ] && [ "$n" = "$want" ] && [ ! -e small/a.mp4.partial ] && [ "$(grep -c . err.txt)" = 1 ] \
        && grep -q "small/a.mp4.partial: its PNG frames would take about .* encoding directly" err.txt \
        && ok resume_video_no_room_encodes_directly \
        || ko resume_video_no_room_encodes_directly "exit $rc, $n frames, $(ls -A small | tr '\n' ' '): $(head -c 300 err.txt)"
    umount small
    mount -t tmpfs -o size=9m tmpfs small
    "$SLIMVSR" upscale "${JOB[@]}" in.mp4 small/b.mp4 2>err.txt
    rc=$?
    [ $rc = 0 ] && [ -s small/b.mp4 ] && [ ! -e small/b.mp4.partial ] \
        && grep -q "small/b.mp4.partial: its PNG frames may take up to" err.txt \
        && ok resume_video_little_room_warns || ko resume_video_little_room_warns "exit $rc: $(head -c 300 err.txt)"
    umount small
else
    echo "SKIP resume_video_no_room_* (mounting a small tmpfs needs root)"
fi
