"""The landmark comparison: which output head, which loss, 68 or 5 points.

    python landmarks/sweep.py                                 # the committed comparison
    python landmarks/sweep.py --groups heads --seeds 0        # one group, one seed
    python landmarks/sweep.py ... --backend ray --address auto --out /shared/landmarks-comparison

Three groups of runs, each a normal landmarks/train.py run folder under --out (a rerun skips
the complete ones whose settings match, so an interrupted comparison continues):

- ``heads``: every head of landmarks/heads.py with the masked Euclidean loss, 68 points, --seeds;
- ``losses``: every loss on the Dense head that scored best in ``heads`` and on soft-argmax,
  68 points, --other-seeds;
- ``five``: the 5 points (eye centres, nose tip, mouth corners) with the sigmoid, linear-pixels
  and soft-argmax heads × masked Euclidean and masked MSE (x and y independent), --other-seeds.

Writes summary.csv, summary.md, nme.png (NME per configuration, spread over seeds, the mean
shape beside it) and ced.png (the CED curves overlaid, the faces of all seeds pooled).
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
    positive_float,
    positive_int,
    run_cli,
)
from common.files import read_json, write_csv, write_text
from common.paths import shown
from common.sweep import add_sweep_flags, aggregate, mean_std, raise_if_failed
from landmarks.config import CPU_LIGHT, with_backbone
from landmarks.datasets import DATASETS
from landmarks.options import BACKBONES, DENSE_HEADS, HEADS, LOSS_NAMES

GROUPS = ("heads", "losses", "five")
FIVE_HEADS = ("sigmoid", "linear-pixels", "soft-argmax")
FIVE_LOSSES = ("masked_euclidean", "masked_mse")
METRICS = ["val_nme", "val_failure_rate_8", "val_failure_rate_10", "val_auc_10",
           "val_mean_shape_nme", "best_epoch"]
KEY = ["points", "head", "loss"]


def parse_args(argv=None) -> argparse.Namespace:
    p = new_parser(__doc__)
    add_data_dir_flag(p)
    p.add_argument("--groups", nargs="+", choices=GROUPS, default=list(GROUPS),
                   help="which parts of the comparison to run (losses needs heads)")
    p.add_argument("--heads", nargs="+", choices=HEADS, default=list(HEADS),
                   help="heads to compare (fewer: a quicker, partial comparison)")
    p.add_argument("--losses", nargs="+", choices=LOSS_NAMES, default=list(LOSS_NAMES),
                   help="losses of `losses` (masked_euclidean and masked_mse also in `five`)")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="seeds of `heads`")
    p.add_argument("--other-seeds", type=int, nargs="+", default=[0, 1],
                   help="seeds of `losses` and `five`")
    p.add_argument("--dataset", choices=DATASETS, default="ibug68", help="data set")
    p.add_argument("--subsets", default="afw,helen_train", help="ibug68 folders")
    p.add_argument("--backbone", choices=BACKBONES, default="small_cnn", help="feature extractor")
    p.add_argument("--image-size", type=positive_int, default=64, help="input size in pixels")
    p.add_argument("--epochs", type=positive_int, default=20, help="epochs per run")
    p.add_argument("--batch-size", type=positive_int, default=16, help="mini-batch size")
    p.add_argument("--lr", type=positive_float, default=1e-3, help="Adam's starting rate")
    p.add_argument("--schedule", choices=("plateau", "cosine"), default="cosine",
                   help="learning-rate schedule of every run (see train.py)")
    add_sweep_flags(p)
    p.add_argument("--out", default="results/landmarks/comparison", help="sweep folder")
    p.add_argument("--figures-only", action="store_true",
                   help="train nothing: redraw nme.png, ced.png and each run's curves.png "
                        "from --out's summary.csv and run folders (the committed comparison "
                        "predates the current training code, so a plain rerun would train "
                        "every run again)")
    args = p.parse_args(argv)
    if "losses" in args.groups and not set(args.heads) & set(DENSE_HEADS):
        p.error("argument --heads: the losses group compares losses on the best Dense head; "
                f"give at least one of {', '.join(DENSE_HEADS)}")
    return args


def config(args, *, points: int, head: str, loss: str, seed: int):
    """The landmark configuration of one cell of the comparison: the light CPU preset (the
    jitter its committed runs were trained with) with the sweep's settings, no detector and no
    flip test."""
    return replace(with_backbone(CPU_LIGHT, args.backbone), dataset=args.dataset,
                   subsets=args.subsets, image_size=args.image_size, epochs=args.epochs,
                   batch_size=args.batch_size,
                   lr=args.lr, schedule=args.schedule, detector="none", flip_test=False,
                   points=points, head=head, loss=loss, seed=seed, quiet=True,
                   out=str(Path(args.out) / f"{points}pt-{head}-{loss}-seed{seed}"),
                   data_dir=args.data_dir)


def run_group(args, cells):
    from common.sweep import run_grid
    from landmarks.training import train

    grid = [config(args, points=p, head=h, loss=loss, seed=s) for p, h, loss, s in cells]
    return run_grid(train, grid, args)


def best_dense_head(runs: pd.DataFrame) -> str:
    """The Dense head with the lowest mean validation NME of the ``heads`` group."""
    dense = runs[runs["head"].isin(DENSE_HEADS)]
    return dense.groupby("head")["val_nme"].mean().idxmin()


def run_comparison(args) -> tuple[dict[str, pd.DataFrame], dict, str | None]:
    """{group: runs}, the failures, and the Dense head the ``losses`` group used."""
    full = DATASETS[args.dataset].num_points
    runs, failures, dense = {}, {}, None
    if "heads" in args.groups or "losses" in args.groups:
        runs["heads"], failed = run_group(
            args, [(full, h, "masked_euclidean", s) for h in args.heads for s in args.seeds])
        failures.update(failed)
    if "losses" in args.groups:
        dense = best_dense_head(runs["heads"])
        heads = [dense] + ["soft-argmax"] * ("soft-argmax" in args.heads)
        runs["losses"], failed = run_group(args, [(full, h, loss, s) for h in heads
                                                  for loss in args.losses
                                                  for s in args.other_seeds])
        failures.update(failed)
    if "five" in args.groups:
        runs["five"], failed = run_group(
            args, [(5, h, loss, s) for h in FIVE_HEADS if h in args.heads
                   for loss in FIVE_LOSSES if loss in args.losses for s in args.other_seeds])
        failures.update(failed)
    if "heads" not in args.groups:
        runs.pop("heads", None)
    return runs, failures, dense


def pooled_nme(runs: pd.DataFrame) -> dict[str, np.ndarray]:
    """Per-image validation NME of each configuration, all seeds' faces together."""
    curves = {}
    for key, rows in runs.groupby(KEY, sort=False):
        label = f"{key[1]} + {key[2]}"
        curves[label] = np.concatenate([read_json(Path(d) / "nme_val.json")["nme"]
                                        for d in rows["run_dir"]])
    return curves


