# SPDX-License-Identifier: Apache-2.0 (LICENSE)
"""Reference BasicVSR (x4) in PyTorch, written for slimvsr's benchmark and checks.

The module and parameter names follow BasicSR's layout, so that `state_dict()` keys equal those of a
BasicSR checkpoint (`torch.load(p)['params']`):

    spynet.mean, spynet.std                                  (buffers, ImageNet statistics)
    spynet.basic_module.{L}.basic_module.{0,2,4,6,8}.{weight,bias}   L = 0..5, 7x7 convs 8-32-64-32-16-2
    {backward,forward}_trunk.main.0.{weight,bias}            conv3x3 (C+3 -> C), then LeakyReLU(0.1)
    {backward,forward}_trunk.main.2.{i}.conv{1,2}.{weight,bias}   residual blocks x + conv2(relu(conv1(x)))
    fusion (1x1, 2C -> C), upconv1 (C -> 4C), upconv2 (C -> 256), conv_hr (64 -> 64), conv_last (64 -> 3)

The network is the one described in shared/SSL-NOTES.md section 1. Only torch is needed.
"""

import math

import torch
import torch.nn as nn
import torch.nn.functional as F


def pixel_grid_warp(feat, flow, padding_mode="zeros"):
    """Bilinear sample `feat` (n,c,h,w) at (x + flow[...,0], y + flow[...,1]).

    flow is (n,h,w,2) in pixels. Positions outside the image read zeros ('zeros') or the nearest edge
    pixel ('border'). Same convention as grid_sample with align_corners=True.
    """
    n, c, h, w = feat.shape
    assert flow.shape[1:3] == (h, w), (feat.shape, flow.shape)
    ys = torch.arange(h, dtype=feat.dtype, device=feat.device)
    xs = torch.arange(w, dtype=feat.dtype, device=feat.device)
    base_y, base_x = torch.meshgrid(ys, xs, indexing="ij")
    pos_x = base_x + flow[..., 0]
    pos_y = base_y + flow[..., 1]
    # pixel -> [-1, 1] with align_corners=True: -1 is the centre of pixel 0, +1 the centre of pixel w-1
    # (2 * p / (size - 1) - 1, evaluated in this order to round like BasicSR's flow_warp)
    norm_x = 2.0 * pos_x / max(w - 1, 1) - 1.0
    norm_y = 2.0 * pos_y / max(h - 1, 1) - 1.0
    grid = torch.stack((norm_x, norm_y), dim=-1)
    return F.grid_sample(feat, grid, mode="bilinear", padding_mode=padding_mode, align_corners=True)


class FlowLevel(nn.Module):
    """One SPyNet pyramid level: five 7x7 convs 8-32-64-32-16-2 with ReLU in between.

    Kept as a Sequential named `basic_module` so that the convs sit at indices 0, 2, 4, 6, 8.
    """

    def __init__(self):
        super().__init__()
        chans = [8, 32, 64, 32, 16, 2]
        layers = []
        for k in range(5):
            layers.append(nn.Conv2d(chans[k], chans[k + 1], kernel_size=7, stride=1, padding=3))
            if k < 4:
                layers.append(nn.ReLU(inplace=False))
        self.basic_module = nn.Sequential(*layers)

    def forward(self, x):
        return self.basic_module(x)


