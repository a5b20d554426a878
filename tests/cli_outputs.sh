#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0 (LICENSE)
# cli_outputs.sh: what a command may write over. An output is never an input (same path, a link, a folder
# holding it); an existing output is replaced only with -y, a folder only when slimvsr wrote it; an
# interrupted run leaves no temporary behind (SIGINT, SIGTERM), and one killed outright (SIGKILL) has its
# temporary removed by the next run of the same output. Prints PASS/FAIL lines (counted by tests/run.sh).
set -u
cd "$(dirname "$0")/.."
MODEL=$(realpath tests/data/tiny/tiny_basicvsr.pth)
. tests/lib_cli.sh
cli_setup outputs
cd "$T"

# sums DIR...: one checksum line per file under each DIR (or of each file), to show nothing changed
sums() { find "$@" -type f -print0 | sort -z | xargs -0 md5sum; }
# unchanged NAME BEFORE DIR...: the files under DIR are those recorded in BEFORE
unchanged() {
    local name=$1 before=$2; shift 2
    if [ "$(sums "$@")" = "$before" ]; then ok "$name"; else ko "$name" "files changed or deleted: $(sums "$@" | diff - <(echo "$before") | head -5)"; fi
}
# no_temporaries NAME DIR: no ".NAME.tmp-PID-N" left in DIR
no_temporaries() {
    local left; left=$(ls -A "$2" | grep '\.tmp-' || true)
    if [ -z "$left" ]; then ok "$1"; else ko "$1" "left behind in $2: $left"; fi
}

if [ -z "${SLIMVSR_COCKATOO:-}" ] || [ ! -s "$SLIMVSR_COCKATOO" ]; then
    ko setup "SLIMVSR_COCKATOO is not set; run tests/data/fetch_cockatoo.sh"
    exit 1
fi
mkdir vids fr
"$FRAMETOOL" downscale "$SLIMVSR_COCKATOO" vids/holiday.mkv 3 20 && "$FRAMETOOL" downscale "$SLIMVSR_COCKATOO" fr 3 20 \
    && ok setup || ko setup "downscale failed"
echo "my notes" > vids/notes.txt
cp "$MODEL" t.pth
before=$(sums vids fr t.pth)

# ---- an output is never an input ----
expect_error output_is_input_video holiday.mkv "$SLIMVSR" upscale -q -m t.pth -y vids/holiday.mkv vids/holiday.mkv
expect_error output_folder_holds_input vids "$SLIMVSR" upscale -q -m t.pth vids/holiday.mkv vids
expect_error output_folder_holds_input_y vids "$SLIMVSR" upscale -q -m t.pth -y vids/holiday.mkv vids
expect_error output_is_input_folder fr "$SLIMVSR" upscale -q -m t.pth -y fr fr
expect_error output_is_input_folder_slash fr "$SLIMVSR" upscale -q -m t.pth -y fr ./fr/
ln vids/holiday.mkv hard.mkv && ln -s vids/holiday.mkv soft.mkv
expect_error output_is_hard_link_of_input hard.mkv "$SLIMVSR" upscale -q -m t.pth -y vids/holiday.mkv hard.mkv
expect_error output_is_symlink_to_input soft.mkv "$SLIMVSR" upscale -q -m t.pth -y vids/holiday.mkv soft.mkv
rm hard.mkv soft.mkv
mkdir m && cp t.pth m/
expect_error output_folder_holds_model m "$SLIMVSR" upscale -q -m m/t.pth -y fr m
expect_error convert_onto_itself t.pth "$SLIMVSR" convert -y t.pth t.pth
expect_error convert_into_folder_of_input m "$SLIMVSR" convert -y m/t.pth m
unchanged inputs_untouched "$before" vids fr t.pth
unchanged model_untouched "$(sums m)" m

# ---- an existing output needs -y; a folder is replaced only when slimvsr wrote it ----
"$SLIMVSR" upscale -q -m t.pth fr out && [ -f out/00000000.png ] && ok first_output || ko first_output "upscale to a new folder failed"
first=$(sums out)
expect_error existing_folder_needs_y out "$SLIMVSR" upscale -q -m t.pth fr out
unchanged existing_folder_kept "$first" out
"$SLIMVSR" upscale -q -m t.pth -y vids/holiday.mkv out && [ -f out/00000000.png ] && ok replace_own_folder_with_y \
    || ko replace_own_folder_with_y "upscale -y onto slimvsr's own folder failed"
