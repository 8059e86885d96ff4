"""Face crops cached as uint8, and the tf.data pipeline that jitters, rotates, flips and batches
them. Every crop, here and in evaluate and predict, is a ``landmarks.geometry`` transform.

1. ``cache_crops`` (once, with OpenCV): for each image the face box (the square around the
   visible points enlarged by ``margin``, or a box the caller gives) enlarged again by
   ``context`` for jitter room, warped to ``round(image_size * context)`` pixels and kept as
   uint8 (a 3,755-image MUCT cache at 128 px is about 290 MB), with its points in cached pixels.
2. ``make_dataset`` (tf.data): warp the face box out of the cached crop (in training randomly
   scaled, shifted, rotated and mirrored, all one matrix that moves pixels and points together),
   vary the brightness, and give ``(image float32 0..255, target [2K])``. Targets are (x, y) in
   crop units laid out ``[x0, y0, x1, y1, ...]``; points that are not visible are exactly
   (0, 0), which the masked losses skip. The model does its own pixel preprocessing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import tensorflow as tf

from common.progress import Progress
from landmarks import geometry
from landmarks.datasets import LandmarkSet
from landmarks.formats import read_image


@dataclass
class CropCache:
    images: np.ndarray  # uint8 [N, S, S, 3]
    points: np.ndarray  # float32 [N, K, 2], continuous pixels of the cached crop
    visible: np.ndarray  # bool [N, K]
    context: float  # the face box is the central 1/context of each cached crop
    flip_permutation: list[int]
    eye_points: tuple[int, int]
    boxes: np.ndarray | None  # float32 [N, 3] the face boxes (x0, y0, side), for box crops
    matrices: np.ndarray  # float64 [N, 3, 3] image coordinates → crop units of each face crop


# The landmark box: the square around the visible points, enlarged by this share of its side.
FACE_MARGIN = 0.25
CONTEXT = 1.25  # the cached crop's side / the face box's side (room for the jitter)

# The training augmentation PIPNet and HRNet use on 300-W (``augmentation="field"``): the box
# shifted by up to 12% and scaled by up to 25%, half of the faces turned by up to 30 degrees,
# half occluded by a patch up to 40% x 40% of the crop, a third blurred, brightness, contrast and
# saturation varied. The default (None) is the light jitter every earlier run was trained with.
FIELD_AUGMENTATION = {"scale_jitter": 0.25, "shift_jitter": 0.12, "rotation": 30.0,
                      "rotation_p": 0.5, "occlusion_p": 0.5, "occlusion_size": 0.4,
                      "blur_p": 0.3, "blur_sigma": 1.5, "contrast_jitter": 0.3,
                      "saturation_jitter": 0.3}


def face_boxes(points: np.ndarray, visible: np.ndarray, margin: float = FACE_MARGIN) -> np.ndarray:
    """[N, 3] (x0, y0, side): square around the visible points' bounding box, side × (1+margin)."""
    big = np.float32(1e9)
    lo = np.where(visible[..., None], points, big).min(axis=1)
    hi = np.where(visible[..., None], points, -big).max(axis=1)
    return geometry.centred_boxes((lo + hi) / 2, (hi - lo).max(axis=1) * (1 + margin))


def context_box(box, context: float = CONTEXT) -> np.ndarray:
    """The box (x0, y0, side) enlarged ``context`` times about its centre."""
    x0, y0, side = np.asarray(box, np.float64)
    outer = side * context
    return np.array([x0 - (outer - side) / 2, y0 - (outer - side) / 2, outer])


def with_context(matrix, context: float = CONTEXT) -> np.ndarray:
    """The crop ``matrix`` describes, enlarged ``context`` times about its centre."""
    shrink = np.array([[1 / context, 0, 0.5 - 0.5 / context],
                       [0, 1 / context, 0.5 - 0.5 / context], [0, 0, 1]])
    return shrink @ np.asarray(matrix, np.float64)


def cache_crops(
    data: LandmarkSet,
    image_size: int,
    *,
    margin: float = FACE_MARGIN,
    context: float = CONTEXT,
    progress: bool = True,
    boxes: np.ndarray | None = None,
    matrices: np.ndarray | None = None,
    label: str = "caching faces",
) -> CropCache:
    """Decode every image once and keep its face crop (with jitter room) as uint8.

    The face crop is the square box around the true points (``face_boxes``), or ``boxes``
    [N, 3] (x0, y0, side) given by the caller (e.g. a face detector's boxes mapped to crop
    boxes), or any similarity crop: ``matrices`` [N, 3, 3] from image coordinates to its crop
    units (the second stage's crops aligned to a first estimate, ``landmarks.cascade``).
    """
    size = int(round(image_size * context))
    images = np.zeros((len(data), size, size, 3), np.uint8)
    points = np.zeros(data.points.shape, np.float32)
    if matrices is None:
        if boxes is None:
            boxes = face_boxes(data.points, data.visible, margin)
        face = [geometry.box_matrix(box) for box in boxes]
        cached = [geometry.box_matrix(context_box(box, context)) for box in boxes]
    else:
        face = list(np.asarray(matrices, np.float64))
        cached = [with_context(m, context) for m in face]
    bar = Progress(len(data), label, "image") if progress else None
    for i, (path, matrix) in enumerate(zip(data.paths, cached)):
        images[i] = geometry.warp(read_image(path), matrix, size)
        points[i] = geometry.to_crop(data.points[i], matrix) * size
        if bar is not None and (i % 50 == 0 or i == len(data) - 1):
            bar.update(i + 1)
    points[~data.visible] = 0
    return CropCache(images, points, data.visible.copy(), context,
                     list(data.spec.flip_permutation), tuple(data.spec.eye_points),
                     None if boxes is None else np.asarray(boxes, np.float32),
                     np.reshape(face, (-1, 3, 3)))


