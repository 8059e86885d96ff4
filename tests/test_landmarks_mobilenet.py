"""torchvision's MobileNetV2 in Keras: the checkpoint reader, the layouts, the padding, the
shipped ImageNet weights (the logits against torchvision's are benchmarks/mobilenet_conversion.py,
which needs torch)."""

import io
import pickle
import shutil
import sys
import types
import zipfile

import numpy as np
import pytest

from common.errors import UserError
from landmarks import mobilenet
from landmarks.pth import LEGACY_MAGIC, read_pth


class _FakeStorage:
    """What a torch storage pickles as: a persistent id naming its type, key and size."""

    def __init__(self, key, array):
        self.key, self.array = key, array


def _write_checkpoint(state: dict, *, zipped: bool, monkeypatch) -> bytes:
    """A state dict in torch's own formats, written without torch: the pickle references
    torch._utils._rebuild_tensor_v2 and torch.FloatStorage by name (stand-in modules)."""
    torch = types.ModuleType("torch")
    utils = types.ModuleType("torch._utils")

    def _rebuild_tensor_v2(*args):
        raise AssertionError("never called while writing")

    _rebuild_tensor_v2.__module__ = "torch._utils"
    _rebuild_tensor_v2.__qualname__ = "_rebuild_tensor_v2"
    utils._rebuild_tensor_v2 = _rebuild_tensor_v2
    float_storage = type("FloatStorage", (), {"__module__": "torch",
                                              "__qualname__": "FloatStorage"})
    torch.FloatStorage, torch._utils = float_storage, utils
    monkeypatch.setitem(sys.modules, "torch", torch)
    monkeypatch.setitem(sys.modules, "torch._utils", utils)

    class Tensor:
        def __init__(self, storage, offset, size, stride):
            self.args = (storage, offset, size, stride, False, {})

        def __reduce__(self):
            return _rebuild_tensor_v2, self.args

    storages, tensors = [], {}
    for name, array in state.items():
        storage = _FakeStorage(str(len(storages)), np.ascontiguousarray(array.T).ravel())
        storages.append(storage)
        # Stored in Fortran order (transposed in memory), so the reader must honour strides.
        stride = tuple(int(np.prod(array.shape[:i])) for i in range(array.ndim))
        tensors[name] = Tensor(storage, 0, array.shape, stride)

    class Pickler(pickle.Pickler):
        def persistent_id(self, obj):
            if isinstance(obj, _FakeStorage):
                return ("storage", float_storage, obj.key, "cpu", obj.array.size)
            return None

    from collections import OrderedDict

    body = io.BytesIO()
    Pickler(body, protocol=2).dump(OrderedDict(tensors))
    if zipped:
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w") as archive:
            archive.writestr("archive/data.pkl", body.getvalue())
            for s in storages:
                archive.writestr(f"archive/data/{s.key}", s.array.astype("<f4").tobytes())
        return out.getvalue()
    stream = io.BytesIO()
    for header in (LEGACY_MAGIC, 1001, {"little_endian": True}):
        pickle.dump(header, stream, protocol=2)
    stream.write(body.getvalue())
    pickle.dump([s.key for s in storages], stream, protocol=2)
    for s in storages:
        stream.write(np.int64(s.array.size).tobytes() + s.array.astype("<f4").tobytes())
    return stream.getvalue()


@pytest.mark.parametrize("zipped", [False, True], ids=["legacy", "zip"])
def test_a_checkpoint_reads_back_with_its_shapes_and_strides(zipped, monkeypatch):
    rng = np.random.default_rng(0)
    state = {"features.0.0.weight": rng.normal(size=(4, 3, 3, 3)).astype(np.float32),
             "features.0.1.bias": rng.normal(size=(4,)).astype(np.float32)}
    data = _write_checkpoint(state, zipped=zipped, monkeypatch=monkeypatch)
    monkeypatch.delitem(sys.modules, "torch")  # the reader imports no torch
    read = read_pth(data)
    assert list(read) == list(state)
    for name, array in state.items():
        np.testing.assert_array_equal(read[name], array)


def test_a_pickle_that_runs_code_is_refused():
    evil = pickle.dumps({"w": print}, protocol=2)  # builtins.print: not part of a state dict
    with pytest.raises(UserError, match="not a torch state dict"):
        read_pth(io.BytesIO(evil).getvalue())


