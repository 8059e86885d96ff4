"""Score a trained phone-price run, compare it with logistic regression, or predict test.csv.

    python phone_price/evaluate.py results/phone_price/classification-global-seed0
    python phone_price/evaluate.py RUN --predict ../shared/data/phone_price/test.csv

Scores are on the run's own held-out test split (rows recorded in its split.json) with its own
normalization; the logistic-regression baseline is fitted on the identical training rows.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from common.cli import add_data_dir_flag, new_parser, print_metrics, run_cli
from common.errors import UserError
from common.files import write_csv, write_json, write_text
from common.runs import check_writable_folder
from phone_price.data import CLASSES, FEATURES, ID, LABEL, read_phone_csv
from phone_price.normalization import apply_normalization
from phone_price.run import PhoneRun


def parse_args(argv=None) -> argparse.Namespace:
    p = new_parser(__doc__)
    p.add_argument("run", help="run folder written by phone_price/train.py")
    add_data_dir_flag(p)
    p.add_argument("--split", choices=["val", "test"], default="test", help="split to score")
    p.add_argument("--predict", default=None,
                   help="unlabeled CSV (id + 20 features) to predict instead of scoring")
    p.add_argument("--output", default=None,
                   help="predictions CSV (default: <run>/evaluate/predictions.csv)")
    p.add_argument("--out", default=None,
                   help="folder for the evaluation files (default: <run>/evaluate, which git "
                        "ignores)")
    return p.parse_args(argv)


def predict_file(run_dir: Path, csv_path, output):
    """Write ``id,price_range`` for every row of an unlabeled CSV; return the DataFrame."""
    import pandas as pd

    from phone_price.model import predict_classes

    if not Path(csv_path).is_file():
        raise UserError(f"{csv_path} not found; give the path of an unlabeled CSV in Kaggle's "
                        f"format ({ID}, {', '.join(FEATURES[:2])}, …)", param="predict")
    frame = read_phone_csv(csv_path, labeled=False)
    if Path(output).is_dir():
        raise UserError(f"{output} is a folder; give the path of the CSV file to write "
                        f"(e.g. {Path(output) / 'predictions.csv'})", param="output")
    check_writable_folder(Path(output).parent)
    run = PhoneRun.open(run_dir)
    x = apply_normalization(frame[FEATURES].to_numpy(np.float32), run.normalization)
    predictions = pd.DataFrame({ID: frame[ID], LABEL: predict_classes(run.model, x)})
    write_csv(output, predictions)
    return predictions


def evaluate(run_dir: Path, split: str, data_dir=None, out: Path | None = None) -> dict:
    """Model and logistic regression on the run's split (its own rows, normalization and CSV);
    prints the figures, then writes evaluation_<split>.{json,md} and a confusion PNG."""
    import pandas as pd
    from sklearn.metrics import classification_report, confusion_matrix

    from common.plotting import plot_confusion_matrix
    from phone_price.baselines import logistic_baseline
    from phone_price.metrics import scores
    from phone_price.model import predict_classes

    out = check_writable_folder(out or run_dir / "evaluate")
    run = PhoneRun.open(run_dir)
    x, y = run.labeled_rows(data_dir)
    rows, model, stats = run.split, run.model, run.normalization
    x_train = apply_normalization(x[rows["train"]], stats)
    x_eval = apply_normalization(x[rows[split]], stats)
    y_eval = y[rows[split]]
    predicted = predict_classes(model, x_eval)
    baseline = logistic_baseline(x_train, y[rows["train"]], x_eval)

    result = scores(y_eval, predicted, prefix=f"{split}_")
    result.update(scores(y_eval, baseline, prefix=f"{split}_logreg_"))
    print_metrics(run_dir, result)
    write_json(out / f"evaluation_{split}.json", result)

    cm = confusion_matrix(y_eval, predicted, labels=range(len(CLASSES)))
    plot_confusion_matrix(cm, CLASSES, out / f"confusion_{split}.png",
                          title=f"{split} split, {len(y_eval)} phones")
    report = classification_report(y_eval, predicted, labels=range(len(CLASSES)),
                                   target_names=CLASSES, digits=3, zero_division=0)
    table = pd.DataFrame(
        {"model": [run_dir.name, "logistic regression"],
         "accuracy": [result[f"{split}_accuracy"], result[f"{split}_logreg_accuracy"]],
         "macro F1": [result[f"{split}_macro_f1"], result[f"{split}_logreg_macro_f1"]]}
    )
    text = (
        f"# {run_dir.name}: {split} split ({len(y_eval)} rows)\n\n"
        f"Same rows and normalization ({stats['mode']}) for both models.\n\n"
        f"{table.to_markdown(index=False, floatfmt='.4f')}\n\n"
        f"Per-class report of the network:\n\n```\n{report}```\n"
    )
    write_text(out / f"evaluation_{split}.md", text)
    print(text)
    return result


def main(argv=None) -> None:
    args = parse_args(argv)
    run_dir = Path(args.run)
    PhoneRun.open(run_dir)  # one line, before anything, for a folder that is not a phone run
    if args.predict:
        output = args.output or run_dir / "evaluate" / "predictions.csv"
        predictions = predict_file(run_dir, args.predict, output)
        print(f"wrote {len(predictions)} predictions to {output}")
    else:
        evaluate(run_dir, args.split, args.data_dir, Path(args.out) if args.out else None)


def cli() -> None:
    """The console entry point (pyproject.toml's [project.scripts])."""
    run_cli(main)


if __name__ == "__main__":
    cli()
