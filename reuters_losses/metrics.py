"""Scores of topic predictions: accuracy, macro F1 over the 46 topics, top-3 accuracy."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import accuracy_score, f1_score, top_k_accuracy_score

from reuters_losses.data import NUM_CLASSES


def scores(labels: np.ndarray, outputs: np.ndarray, prefix: str = "test_") -> dict:
    """``<prefix>accuracy``, ``<prefix>macro_f1`` and ``<prefix>top3_accuracy`` of ``outputs``
    [N, 46] (any activation: only their order matters) against integer ``labels``."""
    outputs = np.nan_to_num(outputs, nan=0.0, posinf=1e30, neginf=-1e30)  # a diverged network
    predicted = outputs.argmax(axis=1)
    return {
        f"{prefix}accuracy": float(accuracy_score(labels, predicted)),
        f"{prefix}macro_f1": float(f1_score(labels, predicted, average="macro",
                                            labels=np.arange(NUM_CLASSES), zero_division=0)),
        f"{prefix}top3_accuracy": float(top_k_accuracy_score(labels, outputs, k=3,
                                                             labels=np.arange(NUM_CLASSES))),
    }
