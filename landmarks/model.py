"""Backbone + pooling + Dense(2K) landmark regressor, or backbone + soft-argmax heatmaps.

``resnet50`` is the homework's design (and the right choice with a GPU and ImageNet weights);
``mobilenetv2`` (torchvision's, with its ImageNet weights shipped: ``landmarks/mobilenet.py``) is
the CPU preset's; ``small_cnn`` is a light from-scratch network, the previous preset and the
tests' backbone.
Each model takes RGB images in 0..255 and does its backbone's own preprocessing inside, so a
saved model needs nothing but images. The heads live in ``landmarks/heads.py``.
"""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np
from keras import layers

from common.errors import ParameterError, UserError
from common.validation import check_choice
from landmarks.heads import decoder_head, dense_head, soft_argmax_head
from landmarks.options import BACKBONES, HEADS, MIN_IMAGE_SIZE, POOLINGS, check_weights  # noqa: F401

RESNET50_NOTOP = "resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5"
RESNET50_NOTOP_URL = ("https://storage.googleapis.com/tensorflow/keras-applications/resnet/"
                      + RESNET50_NOTOP)
RESNET50_NOTOP_MD5 = "4d473c1dd8becc155b73f8504c6f6626"  # keras.applications' own hash
IMAGENET_MEAN = (0.485, 0.456, 0.406)  # torchvision's input normalization
IMAGENET_STD = (0.229, 0.224, 0.225)


@keras.saving.register_keras_serializable(package="landmarks")
class Preprocess(layers.Layer):
    """``caffe``: ResNet50's ImageNet preprocessing (RGB→BGR, subtract the ImageNet mean);
    ``torch``: scale to [0, 1], then the ImageNet mean and std (torchvision's MobileNetV2);
    ``tf``: scale to [-1, 1] (the small CNN)."""

    def __init__(self, mode: str = "tf", **kwargs):
        super().__init__(**kwargs)
        self.mode = mode

    def call(self, images):
        if self.mode == "caffe":
            return keras.applications.resnet50.preprocess_input(images)
        if self.mode == "torch":
            return (images / 255.0 - IMAGENET_MEAN) / IMAGENET_STD
        return images / 127.5 - 1.0

    def get_config(self):
        return {**super().get_config(), "mode": self.mode}


def small_cnn(input_shape, *, width: int = 32, pool_last: bool = True,
              pyramid: bool = False) -> keras.Model:
    """A strided 5x5 stem, then four stages (``width`` x 1, 2, 4, 8 channels) of two 3x3
    conv + batch norm + ReLU and a 2x2 pool; ``pool_last=False`` keeps the last stage's map at
    stride 16 (the soft-argmax head needs the resolution more than the pooling); ``pyramid``
    also gives the stride-4 and stride-8 maps (before their pools), for a decoder."""
    inputs = keras.Input(input_shape)
    x = layers.Conv2D(width, 5, strides=2, padding="same", use_bias=False)(inputs)
    x = layers.ReLU()(layers.BatchNormalization()(x))
    maps = []
    for stage in range(4):
        for _ in range(2):
            x = layers.Conv2D(width * 2**stage, 3, padding="same", use_bias=False)(x)
            x = layers.ReLU()(layers.BatchNormalization()(x))
        maps.append(x)
        if pool_last or stage < 3:
            x = layers.MaxPooling2D()(x)
    outputs = [maps[1], maps[2], x] if pyramid else x
    return keras.Model(inputs, outputs, name="small_cnn")


def decoder_strides(backbone: str, *, pyramid: bool) -> tuple[int, ...]:
    """The strides of the maps a heatmap decoder takes from ``backbone``, finest first."""
    if backbone == "small_cnn":
        return (4, 8, 16)
    return (4, 8, 16, 32) if pyramid else (8, 16, 32)


def build_backbone(name: str, image_size: int, *, weights: str | None, width: int = 32,
                   spatial: bool = False, pyramid: bool = False) -> tuple[keras.Model, str]:
    """The feature extractor (``include_top=False``) and its preprocessing mode.

    ``width``: the small CNN's first-stage channels; ``spatial``: the small CNN keeps its
    stride-16 map (ResNet50 gives its stride-32 map either way), MobileNetV2 gives its stride-8,
    16 and 32 maps (for a heatmap decoder); ``pyramid``: the small CNN's stride-4, 8 and 16
    maps, MobileNetV2's stride-4 to 32 maps (for the stride-4 heatmap decoder).
    MobileNetV2 is torchvision's (``landmarks/mobilenet.py``), its ImageNet weights shipped."""
    check_choice("backbone", name, BACKBONES)
    if image_size < MIN_IMAGE_SIZE[name]:
        raise ParameterError("image_size", f"{name} needs images of at least "
                                           f"{MIN_IMAGE_SIZE[name]} px, got {image_size}")
    shape = (image_size, image_size, 3)
    if name == "small_cnn":
        if weights == "imagenet":
            raise ParameterError("weights", "small_cnn has no ImageNet weights; use weights none "
                                            "or a file")
        return small_cnn(shape, width=width, pool_last=not spatial, pyramid=pyramid), "tf"
    if name == "mobilenetv2":
        from landmarks.mobilenet import mobilenet_v2

        strides = decoder_strides(name, pyramid=pyramid) if spatial else None
        return mobilenet_v2(shape, weights=weights, outputs_at=strides), "torch"
    if pyramid:
        raise ParameterError("heatmap_stride", f"heatmap stride 4 needs the small_cnn or "
                                               f"mobilenetv2 backbone, not {name}")
    if weights == "imagenet":  # the checked file by path: Keras would hash it once more
        weights = fetch_backbone_weights(name, weights)
    return keras.applications.ResNet50(include_top=False, weights=weights,
                                       input_shape=shape), "caffe"


