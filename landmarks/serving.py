"""A landmark model as a serving function: crops in, points out, the flip test inside in one
batch; written as a SavedModel or a TFLite file (landmarks/export.py) or run in memory through
the TFLite interpreter (``Predictor(..., runtime="tflite")``)."""

from __future__ import annotations

from pathlib import Path

from common.errors import UserError


def serving_function(model, flip_permutation=None):
    """Crops [B, S, S, 3] float32 0..255 → ``{"points": [B, 2K]}`` in crop units, averaged with
    the mirror images' points mapped back where ``flip_permutation`` is given."""
    import tensorflow as tf

    from landmarks.geometry import flip_points_tf

    def points(crops):
        if flip_permutation is None:
            return {"points": model(crops, training=False)}
        batch = tf.shape(crops)[0]
        both = model(tf.concat([crops, tf.reverse(crops, axis=[2])], axis=0), training=False)
        both = tf.reshape(both, [2 * batch, -1, 2])
        mirrored = flip_points_tf(both[batch:], list(flip_permutation))
        return {"points": tf.reshape((both[:batch] + mirrored) / 2, [batch, -1])}

    return points


def export_savedmodel(model, folder: Path, flip_permutation=None) -> Path:
    """A SavedModel whose endpoint ``serve`` (also its default signature) is
    ``serving_function``, for any batch size."""
    import shutil
    import tempfile

    import keras
    import tensorflow as tf

    from common.files import check_free_space
    from common.saved_models import model_bytes

    size = int(model.input_shape[1])
    archive = keras.export.ExportArchive()
    archive.track(model)
    archive.add_endpoint("serve", serving_function(model, flip_permutation),
                         input_signature=[tf.TensorSpec([None, size, size, 3], tf.float32,
                                                        name="crops")])
    if folder.exists() and not (folder / "saved_model.pb").is_file():
        raise UserError(f"{folder} exists and is not a SavedModel; move it away or choose "
                        "another output folder", param="out")
    check_free_space(folder.parent, 2 * model_bytes(model), f"writing {folder.name}")
    scratch = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".tmp-{folder.name}-"))
    try:  # whole or not at all: a failed write (a full disk) leaves no variables_temp/ behind
        archive.write_out(str(scratch), verbose=False)
        if folder.exists():
            shutil.rmtree(folder)
        scratch.rename(folder)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return folder


# TFLite's post-training weight quantizations (benchmarks/landmarks_quantized.py measures
# them; neither is predict.py's): float16 weights, or int8 weights with float activations.
QUANTIZATIONS = ("float16", "int8-weights")


def tflite_bytes(model, flip_permutation=None, *, quantize: str | None = None) -> bytes:
    """The TFLite flat buffer of ``serving_function`` (signature ``serve``, any batch size),
    converted from the SavedModel of the same endpoint; ``quantize`` one of QUANTIZATIONS, or
    None for float32 weights (the points of the Keras model)."""
    import tempfile

    import tensorflow as tf

    from common.validation import check_choice

    if quantize is not None:
        check_choice("quantize", quantize, QUANTIZATIONS)
    with tempfile.TemporaryDirectory() as scratch:
        saved = export_savedmodel(model, Path(scratch) / "savedmodel", flip_permutation)
        converter = tf.lite.TFLiteConverter.from_saved_model(str(saved), signature_keys=["serve"])
        if quantize is not None:
            converter.optimizations = [tf.lite.Optimize.DEFAULT]
        if quantize == "float16":
            converter.target_spec.supported_types = [tf.float16]
        return converter.convert()


def export_tflite(model, path: Path, flip_permutation=None) -> Path:
    """The TFLite file of ``tflite_bytes``, written whole or not at all."""
    from common.files import atomic_path, check_free_space

    flat = tflite_bytes(model, flip_permutation)
    check_free_space(path.parent, 2 * len(flat), "writing the TFLite file")
    atomic_path(path, lambda tmp: tmp.write_bytes(flat))
    return path


def tflite_runner(flat: bytes, *, threads: int | None = None):
    """``crops [B, S, S, 3] float32 → points [B, 2K]`` through the TFLite interpreter (its
    default XNNPACK delegate; ``threads`` None: the interpreter's own choice)."""
    import warnings

    import numpy as np
    import tensorflow as tf

    with warnings.catch_warnings():  # tf.lite.Interpreter's move to LiteRT is announced
        warnings.simplefilter("ignore")
        interpreter = tf.lite.Interpreter(model_content=flat, num_threads=threads)
    runner = interpreter.get_signature_runner("serve")
    return lambda crops: np.asarray(runner(crops=np.asarray(crops, np.float32))["points"])


def run_exported(path: Path, fmt: str, crops):
    """The exported model's points [B, 2K] for crops [B, S, S, 3] float32, in one batch."""
    import numpy as np
    import tensorflow as tf

    if fmt == "savedmodel":
        loaded = tf.saved_model.load(str(path))
        return np.asarray(loaded.serve(tf.constant(crops, tf.float32))["points"])
    return tflite_runner(Path(path).read_bytes())(crops)
