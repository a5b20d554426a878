# SPDX-License-Identifier: Apache-2.0 (LICENSE)
"""slimvsr: BasicVSR x4 video super-resolution, a ctypes binding of libslimvsr.so.0 (include/slimvsr.h).

    import slimvsr
    model = slimvsr.Model("model.safetensors")          # or Model(data=bytes), or None: bicubic
    print(model.info(320, 180))                           # num_feat, num_block, params, flops, ...
    up = slimvsr.Upscaler(model, 320, 180)
    for hr in up.upscale(frames):                         # frames: HxWx3 uint8 arrays, display order
        ...                                               # hr: (4H)x(4W)x3 uint8, display order

The library is looked up in $SLIMVSR_LIBRARY, then in the lib/ folder this package is installed under
(PREFIX/lib/python3/dist-packages/slimvsr -> PREFIX/lib), then by the loader's own search. docs/API.md
states the streaming contract: which frames come out after which push.
"""
import ctypes
import os

import numpy as np

OK, AGAIN, END = 0, 1, 2
RGB8, RGBF32 = 0, 1


def _load_library():
    here = os.path.dirname(os.path.abspath(__file__))
    candidates = [os.environ.get("SLIMVSR_LIBRARY"),
                  os.path.join(here, "..", "..", "..", "libslimvsr.so.0"),
                  "libslimvsr.so.0"]
    errors = []
    for c in candidates:
        if not c or (os.sep in c and not os.path.exists(c)):
            continue
        try:
            return ctypes.CDLL(c)
        except OSError as e:
            errors.append(str(e))
    raise ImportError("slimvsr: cannot load libslimvsr.so.0 (set SLIMVSR_LIBRARY to its path): "
                      + "; ".join(errors))


_lib = _load_library()


class _Frame(ctypes.Structure):
    _fields_ = [("data", ctypes.c_void_p), ("width", ctypes.c_int), ("height", ctypes.c_int),
                ("stride", ctypes.c_size_t), ("format", ctypes.c_int)]


class _Options(ctypes.Structure):
    _fields_ = [("chunk", ctypes.c_int), ("lookahead", ctypes.c_int), ("frame_count", ctypes.c_int),
                ("max_memory", ctypes.c_size_t), ("output_format", ctypes.c_int),
                ("progress", ctypes.c_void_p), ("progress_user", ctypes.c_void_p)]


class _Info(ctypes.Structure):
    _fields_ = [("num_feat", ctypes.c_int), ("num_block", ctypes.c_int), ("scale", ctypes.c_int),
                ("pruned", ctypes.c_int), ("spynet", ctypes.c_int), ("params", ctypes.c_double),
                ("params_spynet", ctypes.c_double), ("flops", ctypes.c_double),
                ("flops_spynet", ctypes.c_double), ("uni", ctypes.c_int)]


_P = ctypes.c_void_p
for name, args in {
    "slimvsr_model_load": [ctypes.c_char_p, ctypes.POINTER(_P)],
    "slimvsr_model_load_memory": [ctypes.c_char_p, ctypes.c_size_t, ctypes.POINTER(_P)],
    "slimvsr_model_get_info": [_P, ctypes.c_int, ctypes.c_int, ctypes.POINTER(_Info)],
    "slimvsr_upscaler_create": [_P, ctypes.c_int, ctypes.c_int, ctypes.POINTER(_Options), ctypes.POINTER(_P)],
    "slimvsr_upscaler_push": [_P, ctypes.POINTER(_Frame)],
    "slimvsr_upscaler_pull": [_P, ctypes.POINTER(_Frame)],
    "slimvsr_upscaler_flush": [_P],
}.items():
    getattr(_lib, name).argtypes, getattr(_lib, name).restype = args, ctypes.c_int
for name in ("slimvsr_model_free", "slimvsr_upscaler_free"):
    getattr(_lib, name).argtypes, getattr(_lib, name).restype = [_P], None
_lib.slimvsr_version.restype = _lib.slimvsr_last_error.restype = ctypes.c_char_p
_lib.slimvsr_upscaler_options_default.restype = _Options


