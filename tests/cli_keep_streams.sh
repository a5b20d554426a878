#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0 (LICENSE)
# cli_keep_streams.sh: what a video output keeps of a video input besides the pictures (issue 18, item 2):
# audio, subtitle and data streams copied packet for packet, chapters, global metadata, the timestamps
# (a variable frame rate stays variable), the rotation and the colour tags; one warning for what the
# output's container cannot hold, naming the stream and a container that can; --no-copy-streams.
# The clips are made by ffmpeg here and the outputs read by ffprobe/ffmpeg, independently of slimvsr.
# The bicubic baseline keeps it fast. Prints PASS/FAIL lines (counted by tests/run.sh). Needs $SLIMVSR,
# ffmpeg and ffprobe.
set -u
cd "$(dirname "$0")/.."
. tests/lib_cli.sh
cli_setup keep_streams
cd "$T"

if ! command -v ffmpeg >/dev/null || ! command -v ffprobe >/dev/null; then
    ko setup "ffmpeg and ffprobe are needed"
    exit 1
fi
up() { "$SLIMVSR" upscale -q -m bicubic "$@"; }
# streams FILE: the codec types of its streams, e.g. "video,audio"
streams() { ffprobe -v error -show_entries stream=codec_type -of csv=p=0 "$1" | paste -sd, -; }
# packets_md5 FILE SPEC: the MD5 of the packets of streams SPEC (e.g. a), copied out without decoding
packets_md5() { ffmpeg -v error -i "$1" -map "0:$2" -c copy -f md5 - 2>/dev/null; }
# frame_times FILE: the video frames' presentation times in seconds, space-separated
frame_times() {
    ffprobe -v error -select_streams v:0 -show_entries frame=pts_time -of csv=p=0 "$1" | tr -d , | grep . \
        | paste -sd' ' -
}
chapters() { ffprobe -v error -show_entries chapter=start_time:chapter_tags=title -of csv=p=0 "$1" | paste -sd' ' -; }
colours() {
    ffprobe -v error -select_streams v:0 -show_entries stream=color_primaries,color_transfer,color_space,color_range \
        -of csv=p=0 "$1"
}
rotation() { ffprobe -v error -select_streams v:0 -show_entries stream_side_data=rotation -of csv=p=0 "$1"; }
title() { ffprobe -v error -show_entries format_tags=title -of csv=p=0 "$1"; }
# same NAME GOT WANT
same() { if [ "$2" = "$3" ]; then ok "$1"; else ko "$1" "got '$2', want '$3'"; fi; }
# quiet NAME CMD...: CMD succeeds and prints nothing on stderr
quiet() {
    local name=$1; shift
    if "$@" 2>err.txt && [ ! -s err.txt ]; then ok "$name"
    else ko "$name" "failed or wrote: $(head -c 300 err.txt)"; fi
}
# warns NAME TEXT CMD...: CMD succeeds with exactly one line on stderr, naming TEXT
warns() {
    local name=$1 needle=$2; shift 2
    "$@" 2>err.txt
    local rc=$? lines; lines=$(wc -l <err.txt)
    if [ $rc -ne 0 ]; then ko "$name" "exit status $rc: $(head -c 300 err.txt)"
    elif [ "$lines" -ne 1 ] || ! grep -qF -- "$needle" err.txt; then
        ko "$name" "want one line naming '$needle': $(cat err.txt)"
    else ok "$name"; echo "    $(cat err.txt)"; fi
}

# ---- the clips: 1 s of 32x24 at 10 fps (x4: 128x96)
src=testsrc=size=32x24:rate=10
printf '1\n00:00:00,100 --> 00:00:00,800\nhello there\n' >s.srt
printf ';FFMETADATA1\ntitle=My clip\n%b\n%b\n' '[CHAPTER]\nTIMEBASE=1/1000\nSTART=0\nEND=500\ntitle=One' \
    '[CHAPTER]\nTIMEBASE=1/1000\nSTART=500\nEND=1000\ntitle=Two' >meta.txt
