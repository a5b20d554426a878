#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0 (LICENSE)
"""Generates the small checkpoint test cases used by tests/test_checkpoint.c.

Run from the repository root with Debian's PyTorch:  /usr/bin/python3 tests/data/make_pth_cases.py
(torch 1.13). It writes tests/data/pth_*.pth and tests/data/pth_cases.json; the outputs are committed so
that the C tests need no Python.

Re-running reproduces every file byte for byte except pth_legacy.pth (the legacy format names storages by
memory address).

pth_cases.json: {"cases": [{"file", "tensors": [{"name", "shape", "bits"}]} | {"file", "error"}]}
where "bits" are the expected float32 values as uint32 bit patterns (exact; NaN/inf safe), in the order
the reader must return them, and "error" is a substring the reader's message must contain.
"""
import collections
import io
import json
import os
import struct
import zipfile

import torch

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)))
cases = []


def bits(t):
    flat = t.detach().to(torch.float32).contiguous().reshape(-1)
    return list(struct.unpack('<%dI' % flat.numel(), flat.numpy().tobytes()))


def expect(fname, named):
    cases.append({'file': fname,
                  'tensors': [{'name': n, 'shape': list(t.shape), 'bits': bits(t)} for n, t in named]})


def expect_error(fname, substring):
    cases.append({'file': fname, 'error': substring})


def path(fname):
    return os.path.join(OUT, fname)


torch.manual_seed(0)
r = lambda *s: torch.randn(*s)

# 1. BasicSR style with a DataParallel prefix; params must win over params_ema.
params = collections.OrderedDict([
    ('module.fusion.weight', r(4, 8, 1, 1)), ('module.fusion.bias', r(4)),
    ('module.conv_last.weight', r(3, 4, 3, 3)), ('module.conv_last.bias', r(3)),
])
ema = collections.OrderedDict((k, v + 1) for k, v in params.items())
torch.save({'params': params, 'params_ema': ema}, path('pth_params.pth'))
expect('pth_params.pth', [(k[len('module.'):], v) for k, v in params.items()])

# 1b. params_ema alone is used.
torch.save({'params_ema': ema}, path('pth_params_ema.pth'))
expect('pth_params_ema.pth', [(k[len('module.'):], v) for k, v in ema.items()])

# 2. MMagic style: 'state_dict' with 'generator.' keys and MMagic names, a 'meta' dict of plain values,
#    a restorer buffer outside the generator and an integer tensor (both skipped).
mm = collections.OrderedDict()
expected = []
def add(mname, bname, t):
    mm['generator.' + mname] = t
    expected.append((bname, t))
add('spynet.mean', 'spynet.mean', torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1))
add('spynet.std', 'spynet.std', torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1))
for j in range(5):
    add('spynet.basic_module.5.basic_module.%d.conv.weight' % j, 'spynet.basic_module.5.basic_module.%d.weight' % (2 * j), r(2, 2, 1, 1))
    add('spynet.basic_module.5.basic_module.%d.conv.bias' % j, 'spynet.basic_module.5.basic_module.%d.bias' % (2 * j), r(2))
add('backward_resblocks.main.0.weight', 'backward_trunk.main.0.weight', r(2, 5, 1, 1))
add('backward_resblocks.main.2.1.conv1.weight', 'backward_trunk.main.2.1.conv1.weight', r(2, 2, 1, 1))
add('forward_resblocks.main.2.0.conv2.bias', 'forward_trunk.main.2.0.conv2.bias', r(2))
add('fusion.weight', 'fusion.weight', r(2, 4, 1, 1))
add('upsample1.upsample_conv.weight', 'upconv1.weight', r(8, 2, 1, 1))
add('upsample2.upsample_conv.bias', 'upconv2.bias', r(4))
add('conv_hr.weight', 'conv_hr.weight', r(2, 2, 1, 1))
add('conv_last.bias', 'conv_last.bias', r(3))
mm['generator.counter'] = torch.arange(3)          # int64: skipped
mm['step_counter'] = torch.zeros(1)                # not in the generator: skipped
torch.save({'meta': {'epoch': 3, 'iter': 300000, 'mmedit_version': '0.16.0', 'lr': 2e-4, 'ok': True,
                     'none': None, 'hist': [1, 2, (3, 4)], 'big': 2 ** 70, 'neg': -5},
            'state_dict': mm}, path('pth_mmagic.pth'))
expect('pth_mmagic.pth', expected)

# 3. Views saved as they are: transposed, sliced (offset + stride), sub-tensor, permuted 4-D, stride-0
#    expansion, two views of one storage, a 0-d scalar and an empty tensor.
x = r(3, 5)
y = r(4, 6)
z = r(3, 2, 4)
w = r(2, 3, 4, 5)
base = r(2, 3)
views = collections.OrderedDict([
    ('a.weight', x.t()), ('b.weight', y[:, 1:4:2]), ('c.weight', z[2]), ('d.weight', w.permute(0, 2, 3, 1)),
    ('e.weight', torch.ones(3, 1).mul(7).expand(3, 4)), ('f1.weight', base[0]), ('f2.weight', base[:, 1]),
    ('g.scale', torch.tensor(2.5)), ('h.empty', torch.zeros(0, 3)),
])
assert not views['a.weight'].is_contiguous() and views['b.weight'].storage_offset() == 1
torch.save(views, path('pth_noncontig.pth'))
expect('pth_noncontig.pth', list(views.items()))

