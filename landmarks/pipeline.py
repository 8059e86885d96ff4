"""Face crops cached as uint8, and the tf.data pipeline that jitters, flips and batches them.

1. ``cache_crops`` (once, with PIL): for each image a square box around the visible points,
   enlarged by ``margin``, plus ``context`` extra room for jitter, resized to
   ``round(image_size * context)`` pixels and kept as uint8 (a 3,755-image MUCT cache at 128 px
   is about 290 MB; the homework's float16 320x240 frames were about 1.7 GB).
2. ``make_dataset`` (tf.data): crop the face box out of the cached crop (randomly scaled and
   shifted in training), resize to ``image_size``, flip half of the training faces with the
   landmark re-indexing, and give ``(image float32 0..255, target [2K])``. Targets are (x, y) in
   [0, 1] of the crop laid out ``[x0, y0, x1, y1, ...]``; points that are not visible are
   exactly (0, 0), which the masked losses skip. The model does its own pixel preprocessing.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import tensorflow as tf
from keras.utils import Progbar
from PIL import Image

from landmarks.datasets import LandmarkSet


@dataclass
class CropCache:
    images: np.ndarray  # uint8 [N, S, S, 3]
    points: np.ndarray  # float32 [N, K, 2], pixels of the cached crop
    visible: np.ndarray  # bool [N, K]
    context: float  # the face box is the central 1/context of each cached crop
    flip_permutation: list[int]
    eye_points: tuple[int, int]


# The landmark box: the square around the visible points, enlarged by this share of its side.
FACE_MARGIN = 0.25


def face_boxes(points: np.ndarray, visible: np.ndarray, margin: float = FACE_MARGIN) -> np.ndarray:
    """[N, 3] (x0, y0, side): square around the visible points' bounding box, side × (1+margin)."""
    big = np.float32(1e9)
    lo = np.where(visible[..., None], points, big).min(axis=1)
    hi = np.where(visible[..., None], points, -big).max(axis=1)
    side = (hi - lo).max(axis=1) * (1 + margin)
    centre = (lo + hi) / 2
    return np.column_stack([centre - side[:, None] / 2, side]).astype(np.float32)


def cache_crops(
    data: LandmarkSet,
    image_size: int,
    *,
    margin: float = FACE_MARGIN,
    context: float = 1.25,
    progress: bool = True,
    boxes: np.ndarray | None = None,
) -> CropCache:
    """Decode every image once and keep its face crop (with jitter room) as uint8.

    The face box is the square around the true points (``face_boxes``), or ``boxes`` [N, 3]
    (x0, y0, side) given by the caller, e.g. a face detector's boxes mapped to crop boxes.
    """
    size = int(round(image_size * context))
    images = np.zeros((len(data), size, size, 3), np.uint8)
    points = np.zeros(data.points.shape, np.float32)
    if boxes is None:
        boxes = face_boxes(data.points, data.visible, margin)
    bar = Progbar(len(data), unit_name="image") if progress else None
    for i, (path, (x0, y0, side)) in enumerate(zip(data.paths, boxes)):
        outer = side * context
        left, top = x0 - (outer - side) / 2, y0 - (outer - side) / 2
        with Image.open(path) as image:
            crop = image.convert("RGB").transform(
                (size, size), Image.Transform.EXTENT, (left, top, left + outer, top + outer),
                resample=Image.Resampling.BILINEAR,
            )  # fmt: skip
        images[i] = np.asarray(crop)
        points[i] = (data.points[i] - [left, top]) * (size / outer)
        if bar is not None and (i % 50 == 0 or i == len(data) - 1):
            bar.update(i + 1)
    points[~data.visible] = 0
    return CropCache(images, points, data.visible.copy(), context,
                     list(data.spec.flip_permutation), tuple(data.spec.eye_points))  # fmt: skip


def face_box_in_cache(cache: CropCache) -> tuple[float, float]:
    """(offset, side) in cached pixels of the face box: the central 1/context of each crop."""
    cached = float(cache.images.shape[1] - 1)
    side = cached / cache.context
    return (cached - side) / 2, side


def crop_targets(cache: CropCache) -> np.ndarray:
    """True points [N, K, 2] in [0, 1] of the evaluation crop (the un-jittered face box)."""
    offset, side = face_box_in_cache(cache)
    return (cache.points - offset) / side


def flip_targets(points: tf.Tensor, visible: tf.Tensor, permutation) -> tuple:
    """Mirror normalized points left-right: x → 1 − x, then re-index left/right landmarks."""
    mirrored = tf.stack([1.0 - points[:, 0], points[:, 1]], axis=-1)
    return tf.gather(mirrored, permutation), tf.gather(visible, permutation)


