"""The settings of one Reuters run, as data: ``ReutersConfig`` (its defaults are the homework's
network: multi-hot of the 1,000 commonest words → 64 → 64 → Dense(46, softmax), categorical
cross-entropy, SGD, batch 512, 20 epochs, the honest protocol).

    from dataclasses import replace
    from reuters_losses.config import ReutersConfig
    from reuters_losses.training import train

    metrics = train(replace(ReutersConfig(), activation="sigmoid", loss="mse"), out="runs/x")
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from common.configs import place
from common.errors import ParameterError
from common.paths import repo_path
from common.validation import check_choice, check_number
from reuters_losses.options import (
    ACTIVATIONS,
    INPUTS,
    LOSSES,
    OPTIMIZER_NAMES,
    RESCALE_K,
    RESCALE_M,
)

RESULTS = repo_path("results", "reuters_losses")
PROTOCOLS = ("honest", "homework")


@dataclass(frozen=True)
class ReutersConfig:
    activation: str = "softmax"
    loss: str = "categorical_crossentropy"
    protocol: str = "honest"  # homework: the test split doubles as validation (leaky)
    val_fraction: float = 0.1
    epochs: int = 20
    batch_size: int = 512
    optimizer: str = "sgd"
    lr: float | None = None  # None: Keras' default for the optimizer (SGD 0.01)
    hidden: tuple[int, ...] = (64, 64)
    dropout: float = 0.0
    label_smoothing: float = 0.0
    rescale_k: float = RESCALE_K
    rescale_m: float = RESCALE_M
    num_words: int = 1000
    inputs: str = "multi-hot"
    data_dir: str | None = place()
    seed: int = 0
    out: str | None = place()
    overwrite: bool = place(False)
    quiet: bool = place(False)

    def __post_init__(self):
        check_choice("activation", self.activation, ACTIVATIONS)
        check_choice("loss", self.loss, LOSSES)
        check_choice("protocol", self.protocol, PROTOCOLS)
        check_choice("optimizer", self.optimizer, OPTIMIZER_NAMES)
        check_choice("inputs", self.inputs, INPUTS)
        check_number("val_fraction", self.val_fraction, low=1e-9, high=1 - 1e-9)
        for name in ("epochs", "batch_size"):
            check_number(name, getattr(self, name), low=1, integer=True)
        check_number("num_words", self.num_words, low=4, integer=True)
        if self.lr is not None:
            check_number("lr", self.lr, low=1e-12)
        check_number("dropout", self.dropout, low=0, high=0.999999)
        check_number("label_smoothing", self.label_smoothing, low=0, high=0.999999)
        for name in ("rescale_k", "rescale_m"):
            check_number(name, getattr(self, name), low=1e-12)
        object.__setattr__(self, "hidden", tuple(self.hidden))
        if self.label_smoothing and self.loss != "categorical_crossentropy":
            raise ParameterError("label_smoothing", "only categorical_crossentropy smooths its "
                                                    "labels")

    def run_name(self) -> str:
        return f"{self.activation}-{self.loss}-seed{self.seed}"

    def default_out(self) -> str:
        """results/reuters_losses/runs/<optimizer>-<epochs>ep/<activation>-<loss>-seed<seed>."""
        return str(Path(RESULTS, "runs", f"{self.optimizer}-{self.epochs}ep", self.run_name()))
