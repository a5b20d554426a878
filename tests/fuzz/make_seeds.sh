#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0 (LICENSE)
# make_seeds.sh OUT: the fuzzers' seed corpus, made from real files the tests use, into OUT/<target>/:
#   zip, pth      tests/data/pth_*.pth (BasicSR, MMagic, views, dtypes, deflate, ZIP64, legacy, evil global)
#   pickle        the data.pkl of each of them
#   safetensors   small files of every dtype, with metadata, empty and 0-d tensors (a whole model is 6 MB of
#                 SPyNet weights: too big a seed for a header parser)
#   model         the headers (JSON) of small models written by slimvsr (fp32 and fp16, dense and
#                 SSL-pruned, and forward-only): fuzz_model builds the file around its input
#   png           frames written by slimvsr's PNG writer (RGB 8-bit) and by ffmpeg (RGB, gray, palette, 16-bit)
#   jpeg          that frame as JPEG from ffmpeg: 4:2:0, 4:4:4, gray
#   video         short clips of cockatoo.mp4: H.264 .mp4, FFV1 .mkv, MPEG-4 .avi
# Needs $SLIMVSR, $FRAMETOOL, $SLIMVSR_COCKATOO (as tests/run.sh sets them) and ffmpeg.
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT=$1
S=${SLIMVSR:-build/slimvsr}
FT=${FRAMETOOL:-build/tests/tools/frametool}
export OMP_WAIT_POLICY=passive
rm -rf "$OUT" && mkdir -p "$OUT"/{zip,pth,pickle,safetensors,model,png,jpeg,video}
W=$(mktemp -d) && trap 'rm -rf "$W"' EXIT
for f in tests/data/pth_*.pth; do cp "$f" "$OUT/zip/"; cp "$f" "$OUT/pth/"; done
/usr/bin/python3 - "$OUT" <<'PY'
import glob, os, sys, zipfile
for f in sorted(glob.glob("tests/data/pth_*.pth")):
    try:
        z = zipfile.ZipFile(f)
    except zipfile.BadZipFile:
        continue  # the legacy (non-zip) one
    for n in z.namelist():
        if n.endswith("data.pkl"):
            open(os.path.join(sys.argv[1], "pickle", os.path.basename(f)[:-4] + ".pkl"), "wb").write(z.read(n))
PY
/usr/bin/python3 - "$OUT/safetensors" <<'PY'
import json, struct, sys
import numpy as np
def write(name, tensors, meta=None):
    hdr, data = {}, b""
    if meta: hdr["__metadata__"] = meta
    for k, a in tensors.items():
        dt = {"float32": "F32", "float16": "F16", "float64": "F64"}[str(a.dtype)]
        b = a.tobytes(); hdr[k] = {"dtype": dt, "shape": list(a.shape), "data_offsets": [len(data), len(data) + len(b)]}
        data += b
    h = json.dumps(hdr).encode(); h += b" " * (-len(h) % 8)
    open(f"{sys.argv[1]}/{name}.safetensors", "wb").write(struct.pack("<Q", len(h)) + h + data)
r = np.random.default_rng(0)
write("f32", {"conv.weight": r.standard_normal((4, 3, 3, 3)).astype(np.float32), "conv.bias": np.zeros(4, np.float32)},
      {"slimvsr": json.dumps({"format": 1, "num_feat": 4})})
write("mixed", {"h": r.standard_normal(7).astype(np.float16), "d": r.standard_normal((2, 1)).astype(np.float64),
                "empty": np.zeros((2, 0, 3), np.float32), "scalar": np.array(1.5, np.float32)})
bf = (np.arange(6, dtype=np.float32).view(np.uint32) >> 16).astype(np.uint16).tobytes()
h = json.dumps({"b": {"dtype": "BF16", "shape": [2, 3], "data_offsets": [0, 12]}}).encode(); h += b" " * (-len(h) % 8)
open(f"{sys.argv[1]}/bf16.safetensors", "wb").write(struct.pack("<Q", len(h)) + h + bf)
PY
# small models: a dense 4-feature, 1-block model and an SSL cut of it (RSC index lists in the metadata)
mkdir -p "$W/data" && "$FT" downscale "$SLIMVSR_COCKATOO" "$W/data/a" 4 20
"$S" train -q --data "$W/data" --feat 4 --blocks 1 --batch 1 --seq 2 --patch 8 --iters 1 --out "$W/dense" --threads 1
"$S" prune -q -m "$W/dense/model.safetensors" --data "$W/data" --batch 1 --seq 2 --patch 8 --select layer \
    --ratio 0.5 --sparsity-iters 1 --finetune-iters 1 --out "$W/ssl" --threads 1
"$S" convert --fp16 "$W/ssl/model.safetensors" "$W/ssl16.safetensors" 2>/dev/null
# and a forward-only one (direction uni in the metadata, no backward_trunk tensors)
"$S" train -q --data "$W/data" --feat 4 --blocks 1 --batch 1 --seq 2 --patch 8 --iters 1 --direction uni \
    --out "$W/uni" --threads 1
for m in dense:"$W/dense/model.safetensors" ssl:"$W/ssl/model.safetensors" ssl16:"$W/ssl16.safetensors" \
    uni:"$W/uni/model.safetensors"; do
    /usr/bin/python3 -c "import struct,sys; b=open(sys.argv[1],'rb').read(); n=struct.unpack('<Q',b[:8])[0]; open(sys.argv[2],'wb').write(b[8:8+n])" \
        "${m#*:}" "$OUT/model/${m%%:*}.json"
done
# PNG frames in several encodings
"$FT" downscale "$SLIMVSR_COCKATOO" "$W/png" 1 40
cp "$W/png/00000000.png" "$OUT/png/rgb8.png"
for fmt in gray rgba pal8 rgb48be; do ffmpeg -v error -i "$W/png/00000000.png" -pix_fmt $fmt "$OUT/png/$fmt.png"; done
for fmt in yuvj420p yuvj444p gray; do ffmpeg -v error -i "$W/png/00000000.png" -pix_fmt $fmt "$OUT/jpeg/$fmt.jpg"; done
# short videos
ffmpeg -v error -i "$SLIMVSR_COCKATOO" -frames:v 3 -vf scale=32:18 -c:v libx264 "$OUT/video/h264.mp4"
ffmpeg -v error -i "$SLIMVSR_COCKATOO" -frames:v 3 -vf scale=32:18 -c:v ffv1 "$OUT/video/ffv1.mkv"
ffmpeg -v error -i "$SLIMVSR_COCKATOO" -frames:v 3 -vf scale=32:18 -c:v mpeg4 "$OUT/video/mpeg4.avi"
ls "$OUT"/* | wc -l >/dev/null
