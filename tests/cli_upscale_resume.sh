#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0 (LICENSE)
# cli_upscale_resume.sh: an interrupted `slimvsr upscale` to a folder leaves OUTPUT.partial, and the same
# command (or --resume) continues it to exactly the frames of an uninterrupted run: SIGKILL and SIGINT at
# several points (before the first checkpoint, inside a chunk, late); a job with other options is refused
# naming the difference, and nothing slimvsr did not write is deleted.
# Prints PASS/FAIL lines (counted by tests/run.sh). Needs $SLIMVSR, $FRAMETOOL, $SLIMVSR_COCKATOO.
set -u
cd "$(dirname "$0")/.."
MODEL=tests/data/tiny/tiny_basicvsr.pth
. tests/lib_cli.sh
cli_setup upscale-resume

if [ -z "${SLIMVSR_COCKATOO:-}" ] || [ ! -s "$SLIMVSR_COCKATOO" ]; then
    ko resume_setup "SLIMVSR_COCKATOO is not set; run tests/data/fetch_cockatoo.sh"
    exit 0
fi
# 24 frames of 128x72; one thread, so that a job lasts some seconds and can be stopped part-way
"$FRAMETOOL" downscale "$SLIMVSR_COCKATOO" "$T/lr" 24 10 && ok resume_setup || ko resume_setup "downscale failed"
JOB=(-q --threads 1 -m "$MODEL" --chunk 3 --lookahead 2)
"$SLIMVSR" upscale "${JOB[@]}" "$T/lr" "$T/full" || ko resume_reference "upscale failed"

# pngs DIR: how many frames DIR holds
pngs() { ls "$1" 2>/dev/null | grep -c '\.png$'; }
# has_frames DIR N: DIR holds at least N frames
has_frames() { [ "$(pngs "$1")" -ge "$2" ]; }
# same_frames NAME A B: the same frame files, byte for byte
same_frames() {
    if diff <(cd "$2" && md5sum -- *) <(cd "$3" && md5sum -- *) >/dev/null; then ok "$1"
    else ko "$1" "$(diff <(cd "$2" && md5sum -- *) <(cd "$3" && md5sum -- *) | head -3)"; fi
}
# interrupt SIG N OUT [IN]: starts the job on OUT (from IN, default $T/lr) and sends SIG once OUT.partial
# holds N frames
interrupt() {
    "$SLIMVSR" upscale "${JOB[@]}" "${4:-$T/lr}" "$3" 2>/dev/null &
    local pid=$!
    wait_for "$pid" has_frames "$3.partial" "$2"
    kill -"$1" "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
}

i=0
for sig in KILL INT; do
    for n in 1 7 20; do
        i=$((i + 1))
        out="$T/out_${sig}_$n"
        interrupt "$sig" "$n" "$out"
        if [ -d "$out.partial" ] && [ ! -e "$out" ]; then ok "resume_${sig}_${n}_leaves_partial"
        else ko "resume_${sig}_${n}_leaves_partial" "partial: $(ls -A "$out.partial" 2>&1 | head -3 | tr '\n' ' '); output exists: $([ -e "$out" ] && echo yes)"; fi
        # every other continuation with --resume, the others by the same command
        more=(); [ $((i % 2)) -eq 0 ] && more=(--resume)
        if "$SLIMVSR" upscale "${JOB[@]}" "${more[@]}" "$T/lr" "$out" 2>"$T/err.txt"; then
            same_frames "resume_${sig}_${n}_equals_uninterrupted" "$T/full" "$out"
            [ ! -e "$out.partial" ] && ok "resume_${sig}_${n}_partial_gone" || ko "resume_${sig}_${n}_partial_gone" "$(ls -A "$out.partial")"
        else
            ko "resume_${sig}_${n}_equals_uninterrupted" "resume failed: $(cat "$T/err.txt")"
        fi
    done
done

# The continuation says where it went on, and takes the chunk and lookahead from the record.
interrupt KILL 10 "$T/auto"
"$SLIMVSR" upscale --threads 1 -m "$MODEL" "$T/lr" "$T/auto" 2>"$T/err.txt" >/dev/null
grep -q "continued $T/auto.partial at frame [1-9]" "$T/err.txt" && ok resume_says_where || ko resume_says_where "$(tail -1 "$T/err.txt")"
same_frames resume_takes_recorded_chunk "$T/full" "$T/auto"

# Another chunk, lookahead or model is refused, naming the difference; the partial output stays.
interrupt KILL 7 "$T/other"
before=$(ls -A "$T/other.partial" | sort)
expect_error resume_other_chunk_refused "chunk 3, this job has chunk 4" \
    "$SLIMVSR" upscale -q --threads 1 -m "$MODEL" --chunk 4 --lookahead 2 "$T/lr" "$T/other"
expect_error resume_other_lookahead_refused "lookahead 2, this job has lookahead 5" \
    "$SLIMVSR" upscale -q --threads 1 -m "$MODEL" --chunk 3 --lookahead 5 "$T/lr" "$T/other"
expect_error resume_other_model_refused "this job has model bicubic" \
    "$SLIMVSR" upscale -q -m bicubic --chunk 3 --lookahead 2 "$T/lr" "$T/other"
