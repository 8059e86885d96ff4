"""Scores of predicted price classes: accuracy, macro F1, and two that see the classes' order."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import accuracy_score, f1_score, mean_absolute_error


def scores(y_true, y_pred, prefix: str = "") -> dict:
    """``accuracy``, ``macro_f1``, ``mae`` (mean |error| in classes) and ``far_error_rate``
    (share of phones off by two classes or more), each key led by ``prefix``."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    wrong_way = np.where(y_pred < 0, 3, np.abs(y_true - y_pred))  # -1: a diverged output
    result = {
        "accuracy": accuracy_score(y_true, y_pred),
        "macro_f1": f1_score(y_true, y_pred, average="macro", labels=range(4), zero_division=0),
        "mae": mean_absolute_error(y_true, np.where(y_pred < 0, y_true + 3, y_pred)),
        "far_error_rate": float(np.mean(wrong_way >= 2)),
    }
    return {f"{prefix}{k}": float(v) for k, v in result.items()}
