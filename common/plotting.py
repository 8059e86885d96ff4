"""Headless matplotlib figures shared by the experiments: training curves and confusion matrices."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from common.files import atomic_path  # noqa: E402

# Okabe and Ito's colour-blind-safe palette (no red beside green), and a grey: one order
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442",
           "#000000", "#999999")


def save_figure(fig, path: str | Path, *, dpi: int = 110, tight: bool = True) -> None:
    """Save atomically (temporary name, then rename) and close the figure."""
    extra = {"bbox_inches": "tight"} if tight else {}
    try:
        atomic_path(Path(path), lambda tmp: fig.savefig(tmp, dpi=dpi, format="png", **extra))
    finally:
        plt.close(fig)


def plot_training_curves(history: pd.DataFrame, metrics: list[str], path, title: str = "",
                         best_epoch: int | None = None) -> None:
    """One panel per metric: training (solid) against validation (dashed) by epoch (counted
    from 1), the kept epoch marked."""
    fig, axes = plt.subplots(1, len(metrics), figsize=(5 * len(metrics), 3.6), squeeze=False,
                             layout="constrained")
    epochs = np.arange(1, len(history) + 1)
    from matplotlib.ticker import MaxNLocator

    marker = "o" if len(history) < 3 else None  # a line through one point is not drawn
    for ax, name in zip(axes[0], metrics):
        ax.plot(epochs, history[name], color=PALETTE[0], marker=marker, label="train")
        if f"val_{name}" in history:
            ax.plot(epochs, history[f"val_{name}"], "--", color=PALETTE[1], marker=marker,
                    label="validation")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        if marker:
            ax.set_xlim(0.5, len(history) + 0.5)
            ax.set_xticks(epochs)
        notes = [f"{label}: not a finite number in {count} of {len(history)} epochs"
                 for label, column in (("train", name), ("validation", f"val_{name}"))
                 if column in history
                 and (count := int((~np.isfinite(history[column].to_numpy(float))).sum()))]
        if notes:  # a diverged run: say so where the curve is missing, not a blank panel
            ax.text(0.5, 0.5, "\n".join(notes) + "\n(the run diverged: NaN or inf)",
                    transform=ax.transAxes, ha="center", va="center", fontsize=8,
                    bbox={"facecolor": "white", "edgecolor": "0.6"})
        if best_epoch:
            ax.axvline(best_epoch, color="0.5", lw=0.8, ls=":", label=f"kept (epoch {best_epoch})")
        ax.set_xlabel("epoch")
        ax.set_ylabel(name, labelpad=6)
        ax.grid(alpha=0.3)
        ax.legend()
    if title:
        fig.suptitle(title)
    save_figure(fig, path)


def plot_confusion_matrix(cm: np.ndarray, labels, path, title: str = "") -> None:
    """Counts in each cell; rows are the true class, columns the predicted class."""
    cm = np.asarray(cm)
    size = max(3.5, 0.35 * len(labels) + 2)
    fig, ax = plt.subplots(figsize=(size, size))
    ax.imshow(cm, cmap="Blues")
    ax.set_xticks(range(len(labels)), labels, rotation=90 if len(labels) > 10 else 0)
    ax.set_yticks(range(len(labels)), labels)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    if len(labels) <= 12:
        for (i, j), v in np.ndenumerate(cm):
            color = "white" if v > cm.max() / 2 else "black"
            ax.text(j, i, str(v), ha="center", va="center", color=color)
    if title:
        ax.set_title(title)
    save_figure(fig, path)
