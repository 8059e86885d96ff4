"""What each lever of the CPU preset gives: one training run per row, each row adding one lever
to the row above, every run scored on the validation faces with and without test-time flip
averaging (the last lever, which needs no training), with the true-point boxes and with the
run's face detector.

    python landmarks/ablation.py                   # trains the rows still missing, then the table
    python landmarks/ablation.py --rows 0 2        # only some rows
    python landmarks/ablation.py --table-only      # the table of the rows already complete

Every row is a landmarks/train.py run at the CPU preset's image size and backbone (a rerun skips
complete rows whose settings match). Rows 0 to 2 each add one lever, row 2 being the CPU preset
itself in the preset's own folder; the rows after it are levers tried on top of the preset. A
row without a complete run of the current code is listed as not run. Writes <out>/summary.md and
summary.csv.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from common.cli import add_data_dir_flag, command_line, new_parser, run_cli
from common.paths import shown
from landmarks import train

# (label, run folder, the flags that differ from the preset); each row adds one lever, and the
# last is the CPU preset. TRIED: levers measured on top of the preset and not kept.
HOMEWORK = ["--head", "sigmoid", "--schedule", "plateau", "--lr", "2.5e-4", "--epochs", "80"]
ROWS = [
    ("homework head: Dense(2K, sigmoid), Adam 2.5e-4 halved on plateaus, <= 80 epochs",
     "ablation/0-dense-sigmoid", HOMEWORK),
    ("+ soft-argmax head (heatmaps at stride 8, their expected x, y)",
     "ablation/1-soft-argmax", [*HOMEWORK[2:], "--head", "soft-argmax"]),
    ("+ cosine decay from 1e-3 over 50 epochs (the CPU preset)", "ibug68-small_cnn-128px", []),
    ("on the preset: stride-4 heatmaps (a light decoder with skip connections)",
     "ablation/3-stride-4", ["--heatmap-stride", "4"]),
    ("on the preset: stride-4 heatmaps + rotation up to 30 degrees (not kept: worse)",
     "ablation/4-stride4-rotation", ["--heatmap-stride", "4", "--rotation", "30"]),
]
PRESET_ROW = 2
COLUMNS = {"val_noflip_nme": "NME", "val_flip_nme": "NME, flip test",
           "val_flip_failure_rate_8": "failure > 0.08, flip",
           "val_flip_detector_nme": "NME, detector boxes, flip",
           "val_flip_detector_detected_nme": "NME, detected faces, flip"}


def parse_args(argv=None) -> argparse.Namespace:
    p = new_parser(__doc__)
    add_data_dir_flag(p)
    p.add_argument("--rows", type=int, nargs="+", choices=range(len(ROWS)),
                   default=list(range(len(ROWS))), help="rows to run and show")
    p.add_argument("--seed", type=int, default=0, help="seed of every row")
    p.add_argument("--table-only", action="store_true",
                   help="train nothing: the table of the rows already complete")
    from common.sweep import add_sweep_flags

    add_sweep_flags(p)
    p.add_argument("--results", default=str(train.RESULTS), help="folder of the run folders")
    p.add_argument("--out", default=str(train.RESULTS / "ablation"), help="summary folder")
    return p.parse_args(argv)


def row_config(args, row: int) -> dict:
    _, folder, flags = ROWS[row]
    argv = [*flags, "--flip-test", "--seed", str(args.seed), "--quiet",
            "--out", str(Path(args.results) / folder)]
    return {**vars(train.parse_args(argv)), "data_dir": args.data_dir}


def scored(run_dir: Path, data_dir, *, flip: bool, boxes: str) -> dict:
    """The run's validation metrics with or without the flip test, true or detector boxes,
    computed once and kept in the run folder (evaluation_<split>.json)."""
    from common.runs import read_json, write_json
    from landmarks.datasets import recorded_split
    from landmarks.inference import Predictor
    from landmarks.scoring import score_faces

    split = f"val_{'flip' if flip else 'noflip'}" + ("_detector" if boxes == "detector" else "")
    saved = run_dir / f"evaluation_{split}.json"
    if saved.exists():
        return read_json(saved)
    config = {**read_json(run_dir / "config.json"), "data_dir": data_dir}
    data = recorded_split(config, read_json(run_dir / "split.json"))
    result, _, _ = score_faces(Predictor.from_run(run_dir, flip_test=flip), data,
                               mean_shape=read_json(run_dir / "mean_shape.json")["points"],
                               split=split, detector=boxes == "detector")
    write_json(saved, result)
    return result


def scores(run_dir: Path, data_dir) -> dict:
    from common.runs import read_json

    result = {}
    for flip in (False, True):
        for boxes in ("truth", "detector"):
            if boxes == "detector" and not (run_dir / "box_mapping.json").exists():
                continue
            result.update(scored(run_dir, data_dir, flip=flip, boxes=boxes))
    timing = read_json(run_dir / "timing.json")
    return {**result, "train_minutes": timing["train_seconds"] / 60,
            "epochs_run": read_json(run_dir / "metrics.json")["epochs_run"]}


def main(argv=None) -> None:
    args = parse_args(argv)
    import pandas as pd

    from common.runs import run_state, write_csv, write_text
    from common.sweep import raise_if_failed, run_configs, sweep_kwargs

    configs = [row_config(args, row) for row in args.rows]
    failures = {} if args.table_only else run_configs(train.run, configs, **sweep_kwargs(args))
    rows = []
    for row, config in zip(args.rows, configs):
        run_dir = Path(config["out"])
        entry = {"lever": ROWS[row][0], "run": f"`{run_dir.name}`"}
        if run_state(run_dir, config) != "complete":
            rows.append({**entry, **{title: "not run" for title in COLUMNS.values()}})
            continue
        saved = scores(run_dir, args.data_dir)
        rows.append({**entry, **{title: f"{100 * saved[key]:.2f}%" if key in saved else "n/a"
                                 for key, title in COLUMNS.items()},
                     "epochs run": int(saved["epochs_run"]),
                     "training minutes": f"{saved['train_minutes']:.0f}"})
    table = pd.DataFrame(rows).astype(object).fillna("")  # a row not run has no epochs either
    out = Path(args.out)
    write_csv(out / "summary.csv", table)
    text = (f"# Landmarks: the CPU preset's levers, one per row\n\nProduced by "
            f"`{command_line('landmarks/ablation.py', argv)}`. ibug68 validation faces "
            "(person-disjoint), seed 0, small_cnn at 128 px; the checkpoint kept in training "
            "(lowest validation NME), scored without and with the flip test, with crops around "
            "the true points and from the HOG detector (all faces: the undetected ones on the "
            "fallback box; and the detected faces alone); training minutes are the epochs' wall "
            "time (timing.json) on this 2-core machine, shared with other work. \"not run\": no "
            f"complete run of the current code in {shown(train.RESULTS)}.\n\n"
            + table.to_markdown(index=False) + "\n")
    write_text(out / "summary.md", text)
    print(text)
    raise_if_failed(failures, len(configs))


if __name__ == "__main__":
    run_cli(main)