# 4. float16 / bfloat16 / float64, with subnormals, infinities, -0 and NaN.
h = torch.tensor([0.0, -0.0, 1.0, -2.5, 65504.0, 6e-8, 1e-5, float('inf'), float('-inf'), float('nan')],
                 dtype=torch.float16)
b = torch.tensor([1.0, -3.140625, 1e-20, 3e38], dtype=torch.bfloat16)
d = torch.tensor([[1.0, 1e-3], [-7.25, 1e300]], dtype=torch.float64)
mixed = collections.OrderedDict([('h.weight', h), ('b.weight', b), ('d.weight', d), ('f.weight', r(2))])
torch.save(mixed, path('pth_dtypes.pth'))
expect('pth_dtypes.pth', [(k, v.float()) for k, v in mixed.items()])

# 5. Pickle protocol 4 (FRAME, SHORT_BINUNICODE, MEMOIZE, STACK_GLOBAL) and nn.Parameter objects.
p4 = collections.OrderedDict([('conv.weight', torch.nn.Parameter(r(2, 3))), ('conv.bias', r(2))])
torch.save(p4, path('pth_proto4.pth'), pickle_protocol=4)
expect('pth_proto4.pth', list(p4.items()))

# 6. Legacy (non-zip) serialisation: must be refused with the conversion hint.
torch.save(p4, path('pth_legacy.pth'), _use_new_zipfile_serialization=False)
expect_error('pth_legacy.pth', '_use_new_zipfile_serialization=True')


# 7. A pickle that calls os.system when loaded by Python: must be refused (never executed).
class Evil:
    def __reduce__(self):
        return (os.system, ('true',))


torch.save({'x.weight': torch.ones(2), 'evil': Evil()}, path('pth_evil_global.pth'))
expect_error('pth_evil_global.pth', "refusing global 'posix.system'")

# 8. The same archive members re-packed with deflate (torch itself stores), and with ZIP64 extra fields.
def repack_deflate(src, dst):
    with zipfile.ZipFile(path(src)) as zin:
        members = [(i.filename, zin.read(i.filename)) for i in zin.infolist()]
    with zipfile.ZipFile(path(dst), 'w', compression=zipfile.ZIP_DEFLATED) as zout:
        for n, data in members:
            zout.writestr(zipfile.ZipInfo(n, date_time=(2020, 1, 1, 0, 0, 0)), data, zipfile.ZIP_DEFLATED)
    return members


members = repack_deflate('pth_proto4.pth', 'pth_deflate.pth')
expect('pth_deflate.pth', list(p4.items()))
repack_deflate('pth_noncontig.pth', 'pth_noncontig_deflate.pth')  # views read from inside deflated storages
expect('pth_noncontig_deflate.pth', list(views.items()))


def write_zip64(fname, members):
    """Stored entries whose central records keep every size/offset in the ZIP64 extra field."""
    out = io.BytesIO()
    central = []
    for n, data in members:
        name = n.encode()
        crc = zipfile.crc32(data) & 0xFFFFFFFF
        lho = out.tell()
        out.write(struct.pack('<IHHHHHIIIHH', 0x04034b50, 45, 0x800, 0, 0, 0, crc, 0xFFFFFFFF, 0xFFFFFFFF,
                              len(name), 20))
        out.write(name + struct.pack('<HHQQ', 1, 16, len(data), len(data)) + data)
        central.append(struct.pack('<IHHHHHHIIIHHHHHII', 0x02014b50, 45, 45, 0x800, 0, 0, 0, crc, 0xFFFFFFFF,
                                   0xFFFFFFFF, len(name), 28, 0, 0, 0, 0, 0xFFFFFFFF)
                       + name + struct.pack('<HHQQQ', 1, 24, len(data), len(data), lho))
    cd_off = out.tell()
    for c in central:
        out.write(c)
    cd_size = out.tell() - cd_off
    e64 = out.tell()
    out.write(struct.pack('<IQHHIIQQQQ', 0x06064b50, 44, 45, 45, 0, 0, len(members), len(members), cd_size, cd_off))
    out.write(struct.pack('<IIQI', 0x07064b50, 0, e64, 1))
    out.write(struct.pack('<IHHHHIIH', 0x06054b50, 0, 0, 0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0))
    with open(path(fname), 'wb') as f:
        f.write(out.getvalue())
    with zipfile.ZipFile(path(fname)) as zchk:  # Python's reader agrees
        assert [zchk.read(n) for n, _ in members] == [d for _, d in members]


write_zip64('pth_zip64.pth', members)
expect('pth_zip64.pth', list(p4.items()))

with open(path('pth_cases.json'), 'w') as f:
    json.dump({'cases': cases}, f, indent=1)
print('wrote %d cases' % len(cases))