def unflip_points(points: np.ndarray, permutation) -> np.ndarray:
    """Predictions [N, K, 2] made on mirrored faces → the same points on the original faces."""
    points = np.asarray(points)[:, permutation]
    return np.stack([1.0 - points[..., 0], points[..., 1]], axis=-1)


def _crop(image, points, visible, box, image_size):
    """Cut ``box`` (x0, y0, side in cached pixels) out of one cached crop; normalize the points."""
    size = tf.cast(tf.shape(image)[0] - 1, tf.float32)
    x0, y0, side = box[0], box[1], box[2]
    normalized_box = tf.stack([y0, x0, y0 + side, x0 + side]) / size
    crop = tf.image.crop_and_resize(
        tf.cast(image, tf.float32)[None], normalized_box[None], [0], [image_size, image_size]
    )[0]
    return crop, (points - tf.stack([x0, y0])) / side, visible


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
    brightness_jitter: float = 0.2,
) -> tf.data.Dataset:
    """Batches of (images float32 [B, S, S, 3] in 0..255, targets [B, 2K]).

    Evaluation data: every face once, in order. Training data: epochs ``first_epoch`` to
    ``epochs - 1``, each ``len // batch_size`` full batches of a fresh permutation (the few
    faces past the last full batch sit that epoch out) and, with ``augment``, each face box
    randomly scaled and shifted, half of the faces flipped, the brightness varied. Every random
    choice is a function of (seed, epoch, face), so a resumed run sees the same batches as one
    that was never interrupted, whatever the parallelism.
    """
    cached = float(cache.images.shape[1] - 1)
    offset, face_side = face_box_in_cache(cache)
    centre_box = tf.constant([offset, offset, face_side])
    permutation = tf.constant(cache.flip_permutation)
    # The crops live once in a TF variable (a captured constant or from_tensor_slices would be
    # embedded in the dataset graph, a second copy), and the pipeline passes indices.
    images, all_points, all_visible = (
        tf.Variable(a, trainable=False) for a in (cache.images, cache.points, cache.visible)
    )
    count = len(cache.images)

    def example(i):
        return images[i], all_points[i], all_visible[i]

    def evaluate(i, epoch=None):
        crop, points, visible = _crop(*example(i), centre_box, image_size)
        return crop, to_target(points, visible)

    def augment_example(i, epoch):
        image, points, visible = example(i)
        face_seed = tf.stack([tf.cast(seed, tf.int64) * 1_000_003 + epoch, tf.cast(i, tf.int64)])
        s = tf.random.stateless_uniform([5], seed=face_seed, minval=-1.0, maxval=1.0)
        side = face_side * (1.0 + scale_jitter * s[0])
        centre = cached / 2 + shift_jitter * face_side * s[1:3]
        box = tf.concat([centre - side / 2, [side]], axis=0)
        crop, points, visible = _crop(image, points, visible, box, image_size)
        do_flip = s[3] > 0
        crop = tf.cond(do_flip, lambda: tf.image.flip_left_right(crop), lambda: crop)
        points, visible = tf.cond(do_flip, lambda: flip_targets(points, visible, permutation),
                                  lambda: (points, visible))  # fmt: skip
        crop = tf.clip_by_value(crop * (1.0 + brightness_jitter * s[4]), 0.0, 255.0)
        return crop, to_target(points, visible)

    if not training:
        ds = tf.data.Dataset.range(count).map(evaluate, num_parallel_calls=tf.data.AUTOTUNE)
        return ds.batch(batch_size).prefetch(tf.data.AUTOTUNE)
    if count < batch_size:
        raise ValueError(f"{count} training faces do not fill one batch of {batch_size}; "
                         "lower --batch-size")  # fmt: skip
    used = count // batch_size * batch_size

    def epoch_faces(epoch):
        order = tf.random.experimental.stateless_shuffle(
            tf.range(count, dtype=tf.int64), seed=tf.stack([tf.cast(seed, tf.int64), epoch]))
        return tf.data.Dataset.from_tensor_slices(order[:used]).map(lambda i: (i, epoch))

    ds = tf.data.Dataset.range(first_epoch, epochs).flat_map(epoch_faces)
    ds = ds.map(augment_example if augment else evaluate, num_parallel_calls=tf.data.AUTOTUNE)
    return ds.batch(batch_size).prefetch(tf.data.AUTOTUNE)


def steps_per_epoch(cache: CropCache, batch_size: int) -> int:
    """Full batches per training epoch (see ``make_dataset``)."""
    return len(cache.images) // batch_size
