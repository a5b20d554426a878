#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0 (LICENSE)
# cli_video_options.sh: upscale's video output options (--codec, --crf, --preset, --pix-fmt, --format, the
# container by extension), their refusals (one line naming the value, non-zero exit, nothing written), and
# pipes: "-" as the input (a y4m or other stream on stdin) and as the output (y4m by default, --format).
# Outputs are checked with ffprobe, independently of slimvsr. The bicubic baseline keeps it fast.
# Prints PASS/FAIL lines (counted by tests/run.sh). Needs $SLIMVSR, $SLIMVSR_COCKATOO, ffmpeg and ffprobe.
set -u
cd "$(dirname "$0")/.."
. tests/lib_cli.sh
cli_setup video_options
cd "$T"

if [ -z "${SLIMVSR_COCKATOO:-}" ] || [ ! -s "$SLIMVSR_COCKATOO" ]; then
    ko setup "SLIMVSR_COCKATOO is not set; run tests/data/fetch_cockatoo.sh"
    exit 1
fi
if ! command -v ffmpeg >/dev/null || ! command -v ffprobe >/dev/null; then
    ko setup "ffmpeg and ffprobe are needed"
    exit 1
fi
up() { "$SLIMVSR" upscale -q -m bicubic "$@"; }
# probe FILE|-: "codec,width,height,pix_fmt,frames" of the first video stream, frames decoded and counted
probe() {
    ffprobe -v error -select_streams v:0 -count_frames \
        -show_entries stream=codec_name,width,height,pix_fmt,nb_read_frames -of csv=p=0 "$1" 2>/dev/null
}
# expect_probe NAME FILE|- WANT: probe's line is WANT
expect_probe() {
    local got; got=$(probe "$2")
    if [ "$got" = "$3" ]; then ok "$1"; else ko "$1" "got '$got', want '$3'"; fi
}
# clean NAME: the folder holds only the inputs (a refusal left no output, no temporary)
clean() {
    local extra; extra=$(ls -A | grep -vxF -e lr.mkv -e lr10.mkv -e out.txt -e err.txt -e lsan.supp || true)
    if [ -z "$extra" ]; then ok "$1"; else ko "$1" "left behind: $extra"; rm -rf $extra; fi
}
# refused NAME TEXT ARGS...: upscale ARGS fails with one stderr line naming TEXT and leaves nothing
refused() {
    local name=$1 needle=$2; shift 2
    expect_error "$name" "$needle" up "$@"
    clean "${name}_leaves_nothing"
}

# 3 frames of 64x36 (x4: 256x144), lossless, without cockatoo's audio (copying it into outputs whose
# container cannot hold it gives a warning: cli_keep_streams.sh tests that); and a 10-bit copy
ffmpeg -v error -i "$SLIMVSR_COCKATOO" -vf scale=64:36 -frames:v 3 -an -c:v ffv1 lr.mkv \
    && ffmpeg -v error -i lr.mkv -c:v ffv1 -pix_fmt yuv420p10le lr10.mkv && ok setup || ko setup "ffmpeg failed"

# ---- defaults by extension (unchanged: .mp4 H.264 yuv420p, .mkv FFV1 RGB) and the new containers
up lr.mkv a.mp4 && expect_probe default_mp4_h264 a.mp4 "h264,256,144,yuv420p,3"
up lr.mkv a.mkv && expect_probe default_mkv_ffv1 a.mkv "ffv1,256,144,bgr0,3"
up lr.mkv a.webm && expect_probe default_webm_vp9 a.webm "vp9,256,144,yuv420p,3"
up lr.mkv a.mov && expect_probe default_mov_h264 a.mov "h264,256,144,yuv420p,3"
up lr.mkv a.y4m && expect_probe default_y4m_raw a.y4m "rawvideo,256,144,yuv420p,3"
# a 10-bit input gives 10-bit output by default
up lr10.mkv deep.mp4 && expect_probe ten_bit_input_ten_bit_output deep.mp4 "h264,256,144,yuv420p10le,3"
rm -f a.* deep.mp4

