"""Train the Reuters MLP with one output activation / loss pair and write a run folder.

    python reuters_losses/train.py --activation softmax --loss categorical_crossentropy
    python reuters_losses/train.py --activation softmax --loss mse --optimizer adam --epochs 100

As in the homework, the test split doubles as the validation data (it is what every epoch is
scored on); ``metrics.json`` has the last epoch's figures and the best validation accuracy.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from common.cli import add_data_dir_flag, positive_int, print_metrics, run_cli
from common.plotting import plot_training_curves
from common.runs import epoch_progress, finish_run, set_seed, standard_callbacks, start_run
from reuters_losses.data import load_reuters

RESULTS = Path("results/reuters_losses")
GRADIENT_BATCH = 512  # the fixed batch: the first 512 training wires


def parse_hidden(text: str) -> list[int]:
    try:
        units = [int(u) for u in text.split(",") if u.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated integers, got {text!r}"
        ) from None
    if not units or min(units) < 1:
        raise argparse.ArgumentTypeError(f"expected positive layer sizes, got {text!r}")
    return units


def add_training_flags(p: argparse.ArgumentParser) -> None:
    """Flags shared by train.py and sweep.py."""
    from reuters_losses.model import OPTIMIZERS

    add_data_dir_flag(p)
    p.add_argument("--epochs", type=positive_int, default=20, help="training epochs")
    p.add_argument("--batch-size", type=positive_int, default=512, help="mini-batch size")
    p.add_argument("--optimizer", choices=list(OPTIMIZERS), default="sgd", help="optimizer")
    p.add_argument("--lr", type=float, default=None,
                   help="learning rate (default: Keras' default for the optimizer, SGD 0.01)")
    p.add_argument("--hidden", type=parse_hidden, default=[64, 64], help="hidden layer sizes")
    p.add_argument("--num-words", type=positive_int, default=1000,
                   help="vocabulary: the N most frequent words")


def parse_args(argv=None) -> argparse.Namespace:
    from reuters_losses.model import ACTIVATIONS, LOSSES

    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    p.add_argument("--activation", choices=ACTIVATIONS, default="softmax",
                   help="activation of the 46-unit output layer")
    p.add_argument("--loss", choices=LOSSES, default="categorical_crossentropy", help="loss")
    add_training_flags(p)
    p.add_argument("--seed", type=int, default=0, help="seed for weights and shuffling")
    p.add_argument("--out", default=None,
                   help="run folder (default: results/reuters_losses/runs/<optimizer>-<epochs>ep/"
                        "<activation>-<loss>-seed<seed>)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--decode", type=positive_int, default=0, metavar="N",
                   help="print the first N training wires as words and their topic, then exit")
    args = p.parse_args(argv)
    if args.out is None:
        sweep_dir = RESULTS / "runs" / f"{args.optimizer}-{args.epochs}ep"
        args.out = str(run_folder(sweep_dir, vars(args)))
    return args


def run_folder(root: Path, config: dict) -> Path:
    return Path(root) / f"{config['activation']}-{config['loss']}-seed{config['seed']}"


def run(config: dict, data: dict | None = None) -> dict:
    """Train one pair (config = the flags as a dict) and return its metrics."""
    from reuters_losses.model import OutputGradientNorm, build_model

    data = data or load_reuters(config.get("data_dir"), config["num_words"])
    run_dir = start_run(config["out"], config)
    set_seed(config["seed"])
    model = build_model(config["activation"], config["loss"], config["num_words"],
                        config["hidden"], config["optimizer"], config["lr"])  # fmt: skip
    fixed = slice(0, GRADIENT_BATCH)
    gradient = OutputGradientNorm(data["x_train"][fixed], data["y_train"][fixed], config["loss"])
    callbacks = [gradient, *standard_callbacks(run_dir, monitor="val_accuracy", mode="max")]
    if not config.get("quiet"):
        callbacks.append(epoch_progress())
    model.fit(
        data["x_train"], data["y_train"], validation_data=(data["x_test"], data["y_test"]),
        epochs=config["epochs"], batch_size=config["batch_size"], callbacks=callbacks, verbose=0,
    )  # fmt: skip
    history = pd.read_csv(run_dir / "history.csv")
    plot_training_curves(history, ["loss", "accuracy"], run_dir / "curves.png",
                         title=f"{config['activation']} + {config['loss']}, {config['optimizer']}")
    last = history.iloc[-1]
    metrics = {
        "train_accuracy": last["accuracy"], "val_accuracy": last["val_accuracy"],
        "best_val_accuracy": history["val_accuracy"].max(),
        "best_epoch": int(history["val_accuracy"].idxmax()) + 1,
        "train_loss": last["loss"], "val_loss": last["val_loss"],
        "train_grad_norm": last["grad_norm"],
    }  # fmt: skip
    finish_run(run_dir, metrics)
    return metrics


def print_wires(count: int, data_dir, num_words: int) -> None:
    from reuters_losses.data import decode_wire, load_wires, load_word_index

    (wires, topics), _ = load_wires(data_dir, num_words)
    word_index = load_word_index(data_dir)
    for wire, topic in zip(wires[:count], topics[:count]):
        print(f"[topic {topic}] {decode_wire(wire, word_index)}\n")


def main(argv=None) -> None:
    config = vars(parse_args(argv))
    if config["decode"]:
        print_wires(config["decode"], config["data_dir"], config["num_words"])
        return
    print_metrics(config["out"], run(config))


if __name__ == "__main__":
    run_cli(main)
