#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0 (LICENSE)
# demo.sh: the README's first command. Installs what is missing, builds slimvsr, makes a low-resolution
# clip from a real video and upscales it x4 with the shipped model:
#   1. cockatoo.mp4 (1280x720, 20 fps, from Debian's python3-imageio; the shipped models never trained on
#      it): its first FRAMES frames, shrunk x4 to 320x180 by MATLAB-style bicubic (the degradation the
#      models were trained for) -> demo/cockatoo_lr.mkv (lossless)
#   2. slimvsr upscale demo/cockatoo_lr.mkv demo/cockatoo_x4.mp4   (the shipped SSL-pruned model)
#   3. demo/side_by_side.png: a crop of frame 10, bicubic | slimvsr | original, 2x enlarged so that pixels
#      are visible, and the Y PSNR of bicubic and slimvsr against the original frames
# MODEL=ssl|dense|bicubic|path.pth|path.safetensors picks the model (default ssl); FRAMES=N the length
# (default 20).
set -euo pipefail
cd "$(dirname "$0")/.."
MODEL=${MODEL:-ssl}
FRAMES=${FRAMES:-20}
S=build/slimvsr
tools/install-deps.sh
make -j"$(nproc)" >/dev/null
make -j"$(nproc)" build/tests/tools/frametool >/dev/null
eval "$(tests/data/fetch_cockatoo.sh)"
rm -rf demo/.work && mkdir -p demo/.work/gt
ffmpeg -v error -i "$SLIMVSR_COCKATOO" -frames:v "$FRAMES" "demo/.work/gt/%08d.png"
build/tests/tools/frametool degrade demo/.work/gt demo/.work/lr bi
ffmpeg -v error -y -framerate 20 -i "demo/.work/lr/%08d.png" -c:v ffv1 demo/cockatoo_lr.mkv
echo "demo: upscaling $FRAMES frames of 320x180 to 1280x720 with the model '$MODEL'" >&2
$S upscale -y -m "$MODEL" demo/cockatoo_lr.mkv demo/cockatoo_x4.mp4

# side by side: the same crop of frame 10 from bicubic, slimvsr (decoded from the .mp4) and the original
k=$((FRAMES > 10 ? 10 : FRAMES - 1))
$S upscale -q -m bicubic demo/.work/lr demo/.work/bicubic
ffmpeg -v error -i demo/cockatoo_x4.mp4 -vf "select=eq(n\,$k)" -vsync 0 -frames:v 1 demo/.work/sr.png
f=$(printf '%08d.png' "$k")
crop="crop=320:240:400:120,scale=640:480:flags=neighbor,pad=648:480:0:0:white"
ffmpeg -v error -y -i "demo/.work/bicubic/$f" -i demo/.work/sr.png -i "demo/.work/gt/$f" -filter_complex \
    "[0]$crop[a];[1]$crop[b];[2]crop=320:240:400:120,scale=640:480:flags=neighbor[c];[a][b][c]hstack=inputs=3" \
    demo/side_by_side.png
for m in bicubic "$MODEL"; do
    p=$($S eval -q -m "$m" --lr demo/.work/lr --gt demo/.work/gt --y --json |
        python3 -c "import json,sys; j=json.load(sys.stdin)['mean']; print(f\"{j['psnr']:.2f} dB, SSIM {j['ssim']:.4f}\")")
    echo "demo: $m: Y PSNR $p against the original frames" >&2
done
rm -rf demo/.work
echo "demo: wrote demo/cockatoo_x4.mp4 (1280x720) from demo/cockatoo_lr.mkv (320x180), and" >&2
echo "      demo/side_by_side.png (frame $k, crop 320x240 at (400,120) shown 2x: bicubic | slimvsr | original)" >&2
