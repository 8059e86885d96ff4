"""Export a trained landmark model for serving: a TensorFlow SavedModel or a TFLite file.

    python landmarks/export.py results/landmarks/ibug68-mobilenetv2-128px --format tflite
    python landmarks/export.py RUN --format savedmodel --out exported/

The exported model takes what the Keras model takes (RGB crops [B, S, S, 3], float32 0..255,
cut with landmarks.geometry as predict.py cuts them) and gives the same [B, 2K] points in crop
units; the flip test, the detector and the crop are not inside it. After writing, the export is
checked against the Keras model on the run's own validation crops (or random crops when the data
is not here): the largest difference is printed, and more than 1e-4 is an error.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from common.cli import add_data_dir_flag, new_parser, run_cli
from common.errors import UserError

FORMATS = ("savedmodel", "tflite")
TOLERANCE = 1e-4


def parse_args(argv=None) -> argparse.Namespace:
    p = new_parser(__doc__)
    p.add_argument("run", help="run folder written by landmarks/train.py")
    p.add_argument("--format", choices=FORMATS, default="savedmodel", help="what to write")
    p.add_argument("--out", default=None,
                   help="folder to write into (default: <run>/export); the SavedModel is "
                        "<out>/savedmodel/, the TFLite file <out>/model.tflite")
    add_data_dir_flag(p)
    return p.parse_args(argv)


def export_savedmodel(model, folder: Path) -> Path:
    model.export(str(folder), format="tf_saved_model", verbose=False)
    return folder


def export_tflite(model, path: Path) -> Path:
    import tensorflow as tf

    from common.runs import atomic_path

    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    flat = converter.convert()
    atomic_path(path, lambda tmp: tmp.write_bytes(flat))
    return path


def run_exported(path: Path, fmt: str, crops):
    """The exported model's outputs for crops [B, S, S, 3] float32."""
    import numpy as np
    import tensorflow as tf

    if fmt == "savedmodel":
        loaded = tf.saved_model.load(str(path))
        return np.asarray(loaded.serve(tf.constant(crops)))
    import warnings

    with warnings.catch_warnings():  # tf.lite.Interpreter's move to LiteRT is announced
        warnings.simplefilter("ignore")
        interpreter = tf.lite.Interpreter(model_path=str(path))
    runner = interpreter.get_signature_runner()
    name = next(iter(runner.get_input_details()))
    out = []
    for crop in crops:  # the converted signature has batch 1
        result = runner(**{name: crop[None]})
        out.append(next(iter(result.values()))[0])
    return np.stack(out)


def check_crops(run_dir: Path, size: int, data_dir=None):
    """A few real validation crops of the run, or random ones where the data is not here."""
    import numpy as np

    from common.runs import read_json
    from landmarks.datasets import recorded_split
    from landmarks.inference import read_landmark_config
    from landmarks.pipeline import cache_crops
    from landmarks.scoring import face_crops

    try:
        config = {**read_landmark_config(run_dir), "data_dir": data_dir}
        faces = recorded_split(config, read_json(run_dir / "split.json"))
        return face_crops(cache_crops(faces.subset(range(8)), size, progress=False), size)
    except UserError:
        return np.random.default_rng(0).uniform(0, 255, (4, size, size, 3)).astype(np.float32)


def main(argv=None) -> None:
    args = parse_args(argv)
    import numpy as np

    from landmarks.inference import load_model, read_landmark_config

    run_dir = Path(args.run)
    read_landmark_config(run_dir)
    model = load_model(run_dir)
    from common.runs import check_writable_folder, lock_run_folder

    out = check_writable_folder(Path(args.out) if args.out else run_dir / "export")
    lock_run_folder(out)  # two exports into one folder cannot interleave
    path = (export_savedmodel(model, out / "savedmodel") if args.format == "savedmodel"
            else export_tflite(model, out / "model.tflite"))
    crops = check_crops(run_dir, int(model.input_shape[1]), args.data_dir)
    difference = float(np.abs(run_exported(path, args.format, crops)
                              - np.asarray(model(crops, training=False))).max())
    print(f"wrote {path}; largest difference from the Keras model on {len(crops)} crops: "
          f"{difference:.2e}")
    if difference > TOLERANCE:
        raise UserError(f"the exported model differs from the Keras model by {difference:.2e} "
                        f"(more than {TOLERANCE}); do not use {path}", exit_code=1)


def cli() -> None:
    """The console entry point (pyproject.toml's [project.scripts])."""
    run_cli(main)


if __name__ == "__main__":
    cli()