GROUP_TITLES = {"heads": "heads, masked Euclidean loss", "losses": "losses",
                "five": "5 points (eye centres, nose, mouth corners)"}
HEAD_ORDER = ("soft-argmax", "linear-pixels", "sigmoid", "linear", "tanh")
LOSS_STYLES = ("-", "--", ":", "-.", (0, (5, 1, 1, 1)), (0, (1, 3)))


def head_colour(head: str) -> str:
    """One colour per head in every panel of both figures."""
    from common.plotting import PALETTE

    return PALETTE[HEAD_ORDER.index(head) if head in HEAD_ORDER else len(HEAD_ORDER)]


def panel_title(group: str, table: pd.DataFrame) -> str:
    seeds = sorted(set(table["seeds"].astype(int)))
    count = f"{seeds[0]} seeds" if len(seeds) == 1 else f"{seeds[0]}-{seeds[-1]} seeds"
    return f"{GROUP_TITLES.get(group, group)}\n{int(table['points'].iloc[0])} points, {count}"


def nme_label(points: int) -> str:
    return ("validation NME, % of the eye-centre distance" if points == 5 else
            "validation NME, % of the inter-ocular distance")


def plot_nme(tables: dict[str, pd.DataFrame], path) -> None:
    import matplotlib.pyplot as plt

    from common.plotting import save_figure

    fig, axes = plt.subplots(1, len(tables), squeeze=False, layout="constrained",
                             figsize=(sum(max(3.0, 0.6 * len(t)) for t in tables.values()), 4.4),
                             width_ratios=[len(t) for t in tables.values()])
    for ax, (group, table) in zip(axes[0], tables.items()):
        positions = np.arange(len(table))
        ax.bar(positions, 100 * table["val_nme"], yerr=100 * table["val_nme_std"], capsize=3,
               color=[head_colour(h) for h in table["head"]], label="model, mean ± std")
        ax.plot(positions, 100 * table["val_mean_shape_nme"], "k_", markersize=14,
                label="mean training face")
        ax.set_xticks(positions, table["head"] + " + " + table["loss"], rotation=60, ha="right",
                      fontsize=7)
        ax.set_title(panel_title(group, table), fontsize=9)
        ax.set_ylabel(nme_label(int(table["points"].iloc[0])), fontsize=8)
        ax.grid(axis="y", alpha=0.3)
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, fontsize=8, loc="outside lower center", ncols=2)
    save_figure(fig, path)


