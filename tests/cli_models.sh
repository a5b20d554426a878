#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0 (LICENSE)
# cli_models.sh: what -m names. The shipped models in models/ (the default, --model dense), their fp16
# storage, the bicubic baseline, $SLIMVSR_MODELS, and the errors for unknown or missing models, damaged
# models (a NaN or Inf weight, in a model file or a training state) and a video whose frame size changes.
# Prints PASS/FAIL lines (counted by tests/run.sh). Needs $SLIMVSR, $FRAMETOOL, $SLIMVSR_COCKATOO.
set -u
cd "$(dirname "$0")/.."
TINY=tests/data/tiny/tiny_basicvsr.pth
. tests/lib_cli.sh
cli_setup models

# psnr_above NAME A B MIN: frametool's worst-frame PSNR of A against B is above MIN (99.00 = identical)
psnr_above() {
    local p n; read -r p n < <("$FRAMETOOL" psnr "$2" "$3")
    awk -v p="$p" -v m="$4" 'BEGIN { exit !(p > m) }' && ok "$1 (worst PSNR $p dB)" || ko "$1" "worst PSNR $p dB, want > $4"
}

# A held-out clip: frames 200-205 of cockatoo.mp4 (the shipped models never trained on cockatoo),
# 1280x720 cut to 256x192 GT, MATLAB-bicubic LR 64x48.
if [ -z "${SLIMVSR_COCKATOO:-}" ] || [ ! -s "$SLIMVSR_COCKATOO" ]; then
    ko clip_setup "SLIMVSR_COCKATOO is not set; run tests/data/fetch_cockatoo.sh"
    exit 1
fi
mkdir -p "$T/gt"
ffmpeg -v error -i "$SLIMVSR_COCKATOO" -vf "select=between(n\,200\,205),crop=256:192:640:240" -vsync 0 \
    -start_number 0 "$T/gt/%08d.png" && "$FRAMETOOL" degrade "$T/gt" "$T/lr" bi && ok clip_setup || ko clip_setup "ffmpeg/degrade failed"

# --- the shipped models, as a user gets them (models/ beside build/) ---
for name in ssl dense; do
    if "$SLIMVSR" info --json "$name" > "$T/$name.json"; then ok "info_$name"; else ko "info_$name" "info failed"; fi
done
"$PY" - "$T/ssl.json" "$T/dense.json" <<'PY' && ok shipped_ssl_is_smaller || ko shipped_ssl_is_smaller "see above"
import json, sys
s, d = (json.load(open(p)) for p in sys.argv[1:])
f = lambda j: j["flops"] - j["flops_spynet"]
ratio = f(s) / f(d)
print(f"    ssl keeps {ratio:.2f} of the dense FLOPs (SPyNet excluded), {s['params']} of {d['params']} parameters")
sys.exit(not (0.3 < ratio < 0.7 and s["params"] < d["params"]))
PY
# no -m: the ssl model; --model dense; --model bicubic
"$SLIMVSR" upscale -q "$T/lr" "$T/sr_default" && "$SLIMVSR" upscale -q -m ssl "$T/lr" "$T/sr_ssl" \
    && "$SLIMVSR" upscale -q --model dense "$T/lr" "$T/sr_dense" && "$SLIMVSR" upscale -q -m bicubic "$T/lr" "$T/sr_bic" \
    && ok shipped_upscale || ko shipped_upscale "upscale failed"
psnr_above default_is_ssl "$T/sr_default" "$T/sr_ssl" 98
# Both trained models beat bicubic on the held-out frames (eval: Y PSNR, the protocol of the README table).
for m in bicubic ssl dense; do
    "$SLIMVSR" eval -q -m "$m" --lr "$T/lr" --gt "$T/gt" --y --json | "$PY" -c "import json,sys; print(json.load(sys.stdin)['mean']['psnr'])" > "$T/psnr_$m"
