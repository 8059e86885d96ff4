"""The settings of one phone price-range run, as data: ``PhoneConfig`` (its defaults are the
homework's MLP: 300-200-150-50, dropout 0.2, softmax, SGD with Nesterov momentum, 200 epochs).

    from dataclasses import replace
    from phone_price.config import PhoneConfig
    from phone_price.training import train

    metrics = train(replace(PhoneConfig(), head="ordinal", epochs=20), out="runs/ordinal")
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from common.configs import place
from common.errors import ParameterError
from common.paths import repo_path
from common.validation import check_choice, check_number
from phone_price.normalization import MODES
from phone_price.options import HEADS, OPTIMIZERS

RESULTS = repo_path("results", "phone_price")


@dataclass(frozen=True)
class PhoneConfig:
    csv: str | None = None  # a labeled CSV in Kaggle's format; None: Kaggle's train.csv
    head: str = "classification"
    normalization: str = "global"
    epochs: int = 200
    batch_size: int = 32
    optimizer: str = "sgd"
    lr: float = 0.001
    hidden: tuple[int, ...] = (300, 200, 150, 50)
    dropout: float = 0.2
    l2: float = 0.0
    patience: int = 0  # 0: no early stopping
    test_size: float = 0.2
    val_size: float = 0.2
    cv: int = 0  # K > 1: stratified K-fold on the non-test rows
    data_dir: str | None = place()
    seed: int = 0
    out: str | None = place()
    overwrite: bool = place(False)
    quiet: bool = place(False)
    csv_sha256: str | None = None  # the CSV's content, not its name, is part of the identity

    def __post_init__(self):
        check_choice("head", self.head, HEADS)
        check_choice("normalization", self.normalization, MODES)
        check_choice("optimizer", self.optimizer, OPTIMIZERS)
        for name in ("epochs", "batch_size"):
            check_number(name, getattr(self, name), low=1, integer=True)
        for name in ("patience", "cv"):
            check_number(name, getattr(self, name), low=0, integer=True)
        check_number("lr", self.lr, low=1e-12)
        check_number("dropout", self.dropout, low=0, high=0.999999)
        check_number("l2", self.l2, low=0)
        for name in ("test_size", "val_size"):
            check_number(name, getattr(self, name), low=1e-9, high=1 - 1e-9)
        if not all(isinstance(u, int) and u > 0 for u in self.hidden):
            raise ParameterError("hidden", f"hidden layer sizes must be positive integers, got "
                                           f"{list(self.hidden)}")
        object.__setattr__(self, "hidden", tuple(self.hidden))
        if self.cv == 1:
            raise ParameterError("cv", "cv must be 0 (off) or at least 2, got 1")
        if self.csv and self.csv_sha256 is None:
            from common.data import sha256_of

            if not Path(self.csv).is_file():
                raise ParameterError("csv", f"{self.csv} not found; give the path of a CSV in "
                                            "Kaggle's format (battery_power, blue, …, "
                                            "price_range)")
            object.__setattr__(self, "csv_sha256", sha256_of(self.csv))

    def default_out(self) -> str:
        """results/phone_price/<head>-<normalization>-seed<seed>."""
        return str(RESULTS / f"{self.head}-{self.normalization}-seed{self.seed}")