def face_box_in_cache(cache: CropCache) -> tuple[float, float]:
    """(offset, side) in cached pixels of the face box: the central 1/context of each crop."""
    cached = float(cache.images.shape[1])
    side = cached / cache.context
    return (cached - side) / 2, side


def crop_targets(cache: CropCache) -> np.ndarray:
    """True points [N, K, 2] in crop units of the evaluation crop (the un-jittered face box)."""
    offset, side = face_box_in_cache(cache)
    return (cache.points - offset) / side


def to_target(points, visible):
    """[K, 2] points + [K] visibility → [2K] target, invisible points at exactly (0, 0)."""
    return tf.reshape(tf.where(visible[:, None], points, 0.0), [-1])


def make_dataset(
    cache: CropCache,
    *,
    image_size: int,
    batch_size: int,
    training: bool,
    seed: int = 0,
    epochs: int = 1,
    first_epoch: int = 0,
    augment: bool = True,
    scale_jitter: float = 0.1,
    shift_jitter: float = 0.08,
    rotation: float = 0.0,
    brightness_jitter: float = 0.2,
    rotation_p: float = 1.0,
    contrast_jitter: float = 0.0,
    saturation_jitter: float = 0.0,
    blur_p: float = 0.0,
    blur_sigma: float = 1.5,
    occlusion_p: float = 0.0,
    occlusion_size: float = 0.4,
) -> tf.data.Dataset:
    """Batches of (images float32 [B, S, S, 3] in 0..255, targets [B, 2K]).

    Evaluation data: every face once, in order. Training data: epochs ``first_epoch`` to
    ``epochs - 1``, each ``len // batch_size`` full batches of a fresh permutation (the few
    faces past the last full batch sit that epoch out) and, with ``augment``, each face box
    randomly scaled and shifted, turned by up to ``rotation`` degrees, half of the faces
    mirrored, the brightness varied; with ``rotation_p`` < 1 only that share is turned, and the
    field's photometric jitter (``photometric``) runs where its knobs are set. Every random
    choice is a function of (seed, epoch, face), so a resumed run sees the same batches as one
    that was never interrupted.
    """
    cached = float(cache.images.shape[1])
    offset, face_side = face_box_in_cache(cache)
    permutation = tf.constant(cache.flip_permutation)
    max_angle = math.radians(rotation)
    # The crops live once in a TF variable (a captured constant or from_tensor_slices would be
    # embedded in the dataset graph, a second copy), and the pipeline passes indices.
    images, all_points, all_visible = (
        tf.Variable(a, trainable=False) for a in (cache.images, cache.points, cache.visible)
    )
    count = len(cache.images)

    def crop(i, x0, y0, side, angle=0.0, flip=0.0):
        matrix = geometry.crop_matrix(x0, y0, side, angle=angle, flip=flip, ops=tf)
        image = geometry.warp_tf(tf.cast(images[i], tf.float32), matrix, image_size)
        return image, geometry.apply_tf(matrix, all_points[i])

    def evaluate(i, epoch=None):
        image, points = crop(i, offset, offset, face_side)
        return image, to_target(points, all_visible[i])

    def augment_example(i, epoch):
        face_seed = tf.stack([tf.cast(seed, tf.int64) * 1_000_003 + epoch, tf.cast(i, tf.int64)])
        s = tf.random.stateless_uniform([6], seed=face_seed, minval=-1.0, maxval=1.0)
        side = face_side * (1.0 + scale_jitter * s[0])
        centre = cached / 2 + shift_jitter * face_side * s[1:3]
        flip = tf.cast(s[3] > 0, tf.float32)
        angle = max_angle * s[5]
        if rotation_p < 1:  # a second draw, so the first six numbers stay what they were
            turn = tf.random.stateless_uniform([], seed=face_seed + TURN_STREAM)
            angle = tf.where(turn < rotation_p, angle, 0.0)
        image, points = crop(i, centre[0] - side / 2, centre[1] - side / 2, side,
                             angle=angle, flip=flip)
        visible = all_visible[i]
        points, visible = tf.cond(s[3] > 0, lambda: (tf.gather(points, permutation),
                                                     tf.gather(visible, permutation)),
                                  lambda: (points, visible))
        image = tf.clip_by_value(image * (1.0 + brightness_jitter * s[4]), 0.0, 255.0)
        if extra:
            image = photometric(image, face_seed, **extra)
        return image, to_target(points, visible)

    extra = {"contrast_jitter": contrast_jitter, "saturation_jitter": saturation_jitter,
             "blur_p": blur_p, "blur_sigma": blur_sigma, "occlusion_p": occlusion_p,
             "occlusion_size": occlusion_size}
    if not (contrast_jitter or saturation_jitter or blur_p or occlusion_p):
        extra = {}  # the light recipe: the graph (and so each run's batches) as before

    if not training:
        ds = tf.data.Dataset.range(count).map(evaluate, num_parallel_calls=tf.data.AUTOTUNE)
        return ds.batch(batch_size).prefetch(tf.data.AUTOTUNE)
    if count < batch_size:
        raise ValueError(f"{count} training faces do not fill one batch of {batch_size}")
    used = count // batch_size * batch_size

    def epoch_faces(epoch):
        order = tf.random.experimental.stateless_shuffle(
            tf.range(count, dtype=tf.int64), seed=tf.stack([tf.cast(seed, tf.int64), epoch]))
        return tf.data.Dataset.from_tensor_slices(order[:used]).map(lambda i: (i, epoch))

    ds = tf.data.Dataset.range(first_epoch, epochs).flat_map(epoch_faces)
    ds = ds.map(augment_example if augment else evaluate, num_parallel_calls=tf.data.AUTOTUNE)
    return ds.batch(batch_size).prefetch(tf.data.AUTOTUNE)


