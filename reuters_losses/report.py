"""The Reuters pages' generated blocks (``common.report``) and the shipped Reuters run
(``common.reproduce``), read from results/reuters_losses only."""

from __future__ import annotations

from common.report import RESULTS, first_table, sweep_grid

SINGLE_RUNS = {"reuters_losses/runs/adam-20ep/softmax-categorical_crossentropy-seed0":
               "python reuters_losses/train.py --optimizer adam"}
REUTERS = RESULTS / "reuters_losses"
BLOCKS = {
    "reuters_test": lambda: sweep_grid(
        {f"{o.upper() if o == 'sgd' else o.capitalize()}, {e} epochs": REUTERS / f"{o}-{e}ep"
         for o in ("sgd", "adam") for e in (20, 100)}, "test_accuracy"),
    "reuters_homework": lambda: sweep_grid(
        {f"SGD, {e} epochs, final epoch": REUTERS / f"sgd-{e}ep-homework" for e in (20, 100)},
        "val_accuracy"),
    "reuters_baselines": lambda: first_table(REUTERS / "baselines" / "summary.md"),
    "reuters_best": lambda: first_table(REUTERS / "best" / "summary.md"),
}