def fetch_backbone_weights(name: str, weights: str | None) -> str | None:
    """Make sure a backbone's pretrained weights are at hand, before any long work: ResNet50's
    ImageNet file is downloaded into Keras' cache (checksum-checked) if it is not there yet,
    and its path returned; the other backbones' weights ship with the package or are files
    checked elsewhere (None). A file checked once in this process is not hashed again."""
    if name != "resnet50" or weights != "imagenet":
        return None
    if RESNET50_NOTOP in _checked:
        path, stamp = _checked[RESNET50_NOTOP]
        if Path(path).is_file() and _stamp(Path(path)) == stamp:
            return path
    try:
        path = keras.utils.get_file(RESNET50_NOTOP, RESNET50_NOTOP_URL, cache_subdir="models",
                                    file_hash=RESNET50_NOTOP_MD5)
    except Exception as exc:  # Keras raises bare Exception on a failed download
        reason = str(exc).splitlines()[0]
        raise UserError(
            f"ImageNet weights for {name} could not be downloaded ({reason}); "
            f"put {RESNET50_NOTOP} in ~/.keras/models/ or use weights none", param="weights"
        ) from exc
    _checked[RESNET50_NOTOP] = path, _stamp(Path(path))
    return path


_checked: dict[str, tuple] = {}  # file name → (path, stamp) of those verified in this process


def _stamp(path: Path) -> tuple:
    """What would tell that a checked file was replaced since: its size and change time."""
    stat = path.stat()
    return stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns


def build_model(
    num_landmarks: int,
    image_size: int,
    *,
    backbone: str = "resnet50",
    weights: str | None = None,
    head: str = "sigmoid",
    pooling: str = "avg",
    width: int = 32,
    heatmap_stride: int = 8,
    initial_points: np.ndarray | None = None,
) -> keras.Model:
    """Images [B, S, S, 3] in 0..255 → [B, 2K] points ``[x0, y0, x1, y1, ...]`` in [0, 1].

    ``head``: one of ``landmarks.heads.HEADS``; ``pooling`` applies to the Dense heads;
    ``initial_points`` [K, 2] starts a Dense head's output at the mean shape;
    ``heatmap_stride``: the soft-argmax maps at stride 8 (one upsampling of the stride-16 map)
    or 4 (a light decoder with skip connections from the stride-4 and 8 maps).
    ``weights``: ``None``/``"none"`` (from scratch), ``"imagenet"``, a backbone weights file
    (``.h5`` / ``.weights.h5``) or a whole landmark model saved as ``.keras`` with the same
    architecture (to continue from it).
    """
    check_choice("head", head, HEADS)
    check_choice("pooling", pooling, POOLINGS)
    check_weights(weights)
    weights = None if weights in (None, "none") else weights
    weights_file = Path(weights) if weights not in (None, "imagenet") else None
    if weights_file is not None and not weights_file.exists():
        raise UserError(f"weights file {weights_file} not found")
    spatial = head == "soft-argmax"
    pyramid = spatial and heatmap_stride == 4
    decoded = pyramid or (spatial and backbone == "mobilenetv2")
    features, mode = build_backbone(backbone, image_size, width=width, spatial=spatial,
                                    pyramid=pyramid,
                                    weights="imagenet" if weights == "imagenet" else None)
    if weights_file is not None and weights_file.suffix == ".h5":
        _load_weights(features, weights_file)

    inputs = keras.Input((image_size, image_size, 3), name="image")
    x = Preprocess(mode, name="preprocess")(inputs)
    x = features(x)
    if decoded:
        outputs = decoder_head(x, num_landmarks, strides=decoder_strides(backbone, pyramid=pyramid),
                               channels=32 if backbone == "small_cnn" else 64)
    elif spatial:
        outputs = soft_argmax_head(x, num_landmarks)
    else:
        x = layers.GlobalAveragePooling2D()(x) if pooling == "avg" else layers.Flatten()(x)
        outputs = dense_head(x, num_landmarks, head=head, image_size=image_size,
                             initial_points=initial_points)
    model = keras.Model(inputs, outputs, name=f"landmarks_{backbone}")
    if weights_file is not None and weights_file.suffix == ".keras":
        _load_weights(model, weights_file)
    return model


def _load_weights(model, path: Path) -> None:
    try:
        model.load_weights(path)
    except Exception as exc:  # h5py/Keras raise many types for a damaged or foreign file
        raise UserError(f"weights file {path} cannot be loaded into this {model.name} "
                        f"({type(exc).__name__}); give a weights file of the same "
                        "architecture") from exc
