"""The output heads: what turns backbone features into K points ``[x0, y0, x1, y1, ...]``.

Every head's model output is in [0, 1] of the face crop, so every loss, the NME metric, the
(0, 0) masking, saving and prediction work unchanged. What differs is the unit the trainable
output layer works in, which is what the homework's choice of activation and scaling changes:

- ``sigmoid``: Dense(2K, sigmoid), targets in [0, 1] (the homework's head).
- ``tanh``: Dense(2K, tanh) in [-1, 1], mapped to [0, 1] by a fixed (y + 1) / 2.
- ``linear``: Dense(2K), no activation, targets in [0, 1].
- ``linear-pixels``: Dense(2K) in pixels of the input crop (no scaling at all), divided by the
  image size by a fixed layer.
- ``soft-argmax``: K heatmaps (a 1x1 convolution of the last feature map, one bilinear
  upsampling step), a softmax over each map and its expected (x, y): integral regression
  (Sun et al., ECCV 2018), the heatmap family in its simplest differentiable form. With
  ``--heatmap-stride 4`` the maps come from a light decoder instead (``decoder_head``: the
  stride-16 map upsampled twice, each time added to a 1x1 projection of the backbone's map at
  that stride and mixed by a 3x3 convolution, as in FPN / U-Net / the "simple baselines"
  head), so a 128-px face gives 32x32 maps rather than 16x16.

Scaling targets by a constant c and scaling the output back by 1/c is the same model; the loss
is then measured in crop units rather than head units, a constant factor for the Euclidean, L1,
MSE and N losses, which Adam's per-parameter step normalizes away. What stays is the head's own
parameterization (weights c times larger for pixels, the saturation of tanh and sigmoid), so
the comparison measures exactly that. Wing's w and ε are in crop units for every head.
"""

from __future__ import annotations

import keras
import numpy as np
from keras import layers, ops

from landmarks.options import DENSE_HEADS, HEADS  # noqa: F401,E402  (the names, lightly)


@keras.saving.register_keras_serializable(package="landmarks")
class SoftArgmax(layers.Layer):
    """Heatmap logits [B, H, W, K] → expected points [B, 2K] in [0, 1] (cell centres)."""

    def call(self, logits):
        shape = ops.shape(logits)
        height, width, k = shape[1], shape[2], shape[3]
        flat = ops.reshape(ops.transpose(logits, (0, 3, 1, 2)), (shape[0], k, height * width))
        prob = ops.reshape(ops.softmax(flat, axis=-1), (shape[0], k, height, width))
        xs = (ops.arange(width, dtype=prob.dtype) + 0.5) / ops.cast(width, prob.dtype)
        ys = (ops.arange(height, dtype=prob.dtype) + 0.5) / ops.cast(height, prob.dtype)
        x = ops.sum(ops.sum(prob, axis=2) * xs, axis=-1)  # marginal over rows, then E[x]
        y = ops.sum(ops.sum(prob, axis=3) * ys, axis=-1)
        return ops.reshape(ops.stack([x, y], axis=-1), (shape[0], 2 * k))

    def compute_output_shape(self, input_shape):
        return (input_shape[0], 2 * input_shape[3])


def _start_bias(head: str, points: np.ndarray | None, image_size: int):
    """The output bias that makes the untrained head predict ``points`` (the mean shape)."""
    if points is None:
        return "zeros"
    start = np.clip(np.asarray(points, np.float64).reshape(-1), 1e-3, 1 - 1e-3)
    in_head_units = {
        "sigmoid": np.log(start / (1 - start)),
        "tanh": np.arctanh(2 * start - 1),
        "linear": start,
        "linear-pixels": start * image_size,
    }[head]
    return keras.initializers.Constant(in_head_units)


def dense_head(features, num_landmarks: int, *, head: str, image_size: int,
               initial_points: np.ndarray | None = None):
    """Pooled features [B, F] → points [B, 2K] in [0, 1] through one of ``DENSE_HEADS``."""
    activation = head if head in ("sigmoid", "tanh") else None
    out = layers.Dense(2 * num_landmarks, activation=activation,
                       bias_initializer=_start_bias(head, initial_points, image_size),
                       name="landmarks")(features)
    if head == "tanh":
        out = layers.Rescaling(0.5, offset=0.5, name="to_crop_units")(out)
    elif head == "linear-pixels":
        out = layers.Rescaling(1.0 / image_size, name="to_crop_units")(out)
    return out


def soft_argmax_head(feature_map, num_landmarks: int):
    """Feature map [B, h, w, C] → K heatmaps at 2h x 2w → expected points [B, 2K]."""
    logits = layers.Conv2D(num_landmarks, 1, name="heatmaps")(feature_map)
    logits = layers.UpSampling2D(2, interpolation="bilinear", name="upsample")(logits)
    return SoftArgmax(name="landmarks")(logits)


def decoder_head(feature_maps, num_landmarks: int, *, strides=(4, 8, 16), channels: int = 32):
    """Feature maps at ``strides``, finest first, each stride twice the one before (the small
    CNN's 4, 8 and 16; MobileNetV2's 8, 16 and 32, or 4 to 32) → K heatmaps at the finest
    stride → expected points [B, 2K]. The coarsest map is projected to ``channels``, then
    upsampled to each finer stride, added to that map's projection and mixed."""
    *skips, coarsest = feature_maps
    x = layers.Conv2D(channels, 1, name=f"lateral{strides[-1]}")(coarsest)
    for stride, skip in zip(reversed(strides[:-1]), reversed(skips)):
        height, width = skip.shape[1:3]
        if (height, width) == (2 * x.shape[1], 2 * x.shape[2]):
            x = layers.UpSampling2D(2, interpolation="bilinear", name=f"up{stride}")(x)
        else:  # an input size that is not a multiple of the stride: pooling rounded down
            x = layers.Resizing(height, width, interpolation="bilinear", name=f"up{stride}")(x)
        x = layers.Add(name=f"skip{stride}")([x, layers.Conv2D(channels, 1,
                                                               name=f"lateral{stride}")(skip)])
        x = layers.Conv2D(channels, 3, padding="same", use_bias=False, name=f"mix{stride}")(x)
        x = layers.ReLU(name=f"mix{stride}_relu")(
            layers.BatchNormalization(name=f"mix{stride}_bn")(x))
    logits = layers.Conv2D(num_landmarks, 1, name="heatmaps")(x)
    return SoftArgmax(name="landmarks")(logits)
