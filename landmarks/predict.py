"""Landmarks on your own photos: detect the faces, crop each as the model was trained, predict.

    python landmarks/predict.py photo.jpg                          # the shipped model
    python landmarks/predict.py results/landmarks/ibug68-mobilenetv2-128px photo.jpg
    python landmarks/predict.py RUN folder_of_photos/ --out points/
    python landmarks/predict.py RUN face.jpg --box 40,52,180,180 --out points/   # no detector
    python landmarks/predict.py photos/ --runtime tflite            # many photos: faster

For each face, largest first: ``<out>/<image>_face<i>.pts`` (300-W format: 1-based pixels of
the image as a viewer shows it, its EXIF orientation applied); for all of them
``<out>/predictions.csv`` (image, face, box, x0, y0, … in 0-based pixels: the first pixel's
centre is 0, 0); and an overlay PNG per image at the photo's own resolution. ``<image>`` is the
file name without its suffix, or with it where two images would share a name. The detector's
box is mapped to the model's crop with the run's box_mapping.json. An image with no face, or
one that cannot be read, is reported in one line and counted, and the others go on; the exit
status is 1 when no face was predicted at all.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

from common.cli import new_parser, positive_int, run_cli
from common.errors import UserError
from common.paths import repo_path, shipped_path
from landmarks.inference import RUNTIMES

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp")
DEFAULT_OUT = repo_path("results", "landmarks", "predictions")
SHIPPED_RUN = "ibug68-mobilenetv2-128px"
TOOL = "landmarks/predict.py"


def parse_box(text: str) -> tuple[float, float, float, float]:
    try:
        x, y, w, h = (float(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected x,y,w,h in pixels, got {text!r}") from None
    if not all(math.isfinite(v) for v in (x, y, w, h)):
        raise argparse.ArgumentTypeError(f"the box needs finite numbers, got {text}")
    if w <= 0 or h <= 0:
        raise argparse.ArgumentTypeError(f"the box needs a positive width and height, got {text}")
    return x, y, w, h


def parse_args(argv=None) -> argparse.Namespace:
    p = new_parser(__doc__)
    p.add_argument("items", nargs="+", metavar="[RUN] IMAGE",
                   help="a run folder written by landmarks/train.py (default: the shipped "
                        "model), then image files or folders of them")
    p.add_argument("--out", default=str(DEFAULT_OUT),
                   help="folder for the .pts files, CSV and overlays: new, empty, or one this "
                        "script wrote (its earlier outputs are replaced; a folder holding any "
                        "other file is refused)")
    p.add_argument("--box", type=parse_box, default=None, metavar="X,Y,W,H",
                   help="the face box of a single image (skips detection; the landmark box "
                        "the model was trained on: a square around the face and its jaw)")
    p.add_argument("--detector", choices=("hog", "cnn"), default=None,
                   help="override the run's detector (default: the one of its box mapping)")
    p.add_argument("--batch-size", type=positive_int, default=32, help="faces per model call")
    p.add_argument("--runtime", choices=RUNTIMES, default="keras",
                   help="run the model through Keras, or convert it first (some seconds) to "
                        "the TFLite interpreter (XNNPACK), faster per face; same points within "
                        "0.01 px of the crop")
    args = p.parse_args(argv)
    first = Path(args.items[0])
    is_run = (first / "config.json").is_file()
    args.run = str(first) if is_run else str(shipped_path("landmarks", SHIPPED_RUN))
    args.images = args.items[1:] if is_run else args.items
    if not args.images:
        p.error("give at least one image after the run folder")
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


def output_names(files: list[Path]) -> list[str]:
    """A distinct name per image: its stem, or where stems repeat its name, or (same name in
    two folders) the name with its folders joined by ``_``."""
    def unique(key):
        names = [key(f) for f in files]
        return all(names.count(n) == 1 for n in names), names

    for key in (lambda f: f.stem, lambda f: f.name,
                lambda f: "_".join(f.resolve().parts[1:]).replace(".", "_")):
        distinct, names = unique(key)
        if distinct:
            return names
    raise UserError("the same image is given twice; give each image once")


def draw_overlay(image, boxes, points, path: Path) -> None:
    """Boxes and points drawn on the photo at its own resolution."""
    import matplotlib.pyplot as plt

    from common.plotting import save_figure
    from landmarks.formats import IMSHOW_ORIGIN, to_file_convention

    height, width = image.shape[:2]
    dpi = 100
    fig = plt.figure(figsize=(width / dpi, height / dpi), dpi=dpi)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.imshow(image)
    marker = max(1.0, width / 300)
    for i, (box, pts) in enumerate(zip(boxes, points)):
        (x0, y0), side = to_file_convention(box[:2], IMSHOW_ORIGIN), box[2]
        pts = to_file_convention(pts, IMSHOW_ORIGIN)
        ax.add_patch(plt.Rectangle((x0, y0), side, side, fill=False, color="#56B4E9",
                                   lw=marker / 2))
        ax.scatter(pts[:, 0], pts[:, 1], s=marker**2, c="#E69F00")
        ax.text(x0, y0, f"face{i}", color="#56B4E9", fontsize=max(8, width / 80), va="bottom")
    ax.axis("off")
    save_figure(fig, path, dpi=dpi, tight=False)


def main(argv=None) -> None:
    args = parse_args(argv)
    files = image_files(args.images)
    if not files:
        raise UserError(f"no images ({'/'.join(IMAGE_SUFFIXES)}) in {' '.join(args.images)}")
    import pandas as pd

    from common.files import write_csv
    from common.outputs import OutputFolder
    from landmarks import geometry
    from landmarks.formats import CSV_ORIGIN, to_file_convention, write_pts
    from landmarks.run import LandmarkRun

    run = LandmarkRun.open(args.run)
    if args.box is None and run.box_mapping is None:
        raise UserError(f"{args.run} has no box_mapping.json (trained with --detector none); "
                        "give the face with --box x,y,w,h")
    predictor = run.predictor(batch_size=args.batch_size, runtime=args.runtime)
    folder = OutputFolder.open(args.out, tool=TOOL)  # before anything is deleted or written
    folder.clear()
    out = folder.path
    rows, no_face, unreadable = [], 0, 0
    boxes = None if args.box is None else geometry.square_boxes(args.box)
    found = predictor.predict_files(files, boxes=boxes, detector=args.detector)
    for result, name in zip(found, output_names(files)):
        if result.problem is not None:
            no_face += result.image is not None
            unreadable += result.image is None
            print(f"{result.path}: {result.problem}; skipped", file=sys.stderr)
            continue
        *pts_paths, overlay = folder.declare(
            *(f"{name}_face{i}.pts" for i in range(len(result.boxes))), f"{name}_overlay.png")
        for i, (box, pts, pts_path) in enumerate(zip(result.boxes, result.points, pts_paths)):
            write_pts(pts_path, pts)
            corner = to_file_convention(box[:2], CSV_ORIGIN)
            pixel = to_file_convention(pts, CSV_ORIGIN)
            rows.append({"image": str(result.path), "face": i, "box_x": corner[0],
                         "box_y": corner[1], "box_side": box[2],
                         **{f"{a}{k}": v for k, p in enumerate(pixel) for a, v in zip("xy", p)}})
        draw_overlay(result.image, result.boxes, result.points, overlay)
    if rows:
        write_csv(*folder.declare("predictions.csv"), pd.DataFrame(rows))
    folder.seal()
    print(f"{len(rows)} face(s) in {len(files) - no_face - unreadable} of {len(files)} image(s); "
          f"{no_face} without a face, {unreadable} unreadable; written to {out}")
    if not rows:
        raise UserError("no face was predicted (see the lines above)", exit_code=1)


def cli() -> None:
    """The console entry point (pyproject.toml's [project.scripts])."""
    run_cli(main)


if __name__ == "__main__":
    cli()
