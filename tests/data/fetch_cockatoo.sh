#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0 (LICENSE)
# Fetches the real test clip used by tests/test_frames.c: cockatoo.mp4 (1280x720 H.264, 280 frames), which
# Debian ships inside the python3-imageio package. The clip lands in tests/data/cache/ (not committed).
# Prints the line to export for the test:  export SLIMVSR_COCKATOO=.../tests/data/cache/cockatoo.mp4
# Needs apt-get (Debian/Ubuntu) and network access.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
clip="$here/cache/cockatoo.mp4"
"$here/../../tools/fetch-debian-file.sh" python3-imageio \
    usr/lib/python3/dist-packages/imageio/resources/images/cockatoo.mp4 "$clip"
echo "export SLIMVSR_COCKATOO=$clip"
