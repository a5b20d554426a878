#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0 (LICENSE)
"""Writes a randomly initialised BasicVSR checkpoint in BasicSR's layout, for timing.

    /usr/bin/python3 bench/make_checkpoint.py --feat 64 --blocks 30 --seed 0 OUT.pth

The file is torch.save({'params': state_dict}) in the zip format, like BasicSR's released models. Weights:
PyTorch's default conv initialisation, except the residual blocks' convs, which get Kaiming-normal weights
scaled by 0.1 and zero biases (as BasicSR initialises them), so that the hidden state stays bounded over
30 blocks. A random SPyNet gives flows near zero; the work done per frame is the same as with real flows.
"""

import argparse
import os
import sys

import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from basicvsr_ref import BasicVSR, ResBlock  # noqa: E402


def build(feat, blocks, seed):
    torch.manual_seed(seed)
    model = BasicVSR(num_feat=feat, num_block=blocks)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, ResBlock):
                for conv in (module.conv1, module.conv2):
                    nn.init.kaiming_normal_(conv.weight, a=0, mode="fan_in", nonlinearity="relu")
                    conv.weight.mul_(0.1)
                    conv.bias.zero_()
    return model


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--feat", type=int, default=64, help="num_feat C (default 64)")
    ap.add_argument("--blocks", type=int, default=30, help="residual blocks per branch (default 30)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("out", help="output .pth")
    args = ap.parse_args()

    model = build(args.feat, args.blocks, args.seed)
    sd = model.state_dict()
    out_dir = os.path.dirname(os.path.abspath(args.out))
    os.makedirs(out_dir, exist_ok=True)
    # zip format (the default since PyTorch 1.6); the archive's top folder is named after the file's stem
    torch.save({"params": sd}, args.out)
    n_params = sum(v.numel() for k, v in sd.items() if not k.startswith("spynet.m") and not k.endswith(".std"))
    n_spynet = sum(v.numel() for k, v in sd.items() if k.startswith("spynet.basic_module"))
    print("%s: BasicVSR feat %d, blocks %d, seed %d: %.2f M parameters (SPyNet %.2f M), %d tensors"
          % (args.out, args.feat, args.blocks, args.seed, n_params / 1e6, n_spynet / 1e6, len(sd)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
