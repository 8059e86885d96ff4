"""Landmark accuracy: NME, failure rate, CED curve and AUC, per-landmark error, mean shape.

Points are arrays [N, K, 2] in any common unit (crop-normalized here); NME is scale-free:
the mean error over an image's visible points divided by the distance between its two
normalizing points (iBUG-68: outer eye corners 36 and 45; MUCT: pupils 31 and 36).
"""

from __future__ import annotations

import keras
import numpy as np
from keras import ops

from landmarks.losses import points_and_mask

THRESHOLDS = (0.08, 0.10)


def point_errors(pred: np.ndarray, true: np.ndarray) -> np.ndarray:
    """Euclidean error [N, K]."""
    return np.linalg.norm(pred - true, axis=-1)


def normalizer(true: np.ndarray, eye_points) -> np.ndarray:
    """Distance between the two normalizing points of each image [N]."""
    return np.linalg.norm(true[:, eye_points[0]] - true[:, eye_points[1]], axis=-1)


def nme_per_image(pred, true, visible, eye_points) -> np.ndarray:
    """[N]: mean error over visible points / distance between the normalizing points."""
    errors = point_errors(pred, true) / normalizer(true, eye_points)[:, None]
    return (errors * visible).sum(axis=1) / np.maximum(visible.sum(axis=1), 1)


def per_landmark_nme(pred, true, visible, eye_points) -> np.ndarray:
    """[K]: each landmark's normalized error averaged over the images where it is visible."""
    errors = point_errors(pred, true) / normalizer(true, eye_points)[:, None]
    return (errors * visible).sum(axis=0) / np.maximum(visible.sum(axis=0), 1)


def ced_curve(nme: np.ndarray, limit: float, steps: int = 200):
    """Cumulative error distribution: thresholds 0..limit and the fraction of images below each."""
    thresholds = np.linspace(0.0, limit, steps + 1)
    return thresholds, (nme[None, :] <= thresholds[:, None]).mean(axis=1)


def ced_auc(nme: np.ndarray, limit: float) -> float:
    """Area under the CED curve up to ``limit``, divided by ``limit`` (1 = every image perfect)."""
    thresholds, fraction = ced_curve(nme, limit, steps=1000)
    return float(np.trapezoid(fraction, thresholds) / limit)


def failure_rate(nme: np.ndarray, threshold: float) -> float:
    return float((nme > threshold).mean())


def mean_shape(points: np.ndarray, visible: np.ndarray) -> np.ndarray:
    """[K, 2]: the average of each landmark over the training images where it is visible."""
    weights = visible[..., None].astype(np.float64)
    return ((points * weights).sum(axis=0) / np.maximum(weights.sum(axis=0), 1)).astype(np.float32)


def summary(pred, true, visible, eye_points, *, prefix: str) -> dict:
    """Flat metrics: ``<prefix>_nme``, ``_failure_rate_8``/``_10``, ``_auc_8``/``_10``."""
    nme = nme_per_image(pred, true, visible, eye_points)
    result = {f"{prefix}_nme": float(nme.mean())}
    for t in THRESHOLDS:
        result[f"{prefix}_failure_rate_{round(t * 100)}"] = failure_rate(nme, t)
        result[f"{prefix}_auc_{round(t * 100)}"] = ced_auc(nme, t)
    return result


@keras.saving.register_keras_serializable(package="landmarks")
class NME(keras.metrics.Mean):
    """In-graph NME over a batch of [B, 2K] targets, for checkpoints and learning-rate schedules."""

    def __init__(self, eye_points=(36, 45), name="nme", dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.eye_points = tuple(int(i) for i in eye_points)

    def update_state(self, y_true, y_pred, sample_weight=None):
        true, pred, visible = points_and_mask(y_true, y_pred)
        visible = ops.cast(visible, true.dtype)
        eyes = ops.norm(true[:, self.eye_points[0]] - true[:, self.eye_points[1]], axis=-1)
        errors = ops.norm(pred - true, axis=-1) * visible
        per_image = ops.sum(errors, axis=1) / ops.maximum(ops.sum(visible, axis=1), 1.0)
        return super().update_state(per_image / ops.maximum(eyes, 1e-6), sample_weight)

    def get_config(self):
        return {**super().get_config(), "eye_points": list(self.eye_points)}
