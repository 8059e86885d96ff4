"""The baselines an expert would ask for, on the MLP's own rows and words.

    python reuters_losses/baselines.py                # seeds 0 1 2, 1,000 words

Majority class; logistic regression on the same multi-hot input; a linear SVM on TF-IDF of the
same words (scikit-learn). Each seed carves the same validation split as train.py's honest
protocol; a small grid of C is chosen on it; Keras' test wires are scored once.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

from common.cli import (
    add_data_dir_flag,
    command_line,
    fraction,
    new_parser,
    number_in,
    run_cli,
)
from common.files import write_csv, write_text
from common.sweep import aggregate, mean_std
from reuters_losses.data import NUM_CLASSES, load_wires, validation_rows, vectorize

C_GRID = (0.1, 0.3, 1.0, 3.0, 10.0)
BASELINES = ("majority class", "logistic regression, multi-hot", "linear SVM, TF-IDF")


def baseline_grid(name: str) -> tuple[str, list]:
    """A baseline's input representation and its grid of models (scikit-learn is imported
    here, so --help does not pay for it)."""
    from sklearn.dummy import DummyClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.svm import LinearSVC

    return {
        "majority class": ("multi-hot", [DummyClassifier(strategy="most_frequent")]),
        "logistic regression, multi-hot": (
            "multi-hot", [LogisticRegression(C=c, max_iter=3000) for c in C_GRID]),
        "linear SVM, TF-IDF": ("tfidf", [LinearSVC(C=c, max_iter=20000) for c in C_GRID]),
    }[name]


def parse_args(argv=None) -> argparse.Namespace:
    p = new_parser(__doc__)
    add_data_dir_flag(p)
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="validation splits")
    p.add_argument("--num-words", type=number_in(int, 4), default=1000, help="vocabulary size")
    p.add_argument("--val-fraction", type=fraction, default=0.1, help="validation share")
    p.add_argument("--out", default="results/reuters_losses/baselines", help="output folder")
    return p.parse_args(argv)


def outputs_of(model, x) -> np.ndarray:
    """Scores [N, 46] for top-3 accuracy, whatever the classifier offers."""
    scores_ = model.decision_function(x) if hasattr(model, "decision_function") else \
        model.predict_proba(x)
    full = np.full((len(x), NUM_CLASSES), -np.inf)
    full[:, model.classes_] = scores_
    return full


def fit_and_score(name: str, inputs: dict, labels: dict) -> dict:
    """The grid member with the best validation accuracy, scored on val and test."""
    from common.selection import best_on_validation
    from reuters_losses.metrics import scores

    representation, grid = baseline_grid(name)
    x = inputs[representation]
    best = best_on_validation(grid, x, labels)
    return {"model": name, **scores(labels["val"], outputs_of(best, x["val"]), prefix="val_"),
            **scores(labels["test"], outputs_of(best, x["test"]), prefix="test_")}


def seed_identity(args, seed: int) -> dict:
    """What one seed's rows were fitted on (the wires are Keras' file, checked by its hash)."""
    return {"seed": seed, "num_words": args.num_words, "val_fraction": args.val_fraction,
            "baselines": list(BASELINES), "c_grid": list(C_GRID)}


def run(args) -> pd.DataFrame:
    """Every baseline on every seed. Each seed's rows are kept as <out>/seeds/seed<N>.json with
    what they were fitted on, so a rerun of the same settings is a skip (the wires are not even
    read); the fitting shows its progress."""
    import sys

    from common.files import read_kept, write_json

    kept = {seed: Path(args.out) / "seeds" / f"seed{seed}.json" for seed in args.seeds}
    rows = {seed: read_kept(path, seed_identity(args, seed)) for seed, path in kept.items()}
    missing = [seed for seed in args.seeds if rows[seed] is None]
    if missing:
        (train_wires, y_train), (test_wires, y_test) = load_wires(args.data_dir, args.num_words)
    for n, seed in enumerate(missing, 1):
        fit, val = validation_rows(y_train, seed=seed, fraction=args.val_fraction)
        fit_wires = [train_wires[i] for i in fit]
        labels = {"train": y_train[fit], "val": y_train[val], "test": y_test}
        inputs = {}
        for mode in ("multi-hot", "tfidf"):
            x_fit, x_rest = vectorize(fit_wires, [train_wires[i] for i in val] + test_wires,
                                      num_words=args.num_words, mode=mode)
            inputs[mode] = {"train": x_fit, "val": x_rest[:len(val)], "test": x_rest[len(val):]}
        rows[seed] = []
        for name in BASELINES:
            print(f"baselines [seed {n}/{len(missing)}]: {name}, seed {seed}", file=sys.stderr)
            rows[seed].append({**fit_and_score(name, inputs, labels), "seed": seed})
        write_json(kept[seed], {"identity": seed_identity(args, seed), "rows": rows[seed]})
    return pd.DataFrame([row for seed in args.seeds for row in rows[seed]])


def main(argv=None) -> None:
    args = parse_args(argv)
    metrics = ["val_accuracy", "test_accuracy", "test_macro_f1", "test_top3_accuracy"]
    table = aggregate(run(args), ["model"], metrics)
    out = Path(args.out)
    write_csv(out / "summary.csv", table)
    shown = table[["model", "seeds"]].copy()
    for name in metrics:
        shown[name] = mean_std(table, name)
    text = (
        "# Reuters baselines (scikit-learn), honest protocol\n\n"
        f"Produced by `{command_line('reuters_losses/baselines.py', argv)}`. Each seed carves "
        f"the validation split of `reuters_losses/train.py` ({args.val_fraction:.0%} of the "
        "training wires, stratified); C is chosen on it from "
        f"{', '.join(map(str, C_GRID))}; Keras' 2,246 test wires are scored once. Inputs: "
        f"the {args.num_words:,} most frequent words, as the MLP's multi-hot, or their TF-IDF "
        "(document frequencies from the fitting wires only). Mean ± std over seeds.\n\n"
        f"{shown.to_markdown(index=False)}\n"
    )
    write_text(out / "summary.md", text)
    print(text)


if __name__ == "__main__":
    run_cli(main)