echo "my notes" > out/notes.txt
before_out=$(sums out)
expect_error folder_with_foreign_file_kept notes.txt "$SLIMVSR" upscale -q -m t.pth -y fr out
unchanged foreign_file_kept "$before_out" out
mkdir theirs && cp fr/*.png theirs/
before_theirs=$(sums theirs)
expect_error folder_not_written_by_slimvsr theirs "$SLIMVSR" upscale -q -m t.pth -y fr theirs
unchanged their_frames_kept "$before_theirs" theirs
mkdir empty && "$SLIMVSR" upscale -q -m t.pth fr empty && [ -f empty/00000000.png ] && ok empty_folder_is_free \
    || ko empty_folder_is_free "upscale into an existing empty folder failed"
"$SLIMVSR" upscale -q -m t.pth fr sr.mkv && ok first_video || ko first_video "upscale to a new .mkv failed"
first=$(sums sr.mkv)
expect_error existing_video_needs_y sr.mkv "$SLIMVSR" upscale -q -m t.pth fr sr.mkv
unchanged existing_video_kept "$first" sr.mkv
"$SLIMVSR" upscale -q -m t.pth --overwrite vids/holiday.mkv sr.mkv && ok replace_video_with_overwrite \
    || ko replace_video_with_overwrite "upscale --overwrite onto an existing .mkv failed"
"$SLIMVSR" convert t.pth c.safetensors 2>/dev/null && ok convert_new || ko convert_new "convert failed"
first=$(sums c.safetensors)
expect_error convert_existing_needs_y c.safetensors "$SLIMVSR" convert t.pth c.safetensors
unchanged convert_existing_kept "$first" c.safetensors
"$SLIMVSR" convert -y --fp16 t.pth c.safetensors 2>/dev/null && [ "$(sums c.safetensors)" != "$first" ] \
    && ok convert_replace_with_y || ko convert_replace_with_y "convert -y did not replace the file"
no_temporaries no_temporaries_left .

# ---- interruption: the temporary goes with the process; a killed run's is removed by the next ----
# A clip long enough to be caught in the act: 40 frames, the shipped (small) model would do but the tiny
# test model with the reference kernels is slow enough and needs no models/ folder.
"$FRAMETOOL" downscale "$SLIMVSR_COCKATOO" long 40 10 || ko long_setup "downscale failed"
has_tmp() { ls -A "$1" | grep -q "^\.$2\.tmp-"; }
# a folder output's temporary is the visible OUT.partial, kept to resume (cli_upscale_resume.sh); a video
# output's is a hidden temporary file with --no-resume (without it, OUT.partial: cli_upscale_resume_video.sh)
has_partial() { [ -d "$1/$2.partial" ]; }
for sig in INT TERM; do
    for out in "sig_$sig.mkv" "sig_$sig"; do
        direct=(--no-resume) seen=has_tmp; case $out in *.mkv) ;; *) direct=() seen=has_partial ;; esac
        "$SLIMVSR" upscale -q -m t.pth --reference "${direct[@]}" long "$out" 2>/dev/null &
        pid=$!
        if wait_for "$pid" "$seen" . "$out"; then
            kill -"$sig" "$pid"; wait "$pid"; rc=$?
            want=$((128 + $(kill -l "$sig")))
            if [ "$rc" -ne "$want" ]; then ko "sig${sig}_$out" "exit status $rc, want $want"
            elif has_tmp . "$out" || [ -e "$out" ]; then ko "sig${sig}_$out" "left: $(ls -A | grep "$out")"
            elif [ $seen = has_partial ] && ! has_partial . "$out"; then ko "sig${sig}_$out" "no $out.partial kept"
            elif [ $seen = has_partial ]; then ok "sig${sig}_keeps_partial_$out"; rm -r "$out.partial"
            else ok "sig${sig}_removes_temporary_$out"; fi
        else
            wait "$pid"; ko "sig${sig}_$out" "the run ended before its temporary was seen"
        fi
    done
done
"$SLIMVSR" upscale -q -m t.pth --reference --no-resume long killed.mkv 2>/dev/null &
pid=$!
if wait_for "$pid" has_tmp . killed.mkv; then
    kill -KILL "$pid"; wait "$pid" 2>/dev/null
    has_tmp . killed.mkv && ok sigkill_leaves_temporary || ko sigkill_leaves_temporary "no temporary after SIGKILL"
    "$SLIMVSR" upscale -q -m t.pth fr killed.mkv && ! has_tmp . killed.mkv && [ -s killed.mkv ] \
        && ok next_run_removes_stale_temporary || ko next_run_removes_stale_temporary "$(ls -A | grep killed)"
else
    wait "$pid"; ko sigkill "the run ended before its temporary was seen"
fi

# ---- a path is never a format: %n %s %x in names work, and come out literally in messages ----
pct='p%n%s%x'
mkdir "$pct" && cp -r fr "$pct/fr" && cp t.pth "$pct/m%n%s.pth"
"$SLIMVSR" upscale -q -m "$pct/m%n%s.pth" "$pct/fr" "$pct/o%n%s%x" && [ -f "$pct/o%n%s%x/00000000.png" ] \
    && ok percent_paths_upscale || ko percent_paths_upscale "upscale failed"
expect_error percent_paths_message "$pct/o%n%s%x: folder exists" "$SLIMVSR" upscale -q -m "$pct/m%n%s.pth" "$pct/fr" "$pct/o%n%s%x"
"$SLIMVSR" convert "$pct/m%n%s.pth" "$pct/c%n%s.safetensors" 2>/dev/null && ok percent_paths_convert || ko percent_paths_convert "convert failed"

# ---- a message with a long path still says what went wrong ----
long=$(printf 'd%.0s' $(seq 200))
deep=.; for i in $(seq 19); do deep="$deep/$long"; done
mkdir -p "$deep"
# (not through expect_error: the 4 KB path would fill docs/bad-input.md)
for what in input model; do
    if [ $what = input ]; then "$SLIMVSR" upscale -q -m t.pth "$deep/missing.mkv" out2.mkv 2>err.txt
    else "$SLIMVSR" upscale -q -m "$deep/missing.pth" fr out2.mkv 2>err.txt; fi
    rc=$?
    if [ $rc -ne 0 ] && [ $rc -lt 128 ] && grep -q "missing\.[a-z]*: cannot open.*: No such file or directory$" err.txt; then
        ok "long_path_keeps_reason_$what"
    else
        ko "long_path_keeps_reason_$what" "status $rc, message ends: $(tail -c 120 err.txt)"
    fi
done
