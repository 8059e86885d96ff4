"""Train the phone price-range MLP, keep the best-validation checkpoint, score it on val and test.

    python phone_price/train.py                      # the homework's setting, seed 0
    python phone_price/train.py --head ordinal       # CORAL: 3 rank-consistent sigmoids
    python phone_price/train.py --csv my_phones.csv  # your own file in Kaggle's format
    python phone_price/train.py --cv 5               # stratified 5-fold, mean ± std
"""

from __future__ import annotations

import argparse
from dataclasses import replace

from common.cli import (
    add_run_flags,
    config_from_flags,
    dropout_rate,
    fraction,
    layer_sizes,
    new_parser,
    non_negative_int,
    number_in,
    positive_float,
    positive_int,
    run_cli,
    train_or_report,
)
from common.configs import record
from phone_price.config import PhoneConfig
from phone_price.normalization import MODES
from phone_price.options import HEADS, OPTIMIZERS

DEFAULT = PhoneConfig()


def build_parser() -> argparse.ArgumentParser:
    p = new_parser(__doc__)
    p.add_argument("--csv", default=None,
                   help="your labeled CSV (Kaggle's 20 columns + price_range); default: Kaggle's "
                        "train.csv under the data root")
    p.add_argument("--head", choices=HEADS, default=DEFAULT.head,
                   help="softmax + cross-entropy, 1 linear neuron + MSE, or ordinal (CORAL)")
    p.add_argument("--normalization", choices=MODES, default=DEFAULT.normalization,
                   help="input scaling fitted on the training split "
                        "(see phone_price/normalization.py)")
    p.add_argument("--epochs", type=positive_int, default=DEFAULT.epochs, help="training epochs")
    p.add_argument("--batch-size", type=positive_int, default=DEFAULT.batch_size,
                   help="mini-batch size")
    p.add_argument("--optimizer", choices=OPTIMIZERS, default=DEFAULT.optimizer,
                   help="sgd (momentum 0.9, Nesterov: the homework's) or adam")
    p.add_argument("--lr", type=positive_float, default=DEFAULT.lr, help="learning rate")
    p.add_argument("--hidden", type=layer_sizes, default=list(DEFAULT.hidden),
                   help="hidden layer sizes, comma-separated; none: no hidden layer")
    p.add_argument("--dropout", type=dropout_rate, default=DEFAULT.dropout,
                   help="dropout after each hidden layer, in [0, 1)")
    p.add_argument("--l2", type=number_in(float, 0), default=DEFAULT.l2,
                   help="L2 penalty on kernels")
    p.add_argument("--patience", type=non_negative_int, default=DEFAULT.patience,
                   help="stop after this many epochs without a better val_accuracy (0: never)")
    p.add_argument("--test-size", type=fraction, default=DEFAULT.test_size,
                   help="held-out test fraction")
    p.add_argument("--val-size", type=fraction, default=DEFAULT.val_size,
                   help="validation fraction of the non-test rows")
    p.add_argument("--cv", type=non_negative_int, default=DEFAULT.cv,
                   help="K>1: stratified K-fold on the non-test rows, report mean ± std")
    add_run_flags(p, out_help="run folder (default: results/phone_price/<head>-<normalization>-"
                              "seed<seed>)")
    return p


def parse_config(argv=None) -> PhoneConfig:
    """The configuration the flags ask for (bad values refused in argparse's words)."""
    config, _ = config_from_flags(build_parser(), DEFAULT, argv)
    return config if config.out else replace(config, out=config.default_out())


def main(argv=None) -> None:
    from phone_price.training import train

    config = parse_config(argv)
    train_or_report(record(config), lambda _: train(config))


def cli() -> None:
    """The console entry point (pyproject.toml's [project.scripts])."""
    run_cli(main)


if __name__ == "__main__":
    cli()
