#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0 (LICENSE)
# cli_inputs.sh: the inputs users have (issue 18 item 5): a folder of videos upscaled as a batch (each to
# OUT_DIR/NAME.EXT, one line each, a corrupt video does not stop the others, exit status 1 when one failed,
# -y for outputs in the way, never an input overwritten); PNG frames with alpha (the alpha upscaled by
# bicubic, checked against the RGB path's bicubic on gray frames of the same values; RGBA PNG out; one
# warning for a video output).
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

# ---- PNG frames with alpha ----
# png_frames KIND DIR [N W H]: N (3) frames of W x H (16x12) 0.png 1.png ... written by numpy + zlib (no slimvsr code):
# rgba (random colour, random alpha), rgb (the same colour, no alpha), gray (R = G = B = the alpha values);
# the same at 16 bits: rgba16, rgb16, gray16; rgb16to8: rgb16 rounded to 8 bits; flat16: every pixel
# (12345, 54321, 1)
png_frames() {
    "$PY" - "$1" "$2" "${3:-3}" "${4:-16}" "${5:-12}" <<'PY'
import sys, os, zlib, struct
import numpy as np
kind, out = sys.argv[1], sys.argv[2]
n, W, H = (int(v) for v in sys.argv[3:6])
os.makedirs(out, exist_ok=True)
def chunk(t, d): return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xffffffff)
def png(path, px):  # px: h x w x c, c = 3 or 4, uint8 or uint16 (written big-endian, as PNG stores it)
    h, w, c = px.shape
    bits = 16 if px.dtype == np.uint16 else 8
    rows = px.astype(">u2") if bits == 16 else px
    raw = b"".join(b"\0" + rows[y].tobytes() for y in range(h))
    ihdr = struct.pack(">IIBBBBB", w, h, bits, {3: 2, 4: 6}[c], 0, 0, 0)
    open(path, "wb").write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))
rng = np.random.default_rng(7)
deep = "16" in kind
top = 65535 if deep else 255
for i in range(n):
    rgb = rng.integers(0, top + 1, (H, W, 3)).astype(np.uint16 if deep else np.uint8)
    a = rng.integers(0, top + 1, (H, W, 1)).astype(rgb.dtype)
    a[0, :, 0] = 0; a[-1, :, 0] = top  # the ends of the range
    make = {"rgba": lambda: np.concatenate([rgb, a], 2), "rgb": lambda: rgb, "gray": lambda: np.repeat(a, 3, 2),
            "flat16": lambda: np.broadcast_to(np.array([12345, 54321, 1], np.uint16), (H, W, 3)),
            "rgb16to8": lambda: np.round(rgb / 257).astype(np.uint8)}  # rgb16's frames at 8 bits
    px = make[kind]() if kind in make else make[kind.replace("16", "")]()
    png(f"{out}/{i}.png", px)
PY
}
# rgba_of PNG [FMT]: the PNG's pixels as raw RGBA bytes (ffmpeg's decoder; FMT rgba64le: 16 bits), on stdout
rgba_of() { ffmpeg -nostdin -loglevel error -i "$1" -f rawvideo -pix_fmt "${2:-rgba}" -; }
# channels A B CA CB [u2]: compares channel CA of the raw RGBA file A with channel CB of B (u2: 16-bit
# samples); prints the count that differ
channels() {
    "$PY" -c 'import sys, numpy as np
t = np.uint16 if sys.argv[5:] == ["u2"] else np.uint8
a, b = (np.fromfile(p, t).reshape(-1, 4) for p in sys.argv[1:3])
print(int((a[:, int(sys.argv[3])] != b[:, int(sys.argv[4])]).sum()) if a.shape == b.shape else "sizes differ")' "$@"
}
png_frames rgba rgba && png_frames rgb rgb && png_frames gray gray && ok alpha_setup || ko alpha_setup "python3 failed"
if "$SLIMVSR" upscale -q -m "$MODEL" rgba sr_rgba 2>alpha.err && "$SLIMVSR" upscale -q -m "$MODEL" rgb sr_rgb \
    && "$SLIMVSR" upscale -q -m bicubic gray bic_gray; then
    [ ! -s alpha.err ] && ok alpha_no_warning_for_png || ko alpha_no_warning_for_png "$(cat alpha.err)"
    # colour type 6 (RGBA) in the IHDR of every output frame, the size x4
    types=$(for f in sr_rgba/{0,1,2}.png; do od -An -tu1 -j24 -N2 "$f" | tr -s ' ' | sed 's/^ //'; done | tr '\n' ' ')
    read -r n w h fps < <("$FRAMETOOL" probe sr_rgba)
    [ "$types" = "8 6 8 6 8 6 " ] && [ "$n $w $h" = "3 64 48" ] && ok alpha_rgba_png_out || ko alpha_rgba_png_out "depth/type '$types', '$n $w $h'"
    bad=0
    for i in 0 1 2; do
        rgba_of sr_rgba/$i.png > a.raw && rgba_of bic_gray/$i.png > g.raw && rgba_of sr_rgb/$i.png > c.raw || bad=1
        # the alpha is the bicubic x4 of the input's alpha: the RGB path's bicubic on gray frames of those values
        [ "$(channels a.raw g.raw 3 0)" = 0 ] || { bad=1; echo "    frame $i: alpha differs from bicubic"; }
        # and the colour is what the same frames give without alpha
        for c in 0 1 2; do [ "$(channels a.raw c.raw $c $c)" = 0 ] || { bad=1; echo "    frame $i: colour $c differs"; }; done
    done
    [ $bad = 0 ] && ok alpha_bicubic_and_colour_exact || ko alpha_bicubic_and_colour_exact "see above"
    # the alpha is not trivial: it spans 0..255 in every frame
    rgba_of sr_rgba/1.png > a.raw
    "$PY" -c 'import sys, numpy as np; a = np.fromfile(sys.argv[1], np.uint8).reshape(-1, 4)[:, 3]; sys.exit(not (a.min() == 0 and a.max() == 255 and len(np.unique(a)) > 100))' a.raw \
        && ok alpha_values_span || ko alpha_values_span "the alpha channel is nearly constant"
