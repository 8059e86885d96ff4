"""Train a facial-landmark regressor and score its best checkpoint on the validation faces.

    python landmarks/train.py                                  # CPU preset: small CNN, 128 px
    python landmarks/train.py --preset gpu                     # ResNet50, ImageNet weights, 224 px
    python landmarks/train.py --dataset muct --loss wing
    python landmarks/train.py --head soft-argmax --points 5       # heatmap head, 5 points

The validation split is person-disjoint (MUCT: by subject; 300-W: by source photo). The
checkpoint with the lowest validation NME is kept; an interrupted run continues exactly where it
stopped when the same command is run again.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from common.cli import (
    add_run_flags,
    fraction,
    new_parser,
    number_in,
    positive_float,
    positive_int,
    run_cli,
    train_or_report,
)
from common.errors import UserError
from common.paths import repo_path
from common.runs import start_run, write_json
from landmarks.datasets import DATASETS, POINT_COUNTS
from landmarks.options import BACKBONES, HEADS, LOSS_NAMES, MIN_IMAGE_SIZE, POOLINGS, check_weights

RESULTS = repo_path("results", "landmarks")
# One flag away: `--preset gpu` is the homework's ResNet50 setting; `cpu` trains here in about
# three quarters of an hour (its levers are measured one by one by landmarks/ablation.py).
PRESETS = {
    "cpu": {"backbone": "small_cnn", "weights": "none", "image_size": 128, "pooling": "flatten",
            "head": "soft-argmax", "heatmap_stride": 8, "rotation": 0.0, "schedule": "cosine",
            "epochs": 50, "lr": 1e-3, "flip_test": True},
    "gpu": {"backbone": "resnet50", "weights": "imagenet", "image_size": 224, "pooling": "avg",
            "head": "sigmoid", "heatmap_stride": 8, "rotation": 0.0, "schedule": "plateau",
            "epochs": 60, "lr": 2.5e-4, "flip_test": False},
}


def parse_args(argv=None) -> argparse.Namespace:
    p = new_parser(__doc__)
    p.add_argument("--preset", choices=PRESETS, default="cpu",
                   help=f"defaults for the flags below marked (preset): {PRESETS}")
    p.add_argument("--dataset", choices=DATASETS, default="ibug68", help="data set")
    p.add_argument("--subsets", default="afw,helen_train",
                   help="ibug68: comma-separated folders under <data root>/ibug_68")
    p.add_argument("--skip-bad", action="store_true",
                   help="skip bad rows/images (listed in <run>/data_report.json), not stop")
    p.add_argument("--val-fraction", type=fraction, default=0.2,
                   help="fraction of subjects held out for validation")
    p.add_argument("--image-size", type=positive_int, help="input size in pixels (preset)")
    p.add_argument("--backbone", choices=BACKBONES, help="feature extractor (preset)")
    p.add_argument("--weights", help="none, imagenet, or a .h5/.keras file (preset)")
    p.add_argument("--pooling", choices=POOLINGS, help="avg (homework) or flatten (preset)")
    p.add_argument("--head", choices=HEADS,
                   help="output head (landmarks/heads.py): Dense(2K) with sigmoid, tanh, "
                        "linear or linear in pixels, or soft-argmax heatmaps (preset)")
    p.add_argument("--heatmap-stride", type=int, choices=(4, 8),
                   help="soft-argmax: heatmaps at stride 8 (one upsampling of the stride-16 map) "
                        "or 4 (a light decoder with skip connections; small_cnn) (preset)")
    p.add_argument("--rotation", type=number_in(float, 0, 90),
                   help="training augmentation: turn each face by up to this many degrees, "
                        "points with the pixels (preset)")
    p.add_argument("--points", type=int, choices=POINT_COUNTS, default=None,
                   help="the data set's own markup (68 for ibug68, 76 for muct; the default) "
                        "or 5: eye centres, nose tip, mouth corners")
    p.add_argument("--width", type=positive_int, default=32,
                   help="small_cnn: channels of its first stage (doubling in each of four)")
    p.add_argument("--loss", choices=LOSS_NAMES, default="masked_euclidean", help="loss")
    p.add_argument("--epochs", type=positive_int, help="training epochs (preset)")
    p.add_argument("--batch-size", type=positive_int, default=16, help="mini-batch size")
    p.add_argument("--lr", type=positive_float,
                   help="Adam learning rate (preset; homework: 2.5e-4)")
    p.add_argument("--schedule", choices=("plateau", "cosine"),
                   help="plateau: halve the rate after 5 epochs without a better val NME, stop "
                        "after 12; cosine: decay to 0 over --epochs, no early stop (preset)")
    p.add_argument("--flip-test", action=argparse.BooleanOptionalAction,
                   help="score (and predict) the average of each face and its mirror image "
                        "(preset)")
    p.add_argument("--no-augment", action="store_true", help="no jitter, flip or brightness")
    p.add_argument("--detector", choices=("hog", "cnn", "none"), default="hog",
                   help="face detector whose box → crop mapping is learned on the training faces "
                        "(box_mapping.json, for predict.py and evaluate.py --boxes detector); "
                        "training jitters the box as far as that detector errs")
    p.add_argument("--strategy", choices=["default", "mirrored"], default="default",
                   help="mirrored: tf.distribute.MirroredStrategy over all local GPUs")
    add_run_flags(p, out_help="run folder (default: results/landmarks/<dataset>-<backbone>-"
                              "<size>px)")
    args = p.parse_args(argv)
    for key, value in PRESETS[args.preset].items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    if args.image_size < MIN_IMAGE_SIZE[args.backbone]:
        p.error(f"argument --image-size: {args.backbone} needs at least "
                f"{MIN_IMAGE_SIZE[args.backbone]} px, got {args.image_size}")
    try:
        check_weights(args.weights)
    except ValueError as exc:
        p.error(f"argument {exc}")
    if args.backbone == "small_cnn" and args.weights == "imagenet":
        p.error("argument --weights: small_cnn has no ImageNet weights; use none or a file")
    own = DATASETS[args.dataset].num_points
    if args.points not in (None, 5, own):
        p.error(f"argument --points: {args.dataset} has {own} points; use {own} or 5")
    if args.out is None:
        args.out = str(RESULTS / f"{args.dataset}-{args.backbone}-{args.image_size}px")
    return args


def learn_box_mapping(train_set, run_dir, *, detector: str, jitter: dict) -> dict:
    """Save the detector → crop box mapping of the training faces; the jitter to train with."""
    from landmarks.detect import learn_mapping
    from landmarks.pipeline import face_boxes

    try:
        mapping = learn_mapping(train_set.paths, face_boxes(train_set.points, train_set.visible),
                                detector=detector)
    except UserError as exc:  # e.g. drawn test faces: the model trains, predict needs --box
        print(f"warning: no box mapping ({exc})", file=sys.stderr)
        return jitter
    print(f"{detector} detector: {mapping['detected']} of {mapping['faces']} training faces found",
          file=sys.stderr)
    jitter = {"scale_jitter": max(jitter["scale_jitter"], mapping["scale_p90"]),
              "shift_jitter": max(jitter["shift_jitter"], mapping["shift_p90"])}
    write_json(Path(run_dir) / "box_mapping.json", {**mapping, "training_jitter": jitter})
    return jitter


def learning_rate(config: dict, steps_per_epoch: int):
    """Adam's learning rate (a number or a schedule) and the callbacks that go with it."""
    import keras

    if config["schedule"] == "cosine":
        return keras.optimizers.schedules.CosineDecay(
            config["lr"], decay_steps=config["epochs"] * steps_per_epoch), []
    return config["lr"], [
        keras.callbacks.ReduceLROnPlateau("val_nme", factor=0.5, patience=5, mode="min",
                                          min_lr=1e-6),
        keras.callbacks.EarlyStopping("val_nme", patience=12, mode="min"),
    ]


