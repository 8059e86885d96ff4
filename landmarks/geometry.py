"""The one transform between image pixels and crop units, for images and points together.

One convention everywhere (the readers convert each file format to it, the writers back):

- **Image coordinates** are continuous pixels: (0, 0) is the top-left *corner* of the image and
  pixel (row i, column j) covers [j, j + 1] × [i, i + 1], its centre at (j + 0.5, i + 0.5).
  300-W's .pts files are 1-based (the centre of the first pixel is at 1, 1: menpo and the
  300-W Matlab tools read them so); MUCT's CSV is 0-based (its mirrored rows are x → 479 − x
  on 480-px images). See ``landmarks.datasets``.
- **Crop units**: (0, 0) is the crop's top-left corner and (1, 1) its bottom-right one; the
  centre of pixel u of an S-pixel crop is at (u + 0.5) / S. The soft-argmax cells, the targets,
  the flip (x → 1 − x) and the losses all work in these units.

A crop is a 3×3 matrix ``A`` that takes image coordinates to crop units: a square box
(x0, y0, side), optionally rotated about its centre and mirrored. ``to_crop`` and ``from_crop``
apply it and its exact inverse to points; ``warp`` (NumPy/OpenCV, the cache and predict) and
``warp_tf`` (TensorFlow, the training pipeline's jittered crops) sample the pixels with it, so the
pixel content of a point lands exactly where its target says.
"""

from __future__ import annotations

import numpy as np

# Downscaling by more than this first shrinks the image by area averaging (a bilinear sample of
# every k-th pixel aliases); the factor is exact, so the geometry is unchanged.
MAX_BILINEAR_SHRINK = 2.0


def crop_matrix(x0, y0, side, *, angle=0.0, flip=0.0, ops=np):
    """[3, 3]: image coordinates → crop units of the square box (x0, y0, side), turned by
    ``angle`` radians about its centre (the content rotates by ``angle``) and, where ``flip`` is
    1, mirrored left-right. ``ops`` is ``np`` or ``tf`` (the same arithmetic in a tf.data map)."""
    cos, sin = ops.cos(angle) / side, ops.sin(angle) / side
    mirror = 1.0 - 2.0 * flip  # -1 mirrors x about the crop's centre
    cx, cy = x0 + side / 2, y0 + side / 2
    a, b = mirror * cos, -mirror * sin
    c, d = sin, cos
    return ops.stack([
        ops.stack([a, b, 0.5 - a * cx - b * cy]),
        ops.stack([c, d, 0.5 - c * cx - d * cy]),
        ops.stack([0.0 * a, 0.0 * a, 1.0 + 0.0 * a]),
    ])


# The boxes of landmark work. A crop box is a square (x0, y0, side) in image coordinates: what
# every crop is cut from. A rectangle (x, y, w, h) is what a detector or a user gives; it
# becomes a crop box through ``square_boxes`` (a user's box) or the learned detector mapping
# (``landmarks.detect.apply_mapping``, built on ``centred_boxes``).
def centred_boxes(centres, sides) -> np.ndarray:
    """Crop boxes [N, 3] (x0, y0, side) of squares with these centres [N, 2] and sides [N]."""
    # in the inputs' own precision: float32 boxes come out bit for bit as they always have
    centres, sides = np.asarray(centres).reshape(-1, 2), np.asarray(sides).reshape(-1)
    return np.column_stack([centres - sides[:, None] / 2, sides]).astype(np.float32)


def square_boxes(rectangles) -> np.ndarray:
    """Rectangles [N, 4] (x, y, w, h) → the crop boxes [N, 3] of the square of side max(w, h)
    about each one's centre (the model's crops are square)."""
    rectangles = np.asarray(rectangles, np.float64).reshape(-1, 4)
    return centred_boxes(rectangles[:, :2] + rectangles[:, 2:] / 2, rectangles[:, 2:].max(1))


def box_matrix(box, **kwargs) -> np.ndarray:
    """``crop_matrix`` of a box (x0, y0, side) given as one array."""
    x0, y0, side = (np.float64(v) for v in box)
    return crop_matrix(x0, y0, side, **kwargs)


def apply(matrix, points: np.ndarray) -> np.ndarray:
    """Points [..., 2] through a 3×3 affine matrix."""
    matrix = np.asarray(matrix, np.float64)
    points = np.asarray(points, np.float64)
    return points @ matrix[:2, :2].T + matrix[:2, 2]


def to_crop(points: np.ndarray, matrix) -> np.ndarray:
    """Image coordinates [..., 2] → crop units of ``matrix``."""
    return apply(matrix, points).astype(np.float32)


