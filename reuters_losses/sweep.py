"""Sweep output activation / loss pairs on Reuters and compare them.

    python reuters_losses/sweep.py --epochs 100                       # SGD, one seed
    python reuters_losses/sweep.py --epochs 20 --seeds 0 1 2 --optimizer adam
    python reuters_losses/sweep.py --epochs 20 --protocol homework    # the homework's (leaky) table

Writes one run folder per pair and seed under --out (default
results/reuters_losses/<optimizer>-<epochs>ep[-homework]/), then summary.csv, summary.md and the
figures val_accuracy.png, loss.png and grad_norm.png beside them. A rerun skips complete run
folders whose settings match.
"""

from __future__ import annotations

import argparse
import functools
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

from common.cli import add_data_dir_flag, command_line, new_parser, run_cli
from common.configs import from_flags
from common.files import write_csv, write_text
from common.sweep import add_sweep_flags, aggregate, mean_std, raise_if_failed, run_grid
from reuters_losses.config import RESULTS, ReutersConfig
from reuters_losses.flags import add_training_flags
from reuters_losses.options import ACTIVATIONS, LOSSES, PAIRS

METRICS = {
    "honest": ["val_accuracy", "test_accuracy", "test_macro_f1", "test_top3_accuracy",
               "train_accuracy", "best_epoch", "last_val_accuracy"],
    "homework": ["val_accuracy", "train_accuracy", "val_loss", "train_loss"],
}
FIRST_LINE = {
    "honest": "Honest protocol: 10% of the training wires (stratified, seeded) choose the kept "
              "checkpoint; Keras' 2,246 test wires are scored once, on it (`test_*`).",
    "homework": "**Homework protocol (leaky, for reproduction only): the test split is the "
                "validation data; figures are of the final epoch, nothing chosen on them.**",
}


def parse_pair(text: str) -> tuple[str, str]:
    activation, _, loss = text.partition(":")
    if activation not in ACTIVATIONS or loss not in LOSSES:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not ACTIVATION:LOSS with ACTIVATION in {', '.join(ACTIVATIONS)} "
            f"and LOSS in {', '.join(LOSSES)} (e.g. softmax:categorical_crossentropy)"
        )
    return activation, loss


def parse_args(argv=None) -> argparse.Namespace:
    p = new_parser(__doc__)
    add_data_dir_flag(p)
    add_training_flags(p)
    p.add_argument("--pairs", type=parse_pair, nargs="+", default=PAIRS,
                   help="ACTIVATION:LOSS pairs to run (default: all six)")
    p.add_argument("--seeds", type=int, nargs="+", default=[0], help="seeds (several: mean ± std)")
    add_sweep_flags(p)
    p.add_argument("--out", default=None,
                   help="sweep folder (default: results/reuters_losses/<optimizer>-<epochs>ep, "
                        "with -homework for that protocol)")
    args = p.parse_args(argv)
    if args.out is None:
        suffix = "-homework" if args.protocol == "homework" else ""
        args.out = str(RESULTS / f"{args.optimizer}-{args.epochs}ep{suffix}")
    return args


def configs(args) -> list[ReutersConfig]:
    """One configuration per pair × seed: the sweep's training flags on the homework's
    network, each in <out>/<activation>-<loss>-seed<seed>."""
    shared = from_flags(ReutersConfig(), args)  # the training flags the sweep shares
    grid = []
    for activation, loss in args.pairs:
        for seed in args.seeds:
            config = replace(shared, activation=activation, loss=loss, seed=seed, quiet=True,
                             overwrite=False, out=None)
            grid.append(replace(config, out=str(Path(args.out) / config.run_name())))
    return grid


def majority_baseline(labels_train: np.ndarray, labels_test: np.ndarray) -> tuple[int, float]:
    """The commonest training topic, and the test accuracy of always answering it."""
    topic = int(np.bincount(labels_train).argmax())
    return topic, float(np.mean(labels_test == topic))


