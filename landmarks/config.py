"""The settings of one landmark run, as data: ``LandmarkConfig`` and its two presets.

    from dataclasses import replace
    from landmarks.config import PRESETS
    from landmarks.training import train

    metrics = train(replace(PRESETS["cpu"], head="sigmoid", epochs=5), out="runs/sigmoid")

Every field is a key of the run's config.json. ``out``, ``data_dir``, ``overwrite`` and
``quiet`` say where a run goes and how it is shown, not what it computes (``place()``).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from common.configs import place
from common.errors import ParameterError
from common.paths import repo_path
from common.validation import check_choice, check_number
from landmarks.datasets import DATASETS, DEFAULT_IBUG_SUBSETS, POINT_COUNTS
from landmarks.options import (
    BACKBONES,
    HEADS,
    LOSS_NAMES,
    MIN_IMAGE_SIZE,
    POOLINGS,
    check_weights,
)

RESULTS = repo_path("results", "landmarks")
SCHEDULES = ("plateau", "cosine")
DETECTORS = ("hog", "cnn", "none")
STRATEGIES = ("default", "mirrored")
AUGMENTATIONS = ("field", "light")


@dataclass(frozen=True)
class LandmarkConfig:
    """A landmark run; the defaults are the CPU preset (chosen on validation by the ablation)."""

    preset: str = "cpu"
    dataset: str = "ibug68"
    subsets: str = ",".join(DEFAULT_IBUG_SUBSETS)  # ibug68 folders under <data root>/ibug_68
    skip_bad: bool = False
    val_fraction: float = 0.2
    image_size: int = 128
    backbone: str = "mobilenetv2"
    weights: str = "imagenet"  # none, imagenet (shipped for mobilenetv2), or a .h5/.keras file
    pooling: str = "flatten"
    head: str = "soft-argmax"
    heatmap_stride: int = 8
    rotation: float = 0.0  # degrees, training augmentation
    points: int | None = None  # None: the data set's own markup; 5: the derived 5 points
    width: int = 32  # the small CNN's first-stage channels
    loss: str = "masked_euclidean"
    epochs: int = 80
    batch_size: int = 16
    lr: float = 1e-3
    schedule: str = "cosine"
    flip_test: bool = True
    no_augment: bool = False
    # "field": PIPNet's and HRNet's recipe (landmarks.pipeline.FIELD_AUGMENTATION); "light": the
    # light jitter of the runs before it, recorded as None (what their config.json implies).
    augmentation: str | None = "field"
    detector: str = "hog"
    strategy: str = "default"
    first_stage: str | None = None  # a landmark run folder: this run is its second stage
    data_dir: str | None = place()
    seed: int = 0
    out: str | None = place()
    overwrite: bool = place(False)
    quiet: bool = place(False)

    def __post_init__(self):
        check_choice("dataset", self.dataset, DATASETS)
        check_choice("backbone", self.backbone, BACKBONES)
        check_choice("pooling", self.pooling, POOLINGS)
        check_choice("head", self.head, HEADS)
        check_choice("heatmap_stride", self.heatmap_stride, (4, 8))
        check_choice("loss", self.loss, LOSS_NAMES)
        check_choice("schedule", self.schedule, SCHEDULES)
        check_choice("detector", self.detector, DETECTORS)
        check_choice("strategy", self.strategy, STRATEGIES)
        if self.augmentation is not None:
            check_choice("augmentation", self.augmentation, AUGMENTATIONS)
            if self.augmentation == "light":
                object.__setattr__(self, "augmentation", None)
        if self.augmentation is not None and self.no_augment:
            raise ParameterError("augmentation", f"no_augment turns augmentation off, and "
                                                 f"augmentation is {self.augmentation!r}; ask "
                                                 "for one of the two (light with no_augment)")
        check_number("val_fraction", self.val_fraction, low=1e-9, high=1 - 1e-9)
        check_number("rotation", self.rotation, low=0, high=90)
        for name in ("image_size", "width", "epochs", "batch_size"):
            check_number(name, getattr(self, name), low=1, integer=True)
        check_number("lr", self.lr, low=1e-12)
        if self.image_size < MIN_IMAGE_SIZE[self.backbone]:
            raise ParameterError("image_size", f"{self.backbone} needs at least "
                                               f"{MIN_IMAGE_SIZE[self.backbone]} px, got "
                                               f"{self.image_size}")
        try:
            check_weights(self.weights)
        except ValueError as exc:
            raise ParameterError("weights", str(exc)) from None
        if self.backbone == "small_cnn" and self.weights == "imagenet":
            raise ParameterError("weights", "small_cnn has no ImageNet weights; use none or a "
                                            "file")
        own = DATASETS[self.dataset].num_points
        if self.points not in (None, 5, own):
            raise ParameterError("points", f"{self.dataset} has {own} points; use {own} or 5")
        if self.points is not None:
            check_choice("points", self.points, POINT_COUNTS)

    def default_out(self) -> str:
        """results/landmarks/<dataset>-<backbone>-<size>px, + "-second-stage" for a second stage."""
        stage = "-second-stage" if self.first_stage else ""
        return str(RESULTS / f"{self.dataset}-{self.backbone}-{self.image_size}px{stage}")


# The weights a backbone starts from when only the backbone is changed: the shipped ImageNet
# weights for MobileNetV2; from scratch for the others (ResNet50's download is the gpu preset's).
BACKBONE_WEIGHTS = {"mobilenetv2": "imagenet", "small_cnn": "none", "resnet50": "none"}


def with_backbone(config: LandmarkConfig, backbone: str | None) -> LandmarkConfig:
    """``config`` on another backbone (None: its own), starting from that backbone's weights."""
    if backbone is None or backbone == config.backbone:
        return config
    check_choice("backbone", backbone, BACKBONE_WEIGHTS)
    return dataclasses.replace(config, backbone=backbone, weights=BACKBONE_WEIGHTS[backbone])


CPU = LandmarkConfig()
# The CPU preset before the field's augmentation and its 80 epochs were its (ablation row 6): the
# base of the comparison sweep, of every ablation row (landmarks/ablation.py) and of the fast
# preset.
CPU_LIGHT = dataclasses.replace(CPU, augmentation=None, epochs=50)
CPU_DIR = "results/landmarks/ibug68-mobilenetv2-128px"  # the CPU preset's shipped run
PRESETS = {
    "cpu": CPU,
    # The homework's design, one flag away: ResNet50 with ImageNet weights at 224 px.
    "gpu": dataclasses.replace(CPU, preset="gpu", backbone="resnet50", weights="imagenet",
                               image_size=224, pooling="avg", head="sigmoid",
                               schedule="plateau", epochs=60, lr=2.5e-4, flip_test=False),
    # A second stage on the CPU preset's shipped run, on the crops its points align
    # (landmarks/cascade.py): its model fine-tuned 20 epochs, cosine from 5e-4.
    "cascade": dataclasses.replace(CPU, preset="cascade", first_stage=CPU_DIR,
                                   weights=f"{CPU_DIR}/model.keras", epochs=20, lr=5e-4),
    # The light CPU preset at half the size and without the flip test: one pass of a 64-px crop,
    # for speed (benchmarks/landmarks_predict.py gives the presets' faces/s beside dlib's).
    "fast": dataclasses.replace(CPU_LIGHT, preset="fast", image_size=64, flip_test=False),
}
