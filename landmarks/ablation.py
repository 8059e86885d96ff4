"""What each lever of the CPU preset gives: one training run per row, each row adding one lever
to the row above, every run scored on the validation faces with and without test-time flip
averaging (the last lever, which needs no training), with the true-point boxes and with the
run's face detector.

    python landmarks/ablation.py                   # trains the rows still missing, then the table
    python landmarks/ablation.py --rows 0 2        # only some rows
    python landmarks/ablation.py --table-only      # the table of the rows already complete

Every row is a landmark run at the CPU preset's image size (a rerun skips complete rows whose
settings match): the light CPU preset (row 6, landmarks/config.py) with the row's changes
(ROWS). The presets are rows, in their own folders. A row without a complete run of the current
code is listed as not run. Writes <out>/summary.md and summary.csv.
"""

from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path

from common.cli import add_data_dir_flag, command_line, new_parser, run_cli
from common.paths import shown
from landmarks.config import CPU_LIGHT, PRESETS, RESULTS
from landmarks.run import LandmarkRun

# (label, run folder, the settings that differ from the light CPU preset, CPU_LIGHT: row 6).
# Rows 0 to 2 add one lever each, on the first training pool (AFW + Helen) and the small CNN;
# row 3 is a lever tried on top of row 2 and not kept; row 4 adds LFPW's training faces; row 5
# is a lever tried on row 4; row 6 swaps the small CNN for the ImageNet MobileNetV2; row 7 is a
# second stage on row 6; row 8 is row 6 with the field's augmentation; row 9 is row 7's second
# stage on row 11 (the cascade preset); row 10 is the fast preset, row 6 at 64 px without the
# flip test; row 11 is row 8 over 80 epochs: the CPU preset.
# The split changes with the pool: rows 0 to 3 and rows 4 on are scored on different
# validation faces (the table says which), so only rows on one split compare.
SMALL = {"backbone": "small_cnn", "weights": "none"}
FIRST_POOL = {**SMALL, "subsets": "afw,helen_train"}
LIGHT_DIR = "results/landmarks/ablation/6-mobilenetv2-imagenet"
SECOND_STAGE = {"first_stage": LIGHT_DIR, "weights": f"{LIGHT_DIR}/model.keras", "epochs": 20,
                "lr": 5e-4}
CASCADE = PRESETS["cascade"]
HOMEWORK = {"head": "sigmoid", "schedule": "plateau", "lr": 2.5e-4, "epochs": 80}
ROWS = [
    ("homework head: Dense(2K, sigmoid), Adam 2.5e-4 halved on plateaus, <= 80 epochs",
     "ablation/0-dense-sigmoid", {**FIRST_POOL, **HOMEWORK}),
    ("+ soft-argmax head (heatmaps at stride 8, their expected x, y)",
     "ablation/1-soft-argmax", {**FIRST_POOL, **HOMEWORK, "head": "soft-argmax"}),
    ("+ cosine decay from 1e-3 over 50 epochs (the preset before LFPW)",
     "ablation/2-cosine", FIRST_POOL),
    ("on row 2: stride-4 heatmaps + rotation up to 30 degrees (not kept: worse)",
     "ablation/4-stride4-rotation", {**FIRST_POOL, "heatmap_stride": 4, "rotation": 30.0}),
    ("+ LFPW's 802 training faces (the preset before the ImageNet backbone)",
     "ibug68-small_cnn-128px", SMALL),
    ("on row 4: stride-4 heatmaps (a light decoder with skip connections; not kept: worse)",
     "ablation/5-stride-4", {**SMALL, "heatmap_stride": 4}),
    ("on row 4: MobileNetV2 with ImageNet weights (torchvision's, converted) for the small CNN, "
     "heatmaps at stride 8 from a decoder over its stride-8, 16 and 32 maps",
     LIGHT_DIR.removeprefix("results/landmarks/"), {}),
    ("+ a second stage on the crop aligned to row 6's points (row 6's model fine-tuned on "
     "aligned, lightly jittered crops: 20 epochs, cosine from 5e-4)",
     "ablation/7-second-stage", SECOND_STAGE),
    ("on row 6: the field's augmentation (PIPNet's and HRNet's: shift 12%, scale 25%, half the "
     "faces turned up to 30 degrees, half occluded, blur, colour jitter), same 50 epochs",
     "ablation/8-field-augmentation", {"augmentation": "field"}),
    ("row 7's second stage on row 11's model, with row 11's augmentation (occlusion, blur, "
     "colour jitter) on the aligned crops (the cascade preset, --preset cascade)",
     "ibug68-mobilenetv2-128px-second-stage",
     {"preset": CASCADE.preset, "augmentation": CASCADE.augmentation,
      "first_stage": CASCADE.first_stage, "weights": CASCADE.weights, "epochs": CASCADE.epochs,
      "lr": CASCADE.lr}),
    ("on row 6: 64 px crops, no flip test (the fast preset, --preset fast: one pass of a quarter "
     "of the pixels)", "ibug68-mobilenetv2-64px",
     {"preset": "fast", "image_size": 64, "flip_test": False}),
    ("on row 8: 80 epochs instead of 50, the cosine decay over 80 (the CPU preset)",
     "ibug68-mobilenetv2-128px", {"augmentation": "field", "epochs": 80}),
]
PRESET_ROW = 11
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
    p.add_argument("--results", default=str(RESULTS), help="folder of the run folders")
    p.add_argument("--out", default=str(RESULTS / "ablation"), help="summary folder")
    return p.parse_args(argv)


