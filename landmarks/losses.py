"""Masked landmark losses. ``y`` is ``[B, 2K]`` laid out ``[x0, y0, x1, y1, ...]`` in [0, 1];
a true point at exactly (0, 0) is "not visible" and contributes neither value nor gradient.
Every loss averages over the visible points (or coordinates) of the whole batch and is 0, not
NaN, for a batch with none.
"""

from __future__ import annotations

import math

import keras
from keras import ops

from landmarks.options import LOSS_NAMES

WING_W, WING_EPSILON = 0.1, 0.02  # Feng et al.'s w=10, ε=2 on a 100-unit scale (crop = 1)
N_LOSS_ALPHA, N_LOSS_BETA = 1.0, 1.0  # weights of |Δx|/W and |Δy|/H (W = H = 1 after scaling)


def points_and_mask(y_true, y_pred):
    """[B, 2K] targets and outputs → points [B, K, 2] twice and the visibility mask [B, K].

    Pairs are (x_i, y_i), *not* [B, 2, K]; a true point at exactly (0, 0) is not visible. The
    losses here and the NME metric all read their inputs through this one function.
    """
    true = ops.reshape(y_true, (ops.shape(y_true)[0], -1, 2))
    pred = ops.reshape(ops.cast(y_pred, true.dtype), (ops.shape(y_pred)[0], -1, 2))
    visible = ops.any(ops.not_equal(true, 0.0), axis=-1)
    return true, pred, visible


def _masked_mean(values, visible):
    """Mean of ``values`` [B, K] (or [B, K, 2]) over visible points; 0 when none is visible."""
    mask = ops.cast(visible, values.dtype)
    if len(values.shape) == 3:
        mask = ops.repeat(mask[..., None], 2, axis=-1)
    values = ops.where(mask > 0, values, 0.0)  # a masked point's NaN/inf cannot leak in
    return ops.sum(values * mask) / ops.maximum(ops.sum(mask), 1.0)


def _safe_norm(squared):
    """sqrt with a zero (not NaN) gradient at exactly 0."""
    positive = squared > 0
    return ops.where(positive, ops.sqrt(ops.where(positive, squared, 1.0)), 0.0)


@keras.saving.register_keras_serializable(package="landmarks")
def masked_euclidean(y_true, y_pred):
    """Mean Euclidean distance between predicted and true visible points."""
    true, pred, visible = points_and_mask(y_true, y_pred)
    delta = ops.where(visible[..., None], pred - true, 0.0)
    return _masked_mean(_safe_norm(ops.sum(delta**2, axis=-1)), visible)


@keras.saving.register_keras_serializable(package="landmarks")
def masked_l1(y_true, y_pred):
    """Mean absolute error over the coordinates of visible points."""
    true, pred, visible = points_and_mask(y_true, y_pred)
    return _masked_mean(ops.abs(pred - true), visible)


@keras.saving.register_keras_serializable(package="landmarks")
def masked_mse(y_true, y_pred):
    """Mean squared error over the coordinates of visible points."""
    true, pred, visible = points_and_mask(y_true, y_pred)
    return _masked_mean((pred - true) ** 2, visible)


@keras.saving.register_keras_serializable(package="landmarks")
def wing(y_true, y_pred):
    """Wing loss (Feng et al., CVPR 2018) per coordinate: w·ln(1 + |x|/ε) below w, |x| − C above."""
    true, pred, visible = points_and_mask(y_true, y_pred)
    x = ops.abs(pred - true)
    c = WING_W - WING_W * math.log(1 + WING_W / WING_EPSILON)
    values = ops.where(x < WING_W, WING_W * ops.log1p(x / WING_EPSILON), x - c)
    return _masked_mean(values, visible)


@keras.saving.register_keras_serializable(package="landmarks")
def n_loss(y_true, y_pred):
    """Mean over visible points of α·|Δx|/W + β·|Δy|/H (MDPI Applied Sciences 2020)."""
    true, pred, visible = points_and_mask(y_true, y_pred)
    delta = ops.abs(pred - true)
    return _masked_mean(N_LOSS_ALPHA * delta[..., 0] + N_LOSS_BETA * delta[..., 1], visible)


LOSSES = {f.__name__: f for f in (masked_euclidean, masked_l1, masked_mse, wing, n_loss)}
assert tuple(LOSSES) == LOSS_NAMES, "landmarks.options.LOSS_NAMES must name these losses"
