"""Points on faces from a trained run: the one inference API of predict.py, evaluate.py, the
ablation and the benchmarks.

    predictor = Predictor.from_run("results/landmarks/ibug68-mobilenetv2-128px")
    points, boxes = predictor.predict(image)          # every face the run's detector finds
    points, boxes = predictor.predict(image, boxes)   # crop boxes [F, 3] (x0, y0, side) given
    for found in predictor.predict_files(paths):      # image files: FilePoints, one each

Points are [F, K, 2] in the continuous pixel coordinates of ``landmarks.geometry``; with the
run's ``--flip-test`` each face is averaged with the prediction on its mirror image.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from common.errors import UserError
from landmarks import geometry


def read_landmark_config(run_dir) -> dict:
    """The run's config.json, or one line saying the folder is not a landmark run."""
    from common.runs import read_run_config
    from landmarks.datasets import DATASETS
    from landmarks.run import LandmarkRun

    config = read_run_config(run_dir, trainer=LandmarkRun.TRAINER, kind=LandmarkRun.KIND,
                             required=LandmarkRun.REQUIRED)
    if config["dataset"] not in DATASETS:
        raise UserError(f"{run_dir} is not a landmark run (dataset {config['dataset']!r}); give "
                        f"a folder written by {LandmarkRun.TRAINER}")
    return config


def load_model(run_dir):
    """The run's Keras model (its sha256 checked), or one line saying what is wrong."""
    import landmarks.heads  # noqa: F401  (registers the custom layers for loading)
    import landmarks.losses  # noqa: F401
    import landmarks.metrics  # noqa: F401
    import landmarks.model  # noqa: F401
    from common.saved_models import load_run_model
    from landmarks.run import LandmarkRun

    return load_run_model(run_dir, LandmarkRun.TRAINER, compile=False)


def check_image(image) -> np.ndarray:
    """``image`` as what the model was trained on, RGB uint8 [H, W, 3], or a UserError naming
    the argument (a float or 16-bit image would be read on the wrong scale)."""
    image = np.asarray(image)
    if image.dtype != np.uint8:
        raise UserError(f"image: expected uint8 pixels 0..255, got {image.dtype}; convert it "
                        "(e.g. landmarks.datasets.read_image reads any file as RGB uint8)")
    if image.ndim != 3 or image.shape[2] != 3 or min(image.shape[:2]) < 1:
        raise UserError(f"image: expected an RGB array [height, width, 3], got shape "
                        f"{list(image.shape)}")
    return image


def check_boxes(boxes) -> np.ndarray:
    """Crop boxes [F, 3] (x0, y0, side): finite, with a positive side, or a UserError naming
    the argument (four-number boxes are not silently regrouped in threes)."""
    array = np.asarray(boxes, np.float64)
    if array.ndim == 1 and array.shape == (3,):
        array = array[None]
    if array.ndim != 2 or array.shape[1] != 3:
        raise UserError(f"boxes: expected crop boxes (x0, y0, side), shape [3] or [faces, 3], "
                        f"got shape {list(array.shape)}")
    if not np.isfinite(array).all() or (array[:, 2] <= 0).any():
        raise UserError("boxes: every box needs finite numbers and a positive side")
    return array.astype(np.float32)


@dataclass(frozen=True)
class FilePoints:
    """What ``predict_files`` found in one image file."""

    path: Path
    image: np.ndarray | None  # RGB uint8, EXIF orientation applied; None: it cannot be read
    points: np.ndarray  # [F, K, 2] in the image's continuous pixels, largest face first
    boxes: np.ndarray  # [F, 3] the crop boxes (x0, y0, side)
    problem: str | None  # why nothing was predicted ("no face found", "cannot be read (…)")


class PredictsFiles:
    """``predict_files`` for any predictor with ``predict(image, boxes, detector=)``."""

    def predict_files(self, paths, *, boxes=None, detector: str | None = None):
        """One ``FilePoints`` per image file, in order (as face-alignment's
        get_landmarks_from_directory): read with its EXIF orientation applied, the faces
        detected (or ``boxes`` used), predicted. A file that cannot be read, or shows no face,
        gives its ``problem`` instead of an exception, so a folder of photos goes on."""
        from landmarks.formats import read_image

        empty = np.zeros((0, 3), np.float32)
        for path in map(Path, paths):
            try:
                image = read_image(path, orient=True)
            except Exception as exc:  # PIL raises many types for missing or foreign files
                yield FilePoints(path, None, np.zeros((0, 0, 2), np.float32), empty,
                                 f"cannot be read ({type(exc).__name__})")
                continue
            points, found = self.predict(image, boxes, detector=detector)
            yield FilePoints(path, image, points, found, None if len(found) else "no face found")


RUNTIMES = ("keras", "tflite")


