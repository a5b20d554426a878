# SPDX-License-Identifier: Apache-2.0 (LICENSE)
"""Minimal PNG reading and writing with zlib and numpy (no PIL needed), for the benchmark scripts.

read_png(path) -> uint8 array (h, w, 3): 8-bit grey, grey+alpha, RGB, RGBA or palette, non-interlaced;
alpha is dropped. write_png(path, rgb) writes an 8-bit RGB PNG (filter 'Up' on every row).
"""

import struct
import zlib

import numpy as np

SIGNATURE = b"\x89PNG\r\n\x1a\n"
CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}  # colour type -> samples per pixel


def _chunk(kind, data):
    crc = zlib.crc32(kind + data) & 0xFFFFFFFF
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)


def write_png(path, rgb, level=6):
    rgb = np.ascontiguousarray(rgb, dtype=np.uint8)
    if rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError("write_png wants (h, w, 3) uint8, got %s" % (rgb.shape,))
    h, w, _ = rgb.shape
    rows = rgb.reshape(h, w * 3)
    up = rows.copy()
    up[1:] = rows[1:] - rows[:-1]  # 'Up' filter (wraps mod 256 in uint8)
    raw = np.empty((h, w * 3 + 1), dtype=np.uint8)
    raw[:, 0] = 2
    raw[0, 0] = 0  # the first row has nothing above it: filter 'None'
    raw[0, 1:] = rows[0]
    raw[1:, 1:] = up[1:]
    ihdr = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    with open(path, "wb") as f:
        f.write(SIGNATURE)
        f.write(_chunk(b"IHDR", ihdr))
        f.write(_chunk(b"IDAT", zlib.compress(raw.tobytes(), level)))
        f.write(_chunk(b"IEND", b""))


def _paeth(a, b, c):
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    if pa <= pb and pa <= pc:
        return a
    return b if pb <= pc else c


def _unfilter(data, h, stride, bpp):
    out = np.zeros((h, stride), dtype=np.uint8)
    prev = np.zeros(stride, dtype=np.uint8)
    pos = 0
    for y in range(h):
        ftype = data[pos]
        line = np.frombuffer(data, dtype=np.uint8, count=stride, offset=pos + 1)
        pos += stride + 1
        if ftype == 0:
            cur = line.copy()
        elif ftype == 1:  # Sub: running sum per byte lane, mod 256
            lanes = line.astype(np.int64).reshape(-1, bpp)
            cur = (np.cumsum(lanes, axis=0) & 0xFF).astype(np.uint8).reshape(-1)
        elif ftype == 2:  # Up
            cur = line + prev
        elif ftype in (3, 4):  # Average, Paeth: sequential along the row
            cur_l = [0] * stride
            lb, pb = line.tolist(), prev.tolist()
            for i in range(stride):
                left = cur_l[i - bpp] if i >= bpp else 0
                if ftype == 3:
                    cur_l[i] = (lb[i] + ((left + pb[i]) >> 1)) & 0xFF
                else:
                    upleft = pb[i - bpp] if i >= bpp else 0
                    cur_l[i] = (lb[i] + _paeth(left, pb[i], upleft)) & 0xFF
            cur = np.array(cur_l, dtype=np.uint8)
        else:
            raise ValueError("bad PNG filter type %d" % ftype)
        out[y] = cur
        prev = cur
    return out


def read_png(path):
    with open(path, "rb") as f:
        blob = f.read()
    if blob[:8] != SIGNATURE:
        raise ValueError("%s: not a PNG file" % path)
    pos = 8
    idat = []
    palette = None
    w = h = depth = ctype = interlace = None
    while pos < len(blob):
        (length,) = struct.unpack(">I", blob[pos:pos + 4])
        kind = blob[pos + 4:pos + 8]
        data = blob[pos + 8:pos + 8 + length]
        pos += 12 + length
        if kind == b"IHDR":
            w, h, depth, ctype, _, _, interlace = struct.unpack(">IIBBBBB", data)
        elif kind == b"PLTE":
            palette = np.frombuffer(data, dtype=np.uint8).reshape(-1, 3)
        elif kind == b"IDAT":
            idat.append(data)
        elif kind == b"IEND":
            break
    if depth != 8 or interlace != 0 or ctype not in CHANNELS:
        raise ValueError("%s: only 8-bit non-interlaced PNGs are read here (depth %s, colour type %s, "
                         "interlace %s)" % (path, depth, ctype, interlace))
    ch = CHANNELS[ctype]
    pix = _unfilter(zlib.decompress(b"".join(idat)), h, w * ch, ch).reshape(h, w, ch)
    if ctype == 3:
        return palette[pix[:, :, 0]]
    if ch <= 2:
        return np.repeat(pix[:, :, :1], 3, axis=2)
    return np.ascontiguousarray(pix[:, :, :3])