done
"$PY" - "$T" <<'PY' && ok shipped_models_beat_bicubic || ko shipped_models_beat_bicubic "see above"
import sys
p = {m: float(open(f"{sys.argv[1]}/psnr_{m}").read()) for m in ("bicubic", "ssl", "dense")}
print("    Y PSNR on held-out cockatoo frames: " + ", ".join(f"{m} {v:.3f}" for m, v in p.items()))
sys.exit(not (p["ssl"] > p["bicubic"] + 0.2 and p["dense"] > p["bicubic"] + 0.2))
PY
# eval -m bicubic measures what upscale -m bicubic writes (the runner's bicubic path, both ways); on one
# frame eval's mean RGB PSNR is frametool's per-frame PSNR
mkdir -p "$T/gt1" "$T/lr1" && cp "$T/gt/00000000.png" "$T/gt1/" && cp "$T/lr/00000000.png" "$T/lr1/"
"$SLIMVSR" upscale -q -m bicubic "$T/lr1" "$T/sr_bic1"
read -r pb n < <("$FRAMETOOL" psnr "$T/sr_bic1" "$T/gt1")
pe=$("$SLIMVSR" eval -q -m bicubic --lr "$T/lr1" --gt "$T/gt1" --json | "$PY" -c "import json,sys; print(json.load(sys.stdin)['mean']['psnr'])")
awk -v a="$pb" -v b="$pe" 'BEGIN { d = a - b; exit !(d < 0.006 && d > -0.006) }' \
    && ok "bicubic_eval_matches_upscale ($pe dB)" || ko bicubic_eval_matches_upscale "eval $pe dB, frametool $pb dB"

# --- $SLIMVSR_MODELS and fp16 storage, with the tiny test model ---
mkdir -p "$T/mymodels"
"$SLIMVSR" convert "$TINY" "$T/mymodels/basicvsr-ssl.safetensors" 2>/dev/null \
    && "$SLIMVSR" convert --fp16 "$TINY" "$T/mymodels/basicvsr-dense.safetensors" 2>/dev/null \
    && ok convert_fp16 || ko convert_fp16 "convert failed"
s32=$(stat -c %s "$T/mymodels/basicvsr-ssl.safetensors"); s16=$(stat -c %s "$T/mymodels/basicvsr-dense.safetensors")
[ $((s16 * 100 / s32)) -lt 52 ] && ok "fp16_half_size ($s16 of $s32 bytes)" || ko fp16_half_size "$s16 of $s32 bytes"
"$SLIMVSR" upscale -q -m "$TINY" "$T/lr" "$T/sr_tiny"
SLIMVSR_MODELS=$T/mymodels "$SLIMVSR" upscale -q "$T/lr" "$T/sr_env" && psnr_above env_default_model "$T/sr_env" "$T/sr_tiny" 98
# fp16 weights with fp32 compute: close to the fp32 model, but not the same numbers
SLIMVSR_MODELS=$T/mymodels "$SLIMVSR" upscale -q --model dense "$T/lr" "$T/sr_env16"
read -r p n < <("$FRAMETOOL" psnr "$T/sr_env16" "$T/sr_tiny")
awk -v p="$p" 'BEGIN { exit !(p > 50) }' && ok "fp16_close_to_fp32 ($p dB)" || ko fp16_close_to_fp32 "worst PSNR $p dB"

# --- errors ---
expect_error unknown_model_name "nosuchmodel" "$SLIMVSR" upscale -m nosuchmodel "$T/lr" "$T/x"
# a binary with no models/ beside it and an empty $SLIMVSR_MODELS: the error names the folders searched
mkdir -p "$T/bin" "$T/empty" && cp "$SLIMVSR" "$T/bin/slimvsr"
SLIMVSR_MODELS=$T/empty expect_error shipped_model_missing "$T/empty" "$T/bin/slimvsr" upscale "$T/lr" "$T/x"
SLIMVSR_MODELS=$T/empty expect_error shipped_dense_missing "basicvsr-dense" "$T/bin/slimvsr" info dense