# ---- --codec: each encoder this libavcodec has, in a container that takes it
encoders=$(ffmpeg -hide_banner -encoders 2>/dev/null)
# libx265 leaks 1168 bytes per encoder it opens through libavcodec 59 (a bare avcodec_open2 +
# avcodec_free_context shows it too): suppressed for LeakSanitizer builds, for that library only
echo "leak:libx265.so" >lsan.supp
export LSAN_OPTIONS=${LSAN_OPTIONS:+$LSAN_OPTIONS:}suppressions=$PWD/lsan.supp:print_suppressions=0
for pair in libx264:mp4:h264 libx265:mkv:hevc libsvtav1:mp4:av1 libaom-av1:mkv:av1 libvpx-vp9:webm:vp9 prores_ks:mov:prores ffv1:mov:ffv1 mpeg4:mkv:mpeg4; do
    IFS=: read -r codec ext name <<<"$pair"
    if ! grep -qw -- "$codec" <<<"$encoders"; then echo "SKIP codec_$codec (not in this libavcodec)"; continue; fi
    if up --codec "$codec" lr.mkv "c.$ext" 2>err.txt && [ ! -s err.txt ]; then
        got=$(probe "c.$ext")
        [ "${got%%,*}" = "$name" ] && [ "${got##*,}" = 3 ] && ok "codec_$codec" || ko "codec_$codec" "got '$got'"
    else
        ko "codec_$codec" "failed or wrote to stderr: $(head -c 300 err.txt)"
    fi
    rm -f "c.$ext"
done

# ---- --crf and --preset change the stream (a lower CRF: a larger file); --pix-fmt is what is written
up --crf 40 --preset ultrafast lr.mkv lo.mp4 && up --crf 5 --preset ultrafast lr.mkv hi.mp4
lo=$(stat -c %s lo.mp4 2>/dev/null || echo 0); hi=$(stat -c %s hi.mp4 2>/dev/null || echo 0)
[ "$hi" -gt "$lo" ] && [ "$lo" -gt 0 ] && ok "crf_changes_quality (crf 5: $hi bytes, crf 40: $lo)" || ko crf_changes_quality "crf 5: $hi bytes, crf 40: $lo"
strings lo.mp4 | grep -q "crf=40.0" && ok crf_reaches_x264 || ko crf_reaches_x264 "x264's settings lack crf=40.0"
strings lo.mp4 | grep -q "subme=0" && ok preset_reaches_x264 || ko preset_reaches_x264 "x264's settings are not ultrafast's (subme=0)"
rm -f lo.mp4 hi.mp4
for pf in yuv444p yuv420p10le; do
    up --pix-fmt "$pf" lr.mkv "p.mp4" && expect_probe "pix_fmt_$pf" p.mp4 "h264,256,144,$pf,3"
    rm -f p.mp4
done
up --codec ffv1 --pix-fmt rgb24 lr.mkv p.mkv 2>err.txt
# FFV1 has no packed RGB24: refused by the codec's own list
grep -q "rgb24" err.txt && [ ! -e p.mkv ] && ok pix_fmt_rgb24_ffv1_refused || ko pix_fmt_rgb24_ffv1_refused "$(cat err.txt)"
up --codec libx264 --pix-fmt yuv422p lr.mkv g.mkv && expect_probe pix_fmt_yuv422p_mkv g.mkv "h264,256,144,yuv422p,3"
rm -f g.mkv

# ---- refusals: one line naming the value at fault, non-zero exit, no output and no temporary
refused codec_unknown "nosuch" --codec nosuch lr.mkv x.mp4
refused codec_container_pair "prores_ks" --codec prores_ks lr.mkv x.webm
refused codec_ffv1_in_mp4 "ffv1" --codec ffv1 lr.mkv x.mp4
refused crf_out_of_range "crf 55" --crf 55 lr.mkv x.mp4
refused crf_not_a_number "--crf" --crf high lr.mkv x.mp4
refused crf_without_crf_mode "crf" --codec ffv1 --crf 10 lr.mkv x.mkv
refused preset_unknown "fastest" --preset fastest lr.mkv x.mp4
refused preset_without_presets "preset" --codec libvpx-vp9 --preset fast lr.mkv x.webm
refused pix_fmt_unknown "bogus" --pix-fmt bogus lr.mkv x.mp4
refused pix_fmt_not_taken "rgb24" --pix-fmt rgb24 lr.mkv x.mp4
refused pix_fmt_y4m "yuv420p12le" --pix-fmt yuv420p12le lr.mkv x.y4m
refused format_for_a_file "format" --format mkv lr.mkv x.mkv
refused format_unknown "avi" --format avi lr.mkv -
refused video_option_for_folder "crf" --crf 20 lr.mkv frames/
refused dry_run_checks_output "prores_ks" --dry-run --codec prores_ks lr.mkv x.webm
refused refused_extension "x.avi" lr.mkv x.avi