def _torch_conv_bn_relu6(x, kernel, gamma, beta, mean, var, *, stride):
    """torch's Conv2d(padding=1, bias=False) + BatchNorm2d(eps=1e-5) + ReLU6, in numpy, NHWC
    input and a kernel in torch's (out, in, kh, kw) layout."""
    padded = np.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)))
    out_h = (x.shape[1] + 2 - 3) // stride + 1
    out = np.zeros((x.shape[0], out_h, out_h, kernel.shape[0]))
    for i in range(out_h):
        for j in range(out_h):
            patch = padded[:, i * stride:i * stride + 3, j * stride:j * stride + 3, :]
            out[:, i, j] = np.einsum("bhwc,ochw->bo", patch, kernel)
    return np.clip(gamma * (out - mean) / np.sqrt(var + 1e-5) + beta, 0, 6)


def test_the_first_block_pads_and_normalizes_as_torchvision():
    """A stride-2 convolution on an even input: torchvision pads 1 on every side (Keras' 'same'
    would pad 0 before, 1 after), and batch norm's eps is 1e-5."""
    rng = np.random.default_rng(1)
    state = {"features.0.0.weight": rng.normal(size=(32, 3, 3, 3)),
             "features.0.1.weight": rng.uniform(0.5, 2, 32),
             "features.0.1.bias": rng.normal(size=32),
             "features.0.1.running_mean": rng.normal(size=32),
             "features.0.1.running_var": rng.uniform(1e-4, 1e-3, 32)}  # small: eps matters
    model = mobilenet.mobilenet_v2((8, 8, 3))
    first = model.get_layer("features_0_relu").output
    import keras

    stem = keras.Model(model.input, first)
    arrays = mobilenet.keras_arrays(state)
    for layer in stem.layers:
        names = [f"{layer.name}/{w.path.rsplit('/', 1)[-1]}" for w in layer.weights]
        if names:
            layer.set_weights([arrays[n] for n in names])
    x = rng.normal(size=(2, 8, 8, 3)).astype(np.float32)
    expected = _torch_conv_bn_relu6(x, state["features.0.0.weight"],
                                    *(state[f"features.0.1.{k}"] for k in
                                      ("weight", "bias", "running_mean", "running_var")),
                                    stride=2)
    np.testing.assert_allclose(stem.predict(x, verbose=0), expected, atol=1e-4)


def test_a_depthwise_kernel_keeps_each_channel_its_own_filter():
    kernel = np.arange(2 * 9, dtype=np.float32).reshape(2, 1, 3, 3)  # (C, 1, kh, kw)
    arrays = mobilenet.keras_arrays({"features.1.conv.0.0.weight": kernel})
    moved = arrays["features_1_conv_0_0/kernel"]
    assert moved.shape == (3, 3, 2, 1)
    np.testing.assert_array_equal(moved[:, :, 1, 0], kernel[1, 0])


def test_the_shipped_imagenet_weights_load_checked(tmp_path, monkeypatch):
    model = mobilenet.mobilenet_v2((32, 32, 3), weights="imagenet")
    with np.load(mobilenet.IMAGENET_WEIGHTS) as saved:
        np.testing.assert_array_equal(model.get_layer("features_0_0").kernel.numpy(),
                                      saved["features_0_0/kernel"])
        assert len(saved.files) == sum(len(layer.weights) for layer in model.layers)
    # A changed file is refused in one line, before any weight is set.
    changed = tmp_path / mobilenet.IMAGENET_WEIGHTS.name
    shutil.copy(mobilenet.IMAGENET_WEIGHTS, changed)
    shutil.copy(f"{mobilenet.IMAGENET_WEIGHTS}.sha256", f"{changed}.sha256")
    with changed.open("r+b") as file:
        file.seek(1000)
        file.write(b"\x00\x01")
    monkeypatch.setattr(mobilenet, "IMAGENET_WEIGHTS", changed)
    with pytest.raises(UserError, match="does not match its .*sha256"):
        mobilenet.mobilenet_v2((32, 32, 3), weights="imagenet")


def test_the_landmark_model_on_mobilenet_gives_points_from_a_decoder():
    from landmarks.model import build_model

    model = build_model(68, 64, backbone="mobilenetv2", weights="imagenet", head="soft-argmax")
    images = np.random.default_rng(0).uniform(0, 255, (2, 64, 64, 3)).astype(np.float32)
    points = model.predict(images, verbose=0)
    assert points.shape == (2, 136) and ((points > 0) & (points < 1)).all()
    assert model.get_layer("heatmaps").output.shape[1:3] == (8, 8)  # stride 8 of 64 px
    stride4 = build_model(68, 64, backbone="mobilenetv2", head="soft-argmax", heatmap_stride=4)
    assert stride4.get_layer("heatmaps").output.shape[1:3] == (16, 16)