def plot_ced(runs: dict[str, pd.DataFrame], path, limit: float = 0.15) -> None:
    import matplotlib.pyplot as plt

    from common.plotting import save_figure
    from landmarks.metrics import ced_curve

    fig, axes = plt.subplots(1, len(runs), figsize=(4.4 * len(runs), 4.4), squeeze=False,
                             layout="constrained")
    for ax, (group, frame) in zip(axes[0], runs.items()):
        losses = list(dict.fromkeys(frame["loss"]))
        for label, nme in pooled_nme(frame).items():
            head, loss = label.split(" + ")
            x, fraction = ced_curve(nme, limit)
            ax.plot(100 * x, fraction, label=label, lw=1.2, color=head_colour(head),
                    ls=LOSS_STYLES[losses.index(loss) % len(LOSS_STYLES)])
        table = frame.groupby(KEY, sort=False).size().rename("seeds").reset_index()
        ax.set_title(panel_title(group, table), fontsize=9)
        ax.set(xlabel=nme_label(int(frame["points"].iloc[0])).replace("validation ", ""),
               ylim=(0, 1), xlim=(0, 100 * limit))
        ax.xaxis.label.set_size(8)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=6, loc="lower right")
    axes[0][0].set_ylabel("share of validation faces (all seeds) at or below")
    save_figure(fig, path)


def committed_runs(tables: dict[str, pd.DataFrame], args) -> dict[str, pd.DataFrame]:
    """The run folders behind each row of a summary (its seeds as the sweep named them)."""
    runs = {}
    for group, table in tables.items():
        seeds = args.seeds if group == "heads" else args.other_seeds
        rows = [{"points": int(r.points), "head": r.head, "loss": r.loss,
                 "run_dir": str(Path(args.out) / f"{int(r.points)}pt-{r.head}-{r.loss}-seed{s}")}
                for r in table.itertuples() for s in seeds[:int(r.seeds)]]
        runs[group] = pd.DataFrame(rows)
    return runs


def summary_text(tables: dict[str, pd.DataFrame], *, dense: str | None, command: str,
                 args) -> str:
    intro = {
        "heads": "Every head with the masked Euclidean loss.",
        "losses": f"Every loss on the best Dense head of `heads` (`{dense}`, chosen by its mean "
                  "validation NME) and on soft-argmax.",
        "five": "The 5 points (eye centres, nose tip, mouth corners; NME divided by the distance "
                "between the eye centres): masked Euclidean vs masked MSE (x and y independent).",
    }
    parts = [
        f"# Landmarks: head × loss × points, {args.dataset}, {args.backbone}, {args.image_size} "
        f"px, {args.epochs} epochs\n\nProduced by `{command}`. Validation faces (person-disjoint, "
        "a different split per seed), the checkpoint with the lowest validation NME; mean ± std "
        "over seeds; `val_mean_shape_nme` is the mean training face on the same faces.\n"
    ]
    for group, table in tables.items():
        shown = table[[*KEY, "seeds"]].copy()
        for name in METRICS:
            shown[name] = mean_std(table, name, digits=1 if name == "best_epoch" else 4)
        parts.append(f"## {group}\n\n{intro[group]}\n\n{shown.to_markdown(index=False)}\n")
    parts.append("![NME](nme.png)\n\n![CED](ced.png)\n")
    return "\n".join(parts)


def redraw(args) -> None:
    """The two figures again from the committed summary.csv and run folders: nothing trained."""
    out = Path(args.out)
    summary = pd.read_csv(out / "summary.csv")
    tables = {group: table.drop(columns="group").reset_index(drop=True)
              for group, table in summary.groupby("group", sort=False)}
    plot_nme(tables, out / "nme.png")
    runs = committed_runs(tables, args)
    plot_ced(runs, out / "ced.png")
    from landmarks.training import redraw_curves

    drawn = sum(redraw_curves(run) for run in
                dict.fromkeys(r for frame in runs.values() for r in frame["run_dir"]))
    print(f"redrew {shown(out / 'nme.png')}, {shown(out / 'ced.png')} and {drawn} runs' "
          "curves.png")


def main(argv=None) -> None:
    args = parse_args(argv)
    if args.figures_only:
        return redraw(args)
    runs, failures, dense = run_comparison(args)
    runs = {group: frame for group, frame in runs.items() if not frame.empty}
    tables = {group: aggregate(frame, KEY, METRICS).sort_values("val_nme", ignore_index=True)
              for group, frame in runs.items()}
    out = Path(args.out)
    write_csv(out / "summary.csv", pd.concat([t.assign(group=g) for g, t in tables.items()]))
    text = summary_text(tables, dense=dense, command=command_line("landmarks/sweep.py", argv),
                        args=args)
    write_text(out / "summary.md", text)
    plot_nme(tables, out / "nme.png")
    plot_ced(runs, out / "ced.png")
    print(text)
    total = sum(len(frame) for frame in runs.values()) + len(failures)
    raise_if_failed(failures, total)


if __name__ == "__main__":
    run_cli(main)
