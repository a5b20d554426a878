#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0 (LICENSE)
# install-deps.sh: installs the Debian 12 packages slimvsr needs to build, test and run its demo.
# Only missing packages are installed (apt-get update runs only then). Needs root (or sudo).
#   tools/install-deps.sh            build + tests (openmpi: make MPI=1 and tests/cli_mpi.sh)
#   tools/install-deps.sh --bench    also PyTorch for bench/ (python3-torch)
set -euo pipefail
pkgs=(build-essential pkg-config libdnnl-dev libavformat-dev libavcodec-dev libswscale-dev libavutil-dev
      libpng-dev libjpeg-dev libcjson-dev zlib1g-dev python3 python3-numpy ffmpeg time
      libopenmpi-dev openmpi-bin)
[ "${1:-}" = "--bench" ] && pkgs+=(python3-torch libjemalloc2 libtcmalloc-minimal4)
missing=()
for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
SUDO=; [ "$(id -u)" -ne 0 ] && SUDO=sudo
echo "install-deps: installing ${missing[*]}" >&2
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
