# SPDX-License-Identifier: Apache-2.0 (LICENSE)
"""Float64 gradients of the tiny BasicVSR training case, to judge the float32 ones.

PyTorch's own float32 gradients (tests/data/tiny/train_grads.bin, from ../shared/testvectors) carry
rounding noise of their own; for SPyNet's coarse levels, whose gradients are 1e-7..1e-9, that noise
reaches ~1e-3 relative. This script recomputes the same case in float64 with bench/basicvsr_ref.py
(our PyTorch BasicVSR, checked against BasicSR's vectors by bench/check_ref.py), so test_train.c can
measure both float32 implementations against a far more exact answer.

Run: /usr/bin/python3 tests/data/train/make_grads_f64.py   (writes tests/data/train/train_grads_f64.bin:
the float64 gradients rounded to little-endian float32 (6e-8 relative, far below what is measured),
named_parameters order: the same names, order and sizes as train_grads.bin, checked here)
"""
import os
import sys

import numpy as np
import torch

here = os.path.dirname(os.path.abspath(__file__))
root = os.path.abspath(os.path.join(here, "..", "..", ".."))
sys.path.insert(0, os.path.join(root, "bench"))
import basicvsr_ref  # noqa: E402

tiny = os.path.join(root, "tests", "data", "tiny")
model = basicvsr_ref.load_model(os.path.join(tiny, "tiny_basicvsr.pth")).double()
x = torch.from_numpy(np.fromfile(os.path.join(tiny, "main_input.f32"), dtype="<f4").reshape(1, 3, 3, 64, 64)).double()
t = torch.from_numpy(np.fromfile(os.path.join(tiny, "train_target.f32"), dtype="<f4").reshape(1, 3, 3, 256, 256)).double()
y = model(x)
loss = torch.sqrt((y - t) ** 2 + 1e-12).mean()
loss.backward()
print("loss (float64):", loss.item())
import json  # noqa: E402

manifest = json.load(open(os.path.join(tiny, "train_manifest.json")))["grads"]["tensors"]
params = list(model.named_parameters())
assert [n for n, _ in params] == [m["name"] for m in manifest], "parameter order differs from the manifest"
with open(os.path.join(here, "train_grads_f64.bin"), "wb") as f:
    for (name, p), m in zip(params, manifest):
        assert list(p.shape) == m["shape"], name
        f.write(p.grad.detach().numpy().astype("<f4").tobytes())