else
    ko alpha_upscale "upscale failed: $(cat alpha.err)"
fi
# a video output cannot carry it: one warning naming the input, the video written
"$SLIMVSR" upscale -q -m bicubic rgba rgba.mkv 2>alpha.err
rc=$?
[ $rc -eq 0 ] && [ "$(grep -c . alpha.err)" = 1 ] && grep -q "rgba: .*alpha" alpha.err && [ -s rgba.mkv ] \
    && ok alpha_video_warning || ko alpha_video_warning "rc $rc: $(cat alpha.err)"
sed 's/^/    /' alpha.err

# the memory plan counts what frames with alpha and 16-bit frames add (two RGBA or 16-bit output frames in the
# writer; for alpha, the planes of pipeline/upscale_alpha.c: h*w*(1+4) + 16*h*w*(4+3+1) bytes at 8 bits):
# at 480x360, about 28 MB more for RGBA than for RGB, and 16 MB more for 16-bit RGB than for 8-bit
peak_mb() { "$SLIMVSR" upscale -m bicubic --dry-run "$1" "$1.out" | awk '/^peak memory/ { print $3 }'; }
png_frames rgba big_rgba 1 480 360 && png_frames rgb big_rgb 1 480 360 && png_frames rgb16 big_rgb16 1 480 360 \
    || ko plan_setup "python3 failed"
pa=$(peak_mb big_rgba) pb=$(peak_mb big_rgb) pc=$(peak_mb big_rgb16)
[ -n "$pa" ] && [ -n "$pb" ] && [ -n "$pc" ] && [ $((pa - pb)) -ge 25 ] && [ $((pc - pb)) -ge 14 ] \
    && [ ! -e big_rgba.out ] && ok "plan_counts_alpha_and_16bit ($pb MB RGB, $pa MB RGBA, $pc MB 16-bit)" \
    || ko plan_counts_alpha_and_16bit "dry-run peaks: RGB '$pb', RGBA '$pa', 16-bit '$pc' MB"

# ---- 16-bit PNG frames ----
# read at 16 bits and written as 16-bit PNG: flat frames of values no 8-bit frame holds come out exactly
# (bicubic of a constant is that constant), in the right channels and byte order
png_frames flat16 flat16 && "$SLIMVSR" upscale -q -m bicubic flat16 sr_flat16 || ko deep_setup "upscale failed"
types=$(for f in sr_flat16/{0,1,2}.png; do od -An -tu1 -j24 -N2 "$f" | tr -s ' ' | sed 's/^ //'; done | tr '\n' ' ')
[ "$types" = "16 2 16 2 16 2 " ] && ok deep_16bit_png_out || ko deep_16bit_png_out "depth/type '$types'"
rgba_of sr_flat16/2.png rgba64le > f.raw
"$PY" -c 'import sys, numpy as np; a = np.fromfile(sys.argv[1], np.uint16).reshape(-1, 4); print(sorted(set(map(tuple, a[:, :3].tolist()))))' f.raw > f.txt
[ "$(cat f.txt)" = "[(12345, 54321, 1)]" ] && [ "$(stat -c %s f.raw)" = $((64 * 48 * 8)) ] \
    && ok deep_values_kept_exactly || ko deep_values_kept_exactly "got $(head -c 300 f.txt)"
