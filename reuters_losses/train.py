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
    config_from_flags,
    new_parser,
    positive_int,
    run_cli,
    train_or_report,
)
from common.configs import record
from reuters_losses.config import ReutersConfig
from reuters_losses.flags import add_training_flags

DEFAULT = ReutersConfig()


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
    config, args = config_from_flags(build_parser(), DEFAULT, argv)
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


def cli() -> None:
    """The console entry point (pyproject.toml's [project.scripts])."""
    run_cli(main)


if __name__ == "__main__":
    cli()
