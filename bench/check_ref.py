#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0 (LICENSE)
"""Developer check: bench/basicvsr_ref.py reproduces the PyTorch/BasicSR reference vectors.

Loads shared/testvectors/basicvsr-tiny/tiny_basicvsr.pth (num_feat 16, 2 blocks, bare state_dict) into our
BasicVSR and runs the main / odd / pad cases, printing the max abs error of the output and of the
intermediates that the vectors hold. Exits 1 when an error is above the tolerance (default 1e-5).

    /usr/bin/python3 bench/check_ref.py [--vectors DIR] [--tol 1e-5]
"""

import argparse
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from basicvsr_ref import BasicVSR, infer_shape, pixel_grid_warp  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_VECTORS = os.path.join(HERE, "..", "..", "shared", "testvectors", "basicvsr-tiny")


def load_tensor(vec_dir, entry):
    dtype = {"float32": torch.float32, "float64": torch.float64}[entry["dtype"]]
    with open(os.path.join(vec_dir, entry["file"]), "rb") as f:
        data = bytearray(f.read())
    return torch.frombuffer(data, dtype=dtype).reshape(entry["shape"]).clone()


def max_err(a, b):
    assert tuple(a.shape) == tuple(b.shape), (tuple(a.shape), tuple(b.shape))
    return (a.double() - b.double()).abs().max().item()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--vectors", default=DEFAULT_VECTORS)
    ap.add_argument("--tol", type=float, default=1e-5)
    args = ap.parse_args()

    vec_dir = os.path.abspath(args.vectors)
    if not os.path.isdir(vec_dir):
        print("check_ref: no reference vectors at %s" % vec_dir, file=sys.stderr)
        return 2
    with open(os.path.join(vec_dir, "manifest.json")) as f:
        manifest = json.load(f)
    tensors = {t["name"]: t for t in manifest["tensors"]}

    sd = torch.load(os.path.join(vec_dir, "tiny_basicvsr.pth"), map_location="cpu")
    num_feat, num_block = infer_shape(sd)
    model = BasicVSR(num_feat=num_feat, num_block=num_block, act="lrelu")
    model.load_state_dict(sd, strict=True)  # strict: every key name and shape must match BasicSR's
    model.eval()
    torch.set_num_threads(2)
    print("model: num_feat %d, num_block %d, %d state_dict entries, keys match BasicSR's"
          % (num_feat, num_block, len(sd)))

    worst = 0.0
    rows = []

    def check(label, got, want_name):
        nonlocal worst
        err = max_err(got, load_tensor(vec_dir, tensors[want_name]))
        rows.append((label, err))
        worst = max(worst, err)

    with torch.no_grad():
        # single ops
        feat = load_tensor(vec_dir, tensors["warp_feat_in"])
        flow = load_tensor(vec_dir, tensors["warp_flow_in"])
        check("warp zeros", pixel_grid_warp(feat, flow, "zeros"), "warp_out_zeros")
        check("warp border", pixel_grid_warp(feat, flow, "border"), "warp_out_border")

        for case in ("main", "odd", "pad"):
            x = load_tensor(vec_dir, tensors[case + "_input"])
            rec = {}
            out = model(x, record=rec)
            check(case + " output", out, case + "_output")
            check(case + " output vs f64 ref", out, case + "_output_f64ref")
            check(case + " flows_forward", rec["flows_forward"], case + "_flows_forward")
            check(case + " flows_backward", rec["flows_backward"], case + "_flows_backward")
            for level in range(6):
                name = "%s_spynet_bwd_level%d_residual" % (case, level)
                check(case + " spynet level%d residual" % level, rec["spynet_residual"][level][0:1], name)
            check(case + " backward_trunk", torch.stack(rec["backward_trunk"], dim=1),
                  case + "_backward_trunk_out")
            check(case + " forward_trunk", torch.stack(rec["forward_trunk"], dim=1),
                  case + "_forward_trunk_out")
            check(case + " fusion frame0", rec["fusion"], case + "_fusion_frame0")
            check(case + " upconv1 frame0", rec["upconv1"], case + "_upconv1_frame0")
            check(case + " conv_last frame0", rec["conv_last"], case + "_conv_last_frame0")

    width = max(len(r[0]) for r in rows)
    for label, err in rows:
        print("%-*s  max abs err %.3e%s" % (width, label, err, "" if err <= args.tol else "  <-- over tol"))
    ok = worst <= args.tol
    print("%s: worst %.3e (tol %.0e)" % ("OK" if ok else "FAIL", worst, args.tol))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
