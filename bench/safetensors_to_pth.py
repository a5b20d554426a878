#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0 (LICENSE)
"""Writes a slimvsr .safetensors BasicVSR (dense: no pruning index lists) as a BasicSR-layout PyTorch
checkpoint {'params': state_dict}, so that bench/basicvsr_ref.py can run the same network.

    /usr/bin/python3 bench/safetensors_to_pth.py IN.safetensors OUT.pth

Reads the file with json + numpy only (F32 and F16 tensors; F16 is widened exactly to float32).
"""
import json
import struct
import sys

import numpy as np
import torch


def read_safetensors(path):
    b = open(path, "rb").read()
    n = struct.unpack("<Q", b[:8])[0]
    header = json.loads(b[8:8 + n])
    meta = header.pop("__metadata__", {})
    data = b[8 + n:]
    dtypes = {"F32": "<f4", "F16": "<f2"}
    out = {}
    for name, t in header.items():
        lo, hi = t["data_offsets"]
        a = np.frombuffer(data[lo:hi], dtype=dtypes[t["dtype"]]).astype(np.float32).reshape(t["shape"])
        out[name] = torch.from_numpy(a.copy())
    return out, meta


def main():
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    sd, meta = read_safetensors(sys.argv[1])
    arch = json.loads(meta.get("slimvsr", "{}"))
    if arch.get("rsc") or arch.get("channels"):
        print("safetensors_to_pth: %s is a pruned model; PyTorch's BasicVSR has no RSC index lists" % sys.argv[1],
              file=sys.stderr)
        return 1
    torch.save({"params": sd}, sys.argv[2])
    return 0


if __name__ == "__main__":
    sys.exit(main())