class Predictor(PredictsFiles):
    """A landmark model with its run's crop size, flip test and detector box mapping.

    ``runtime`` "keras" runs the model through a traced ``tf.function``; "tflite" converts it
    once (some seconds) to the TFLite interpreter with its XNNPACK delegate, the flip test
    inside (``landmarks.serving``), on ``threads`` threads (None: the interpreter's choice).
    Both give the same points within 0.01 px of the crop (landmarks/export.py's check)."""

    def __init__(self, model, *, flip_permutation=None, box_mapping: dict | None = None,
                 batch_size: int = 64, runtime: str = "keras", threads: int | None = None):
        import tensorflow as tf

        from common.validation import check_choice

        self.model = model
        self.size = int(model.input_shape[1])
        self.flip_permutation = flip_permutation
        self.box_mapping = box_mapping
        self.batch_size = batch_size
        check_choice("runtime", runtime, RUNTIMES)
        self.runtime = runtime
        spec = tf.TensorSpec([None, self.size, self.size, 3], tf.float32)
        # one trace for every batch size (a plain model call costs more than a face)
        forward = tf.autograph.experimental.do_not_convert(lambda x: model(x, training=False))
        self._forward = tf.function(forward, input_signature=[spec])
        self._lite = None
        if runtime == "tflite":
            from landmarks.serving import tflite_bytes, tflite_runner

            self._lite = tflite_runner(tflite_bytes(model, flip_permutation), threads=threads)

    @classmethod
    def from_run(cls, run_dir, *, flip_test: bool | None = None, **kwargs) -> Predictor:
        """The run's model; ``flip_test`` None: as the run was trained (its --flip-test). A
        second-stage run gives a ``landmarks.cascade.Cascade`` of its first stage and itself."""
        run_dir = Path(run_dir)
        config = read_landmark_config(run_dir)
        if config.get("first_stage"):
            from landmarks.cascade import Cascade, alignment_shape, first_stage_dir

            first_dir = first_stage_dir(config["first_stage"])
            first = cls.from_run(first_dir, flip_test=flip_test, **kwargs)
            second = cls.from_run_alone(run_dir, config, flip_test=flip_test, **kwargs)
            return Cascade(first, second, alignment_shape(first_dir))
        return cls.from_run_alone(run_dir, config, flip_test=flip_test, **kwargs)

    @classmethod
    def from_run_alone(cls, run_dir, config: dict, *, flip_test: bool | None = None,
                       **kwargs) -> Predictor:
        """The run's own model, without a first stage."""
        from common.files import read_json
        from landmarks.datasets import point_spec

        run_dir = Path(run_dir)
        flip = config.get("flip_test", False) if flip_test is None else flip_test
        mapping_file = run_dir / "box_mapping.json"
        mapping = read_json(mapping_file) if mapping_file.exists() else None
        permutation = point_spec(config["dataset"], config.get("points")).flip_permutation
        return cls(load_model(run_dir), flip_permutation=permutation if flip else None,
                   box_mapping=mapping, **kwargs)

    def _forward_all(self, faces: np.ndarray, forward=None) -> np.ndarray:
        """Points [F, K, 2] of ``forward`` (default: the Keras model) in batches."""
        forward = forward or (lambda batch: self._forward(batch).numpy())
        out = [forward(faces[i:i + self.batch_size])
               for i in range(0, len(faces), self.batch_size)]
        return np.concatenate(out).reshape(len(faces), -1, 2)

    def faces_and_mirrors(self, crops, permutation) -> tuple[np.ndarray, np.ndarray]:
        """Points [F, K, 2] in crop units predicted on each crop, and on its mirror image
        mapped back to the crop (``permutation``: the markup's left/right re-indexing)."""
        crops = np.asarray(crops, np.float32)
        both = self._forward_all(np.concatenate([crops, crops[:, :, ::-1]]))  # one model call
        return both[:len(crops)], geometry.flip_points(both[len(crops):], permutation)

    def unit_points(self, crops) -> np.ndarray:
        """Crops [F, S, S, 3] (0..255) → points [F, K, 2] in crop units."""
        if self._lite is not None:  # the flip test is inside the converted model
            return self._forward_all(np.asarray(crops, np.float32), self._lite)
        if self.flip_permutation is None:
            return self._forward_all(np.asarray(crops, np.float32))
        faces, mirrored = self.faces_and_mirrors(crops, self.flip_permutation)
        return (faces + mirrored) / 2

    def detect(self, image: np.ndarray, *, detector: str | None = None) -> np.ndarray:
        """Crop boxes [F, 3] of the faces the run's detector finds (largest first)."""
        from landmarks.detect import apply_mapping, detect_faces

        if self.box_mapping is None:
            raise UserError("the run has no box_mapping.json (trained without a detector); "
                            "give the face box")
        found = detect_faces(image, detector=detector or self.box_mapping["detector"])
        return apply_mapping(found, self.box_mapping)

    def predict(self, image: np.ndarray, boxes=None, *, detector: str | None = None):
        """(points [F, K, 2] in image pixels, crop boxes [F, 3]) of an RGB uint8 image
        [H, W, 3]; ``boxes``: crop boxes (x0, y0, side) in pixels, [3] or [F, 3]."""
        image = check_image(image)
        boxes = self.detect(image, detector=detector) if boxes is None else check_boxes(boxes)
        if not len(boxes):
            return np.zeros((0, 0, 2), np.float32), boxes
        matrices = [geometry.box_matrix(box) for box in boxes]
        crops = np.stack([geometry.warp(image, m, self.size) for m in matrices])
        unit = self.unit_points(crops)
        points = np.stack([geometry.from_crop(p, m) for p, m in zip(unit, matrices)])
        return points, boxes
