"""The one crop geometry: points and pixels move together, exactly, through every path."""

import numpy as np
import pytest
import tensorflow as tf

from landmarks import geometry
from landmarks.datasets import IBUG_FLIP, LandmarkSet
from landmarks.formats import from_file_convention, to_file_convention
from landmarks.pipeline import (
    FIELD_AUGMENTATION,
    cache_crops,
    crop_targets,
    make_dataset,
    photometric,
)


def blob_image(height, width, centre, sigma=4.0):
    """A Gaussian blob at ``centre`` (continuous pixels), RGB uint8."""
    yy, xx = np.mgrid[0:height, 0:width] + 0.5  # pixel centres
    value = np.exp(-((xx - centre[0]) ** 2 + (yy - centre[1]) ** 2) / (2 * sigma**2))
    return np.repeat(np.round(255 * value)[..., None], 3, axis=-1).astype(np.uint8)


def peak(image) -> np.ndarray:
    """The blob's centre in continuous pixels: a parabola through the log of the brightest
    pixel and its neighbours (exact for a sampled Gaussian)."""
    v = np.log(np.maximum(np.asarray(image, np.float64)[..., 0], 1e-3))
    i, j = np.unravel_index(np.argmax(v), v.shape)
    dx = (v[i, j - 1] - v[i, j + 1]) / (2 * (v[i, j - 1] - 2 * v[i, j] + v[i, j + 1]))
    dy = (v[i - 1, j] - v[i + 1, j]) / (2 * (v[i - 1, j] - 2 * v[i, j] + v[i + 1, j]))
    return np.array([j + 0.5 + dx, i + 0.5 + dy])


BOXES = [(100.2, 80.9, 150.3), (37.0, 12.5, 260.0), (140.0, 100.0, 90.0)]


@pytest.mark.parametrize("angle", [0.0, 0.4, -0.5])
@pytest.mark.parametrize("flip", [0.0, 1.0])
def test_points_to_crop_and_back_within_a_thousandth_of_a_pixel(angle, flip):
    points = np.random.default_rng(0).uniform(0, 400, (68, 2)).astype(np.float32)
    for box in BOXES:
        matrix = geometry.box_matrix(box, angle=angle, flip=flip)
        back = geometry.from_crop(geometry.to_crop(points, matrix), matrix)
        np.testing.assert_allclose(back, points, atol=1e-3)


def test_the_box_edges_are_the_crop_edges():
    matrix = geometry.box_matrix((10.0, 20.0, 100.0))
    np.testing.assert_allclose(geometry.to_crop(np.array([[10, 20], [110, 120], [60, 70]]),
                                                matrix), [[0, 0], [1, 1], [0.5, 0.5]], atol=1e-6)


@pytest.mark.parametrize("angle,flip", [(0.0, 0.0), (0.0, 1.0), (0.45, 0.0), (-0.3, 1.0)])
def test_a_drawn_blob_lands_on_its_target_through_opencv_and_tensorflow(angle, flip):
    centre = np.array([170.3, 140.7])
    image = blob_image(300, 400, centre, sigma=6.0)
    for size in (64, 128):
        matrix = geometry.box_matrix(BOXES[0], angle=angle, flip=flip)
        target = geometry.to_crop(centre, matrix) * size
        by_cv = geometry.warp(image, matrix, size)
        by_tf = geometry.warp_tf(tf.constant(image, tf.float32), tf.constant(matrix), size)
        np.testing.assert_allclose(peak(by_cv), target, atol=0.1)
        np.testing.assert_allclose(peak(by_tf.numpy()), target, atol=0.1)


def test_a_large_shrink_is_area_averaged_and_keeps_the_geometry():
    centre = np.array([1203.4, 987.6])
    image = blob_image(2000, 2400, centre, sigma=40.0)
    box = (centre[0] - 500, centre[1] - 420, 1000.0)  # 1000 px into 64: a 15x shrink
    matrix = geometry.box_matrix(box)
    crop = geometry.warp(image, matrix, 64)
    np.testing.assert_allclose(peak(crop), geometry.to_crop(centre, matrix) * 64, atol=0.1)


