"""The names the phone-price scripts offer on the command line, in a module that imports nothing
heavy (``--help`` and a bad flag are answered before TensorFlow loads)."""

HEADS = ("classification", "regression", "ordinal")
OPTIMIZERS = ("sgd", "adam")
