"""Train the Reuters MLP with one output activation / loss pair and write a run folder.

    python reuters_losses/train.py --activation softmax --loss categorical_crossentropy
    python reuters_losses/train.py --activation linear --loss rescaled_mse --optimizer adam
    python reuters_losses/train.py --protocol homework      # validate on the test split (leaky)

Honest protocol (default): 10% of the training wires, stratified and seeded, choose the kept
checkpoint (best val_accuracy); Keras' 2,246 test wires are scored once, on it. ``metrics.json``:
``train_*``/``val_*``/``test_*`` of the kept checkpoint, ``last_*`` of the final epoch.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from common.cli import (
    add_run_flags,
    dropout_rate,
    fraction,
    layer_sizes,
    new_parser,
    number_in,
    positive_float,
    positive_int,
    run_cli,
    train_or_report,
)
from common.paths import repo_path
from common.runs import start_run
from reuters_losses.data import INPUTS

RESULTS = repo_path("results", "reuters_losses")
GRADIENT_BATCH = 512  # the fixed batch: the first 512 training wires
PROTOCOLS = ("honest", "homework")


def add_training_flags(p: argparse.ArgumentParser) -> None:
    """Flags shared by train.py and sweep.py (not the pair, seed and output)."""
    from reuters_losses.options import OPTIMIZER_NAMES, RESCALE_K, RESCALE_M

    p.add_argument("--protocol", choices=PROTOCOLS, default="honest",
                   help="honest: validation carved from the training wires; homework: the test "
                        "split doubles as validation, final-epoch figures (leaky, for "
                        "reproducing the homework only)")
    p.add_argument("--val-fraction", type=fraction, default=0.1,
                   help="honest protocol: share of the training wires held out for validation")
    p.add_argument("--epochs", type=positive_int, default=20, help="training epochs")
    p.add_argument("--batch-size", type=positive_int, default=512, help="mini-batch size")
    p.add_argument("--optimizer", choices=OPTIMIZER_NAMES, default="sgd", help="optimizer")
    p.add_argument("--lr", type=positive_float, default=None,
                   help="learning rate (default: Keras' default for the optimizer, SGD 0.01)")
    p.add_argument("--hidden", type=layer_sizes, default=[64, 64], help="hidden layer sizes")
    p.add_argument("--dropout", type=dropout_rate, default=0.0,
                   help="dropout after each hidden layer")
    p.add_argument("--label-smoothing", type=number_in(float, 0, 1, high_open=True), default=0.0,
                   help="categorical cross-entropy only")
    p.add_argument("--rescale-k", type=positive_float, default=RESCALE_K,
                   help="rescaled_mse: weight k of the true class's term")
    p.add_argument("--rescale-m", type=positive_float, default=RESCALE_M,
                   help="rescaled_mse: target value M of the true class")
    p.add_argument("--num-words", type=number_in(int, 4), default=1000,
                   help="vocabulary: the N most frequent words")
    p.add_argument("--inputs", choices=INPUTS, default="multi-hot",
                   help="multi-hot (the homework's) or tfidf of the same words")


def parse_args(argv=None) -> argparse.Namespace:
    from reuters_losses.options import ACTIVATIONS, LOSSES

    p = new_parser(__doc__)
    p.add_argument("--activation", choices=ACTIVATIONS, default="softmax",
                   help="activation of the 46-unit output layer")
    p.add_argument("--loss", choices=LOSSES, default="categorical_crossentropy", help="loss")
    add_training_flags(p)
    add_run_flags(p, out_help="run folder (default: results/reuters_losses/runs/<optimizer>-"
                              "<epochs>ep/<activation>-<loss>-seed<seed>)")
    p.add_argument("--decode", type=positive_int, default=0, metavar="N",
                   help="print the first N training wires as words and their topic, then exit")
    args = p.parse_args(argv)
    if args.label_smoothing and args.loss != "categorical_crossentropy":
        p.error("argument --label-smoothing: only categorical_crossentropy smooths its labels")
    if args.out is None:
        sweep_dir = RESULTS / "runs" / f"{args.optimizer}-{args.epochs}ep"
        args.out = str(run_folder(sweep_dir, vars(args)))
    return args


def run_folder(root: Path, config: dict) -> Path:
    return Path(root) / f"{config['activation']}-{config['loss']}-seed{config['seed']}"


def run(config: dict, data: dict | None = None) -> dict:
    """Train one pair (config = the flags as a dict) and return the kept checkpoint's metrics."""
    from common import lifecycle
    from reuters_losses.data import load_reuters, protocol_splits
    from reuters_losses.metrics import scores
    from reuters_losses.model import OutputGradientNorm, build_model

    data = data or load_reuters(config.get("data_dir"), config["num_words"], config["inputs"])
    splits = protocol_splits(data, protocol=config["protocol"], seed=config["seed"],
                             val_fraction=config["val_fraction"])
    run_dir = start_run(config["out"], config, overwrite=config.get("overwrite", False))
    lifecycle.set_seed(config["seed"])
    model = build_model(
        config["activation"], config["loss"], num_words=config["num_words"],
        hidden=config["hidden"], dropout=config["dropout"], optimizer=config["optimizer"],
        lr=config["lr"], rescale_k=config["rescale_k"], rescale_m=config["rescale_m"],
        label_smoothing=config["label_smoothing"],
    )
    x_train, y_train, _ = splits["train"]
    batches, steps = lifecycle.shuffled_batches(x_train, y_train, batch_size=config["batch_size"],
                                                seed=config["seed"], epochs=config["epochs"])
    fixed = slice(0, GRADIENT_BATCH)
    honest = config["protocol"] == "honest"
    best, history = lifecycle.fit_and_record(
        model, batches, splits["val"][:2], run_dir, epochs=config["epochs"],
        steps_per_epoch=steps, monitor="val_accuracy" if honest else None, mode="max",
        seed=config["seed"], callbacks=[OutputGradientNorm(x_train[fixed], y_train[fixed])],
        quiet=config.get("quiet", False), curves=("loss", "accuracy"),
        title=f"{config['activation']} + {config['loss']}, {config['optimizer']}",
    )
    metrics = {}
    for split in ("train", "val"):
        x, y, _ = splits[split]
        loss, accuracy = best.evaluate(x, y, batch_size=2048, verbose=0)
        metrics.update({f"{split}_accuracy": accuracy, f"{split}_loss": loss})
    x_test, _, labels_test = splits["test"]
    metrics.update(scores(labels_test, best.predict(x_test, batch_size=2048, verbose=0)))
    last = history.iloc[-1]
    metrics.update({"best_epoch": int(history["best_epoch"].iloc[0]),
                    "last_train_accuracy": last["accuracy"],
                    "last_val_accuracy": last["val_accuracy"],
                    "last_grad_norm": last["grad_norm"]})
    return lifecycle.finish(run_dir, metrics)


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
    train_or_report(config, run)


if __name__ == "__main__":
    run_cli(main)
