"""Scoring landmark predictions: the metrics of a model and of the mean shape on cached faces,
each face's NME and the figures of ``landmarks.figures``. Used by train.py, evaluate.py and the
ablation; the predictions come from ``landmarks.inference.Predictor``."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from common.files import write_json
from landmarks import figures, metrics
from landmarks.pipeline import (
    CropCache,
    cache_crops,
    crop_targets,
    make_dataset,
)


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
                  out: Path, show_faces: bool = True, title: str = "") -> None:
    """Each face's NME, the CED curve, the per-landmark error and (where the licence allows)
    a face grid; ``title`` (the run and what was scored) heads each figure."""
    true = crop_targets(cache)
    baseline = np.broadcast_to(np.asarray(mean_shape, np.float32), true.shape)
    eyes, seen = cache.eye_points, cache.visible
    nme = metrics.nme_per_image(pred, true, seen, eyes)
    write_json(out / f"nme_{split}.json", {"nme": nme})  # per face, for overlaid CED curves
    figures.plot_ced({"model": nme,
                      "mean shape": metrics.nme_per_image(baseline, true, seen, eyes)},
                     out / f"ced_{split}.png", title=title)
    figures.plot_per_landmark(metrics.per_landmark_nme(pred, true, seen, eyes),
                              metrics.per_landmark_nme(baseline, true, seen, eyes),
                              out / f"per_landmark_{split}.png", title=title)
    if show_faces:
        figures.plot_grid(cache, pred, true, out / f"predictions_{split}.png", title=title)


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
                   out: Path, show_faces: bool = True, data=None, title: str = "") -> dict:
    """Metrics of the predictor and of the training ``mean_shape`` on ``cache`` (of ``data``,
    which a two-stage predictor needs); figures in ``out``."""
    pred = predict_points(predictor, cache, data)
    write_figures(pred, cache, mean_shape=mean_shape, split=split, out=out, show_faces=show_faces,
                  title=title)
    return score_points(pred, cache, mean_shape=mean_shape, split=split)
