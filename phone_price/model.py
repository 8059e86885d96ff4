"""The homework's MLP with two heads: 4-way softmax (the right one) or a single linear neuron.

classification  Dense(4, softmax), categorical cross-entropy, class = argmax
regression      Dense(1, linear), mean squared error on the label 0..3, class = round and clip
Both report ``accuracy`` under the same name, so one ModelCheckpoint(val_accuracy) serves both.
"""

from __future__ import annotations

import keras
import numpy as np
from keras import layers

HEADS = ("classification", "regression")
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
    predicted = keras.ops.clip(keras.ops.round(y_pred), 0, NUM_CLASSES - 1)
    correct = keras.ops.equal(predicted, keras.ops.cast(y_true, y_pred.dtype))
    return keras.ops.cast(correct, "float32")


def build_model(
    num_features: int,
    head: str = "classification",
    hidden=HIDDEN,
    dropout: float = 0.2,
    lr: float = 0.001,
) -> keras.Model:
    """Dense layers (ReLU), each followed by Dropout, then the head; compiled with Nesterov SGD."""
    if head not in HEADS:
        raise ValueError(f"unknown head {head!r}; choose one of {', '.join(HEADS)}")
    inputs = keras.Input(shape=(num_features,), name="features")
    x = inputs
    for units in hidden:
        x = layers.Dense(units, activation="relu")(x)
        x = layers.Dropout(dropout)(x)
    if head == "classification":
        outputs = layers.Dense(NUM_CLASSES, activation="softmax", name="price_range")(x)
        loss, metrics = "categorical_crossentropy", ["accuracy"]
    else:
        outputs = layers.Dense(1, activation="linear", name="price_range")(x)
        loss, metrics = "mse", [RoundedAccuracy()]
    model = keras.Model(inputs, outputs, name=f"phone_price_{head}")
    model.compile(
        optimizer=keras.optimizers.SGD(learning_rate=lr, momentum=0.9, nesterov=True),
        loss=loss,
        metrics=metrics,
    )
    return model


def targets(y: np.ndarray, head: str) -> np.ndarray:
    """Training targets for ``head``: one-hot rows, or the label as a float column."""
    if head == "classification":
        return keras.utils.to_categorical(y, NUM_CLASSES)
    return y.astype(np.float32).reshape(-1, 1)


def predict_classes(model: keras.Model, x: np.ndarray) -> np.ndarray:
    """Class 0..3 per row, whichever head the model has."""
    output = model.predict(x, verbose=0)
    if output.shape[-1] == NUM_CLASSES:
        return output.argmax(axis=-1)
    return np.clip(np.rint(output[:, 0]), 0, NUM_CLASSES - 1).astype(np.int64)