# random 16-bit frames through the network (the tiny model): 16-bit out, finer than 8 bits, and the same
# picture as the frames rounded to 8 bits give (within what that rounding costs)
png_frames rgb16 rgb16 && png_frames rgb16to8 rgb16to8
if "$SLIMVSR" upscale -q -m "$MODEL" rgb16 sr_rgb16 && "$SLIMVSR" upscale -q -m "$MODEL" rgb16to8 sr_rgb16to8; then
    rgba_of sr_rgb16/1.png rgba64le > d.raw && rgba_of sr_rgb16to8/1.png > e.raw
    "$PY" -c 'import sys, numpy as np
d = np.fromfile(sys.argv[1], np.uint16).reshape(-1, 4)[:, :3].astype(float)
e = np.fromfile(sys.argv[2], np.uint8).reshape(-1, 4)[:, :3].astype(float)
off = np.abs(d / 257 - e).max(); fine = (d % 257 != 0).mean()
print(f"{off:.2f} {fine:.2f}"); sys.exit(not (off <= 2 and fine > 0.9))' d.raw e.raw > de.txt \
        && ok "deep_network_16bit (8-bit levels off at most, share not on an 8-bit level: $(cat de.txt))" \
        || ko deep_network_16bit "$(cat de.txt)"
else
    ko deep_network_16bit "upscale failed"
fi
# 16-bit frames with alpha: RGBA 16-bit out, the alpha the 16-bit bicubic of the input's alpha
png_frames rgba16 rgba16 && png_frames gray16 gray16
if "$SLIMVSR" upscale -q -m "$MODEL" rgba16 sr_rgba16 && "$SLIMVSR" upscale -q -m bicubic gray16 bic_gray16; then
    t=$(od -An -tu1 -j24 -N2 sr_rgba16/0.png | tr -s ' ' | sed 's/^ //')
    rgba_of sr_rgba16/0.png rgba64le > a.raw && rgba_of bic_gray16/0.png rgba64le > g.raw
    [ "$t" = "16 6" ] && [ "$(channels a.raw g.raw 3 0 u2)" = 0 ] && ok deep_alpha_16bit || ko deep_alpha_16bit "type '$t'"
else
    ko deep_alpha_16bit "upscale failed"
fi
# a video output takes them too (8-bit frames, a 10-bit pixel format by default)
"$SLIMVSR" upscale -q -m bicubic rgb16 rgb16.mkv 2>deep.err && read -r n w h fps < <("$FRAMETOOL" probe rgb16.mkv) \
    && [ "$n $w $h" = "3 64 48" ] && ok deep_to_video || ko deep_to_video "$(cat deep.err) '${n:-} ${w:-} ${h:-}'"
# an interrupted job on 16-bit frames continues to exactly the frames of an uninterrupted one (the frames
# before the checkpoint are read again at 16 bits)
png_frames rgb16 long16 24 64 48
JOB=(-q --threads 1 -m "$MODEL" --chunk 2 --lookahead 1)
"$SLIMVSR" upscale "${JOB[@]}" long16 long_full || ko deep_resume "upscale failed"
"$SLIMVSR" upscale "${JOB[@]}" long16 long_out 2>/dev/null &
pid=$!
wait_for "$pid" [ -e long_out.partial/7.png ]
kill -KILL "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
if [ -d long_out.partial ] && [ ! -e long_out/23.png ] && "$SLIMVSR" upscale "${JOB[@]:1}" long16 long_out 2>resume.err; then
    grep -q "continued long_out.partial at frame [1-9]" resume.err \
        && diff <(cd long_full && md5sum -- *) <(cd long_out && md5sum -- *) >/dev/null \
        && ok deep_resume_equals_uninterrupted || ko deep_resume_equals_uninterrupted "$(cat resume.err)"
else
    ko deep_resume_equals_uninterrupted "no partial output to continue (the job ended before the kill?) $(cat resume.err 2>/dev/null)"
fi

# ---- WebP, TIFF and BMP frames (libavcodec's decoders) ----
# the same three RGB frames as PNG, TIFF, BMP and lossless WebP: each kind upscales to the PNG folder's
# frames exactly, under the input's names as .png
mkdir im
kinds="tif bmp"
ffmpeg -hide_banner -encoders 2>/dev/null | grep -q " libwebp " && kinds="$kinds webp" || echo "    (no libwebp encoder in ffmpeg: WebP not tested)"
for k in png $kinds; do
    mkdir "im/$k"
    more=(); [ "$k" = webp ] && more=(-c:v libwebp -lossless 1)
    ffmpeg -nostdin -loglevel error -i "$SLIMVSR_COCKATOO" -vf scale=32:18,format=rgb24 -frames:v 3 "${more[@]}" "im/$k/%d.$k" \
        || ko "image_${k}_setup" "ffmpeg failed"