def run(config: dict) -> dict:
    """Train one configuration (the flags as a dict); returns the kept checkpoint's metrics."""
    import keras
    import tensorflow as tf

    from common import lifecycle
    from landmarks.datasets import load_split, relative_paths
    from landmarks.inference import Predictor
    from landmarks.losses import LOSSES
    from landmarks.metrics import NME, mean_shape
    from landmarks.model import build_model
    from landmarks.pipeline import cache_crops, crop_targets, make_dataset, steps_per_epoch
    from landmarks.scoring import evaluate_cache

    train_set, val_set = load_split(config)  # before the run folder: bad data leaves none
    if len(train_set) < config["batch_size"]:
        raise UserError(f"{len(train_set)} training faces do not fill one batch of "
                        f"{config['batch_size']}; lower --batch-size or --val-fraction")
    run_dir = start_run(config["out"], config, overwrite=config.get("overwrite", False))
    write_json(run_dir / "data_report.json", {"left_out": train_set.left_out,
                                              "skipped": train_set.skipped})
    write_json(run_dir / "split.json", {
        "paths": "relative to the data root",
        "train": relative_paths(train_set, config.get("data_dir")),
        "val": relative_paths(val_set, config.get("data_dir"))})
    lifecycle.set_seed(config["seed"])
    size, batch, progress = config["image_size"], config["batch_size"], not config.get("quiet")
    train_cache = cache_crops(train_set, size, progress=progress,
                              label=f"caching the {len(train_set)} training faces")
    val_cache = cache_crops(val_set, size, progress=progress,
                            label=f"caching the {len(val_set)} validation faces")
    start_shape = mean_shape(crop_targets(train_cache), train_cache.visible)
    write_json(run_dir / "mean_shape.json", {"points": start_shape})  # evaluate needs only this
    jitter = {"scale_jitter": 0.1, "shift_jitter": 0.08}
    if config["detector"] != "none":
        jitter = learn_box_mapping(train_set, run_dir, detector=config["detector"], jitter=jitter)

    def train_batches(first_epoch: int):
        return make_dataset(train_cache, image_size=size, batch_size=batch, training=True,
                            seed=config["seed"], epochs=config["epochs"], first_epoch=first_epoch,
                            augment=not config["no_augment"], rotation=config["rotation"],
                            **jitter)

    strategy = (tf.distribute.MirroredStrategy() if config["strategy"] == "mirrored"
                else tf.distribute.get_strategy())
    with strategy.scope():
        model = build_model(train_set.spec.num_points, size, backbone=config["backbone"],
                            weights=config["weights"], head=config["head"],
                            pooling=config["pooling"], width=config["width"],
                            heatmap_stride=config["heatmap_stride"],
                            initial_points=start_shape)
        steps = steps_per_epoch(train_cache, batch)
        rate, schedule = learning_rate(config, steps)
        model.compile(optimizer=keras.optimizers.Adam(rate), loss=LOSSES[config["loss"]],
                      metrics=[NME(train_set.spec.eye_points)])
    best, history = lifecycle.fit_and_record(
        model, train_batches, make_dataset(val_cache, image_size=size, batch_size=batch,
                                           training=False),
        run_dir, epochs=config["epochs"], steps_per_epoch=steps,
        monitor="val_nme", mode="min", seed=config["seed"], callbacks=schedule,
        quiet=not progress, curves=("loss", "nme"),
        title=f"{config['dataset']}: {config['backbone']}, {config['head']} head, {size} px",
    )
    flip = train_set.spec.flip_permutation if config["flip_test"] else None
    metrics = evaluate_cache(Predictor(best, flip_permutation=flip), val_cache,
                             mean_shape=start_shape, split="val", out=run_dir,
                             show_faces=train_set.spec.show_faces)
    metrics["best_epoch"] = int(history["best_epoch"].iloc[0])
    metrics["epochs_run"] = len(history)
    return lifecycle.finish(run_dir, metrics)


def main(argv=None) -> None:
    config = vars(parse_args(argv))
    train_or_report(config, run)


def cli() -> None:
    """The console entry point (pyproject.toml's [project.scripts])."""
    run_cli(main)


if __name__ == "__main__":
    cli()
