"""The best Reuters configuration at 1,000 words, chosen on validation only.

    python reuters_losses/best.py          # every candidate × seeds 0 1 2, honest protocol

Each candidate is a train.py configuration (the Keras ``reuters_mlp`` recipe and the variants
tried after it: TF-IDF input, wider layers, more dropout, label smoothing, longer schedules).
The one with the best mean validation accuracy is the chosen row; test accuracy is only read
off, never used to choose. Run folders go under results/reuters_losses/best/ and are skipped
when complete, like any sweep.
"""

from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path

import pandas as pd

from common.cli import add_data_dir_flag, command_line, new_parser, run_cli
from common.files import write_csv, write_text
from common.sweep import add_sweep_flags, aggregate, mean_std, raise_if_failed, run_grid
from reuters_losses.config import ReutersConfig

# Candidates: the homework's network (ReutersConfig) with these changes.
KERAS_RECIPE = {"hidden": (512,), "dropout": 0.5, "optimizer": "adam", "batch_size": 32}
CANDIDATES = {
    "keras-recipe": {**KERAS_RECIPE, "epochs": 15},
    "tfidf-512": {**KERAS_RECIPE, "inputs": "tfidf", "epochs": 15},
    "tfidf-1024-ls": {"inputs": "tfidf", "hidden": (1024,), "dropout": 0.6, "optimizer": "adam",
                      "batch_size": 32, "epochs": 15, "label_smoothing": 0.1},
    "tfidf-256-d7": {"inputs": "tfidf", "hidden": (256,), "dropout": 0.7, "optimizer": "adam",
                     "lr": 0.0005, "batch_size": 32, "epochs": 30},
    "tfidf-linear": {"inputs": "tfidf", "hidden": (), "optimizer": "adam", "lr": 0.003,
                     "batch_size": 32, "epochs": 30},
}
METRICS = ["val_accuracy", "test_accuracy", "test_macro_f1", "test_top3_accuracy", "best_epoch"]


def parse_args(argv=None) -> argparse.Namespace:
    p = new_parser(__doc__)
    add_data_dir_flag(p)
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="seeds per candidate")
    p.add_argument("--candidates", nargs="+", choices=CANDIDATES, default=list(CANDIDATES),
                   help="candidates to run (default: all)")
    add_sweep_flags(p)
    p.add_argument("--out", default="results/reuters_losses/best", help="output folder")
    return p.parse_args(argv)


def configs(args) -> list[ReutersConfig]:
    return [replace(ReutersConfig(), **CANDIDATES[name], seed=seed, quiet=True,
                    data_dir=args.data_dir, out=str(Path(args.out) / f"{name}-seed{seed}"))
            for name in args.candidates for seed in args.seeds]


def flags(changes: dict) -> str:
    """A candidate as the train.py flags that make it."""
    shown = {k: ",".join(map(str, v)) if isinstance(v, tuple) else v for k, v in changes.items()}
    return " ".join(f"--{k.replace('_', '-')} {v if v != '' else 'none'}"
                    for k, v in shown.items())


def main(argv=None) -> None:
    args = parse_args(argv)
    grid = configs(args)
    from reuters_losses.training import train

    runs, failures = run_grid(train, grid, args)
    runs["candidate"] = [Path(d).name.rsplit("-seed", 1)[0] for d in runs["run_dir"]]
    table = aggregate(runs, ["candidate"], METRICS).sort_values("val_accuracy", ascending=False,
                                                               ignore_index=True)
    write_csv(Path(args.out) / "summary.csv", table)
    shown = pd.DataFrame({"candidate": table["candidate"], "seeds": table["seeds"],
                          "flags": [f"`{flags(CANDIDATES[c])}`" for c in table["candidate"]]})
    for name in METRICS:
        shown[name] = mean_std(table, name, digits=1 if name == "best_epoch" else 3)
    shown.loc[0, "candidate"] = f"**{shown.loc[0, 'candidate']}** (chosen)"
    text = (
        "# Reuters: the best configuration at 1,000 words, chosen on validation\n\n"
        f"Produced by `{command_line('reuters_losses/best.py', argv)}`. Honest protocol; each "
        "candidate is `python reuters_losses/train.py` with the flags shown (softmax + "
        "categorical cross-entropy), mean ± std over seeds. Sorted by validation accuracy: "
        "the first row is the one chosen; its test accuracy was not looked at to choose it.\n\n"
        f"{shown.to_markdown(index=False)}\n"
    )
    write_text(Path(args.out) / "summary.md", text)
    print(text)
    raise_if_failed(failures, len(grid))


if __name__ == "__main__":
    run_cli(main)