def from_crop(points: np.ndarray, matrix) -> np.ndarray:
    """Crop units [..., 2] → image coordinates: the exact inverse of ``to_crop``."""
    return apply(np.linalg.inv(np.asarray(matrix, np.float64)), points).astype(np.float32)


def _to_pixel_indices(matrix, size: int) -> np.ndarray:
    """The same map from source pixel *indices* (centre = integer) to destination indices."""
    half = np.array([[1, 0, 0.5], [0, 1, 0.5], [0, 0, 1]])
    out = np.array([[size, 0, -0.5], [0, size, -0.5], [0, 0, 1]], np.float64)
    return out @ np.asarray(matrix, np.float64) @ half


def warp(image: np.ndarray, matrix, size: int) -> np.ndarray:
    """The ``size``-pixel crop of an RGB uint8 image [H, W, 3] that ``matrix`` describes
    (bilinear; outside the image is black)."""
    import cv2

    matrix = np.asarray(matrix, np.float64)
    scale = size * np.sqrt(abs(np.linalg.det(matrix[:2, :2])))  # crop pixels per image pixel
    if scale * MAX_BILINEAR_SHRINK < 1:
        height, width = image.shape[:2]
        small = (max(1, round(width * scale * MAX_BILINEAR_SHRINK)),
                 max(1, round(height * scale * MAX_BILINEAR_SHRINK)))
        image = cv2.resize(image, small, interpolation=cv2.INTER_AREA)
        matrix = matrix @ np.diag([width / small[0], height / small[1], 1.0])
    to_indices = _to_pixel_indices(matrix, size)
    return cv2.warpAffine(np.ascontiguousarray(image), to_indices[:2], (size, size),
                          flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)


def warp_tf(image, matrix, size: int):
    """TensorFlow's ``warp`` for one image [H, W, C] (float32) and a matrix tensor [3, 3] from
    its pixel coordinates to crop units: bilinear, zeros outside."""
    import tensorflow as tf

    matrix = tf.cast(matrix, tf.float32)
    half = tf.constant([[1, 0, 0.5], [0, 1, 0.5], [0, 0, 1]], tf.float32)
    out = tf.constant([[size, 0, -0.5], [0, size, -0.5], [0, 0, 1]], tf.float32)
    inverse = tf.linalg.inv(out @ matrix @ half)  # destination index → source index
    inverse = inverse / inverse[2, 2]
    transform = tf.reshape(inverse, [9])[:8][None]
    return tf.raw_ops.ImageProjectiveTransformV3(
        images=image[None], transforms=transform, output_shape=tf.constant([size, size]),
        fill_value=0.0, interpolation="BILINEAR", fill_mode="CONSTANT")[0]


def apply_tf(matrix, points):
    """``apply`` for tensors: points [K, 2] through a [3, 3] matrix."""
    import tensorflow as tf

    matrix = tf.cast(matrix, tf.float32)
    return tf.matmul(points, matrix[:2, :2], transpose_b=True) + matrix[:2, 2]


def flip_points(points: np.ndarray, permutation) -> np.ndarray:
    """Points [..., K, 2] in crop units of a mirrored crop → the same points on the original
    crop (and back: mirroring twice is the identity): x → 1 − x, left/right re-indexed."""
    points = np.asarray(points)[..., permutation, :]
    return np.stack([1.0 - points[..., 0], points[..., 1]], axis=-1)


def flip_points_tf(points, permutation):
    """``flip_points`` for tensors: points [..., K, 2]."""
    import tensorflow as tf

    points = tf.gather(points, permutation, axis=-2)
    return tf.stack([1.0 - points[..., 0], points[..., 1]], axis=-1)


def similarity(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """[3, 3]: the rotation, uniform scale and shift that takes ``source`` points [K, 2] closest
    (least squares) to ``target`` [K, 2] (Umeyama's method without reflection)."""
    source, target = np.asarray(source, np.float64), np.asarray(target, np.float64)
    mu_s, mu_t = source.mean(0), target.mean(0)
    s, t = source - mu_s, target - mu_t
    u, sigma, vt = np.linalg.svd(t.T @ s / len(s))
    d = np.diag([1.0, np.sign(np.linalg.det(u @ vt))])
    rotation = u @ d @ vt
    scale = np.trace(np.diag(sigma) @ d) / s.var(0).sum()
    matrix = np.eye(3)
    matrix[:2, :2] = scale * rotation
    matrix[:2, 2] = mu_t - scale * rotation @ mu_s
    return matrix
