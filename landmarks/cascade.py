"""A second stage on an aligned crop: the first stage's points → the similarity that takes them
to the mean shape → a crop through that matrix (``landmarks.geometry``) → the second stage's
points → back to the image. The second crop depends on the first estimate, not on the box, so a
detector's box matters less (the cascade of dlib's ERT, DAN and the Wing paper's CNN-6 → CNN-7).

A second-stage run is a landmark run whose ``first_stage`` names the first run's folder: it
trains on the same faces, on crops aligned by the *true* points to the first run's mean shape and
jittered by ``ALIGNED_JITTER`` (a first estimate's alignment errs by a few per cent of the face,
far less than a detector box: ``landmarks.detect``'s p90 box errors are about 0.1), and it is
applied to crops aligned by the first stage's estimate.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from common.errors import UserError
from landmarks import geometry
from landmarks.inference import PredictsFiles

# The jitter of the aligned training crops (make_dataset's scale and shift, in face sides, and
# its rotation in degrees), chosen before any second stage was scored.
ALIGNED_JITTER = {"scale_jitter": 0.05, "shift_jitter": 0.05, "rotation": 10.0}


def aligned_matrices(points: np.ndarray, visible: np.ndarray, shape) -> np.ndarray:
    """[N, 3, 3]: for each face, image coordinates → crop units of the crop that puts its points
    [N, K, 2] (the ``visible`` [N, K] ones) closest to ``shape`` [K, 2] (crop units)."""
    shape = np.asarray(shape, np.float64)
    return np.stack([geometry.similarity(p[v], shape[v]) for p, v in zip(points, visible)]) \
        if len(points) else np.zeros((0, 3, 3))


def first_stage_dir(value: str) -> Path:
    """The first stage's run folder as recorded (relative paths from the working folder, else
    from the repository), or one line saying it is missing."""
    from common.paths import repo_path

    path = Path(value)
    if not path.is_absolute() and not path.exists():
        path = repo_path(value)
    if not (path / "config.json").is_file():
        raise UserError(f"first stage {value} is not a landmark run folder (no config.json); "
                        "train it first or name the folder it is in", param="first_stage")
    return path


def alignment_shape(first_dir: Path) -> np.ndarray:
    """The first run's mean shape [K, 2] (crop units): what a second stage aligns to."""
    from common.files import read_json

    return np.asarray(read_json(Path(first_dir) / "mean_shape.json")["points"], np.float64)


def open_first_stage(config, train_paths: list[str]) -> Cascade:
    """The cascade a second-stage ``config`` (a LandmarkConfig) trains into, its second stage
    still missing; refused unless the first run marks the same points and was trained on the
    same faces ``train_paths`` (split.json's: a face the first stage learnt is no validation
    face of the second)."""
    from common.errors import ParameterError
    from common.files import read_json
    from landmarks.inference import Predictor, read_landmark_config

    first_dir = first_stage_dir(config.first_stage)
    recorded = read_landmark_config(first_dir)
    for key in ("dataset", "points"):
        if recorded.get(key) != getattr(config, key):
            raise ParameterError("first_stage", f"{config.first_stage} has {key} "
                                                f"{recorded.get(key)}, this run "
                                                f"{getattr(config, key)}")
    if read_json(first_dir / "split.json").get("train") != train_paths:
        raise UserError(f"{config.first_stage} was trained on other faces than this run would "
                        "be; give the second stage the first one's subsets, seed and validation "
                        "fraction", param="first_stage")
    return Cascade(Predictor.from_run(first_dir), None, alignment_shape(first_dir))


@dataclass(frozen=True, eq=False)
class Cascade(PredictsFiles):
    """Two predictors: the first on the detector's (or the given) box, the second on the crop
    aligned to the first one's points to ``shape`` [K, 2] (crop units). Offers the Predictor's
    ``predict`` and ``detect``; scored by ``landmarks.scoring`` through ``refine_cache``."""

    first: object
    second: object
    shape: np.ndarray

    @property
    def size(self) -> int:
        return self.first.size  # the first stage's crops: what scoring and predict.py cut

    @property
    def box_mapping(self):
        return self.first.box_mapping

    @property
    def model(self):
        return self.second.model  # the points it gives

    def detect(self, image, **kwargs) -> np.ndarray:
        return self.first.detect(image, **kwargs)

    def refine(self, image: np.ndarray, points: np.ndarray) -> np.ndarray:
        """Points [F, K, 2] in image pixels → the second stage's points [F, K, 2]."""
        matrices = aligned_matrices(points, np.ones(points.shape[:2], bool), self.shape)
        crops = np.stack([geometry.warp(image, m, self.second.size) for m in matrices])
        unit = self.second.unit_points(crops)
        return np.stack([geometry.from_crop(p, m) for p, m in zip(unit, matrices)])

    def predict(self, image: np.ndarray, boxes=None, *, detector: str | None = None):
        """``Predictor.predict``, refined: (points [F, K, 2] in image pixels, crop boxes)."""
        points, boxes = self.first.predict(image, boxes, detector=detector)
        if not len(boxes):
            return points, boxes
        return self.refine(np.asarray(image), points), boxes

    def refine_cache(self, data, cache, unit_points: np.ndarray) -> np.ndarray:
        """The second stage on the faces of ``data`` (a LandmarkSet) whose first-stage points
        [N, K, 2] are in crop units of ``cache``'s crops; returns points in those same units."""
        from landmarks.pipeline import cache_crops
        from landmarks.scoring import predict_points

        image_points = np.stack([geometry.from_crop(p, m)
                                 for p, m in zip(unit_points, cache.matrices)])
        matrices = aligned_matrices(image_points, np.ones(unit_points.shape[:2], bool),
                                    self.shape)
        aligned = cache_crops(data, self.second.size, matrices=matrices, progress=False)
        refined = predict_points(self.second, aligned)
        image_points = np.stack([geometry.from_crop(p, m)
                                 for p, m in zip(refined, aligned.matrices)])
        return np.stack([geometry.to_crop(p, m) for p, m in zip(image_points, cache.matrices)])
