"""Sweep landmark losses × head activations × seeds and compare them.

    python landmarks/sweep.py --losses masked_euclidean masked_mse wing --seeds 0 1 \
        --image-size 64 --epochs 30
    python landmarks/sweep.py ... --backend ray --address auto --out /shared/landmarks-sweep

Every configuration is a normal landmarks/train.py run folder under --out; a rerun skips the
complete ones whose settings match. Writes summary.csv, summary.md and nme.png beside them.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from common.cli import add_data_dir_flag, command_line, positive_float, positive_int, run_cli
from common.plotting import save_figure
from common.runs import write_csv, write_text
from common.sweep import add_sweep_flags, aggregate, mean_std, raise_if_failed, run_grid
from landmarks import train
from landmarks.datasets import DATASETS
from landmarks.losses import LOSSES
from landmarks.model import BACKBONES, HEAD_ACTIVATIONS

METRICS = ["val_nme", "val_failure_rate_8", "val_failure_rate_10", "val_auc_10",
           "val_mean_shape_nme", "best_epoch"]  # fmt: skip


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    add_data_dir_flag(p)
    p.add_argument("--losses", nargs="+", choices=list(LOSSES), default=list(LOSSES))
    p.add_argument("--head-activations", nargs="+", choices=HEAD_ACTIVATIONS,
                   default=["sigmoid"], help="activations of the Dense(2K) output")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1], help="seeds")
    p.add_argument("--dataset", choices=DATASETS, default="ibug68", help="data set")
    p.add_argument("--subsets", default="afw,helen_train", help="ibug68 folders")
    p.add_argument("--backbone", choices=BACKBONES, default="small_cnn", help="feature extractor")
    p.add_argument("--image-size", type=positive_int, default=64, help="input size in pixels")
    p.add_argument("--epochs", type=positive_int, default=30, help="epochs per run")
    p.add_argument("--batch-size", type=positive_int, default=16, help="mini-batch size")
    p.add_argument("--lr", type=positive_float, default=2.5e-4, help="Adam learning rate")
    p.add_argument("--detector", choices=("hog", "cnn", "none"), default="none",
                   help="learn a detector box mapping in every run (slower; see train.py)")
    add_sweep_flags(p)
    p.add_argument("--out", default="results/landmarks/sweep", help="sweep folder")
    return p.parse_args(argv)


def configs(args) -> list[dict]:
    shared = ["--dataset", args.dataset, "--subsets", args.subsets, "--backbone", args.backbone,
              "--image-size", str(args.image_size), "--epochs", str(args.epochs), "--batch-size",
              str(args.batch_size), "--lr", str(args.lr), "--detector", args.detector, "--quiet"]
    grid = []
    for activation in args.head_activations:
        for loss in args.losses:
            for seed in args.seeds:
                out = Path(args.out) / f"{activation}-{loss}-seed{seed}"
                flags = [*shared, "--head-activation", activation, "--loss", loss, "--seed",
                         str(seed), "--out", str(out)]
                grid.append({**vars(train.parse_args(flags)), "data_dir": args.data_dir})
    return grid  # fmt: skip


def plot_nme(table: pd.DataFrame, path) -> None:
    fig, ax = plt.subplots(figsize=(max(5, 1.2 * len(table)), 3.6))
    labels = table["head_activation"] + " + " + table["loss"]
    positions = np.arange(len(table))
    ax.bar(positions, 100 * table["val_nme"], yerr=100 * table["val_nme_std"], capsize=3,
           label="model")
    ax.plot(positions, 100 * table["val_mean_shape_nme"], "k_", markersize=20, label="mean shape")
    ax.set_xticks(positions, labels, rotation=30, ha="right")
    ax.set_ylabel("validation NME (%)")
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=8)
    save_figure(fig, path)


def main(argv=None) -> None:
    args = parse_args(argv)
    grid = configs(args)
    runs, failures = run_grid(train.run, grid, args)
    table = aggregate(runs, ["head_activation", "loss"], METRICS).sort_values("val_nme",
                                                                              ignore_index=True)
    out = Path(args.out)
    write_csv(out / "summary.csv", table)
    shown = table[["head_activation", "loss", "seeds"]].copy()
    for name in METRICS:
        shown[name] = mean_std(table, name, digits=1 if name == "best_epoch" else 4)
    text = (
        f"# Landmarks: loss × head activation, {args.dataset}, {args.backbone}, "
        f"{args.image_size} px\n\nProduced by `{command_line('landmarks/sweep.py', argv)}`. "
        "Validation faces (person-disjoint), the checkpoint with the lowest validation NME; "
        "mean ± std over seeds; `val_mean_shape_nme` is the mean training face.\n\n"
        f"{shown.to_markdown(index=False)}\n\n![NME](nme.png)\n"
    )
    write_text(out / "summary.md", text)
    plot_nme(table, out / "nme.png")
    print(text)
    raise_if_failed(failures, len(grid))


if __name__ == "__main__":
    run_cli(main)