# H.264 + AAC in MP4; FFV1 + SubRip + title + chapters in Matroska; a 90-degree rotation (set on a copy:
# encoding would turn the pictures instead); frames at 0, 0.1, 0.2 and 1.5 s; BT.601 full-range tags
ffmpeg -v error -f lavfi -i "$src" -f lavfi -i sine=frequency=440:sample_rate=22050 -t 1 -c:v libx264 \
        -pix_fmt yuv420p -c:a aac -metadata:s:a:0 language=fra av.mp4 \
    && ffmpeg -v error -f lavfi -i "$src" -i s.srt -i meta.txt -map 0:v -map 1:s -map_metadata 2 -map_chapters 2 \
        -t 1 -c:v ffv1 -c:s srt sub.mkv \
    && ffmpeg -v error -f lavfi -i "$src" -t 1 -c:v libx264 plain.mp4 \
    && ffmpeg -v error -i plain.mp4 -c copy -metadata:s:v:0 rotate=90 rot.mp4 \
    && ffmpeg -v error -f lavfi -i "$src" -frames:v 4 -vf "setpts='if(eq(N,3),1.5/TB,N*0.1/TB)'" \
        -fps_mode passthrough -c:v ffv1 vfr.mkv \
    && ffmpeg -v error -f lavfi -i "$src" -t 1 -c:v libx264 -pix_fmt yuv420p -color_primaries bt470bg \
        -color_trc smpte170m -colorspace bt470bg -color_range pc col.mp4 \
    && ok setup || ko setup "ffmpeg failed"
same setup_streams "$(streams av.mp4) $(streams sub.mkv) $(rotation rot.mp4)" "video,audio video,subtitle 90"

# ---- audio: copied, not re-encoded (the same packets), into MP4 and Matroska
quiet audio_mp4_runs up av.mp4 a.mp4
same audio_mp4_streams "$(streams a.mp4)" "video,audio"
same audio_mp4_packets_identical "$(packets_md5 a.mp4 a)" "$(packets_md5 av.mp4 a)"
# packet by packet, with timestamps: A/V sync is the input's
same audio_mp4_packet_times "$(ffmpeg -v error -i a.mp4 -map 0:a -c copy -f framemd5 - | grep -v '^#')" \
    "$(ffmpeg -v error -i av.mp4 -map 0:a -c copy -f framemd5 - | grep -v '^#')"
same audio_mp4_frame_times "$(frame_times a.mp4)" "$(frame_times av.mp4)"
quiet audio_mkv_runs up av.mp4 a.mkv
same audio_mkv_packets_identical "$(packets_md5 a.mkv a)" "$(packets_md5 av.mp4 a)"
language() { ffprobe -v error -select_streams a:0 -show_entries stream_tags=language -of csv=p=0 "$1"; }
same audio_language_kept "$(language a.mp4) $(language a.mkv)" "fra fra"

# ---- subtitles, title and chapters into Matroska; into MP4 (no SubRip there) one warning, the rest kept
quiet subtitle_mkv_runs up sub.mkv s.mkv
same subtitle_mkv_streams "$(streams s.mkv)" "video,subtitle"
same subtitle_mkv_text "$(ffmpeg -v error -i s.mkv -map 0:s -f srt - | grep -c 'hello there')" 1
same subtitle_mkv_title "$(title s.mkv)" "My clip"
same subtitle_mkv_chapters "$(chapters s.mkv)" "0.000000,One 0.500000,Two"
warns subtitle_mp4_warns "input stream 1 (subtitle, subrip) is not kept: mp4 cannot hold it (mkv can)" \
    up sub.mkv s.mp4
# (MP4 keeps chapters in a text track of its own: ffprobe lists it as a data stream)
same subtitle_mp4_rest_kept "$(streams s.mp4 | grep -c subtitle) $(title s.mp4) $(chapters s.mp4)" \
    "0 My clip 0.000000,One 0.500000,Two"