class Error(Exception):
    """A failed call: .status is the slimvsr_status code, the message names the file or argument."""

    def __init__(self, status, message):
        super().__init__(message)
        self.status = status


def _check(status):
    if status < 0:
        raise Error(status, _lib.slimvsr_last_error().decode("utf-8", "replace"))
    return status


def version():
    """The library's version, "MAJOR.MINOR.PATCH"."""
    return _lib.slimvsr_version().decode()


class Model:
    """A BasicVSR x4 model: a .pth (BasicSR, MMagic) or .safetensors file, or its bytes (data=...)."""

    def __init__(self, path=None, data=None):
        if (path is None) == (data is None):
            raise ValueError("Model: give a path or data, not both")
        self._h = _P()
        if path is not None:
            _check(_lib.slimvsr_model_load(os.fsencode(path), ctypes.byref(self._h)))
        else:
            data = bytes(data)
            _check(_lib.slimvsr_model_load_memory(data, len(data), ctypes.byref(self._h)))

    def info(self, width, height):
        """Facts of the model, FLOPs per output frame for LR frames of width x height."""
        i = _Info()
        _check(_lib.slimvsr_model_get_info(self._h, width, height, ctypes.byref(i)))
        return {name: getattr(i, name) for name, _ in _Info._fields_}

    def close(self):
        if self._h:
            _lib.slimvsr_model_free(self._h)
            self._h = _P()

    __del__ = close


def info(model, width, height):
    """Model facts for a path (or a Model) and an LR frame size: num_feat, num_block, params, flops, ..."""
    return (model if isinstance(model, Model) else Model(model)).info(width, height)


class Upscaler:
    """Streams LR frames (HxWx3 uint8, display order) to x4 HR frames. model None: MATLAB-bicubic x4.
    chunk, lookahead, frame_count, max_memory: as slimvsr_upscaler_options (0/-1: planned)."""

    def __init__(self, model, width, height, chunk=0, lookahead=-1, frame_count=0, max_memory=0):
        self._h = _P()
        o = _lib.slimvsr_upscaler_options_default()
        o.chunk, o.lookahead, o.frame_count, o.max_memory = chunk, lookahead, frame_count, max_memory
        self.model = model  # kept alive: the upscaler reads it
        self.width, self.height = width, height
        _check(_lib.slimvsr_upscaler_create(model._h if model else None, width, height, ctypes.byref(o),
                                            ctypes.byref(self._h)))

    def _pull_ready(self):
        out = []
        while True:
            hr = np.empty((4 * self.height, 4 * self.width, 3), np.uint8)
            f = _Frame(hr.ctypes.data, 4 * self.width, 4 * self.height, 0, RGB8)
            if _check(_lib.slimvsr_upscaler_pull(self._h, ctypes.byref(f))) != OK:
                return out
            out.append(hr)

    def push(self, frame):
        """Pushes the next LR frame; returns the HR frames that became ready (a list, maybe empty)."""
        a = np.asarray(frame)
        if a.dtype != np.uint8 or a.shape != (self.height, self.width, 3):
            raise ValueError(f"Upscaler.push: want a {self.height}x{self.width}x3 uint8 array, "
                             f"got {a.shape} {a.dtype}")
        if a.strides[1:] != (3, 1) or a.strides[0] < 3 * self.width:
            a = np.ascontiguousarray(a)
        f = _Frame(a.ctypes.data, self.width, self.height, a.strides[0], RGB8)
        ready = []
        while _check(_lib.slimvsr_upscaler_push(self._h, ctypes.byref(f))) == AGAIN:
            ready += self._pull_ready()
        return ready + self._pull_ready()

    def flush(self):
        """The clip has ended: returns the remaining HR frames."""
        _check(_lib.slimvsr_upscaler_flush(self._h))
        return self._pull_ready()

    def upscale(self, frames):
        """Iterates over the HR frames of a clip (any iterable of LR frames), in display order."""
        for lr in frames:
            yield from self.push(lr)
        yield from self.flush()

    def close(self):
        if self._h:
            _lib.slimvsr_upscaler_free(self._h)
            self._h = _P()

    __del__ = close
