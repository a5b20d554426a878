#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0 (LICENSE)
# cli_python.sh: the Python binding (python/slimvsr, ctypes over build/libslimvsr.so.0) gives the frames of
# `slimvsr upscale` byte for byte (whole clip and chunked, from a file and from bytes), the numbers of
# `slimvsr info --json`, and errors that carry the library's message. Needs $BUILD and Debian's numpy.
set -u
cd "$(dirname "$0")/.."
. tests/lib_cli.sh
cli_setup python
BUILD=$(realpath "${BUILD:-build}")
MODEL=tests/data/tiny/tiny_basicvsr.pth
export PYTHONPATH=$PWD/python SLIMVSR_LIBRARY=$BUILD/libslimvsr.so.0 PYTHONDONTWRITEBYTECODE=1
san_preload "$SLIMVSR_LIBRARY"

# 6 LR frames of 36x20, a texture drifting one pixel per frame, as PNGs for the CLI
"$PY" - "$T/lr.rgb" <<'PY'
import sys, numpy as np
rng = np.random.default_rng(7)
tex = rng.integers(0, 256, (40, 60, 3), dtype=np.uint8)
np.stack([tex[i:i + 20, i:i + 36] for i in range(6)]).tofile(sys.argv[1])
PY
"$FRAMETOOL" unraw "$T/lr.rgb" 36 20 "$T/lr" || ko python_setup "frametool unraw failed"
for args in "" "--chunk 2 --lookahead 1"; do
    name=$([ -z "$args" ] && echo whole || echo chunked)
    "$SLIMVSR" upscale -q -m "$MODEL" $args "$T/lr" "$T/sr_$name" && "$FRAMETOOL" raw "$T/sr_$name" "$T/cli_$name.rgb" \
        || ko "python_setup_$name" "slimvsr upscale failed"
done
"$SLIMVSR" info "$MODEL" --size 20x36 --json >"$T/info.json" || ko python_setup_info "slimvsr info failed"

"${PRE[@]}" "$PY" - "$T" "$MODEL" <<'PY'
import json, sys, numpy as np, slimvsr
T, model_path = sys.argv[1:]
def check(name, cond, why=""):
    print(("PASS " if cond else "FAIL ") + name + ("" if cond else ": " + why))
lr = np.fromfile(f"{T}/lr.rgb", np.uint8).reshape(6, 20, 36, 3)
m = slimvsr.Model(model_path)
for name, opts in (("whole", {}), ("chunked", {"chunk": 2, "lookahead": 1})):
    want = np.fromfile(f"{T}/cli_{name}.rgb", np.uint8).reshape(6, 80, 144, 3)
    got = np.stack(list(slimvsr.Upscaler(m, 36, 20, **opts).upscale(iter(lr))))
    check(f"python_{name}_equals_cli", got.shape == want.shape and (got == want).all(),
          f"shape {got.shape}, {(got != want).sum()} bytes differ")
# frames that are views with padded rows (a crop) and a model from bytes give the same frames
big = np.zeros((6, 20, 40, 3), np.uint8); big[:, :, 2:38] = lr
mb = slimvsr.Model(data=open(model_path, "rb").read())
got = np.stack(list(slimvsr.Upscaler(mb, 36, 20).upscale(big[:, :, 2:38])))
want = np.fromfile(f"{T}/cli_whole.rgb", np.uint8).reshape(6, 80, 144, 3)
check("python_strided_frames_and_model_bytes", (got == want).all(), f"{(got != want).sum()} bytes differ")
cli = json.load(open(f"{T}/info.json"))
info = slimvsr.info(model_path, 36, 20)
check("python_info_equals_cli", all(info[k] == cli[k] for k in ("params", "params_spynet", "flops", "flops_spynet")),
      f"{info} vs {cli}")
try:
    slimvsr.Model("/nonexistent/%s.pth"); check("python_error", False, "no exception")
except slimvsr.Error as e:
    check("python_error", e.status == -2 and "/nonexistent/%s.pth" in str(e), f"{e.status} {e}")
try:
    slimvsr.Upscaler(m, 36, 20).push(lr[0][:, :30]); check("python_bad_frame", False, "no exception")
except ValueError as e:
    check("python_bad_frame", "36x" in str(e) or "20x36" in str(e), str(e))
check("python_version", slimvsr.version().count(".") == 2, slimvsr.version())
PY
