"""The models an expert would try before an MLP, fitted on a run's own rows and normalization.

Each family has a small grid; the member with the best validation accuracy is kept and scored on
the test rows, so nothing is chosen on the split that is reported.
"""

from __future__ import annotations

import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.svm import SVC, LinearSVC

from common.selection import best_on_validation, fit_clone

C_GRID = (0.01, 0.1, 1.0, 10.0, 100.0, 1000.0)
BASELINES = {
    "logreg": [LogisticRegression(max_iter=5000)],  # scikit-learn's default C = 1
    "logreg_tuned": [LogisticRegression(C=c, max_iter=20000) for c in C_GRID],
    "linear_svm": [LinearSVC(C=c, max_iter=20000) for c in C_GRID],
    "rbf_svm": [SVC(C=c, gamma=g) for c in C_GRID for g in ("scale", 0.01, 0.1)],
    "hist_gb": [HistGradientBoostingClassifier(learning_rate=lr, max_leaf_nodes=leaves,
                                               random_state=0)
                for lr in (0.05, 0.1) for leaves in (15, 31)],
}


def fit_baseline(name: str, xs: dict, ys: dict):
    """The grid member of ``name`` with the best accuracy on ``xs['val']``, fitted on train."""
    return best_on_validation(BASELINES[name], xs, ys)


def logistic_baseline(x_train, y_train, x_eval) -> np.ndarray:
    """Multinomial logistic regression (scikit-learn defaults, more iterations) predictions."""
    return fit_clone(BASELINES["logreg"][0], x_train, y_train).predict(x_eval)
