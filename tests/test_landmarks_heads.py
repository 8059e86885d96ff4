import keras
import numpy as np
import pytest

from landmarks.heads import HEADS, SoftArgmax
from landmarks.losses import LOSSES
from landmarks.model import build_model


def soft_argmax_numpy(logits: np.ndarray) -> np.ndarray:
    """The reference: [H, W, K] logits → [K, 2] expected (x, y) of each map's softmax."""
    h, w, k = logits.shape
    flat = logits.reshape(h * w, k)
    prob = np.exp(flat - flat.max(axis=0))
    prob = (prob / prob.sum(axis=0)).reshape(h, w, k)
    xs, ys = (np.arange(w) + 0.5) / w, (np.arange(h) + 0.5) / h
    return np.stack([np.einsum("hwk,w->k", prob, xs), np.einsum("hwk,h->k", prob, ys)], axis=1)


def test_soft_argmax_is_the_expectation_of_each_maps_softmax():
    logits = np.random.default_rng(0).normal(0, 3, (6, 4, 3)).astype(np.float32)
    out = SoftArgmax()(logits[None]).numpy().reshape(3, 2)
    np.testing.assert_allclose(out, soft_argmax_numpy(logits), atol=1e-6)
    # by hand: a 1 x 2 map with softmax weights 1/4 and 3/4 on cells centred at x = 1/4, 3/4
    two = np.log(np.array([[[1.0], [3.0]]], np.float32))[None]  # [1, H=1, W=2, K=1]
    np.testing.assert_allclose(SoftArgmax()(two).numpy(), [[0.25 * 0.25 + 0.75 * 0.75, 0.5]],
                               atol=1e-6)
    # a sharp peak lands on its cell's centre: row 3 of 4, column 0 of 6 → (1/12, 7/8)
    peak = np.full((4, 6, 1), -50.0, np.float32)
    peak[3, 0, 0] = 50.0
    np.testing.assert_allclose(SoftArgmax()(peak[None]).numpy(), [[1 / 12, 7 / 8]], atol=1e-6)


@pytest.mark.parametrize("head", HEADS)
def test_every_head_gives_2k_points_in_the_crop_and_loads_back(head, tmp_path):
    start = np.random.default_rng(1).uniform(0.2, 0.8, (5, 2))
    model = build_model(5, 32, backbone="small_cnn", head=head, pooling="flatten",
                        initial_points=start)
    images = np.random.default_rng(0).uniform(0, 255, (3, 32, 32, 3)).astype(np.float32)
    out = model.predict(images, verbose=0)
    assert out.shape == (3, 10)
    if head in ("sigmoid", "tanh", "soft-argmax"):
        assert (out > 0).all() and (out < 1).all()
    if head == "soft-argmax":
        assert model.get_layer("heatmaps").output.shape[1:3] == (2, 2)  # stride 16 of 32 px
    else:
        # an untrained Dense head starts near the mean shape, whatever its units
        assert np.abs(out - start.reshape(-1)).max() < 0.2
    model.save(tmp_path / "m.keras")
    again = keras.models.load_model(tmp_path / "m.keras")
    np.testing.assert_allclose(again.predict(images, verbose=0), out, atol=1e-6)


def test_the_pixel_head_regresses_pixels_and_tanh_works_in_minus_one_to_one():
    pixels = build_model(3, 40, backbone="small_cnn", head="linear-pixels")
    assert pixels.get_layer("to_crop_units").scale == pytest.approx(1 / 40)
    tanh = build_model(3, 40, backbone="small_cnn", head="tanh")
    rescale = tanh.get_layer("to_crop_units")
    assert (rescale.scale, rescale.offset) == (0.5, 0.5)
    assert tanh.get_layer("landmarks").activation.__name__ == "tanh"


@pytest.mark.parametrize("head, loss", [("sigmoid", "wing"), ("tanh", "masked_euclidean"),
                                        ("linear", "masked_l1"), ("linear-pixels", "n_loss"),
                                        ("soft-argmax", "masked_mse")])
def test_a_tiny_run_of_each_head_lowers_its_loss(head, loss):
    """16 black images, each with its 4 points drawn as coloured squares; one masked point in
    every fourth image."""
    keras.utils.set_random_seed(0)
    points = np.random.default_rng(0).uniform(0.15, 0.85, (16, 4, 2)).astype(np.float32)
    images = np.zeros((16, 32, 32, 3), np.float32)
    for i, k in np.ndindex(16, 4):
        x, y = (points[i, k] * 32).astype(int)
        images[i, y - 2 : y + 2, x - 2 : x + 2, k % 3] = 255
    targets = points.reshape(16, 8).copy()
    targets[::4, :2] = 0.0
    model = build_model(4, 32, backbone="small_cnn", head=head, pooling="flatten",
                        initial_points=points.mean(axis=0))
    model.compile(keras.optimizers.Adam(3e-3), loss=LOSSES[loss])
    history = model.fit(images, targets, batch_size=8, epochs=15, verbose=0).history["loss"]
    assert np.isfinite(history).all()
    assert history[-1] < 0.6 * history[0]
