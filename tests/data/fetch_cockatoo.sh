#!/usr/bin/env bash
# Fetches the real test clip used by tests/test_frames.c: cockatoo.mp4 (1280x720 H.264, 280 frames), which
# Debian ships inside the python3-imageio package. The clip lands in tests/data/cache/ (not committed).
# Prints the line to export for the test:  export SLIMVSR_COCKATOO=.../tests/data/cache/cockatoo.mp4
# Needs apt-get (Debian/Ubuntu) and network access; runs "apt-get update" once if the download fails.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cache="$here/cache"
clip="$cache/cockatoo.mp4"
inner=usr/lib/python3/dist-packages/imageio/resources/images/cockatoo.mp4

if [ ! -s "$clip" ]; then
    mkdir -p "$cache"
    work=$(mktemp -d "$cache/.fetch-XXXXXX")
    trap 'rm -rf "$work"' EXIT
    # apt-get download writes into the current folder; as root it drops privileges to _apt, which needs
    # write access there.
    chmod 0777 "$work"
    if ! (cd "$work" && apt-get download -q python3-imageio >/dev/null 2>&1); then
        echo "fetch_cockatoo: apt-get download failed; running apt-get update" >&2
        apt-get update -q >/dev/null
        (cd "$work" && apt-get download -q python3-imageio >/dev/null)
    fi
    deb=$(ls "$work"/python3-imageio_*.deb 2>/dev/null | head -n 1)
    [ -n "$deb" ] || { echo "fetch_cockatoo: no python3-imageio .deb downloaded" >&2; exit 1; }
    dpkg -x "$deb" "$work/x"
    [ -s "$work/x/$inner" ] || { echo "fetch_cockatoo: $inner not found in $(basename "$deb")" >&2; exit 1; }
    mv "$work/x/$inner" "$clip.tmp"
    mv "$clip.tmp" "$clip"
fi
echo "export SLIMVSR_COCKATOO=$clip"
