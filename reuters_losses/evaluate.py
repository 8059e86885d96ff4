"""Score a trained Reuters run on Keras' test split: accuracy, macro F1, top-3, confusions.

    python reuters_losses/evaluate.py \
        results/reuters_losses/adam-20ep/softmax-categorical_crossentropy-seed0

Uses the run's kept checkpoint. Prints the figures, then writes evaluation.json, evaluation.md
and confusion.png into the run folder (or --out).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from common.cli import (
    add_data_dir_flag,
    new_parser,
    positive_int,
    print_metrics,
    run_cli,
)
from common.files import write_json, write_text
from common.runs import check_writable_folder
from reuters_losses.run import ReutersRun


def parse_args(argv=None) -> argparse.Namespace:
    p = new_parser(__doc__)
    p.add_argument("run", help="run folder written by reuters_losses/train.py or sweep.py")
    add_data_dir_flag(p)
    p.add_argument("--top", type=positive_int, default=10, help="confused topic pairs to list")
    p.add_argument("--out", default=None,
                   help="folder for the evaluation files (default: <run>/evaluate, which git "
                        "ignores)")
    return p.parse_args(argv)


def most_confused(cm, top: int):
    """The ``top`` largest off-diagonal cells of a confusion matrix: a DataFrame of true topic,
    predicted topic, count."""
    import numpy as np
    import pandas as pd

    off = cm.copy()
    np.fill_diagonal(off, 0)
    order = np.argsort(off, axis=None)[::-1][:top]
    true, pred = np.unravel_index(order, cm.shape)
    frame = pd.DataFrame({"true topic": true, "predicted topic": pred, "wires": off[true, pred]})
    return frame[frame["wires"] > 0]


def main(argv=None) -> None:
    args = parse_args(argv)
    run_dir = Path(args.run)
    run = ReutersRun.open(run_dir)
    config, model = run.config, run.model
    import pandas as pd
    from sklearn.metrics import confusion_matrix

    from common.plotting import plot_confusion_matrix
    from reuters_losses.data import NUM_CLASSES
    from reuters_losses.metrics import scores

    data = run.data(args.data_dir)
    out = check_writable_folder(args.out or run_dir / "evaluate")
    outputs = model.predict(data["x_test"], verbose=0)
    labels = data["labels_test"]
    result = scores(labels, outputs)
    print_metrics(run_dir, result)
    write_json(out / "evaluation.json", result)

    cm = confusion_matrix(labels, outputs.argmax(axis=1), labels=range(NUM_CLASSES))
    plot_confusion_matrix(cm, list(range(NUM_CLASSES)), out / "confusion.png",
                          title=f"{config['activation']} + {config['loss']}")
    table = pd.DataFrame([result]).to_markdown(index=False, floatfmt=".4f")
    confused = most_confused(cm, args.top).to_markdown(index=False)
    text = (f"# {run_dir.name} on the test split ({len(labels)} wires)\n\n{table}\n\n"
            f"Most confused topic pairs:\n\n{confused}\n")
    write_text(out / "evaluation.md", text)
    print(text)


def cli() -> None:
    """The console entry point (pyproject.toml's [project.scripts])."""
    run_cli(main)


if __name__ == "__main__":
    cli()