[ "$(ls -A "$T/other.partial" | sort)" = "$before" ] && ok resume_refusal_keeps_partial || ko resume_refusal_keeps_partial "$(ls -A "$T/other.partial")"
"$SLIMVSR" upscale "${JOB[@]}" "$T/lr" "$T/other" && same_frames resume_after_refusals "$T/full" "$T/other"

# One job at a time in a partial folder: a second one is refused while the first continues it.
interrupt KILL 4 "$T/busy"
"$SLIMVSR" upscale "${JOB[@]}" "$T/lr" "$T/busy" 2>/dev/null &
pid=$!
wait_for "$pid" has_frames "$T/busy.partial" 14
expect_error resume_busy_refused "busy.partial: in use by another slimvsr upscale" \
    "$SLIMVSR" upscale "${JOB[@]}" "$T/lr" "$T/busy"
wait "$pid" && same_frames resume_busy_first_job_unharmed "$T/full" "$T/busy"

# --resume with nothing to continue fails and writes nothing (a video output's: cli_upscale_resume_video.sh).
expect_error resume_nothing_to_resume "$T/none.partial: no partial output to resume" \
    "$SLIMVSR" upscale "${JOB[@]}" --resume "$T/lr" "$T/none"
[ ! -e "$T/none" ] && [ ! -e "$T/none.partial" ] && ok resume_nothing_writes_nothing || ko resume_nothing_writes_nothing "$(ls -A "$T")"

# A video input's frames are named by their index in the clip: a continuation names them from where it
# goes on (frame 6 is 00000006.png, not 00000000.png again).
if command -v ffmpeg >/dev/null && ffmpeg -v error -framerate 10 -i "$T/lr/%08d.png" -c:v ffv1 "$T/lr.mkv"; then
    "$SLIMVSR" upscale "${JOB[@]}" "$T/lr.mkv" "$T/vfull"
    interrupt KILL 7 "$T/vout" "$T/lr.mkv"
    "$SLIMVSR" upscale "${JOB[@]}" "$T/lr.mkv" "$T/vout" && same_frames resume_video_input_names_frames "$T/vfull" "$T/vout"
else
    ko resume_video_input_names_frames "ffmpeg could not make the clip"
fi

# A folder named OUTPUT.partial that slimvsr did not write is refused and left as it is.
mkdir "$T/mine.partial" && echo keep >"$T/mine.partial/notes.txt"
expect_error resume_foreign_partial_refused "holds no .slimvsr-resume" \
    "$SLIMVSR" upscale "${JOB[@]}" "$T/lr" "$T/mine"
[ "$(ls -A "$T/mine.partial")" = notes.txt ] && [ "$(cat "$T/mine.partial/notes.txt")" = keep ] \
    && ok resume_foreign_partial_untouched || ko resume_foreign_partial_untouched "$(ls -A "$T/mine.partial")"

# A job that fails part-way (not interrupted: a damaged frame) leaves no partial output it started.
cp -r "$T/lr" "$T/bad" && head -c 100 "$T/lr/00000012.png" >"$T/bad/00000012.png"
expect_error resume_failed_job_fails "00000012.png" "$SLIMVSR" upscale "${JOB[@]}" "$T/bad" "$T/bad_out"
[ ! -e "$T/bad_out.partial" ] && [ ! -e "$T/bad_out" ] && ok resume_failed_job_leaves_nothing || ko resume_failed_job_leaves_nothing "$(ls -A "$T")"

# A resumable job checkpoints the forward state (16 features x 360 x 640 floats: 14.7 MB here) a plane at a
# time: the plan counts one plane (0.9 MB) more than --no-resume, and the job's peak memory is within a
# few MB of the direct job's (a whole copy of the state, as before 2026-12-07, makes it 14.7 MB more).
mkdir -p "$T/big" && ffmpeg -nostdin -v error -i "$SLIMVSR_COCKATOO" -vf scale=640:360 -frames:v 2 "$T/big/%d.png"
peak_mb() { "$SLIMVSR" upscale -m "$MODEL" --chunk 1 --dry-run "$@" | awk '/^peak memory/ { print $3 }'; }
pr=$(peak_mb "$T/big" "$T/big_out") pd=$(peak_mb --no-resume "$T/big" "$T/big_out")
[ -n "$pr" ] && [ -n "$pd" ] && [ $((pr - pd)) -ge 0 ] && [ $((pr - pd)) -le 2 ] && [ ! -e "$T/big_out" ] \
    && ok "resume_state_counted ($pd MB direct, $pr MB resumable)" \
    || ko resume_state_counted "dry-run peaks: resumable '$pr', direct '$pd' MB"
rss_kb() { /usr/bin/time -f %M "$SLIMVSR" upscale -q --threads 1 -m "$MODEL" --chunk 1 "$@" 2>&1 >/dev/null | tail -1; }
kr=$(rss_kb "$T/big" "$T/big_res") kd=$(rss_kb --no-resume "$T/big" "$T/big_dir")
[ -n "$kr" ] && [ -n "$kd" ] && [ $((kr - kd)) -le 7000 ] && [ -d "$T/big_res" ] && [ -d "$T/big_dir" ] \
    && ok "resume_state_not_copied ($kd KB direct, $kr KB resumable)" \
    || ko resume_state_not_copied "peak RSS: resumable '$kr', direct '$kd' KB"