def row_config(args, row: int):
    """The landmark configuration of one row: the light CPU preset with the row's changes."""
    _, folder, changes = ROWS[row]
    return replace(CPU_LIGHT, **changes, seed=args.seed, quiet=True, data_dir=args.data_dir,
                   out=str(Path(args.results) / folder))


def scored(run: LandmarkRun, data_dir, *, flip: bool, boxes: str) -> dict:
    """The run's validation metrics with or without the flip test, true or detector boxes,
    computed once and kept in the run folder (``LandmarkRun.result_path``)."""
    from common.files import write_json
    from landmarks.run import result_name
    from landmarks.scoring import score_faces

    saved = run.result(flip=flip, boxes=boxes)
    if saved is not None:
        return saved
    result, _, _ = score_faces(run.predictor(flip_test=flip), run.faces("val", data_dir),
                               mean_shape=run.mean_shape,
                               split=result_name(flip=flip, boxes=boxes),
                               detector=boxes == "detector")
    write_json(run.result_path(flip=flip, boxes=boxes), result)
    return result


def scores(run_dir: Path, data_dir) -> dict:
    from common.files import read_json

    run = LandmarkRun.open(run_dir)
    result = {}
    for flip in (False, True):
        for boxes in ("truth", "detector"):
            if boxes == "detector" and run.box_mapping is None:
                continue
            result.update(scored(run, data_dir, flip=flip, boxes=boxes))
    timing = read_json(run_dir / "timing.json")
    return {**result, "train_minutes": timing["train_seconds"] / 60,
            "epochs_run": run.metrics["epochs_run"]}


def main(argv=None) -> None:
    args = parse_args(argv)
    import pandas as pd

    from common.configs import record
    from common.files import write_csv, write_text
    from common.runs import run_state
    from common.sweep import raise_if_failed, run_configs, sweep_kwargs
    from landmarks.training import train

    configs = [row_config(args, row) for row in args.rows]
    failures = {} if args.table_only else run_configs(train, configs, **sweep_kwargs(args))
    rows = []
    for row, config in zip(args.rows, configs):
        run_dir = Path(config.out)
        entry = {"lever": ROWS[row][0], "run": f"`{run_dir.name}`",
                 "training pool": config.subsets.replace(",", " + ")}
        if run_state(run_dir, record(config)) != "complete":
            rows.append({**entry, **{title: "not run" for title in COLUMNS.values()}})
            continue
        saved = scores(run_dir, args.data_dir)
        rows.append({**entry, **{title: f"{100 * saved[key]:.2f}%" if key in saved else "n/a"
                                 for key, title in COLUMNS.items()},
                     "epochs run": int(saved["epochs_run"]),
                     "training minutes": f"{saved['train_minutes']:.0f}"})
    table = pd.DataFrame(rows).astype(object)
    table = table.where(table.notna(), "")  # a row not run has no epochs either
    out = Path(args.out)
    write_csv(out / "summary.csv", table)
    text = (f"# Landmarks: the CPU preset's levers, one per row\n\nProduced by "
            f"`{command_line('landmarks/ablation.py', argv)}`. ibug68 validation faces "
            "(person-disjoint), seed 0, 128 px (row 10: 64 px), the small CNN up to row 5; the "
            "checkpoint kept in training (lowest validation NME), scored without and with the "
            "flip test, with crops around the true points and from the HOG detector (all faces: "
            "the undetected ones on the fallback box; and the detected faces alone); training "
            "minutes are the epochs' wall time (timing.json) on this 2-core machine, shared "
            "with other work. \"not run\": no complete run of the current code in "
            f"{shown(RESULTS)}. Each training pool has its own validation faces (a fifth of its "
            "photos): compare rows of one pool.\n\n"
            + table.to_markdown(index=False) + "\n")
    write_text(out / "summary.md", text)
    print(text)
    raise_if_failed(failures, len(configs))


if __name__ == "__main__":
    run_cli(main)