# and the other way: MP4's own subtitles (mov_text) stay in MP4 and are refused by Matroska, naming MP4
ffmpeg -v error -f lavfi -i "$src" -i s.srt -t 1 -c:v libx264 -c:s mov_text movtext.mp4
quiet mov_text_mp4_runs up movtext.mp4 mt.mp4
same mov_text_mp4_kept "$(streams mt.mp4) $(ffmpeg -v error -i mt.mp4 -map 0:s -f srt - | grep -c 'hello there')" \
    "video,subtitle 1"
warns mov_text_mkv_warns "input stream 1 (subtitle, mov_text) is not kept: matroska cannot hold it (mp4 can)" \
    up movtext.mp4 mt.mkv

# FLAC: listed by the MP4 muxer, refused by its set-up ("experimental" in libavformat 59) or taken: either
# way the job goes on, with the audio or with one warning
ffmpeg -v error -f lavfi -i "$src" -f lavfi -i sine=sample_rate=22050 -t 1 -c:v ffv1 -c:a flac flac.mkv
up flac.mkv f.mp4 2>err.txt
if [ $? -ne 0 ]; then ko flac_mp4_goes_on "failed: $(cat err.txt)"
elif [ "$(streams f.mp4)" = video,audio ] && [ ! -s err.txt ]; then ok flac_mp4_goes_on
elif [ "$(streams f.mp4)" = video ] && [ "$(wc -l <err.txt)" -eq 1 ] \
    && grep -qF "input stream 1 (audio, flac) is not kept: mp4 cannot hold it (mkv can)" err.txt; then
    ok flac_mp4_goes_on; echo "    $(cat err.txt)"
else ko flac_mp4_goes_on "streams $(streams f.mp4), stderr: $(cat err.txt)"; fi

# an audio packet whose timestamp repeats the one before (Matroska allows it, MP4 does not): mended by one
# tick as ffmpeg -c copy does, instead of failing the job at the end
ffmpeg -v error -f lavfi -i "$src" -f lavfi -i sine=sample_rate=22050 -t 1 -c:v ffv1 -c:a aac \
    -bsf:a "setts=ts=if(eq(N\,3)\,PREV_INPTS\,PTS)" repeat.mkv
quiet repeated_dts_runs up repeat.mkv rp.mp4
same repeated_dts_packets_identical "$(packets_md5 rp.mp4 a)" "$(packets_md5 repeat.mkv a)"

# a data stream (raw bytes in MPEG-TS): MP4 holds it (the same packets), Matroska holds no data streams
head -c 3000 /dev/urandom >blob.bin
ffmpeg -v error -f lavfi -i "$src" -f data -i blob.bin -map 0 -map 1 -t 1 -c:v libx264 -c:d copy data.ts
quiet data_mp4_runs up data.ts d.mp4
same data_mp4_packets_identical "$(streams d.mp4) $(packets_md5 d.mp4 d)" "video,data $(packets_md5 data.ts d)"
warns data_mkv_warns "input stream 1 (data, bin_data) is not kept: matroska cannot hold it (mp4 can)" \
    up data.ts d.mkv

# a timecode track (QuickTime tmcd, a data stream): MOV and MP4 make it again from the video's timecode
# tag, Matroska keeps the tag; quietly. A font attachment: into Matroska, or one warning.
timecode() { ffprobe -v error -select_streams v:0 -show_entries stream_tags=timecode -of csv=p=0 "$1"; }
echo "not really a font" >font.ttf
ffmpeg -v error -f lavfi -i "$src" -t 1 -c:v libx264 -timecode 01:02:03:04 tc.mov \
    && ffmpeg -v error -f lavfi -i "$src" -t 1 -c:v ffv1 -attach font.ttf \
        -metadata:s:t mimetype=application/x-truetype-font att.mkv
