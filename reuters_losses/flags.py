"""The training flags that reuters_losses/train.py and sweep.py share (not the pair, the seed
and the output), their defaults those of ``ReutersConfig``."""

from __future__ import annotations

import argparse

from common.cli import dropout_rate, fraction, layer_sizes, number_in, positive_float, positive_int
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