done
"$SLIMVSR" upscale -q -m "$MODEL" im/png im/sr_png || ko image_setup "upscale failed"
for k in $kinds; do
    if "$SLIMVSR" upscale -q -m "$MODEL" "im/$k" "im/sr_$k" 2>im.err; then
        read -r p n < <("$FRAMETOOL" psnr "im/sr_$k" im/sr_png)
        names=$(ls "im/sr_$k" | grep -v '^\.' | tr '\n' ' ')
        [ "$p $n" = "99.00 3" ] && [ "$names" = "1.png 2.png 3.png " ] && ok "image_${k}_equals_png" \
            || ko "image_${k}_equals_png" "PSNR $p over $n frames, names '$names'"
    else
        ko "image_${k}_equals_png" "upscale failed: $(cat im.err)"
    fi
done
# one kind per folder; a truncated frame and a frame of another size are refused, naming the file
cp im/png/1.png im/tif/0.png
expect_error image_mixed_kinds "holds both PNG and TIFF frames (0.png, 1.tif)" "$SLIMVSR" upscale -q -m bicubic im/tif im/mixed
rm im/tif/0.png
head -c 200 im/bmp/2.bmp > im/cut.bmp && mv im/cut.bmp im/bmp/2.bmp
expect_error image_truncated_frame "im/bmp/2.bmp" "$SLIMVSR" upscale -q -m bicubic im/bmp im/cut
ffmpeg -nostdin -loglevel error -i "$SLIMVSR_COCKATOO" -vf scale=30:18,format=rgb24 -frames:v 1 -y im/tif/2.tif
expect_error image_other_size "im/tif/2.tif: frame is 30x18 but the first frame is 32x18" "$SLIMVSR" upscale -q -m bicubic im/tif im/size
[ ! -e im/mixed ] && [ ! -e im/cut ] && [ ! -e im/size ] && ok image_refusals_write_nothing || ko image_refusals_write_nothing "$(ls im)"
# their alpha is read as a PNG's is, and 16-bit TIFF stays 16-bit: the RGBA, 16-bit and 16-bit RGBA frames of
# above, as TIFF (and 8-bit RGBA as lossless WebP), upscale to exactly the PNG folders' frames, without a warning.
# (Lossless WebP keeps the alpha but not the colour under fully transparent pixels, so the WebP frames are
# compared with their own decoding by ffmpeg, written as PNG.)
# same_frames NAME DIR REF [FMT]: every frame of DIR (0.png 1.png 2.png) equals REF's, as ffmpeg decodes them
same_frames() {
    local bad=0 i
    for i in 0 1 2; do
        cmp -s <(rgba_of "$2/$i.png" ${4:-}) <(rgba_of "$3/$i.png" ${4:-}) || bad=1
    done
    [ $bad = 0 ] && ok "$1" || ko "$1" "$2 differs from $3"
}
deep_kinds="tifa:rgba:rgba:sr_rgba tif16:rgb16:rgb48le:sr_rgb16 tifa16:rgba16:rgba64le:sr_rgba16"
ffmpeg -hide_banner -encoders 2>/dev/null | grep -q " libwebp " && deep_kinds="$deep_kinds webpa:rgba:bgra:sr_rgba"
for spec in $deep_kinds; do
    IFS=: read -r name src fmt ref <<< "$spec"
    ext=tif more=()
    [ "${name#webp}" != "$name" ] && ext=webp more=(-c:v libwebp -lossless 1)
    mkdir "im/$name" && ffmpeg -nostdin -loglevel error -i "$src/%d.png" -pix_fmt "$fmt" "${more[@]}" -start_number 0 "im/$name/%d.$ext" \
        || ko "image_${name}_setup" "ffmpeg failed"
    if [ "$ext" = webp ]; then
        mkdir "im/${name}_png" && ffmpeg -nostdin -loglevel error -i "im/$name/%d.webp" -pix_fmt rgba -start_number 0 \
            "im/${name}_png/%d.png" && "$SLIMVSR" upscale -q -m "$MODEL" "im/${name}_png" "im/sr_${name}_png" \
            || ko "image_${name}_setup" "ffmpeg or upscale failed"
        ref=im/sr_${name}_png
    fi
    deep=""; case "$fmt" in rgb48le|rgba64le) deep=rgba64le ;; esac
    if "$SLIMVSR" upscale -q -m "$MODEL" "im/$name" "im/sr_$name" 2>im.err; then
        if [ -s im.err ]; then ko "image_${name}_equals_png" "a warning: $(cat im.err)"
        else same_frames "image_${name}_equals_png" "im/sr_$name" "$ref" $deep; fi
    else
        ko "image_${name}_equals_png" "upscale failed: $(cat im.err)"
    fi
done