# poison SRC DST TENSOR INDEX VALUE: a copy of the safetensors file SRC with element INDEX of TENSOR set to
# VALUE (nan, inf, -inf) in the tensor's own dtype (F32 or F16)
poison() {
    "$PY" - "$@" <<'PY'
import json, struct, sys
import numpy as np
src, dst, name, index, value = sys.argv[1:6]
b = bytearray(open(src, "rb").read())
n = struct.unpack("<Q", b[:8])[0]
t = json.loads(b[8:8 + n])[name]
dt = np.dtype({"F32": np.float32, "F16": np.float16}[t["dtype"]])
at = 8 + n + t["data_offsets"][0] + int(index) * dt.itemsize
b[at:at + dt.itemsize] = np.array(float(value), dt).tobytes()
open(dst, "wb").write(bytes(b))
PY
}
# A NaN or Inf weight is a damaged file, not a model that gives black frames: info and upscale refuse it,
# naming the file, the tensor and the element (float32 and float16 storage).
poison "$T/mymodels/basicvsr-ssl.safetensors" "$T/nan.safetensors" fusion.bias 3 nan
poison "$T/mymodels/basicvsr-dense.safetensors" "$T/inf16.safetensors" upconv1.weight 7 inf
nan_msg="nan.safetensors: tensor 'fusion.bias' holds a non-finite value (NaN) at index 3: the file is corrupt"
expect_error info_nan_weight "$nan_msg" "$SLIMVSR" info "$T/nan.safetensors"
expect_error upscale_nan_weight "$nan_msg" "$SLIMVSR" upscale -q -m "$T/nan.safetensors" "$T/lr" "$T/x"
inf_msg="inf16.safetensors: tensor 'upconv1.weight' holds a non-finite value (+Inf) at index 7"
expect_error upscale_inf_fp16_weight "$inf_msg" "$SLIMVSR" upscale -q -m "$T/inf16.safetensors" "$T/lr" "$T/x"
# the same in a training state: --resume reports a corrupt checkpoint, not a diverged run ("lower --lr")
mkdir -p "$T/tdata" && cp -r "$T/gt" "$T/tdata/a"
"$SLIMVSR" train -q --data "$T/tdata" --feat 4 --blocks 1 --batch 1 --seq 2 --patch 8 --iters 1 --out "$T/run" \
    --threads 1 >/dev/null 2>&1 && poison "$T/run/state.safetensors" "$T/run/state.safetensors" fusion.bias 0 nan
state_msg="state.safetensors: tensor 'fusion.bias' holds a non-finite value (NaN) at index 0: the file is corrupt"
expect_error resume_nan_state "$state_msg" "$SLIMVSR" train -q --out "$T/run" --resume --iters 2
# and in the optimiser's state (Adam's moments are not weights, but a NaN there spreads to every weight)
poison "$T/run/state.safetensors" "$T/run/state.safetensors" fusion.bias 0 0.5 \
    && poison "$T/run/state.safetensors" "$T/run/state.safetensors" train.adam_v 5 inf
adam_msg="state.safetensors: tensor 'train.adam_v' holds a non-finite value (+Inf) at index 5: the file is corrupt"
expect_error resume_inf_adam_state "$adam_msg" "$SLIMVSR" train -q --out "$T/run" --resume --iters 2
# A video whose frame size changes midway (two MPEG-2 transport streams of different sizes, joined) is
# refused at the first frame of the new size, as a folder of PNG frames is, not scaled to the first size.
ffmpeg -v error -f lavfi -i testsrc=size=64x48:rate=5:d=1 -c:v mpeg2video "$T/a.ts" \
    && ffmpeg -v error -f lavfi -i testsrc=size=80x48:rate=5:d=1 -c:v mpeg2video "$T/b.ts" \
    && cat "$T/a.ts" "$T/b.ts" > "$T/resized.ts"
expect_error video_size_change "80x48, the first frame was 64x48" \
    "$SLIMVSR" upscale -q -m bicubic "$T/resized.ts" "$T/x.mkv"
grep -qE "resized\.ts: frame [0-9]+ is 80x48" "$T/err.txt" && ok video_size_change_names_frame \
    || ko video_size_change_names_frame "$(cat "$T/err.txt")"
[ ! -e "$T/x" ] && [ ! -e "$T/x.mkv" ] && ok no_output_after_model_errors \
    || ko no_output_after_model_errors "$T/x or $T/x.mkv exists"
