"""What each lever of the CPU preset gives: one training run per row, each row adding one lever
to the row above, every run scored on the validation faces with and without test-time flip
averaging (the last lever, which needs no training).

    python landmarks/ablation.py                   # trains the rows still missing, then the table
    python landmarks/ablation.py --rows 0 2        # only some rows

Every row is a landmarks/train.py run at the CPU preset's image size and backbone (a rerun skips
complete rows whose settings match). The last row is the CPU preset itself, in the preset's own
folder. Writes <out>/summary.md and summary.csv.
"""

from __future__ import annotations

import argparse
import contextlib
import io
from pathlib import Path

import pandas as pd

from common.cli import HelpFormatter, add_data_dir_flag, command_line, run_cli
from common.runs import read_json, write_csv, write_text
from common.sweep import add_sweep_flags, raise_if_failed, run_configs, sweep_kwargs
from landmarks import evaluate, train

# (label, run folder, the flags that differ from the preset); each row adds one lever.
OLD = ["--head", "sigmoid", "--schedule", "plateau", "--lr", "2.5e-4", "--epochs", "80"]
ROWS = [
    ("homework head: Dense(2K, sigmoid), Adam 2.5e-4 halved on plateaus, <= 80 epochs",
     "ablation/0-dense-sigmoid", OLD),
    ("+ soft-argmax head (heatmaps at stride 8, their expected x, y)",
     "ablation/1-soft-argmax", [*OLD[2:], "--head", "soft-argmax"]),
    ("+ cosine decay from 1e-3 over 60 epochs (the CPU preset)",
     "ibug68-small_cnn-128px", []),
]  # fmt: skip
COLUMNS = {"val_noflip_nme": "NME", "val_noflip_failure_rate_8": "failure > 0.08",
           "val_flip_nme": "NME, flip test", "val_flip_failure_rate_8": "failure > 0.08, flip",
           "val_flip_failure_rate_10": "failure > 0.10, flip"}  # fmt: skip


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=HelpFormatter
    )
    add_data_dir_flag(p)
    p.add_argument("--rows", type=int, nargs="+", choices=range(len(ROWS)),
                   default=list(range(len(ROWS))), help="rows to run and show")
    p.add_argument("--seed", type=int, default=0, help="seed of every row")
    add_sweep_flags(p)
    p.add_argument("--results", default=str(train.RESULTS), help="folder of the run folders")
    p.add_argument("--out", default=str(train.RESULTS / "ablation"), help="summary folder")
    return p.parse_args(argv)


def row_config(args, row: int) -> dict:
    _, folder, flags = ROWS[row]
    argv = [*flags, "--flip-test", "--seed", str(args.seed), "--quiet",
            "--out", str(Path(args.results) / folder)]  # fmt: skip
    return {**vars(train.parse_args(argv)), "data_dir": args.data_dir}


def scores(run_dir: Path, data_dir) -> dict:
    """The run's validation metrics with (as trained) and without the flip test."""
    noflip = run_dir / "evaluation_val_noflip.json"
    if not noflip.exists():
        argv = [str(run_dir), "--flip-test", "off", "--quiet"]
        with contextlib.redirect_stdout(io.StringIO()):  # the table below says it all
            evaluate.main(argv + (["--data-dir", data_dir] if data_dir else []))
    flipped = {k.replace("val_", "val_flip_", 1): v
               for k, v in read_json(run_dir / "metrics.json").items()}  # fmt: skip
    timing = run_dir / "timing.json"  # runs trained before the timing was recorded have none
    minutes = read_json(timing)["train_seconds"] / 60 if timing.exists() else None
    return {**read_json(noflip), **flipped, "train_minutes": minutes}


def main(argv=None) -> None:
    args = parse_args(argv)
    configs = [row_config(args, row) for row in args.rows]
    failures = run_configs(train.run, configs, **sweep_kwargs(args))
    rows = []
    for row, config in zip(args.rows, configs):
        run_dir = Path(config["out"])
        if not (run_dir / "metrics.json").exists():
            continue
        saved = scores(run_dir, args.data_dir)
        rows.append({"lever": ROWS[row][0], "run": f"`{run_dir.name}`",
                     **{title: f"{100 * saved[key]:.2f}%" for key, title in COLUMNS.items()},
                     "epochs run": int(saved["epochs_run"]),
                     "training minutes": "n/a" if saved["train_minutes"] is None
                     else f"{saved['train_minutes']:.0f}"})  # fmt: skip
    table = pd.DataFrame(rows)
    out = Path(args.out)
    write_csv(out / "summary.csv", table)
    text = (f"# Landmarks: the CPU preset's levers, one per row\n\nProduced by "
            f"`{command_line('landmarks/ablation.py', argv)}`. ibug68 validation faces "
            "(person-disjoint), seed 0, small_cnn at 128 px; the checkpoint kept in training "
            "(lowest validation NME), scored without and with the flip test; training minutes "
            "are the epochs' wall time (timing.json) on this 2-core machine, shared with other "
            "runs (n/a: a run older than timing.json).\n\n" + table.to_markdown(index=False) + "\n")
    write_text(out / "summary.md", text)
    print(text)
    raise_if_failed(failures, len(configs))


if __name__ == "__main__":
    run_cli(main)
