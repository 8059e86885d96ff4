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
from dataclasses import replace

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
from common.configs import from_flags, record
from common.errors import ParameterError
from reuters_losses.config import PROTOCOLS, ReutersConfig

DEFAULT = ReutersConfig()


def add_training_flags(p: argparse.ArgumentParser) -> None:
    """Flags shared by train.py and sweep.py (not the pair, seed and output)."""
    from reuters_losses.options import INPUTS, OPTIMIZER_NAMES

    p.add_argument("--protocol", choices=PROTOCOLS, default=DEFAULT.protocol,
                   help="honest: validation carved from the training wires; homework: the test "
                        "split doubles as validation, final-epoch figures (leaky, for "
                        "reproducing the homework only)")
    p.add_argument("--val-fraction", type=fraction, default=DEFAULT.val_fraction,
                   help="honest protocol: share of the training wires held out for validation")
    p.add_argument("--epochs", type=positive_int, default=DEFAULT.epochs,
                   help="training epochs")
    p.add_argument("--batch-size", type=positive_int, default=DEFAULT.batch_size,
                   help="mini-batch size")
    p.add_argument("--optimizer", choices=OPTIMIZER_NAMES, default=DEFAULT.optimizer,
                   help="optimizer")
    p.add_argument("--lr", type=positive_float, default=None,
                   help="learning rate (default: Keras' default for the optimizer, SGD 0.01)")
    p.add_argument("--hidden", type=layer_sizes, default=list(DEFAULT.hidden),
                   help="hidden layer sizes")
    p.add_argument("--dropout", type=dropout_rate, default=DEFAULT.dropout,
                   help="dropout after each hidden layer")
    p.add_argument("--label-smoothing", type=number_in(float, 0, 1, high_open=True),
                   default=DEFAULT.label_smoothing, help="categorical cross-entropy only")
    p.add_argument("--rescale-k", type=positive_float, default=DEFAULT.rescale_k,
                   help="rescaled_mse: weight k of the true class's term")
    p.add_argument("--rescale-m", type=positive_float, default=DEFAULT.rescale_m,
                   help="rescaled_mse: target value M of the true class")
    p.add_argument("--num-words", type=number_in(int, 4), default=DEFAULT.num_words,
                   help="vocabulary: the N most frequent words")
    p.add_argument("--inputs", choices=INPUTS, default=DEFAULT.inputs,
                   help="multi-hot (the homework's) or tfidf of the same words")


def build_parser() -> argparse.ArgumentParser:
    from reuters_losses.options import ACTIVATIONS, LOSSES

    p = new_parser(__doc__)
    p.add_argument("--activation", choices=ACTIVATIONS, default=DEFAULT.activation,
                   help="activation of the 46-unit output layer")
    p.add_argument("--loss", choices=LOSSES, default=DEFAULT.loss, help="loss")
    add_training_flags(p)
    add_run_flags(p, out_help="run folder (default: results/reuters_losses/runs/<optimizer>-"
                              "<epochs>ep/<activation>-<loss>-seed<seed>)")
    p.add_argument("--decode", type=positive_int, default=0, metavar="N",
                   help="print the first N training wires as words and their topic, then exit")
    return p


def parse_config(argv=None) -> tuple[ReutersConfig, int]:
    """The configuration the flags ask for, and ``--decode``'s N (0: train)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        config = from_flags(DEFAULT, args)
    except ParameterError as exc:
        parser.error(f"argument --{exc.param.replace('_', '-')}: {exc}")
    return (config if config.out else replace(config, out=config.default_out())), args.decode


def print_wires(count: int, data_dir, num_words: int) -> None:
    from reuters_losses.data import decode_wire, load_wires, load_word_index

    (wires, topics), _ = load_wires(data_dir, num_words)
    word_index = load_word_index(data_dir)
    for wire, topic in zip(wires[:count], topics[:count]):
        print(f"[topic {topic}] {decode_wire(wire, word_index)}\n")


def main(argv=None) -> None:
    from reuters_losses.training import train

    config, decode = parse_config(argv)
    if decode:
        print_wires(decode, config.data_dir, config.num_words)
        return
    train_or_report(record(config), lambda _: train(config))


if __name__ == "__main__":
    run_cli(main)
