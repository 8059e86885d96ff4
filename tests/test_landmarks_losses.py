import keras
import numpy as np
import pytest
import tensorflow as tf

from landmarks import losses
from landmarks.losses import masked_euclidean, masked_l1, masked_mse, n_loss, wing
from landmarks.metrics import NME, ced_auc, failure_rate, nme_per_image

# two images, three points each, laid out [x0, y0, x1, y1, x2, y2]; image 0's point 1 is (0, 0)
Y_TRUE = np.array([[0.2, 0.2, 0.0, 0.0, 0.5, 0.5], [0.1, 0.3, 0.4, 0.4, 0.6, 0.2]], np.float32)
Y_PRED = np.array([[0.5, 0.6, 0.9, 0.9, 0.5, 0.5], [0.1, 0.3, 0.4, 0.1, 0.6, 0.6]], np.float32)
# visible errors: (0.3, 0.4) → 0.5; (0, 0) → 0; (0, 0) → 0; (0, -0.3) → 0.3; (0, 0.4) → 0.4


def value(loss, y_true=Y_TRUE, y_pred=Y_PRED):
    return float(loss(tf.constant(y_true), tf.constant(y_pred)))


def test_masked_euclidean_by_hand():
    assert value(masked_euclidean) == pytest.approx((0.5 + 0 + 0 + 0.3 + 0.4) / 5)


def test_the_homeworks_reshape_would_pair_the_wrong_numbers():
    # coordinate errors [dx0, dy0, dx1, dy1, dx2, dy2] = [0.3, 0, 0, 0.4, 0, 0]
    y_true = np.array([[0.1, 0.2, 0.3, 0.4, 0.5, 0.6]], np.float32)
    y_pred = y_true + np.array([[0.3, 0, 0, 0.4, 0, 0]], np.float32)
    right = value(masked_euclidean, y_true, y_pred)
    assert right == pytest.approx((0.3 + 0.4 + 0) / 3)
    # reshaping to [-1, 2, K] and taking the norm over the 2-axis pairs dx0 with dy1: 0.5 + 0 + 0
    wrong = np.linalg.norm((y_pred - y_true).reshape(-1, 2, 3), axis=1).mean()
    assert wrong == pytest.approx(0.5 / 3)
    assert abs(wrong - right) > 0.05


def test_other_losses_by_hand():
    deltas = np.array([0.3, 0.4, 0, 0, 0, 0, 0, 0.3, 0, 0.4])  # visible coordinates only
    assert value(masked_l1) == pytest.approx(np.abs(deltas).mean())
    assert value(masked_mse) == pytest.approx((deltas**2).mean())
    w, e = losses.WING_W, losses.WING_EPSILON
    c = w - w * np.log(1 + w / e)
    expected = np.where(deltas < w, w * np.log1p(deltas / e), deltas - c).mean()
    assert value(wing) == pytest.approx(expected, rel=1e-5)
    assert value(n_loss) == pytest.approx((0.7 + 0 + 0 + 0.3 + 0.4) / 5)


def test_wing_is_linear_beyond_w():
    far = np.array([[0.0, 0.5]], np.float32)  # x-distance 0.5 > w
    near = np.array([[0.5, 0.5]], np.float32)
    w, e = losses.WING_W, losses.WING_EPSILON
    expected = ((0.5 - (w - w * np.log(1 + w / e))) + 0.0) / 2
    assert value(wing, near, far) == pytest.approx(expected, rel=1e-5)


@pytest.mark.parametrize("loss", list(losses.LOSSES.values()), ids=list(losses.LOSSES))
def test_all_masked_batch_is_zero_not_nan(loss):
    assert value(loss, np.zeros((2, 6), np.float32), Y_PRED) == 0.0


@pytest.mark.parametrize("loss", list(losses.LOSSES.values()), ids=list(losses.LOSSES))
def test_gradients_reach_only_visible_points_and_stay_finite(loss):
    y_pred = tf.Variable(np.where(np.arange(6) == 4, Y_TRUE, Y_PRED))  # one exact hit: |d| = 0
    with tf.GradientTape() as tape:
        result = loss(tf.constant(Y_TRUE), y_pred)
    grad = tape.gradient(result, y_pred).numpy()
    assert np.isfinite(grad).all()
    np.testing.assert_array_equal(grad[0, 2:4], 0.0)  # the (0, 0) point
    assert np.abs(grad[1]).sum() > 0


@pytest.mark.parametrize("name", list(losses.LOSSES))
def test_model_with_each_loss_saves_and_loads(tmp_path, name):
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(6, activation="sigmoid")])
    model.compile(loss=losses.LOSSES[name], metrics=[NME((0, 2))])
    model.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras")
    x = np.ones((2, 4), np.float32)
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    assert loaded.evaluate(x, Y_TRUE, verbose=0)[0] == pytest.approx(
        model.evaluate(x, Y_TRUE, verbose=0)[0]
    )


def test_nme_and_ced_by_hand():
    true = np.array([[[0, 0], [1, 0], [0.5, 0.5]], [[0, 0], [2, 0], [1, 1]]], np.float32)
    pred = true + np.array([[[0.1, 0], [0, 0], [0, 0]], [[0, 0], [0, 0], [0, 0.6]]], np.float32)
    visible = np.array([[True, True, True], [True, True, True]])
    nme = nme_per_image(pred, true, visible, (0, 1))
    np.testing.assert_allclose(nme, [0.1 / 3 / 1, 0.6 / 3 / 2])
    assert failure_rate(nme, 0.08) == 0.5
    assert ced_auc(np.array([0.0, 0.0]), 0.1) == pytest.approx(1.0, abs=1e-3)
    assert ced_auc(np.array([0.2]), 0.1) == 0.0

    metric = NME((0, 1))
    metric.update_state(true.reshape(2, -1) + 1, pred.reshape(2, -1) + 1)  # no (0, 0) targets
    assert float(metric.result()) == pytest.approx(nme.mean(), rel=1e-5)
