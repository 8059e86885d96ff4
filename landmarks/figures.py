"""The figures of a landmark evaluation: the CED curve, the error per landmark (by facial part)
and a grid of faces with the truth and the prediction, each headed by what was scored."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from common.plotting import PALETTE, save_figure
from landmarks import metrics
from landmarks.datasets import FACE_PARTS
from landmarks.pipeline import CropCache, face_box_in_cache

# A colour-blind-safe pair (Okabe & Ito): truth blue, prediction orange.
TRUTH_COLOUR, PREDICTION_COLOUR = PALETTE[0], PALETTE[1]


def heading(what: str, title: str) -> str:
    return f"{title}\n{what}" if title else what


def plot_grid(cache: CropCache, pred, true, path, *, title: str = "", count: int = 12) -> None:
    """Faces with the truth and the prediction drawn on them."""
    lo, side = face_box_in_cache(cache)
    count = min(count, len(pred))
    cols = min(count, 6)
    rows = int(np.ceil(count / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(2.2 * cols, 2.2 * rows + 0.4), squeeze=False)
    for ax, i in zip(axes.flat, np.linspace(0, len(pred) - 1, count).astype(int)):
        # imshow puts pixel centres at integers: continuous coordinates are 0.5 higher
        ax.imshow(cache.images[i])
        seen = cache.visible[i]
        for pts, colour in ((true[i], TRUTH_COLOUR), (pred[i], PREDICTION_COLOUR)):
            ax.scatter(lo + pts[seen, 0] * side - 0.5, lo + pts[seen, 1] * side - 0.5, s=3,
                       c=colour)
    for ax in axes.flat:
        ax.axis("off")
    fig.suptitle(heading("truth (blue) and prediction (orange)", title), fontsize=10)
    save_figure(fig, path)


def plot_ced(curves: dict, path, *, title: str = "", limit: float = 0.10) -> None:
    fig, ax = plt.subplots(figsize=(5.5, 4.0))
    for colour, (name, nme) in zip(PALETTE, curves.items()):
        x, y = metrics.ced_curve(nme, limit)
        ax.plot(100 * x, y, color=colour,
                label=f"{name} (AUC@{100 * limit:g}% = {metrics.ced_auc(nme, limit):.3f})")
    ax.set(xlabel="NME (%)", ylabel="share of faces at or below",
           ylim=(0, 1), xlim=(0, 100 * limit))
    ax.set_title(heading("cumulative error distribution", title), fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    save_figure(fig, path)


def plot_per_landmark(errors: np.ndarray, baseline: np.ndarray, path, *,
                      title: str = "") -> None:
    """Mean NME of each point, the facial parts shaded and named under the axis."""
    fig, ax = plt.subplots(figsize=(10, 3.6))
    index = np.arange(len(errors))
    ax.bar(index, 100 * np.asarray(errors), color=PALETTE[0], label="model")
    ax.plot(index, 100 * np.asarray(baseline), "k.", label="mean training face")
    for n, (part, first, last) in enumerate(FACE_PARTS.get(len(errors), ())):
        if n % 2:
            ax.axvspan(first - 0.5, last + 0.5, color="0.92", zorder=0)
        ax.text((first + last) / 2, -0.16, part, transform=ax.get_xaxis_transform(),
                ha="center", va="top", fontsize=8)
    ax.set(xlabel="landmark (0-based index)", ylabel="mean NME (%)",
           xlim=(-0.5, len(errors) - 0.5))
    ax.xaxis.set_label_coords(0.5, -0.26)
    ax.set_title(heading("error per landmark", title), fontsize=10)
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=8)
    save_figure(fig, path)
