"""The names the landmark scripts offer on the command line (heads, losses, backbones, poolings),
in a module that imports nothing heavy, so ``--help`` and a bad flag are answered before
TensorFlow loads. ``landmarks.heads``, ``landmarks.losses`` and ``landmarks.model`` implement
them (and check that they implement exactly these)."""

DENSE_HEADS = ("sigmoid", "tanh", "linear", "linear-pixels")
HEADS = (*DENSE_HEADS, "soft-argmax")
LOSS_NAMES = ("masked_euclidean", "masked_l1", "masked_mse", "wing", "n_loss")
BACKBONES = ("resnet50", "mobilenetv2", "small_cnn")
# The smallest input each backbone takes (the small CNN halves the size five times).
MIN_IMAGE_SIZE = {"resnet50": 32, "mobilenetv2": 32, "small_cnn": 31}
WEIGHT_SUFFIXES = (".h5", ".keras")
POOLINGS = ("avg", "flatten")


def check_weights(weights: str | None) -> None:
    """ValueError unless ``weights`` is none, imagenet or a path ending in .h5 / .keras."""
    if weights in (None, "none", "imagenet") or str(weights).endswith(WEIGHT_SUFFIXES):
        return
    raise ValueError(f"weights {weights!r}: expected none, imagenet, or a file ending in "
                     f"{' or '.join(WEIGHT_SUFFIXES)}")
