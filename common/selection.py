"""Choosing among scikit-learn models on the validation split only (the baselines of two
experiments): nothing is chosen on the split that is reported."""

from __future__ import annotations

import numpy as np
from sklearn.base import clone


def best_on_validation(models, xs: dict, ys: dict):
    """The member of ``models`` with the best accuracy on ``xs['val']``, fitted (a clone) on
    ``xs['train']``; ties keep the earlier, simpler member."""
    best, best_accuracy = None, -1.0
    for candidate in models:
        model = clone(candidate).fit(xs["train"], ys["train"])
        accuracy = float(np.mean(model.predict(xs["val"]) == ys["val"]))
        if accuracy > best_accuracy:
            best, best_accuracy = model, accuracy
    return best
