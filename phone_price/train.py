"""Train the phone price-range MLP, keep the best-validation checkpoint, score it on val and test.

    python phone_price/train.py                      # the homework's setting, seed 0
    python phone_price/train.py --head ordinal       # CORAL: 3 rank-consistent sigmoids
    python phone_price/train.py --csv my_phones.csv  # your own file in Kaggle's format
    python phone_price/train.py --cv 5               # stratified 5-fold, mean ± std
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from common.cli import (
    add_run_flags,
    dropout_rate,
    fraction,
    layer_sizes,
    new_parser,
    non_negative_int,
    number_in,
    positive_float,
    positive_int,
    run_cli,
    train_or_report,
)
from common.data import sha256_of
from common.paths import repo_path
from common.runs import finish_run, start_run, write_json
from phone_price.data import load_labeled, split_indices
from phone_price.normalization import (
    MODES,
    apply_normalization,
    fit_normalization,
    save_normalization,
)

RESULTS = repo_path("results", "phone_price")


def parse_args(argv=None) -> argparse.Namespace:
    from phone_price.options import HEADS, OPTIMIZERS

    p = new_parser(__doc__)
    p.add_argument("--csv", default=None,
                   help="your labeled CSV (Kaggle's 20 columns + price_range); default: Kaggle's "
                        "train.csv under the data root")
    p.add_argument("--head", choices=HEADS, default="classification",
                   help="softmax + cross-entropy, 1 linear neuron + MSE, or ordinal (CORAL)")
    p.add_argument("--normalization", choices=MODES, default="global",
                   help="input scaling fitted on the training split "
                        "(see phone_price/normalization.py)")
    p.add_argument("--epochs", type=positive_int, default=200, help="training epochs")
    p.add_argument("--batch-size", type=positive_int, default=32, help="mini-batch size")
    p.add_argument("--optimizer", choices=OPTIMIZERS, default="sgd",
                   help="sgd (momentum 0.9, Nesterov: the homework's) or adam")
    p.add_argument("--lr", type=positive_float, default=0.001, help="learning rate")
    p.add_argument("--hidden", type=layer_sizes, default=[300, 200, 150, 50],
                   help="hidden layer sizes, comma-separated; none: no hidden layer")
    p.add_argument("--dropout", type=dropout_rate, default=0.2,
                   help="dropout after each hidden layer, in [0, 1)")
    p.add_argument("--l2", type=number_in(float, 0), default=0.0, help="L2 penalty on kernels")
    p.add_argument("--patience", type=non_negative_int, default=0,
                   help="stop after this many epochs without a better val_accuracy (0: never)")
    p.add_argument("--test-size", type=fraction, default=0.2, help="held-out test fraction")
    p.add_argument("--val-size", type=fraction, default=0.2,
                   help="validation fraction of the non-test rows")
    p.add_argument("--cv", type=non_negative_int, default=0,
                   help="K>1: stratified K-fold on the non-test rows, report mean ± std")
    add_run_flags(p, out_help="run folder (default: results/phone_price/<head>-<normalization>-"
                              "seed<seed>)")
    args = p.parse_args(argv)
    if args.cv == 1:
        p.error("argument --cv: must be 0 (off) or at least 2, got 1")
    args.csv_sha256 = None
    if args.csv:  # the file's content, not its name, is part of the run's identity
        if not Path(args.csv).is_file():
            p.error(f"argument --csv: {args.csv} not found; give the path of a CSV in Kaggle's "
                    f"format (battery_power, blue, …, price_range)")
        args.csv_sha256 = sha256_of(args.csv)
    if args.out is None:
        args.out = str(RESULTS / f"{args.head}-{args.normalization}-seed{args.seed}")
    return args


def train_and_score(config: dict, x, y, rows: dict, run_dir) -> dict:
    """Train on ``rows['train']``, checkpoint on ``rows['val']``, score the kept model everywhere.

    Writes config.json, split.json, normalization.json, model.keras, history.csv, curves.png,
    tensorboard/, and last metrics.json into ``run_dir``.
    """
    import keras

    from common import lifecycle
    from phone_price.metrics import scores
    from phone_price.model import build_model, predict_classes, targets

    run_dir = start_run(run_dir, config, overwrite=config.get("overwrite", False))
    write_json(run_dir / "split.json", rows)  # the row indices of each split
    lifecycle.set_seed(config["seed"])
    stats = fit_normalization(x[rows["train"]], config["normalization"])
    save_normalization(stats, run_dir / "normalization.json")
    xs = {k: apply_normalization(x[v], stats) for k, v in rows.items()}
    ys = {k: y[v] for k, v in rows.items()}

    head = config["head"]
    model = build_model(x.shape[1], head=head, hidden=config["hidden"], dropout=config["dropout"],
                        lr=config["lr"], optimizer=config["optimizer"], l2=config["l2"])
    batches, steps = lifecycle.shuffled_batches(
        xs["train"], targets(ys["train"], head), batch_size=config["batch_size"],
        seed=config["seed"], epochs=config["epochs"],
    )
    stopping = ([keras.callbacks.EarlyStopping("val_accuracy", mode="max",
                                               patience=config["patience"])]
                if config["patience"] else [])
    best, history = lifecycle.fit_and_record(
        model, batches, (xs["val"], targets(ys["val"], head)), run_dir,
        epochs=config["epochs"], steps_per_epoch=steps, monitor="val_accuracy", mode="max",
        seed=config["seed"], callbacks=stopping, quiet=config.get("quiet", False),
        curves=("loss", "accuracy"),
        title=f"phone price: {head} head, {config['normalization']} normalization",
    )
    metrics = {}
    for split in rows:
        metrics.update(scores(ys[split], predict_classes(best, xs[split]), prefix=f"{split}_"))
    metrics["best_epoch"] = int(history["best_epoch"].iloc[0])
    return lifecycle.finish(run_dir, metrics)


def cross_validate(config: dict, x, y, rows: dict, run_dir) -> dict:
    """K folds over the non-test rows; each fold's model is also scored on the same test rows."""
    import pandas as pd
    from sklearn.model_selection import StratifiedKFold

    run_dir = start_run(run_dir, config, overwrite=config.get("overwrite", False))
    dev = np.sort(np.concatenate([rows["train"], rows["val"]]))
    folds = StratifiedKFold(config["cv"], shuffle=True, random_state=config["seed"])
    per_fold = []
    for k, (train, val) in enumerate(folds.split(dev, y[dev])):
        fold_rows = {"train": dev[train], "val": dev[val], "test": rows["test"]}
        print(f"fold {k + 1}/{config['cv']}", file=sys.stderr)
        per_fold.append(train_and_score({**config, "fold": k}, x, y, fold_rows,
                                        run_dir / f"fold{k}"))
    frame = pd.DataFrame(per_fold)
    metrics = {}
    for name in ["val_accuracy", "val_macro_f1", "test_accuracy", "test_macro_f1"]:
        metrics[f"{name}_mean"] = frame[name].mean()
        metrics[f"{name}_std"] = frame[name].std(ddof=1)
    finish_run(run_dir, metrics)
    return metrics


def run(config: dict) -> dict:
    """Train one configuration (a dict of the flags) and return its metrics."""
    x, y = load_labeled(config.get("csv"), config.get("data_dir"))
    rows = split_indices(y, seed=config["seed"], test_size=config["test_size"],
                         val_size=config["val_size"])
    if config.get("cv", 0) > 1:
        return cross_validate(config, x, y, rows, config["out"])
    return train_and_score(config, x, y, rows, config["out"])


def main(argv=None) -> None:
    config = vars(parse_args(argv))
    train_or_report(config, run)


def cli() -> None:
    """The console entry point (pyproject.toml's [project.scripts])."""
    run_cli(main)


if __name__ == "__main__":
    cli()
