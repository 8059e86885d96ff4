"""Landmarks on your own photos: detect the faces, crop each as the model was trained, predict.

    python landmarks/predict.py results/landmarks/ibug68-small_cnn-128px photo.jpg --out points/
    python landmarks/predict.py RUN folder_of_photos/ --out points/
    python landmarks/predict.py RUN face.jpg --box 40,52,180,180 --out points/   # no detector

For each face, largest first: ``<out>/<image stem>_face<i>.pts`` (300-W format, pixels of the
original image); for all of them ``<out>/predictions.csv`` (image, face, box, x0, y0, …); and an
overlay PNG per image (box and points drawn on the photo). The detector's box is mapped to the
model's crop with the run's box_mapping.json. An image with no face, or one that cannot be read,
is reported in one line and counted, and the others go on.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from common.cli import positive_int, run_cli
from common.data import DataError
from common.runs import check_writable_folder, read_json, saved_model_path, write_csv

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp")


def parse_box(text: str) -> tuple[float, float, float, float]:
    try:
        x, y, w, h = (float(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected x,y,w,h in pixels, got {text!r}") from None
    if w <= 0 or h <= 0:
        raise argparse.ArgumentTypeError(f"the box needs a positive width and height, got {text}")
    return x, y, w, h


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("run", help="run folder written by landmarks/train.py")
    p.add_argument("images", nargs="+", help="image files or folders of them")
    p.add_argument("--out", required=True, help="folder for the .pts files, CSV and overlays")
    p.add_argument("--box", type=parse_box, default=None, metavar="X,Y,W,H",
                   help="the face box of a single image (skips detection; the landmark box "
                        "the model was trained on: a square around the face and its jaw)")
    p.add_argument("--detector", choices=("hog", "cnn"), default=None,
                   help="override the run's detector (default: the one of its box mapping)")
    p.add_argument("--batch-size", type=positive_int, default=32, help="faces per model call")
    args = p.parse_args(argv)
    if args.box is not None and len(args.images) != 1:
        p.error("--box describes one face of one image; give a single image")
    return args


def image_files(items) -> list[Path]:
    files = []
    for item in map(Path, items):
        if item.is_dir():
            files += sorted(f for f in item.iterdir() if f.suffix.lower() in IMAGE_SUFFIXES)
        else:
            files.append(item)
    return files


def crop(image: np.ndarray, box, size: int) -> np.ndarray:
    """The square ``box`` (x0, y0, side) of ``image``, resized to ``size`` (as in training)."""
    from PIL import Image

    x0, y0, side = box
    picture = Image.fromarray(image).transform(
        (size, size), Image.Transform.EXTENT, (x0, y0, x0 + side, y0 + side),
        resample=Image.Resampling.BILINEAR)  # fmt: skip
    return np.asarray(picture, np.float32)


def predict_faces(model, image: np.ndarray, boxes: np.ndarray, batch_size: int, *,
                  flip_permutation=None) -> np.ndarray:  # fmt: skip
    """Points [F, K, 2] in pixels of ``image`` for crop boxes [F, 3]; with ``flip_permutation``
    averaged with the prediction on each mirrored face (the run's --flip-test)."""
    from landmarks.pipeline import unflip_points

    size = model.input_shape[1]
    crops = np.stack([crop(image, box, size) for box in boxes])

    def unit_points(faces):  # a direct call: Keras' predict() costs more than one face
        unit = [np.asarray(model(faces[i:i + batch_size], training=False))
                for i in range(0, len(faces), batch_size)]  # fmt: skip
        return np.concatenate(unit).reshape(len(boxes), -1, 2)

    unit = unit_points(crops)
    if flip_permutation is not None:
        unit = (unit + unflip_points(unit_points(crops[:, :, ::-1]), flip_permutation)) / 2
    return boxes[:, None, :2] + unit * boxes[:, None, 2:3]


def flip_test_permutation(config: dict) -> list[int] | None:
    """The flip permutation ``predict_faces`` averages with when the run has --flip-test."""
    from landmarks.datasets import point_spec

    if not config.get("flip_test"):
        return None
    return point_spec(config["dataset"], config.get("points")).flip_permutation


def draw_overlay(image: np.ndarray, boxes: np.ndarray, points: np.ndarray, path: Path) -> None:
    import matplotlib.pyplot as plt

    from common.plotting import save_figure

    height, width = image.shape[:2]
    fig, ax = plt.subplots(figsize=(6, 6 * height / width))
    ax.imshow(image)
    for i, ((x0, y0, side), pts) in enumerate(zip(boxes, points)):
        ax.add_patch(plt.Rectangle((x0, y0), side, side, fill=False, color="yellow", lw=1))
        ax.scatter(pts[:, 0], pts[:, 1], s=4, c="red")
        ax.text(x0, y0, f"face{i}", color="yellow", fontsize=8, va="bottom")
    ax.axis("off")
    save_figure(fig, path)


def main(argv=None) -> None:
    import keras
    import pandas as pd

    import landmarks.losses  # noqa: F401  (registers the custom objects for loading)
    import landmarks.metrics  # noqa: F401
    import landmarks.model  # noqa: F401
    from landmarks.datasets import write_pts
    from landmarks.detect import apply_mapping, detect_faces, read_rgb

    args = parse_args(argv)
    run_dir = Path(args.run)
    model_path = saved_model_path(run_dir, "landmarks/train.py")
    mapping = None
    if args.box is None:
        if not (run_dir / "box_mapping.json").exists():
            raise DataError(f"{run_dir} has no box_mapping.json (trained with --detector none); "
                            "give the face with --box x,y,w,h")  # fmt: skip
        mapping = read_json(run_dir / "box_mapping.json")
    files = image_files(args.images)
    if not files:
        raise DataError(f"no images ({'/'.join(IMAGE_SUFFIXES)}) in {' '.join(args.images)}")
    out = check_writable_folder(args.out)
    model = keras.models.load_model(model_path)
    flip = flip_test_permutation(read_json(run_dir / "config.json"))
    rows, no_face, unreadable = [], 0, 0
    for path in files:
        try:
            image = read_rgb(path)
        except Exception as exc:  # PIL raises many types for missing, truncated or foreign files
            unreadable += 1
            print(f"{path}: cannot be read ({type(exc).__name__}); skipped", file=sys.stderr)
            continue
        if args.box is not None:
            x, y, w, h = args.box
            side = max(w, h)  # the model's crops are square
            boxes = np.array([[x + (w - side) / 2, y + (h - side) / 2, side]], np.float32)
        else:
            found = detect_faces(image, detector=args.detector or mapping["detector"])
            if not len(found):
                no_face += 1
                print(f"{path}: no face found; skipped", file=sys.stderr)
                continue
            boxes = apply_mapping(found, mapping)
        points = predict_faces(model, image, boxes, args.batch_size, flip_permutation=flip)
        for i, (box, pts) in enumerate(zip(boxes, points)):
            write_pts(out / f"{path.stem}_face{i}.pts", pts)
            rows.append({"image": str(path), "face": i, "box_x": box[0], "box_y": box[1],
                         "box_side": box[2],
                         **{f"{a}{k}": v for k, p in enumerate(pts) for a, v in zip("xy", p)}})
        draw_overlay(image, boxes, points, out / f"{path.stem}_overlay.png")
    write_csv(out / "predictions.csv", pd.DataFrame(rows))
    print(f"{len(rows)} face(s) in {len(files) - no_face - unreadable} of {len(files)} image(s); "
          f"{no_face} without a face, {unreadable} unreadable; written to {out}")


if __name__ == "__main__":
    run_cli(main)
