"""Score a saved landmark model: NME, failure rates, CED curve, per-landmark error, a face grid.

    python landmarks/evaluate.py results/landmarks/ibug68-small_cnn-96px
    python landmarks/evaluate.py RUN --subsets afw            # any folder of .jpg + .pts
    python landmarks/evaluate.py RUN --boxes detector         # crops from the face detector

Without --subsets/--dataset it scores the run's own validation faces. The mean-shape baseline
(the average training face, in crop coordinates) is always scored beside the model.

``--boxes truth`` (the default, as in the literature) crops each face around its true points;
``--boxes detector`` crops it where the run's detector finds it (mapped with the run's
box_mapping.json) and reports the detection rate, the NME over the detected faces, and the NME
over all faces, the undetected ones scored on the fallback box: the centred square of the size
that training faces most often fill.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import keras
import matplotlib.pyplot as plt
import numpy as np
import tensorflow as tf

import landmarks.model  # noqa: F401  (registers the custom objects for loading)
from common.cli import add_data_dir_flag, positive_int, print_metrics, run_cli
from common.data import DataError
from common.plotting import save_figure
from common.runs import check_writable_folder, read_json, saved_model_path, write_json
from landmarks import losses, metrics  # noqa: F401
from landmarks.datasets import DATASETS, load_split, read_dataset, select_points
from landmarks.pipeline import (
    CropCache,
    cache_crops,
    crop_targets,
    face_box_in_cache,
    make_dataset,
    unflip_points,
)


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    p.add_argument("run", help="run folder written by landmarks/train.py")
    add_data_dir_flag(p)
    p.add_argument("--dataset", choices=DATASETS, default=None,
                   help="score another data set instead of the run's validation split")
    p.add_argument("--subsets", default=None, help="ibug68 folders to score (comma-separated)")
    p.add_argument("--skip-bad", action="store_true", help="skip bad rows/images")
    p.add_argument("--batch-size", type=positive_int, default=32, help="prediction batch size")
    p.add_argument("--out", default=None, help="folder for the figures and evaluation JSON "
                                               "(default: the run folder)")
    p.add_argument("--boxes", choices=("truth", "detector"), default="truth",
                   help="face crops around the true points, or from the face detector")
    p.add_argument("--flip-test", choices=("on", "off"), default=None,
                   help="average each face with its mirror image (default: as the run was "
                        "trained, its --flip-test)")  # fmt: skip
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    return p.parse_args(argv)


def detector_boxes(data, mapping: dict):
    """Crop boxes [N, 3] from the detector (mapped), the fallback box where it finds nothing,
    and the mask of detected faces."""
    from landmarks.detect import apply_mapping, detect_faces, fallback_box, matching_box, read_rgb
    from landmarks.pipeline import face_boxes

    truth = face_boxes(data.points, data.visible)
    boxes, found = np.zeros_like(truth), np.zeros(len(truth), bool)
    for i, path in enumerate(data.paths):
        image = read_rgb(path)
        detected = detect_faces(image, detector=mapping["detector"])
        hit = matching_box(detected, truth[i])  # the detection of this face, not another one
        found[i] = hit is not None
        boxes[i] = apply_mapping(detected[hit], mapping)[0] if found[i] else \
            fallback_box(image.shape, mapping)
    return boxes, found


def _face_images(model, cache: CropCache, batch_size: int) -> tf.data.Dataset:
    ds = make_dataset(cache, image_size=model.input_shape[1], batch_size=batch_size,
                      training=False)  # fmt: skip
    return ds.map(lambda x, y: x)


def predict_faces_and_mirrors(model, cache: CropCache, batch_size: int):
    """Points [N, K, 2] predicted on each face crop, and on its mirror image mapped back."""
    images = _face_images(model, cache, batch_size)
    faces = model.predict(images, verbose=0).reshape(len(cache.images), -1, 2)
    mirrored = model.predict(images.map(tf.image.flip_left_right), verbose=0)
    return faces, unflip_points(mirrored.reshape(faces.shape), cache.flip_permutation)


def predict_points(model, cache: CropCache, batch_size: int, *,
                   flip_test: bool = False) -> np.ndarray:  # fmt: skip
    """Points [N, K, 2] in [0, 1] of each face crop; ``flip_test``: averaged with the
    prediction on the mirrored face."""
    if flip_test:
        faces, mirrored = predict_faces_and_mirrors(model, cache, batch_size)
        return (faces + mirrored) / 2
    images = _face_images(model, cache, batch_size)
    return model.predict(images, verbose=0).reshape(len(cache.images), -1, 2)


def plot_grid(cache: CropCache, pred, true, path, count: int = 12) -> None:
    """Faces with the truth in green and the prediction in red (as in the homework's figure)."""
    lo, side = face_box_in_cache(cache)
    count = min(count, len(pred))
    cols = min(count, 6)
    rows = int(np.ceil(count / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(2.2 * cols, 2.2 * rows), squeeze=False)
    for ax, i in zip(axes.flat, np.linspace(0, len(pred) - 1, count).astype(int)):
        ax.imshow(cache.images[i])
        seen = cache.visible[i]
        for pts, colour in ((true[i], "lime"), (pred[i], "red")):
            ax.scatter(lo + pts[seen, 0] * side, lo + pts[seen, 1] * side, s=3, c=colour)
    for ax in axes.flat:
        ax.axis("off")
    fig.suptitle("truth (green) and prediction (red)")
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
                 split: str) -> dict:  # fmt: skip
    """Metrics of predicted points [N, K, 2] and of the training ``mean_shape`` [K, 2]."""
    true = crop_targets(cache)
    baseline = np.broadcast_to(np.asarray(mean_shape, np.float32), true.shape)
    eyes, seen = cache.eye_points, cache.visible
    result = metrics.summary(pred, true, seen, eyes, prefix=split)
    result.update(metrics.summary(baseline, true, seen, eyes, prefix=f"{split}_mean_shape"))
    result[f"{split}_faces"] = len(true)
    return result


def write_figures(pred: np.ndarray, cache: CropCache, *, mean_shape: np.ndarray, split: str,
                  out: Path, show_faces: bool = True) -> None:  # fmt: skip
    """Each face's NME, the CED curve, the per-landmark error and (where the licence allows)
    a face grid."""
    true = crop_targets(cache)
    baseline = np.broadcast_to(np.asarray(mean_shape, np.float32), true.shape)
    eyes, seen = cache.eye_points, cache.visible
    nme = metrics.nme_per_image(pred, true, seen, eyes)
    write_json(out / f"nme_{split}.json", {"nme": nme})  # per face, for overlaid CED curves
    plot_ced({"model": nme, "mean shape": metrics.nme_per_image(baseline, true, seen, eyes)},
             out / f"ced_{split}.png")  # fmt: skip
    plot_per_landmark(metrics.per_landmark_nme(pred, true, seen, eyes),
                      metrics.per_landmark_nme(baseline, true, seen, eyes),
                      out / f"per_landmark_{split}.png")  # fmt: skip
    if show_faces:
        plot_grid(cache, pred, true, out / f"predictions_{split}.png")


def evaluate_cache(model, cache: CropCache, *, mean_shape: np.ndarray, split: str, out: Path,
                   batch_size: int = 32, show_faces: bool = True,
                   flip_test: bool = False) -> dict:  # fmt: skip
    """Metrics of ``model`` and of the training ``mean_shape`` on ``cache``; figures in ``out``."""
    pred = predict_points(model, cache, batch_size, flip_test=flip_test)
    write_figures(pred, cache, mean_shape=mean_shape, split=split, out=out, show_faces=show_faces)
    return score_points(pred, cache, mean_shape=mean_shape, split=split)


def main(argv=None) -> None:
    args = parse_args(argv)
    run_dir = Path(args.run)
    model_path = saved_model_path(run_dir, "landmarks/train.py")
    config = read_json(run_dir / "config.json")
    if not (run_dir / "mean_shape.json").exists():
        raise DataError(f"{run_dir} has no mean_shape.json (written by landmarks/train.py since "
                        "the run folders became self-contained); train it again")  # fmt: skip
    shape = np.asarray(read_json(run_dir / "mean_shape.json")["points"], np.float32)
    if args.data_dir:
        config["data_dir"] = args.data_dir
    if args.dataset or args.subsets:
        dataset = args.dataset or config["dataset"]
        subsets = (args.subsets or config["subsets"]).split(",")
        data = read_dataset(dataset, config.get("data_dir"), subsets, skip_bad=args.skip_bad)
        data = select_points(data, config.get("points"))
        split = f"{dataset}_{'_'.join(subsets)}" if dataset == "ibug68" else dataset
    else:
        split, data = "val", load_split(config)[1]
    model = keras.models.load_model(model_path)
    if 2 * data.spec.num_points != model.output_shape[-1]:
        raise DataError(f"the model predicts {model.output_shape[-1] // 2} points but "
                        f"{split} has {data.spec.num_points}; score it on the same markup")
    out = check_writable_folder(args.out or run_dir)
    flip = config.get("flip_test", False) if args.flip_test is None else args.flip_test == "on"
    if flip != config.get("flip_test", False):  # not as trained: its own name, its own files
        split = f"{split}_{'flip' if flip else 'noflip'}"
    boxes, extra = None, {}
    if args.boxes == "detector":
        if not (run_dir / "box_mapping.json").exists():
            raise DataError(f"{run_dir} has no box_mapping.json (trained with --detector none); "
                            "use --boxes truth")  # fmt: skip
        boxes, found = detector_boxes(data, read_json(run_dir / "box_mapping.json"))
        split = f"{split}_detector"
        extra = {f"{split}_detection_rate": float(found.mean())}
    cache = cache_crops(data, model.input_shape[1], progress=not args.quiet, boxes=boxes)
    pred = predict_points(model, cache, args.batch_size, flip_test=flip)
    result = score_points(pred, cache, mean_shape=shape, split=split)
    if args.boxes == "detector":
        detected = metrics.nme_per_image(pred, crop_targets(cache), cache.visible,
                                         cache.eye_points)  # fmt: skip
        result = {**extra, f"{split}_detected_nme": float(detected[found].mean()), **result}
    print_metrics(run_dir, result)  # before anything is written: a write error loses nothing
    write_figures(pred, cache, mean_shape=shape, split=split, out=out,
                  show_faces=data.spec.show_faces)
    write_json(out / f"evaluation_{split}.json", result)


if __name__ == "__main__":
    run_cli(main)
