"""Choosing among scikit-learn models on the validation split only (the baselines of two
experiments): nothing is chosen on the split that is reported."""

from __future__ import annotations

import sys
import warnings

import numpy as np
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning


def fit_clone(model, x, y):
    """A fitted clone of ``model``. scikit-learn's multi-line ConvergenceWarning (a solver that
    stopped at ``max_iter``) becomes one line on stderr: the fit stands as it is, and says so."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        fitted = clone(model).fit(x, y)
    others = [w for w in caught if not issubclass(w.category, ConvergenceWarning)]
    for w in others:  # every other warning is shown as it would have been
        warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    if len(others) < len(caught):
        print(f"note: {model} stopped at its iteration limit before converging; its score is "
              "that of the fit as it stopped", file=sys.stderr)
    return fitted


def best_on_validation(models, xs: dict, ys: dict):
    """The member of ``models`` with the best accuracy on ``xs['val']``, fitted (a clone) on
    ``xs['train']``; ties keep the earlier, simpler member."""
    best, best_accuracy = None, -1.0
    for candidate in models:
        model = fit_clone(candidate, xs["train"], ys["train"])
        accuracy = float(np.mean(model.predict(xs["val"]) == ys["val"]))
        if accuracy > best_accuracy:
            best, best_accuracy = model, accuracy
    return best