def synthetic_faces(tmp_path, count=3):
    """``count`` images with blobs at known points, as a LandmarkSet of 68 points."""
    from PIL import Image

    rng = np.random.default_rng(1)
    paths, points = [], []
    for n in range(count):
        centre = rng.uniform(120, 180, 2)
        path = tmp_path / f"face{n}.png"
        Image.fromarray(blob_image(320, 300, centre, sigma=8.0)).save(path)
        pts = rng.uniform(-60, 60, (68, 2)) + centre
        pts[30] = centre  # the nose tip sits on the blob
        paths.append(str(path))
        points.append(pts)
    points = np.array(points, np.float32)
    return LandmarkSet(paths, points, np.ones(points.shape[:2], bool),
                       [f"s{n}" for n in range(count)])


def test_the_training_path_puts_the_blob_on_its_target(tmp_path):
    data = synthetic_faces(tmp_path)
    cache = cache_crops(data, 64, progress=False)
    for n in range(len(data)):  # the cache
        np.testing.assert_allclose(peak(cache.images[n]), cache.points[n, 30], atol=0.1)
    evaluation = make_dataset(cache, image_size=64, batch_size=3, training=False)
    images, targets = next(iter(evaluation))
    for n in range(len(data)):  # the evaluation crop
        np.testing.assert_allclose(peak(images[n].numpy()) / 64,
                                   targets[n].numpy().reshape(68, 2)[30], atol=0.1 / 64)
    training = make_dataset(cache, image_size=64, batch_size=3, training=True, epochs=4,
                            rotation=30.0, brightness_jitter=0.0)
    for images, targets in training:  # jittered, rotated, half mirrored (30 is on the axis)
        for n in range(3):
            np.testing.assert_allclose(peak(images[n].numpy()) / 64,
                                       targets[n].numpy().reshape(68, 2)[30], atol=0.1 / 64)



def test_the_fields_augmentation_moves_points_with_pixels_and_repeats_per_seed(tmp_path):
    cache = cache_crops(synthetic_faces(tmp_path), 64, progress=False)
    geometric = {**FIELD_AUGMENTATION, "contrast_jitter": 0.0, "saturation_jitter": 0.0,
                 "blur_p": 0.0, "occlusion_p": 0.0}  # the pixel-only parts would move the peak
    seen = 0
    for images, targets in make_dataset(cache, image_size=64, batch_size=3, training=True,
                                        epochs=6, brightness_jitter=0.0, **geometric):
        for n in range(3):  # a box 25% larger samples the blob more coarsely: a looser fit
            points = targets[n].numpy().reshape(68, 2)
            np.testing.assert_allclose(peak(images[n].numpy()) / 64, points[30], atol=0.25 / 64)
            seen += 1
    assert seen == 18
    field = lambda: make_dataset(cache, image_size=64, batch_size=3, training=True,  # noqa: E731
                                 epochs=2, seed=5, **FIELD_AUGMENTATION)
    for (a, ta), (b, tb) in zip(field(), field()):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
        np.testing.assert_array_equal(ta.numpy(), tb.numpy())


def test_the_photometric_jitter_occludes_one_rectangle_and_keeps_a_flat_image_flat():
    flat = tf.fill([32, 32, 3], 100.0)
    kept = photometric(flat, tf.constant([1, 2], tf.int64), contrast_jitter=0.3,
                       saturation_jitter=0.3, blur_p=1.0, blur_sigma=1.5, occlusion_p=0.0,
                       occlusion_size=0.4).numpy()
    # contrast and saturation scale about the mean and the grey; the blur's taps sum to one
    # (the zero padding darkens the border only)
    np.testing.assert_allclose(kept[4:-4, 4:-4], 100.0, atol=1e-3)
    for seed in range(4):
        out = photometric(flat, tf.constant([seed, 7], tf.int64), contrast_jitter=0.0,
                          saturation_jitter=0.0, blur_p=0.0, blur_sigma=1.5, occlusion_p=1.0,
                          occlusion_size=0.4).numpy()
        changed = np.any(out != 100.0, axis=-1)
        rows, cols = np.flatnonzero(changed.any(1)), np.flatnonzero(changed.any(0))
        if not changed.any():
            continue  # a patch narrower than half a pixel
        assert changed[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1].all()  # one rectangle
        assert len(rows) <= 0.4 * 32 + 1 and len(cols) <= 0.4 * 32 + 1
        assert len(np.unique(out[changed], axis=0)) == 1  # of one colour

