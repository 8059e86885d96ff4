"""A trained phone-price run folder, opened and checked once: its config, split rows,
normalization, model and metrics, and the labeled rows its split indexes.

    run = PhoneRun.open("results/phone_price/classification-global-seed0")
    x, y = run.labeled_rows()            # the CSV it was trained on, checked against its hash
    predicted = predict_classes(run.model, apply_normalization(x[run.split["test"]],
                                                               run.normalization))
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path

import numpy as np

from common.errors import UserError
from common.files import read_json
from common.runs import RunFolder

TRAINER = "phone_price/train.py"


def read_split_rows(path: Path) -> dict[str, np.ndarray]:
    """split.json's ``train`` / ``val`` / ``test`` row indices: lists of whole numbers from 0
    up, or one line saying the file was edited or damaged."""
    record = read_json(path)
    rows = {}
    for name in ("train", "val", "test"):
        values = record.get(name) if isinstance(record, dict) else None
        if not isinstance(values, list) or not all(
                isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in values):
            raise UserError(f"{path}: '{name}' is not a list of row numbers from 0 up; the file "
                            "was edited or damaged: train again")
        rows[name] = np.asarray(values, dtype=np.int64)
    return rows


class PhoneRun(RunFolder):
    """A folder that holds a config.json written by phone_price/train.py."""

    TRAINER, KIND, REQUIRED = TRAINER, "phone-price", ("normalization", "head")

    @cached_property
    def split(self) -> dict[str, np.ndarray]:
        return read_split_rows(self.path / "split.json")

    @cached_property
    def normalization(self) -> dict:
        from phone_price.normalization import load_normalization

        return load_normalization(self.path / "normalization.json")

    @cached_property
    def model(self):
        import phone_price.model  # noqa: F401  registers RoundedAccuracy for loading
        from common.saved_models import load_run_model

        return load_run_model(self.path, TRAINER)

    def labeled_rows(self, data_dir=None) -> tuple[np.ndarray, np.ndarray]:
        """(features, labels) of the CSV the run was trained on (its sha256 checked where it
        recorded one), every split row checked to exist and to be named once."""
        from phone_price.data import load_labeled

        config, rows = self.config, self.split
        if config.get("csv") and config.get("csv_sha256"):
            from common.data import sha256_of

            if not Path(config["csv"]).is_file() or sha256_of(config["csv"]) != \
                    config["csv_sha256"]:
                raise UserError(f"{config['csv']} is not the file {self.path} was trained on "
                                "(its sha256 differs, or it is gone); the recorded split rows "
                                "would point at other phones: train again on the new file")
        x, y = load_labeled(config.get("csv"), data_dir or config.get("data_dir"))
        if max(int(v.max()) for v in rows.values() if len(v)) >= len(y):
            raise UserError(f"{self.path}/split.json names rows the data does not have "
                            f"({len(y)} rows); train again on this file")
        if len(np.unique(np.concatenate(list(rows.values())))) < sum(map(len, rows.values())):
            raise UserError(f"{self.path}/split.json names a row twice (within or across "
                            "splits); it was edited or damaged: train again")
        return x, y