# Offsets of the face seed's second component for the extra random draws: far above any face
# index, so no face's extra numbers are another face's first ones.
TURN_STREAM = tf.constant([0, 1 << 40], tf.int64)
PHOTO_STREAM = tf.constant([0, 2 << 40], tf.int64)


def gaussian_blur(image, sigma):
    """[S, S, C] float image blurred by a 7-tap separable Gaussian of ``sigma`` pixels."""
    taps = tf.range(-3.0, 4.0)
    kernel = tf.exp(-0.5 * (taps / sigma) ** 2)
    kernel = kernel / tf.reduce_sum(kernel)
    channels = image.shape[-1]
    rows = tf.tile(tf.reshape(kernel, [7, 1, 1, 1]), [1, 1, channels, 1])
    columns = tf.tile(tf.reshape(kernel, [1, 7, 1, 1]), [1, 1, channels, 1])
    out = tf.nn.depthwise_conv2d(image[None], rows, [1, 1, 1, 1], "SAME")
    return tf.nn.depthwise_conv2d(out, columns, [1, 1, 1, 1], "SAME")[0]


def photometric(image, face_seed, *, contrast_jitter, saturation_jitter, blur_p, blur_sigma,
                occlusion_p, occlusion_size):
    """The field's pixel-only jitter of one training crop [S, S, 3] (0..255): contrast and
    saturation scaled by up to ± their jitter, a blur with probability ``blur_p`` (sigma up to
    ``blur_sigma``), and with probability ``occlusion_p`` a rectangle of a random colour up to
    ``occlusion_size`` of the crop on each side. The points do not move."""
    u = tf.random.stateless_uniform([12], seed=face_seed + PHOTO_STREAM)
    grey = tf.reduce_mean(image, axis=-1, keepdims=True)
    image = grey + (image - grey) * (1.0 + saturation_jitter * (2 * u[0] - 1))
    mean = tf.reduce_mean(image)
    image = mean + (image - mean) * (1.0 + contrast_jitter * (2 * u[1] - 1))
    image = tf.cond(u[2] < blur_p, lambda: gaussian_blur(image, 0.1 + blur_sigma * u[3]),
                    lambda: image)
    size = tf.cast(tf.shape(image)[0], tf.float32)
    width, height = occlusion_size * size * u[4], occlusion_size * size * u[5]
    x0, y0 = (size - width) * u[6], (size - height) * u[7]
    pixels = tf.range(size) + 0.5
    inside_x = (pixels >= x0) & (pixels < x0 + width)
    inside_y = (pixels >= y0) & (pixels < y0 + height)
    patch = (inside_y[:, None] & inside_x[None, :] & (u[8] < occlusion_p))[..., None]
    image = tf.where(patch, 255.0 * u[9:12], image)
    return tf.clip_by_value(image, 0.0, 255.0)


def steps_per_epoch(cache: CropCache, batch_size: int) -> int:
    """Full batches per training epoch (see ``make_dataset``)."""
    return len(cache.images) // batch_size
