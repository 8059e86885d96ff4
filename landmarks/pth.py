"""Read a PyTorch checkpoint (``.pth``) into numpy arrays, without torch.

A ``.pth`` is pickled tensors whose storages are written beside the pickle: either after it in
one stream (the legacy format, torch < 1.6: a magic number, a protocol version, system info, the
pickle, the list of storage keys, then each storage as an int64 element count and its raw
little-endian bytes) or as one file each in a zip (``data.pkl`` and ``data/<key>``). The
unpickler here knows only the names a state dict uses (an ordered dict, tensors rebuilt from
storages), so a checkpoint cannot run code while it is read.

    state = read_pth("mobilenet_v2-b0353104.pth")   # {"features.0.0.weight": array, ...}
"""

from __future__ import annotations

import collections
import io
import pickle
import zipfile
from pathlib import Path

import numpy as np

from common.errors import UserError

LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
DTYPES = {"FloatStorage": np.float32, "DoubleStorage": np.float64, "HalfStorage": np.float16,
          "LongStorage": np.int64, "IntStorage": np.int32, "ShortStorage": np.int16,
          "CharStorage": np.int8, "ByteStorage": np.uint8, "BoolStorage": np.bool_}


class _Storage:
    def __init__(self, dtype):
        self.dtype = np.dtype(dtype).newbyteorder("<")
        self.data: np.ndarray | None = None


class _Tensor:
    def __init__(self, storage: _Storage, offset: int, size, stride):
        self.storage, self.offset, self.size, self.stride = storage, offset, tuple(size), stride

    def array(self) -> np.ndarray:
        flat = self.storage.data
        item = flat.itemsize
        return np.lib.stride_tricks.as_strided(
            flat[self.offset:], shape=self.size, strides=[s * item for s in self.stride]).copy()


def _rebuild_tensor(storage, offset, size, stride, *_):
    return _Tensor(storage, offset, size, stride)


class _Unpickler(pickle.Unpickler):
    def __init__(self, file, storages: dict):
        super().__init__(file)
        self.storages = storages

    def find_class(self, module, name):
        if (module, name) == ("collections", "OrderedDict"):
            return collections.OrderedDict
        if (module, name) in (("torch._utils", "_rebuild_tensor_v2"),
                              ("torch._utils", "_rebuild_tensor")):
            return _rebuild_tensor
        if module == "torch" and name in DTYPES:
            return DTYPES[name]
        raise pickle.UnpicklingError(f"{module}.{name} is not part of a state dict")

    def persistent_load(self, saved_id):
        _, dtype, key, *_ = saved_id  # ("storage", type, key, location, numel[, view])
        if key not in self.storages:
            self.storages[key] = _Storage(dtype)
        return self.storages[key]


def _read_legacy(file) -> dict:
    if pickle.load(file) != LEGACY_MAGIC:
        raise ValueError("not a torch checkpoint (no magic number)")
    pickle.load(file)  # protocol version
    pickle.load(file)  # system info
    storages: dict = {}
    state = _Unpickler(file, storages).load()
    for key in pickle.load(file):
        storage = storages[key]
        count = int(np.frombuffer(file.read(8), "<i8")[0])
        storage.data = np.frombuffer(file.read(count * storage.dtype.itemsize), storage.dtype)
    return state


def _read_zip(file) -> dict:
    with zipfile.ZipFile(file) as archive:
        names = archive.namelist()
        root = names[0].split("/")[0]
        storages: dict = {}
        with archive.open(f"{root}/data.pkl") as file:
            state = _Unpickler(file, storages).load()
        for key, storage in storages.items():
            storage.data = np.frombuffer(archive.read(f"{root}/data/{key}"), storage.dtype)
    return state


def read_pth(source) -> dict[str, np.ndarray]:
    """The state dict saved in ``source`` (a path, or the file's bytes) as ``{name: array}``,
    in the checkpoint's order."""
    name = "the checkpoint" if isinstance(source, bytes) else str(source)
    try:
        file = io.BytesIO(source if isinstance(source, bytes) else Path(source).read_bytes())
        is_zip = zipfile.is_zipfile(file)
        file.seek(0)
        state = _read_zip(file) if is_zip else _read_legacy(file)
        return {key: tensor.array() for key, tensor in state.items()}
    except FileNotFoundError:
        raise UserError(f"{name}: no such checkpoint") from None
    except (pickle.UnpicklingError, ValueError, KeyError, EOFError, AttributeError,
            TypeError) as exc:
        raise UserError(f"{name} is not a torch state dict ({exc})") from None
