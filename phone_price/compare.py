"""Compare the three normalizations × the two heads over several seeds, with logistic regression.

    python phone_price/compare.py            # 3 × 2 × 5 seeds, writes results/phone_price/summary.*

Each configuration is a normal train.py run folder under results/phone_price/compare/; a rerun
skips the complete ones. The logistic-regression baseline uses each run's own split and scaling.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from common.cli import add_data_dir_flag, positive_int, run_cli
from common.normalization import MODES, apply_normalization, load_normalization
from common.plotting import save_figure
from common.runs import read_json, write_csv, write_text
from common.sweep import aggregate, collect, mean_std, run_configs
from phone_price import train
from phone_price.data import features_and_labels, phone_price_path, read_phone_csv
from phone_price.evaluate import logistic_baseline, scores
from phone_price.model import HEADS

METRICS = ["val_accuracy", "test_accuracy", "test_macro_f1", "test_logreg_accuracy"]


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    add_data_dir_flag(p)
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4], help="seeds to run")
    p.add_argument("--normalizations", nargs="+", choices=MODES, default=list(MODES))
    p.add_argument("--heads", nargs="+", choices=HEADS, default=list(HEADS))
    p.add_argument("--epochs", type=positive_int, default=200, help="epochs per run")
    p.add_argument("--jobs", type=positive_int, default=1, help="runs in parallel processes")
    p.add_argument("--out", default="results/phone_price", help="where summary.* and compare/ go")
    return p.parse_args(argv)


def configs(args) -> list[dict]:
    base = vars(train.parse_args(["--epochs", str(args.epochs), "--quiet"]))
    base["data_dir"] = args.data_dir
    return [
        {**base, "head": head, "normalization": norm, "seed": seed,
         "out": str(Path(args.out) / "compare" / f"{head}-{norm}-seed{seed}")}
        for norm in args.normalizations for head in args.heads for seed in args.seeds
    ]  # fmt: skip


def add_logreg(runs: pd.DataFrame, data_dir) -> pd.DataFrame:
    """Logistic regression on each run's own training rows and normalization, scored on its test."""
    x, y = features_and_labels(read_phone_csv(phone_price_path("train", data_dir)))
    accuracies = []
    for run_dir in map(Path, runs["run_dir"]):
        rows = {k: np.asarray(v) for k, v in read_json(run_dir / "split.json").items()}
        stats = load_normalization(run_dir / "normalization.json")
        predicted = logistic_baseline(
            apply_normalization(x[rows["train"]], stats), y[rows["train"]],
            apply_normalization(x[rows["test"]], stats),
        )  # fmt: skip
        accuracies.append(scores(y[rows["test"]], predicted)["accuracy"])
    return runs.assign(test_logreg_accuracy=accuracies)


def plot_summary(table: pd.DataFrame, path) -> None:
    fig, ax = plt.subplots(figsize=(7, 3.8))
    width = 0.8 / (len(HEADS) + 1)
    positions = np.arange(len(table["normalization"].unique()))
    norms = list(dict.fromkeys(table["normalization"]))
    for i, head in enumerate(HEADS):
        part = table[table["head"] == head].set_index("normalization").reindex(norms)
        ax.bar(positions + i * width, part["test_accuracy"], width, yerr=part["test_accuracy_std"],
               capsize=3, label=f"MLP, {head} head")
    logreg = table.groupby("normalization", sort=False)["test_logreg_accuracy"].mean()
    logreg = logreg.reindex(norms)
    ax.bar(positions + len(HEADS) * width, logreg, width, color="grey", label="logistic regression")
    ax.set_xticks(positions + width, norms)
    ax.set_xlabel("input normalization (fitted on the training split)")
    ax.set_ylabel("held-out test accuracy")
    ax.set_ylim(0.0, 1.0)
    ax.grid(axis="y", alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
    save_figure(fig, path)


def summarize(runs: pd.DataFrame, out: Path, command: str) -> pd.DataFrame:
    table = aggregate(runs, ["normalization", "head"], METRICS)
    write_csv(out / "summary.csv", table)
    shown = pd.DataFrame({"normalization": table["normalization"], "head": table["head"],
                          "seeds": table["seeds"]})
    for name in METRICS:
        shown[name] = mean_std(table, name)
    text = (
        "# Phone price range: normalization × output head\n\n"
        f"Produced by `{command}` (mean ± std over seeds; each seed has its own stratified split: "
        "20% held-out test, 20% of the rest for validation; the checkpoint with the best "
        "validation accuracy is scored). `test_logreg_accuracy` is scikit-learn's logistic "
        "regression on the same rows and normalization.\n\n"
        f"{shown.to_markdown(index=False)}\n\n![test accuracy](summary.png)\n"
    )
    write_text(out / "summary.md", text)
    plot_summary(table, out / "summary.png")
    print(text)
    return table


def main(argv=None) -> None:
    args = parse_args(argv)
    grid = configs(args)
    run_configs(train.run, grid, jobs=args.jobs)
    runs = add_logreg(collect(c["out"] for c in grid), args.data_dir)
    command = "python phone_price/compare.py" + (f" --jobs {args.jobs}" if args.jobs > 1 else "")
    summarize(runs, Path(args.out), command)


if __name__ == "__main__":
    run_cli(main)
