"""The homework's Reuters MLP with a choosable output activation and loss.

1,000 multi-hot inputs → Dense(64, ReLU) → Dense(64, ReLU) → Dense(46, <activation>), compiled
with <loss>. Every pair is scored with the same categorical accuracy (argmax of the output
against argmax of the one-hot target), because the five losses live on different scales.
"""

from __future__ import annotations

import keras
import tensorflow as tf
from keras import layers

from reuters_losses.data import NUM_CLASSES

PAIRS = [
    ("sigmoid", "binary_crossentropy"),
    ("softmax", "categorical_crossentropy"),
    ("sigmoid", "mse"),
    ("softmax", "mse"),
    ("linear", "mse"),
]
ACTIVATIONS = ("sigmoid", "softmax", "linear")
LOSSES = ("binary_crossentropy", "categorical_crossentropy", "mse")
OPTIMIZERS = {"sgd": keras.optimizers.SGD, "adam": keras.optimizers.Adam,
              "rmsprop": keras.optimizers.RMSprop}  # fmt: skip
OUTPUT_LAYER = "topic"


def build_model(
    activation: str = "softmax",
    loss: str = "categorical_crossentropy",
    num_words: int = 1000,
    hidden=(64, 64),
    optimizer: str = "sgd",
    lr: float | None = None,
) -> keras.Model:
    """Compiled MLP; ``lr=None`` keeps the optimizer's Keras default (SGD 0.01, Adam 0.001)."""
    if activation not in ACTIVATIONS:
        raise ValueError(f"unknown activation {activation!r}; choose one of {ACTIVATIONS}")
    if loss not in LOSSES:
        raise ValueError(f"unknown loss {loss!r}; choose one of {LOSSES}")
    if optimizer not in OPTIMIZERS:
        raise ValueError(f"unknown optimizer {optimizer!r}; choose one of {tuple(OPTIMIZERS)}")
    inputs = keras.Input(shape=(num_words,), name="multi_hot")
    x = inputs
    for units in hidden:
        x = layers.Dense(units, activation="relu")(x)
    outputs = layers.Dense(NUM_CLASSES, activation=activation, name=OUTPUT_LAYER)(x)
    model = keras.Model(inputs, outputs, name=f"reuters_{activation}_{loss}")
    opt = OPTIMIZERS[optimizer]() if lr is None else OPTIMIZERS[optimizer](learning_rate=lr)
    model.compile(optimizer=opt, loss=loss,
                  metrics=[keras.metrics.CategoricalAccuracy(name="accuracy")])  # fmt: skip
    return model


class OutputGradientNorm(keras.callbacks.Callback):
    """Per epoch: L2 norm of d(loss)/d(output kernel) on a fixed batch, logged as ``grad_norm``.

    Put it before CSVLogger/TensorBoard in the callback list so they record the value.
    """

    def __init__(self, x, y, loss: str):
        super().__init__()
        self.x = tf.constant(x)
        self.y = tf.constant(y)
        self.loss_fn = keras.losses.get(loss)

    def norm(self) -> float:
        kernel = self.model.get_layer(OUTPUT_LAYER).kernel
        with tf.GradientTape() as tape:
            loss = self.loss_fn(self.y, self.model(self.x, training=False))
            loss = tf.reduce_mean(loss)
        return float(tf.norm(tape.gradient(loss, kernel.value)))

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["grad_norm"] = self.norm()
