#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0 (LICENSE)
# cli_api_example.sh: examples/upscale_frames.c (the public API: load, push, pull, flush) gives the same
# frames, byte for byte, as `slimvsr upscale` on the same input, whole and chunked; and the shared
# library exports the public slimvsr_* symbols only. Needs $BUILD (build/examples/upscale_frames).
set -u
cd "$(dirname "$0")/.."
. tests/lib_cli.sh
cli_setup api
BUILD=$(realpath "${BUILD:-build}")
EXAMPLE=$BUILD/examples/upscale_frames
MODEL=tests/data/tiny/tiny_basicvsr.pth
W=44 H=30 N=7

# 7 LR frames of a random texture drifting by (2, 1) pixels per frame (odd sizes: SPyNet resizes)
"$PY" - "$T/lr.rgb" $W $H $N <<'PY'
import sys, numpy as np
out, w, h, n = sys.argv[1], *map(int, sys.argv[2:])
rng = np.random.default_rng(20)
tex = rng.integers(0, 256, (h + 2 * n, w + 2 * n, 3)).astype(np.float32)
tex = (tex + np.roll(tex, 1, 0) + np.roll(tex, 1, 1) + np.roll(tex, 1, (0, 1))) / 4  # smoother
np.concatenate([tex[i:i + h, 2 * i:2 * i + w].astype(np.uint8).ravel() for i in range(n)]).tofile(out)
PY
"$FRAMETOOL" unraw "$T/lr.rgb" $W $H "$T/lr" && ok example_setup || ko example_setup "frametool unraw failed"

# same_as_cli NAME EXAMPLE_ARGS -- CLI_ARGS
same_as_cli() {
    local name=$1 ex_args=$2 cli_args=$3
    rm -rf "$T/sr" "$T/cli.rgb" "$T/api.rgb"
    if ! "$SLIMVSR" upscale -q -m "$MODEL" $cli_args "$T/lr" "$T/sr" || ! "$FRAMETOOL" raw "$T/sr" "$T/cli.rgb"; then
        ko "$name" "slimvsr upscale failed"; return
    fi
    if ! "$EXAMPLE" "$MODEL" $W $H $ex_args <"$T/lr.rgb" >"$T/api.rgb" 2>"$T/err.txt"; then
        ko "$name" "upscale_frames failed: $(cat "$T/err.txt")"; return
    fi
    local want=$((N * W * H * 48)) got; got=$(stat -c %s "$T/api.rgb")
    if [ "$got" != "$want" ]; then ko "$name" "$got bytes out, want $want"; return; fi
    cmp -s "$T/cli.rgb" "$T/api.rgb" && ok "$name" || ko "$name" "frames differ from slimvsr upscale's: $(cmp "$T/cli.rgb" "$T/api.rgb")"
}
same_as_cli example_equals_cli "" ""
# chunks of 2 with a lookahead of 1: the backward branch sees only part of the clip, so this only agrees
# when the API cuts the same windows as the CLI (pipeline/clip_stream.c)
same_as_cli example_chunked_equals_cli "2 1" "--chunk 2 --lookahead 1"
same_as_cli example_chunk3_no_lookahead_equals_cli "3 0" "--chunk 3 --lookahead 0"

expect_error example_missing_model no_such.pth "$EXAMPLE" "$T/no_such.pth" $W $H </dev/null

# the shared library: a SONAME with the major version, and nothing but slimvsr_* exported
so=$BUILD/libslimvsr.so
soname=$(readelf -d "$so" | sed -n 's/.*Library soname: \[\(.*\)\]/\1/p')
[ "$soname" = libslimvsr.so.0 ] && ok so_soname || ko so_soname "SONAME '$soname'"
others=$(nm -D --defined-only "$so" | awk '$2 != "A" { sub(/@.*/, "", $3); print $3 }' | grep -v '^slimvsr_')
n_api=$(nm -D --defined-only "$so" | grep -c ' T slimvsr_')
[ -z "$others" ] && [ "$n_api" -ge 10 ] && ok so_exports_only_api || ko so_exports_only_api "$n_api slimvsr_ functions; others: $(echo $others | head -c 300)"
