#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0 (LICENSE)
# clips.sh: sourced by the experiment scripts. bench_clip DIR SRC: SRC's PNG frames cropped at the top left
# to a multiple of 4 (as training crops) in DIR/GT, and their LR (frametool degrade bi, MATLAB bicubic x4)
# in DIR/BIx4; nothing is done when DIR/BIx4 exists. Needs $FT (frametool).
# bench_quality MODEL DIR: "PSNR / SSIM" (Y, `slimvsr eval --y`) of MODEL on DIR/BIx4 against DIR/GT. Uses
# $S (slimvsr) and $THREADS (default 2).
bench_clip() {
    local d=$1
    [ -d "$d/BIx4" ] && return 0
    rm -rf "$d" && mkdir -p "$d/GT"
    /usr/bin/python3 - "$2" "$d/GT" <<'PY'
import glob, os, sys
sys.path.insert(0, "bench")
from pngio import read_png, write_png
for p in sorted(glob.glob(os.path.join(sys.argv[1], "*.png"))):
    im = read_png(p)
    h, w = im.shape[0] // 4 * 4, im.shape[1] // 4 * 4
    write_png(os.path.join(sys.argv[2], os.path.basename(p)), im[:h, :w].copy())
PY
    "$FT" degrade "$d/GT" "$d/BIx4.tmp" bi > /dev/null && mv "$d/BIx4.tmp" "$d/BIx4"
}

# bench_cockatoo DIR: frames 100-107 of cockatoo.mp4 (the demo clip, never trained on) as bench_clip makes
# them, in DIR/GT and DIR/BIx4 (DIR.frames keeps the decoded frames). Needs ffmpeg.
bench_cockatoo() {
    local d=$1
    [ -d "$d/BIx4" ] && return 0
    eval "$(tests/data/fetch_cockatoo.sh)"
    rm -rf "$d.frames" && mkdir -p "$d.frames"
    ffmpeg -v error -i "$SLIMVSR_COCKATOO" -vf "select=between(n\,100\,107)" -vsync 0 -start_number 0 \
        "$d.frames/%08d.png"
    bench_clip "$d" "$d.frames"
}

bench_quality() {
    "$S" eval -q -m "$1" --lr "$2/BIx4" --gt "$2/GT" --y --json --threads "${THREADS:-2}" | /usr/bin/python3 -c '
import json, sys
m = json.load(sys.stdin)["mean"]
print("%.3f / %.4f" % (m["psnr"], m["ssim"]))'
}
