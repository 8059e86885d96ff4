"""Score a saved landmark model: NME, failure rates, CED curve, per-landmark error, a face grid.

    python landmarks/evaluate.py results/landmarks/ibug68-mobilenetv2-128px
    python landmarks/evaluate.py RUN --subsets afw            # any folder of .jpg + .pts
    python landmarks/evaluate.py RUN --boxes detector         # crops from the face detector

Without --subsets/--dataset it scores the run's own validation faces, as its split.json lists
them. The mean-shape baseline (the average training face, in crop coordinates) is always scored
beside the model.

``--boxes truth`` (the default, as in the literature) crops each face around its true points;
``--boxes detector`` crops it where the run's detector finds it (mapped with the run's
box_mapping.json) and reports the detection rate, the NME over the detected faces, and the NME
over all faces, the undetected ones scored on the fallback box: the centred square of the size
that training faces most often fill.
"""

from __future__ import annotations

import argparse

from common.cli import (
    add_data_dir_flag,
    new_parser,
    positive_int,
    print_metrics,
    run_cli,
)
from common.errors import UserError


def parse_args(argv=None) -> argparse.Namespace:
    p = new_parser(__doc__)
    p.add_argument("run", help="run folder written by landmarks/train.py")
    add_data_dir_flag(p)
    p.add_argument("--dataset", choices=("ibug68", "muct"), default=None,
                   help="score another data set instead of the run's validation split")
    p.add_argument("--subsets", default=None, help="ibug68 folders to score (comma-separated)")
    p.add_argument("--skip-bad", action="store_true", help="skip bad rows/images")
    p.add_argument("--batch-size", type=positive_int, default=64,
                   help="prediction batch size (training scores at 64: the same figures, bit "
                        "for bit)")
    p.add_argument("--out", default=None, help="folder for the figures and evaluation JSON "
                                               "(default: <run>/evaluate, which git ignores)")
    p.add_argument("--boxes", choices=("truth", "detector"), default="truth",
                   help="face crops around the true points, or from the face detector")
    p.add_argument("--flip-test", choices=("on", "off"), default=None,
                   help="average each face with its mirror image (default: as the run was "
                        "trained, its --flip-test)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    return p.parse_args(argv)


def main(argv=None) -> None:
    args = parse_args(argv)

    from common.files import write_json
    from common.runs import check_writable_folder
    from landmarks.datasets import read_dataset, select_points
    from landmarks.run import LandmarkRun, result_name, result_title
    from landmarks.scoring import score_faces, write_figures

    run = LandmarkRun.open(args.run)
    run_dir, config, shape = run.path, run.config, run.mean_shape
    data_dir = args.data_dir or config.get("data_dir")
    if args.dataset or args.subsets:
        dataset = args.dataset or config["dataset"]
        if args.subsets and dataset != "ibug68":
            raise UserError(f"--subsets names ibug68 folders, but {dataset} is one folder; score "
                            "it without --subsets, or pass --dataset ibug68")
        subsets = (args.subsets or config["subsets"]).split(",")
        data = read_dataset(dataset, data_dir, subsets, skip_bad=args.skip_bad)
        data = select_points(data, config.get("points"))
        split = f"{dataset}_{'_'.join(subsets)}" if dataset == "ibug68" else dataset
    else:
        split, data = "val", run.faces("val", data_dir)
    trained_flip = config.get("flip_test", False)
    flip = trained_flip if args.flip_test is None else args.flip_test == "on"
    predictor = run.predictor(flip_test=flip, batch_size=args.batch_size)
    if data.spec.num_points != run.spec.num_points:
        raise UserError(f"the model predicts {run.spec.num_points} points but {split} has "
                        f"{data.spec.num_points}; score it on the same markup")
    out = check_writable_folder(args.out or run_dir / "evaluate")
    detector = args.boxes == "detector"
    if detector:
        run.require_box_mapping()
    # not as trained: its own name, its own files
    title = result_title(run_dir.name, split, flip=flip, boxes=args.boxes)
    split = result_name(split, flip=None if flip == trained_flip else flip, boxes=args.boxes)
    result, pred, cache = score_faces(predictor, data, mean_shape=shape, split=split,
                                      detector=detector, progress=not args.quiet)
    print_metrics(run_dir, result)  # before anything is written: a write error loses nothing
    write_figures(pred, cache, mean_shape=shape, split=split, out=out,
                  show_faces=data.spec.show_faces, title=title)
    write_json(out / f"evaluation_{split}.json", result)


def cli() -> None:
    """The console entry point (pyproject.toml's [project.scripts])."""
    run_cli(main)


if __name__ == "__main__":
    cli()
