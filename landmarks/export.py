"""Export a trained landmark model for serving: a TensorFlow SavedModel or a TFLite file.

    python landmarks/export.py results/landmarks/ibug68-mobilenetv2-128px --format tflite
    python landmarks/export.py RUN --format savedmodel --out exported/

The exported model takes face crops and gives points: crops [B, S, S, 3] float32 RGB 0..255 (any
batch size) in, points [B, 2K] ``[x0, y0, x1, y1, ...]`` in crop units out (signature output
``points``), with the run's flip test inside (each crop and its mirror image in one batch, the
mirror's points mapped back and averaged), so it gives predict.py's points. The crop itself and
the detector are not inside: the model card (MODEL_CARD.md) gives the crop as a formula, from a
face box to the pixels, and the way back. After writing, the export is checked against the
Keras predictor on the run's own validation crops (or random crops when the data is not here):
the largest difference is printed in pixels of the crop, and more than 0.01 px is an error.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from common.cli import add_data_dir_flag, new_parser, run_cli
from common.errors import UserError
from landmarks.serving import export_savedmodel, export_tflite, run_exported

FORMATS = ("savedmodel", "tflite")
TOLERANCE_PX = 0.01  # pixels of the crop


def parse_args(argv=None) -> argparse.Namespace:
    p = new_parser(__doc__)
    p.add_argument("run", help="run folder written by landmarks/train.py")
    p.add_argument("--format", choices=FORMATS, default="savedmodel", help="what to write")
    p.add_argument("--out", default=None,
                   help="folder to write into (default: <run>/export); the SavedModel is "
                        "<out>/savedmodel/, the TFLite file <out>/model.tflite")
    add_data_dir_flag(p)
    return p.parse_args(argv)


def check_crops(run_dir: Path, size: int, data_dir=None):
    """A few real validation crops of the run, or random ones where the data is not here."""
    import numpy as np

    from landmarks.pipeline import cache_crops
    from landmarks.run import LandmarkRun
    from landmarks.scoring import face_crops

    try:
        faces = LandmarkRun.open(run_dir).faces("val", data_dir)
        return face_crops(cache_crops(faces.subset(range(8)), size, progress=False), size)
    except UserError:
        return np.random.default_rng(0).uniform(0, 255, (4, size, size, 3)).astype(np.float32)


def main(argv=None) -> None:
    args = parse_args(argv)
    import numpy as np

    from landmarks.inference import Predictor

    run_dir = Path(args.run)
    predictor = Predictor.from_run(run_dir)
    if not isinstance(predictor, Predictor):  # a cascade cuts its second crop from the image
        raise UserError(f"{run_dir} is a second stage; an export is one network on crops: "
                        "export its first stage and this run each, and align between them as "
                        "landmarks/cascade.py does")
    from common.runs import check_writable_folder, lock_run_folder

    out = check_writable_folder(Path(args.out) if args.out else run_dir / "export")
    lock_run_folder(out)  # two exports into one folder cannot interleave
    write = export_savedmodel if args.format == "savedmodel" else export_tflite
    path = write(predictor.model, out / ("savedmodel" if args.format == "savedmodel"
                                         else "model.tflite"),
                 flip_permutation=predictor.flip_permutation)
    crops = check_crops(run_dir, predictor.size, args.data_dir)
    expected = predictor.unit_points(crops).reshape(len(crops), -1)
    difference = float(np.abs(run_exported(path, args.format, crops) - expected).max())
    difference_px = difference * predictor.size
    flip = "with" if predictor.flip_permutation is not None else "without"
    print(f"wrote {path} (crops [B, {predictor.size}, {predictor.size}, 3] in, points in crop "
          f"units out, {flip} the flip test); largest difference from predict.py's points on "
          f"{len(crops)} crops: {difference_px:.4f} px of the crop")
    if difference_px > TOLERANCE_PX:
        raise UserError(f"the exported model differs from predict.py by {difference_px:.4f} px "
                        f"(more than {TOLERANCE_PX}); do not use {path}", exit_code=1)


def cli() -> None:
    """The console entry point (pyproject.toml's [project.scripts])."""
    run_cli(main)


if __name__ == "__main__":
    cli()
