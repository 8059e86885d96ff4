"""A trained landmark run folder, opened and checked once: what predict, evaluate, export, the
ablation, the model card and the benchmarks read from it.

    run = LandmarkRun.open("results/landmarks/ibug68-mobilenetv2-128px")
    predictor = run.predictor()                 # the run's flip test, detector mapping, stages
    faces = run.faces("val")                    # its validation faces, as split.json lists them
    scores = run.result(flip=True, boxes="detector")   # evaluation_val_flip_detector.json

The evaluation files' names (``result_name``) are the one vocabulary of scored splits:
``<split>[_flip|_noflip][_detector]``, the flip word left out when the flip setting is the run's.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path

import numpy as np

from common.errors import UserError
from common.runs import RunFolder

BOXES = ("truth", "detector")


def result_name(split: str = "val", *, flip: bool | None = None, boxes: str = "truth") -> str:
    """``val``, ``val_noflip``, ``val_flip_detector``, …: an evaluation's tag (its metrics'
    prefix and its file ``evaluation_<tag>.json``); ``flip`` None: as the run was trained."""
    if boxes not in BOXES:
        raise ValueError(f"boxes {boxes!r}: expected one of {', '.join(BOXES)}")
    flip_word = "" if flip is None else ("_flip" if flip else "_noflip")
    return f"{split}{flip_word}{'_detector' if boxes == 'detector' else ''}"


def result_title(run_name: str, split: str = "val", *, flip: bool, boxes: str = "truth") -> str:
    """What a figure of one evaluation shows, e.g. "r: validation faces, flip test on,
    detector boxes" (the figures' heading; ``result_name`` is the files' tag)."""
    faces = "validation faces" if split == "val" else f"{split} faces"
    crop = "detector boxes" if boxes == "detector" else "boxes around the true points"
    return f"{run_name}: {faces}, flip test {'on' if flip else 'off'}, {crop}"


class LandmarkRun(RunFolder):
    """A landmark run folder that holds a config.json written by landmarks/train.py."""

    TRAINER, KIND, REQUIRED = "landmarks/train.py", "landmark", ("dataset", "image_size")

    @classmethod
    def open(cls, path) -> LandmarkRun:
        """The run at ``path``, or one line saying why it is not a landmark run (the common
        checks, and a data set this code knows)."""
        from landmarks.inference import read_landmark_config

        return cls(Path(path), read_landmark_config(path))

    def _json(self, name: str, *, why: str):
        from common.files import read_json

        file = self.path / name
        if not file.exists():
            raise UserError(f"{self.path} has no {name} ({why}); train the run again")
        return read_json(file)

    @cached_property
    def spec(self):
        """The markup the run predicts (``landmarks.datasets.PointSpec``)."""
        from landmarks.datasets import point_spec

        return point_spec(self.config["dataset"], self.config.get("points"))

    @cached_property
    def box_mapping(self) -> dict | None:
        """The detector → crop box mapping the run uses (a second stage: its first stage's);
        None for a run trained without a detector."""
        from common.files import read_json

        if self.config.get("first_stage"):
            from landmarks.cascade import first_stage_dir

            return LandmarkRun.open(first_stage_dir(self.config["first_stage"])).box_mapping
        file = self.path / "box_mapping.json"
        return read_json(file) if file.exists() else None

    def require_box_mapping(self) -> dict:
        """The box mapping, or one line saying the run has none."""
        if self.box_mapping is None:
            raise UserError(f"{self.path} has no box_mapping.json (trained without a detector);"
                            " give the face box, or score it with true-point boxes")
        return self.box_mapping

    @cached_property
    def mean_shape(self) -> np.ndarray:
        """The training faces' mean shape [K, 2] in crop units (the baseline every score has)."""
        saved = self._json("mean_shape.json", why="written by landmarks/train.py since the run "
                                                  "folders became self-contained")
        return np.asarray(saved["points"], np.float32)

    @cached_property
    def split(self) -> dict:
        """split.json: the training and validation images, relative to the data root."""
        return self._json("split.json", why="the record of its training and validation faces")

    def faces(self, split: str = "val", data_dir=None):
        """The faces split.json lists under ``split`` (a LandmarkSet), read from ``data_dir``
        (default: the data root the run records, else the default root)."""
        from landmarks.datasets import recorded_split

        config = {**self.config, "data_dir": data_dir or self.config.get("data_dir")}
        return recorded_split(config, self.split, split)

    def predictor(self, flip_test: bool | None = None, **kwargs):
        """The run's ``Predictor`` (a ``Cascade`` for a second stage); ``flip_test`` None: as
        trained."""
        from landmarks.inference import Predictor

        return Predictor.from_run(self.path, flip_test=flip_test, **kwargs)

    def result_path(self, split: str = "val", *, flip: bool | None = None,
                    boxes: str = "truth") -> Path:
        """Where the ablation keeps an evaluation in the run folder."""
        return self.path / f"evaluation_{result_name(split, flip=flip, boxes=boxes)}.json"

    def result(self, split: str = "val", *, flip: bool | None = None,
               boxes: str = "truth") -> dict | None:
        """A kept evaluation's metrics (prefixed by its ``result_name``), None if not scored."""
        from common.files import read_json

        path = self.result_path(split, flip=flip, boxes=boxes)
        return read_json(path) if path.exists() else None
