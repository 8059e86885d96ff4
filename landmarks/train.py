"""Train a facial-landmark regressor and score its best checkpoint on the validation faces.

    python landmarks/train.py                                  # CPU preset: light CNN, 128 px
    python landmarks/train.py --preset gpu                     # ResNet50, ImageNet weights, 224 px
    python landmarks/train.py --dataset muct --loss wing

The validation split is person-disjoint (MUCT: by subject; 300-W: by source photo). The
checkpoint with the lowest validation NME is kept; BackupAndRestore lets an interrupted run
continue when the same command is run again.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import keras
import pandas as pd
import tensorflow as tf

from common.cli import add_data_dir_flag, fraction, positive_int, print_metrics, run_cli
from common.plotting import plot_training_curves
from common.runs import (
    epoch_progress,
    finish_run,
    set_seed,
    standard_callbacks,
    start_run,
    write_json,
)
from landmarks.datasets import read_dataset, split_by_subject
from landmarks.losses import LOSSES
from landmarks.metrics import NME, mean_shape
from landmarks.model import BACKBONES, HEAD_ACTIVATIONS, POOLINGS, build_model
from landmarks.pipeline import cache_crops, crop_targets, make_dataset

RESULTS = Path("results/landmarks")
# One flag away: `--preset gpu` is the homework's ResNet50 setting; `cpu` runs here in minutes.
PRESETS = {
    "cpu": {"backbone": "small_cnn", "weights": "none", "image_size": 128, "pooling": "flatten",
            "epochs": 80, "lr": 2.5e-4},
    "gpu": {"backbone": "resnet50", "weights": "imagenet", "image_size": 224, "pooling": "avg",
            "epochs": 60, "lr": 2.5e-4},
}  # fmt: skip


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    add_data_dir_flag(p)
    p.add_argument("--preset", choices=PRESETS, default="cpu",
                   help=f"defaults for the flags below marked (preset): {PRESETS}")
    p.add_argument("--dataset", choices=["ibug68", "muct"], default="ibug68", help="data set")
    p.add_argument("--subsets", default="afw,helen_train",
                   help="ibug68: comma-separated folders under <data root>/ibug_68")
    p.add_argument("--skip-bad", action="store_true",
                   help="skip (and count) bad rows/images instead of stopping")
    p.add_argument("--val-fraction", type=fraction, default=0.2,
                   help="fraction of subjects held out for validation")
    p.add_argument("--image-size", type=positive_int, help="input size in pixels (preset)")
    p.add_argument("--backbone", choices=BACKBONES, help="feature extractor (preset)")
    p.add_argument("--weights", help="none, imagenet, or a .h5/.keras file (preset)")
    p.add_argument("--pooling", choices=POOLINGS, help="avg (homework) or flatten (preset)")
    p.add_argument("--head-activation", choices=HEAD_ACTIVATIONS, default="sigmoid",
                   help="activation of the Dense(2K) output")
    p.add_argument("--loss", choices=list(LOSSES), default="masked_euclidean", help="loss")
    p.add_argument("--epochs", type=positive_int, help="training epochs (preset)")
    p.add_argument("--batch-size", type=positive_int, default=16, help="mini-batch size")
    p.add_argument("--lr", type=float, help="Adam learning rate (preset; homework: 2.5e-4)")
    p.add_argument("--no-augment", action="store_true", help="no jitter, flip or brightness")
    p.add_argument("--strategy", choices=["default", "mirrored"], default="default",
                   help="mirrored: tf.distribute.MirroredStrategy over all local GPUs")
    p.add_argument("--seed", type=int, default=0, help="seed for split, weights, augmentation")
    p.add_argument("--out", default=None,
                   help="run folder (default: results/landmarks/<dataset>-<backbone>-<size>px)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    args = p.parse_args(argv)
    for key, value in PRESETS[args.preset].items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    if args.out is None:
        args.out = str(RESULTS / f"{args.dataset}-{args.backbone}-{args.image_size}px")
    return args


def load_split(config: dict):
    """The data set, read and split by subject: (train LandmarkSet, val LandmarkSet)."""
    data = read_dataset(config["dataset"], config.get("data_dir"),
                        config["subsets"].split(","), config.get("skip_bad", False))  # fmt: skip
    train_rows, val_rows = split_by_subject(data.subjects, config["val_fraction"], config["seed"])
    return data.subset(train_rows), data.subset(val_rows)


def run(config: dict) -> dict:
    """Train one configuration (the flags as a dict); returns the kept checkpoint's metrics."""
    from landmarks.evaluate import evaluate_cache

    train_set, val_set = load_split(config)  # before the run folder: bad data leaves none
    run_dir = start_run(config["out"], config)
    set_seed(config["seed"])
    write_json(run_dir / "split.json", {"train": train_set.paths, "val": val_set.paths})
    size, progress = config["image_size"], not config.get("quiet")
    train_cache = cache_crops(train_set, size, progress=progress)
    val_cache = cache_crops(val_set, size, progress=progress)
    train_ds = make_dataset(train_cache, size, config["batch_size"], training=True,
                            seed=config["seed"], augment=not config["no_augment"])
    val_ds = make_dataset(val_cache, size, config["batch_size"], training=False)

    strategy = (tf.distribute.MirroredStrategy() if config["strategy"] == "mirrored"
                else tf.distribute.get_strategy())  # fmt: skip
    start_shape = mean_shape(crop_targets(train_cache), train_cache.visible)
    with strategy.scope():
        model = build_model(train_set.points.shape[1], size, config["backbone"], config["weights"],
                            config["head_activation"], config["pooling"], start_shape)  # fmt: skip
        model.compile(optimizer=keras.optimizers.Adam(config["lr"]), loss=LOSSES[config["loss"]],
                      metrics=[NME(train_set.eye_points)])  # fmt: skip
    callbacks = standard_callbacks(run_dir, monitor="val_nme", mode="min") + [
        keras.callbacks.ReduceLROnPlateau("val_nme", factor=0.5, patience=5, mode="min",
                                          min_lr=1e-6),
        keras.callbacks.EarlyStopping("val_nme", patience=12, mode="min"),
    ]
    if progress:
        callbacks.append(epoch_progress())
    model.fit(train_ds, validation_data=val_ds, epochs=config["epochs"], callbacks=callbacks,
              steps_per_epoch=math.ceil(len(train_set) / config["batch_size"]), shuffle=False,
              verbose=0)

    history = pd.read_csv(run_dir / "history.csv")
    plot_training_curves(history, ["loss", "nme"], run_dir / "curves.png",
                         title=f"{config['dataset']}: {config['backbone']}, {size} px")
    best = keras.models.load_model(run_dir / "model.keras")
    metrics = evaluate_cache(best, val_cache, train_cache, "val", run_dir,
                             config["batch_size"], show_faces=config["dataset"] != "muct")
    metrics["best_epoch"] = int(history["val_nme"].idxmin()) + 1
    metrics["epochs_run"] = len(history)
    finish_run(run_dir, metrics)
    return metrics


def main(argv=None) -> None:
    config = vars(parse_args(argv))
    print_metrics(config["out"], run(config))


if __name__ == "__main__":
    run_cli(main)
