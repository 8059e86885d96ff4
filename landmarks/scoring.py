"""Scoring landmark predictions: the metrics of a model and of the mean shape on cached faces,
and the figures (CED curve, per-landmark error, a face grid). Used by train.py, evaluate.py and
the ablation; the predictions come from ``landmarks.inference.Predictor``."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from common.files import write_json
from common.plotting import save_figure
from landmarks import metrics
from landmarks.pipeline import (
    CropCache,
    cache_crops,
    crop_targets,
    face_box_in_cache,
    make_dataset,
)

# A colour-blind-safe pair (Okabe & Ito): truth blue, prediction orange.
TRUTH_COLOUR, PREDICTION_COLOUR = "#0072B2", "#E69F00"


def detector_boxes(data, mapping: dict):
    """Crop boxes [N, 3] from the detector (mapped), the fallback box where it finds nothing,
    and the mask of detected faces."""
    from landmarks.detect import apply_mapping, detect_faces, fallback_box, matching_box
    from landmarks.formats import read_image
    from landmarks.pipeline import face_boxes

    truth = face_boxes(data.points, data.visible)
    boxes, found = np.zeros_like(truth), np.zeros(len(truth), bool)
    for i, path in enumerate(data.paths):
        image = read_image(path)
        detected = detect_faces(image, detector=mapping["detector"])
        hit = matching_box(detected, truth[i])  # the detection of this face, not another one
        found[i] = hit is not None
        boxes[i] = apply_mapping(detected[hit], mapping)[0] if found[i] else \
            fallback_box(image.shape, mapping)
    return boxes, found


def face_crops(cache: CropCache, image_size: int) -> np.ndarray:
    """The evaluation crops [N, S, S, 3] (float32 0..255) of a cache, in order."""
    ds = make_dataset(cache, image_size=image_size, batch_size=256, training=False)
    return np.concatenate([x.numpy() for x, _ in ds])


def predict_points(predictor, cache: CropCache, data=None) -> np.ndarray:
    """Points [N, K, 2] in crop units of each face's evaluation crop. A two-stage predictor
    (``landmarks.cascade.Cascade``) also needs the faces' ``data``, to cut its aligned crops."""
    if hasattr(predictor, "refine_cache"):
        if data is None:
            raise ValueError("a two-stage predictor scores from the images: pass data")
        first = predictor.first.unit_points(face_crops(cache, predictor.first.size))
        return predictor.refine_cache(data, cache, first)
    return predictor.unit_points(face_crops(cache, predictor.size))


def plot_grid(cache: CropCache, pred, true, path, count: int = 12) -> None:
    """Faces with the truth and the prediction drawn on them."""
    lo, side = face_box_in_cache(cache)
    count = min(count, len(pred))
    cols = min(count, 6)
    rows = int(np.ceil(count / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(2.2 * cols, 2.2 * rows), squeeze=False)
    for ax, i in zip(axes.flat, np.linspace(0, len(pred) - 1, count).astype(int)):
        # imshow puts pixel centres at integers: continuous coordinates are 0.5 higher
        ax.imshow(cache.images[i])
        seen = cache.visible[i]
        for pts, colour in ((true[i], TRUTH_COLOUR), (pred[i], PREDICTION_COLOUR)):
            ax.scatter(lo + pts[seen, 0] * side - 0.5, lo + pts[seen, 1] * side - 0.5, s=3,
                       c=colour)
    for ax in axes.flat:
        ax.axis("off")
    fig.suptitle("truth (blue) and prediction (orange)")
    save_figure(fig, path)


def plot_ced(curves: dict, path, limit: float = 0.10) -> None:
    fig, ax = plt.subplots(figsize=(5, 3.6))
    for name, nme in curves.items():
        x, y = metrics.ced_curve(nme, limit)
        ax.plot(x, y, label=f"{name} (AUC@{limit:.2f} = {metrics.ced_auc(nme, limit):.3f})")
    ax.set(xlabel="NME (inter-ocular)", ylabel="fraction of faces", ylim=(0, 1),
           title="cumulative error distribution")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    save_figure(fig, path)


def plot_per_landmark(errors: np.ndarray, baseline: np.ndarray, path) -> None:
    fig, ax = plt.subplots(figsize=(10, 3.2))
    index = np.arange(len(errors))
    ax.bar(index, errors, label="model")
    ax.plot(index, baseline, "k.", label="mean shape")
    ax.set(xlabel="landmark", ylabel="mean NME", title="error per landmark")
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=8)
    save_figure(fig, path)