def test_a_mirrored_crop_is_the_flipped_image_and_its_targets_the_flipped_targets(tmp_path):
    data = synthetic_faces(tmp_path, count=1)
    image = np.asarray(__import__("PIL.Image").Image.open(data.paths[0]).convert("RGB"))
    box = np.array([60.0, 70.0, 150.0])
    plain, mirrored = (geometry.box_matrix(box, flip=f) for f in (0.0, 1.0))
    np.testing.assert_allclose(geometry.warp(image, mirrored, 64).astype(int),
                               geometry.warp(image, plain, 64)[:, ::-1].astype(int), atol=1)
    points = data.points[0]
    flipped = geometry.to_crop(points, mirrored)[IBUG_FLIP]
    np.testing.assert_allclose(flipped, geometry.flip_points(  # float32 rounding only
        geometry.to_crop(points, plain)[None], IBUG_FLIP)[0], atol=1e-6)


def test_the_evaluation_crop_is_the_crop_predict_makes(tmp_path):
    """Evaluate (cache, then the central crop) and Predictor.predict (one warp) see the same
    pixels: the crops the Predictor hands its model are caught on the way in."""
    import keras
    import tensorflow as tf

    from landmarks.inference import Predictor

    data = synthetic_faces(tmp_path, count=2)
    cache = cache_crops(data, 64, progress=False)
    images, _ = next(iter(make_dataset(cache, image_size=64, batch_size=2, training=False)))
    inputs = keras.Input((64, 64, 3))
    predictor = Predictor(keras.Model(inputs, keras.layers.Flatten()(inputs)[:, :136]))
    seen = []

    def catch(crops):
        seen.append(np.asarray(crops))
        return tf.zeros((len(crops), 136))

    predictor._forward = catch
    for n in range(2):
        image = np.asarray(__import__("PIL.Image").Image.open(data.paths[n]).convert("RGB"))
        points, _ = predictor.predict(image, cache.boxes[n])
        assert seen[-1].shape == (1, 64, 64, 3)
        assert np.abs(images[n].numpy() - seen[-1][0]).max() <= 1.0
        x0, y0, side = cache.boxes[n]  # crop units (0, 0) is the box's corner
        np.testing.assert_allclose(points[0], np.tile([x0, y0], (68, 1)), atol=1e-4)
    np.testing.assert_allclose(
        crop_targets(cache),
        [geometry.to_crop(p, geometry.box_matrix(b)) for p, b in zip(data.points, cache.boxes)],
        atol=1e-4)


def test_file_conventions_round_trip_and_mirror_muct_rows_exactly():
    pts = np.array([[1.0, 1.0], [480.0, 2.0]], np.float32)  # 300-W: 1-based
    continuous = from_file_convention(pts, 1.0)
    np.testing.assert_array_equal(continuous, [[0.5, 0.5], [479.5, 1.5]])
    np.testing.assert_array_equal(to_file_convention(continuous, 1.0), pts)
    # MUCT (0-based) mirrors x → 479 − x on 480-px images: in continuous pixels x → 480 − x
    muct = np.array([[100.0, 5.0]], np.float32)
    mirrored = np.array([[479.0 - 100.0, 5.0]], np.float32)
    assert from_file_convention(mirrored, 0.0)[0, 0] == 480 - from_file_convention(muct, 0.0)[0, 0]


def test_similarity_finds_a_known_transform():
    rng = np.random.default_rng(2)
    source = rng.uniform(0, 1, (10, 2))
    angle, scale, shift = 0.3, 1.7, np.array([3.0, -2.0])
    rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    target = scale * source @ rotation.T + shift
    np.testing.assert_allclose(geometry.apply(geometry.similarity(source, target), source),
                               target, atol=1e-9)


def test_a_rectangle_becomes_the_square_crop_box_about_its_centre():
    np.testing.assert_array_equal(geometry.square_boxes([10, 20, 40, 60]), [[0, 20, 60]])
    np.testing.assert_array_equal(geometry.square_boxes([[0, 0, 8, 2], [5, 5, 1, 1]]),
                                  [[0, -3, 8], [5, 5, 1]])
    np.testing.assert_array_equal(geometry.centred_boxes([[1.0, 2.0]], [4.0]), [[-1, 0, 4]])
