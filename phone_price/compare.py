"""Compare output heads × normalizations over seeds, with the baselines and a best configuration.

    python phone_price/compare.py    # 3 heads × 3 normalizations × 5 seeds, candidates, baselines

Each MLP configuration is a normal train.py run folder under <out>/compare/; a rerun skips the
complete ones. The candidates for the best configuration (CANDIDATES: smaller nets, linear
heads, Adam) run on the same seeds; the one with the best mean validation accuracy is the best
configuration. The baselines (scikit-learn, grids chosen on validation) are fitted on each
seed's own training rows with the same normalization and scored on the same test rows.
"""

from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

from common.cli import (
    add_data_dir_flag,
    command_line,
    new_parser,
    positive_int,
    run_cli,
)
from common.files import write_csv, write_text
from common.sweep import add_sweep_flags, aggregate, mean_std, raise_if_failed, run_grid
from phone_price.config import PhoneConfig
from phone_price.data import load_labeled, split_indices
from phone_price.normalization import MODES, apply_normalization, fit_normalization

TARGET_ACCURACY = 0.975  # the mean test accuracy the best MLP was aimed at (the README's bar)
METRICS = ["val_accuracy", "test_accuracy", "test_macro_f1", "test_mae", "test_far_error_rate"]
# Candidates for the best configuration: the homework's MLP (PhoneConfig) with these changes.
LINEAR = {"hidden": (), "optimizer": "adam", "lr": 0.01, "epochs": 300, "dropout": 0.0}
CANDIDATES = {
    "ordinal-linear-global": {"head": "ordinal", "normalization": "global", **LINEAR},
    "softmax-linear-global": {"head": "classification", "normalization": "global", **LINEAR},
    "ordinal-16-global": {"head": "ordinal", "normalization": "global", "hidden": (16,),
                          "optimizer": "adam", "lr": 0.003, "epochs": 300, "dropout": 0.0},
    "ordinal-linear-per-feature": {"head": "ordinal", "normalization": "per-feature", **LINEAR},
    "softmax-linear-per-feature": {"head": "classification", "normalization": "per-feature",
                                   **LINEAR},
    "ordinal-64-per-feature": {"head": "ordinal", "normalization": "per-feature",
                               "hidden": (64,), "optimizer": "adam", "lr": 0.001,
                               "epochs": 300, "l2": 1e-4},
}


def parse_args(argv=None) -> argparse.Namespace:
    from phone_price.options import HEADS

    p = new_parser(__doc__)
    add_data_dir_flag(p)
    p.add_argument("--csv", default=None, help="your labeled CSV instead of Kaggle's train.csv")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4], help="seeds to run")
    p.add_argument("--normalizations", nargs="+", choices=MODES, default=list(MODES))
    p.add_argument("--heads", nargs="+", choices=HEADS, default=list(HEADS))
    p.add_argument("--epochs", type=positive_int, default=200, help="epochs per head run")
    p.add_argument("--no-best", action="store_true", help="leave out the candidates for the best "
                                                          "configuration")
    p.add_argument("--no-baselines", action="store_true", help="leave out the scikit-learn rows")
    add_sweep_flags(p)
    p.add_argument("--out", default="results/phone_price", help="where summary.* and compare/ go")
    p.add_argument("--redraw-curves", action="store_true",
                   help="train nothing: draw each complete run's curves.png again from its "
                        "history.csv (e.g. after a change to the figure)")
    return p.parse_args(argv)


def configs(args) -> list[PhoneConfig]:
    """Every head × normalization × seed at ``--epochs``, then every candidate × seed."""
    data = {"data_dir": args.data_dir, "csv": args.csv, "quiet": True}
    grid = [replace(PhoneConfig(), **data, epochs=args.epochs, head=head, normalization=norm,
                    seed=seed, out=str(Path(args.out) / "compare" / f"{head}-{norm}-seed{seed}"))
            for norm in args.normalizations for head in args.heads for seed in args.seeds]
    if not args.no_best:
        grid += [replace(PhoneConfig(), **data, **changes, seed=seed,
                         out=str(Path(args.out) / "compare" / f"{name}-seed{seed}"))
                 for name, changes in CANDIDATES.items() for seed in args.seeds]
    return grid


def model_name(row) -> str:
    name = Path(row["run_dir"]).name.rsplit("-seed", 1)[0]
    return f"MLP candidate: {name}" if name in CANDIDATES else f"MLP, {row['head']} head"


def mark_best(table: pd.DataFrame) -> pd.DataFrame:
    """The candidate with the best mean validation accuracy is the best configuration."""
    candidates = table["model"].str.startswith("MLP candidate: ")
    if candidates.any():
        best = table.loc[candidates, "val_accuracy"].idxmax()
        name = table.loc[best, "model"].removeprefix("MLP candidate: ")
        table.loc[best, "model"] = f"MLP, best configuration ({name})"
    return table