def pair_name(row) -> str:
    return f"{row['activation']} + {row['loss']}"


def mean_histories(runs: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Per pair: the epoch-wise mean of history.csv over its seeds."""
    curves = {}
    for name, group in runs.groupby(runs.apply(pair_name, axis=1), sort=False):
        frames = [pd.read_csv(Path(d) / "history.csv") for d in group["run_dir"]]
        curves[name] = pd.concat(frames).groupby("epoch").mean()
    return curves


def figure_context(runs: pd.DataFrame) -> str:
    """What every figure of a sweep says under its title: optimizer, epochs, protocol, seeds."""
    first = runs.iloc[0]
    seeds = sorted(runs["seed"].unique())
    shown = f"seed {seeds[0]}" if len(seeds) == 1 else f"mean of {len(seeds)} seeds"
    split = ("validation = Keras' test wires (homework protocol, leaky)"
             if first["protocol"] == "homework" else
             "validation = 10% of the training wires (honest protocol)")
    return f"{first['optimizer']}, {int(first['epochs'])} epochs, {shown}; {split}"


def pair_colours(curves: dict) -> dict:
    """One colour-blind-safe colour per pair, the same in every figure of a sweep."""
    from common.plotting import PALETTE

    return {name: PALETTE[i % len(PALETTE)] for i, name in enumerate(curves)}


def whole_epochs(ax) -> None:
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))


def outside_legend(ax) -> None:
    """The legend right of the axes, where it covers no curve."""
    whole_epochs(ax)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0)


def plot_accuracy(curves: dict, majority: float, path, context: str) -> None:
    import matplotlib.pyplot as plt

    from common.plotting import save_figure

    colours = pair_colours(curves)
    fig, ax = plt.subplots(figsize=(9, 4.5))
    for name, h in curves.items():
        ax.plot(h.index + 1, h["val_accuracy"], color=colours[name], label=name)
        ax.plot(h.index + 1, h["accuracy"], "--", color=colours[name], alpha=0.6)
    ax.axhline(majority, color="black", lw=0.8, ls=":", label="majority class (test wires)")
    ax.set(xlabel="epoch", ylabel="categorical accuracy")
    ax.set_title(f"validation accuracy (solid), training accuracy (dashed)\n{context}",
                 fontsize=10)
    ax.grid(alpha=0.3)
    outside_legend(ax)
    save_figure(fig, path)


def plot_losses(curves: dict, path, context: str) -> None:
    import matplotlib.pyplot as plt
    from matplotlib.ticker import ScalarFormatter

    from common.plotting import save_figure

    columns = min(3, len(curves))
    rows = -(-len(curves) // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(3.8 * columns, 3.0 * rows), squeeze=False,
                             layout="constrained")  # each panel's own scale: room for its ticks
    for ax, (name, h) in zip(axes.flat, curves.items()):
        ax.tick_params(labelsize=8)
        ax.plot(h.index + 1, h["loss"], color="#0072B2", label="training")
        ax.plot(h.index + 1, h["val_loss"], "--", color="#E69F00", label="validation")
        formatter = ScalarFormatter(useOffset=False)  # no "1e-6 + 2.127e-2" corner label
        formatter.set_scientific(False)
        ax.yaxis.set_major_formatter(formatter)
        ax.set_title(name, fontsize=9)
        ax.set_xlabel("epoch", fontsize=8)
        whole_epochs(ax)
        ax.grid(alpha=0.3)
    for ax in axes.flat[len(curves):]:
        ax.set_visible(False)
    for row in axes:
        row[0].set_ylabel("loss (own scale per pair)", fontsize=8)
    axes[0][0].legend(fontsize=8)
    fig.suptitle(f"training and validation loss per pair\n{context}", fontsize=10)
    save_figure(fig, path)


def plot_gradient_norms(curves: dict, path, context: str) -> None:
    import matplotlib.pyplot as plt

    from common.plotting import save_figure

    colours = pair_colours(curves)
    fig, ax = plt.subplots(figsize=(9, 4.5))
    for name, h in curves.items():
        ax.plot(h.index + 1, h["grad_norm"], color=colours[name], label=name)
    ax.set_yscale("log")
    ax.set(xlabel="epoch", ylabel="‖∂loss/∂W_out‖₂ (log scale)")
    ax.set_title("gradient norm at the output kernel, fixed batch of 512 training wires\n"
                 f"{context}", fontsize=10)
    ax.grid(alpha=0.3, which="both")
    outside_legend(ax)
    save_figure(fig, path)


def summarize(runs: pd.DataFrame, majority: tuple[int, float], out: Path, command: str):
    protocol = runs["protocol"].iloc[0]
    metrics = METRICS[protocol]
    table = aggregate(runs, ["activation", "loss", "optimizer", "epochs"], metrics)
    table = table.sort_values("val_accuracy", ascending=False, ignore_index=True)
    if table["seeds"].max() == 1:
        table = table.drop(columns=[f"{m}_std" for m in metrics])
    write_csv(out / "summary.csv", table)

    shown = pd.DataFrame({"rank": range(1, len(table) + 1), "activation": table["activation"],
                          "loss": table["loss"], "seeds": table["seeds"]})
    for name in metrics:
        shown[name] = mean_std(table, name, digits=4 if "loss" in name else 1 if "epoch" in name
                               else 3)
    topic, accuracy = majority
    key = "test_accuracy" if protocol == "honest" else "val_accuracy"
    baseline = {"rank": "", "activation": "majority class", "loss": f"(always topic {topic})",
                "seeds": "", key: f"{accuracy:.3f}"}
    shown = pd.concat([shown, pd.DataFrame([baseline])], ignore_index=True).fillna("")
    first = table.iloc[0]
    text = (
        f"# Reuters: output activation / loss, {first['optimizer']}, "
        f"{int(first['epochs'])} epochs\n\n{FIRST_LINE[protocol]}\n\n"
        f"Produced by `{command}`. Accuracy is categorical accuracy (argmax) for every pair; "
        "`train_*`/`val_*`/`test_*` are of the kept checkpoint, `last_*` of the final epoch. "
        "Losses are on each pair's own scale and are not comparable across pairs. Mean ± std "
        "over seeds where there are several; the majority class is always the commonest "
        "training topic, scored on the test wires.\n\n"
        f"{shown.to_markdown(index=False)}\n\n"
        "![validation accuracy](val_accuracy.png)\n\n![loss](loss.png)\n\n"
        "![gradient norm](grad_norm.png)\n"
    )
    write_text(out / "summary.md", text)
    print(text)
    return table


def main(argv=None) -> None:
    args = parse_args(argv)
    grid = configs(args)
    from reuters_losses.data import load_reuters
    from reuters_losses.training import train

    data = load_reuters(args.data_dir, args.num_words, args.inputs)
    # one process: share the loaded data; several: each worker loads its own copy
    local = args.jobs == 1 and args.backend == "local"
    run_fn = functools.partial(train, data=data) if local else train
    runs, failures = run_grid(run_fn, grid, args)
    out = Path(args.out)
    curves = mean_histories(runs)
    majority = majority_baseline(data["labels_train"], data["labels_test"])
    context = figure_context(runs)
    plot_accuracy(curves, majority[1], out / "val_accuracy.png", context)
    plot_losses(curves, out / "loss.png", context)
    plot_gradient_norms(curves, out / "grad_norm.png", context)
    summarize(runs, majority, out, command_line("reuters_losses/sweep.py", argv))
    raise_if_failed(failures, len(grid))


def cli() -> None:
    """The console entry point (pyproject.toml's [project.scripts])."""
    run_cli(main)


if __name__ == "__main__":
    cli()