class SpyNet(nn.Module):
    """Coarse-to-fine optical flow, 6 levels. forward(ref, supp) gives the flow that warps supp onto ref."""

    LEVELS = 6

    def __init__(self):
        super().__init__()
        self.basic_module = nn.ModuleList([FlowLevel() for _ in range(self.LEVELS)])
        self.register_buffer("mean", torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1))

    def pyramid_flow(self, ref, supp, record=None):
        """ref, supp: (n,3,H,W) with H, W multiples of 32. Returns the flow at (H, W)."""
        ref_levels = [(ref - self.mean) / self.std]
        supp_levels = [(supp - self.mean) / self.std]
        for _ in range(self.LEVELS - 1):
            ref_levels.append(F.avg_pool2d(ref_levels[-1], kernel_size=2, stride=2, count_include_pad=False))
            supp_levels.append(F.avg_pool2d(supp_levels[-1], kernel_size=2, stride=2, count_include_pad=False))
        ref_levels.reverse()
        supp_levels.reverse()

        coarsest = ref_levels[0]
        flow = coarsest.new_zeros(coarsest.shape[0], 2, coarsest.shape[2] // 2, coarsest.shape[3] // 2)
        for level in range(self.LEVELS):
            up = F.interpolate(flow, scale_factor=2, mode="bilinear", align_corners=True) * 2.0
            target_h, target_w = ref_levels[level].shape[2:]
            if up.shape[2] != target_h:  # odd size at this level: repeat the last row
                up = F.pad(up, [0, 0, 0, 1], mode="replicate")
            if up.shape[3] != target_w:  # ... or the last column
                up = F.pad(up, [0, 1, 0, 0], mode="replicate")
            warped = pixel_grid_warp(supp_levels[level], up.permute(0, 2, 3, 1), padding_mode="border")
            residual = self.basic_module[level](torch.cat([ref_levels[level], warped, up], dim=1))
            if record is not None:
                record.setdefault("spynet_residual", []).append(residual)
            flow = residual + up
        return flow

    def forward(self, ref, supp, record=None):
        assert ref.shape == supp.shape
        h, w = ref.shape[2], ref.shape[3]
        h32 = int(math.ceil(h / 32.0) * 32)
        w32 = int(math.ceil(w / 32.0) * 32)
        ref = F.interpolate(ref, size=(h32, w32), mode="bilinear", align_corners=False)
        supp = F.interpolate(supp, size=(h32, w32), mode="bilinear", align_corners=False)
        flow = F.interpolate(self.pyramid_flow(ref, supp, record), size=(h, w), mode="bilinear",
                             align_corners=False)
        scale = torch.tensor([float(w) / float(w32), float(h) / float(h32)], dtype=flow.dtype,
                             device=flow.device).view(1, 2, 1, 1)
        return flow * scale


class ResBlock(nn.Module):
    """x + conv2(relu(conv1(x))), 3x3 convs, no batch norm."""

    def __init__(self, feat):
        super().__init__()
        self.conv1 = nn.Conv2d(feat, feat, 3, 1, 1)
        self.conv2 = nn.Conv2d(feat, feat, 3, 1, 1)

    def forward(self, x):
        return x + self.conv2(F.relu(self.conv1(x)))


class Trunk(nn.Module):
    """conv3x3 (in -> feat) + act, then `blocks` residual blocks; all inside `main`."""

    def __init__(self, in_ch, feat, blocks, act):
        super().__init__()
        self.main = nn.Sequential(
            nn.Conv2d(in_ch, feat, 3, 1, 1),
            act,
            nn.Sequential(*[ResBlock(feat) for _ in range(blocks)]),
        )

    def forward(self, x):
        return self.main(x)


def make_act(kind):
    if kind == "lrelu":
        return nn.LeakyReLU(negative_slope=0.1, inplace=False)
    if kind == "relu":
        return nn.ReLU(inplace=False)
    raise ValueError("act must be 'lrelu' (BasicSR) or 'relu' (SSL release), not %r" % kind)


class BasicVSR(nn.Module):
    """Bidirectional recurrent x4 video super-resolution. Input (b,n,3,h,w) in [0,1] -> (b,n,3,4h,4w)."""

    def __init__(self, num_feat=64, num_block=30, act="lrelu"):
        super().__init__()
        self.num_feat = num_feat
        self.spynet = SpyNet()
        self.backward_trunk = Trunk(num_feat + 3, num_feat, num_block, make_act(act))
        self.forward_trunk = Trunk(num_feat + 3, num_feat, num_block, make_act(act))
        self.fusion = nn.Conv2d(2 * num_feat, num_feat, 1, 1, 0)
        self.upconv1 = nn.Conv2d(num_feat, 4 * num_feat, 3, 1, 1)
        self.upconv2 = nn.Conv2d(num_feat, 4 * 64, 3, 1, 1)
        self.conv_hr = nn.Conv2d(64, 64, 3, 1, 1)
        self.conv_last = nn.Conv2d(64, 3, 3, 1, 1)
        self.act = make_act(act)

    def compute_flows(self, x, record=None):
        """Returns (flows_forward, flows_backward), each (b, n-1, 2, h, w).

        flows_backward[i] = spynet(ref=x[i], supp=x[i+1]); flows_forward[i] = spynet(ref=x[i+1], supp=x[i]).
        """
        b, n, c, h, w = x.shape
        earlier = x[:, :-1].reshape(-1, c, h, w)
        later = x[:, 1:].reshape(-1, c, h, w)
        flows_backward = self.spynet(earlier, later, record).view(b, n - 1, 2, h, w)
        flows_forward = self.spynet(later, earlier).view(b, n - 1, 2, h, w)
        return flows_forward, flows_backward

    def reconstruct(self, feat_b, feat_f, lr, record=None):
        """One output frame from the two hidden states and its LR input (b,3,h,w)."""
        out = self.fusion(torch.cat([feat_b, feat_f], dim=1))
        if record is not None and "fusion" not in record:
            record["fusion"] = out
        out = self.act(out)
        out = self.upconv1(out)
        if record is not None and "upconv1" not in record:
            record["upconv1"] = out
        out = self.act(F.pixel_shuffle(out, 2))
        out = self.act(F.pixel_shuffle(self.upconv2(out), 2))
        out = self.act(self.conv_hr(out))
        out = self.conv_last(out)
        if record is not None and "conv_last" not in record:
            record["conv_last"] = out
        base = F.interpolate(lr, scale_factor=4, mode="bilinear", align_corners=False)
        return out + base

    def forward(self, x, record=None, channels_last=False):
        """x: (b,n,3,h,w). `record`, if a dict, receives intermediates (flows, trunk outputs, ...).

        channels_last: run the per-frame convolutions on NHWC tensors (a speed option, same result)."""
        b, n, _, h, w = x.shape
        fmt = torch.channels_last if channels_last else torch.contiguous_format
        if n > 1:
            flows_forward, flows_backward = self.compute_flows(x, record)
        if record is not None and n > 1:
            record["flows_forward"] = flows_forward
            record["flows_backward"] = flows_backward

        backward_feats = [None] * n
        feat = x.new_zeros(b, self.num_feat, h, w)
        for i in range(n - 1, -1, -1):
            if i < n - 1:
                feat = pixel_grid_warp(feat, flows_backward[:, i].permute(0, 2, 3, 1))
            feat = self.backward_trunk(torch.cat([x[:, i], feat], dim=1).contiguous(memory_format=fmt))
            backward_feats[i] = feat
            if record is not None:
                record.setdefault("backward_trunk", []).append(feat)

        outputs = []
        feat = x.new_zeros(b, self.num_feat, h, w)
        for i in range(n):
            if i > 0:
                feat = pixel_grid_warp(feat, flows_forward[:, i - 1].permute(0, 2, 3, 1))
            feat = self.forward_trunk(torch.cat([x[:, i], feat], dim=1).contiguous(memory_format=fmt))
            if record is not None:
                record.setdefault("forward_trunk", []).append(feat)
            outputs.append(self.reconstruct(backward_feats[i], feat, x[:, i], record))
            backward_feats[i] = None  # free it as soon as it is used
        return torch.stack(outputs, dim=1)


def load_state_dict_file(path):
    """Reads a .pth: a bare state_dict or BasicSR's {'params': ...} / {'params_ema': ...}."""
    obj = torch.load(path, map_location="cpu")
    if isinstance(obj, dict):
        for key in ("params", "params_ema", "state_dict"):
            if key in obj and isinstance(obj[key], dict):
                obj = obj[key]
                break
    return obj


def infer_shape(state_dict):
    """(num_feat, num_block) from a BasicSR-layout state_dict."""
    num_feat = state_dict["backward_trunk.main.0.weight"].shape[0]
    blocks = set()
    for key in state_dict:
        if key.startswith("backward_trunk.main.2."):
            blocks.add(int(key.split(".")[3]))
    return num_feat, len(blocks)


def load_model(path, act="lrelu"):
    sd = load_state_dict_file(path)
    num_feat, num_block = infer_shape(sd)
    model = BasicVSR(num_feat=num_feat, num_block=num_block, act=act)
    model.load_state_dict(sd, strict=True)
    model.eval()
    return model
