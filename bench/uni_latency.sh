#!/bin/bash
# SPDX-License-Identifier: Apache-2.0 (LICENSE)
# Seconds per frame and latency (a frame's arrival to its output) of a forward-only BasicVSR (direction uni)
# against the bidirectional model of the same width and blocks (issue 17 item 4), random weights.
#
#   bash bench/uni_latency.sh [--feat 64] [--blocks 30] [--size 180x320] [--frames 16] [--fps F]
#                             [--chunk N] [--lookahead N]
#
# Runs build/bench/uni_latency (`make bench`; the options are its own, see bench/uni_latency.c) after a
# line naming the CPU, its vector ISA, the threads and the date. Frames arrive as fast as the upscaler
# takes them unless --fps F sets a live source's rate; the bidirectional model's chunk and lookahead are
# planned as for an open-ended stream unless given. Needs build/bench/uni_latency ($UNI_LATENCY).
set -u -o pipefail
cd "$(dirname "$0")/.."
case "${1:-}" in -h|--help) sed -n '3,12p' "$0"; exit 0 ;; esac
BIN=${UNI_LATENCY:-build/bench/uni_latency}
[ -x "$BIN" ] || { echo "uni_latency.sh: $BIN is missing: run make bench" >&2; exit 2; }
# conv backends: the fixed rule unless SLIMVSR_WISDOM names a wisdom file
export SLIMVSR_WISDOM=${SLIMVSR_WISDOM:-off} OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive}
cpu=$(grep -m1 '^model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
isa=$(grep -m1 '^flags' /proc/cpuinfo | tr ' ' '\n' | grep -xE 'avx2|fma|avx512f' | tr '\n' ' ')
echo "CPU: ${cpu:-unknown}; vector ISA: ${isa:-none of avx2/avx512}; ${OMP_NUM_THREADS:-$(nproc)} threads;" \
    "$(date -u '+%Y-%m-%d %H:%M UTC')"
exec "$BIN" "$@"
