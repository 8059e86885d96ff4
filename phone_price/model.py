"""The homework's MLP with three heads for the four ordered price classes.

classification  Dense(4, softmax), categorical cross-entropy, class = argmax
regression      Dense(1, linear), mean squared error on the label 0..3, class = round and clip
ordinal         CORAL (Cao, Mirjalili & Raschka 2020): one shared Dense(1) score plus three
                biases, sigmoid gives P(y > k) for k = 0, 1, 2, binary cross-entropy on the
                cumulative targets; class = the number of thresholds passed (P > 0.5). One
                weight vector makes the three probabilities rank-consistent.
Every head reports ``accuracy`` under the same name, so one checkpoint rule serves all three.
"""

from __future__ import annotations

import keras
import numpy as np
from keras import layers, ops

from common.validation import check_choice
from phone_price.options import HEADS, OPTIMIZERS  # noqa: F401  (the names, for importers)

HIDDEN = (300, 200, 150, 50)
NUM_CLASSES = 4


@keras.saving.register_keras_serializable(package="phone_price")
class RoundedAccuracy(keras.metrics.MeanMetricWrapper):
    """Accuracy of a regression output read as a class: round, clip to 0..3, compare."""

    def __init__(self, name="accuracy", dtype=None):
        super().__init__(fn=rounded_accuracy, name=name, dtype=dtype)

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype}


def rounded_accuracy(y_true, y_pred):
    predicted = ops.clip(ops.round(y_pred), 0, NUM_CLASSES - 1)
    correct = ops.equal(predicted, ops.cast(y_true, y_pred.dtype))
    return ops.cast(correct, "float32")


@keras.saving.register_keras_serializable(package="phone_price")
class OrdinalAccuracy(keras.metrics.MeanMetricWrapper):
    """Accuracy of an ordinal head: thresholds passed (P > 0.5) against passed targets."""

    def __init__(self, name="accuracy", dtype=None):
        super().__init__(fn=ordinal_accuracy, name=name, dtype=dtype)

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype}


def ordinal_accuracy(y_true, y_pred):
    passed = ops.sum(ops.cast(y_pred > 0.5, "float32"), axis=-1)
    return ops.cast(ops.equal(passed, ops.sum(ops.cast(y_true, "float32"), axis=-1)), "float32")


@keras.saving.register_keras_serializable(package="phone_price")
class OrdinalThresholds(layers.Layer):
    """[B, 1] shared score → [B, K−1] logits ``score + b_k`` (CORAL's K−1 independent biases)."""

    def __init__(self, num_classes: int = NUM_CLASSES, **kwargs):
        super().__init__(**kwargs)
        self.num_classes = num_classes

    def build(self, input_shape):
        start = np.linspace(1.0, -1.0, self.num_classes - 1)  # decreasing: P(y>0) > P(y>1) …
        self.biases = self.add_weight(shape=(self.num_classes - 1,), name="biases",
                                      initializer=keras.initializers.Constant(start))

    def call(self, score):
        return score + self.biases

    def get_config(self):
        return {**super().get_config(), "num_classes": self.num_classes}


def build_model(
    num_features: int,
    *,
    head: str = "classification",
    hidden=HIDDEN,
    dropout: float = 0.2,
    lr: float = 0.001,
    optimizer: str = "sgd",
    l2: float = 0.0,
) -> keras.Model:
    """Dense layers (ReLU), each followed by Dropout, then the head; compiled with Nesterov SGD
    (momentum 0.9, the homework's) or Adam; ``l2`` is an L2 penalty on every kernel."""
    check_choice("head", head, HEADS)
    check_choice("optimizer", optimizer, OPTIMIZERS)
    regularizer = keras.regularizers.L2(l2) if l2 else None
    inputs = keras.Input(shape=(num_features,), name="features")
    x = inputs
    for units in hidden:
        x = layers.Dense(units, activation="relu", kernel_regularizer=regularizer)(x)
        x = layers.Dropout(dropout)(x)
    if head == "classification":
        outputs = layers.Dense(NUM_CLASSES, activation="softmax", name="price_range")(x)
        loss, metrics = "categorical_crossentropy", ["accuracy"]
    elif head == "regression":
        outputs = layers.Dense(1, activation="linear", name="price_range")(x)
        loss, metrics = "mse", [RoundedAccuracy()]
    else:
        score = layers.Dense(1, use_bias=False, kernel_regularizer=regularizer, name="score")(x)
        logits = OrdinalThresholds(NUM_CLASSES, name="thresholds")(score)
        outputs = layers.Activation("sigmoid", name="price_range")(logits)
        loss, metrics = "binary_crossentropy", [OrdinalAccuracy()]
    model = keras.Model(inputs, outputs, name=f"phone_price_{head}")
    opt = (keras.optimizers.SGD(learning_rate=lr, momentum=0.9, nesterov=True)
           if optimizer == "sgd" else keras.optimizers.Adam(learning_rate=lr))
    model.compile(optimizer=opt, loss=loss, metrics=metrics)
    return model


def targets(y: np.ndarray, head: str) -> np.ndarray:
    """Training targets for ``head``: one-hot rows, the label as a float column, or the
    cumulative ``[y > 0, y > 1, y > 2]`` rows of the ordinal head."""
    check_choice("head", head, HEADS)
    y = np.asarray(y)
    if head == "classification":
        return keras.utils.to_categorical(y, NUM_CLASSES)
    if head == "regression":
        return y.astype(np.float32).reshape(-1, 1)
    return (y[:, None] > np.arange(NUM_CLASSES - 1)[None, :]).astype(np.float32)


def decode(output: np.ndarray) -> np.ndarray:
    """Class 0..3 per row from any head's output ([N, 4], [N, 1] or [N, 3]); -1 where the
    output is not finite (a diverged network), which then counts as wrong."""
    output = np.asarray(output, dtype=np.float64)
    if output.shape[-1] == NUM_CLASSES:
        classes = output.argmax(axis=-1)
    elif output.shape[-1] == 1:
        classes = np.clip(np.rint(np.nan_to_num(output[:, 0])), 0, NUM_CLASSES - 1)
    else:
        classes = (output > 0.5).sum(axis=-1)
    return np.where(np.isfinite(output).all(axis=-1), classes, -1).astype(np.int64)


def predict_classes(model: keras.Model, x: np.ndarray) -> np.ndarray:
    """Class 0..3 per row, whichever head the model has."""
    return decode(model.predict(x, verbose=0))