quiet timecode_mov_runs up tc.mov tc_out.mov
quiet timecode_mkv_runs up tc.mov tc_out.mkv
same timecode_kept "$(timecode tc_out.mov) $(streams tc_out.mov) $(timecode tc_out.mkv)" \
    "$(timecode tc.mov) video,data $(timecode tc.mov)"
quiet attachment_mkv_runs up att.mkv at.mkv
same attachment_mkv_kept "$(ffprobe -v error -show_entries stream_tags=filename -of csv=p=0 at.mkv | grep .)" font.ttf
warns attachment_mp4_warns "input stream 1 (attachment, ttf) is not kept: mp4 cannot hold it (mkv can)" \
    up att.mkv at.mp4

# ---- --no-copy-streams: the pictures alone, quietly (timing stays)
quiet no_copy_quiet up --no-copy-streams sub.mkv n.mp4
quiet no_copy_runs up --no-copy-streams av.mp4 n.mkv
same no_copy_video_only "$(streams n.mp4) $(streams n.mkv) $(title n.mp4)" "video video "

# ---- rotation: the display matrix kept where the container holds one (MP4, MOV), else a warning
quiet rotation_mp4_runs up rot.mp4 r.mp4
same rotation_mp4_kept "$(rotation r.mp4)" 90
up rot.mp4 r.mov && same rotation_mov_kept "$(rotation r.mov)" 90
up rot.mp4 r.mkv 2>err.txt
if [ "$(rotation r.mkv)" = 90 ] && [ ! -s err.txt ]; then ok rotation_mkv_kept_or_warned  # libavformat >= 60.16
elif [ "$(wc -l <err.txt)" -eq 1 ] && grep -qF "display matrix (rotation 90 degrees) is not kept" err.txt; then
    ok rotation_mkv_kept_or_warned; echo "    $(cat err.txt)"
else ko rotation_mkv_kept_or_warned "rotation '$(rotation r.mkv)', stderr: $(cat err.txt)"; fi

# ---- the pixels' aspect ratio: an anamorphic input is as wide on screen after upscaling
ffmpeg -v error -f lavfi -i "$src" -t 1 -vf setsar=4/3 -c:v libx264 sar.mp4
for ext in mp4 mkv; do
    quiet "sar_${ext}_runs" up sar.mp4 "sar_out.$ext"
    same "sar_${ext}_kept" "$(ffprobe -v error -show_entries stream=sample_aspect_ratio -of csv=p=0 \
        "sar_out.$ext")" 4:3
done

# ---- timestamps: a variable frame rate stays variable (the frame at 1.5 s stays at 1.5 s)
for ext in mp4 mkv mov webm; do
    quiet "vfr_${ext}_runs" up vfr.mkv "v.$ext"
    same "vfr_${ext}_frame_times" "$(frame_times "v.$ext")" "0.000000 0.100000 0.200000 1.500000"
done

# an MPEG-TS input starts at 1.4 s or so: as with ffmpeg -c copy, that start is taken off every stream
# (the output starts at 0, the audio and video keep their distance); ffmpeg's own copy is the reference
ffmpeg -v error -f lavfi -i "$src" -f lavfi -i sine=sample_rate=22050 -t 1 -c:v libx264 -c:a aac ts.ts \
    && ffmpeg -v error -i ts.ts -c copy ts_copy.mp4
quiet ts_runs up ts.ts t.mp4
same ts_frame_times_as_ffmpeg_copy "$(frame_times t.mp4)" "$(frame_times ts_copy.mp4)"
same ts_audio_as_ffmpeg_copy "$(ffmpeg -v error -i t.mp4 -map 0:a -c copy -f framemd5 - | grep -v '^#')" \
    "$(ffmpeg -v error -i ts_copy.mp4 -map 0:a -c copy -f framemd5 - | grep -v '^#')"

