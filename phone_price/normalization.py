"""Input normalization fitted on the training split only, stored as plain JSON with the model.

Modes:
    global       subtract the single mean of the whole training matrix, divide by its single std
                 (what the original phone-price homework did: large-valued columns such as RAM
                 keep their large spread, small ones are squashed towards zero)
    per-feature  standardize each column to mean 0, std 1
    none         leave the inputs as they are
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from common.files import read_json, write_json
from common.validation import check_choice

MODES = ("global", "per-feature", "none")


def fit_normalization(x: np.ndarray, mode: str) -> dict:
    """Statistics of ``x`` (the training split) for ``mode``, as a JSON-ready dict."""
    check_choice("normalization", mode, MODES)
    x = np.asarray(x, dtype=np.float64)
    if mode == "global":
        mean, std = x.mean(), x.std()
    elif mode == "per-feature":
        mean, std = x.mean(axis=0), x.std(axis=0)
    else:
        mean, std = np.zeros(x.shape[1]), np.ones(x.shape[1])
    std = np.where(np.asarray(std) > 0, std, 1.0)  # a constant column stays constant, not NaN
    return {"mode": mode, "mean": np.atleast_1d(mean).tolist(), "std": np.atleast_1d(std).tolist()}


def apply_normalization(x: np.ndarray, stats: dict) -> np.ndarray:
    """``(x - mean) / std`` with the fitted statistics, as float32."""
    mean = np.asarray(stats["mean"], dtype=np.float64)
    std = np.asarray(stats["std"], dtype=np.float64)
    return ((np.asarray(x, dtype=np.float64) - mean) / std).astype(np.float32)


def save_normalization(stats: dict, path: str | Path) -> None:
    write_json(path, stats)


def load_normalization(path: str | Path) -> dict:
    return read_json(path)