# ---- pipes
# stdin: a y4m stream from ffmpeg; and a Matroska stream (probed from the pipe)
ffmpeg -v error -i lr.mkv -f yuv4mpegpipe - | up - in_y4m.mkv && expect_probe stdin_y4m in_y4m.mkv "ffv1,256,144,bgr0,3"
ffmpeg -v error -i lr.mkv -c:v ffv1 -f matroska - | up - in_mkv.mp4 && expect_probe stdin_matroska in_mkv.mp4 "h264,256,144,yuv420p,3"
rm -f in_y4m.mkv in_mkv.mp4
refused stdin_empty "standard input: no data" - x.mkv </dev/null
echo "not a video" >junk.txt
expect_error stdin_not_video "standard input" sh -c "\"$SLIMVSR\" upscale -q -m bicubic - x.mkv <junk.txt"
rm -f junk.txt; clean stdin_not_video_leaves_nothing
# stdout: y4m by default, nothing else on stdout, a correct header
up lr.mkv - >s.y4m 2>err.txt
head -1 s.y4m | grep -qx "YUV4MPEG2 W256 H144 F20:1 Ip A1:1 C420jpeg XYSCSS=420JPEG XCOLORRANGE=LIMITED" \
    && ok stdout_y4m_header || ko stdout_y4m_header "$(head -1 s.y4m | head -c 200)"
expect_probe stdout_y4m_frames s.y4m "rawvideo,256,144,yuv420p,3"
# exactly the header and 3 frames of 256x144 4:2:0 (each "FRAME\n" + 1.5 bytes a pixel): nothing else there
want=$(( $(head -1 s.y4m | wc -c) + 3 * (6 + 256 * 144 * 3 / 2) ))
[ "$(stat -c %s s.y4m)" = "$want" ] && [ ! -s err.txt ] && ok stdout_holds_only_the_stream || ko stdout_holds_only_the_stream "$(stat -c %s s.y4m) bytes, want $want; stderr: $(head -c 200 err.txt)"
rm -f s.y4m
up lr10.mkv - | head -1 | grep -q "C420p10" && ok stdout_y4m_ten_bit || ko stdout_y4m_ten_bit "no C420p10 tag"
[ "$(up lr.mkv - | ffmpeg -v error -i - -f null - 2>&1; echo $?)" = 0 ] && ok stdout_into_ffmpeg || ko stdout_into_ffmpeg "ffmpeg could not read the stream"
for f in mkv mp4 webm; do
    up --format "$f" lr.mkv - >"s.$f"
    got=$(probe "s.$f" | cut -d, -f2,3,5)
    [ "$got" = "256,144,3" ] && ok "stdout_format_$f" || ko "stdout_format_$f" "width,height,frames: '$got'"
done
expect_probe stdout_mkv_is_ffv1 s.mkv "ffv1,256,144,bgr0,3"
expect_probe stdout_webm_is_vp9 s.webm "vp9,256,144,yuv420p,3"
expect_probe stdout_mp4_fragmented_h264 s.mp4 "h264,256,144,yuv420p,3"
grep -q moof s.mp4 && ok stdout_mp4_is_fragmented || ko stdout_mp4_is_fragmented "no moof box"
up --format mp4 lr.mkv - | expect_probe stdout_mp4_through_pipe - "h264,256,144,yuv420p,3"
rm -f s.mkv s.mp4 s.webm
# both ends piped
ffmpeg -v error -i lr.mkv -f yuv4mpegpipe - | up - - | expect_probe stdin_to_stdout - "rawvideo,256,144,yuv420p,3"
# standard output on a terminal (a pty from script(1)): refused with exit 2 before anything is read
script -qec "\"$SLIMVSR\" upscale -q -m bicubic lr.mkv -" /dev/null </dev/null >tty.txt 2>&1
rc=$?
[ "$rc" = 2 ] && grep -q "standard output is a terminal" tty.txt && [ "$(wc -c <tty.txt)" -lt 300 ] \
    && ok stdout_terminal_refused || ko stdout_terminal_refused "exit $rc: $(head -c 300 tty.txt | tr -cd '[:print:]\n')"
rm -f tty.txt
# no folder or file named "-" is ever made
[ ! -e ./- ] && ok no_file_named_dash || ko no_file_named_dash "a '-' was created"
# a closed pipe: a clear error, exit 1, no crash (SIGPIPE ignored, EPIPE handled)
up lr.mkv - 2>err.txt | head -c 100 >/dev/null
rc=${PIPESTATUS[0]}
[ "$rc" = 1 ] && grep -q "standard output: write failed: Broken pipe" err.txt && [ "$(wc -l <err.txt)" = 1 ] \
    && ok closed_pipe_fails_cleanly || ko closed_pipe_fails_cleanly "exit $rc, stderr: $(head -c 300 err.txt)"
clean pipes_leave_nothing