# through chunks (each frame's time travels with it in the window): 9 frames, each gap longer than the last
ffmpeg -v error -f lavfi -i "$src" -frames:v 9 -vf "setpts='N*N*0.1/TB'" \
    -fps_mode passthrough -c:v ffv1 vfr9.mkv
quiet vfr_chunked_runs up --chunk 2 --lookahead 1 vfr9.mkv v9.mp4
same vfr_chunked_frame_times "$(frame_times v9.mp4)" "$(frame_times vfr9.mkv)"

# ---- colour tags: primaries, transfer, matrix, range
same colour_setup "$(colours col.mp4)" "pc,bt470bg,smpte170m,bt470bg"
for ext in mp4 webm; do
    quiet "colour_${ext}_runs" up col.mp4 "c.$ext"
    same "colour_${ext}_kept" "$(colours "c.$ext")" "pc,bt470bg,smpte170m,bt470bg"
done
# and not only the tags: the frames go back to YUV with the input's matrix and range, so a solid colour
# decodes (by ffmpeg, after the tags) to the input's RGB, within 2
rgb() { ffmpeg -v error -i "$1" -frames:v 1 -vf scale=1:1 -f rawvideo -pix_fmt rgb24 - | od -An -tu1 | xargs; }
ffmpeg -v error -f lavfi -i color=c=0x2080E0:size=32x24:rate=10 -t 0.5 -c:v libx264 -pix_fmt yuv420p \
    -colorspace bt470bg -color_range pc solid.mp4
up solid.mp4 so.mp4
if paste -d' ' <(rgb solid.mp4 | tr ' ' '\n') <(rgb so.mp4 | tr ' ' '\n') \
    | awk 'NF != 2 { exit 1 } { d = $1 - $2; if (d > 2 || d < -2) exit 1 } END { exit NR != 3 }'; then
    ok colour_full_range_bt601_values
else ko colour_full_range_bt601_values "input RGB '$(rgb solid.mp4)', output RGB '$(rgb so.mp4)'"; fi
# an untagged input gets BT.709 tags, as before
up plain.mp4 p.mp4 && same colour_untagged_bt709 "$(colours p.mp4)" "tv,bt709,bt709,bt709"

# ---- standard output: Matroska keeps the audio; y4m cannot and says so
up --format mkv av.mp4 - >o.mkv 2>err.txt && same stdout_mkv_audio "$(packets_md5 o.mkv a)" "$(packets_md5 av.mp4 a)"
warns stdout_y4m_warns "input stream 1 (audio, aac) is not kept: yuv4mpegpipe cannot hold it (mkv can)" \
    eval 'up av.mp4 - >o.y4m'

# ---- standard input is read once: its audio cannot be copied, which one warning says (not for frames)
warns stdin_audio_warns "standard input: 1 audio, subtitle or data stream is not kept" \
    eval 'ffmpeg -v error -i av.mp4 -c copy -f matroska - | up - in_pipe.mkv'
quiet stdin_no_copy_quiet eval 'ffmpeg -v error -i av.mp4 -c copy -f matroska - | up --no-copy-streams - in_pipe2.mkv'
quiet stdin_to_frames_quiet eval 'ffmpeg -v error -i av.mp4 -c copy -f matroska - | up - in_pipe_frames'

# ---- a failure leaves nothing: an output folder that does not exist; a file-size limit hit while the
# audio is copied into a lossless output (one line, exit 1, no output, no temporary; --no-resume: a
# resumable output keeps its frames, cli_disk_full.sh)
expect_error missing_output_folder "nope" up av.mp4 nope/x.mp4
mkdir small && cp av.mp4 small/
expect_error size_limit_fails "big.mkv" \
    bash -c "ulimit -f 40; cd small && '$SLIMVSR' upscale -q --no-resume -m bicubic av.mp4 big.mkv"
same size_limit_leaves_nothing "$(ls -A small)" av.mp4