def baseline_rows(args, normalizations) -> pd.DataFrame:
    """Every baseline on every seed's rows (the split of train.py) and normalization. Each
    seed × normalization is kept as <out>/compare/baselines/<norm>-seed<seed>.json with what it
    was fitted on, so a rerun on the same data is a skip; the fitting shows its progress."""
    import sys

    from common.files import read_kept, write_json
    from phone_price.baselines import BASELINES, fit_baseline
    from phone_price.metrics import scores

    split = PhoneConfig(csv=args.csv)
    x, y = load_labeled(args.csv, args.data_dir)
    rows, cells = [], [(seed, norm) for seed in args.seeds for norm in normalizations]
    for i, (seed, norm) in enumerate(cells, 1):
        path = Path(args.out) / "compare" / "baselines" / f"{norm}-seed{seed}.json"
        identity = {"seed": seed, "normalization": norm, "csv_sha256": split.csv_sha256,
                    "test_size": split.test_size, "val_size": split.val_size,
                    "baselines": list(BASELINES)}
        kept = read_kept(path, identity)
        if kept is not None:
            rows += kept
            continue
        print(f"baselines [{i}/{len(cells)}]: seed {seed}, {norm} normalization",
              file=sys.stderr)
        part = split_indices(y, seed=seed, test_size=split.test_size, val_size=split.val_size)
        stats = fit_normalization(x[part["train"]], norm)
        xs = {k: apply_normalization(x[v], stats) for k, v in part.items()}
        ys = {k: y[v] for k, v in part.items()}
        cell = []
        for name in BASELINES:
            model = fit_baseline(name, xs, ys)
            cell.append({"model": name, "normalization": norm, "seed": seed,
                         **scores(ys["val"], model.predict(xs["val"]), prefix="val_"),
                         **scores(ys["test"], model.predict(xs["test"]), prefix="test_")})
        write_json(path, {"identity": identity, "rows": cell})
        rows += cell
    return pd.DataFrame(rows)


def plot_summary(table: pd.DataFrame, path) -> None:
    import matplotlib.pyplot as plt

    from common.plotting import PALETTE, save_figure

    table = table[~table["model"].str.startswith("MLP candidate")]
    models = list(dict.fromkeys(table["model"]))
    norms = list(dict.fromkeys(table["normalization"]))
    fig, (ax, zoom) = plt.subplots(1, 2, figsize=(14, 4.2), width_ratios=(1, 1))
    width = 0.8 / len(models)
    positions = np.arange(len(norms))
    for i, name in enumerate(models):
        part = table[table["model"] == name].set_index("normalization").reindex(norms)
        colour = PALETTE[i % len(PALETTE)]
        for axis in (ax, zoom):
            axis.bar(positions + i * width, part["test_accuracy"], width,
                     yerr=part["test_accuracy_std"], capsize=2, color=colour,
                     label=name if axis is ax else None)
        for x, value in zip(positions + i * width, part["test_accuracy"]):
            if np.isfinite(value) and value < 0.05:  # a bar too short to see
                ax.text(x, value + 0.01, f"{value:.2f}", ha="center", fontsize=6)
    top = table["test_accuracy"].max()
    for axis in (ax, zoom):
        axis.axhline(TARGET_ACCURACY, color="0.3", ls="--", lw=0.8,
                     label=f"target {TARGET_ACCURACY}" if axis is ax else None)
        axis.set_xticks(positions + width * (len(models) - 1) / 2, norms)
        axis.set_xlabel("input normalization (fitted on the training split)")
        axis.grid(axis="y", alpha=0.3)
    ax.set_ylabel("held-out test accuracy\n(bars: mean over seeds; whiskers: ± 1 std)")
    ax.set_ylim(0.0, 1.0)
    ax.set_title("all models")
    # the models that work differ by a point or two near the top: the right panel shows it
    zoom.set_ylim(top - 0.06, min(1.0, top + 0.01))
    zoom.set_title(f"zoom: {top - 0.06:.2f} to {min(1.0, top + 0.01):.2f}")
    zoom.legend(*ax.get_legend_handles_labels(), loc="upper left", bbox_to_anchor=(1.01, 1.0),
                fontsize=7)
    save_figure(fig, path)


def summarize(runs: pd.DataFrame, out: Path, command: str) -> pd.DataFrame:
    table = aggregate(runs, ["model", "normalization"], METRICS)
    table = mark_best(table.sort_values("val_accuracy", ascending=False, ignore_index=True))
    write_csv(out / "summary.csv", table)
    shown = table[["model", "normalization", "seeds"]].copy()
    for name in METRICS:
        shown[name] = mean_std(table, name)
    text = (
        "# Phone price range: output head × normalization, baselines, best configuration\n\n"
        f"Produced by `{command}`. Mean ± std over seeds; each seed has its own stratified "
        "split (20% held-out test, 20% of the rest for validation). MLP rows score the "
        "checkpoint with the best validation accuracy; the scikit-learn baselines pick their "
        "grid member on validation. Sorted by validation accuracy (what one would choose "
        "by); `test_mae` is the mean error in classes, `test_far_error_rate` the share of "
        "phones off by two classes or more. The candidate rows are the configurations the best "
        "one was chosen from (`CANDIDATES` in phone_price/compare.py), by validation "
        "accuracy.\n\n"
        f"{shown.to_markdown(index=False)}\n\n![test accuracy](summary.png)\n"
    )
    write_text(out / "summary.md", text)
    plot_summary(table, out / "summary.png")
    print(text)
    return table


def main(argv=None) -> None:
    args = parse_args(argv)
    grid = configs(args)
    from phone_price.training import redraw_curves, train

    if args.redraw_curves:
        drawn = sum(redraw_curves(config) for config in grid)
        print(f"redrew the curves of {drawn} of {len(grid)} runs (the others are not complete)")
        return

    runs, failures = run_grid(train, grid, args)
    runs["model"] = runs.apply(model_name, axis=1)
    if not args.no_baselines:
        runs = pd.concat([runs, baseline_rows(args, args.normalizations)], ignore_index=True)
    summarize(runs, Path(args.out), command_line("phone_price/compare.py", argv))
    raise_if_failed(failures, len(grid))


if __name__ == "__main__":
    run_cli(main)
