#!/usr/bin/env bash
# demo.sh: the README's first command. Installs what is missing, builds slimvsr, takes the first frames
# of a real clip (cockatoo.mp4 from Debian's python3-imageio, 1280x720), downscales them x4 to 320x180 and
# upscales them back with slimvsr:
#   demo/cockatoo_lr.mkv   the LR input (lossless)      demo/cockatoo_x4.mp4   the x4 result (H.264)
# MODEL=path.pth|.safetensors picks the checkpoint (BasicSR or MMagic BasicVSR, or a slimvsr model).
# Default: tests/data/tiny/tiny_basicvsr.pth, a randomly initialised 16-feature model from our test
# vectors: it proves the pipeline end to end, but its output is close to bilinear upscaling until a
# trained model ships. FRAMES=N sets the clip length (default 20).
set -euo pipefail
cd "$(dirname "$0")/.."
MODEL=${MODEL:-tests/data/tiny/tiny_basicvsr.pth}
FRAMES=${FRAMES:-20}
tools/install-deps.sh
make -j"$(nproc)" >/dev/null
eval "$(tests/data/fetch_cockatoo.sh)"
mkdir -p demo
ffmpeg -v error -y -i "$SLIMVSR_COCKATOO" -frames:v "$FRAMES" -vf scale=320:180:flags=area -c:v ffv1 demo/cockatoo_lr.mkv
echo "demo: upscaling $FRAMES frames of 320x180 with $MODEL" >&2
build/slimvsr upscale -m "$MODEL" demo/cockatoo_lr.mkv demo/cockatoo_x4.mp4
echo "demo: wrote demo/cockatoo_x4.mp4 (1280x720); input demo/cockatoo_lr.mkv" >&2
