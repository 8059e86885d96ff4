"""Training one phone price-range configuration: the library behind phone_price/train.py and
compare.py. ``train(config)`` splits Kaggle's rows (or a user's CSV) into stratified train /
validation / test, fits the input normalization on the training rows, trains the MLP keeping
the checkpoint with the best validation accuracy, and scores it on every split."""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

from common.configs import record
from common.files import write_json
from common.runs import finish_run, start_run
from phone_price.config import PhoneConfig
from phone_price.data import load_labeled, split_indices
from phone_price.normalization import apply_normalization, fit_normalization, save_normalization

CURVES = ("loss", "accuracy")


def curves_title(config: PhoneConfig, run_dir) -> str:
    return f"{Path(run_dir).name}: {config.head} head, {config.normalization} normalization"


def redraw_curves(config: PhoneConfig) -> bool:
    """A complete run's curves.png again from its history.csv (``lifecycle.redraw_curves``)."""
    from common.lifecycle import redraw_curves as redraw

    return redraw(config.out, CURVES, curves_title(config, config.out))


def train_and_score(config: PhoneConfig, x, y, rows: dict, run_dir, *, fold=None) -> dict:
    """Train on ``rows['train']``, checkpoint on ``rows['val']``, score the kept model everywhere.

    Writes config.json, split.json, normalization.json, model.keras, history.csv, curves.png,
    tensorboard/, and last metrics.json into ``run_dir``.
    """
    import keras

    from common import lifecycle
    from phone_price.metrics import scores
    from phone_price.model import build_model, predict_classes, targets

    recorded = record(config) if fold is None else {**record(config), "fold": fold}
    run_dir = start_run(run_dir, recorded, overwrite=config.overwrite)
    write_json(run_dir / "split.json", rows)  # the row indices of each split
    lifecycle.set_seed(config.seed)
    stats = fit_normalization(x[rows["train"]], config.normalization)
    save_normalization(stats, run_dir / "normalization.json")
    xs = {k: apply_normalization(x[v], stats) for k, v in rows.items()}
    ys = {k: y[v] for k, v in rows.items()}

    head = config.head
    model = build_model(x.shape[1], head=head, hidden=config.hidden, dropout=config.dropout,
                        lr=config.lr, optimizer=config.optimizer, l2=config.l2)
    batches, steps = lifecycle.shuffled_batches(
        xs["train"], targets(ys["train"], head), batch_size=config.batch_size,
        seed=config.seed, epochs=config.epochs,
    )
    stopping = ([keras.callbacks.EarlyStopping("val_accuracy", mode="max",
                                               patience=config.patience)]
                if config.patience else [])
    best, history = lifecycle.fit_and_record(
        model, batches, (xs["val"], targets(ys["val"], head)), run_dir,
        epochs=config.epochs, steps_per_epoch=steps, monitor="val_accuracy", mode="max",
        seed=config.seed, callbacks=stopping, quiet=config.quiet,
        curves=CURVES, title=curves_title(config, run_dir),
    )
    metrics = {}
    for split in rows:
        metrics.update(scores(ys[split], predict_classes(best, xs[split]), prefix=f"{split}_"))
    metrics["best_epoch"] = int(history["best_epoch"].iloc[0])
    return lifecycle.finish(run_dir, metrics)


def cross_validate(config: PhoneConfig, x, y, rows: dict, run_dir) -> dict:
    """K folds over the non-test rows; each fold's model is also scored on the same test rows."""
    import pandas as pd
    from sklearn.model_selection import StratifiedKFold

    run_dir = start_run(run_dir, record(config), overwrite=config.overwrite)
    dev = np.sort(np.concatenate([rows["train"], rows["val"]]))
    folds = StratifiedKFold(config.cv, shuffle=True, random_state=config.seed)
    per_fold = []
    for k, (train, val) in enumerate(folds.split(dev, y[dev])):
        fold_rows = {"train": dev[train], "val": dev[val], "test": rows["test"]}
        print(f"fold {k + 1}/{config.cv}", file=sys.stderr)
        per_fold.append(train_and_score(config, x, y, fold_rows, run_dir / f"fold{k}",
                                        fold=k))
    frame = pd.DataFrame(per_fold)
    metrics = {}
    for name in ["val_accuracy", "val_macro_f1", "test_accuracy", "test_macro_f1"]:
        metrics[f"{name}_mean"] = frame[name].mean()
        metrics[f"{name}_std"] = frame[name].std(ddof=1)
    finish_run(run_dir, metrics)
    return metrics


def train(config: PhoneConfig, *, out=None, data_dir=None) -> dict:
    """Train one configuration into ``out`` (default: ``config.out``) on the data under
    ``data_dir`` (default: ``config.data_dir``); returns its metrics."""
    config = replace(config, out=str(out or config.out or config.default_out()),
                     data_dir=data_dir or config.data_dir)
    x, y = load_labeled(config.csv, config.data_dir)
    rows = split_indices(y, seed=config.seed, test_size=config.test_size,
                         val_size=config.val_size)
    if config.cv > 1:
        return cross_validate(config, x, y, rows, config.out)
    return train_and_score(config, x, y, rows, config.out)
