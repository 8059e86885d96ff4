"""Train the phone price-range MLP, keep the best-validation checkpoint, score it on val and test.

    python phone_price/train.py                      # the homework's setting, seed 0
    python phone_price/train.py --head regression    # one linear neuron + MSE instead
    python phone_price/train.py --cv 5               # stratified 5-fold, mean ± std
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import accuracy_score, f1_score
from sklearn.model_selection import StratifiedKFold

from common.cli import add_data_dir_flag, fraction, positive_int, print_metrics, run_cli
from common.normalization import MODES, apply_normalization, fit_normalization, save_normalization
from common.plotting import plot_training_curves
from common.runs import (
    epoch_progress,
    finish_run,
    set_seed,
    standard_callbacks,
    start_run,
    write_json,
)
from phone_price.data import features_and_labels, phone_price_path, read_phone_csv, split_indices
from phone_price.model import HEADS, build_model, predict_classes, targets

RESULTS = Path("results/phone_price")


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    add_data_dir_flag(p)
    p.add_argument("--head", choices=HEADS, default="classification",
                   help="softmax over 4 classes + cross-entropy, or 1 linear neuron + MSE")
    p.add_argument("--normalization", choices=MODES, default="global",
                   help="input scaling fitted on the training split (see common/normalization.py)")
    p.add_argument("--epochs", type=positive_int, default=200, help="training epochs")
    p.add_argument("--batch-size", type=positive_int, default=32, help="mini-batch size")
    p.add_argument("--lr", type=float, default=0.001,
                   help="SGD learning rate (momentum 0.9, Nesterov)")
    p.add_argument("--dropout", type=float, default=0.2, help="dropout after each hidden layer")
    p.add_argument("--test-size", type=fraction, default=0.2, help="held-out test fraction")
    p.add_argument("--val-size", type=fraction, default=0.2,
                   help="validation fraction of the non-test rows")
    p.add_argument("--cv", type=int, default=0,
                   help="K>1: stratified K-fold on the non-test rows, report mean ± std")
    p.add_argument("--seed", type=int, default=0, help="seed for the split, weights and dropout")
    p.add_argument("--out", default=None,
                   help="run folder (default: results/phone_price/<head>-<normalization>-"
                        "seed<seed>)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    args = p.parse_args(argv)
    if args.cv == 1 or args.cv < 0:
        p.error(f"--cv must be 0 (off) or at least 2, got {args.cv}")
    if args.out is None:
        args.out = str(RESULTS / f"{args.head}-{args.normalization}-seed{args.seed}")
    return args


def score(model, x: np.ndarray, y: np.ndarray, split: str) -> dict:
    predicted = predict_classes(model, x)
    return {
        f"{split}_accuracy": accuracy_score(y, predicted),
        f"{split}_macro_f1": f1_score(y, predicted, average="macro"),
    }


def train_and_score(config: dict, x, y, rows: dict, run_dir: Path) -> dict:
    """Train on ``rows['train']``, checkpoint on ``rows['val']``, score the kept model everywhere.

    Writes into ``run_dir``: config.json, split.json, normalization.json, model.keras,
    history.csv, curves.png, tensorboard/, and last metrics.json.
    """
    import keras

    start_run(run_dir, config)
    write_json(run_dir / "split.json", {k: v.tolist() for k, v in rows.items()})
    set_seed(config["seed"])
    stats = fit_normalization(x[rows["train"]], config["normalization"])
    save_normalization(stats, run_dir / "normalization.json")
    xs = {k: apply_normalization(x[v], stats) for k, v in rows.items()}
    ys = {k: y[v] for k, v in rows.items()}

    head = config["head"]
    model = build_model(x.shape[1], head=head, dropout=config["dropout"], lr=config["lr"])
    callbacks = standard_callbacks(run_dir, monitor="val_accuracy", mode="max")
    if not config.get("quiet"):
        callbacks.append(epoch_progress())
    model.fit(
        xs["train"], targets(ys["train"], head),
        validation_data=(xs["val"], targets(ys["val"], head)),
        epochs=config["epochs"], batch_size=config["batch_size"],
        shuffle=True, callbacks=callbacks, verbose=0,
    )  # fmt: skip
    history = pd.read_csv(run_dir / "history.csv")
    plot_training_curves(history, ["loss", "accuracy"], run_dir / "curves.png",
                         title=f"phone price: {head} head, {config['normalization']} normalization")

    best = keras.models.load_model(run_dir / "model.keras")
    metrics = {}
    for split in rows:
        metrics.update(score(best, xs[split], ys[split], split))
    metrics["best_epoch"] = int(history["val_accuracy"].idxmax()) + 1
    finish_run(run_dir, metrics)
    return metrics


def cross_validate(config: dict, x, y, rows: dict, run_dir: Path) -> dict:
    """K folds over the non-test rows; each fold's model is also scored on the same test rows."""
    dev = np.sort(np.concatenate([rows["train"], rows["val"]]))
    folds = StratifiedKFold(config["cv"], shuffle=True, random_state=config["seed"])
    per_fold = []
    for k, (train, val) in enumerate(folds.split(dev, y[dev])):
        fold_rows = {"train": dev[train], "val": dev[val], "test": rows["test"]}
        print(f"fold {k + 1}/{config['cv']}", file=sys.stderr)
        per_fold.append(train_and_score(config, x, y, fold_rows, run_dir / f"fold{k}"))
    frame = pd.DataFrame(per_fold)
    start_run(run_dir, config)
    metrics = {}
    for name in ["val_accuracy", "val_macro_f1", "test_accuracy", "test_macro_f1"]:
        metrics[f"{name}_mean"] = frame[name].mean()
        metrics[f"{name}_std"] = frame[name].std(ddof=1)
    finish_run(run_dir, metrics)
    return metrics


def run(config: dict) -> dict:
    """Train one configuration (a dict of the flags) and return its metrics."""
    frame = read_phone_csv(phone_price_path("train", config.get("data_dir")))
    x, y = features_and_labels(frame)
    rows = split_indices(y, config["seed"], config["test_size"], config["val_size"])
    run_dir = Path(config["out"])
    if config.get("cv", 0) > 1:
        return cross_validate(config, x, y, rows, run_dir)
    return train_and_score(config, x, y, rows, run_dir)


def main(argv=None) -> None:
    config = vars(parse_args(argv))
    print_metrics(config["out"], run(config))


if __name__ == "__main__":
    run_cli(main)