def score_points(pred: np.ndarray, cache: CropCache, *, mean_shape: np.ndarray,
                 split: str) -> dict:
    """Metrics of predicted points [N, K, 2] and of the training ``mean_shape`` [K, 2]."""
    true = crop_targets(cache)
    baseline = np.broadcast_to(np.asarray(mean_shape, np.float32), true.shape)
    eyes, seen = cache.eye_points, cache.visible
    result = metrics.summary(pred, true, seen, eyes, prefix=split)
    result.update(metrics.summary(baseline, true, seen, eyes, prefix=f"{split}_mean_shape"))
    result[f"{split}_faces"] = len(true)
    return result


def write_figures(pred: np.ndarray, cache: CropCache, *, mean_shape: np.ndarray, split: str,
                  out: Path, show_faces: bool = True) -> None:
    """Each face's NME, the CED curve, the per-landmark error and (where the licence allows)
    a face grid."""
    true = crop_targets(cache)
    baseline = np.broadcast_to(np.asarray(mean_shape, np.float32), true.shape)
    eyes, seen = cache.eye_points, cache.visible
    nme = metrics.nme_per_image(pred, true, seen, eyes)
    write_json(out / f"nme_{split}.json", {"nme": nme})  # per face, for overlaid CED curves
    plot_ced({"model": nme, "mean shape": metrics.nme_per_image(baseline, true, seen, eyes)},
             out / f"ced_{split}.png")
    plot_per_landmark(metrics.per_landmark_nme(pred, true, seen, eyes),
                      metrics.per_landmark_nme(baseline, true, seen, eyes),
                      out / f"per_landmark_{split}.png")
    if show_faces:
        plot_grid(cache, pred, true, out / f"predictions_{split}.png")


def score_faces(predictor, data, *, mean_shape: np.ndarray, split: str, detector: bool = False,
                progress: bool = False):
    """Crop, predict and score ``data`` (a LandmarkSet) with crops around the true points, or
    (``detector``) where the predictor's detector finds each face, adding the detection rate
    and the NME over the detected faces. Returns (metrics, predictions, cache)."""
    boxes, found = None, None
    if detector:
        boxes, found = detector_boxes(data, predictor.box_mapping)
    cache = cache_crops(data, predictor.size, progress=progress, boxes=boxes,
                        label=f"cropping the {len(data)} faces to score")
    pred = predict_points(predictor, cache, data)
    result = score_points(pred, cache, mean_shape=mean_shape, split=split)
    if found is not None:
        nme = metrics.nme_per_image(pred, crop_targets(cache), cache.visible, cache.eye_points)
        result = {f"{split}_detection_rate": float(found.mean()),
                  f"{split}_detected_nme": float(nme[found].mean()), **result}
    return result, pred, cache


def evaluate_cache(predictor, cache: CropCache, *, mean_shape: np.ndarray, split: str,
                   out: Path, show_faces: bool = True, data=None) -> dict:
    """Metrics of the predictor and of the training ``mean_shape`` on ``cache`` (of ``data``,
    which a two-stage predictor needs); figures in ``out``."""
    pred = predict_points(predictor, cache, data)
    write_figures(pred, cache, mean_shape=mean_shape, split=split, out=out, show_faces=show_faces)
    return score_points(pred, cache, mean_shape=mean_shape, split=split)
