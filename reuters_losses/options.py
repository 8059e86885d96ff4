"""The names the Reuters scripts offer on the command line, in a module that imports nothing
heavy (``--help`` and a bad flag are answered before TensorFlow loads); ``reuters_losses.model``
implements them."""

PAIRS = [
    ("sigmoid", "binary_crossentropy"),
    ("softmax", "categorical_crossentropy"),
    ("sigmoid", "mse"),
    ("softmax", "mse"),
    ("linear", "mse"),
    ("linear", "rescaled_mse"),
]
ACTIVATIONS = ("sigmoid", "softmax", "linear")
LOSSES = ("binary_crossentropy", "categorical_crossentropy", "mse", "rescaled_mse")
OPTIMIZER_NAMES = ("sgd", "adam", "rmsprop")
RESCALE_K, RESCALE_M = 1.0, 15.0
INPUTS = ("multi-hot", "tfidf")
