"""Points from an exported landmark model with numpy, OpenCV and TensorFlow alone: no code of
this repository, only the crop formula of the model card (MODEL_CARD.md). Copy it anywhere.

    python landmarks/export_client.py RUN/export/model.tflite photo.jpg 120 80 200  # x0 y0 side
    python landmarks/export_client.py RUN/export/savedmodel photo.jpg 120 80 200

Prints the points, [K, 2] continuous image pixels (the image's top-left corner is 0, 0; the
first pixel's centre 0.5, 0.5), as JSON: the points ``landmarks/predict.py`` gives for that box
(``predictions.csv`` writes them minus 0.5, ``.pts`` files plus 0.5).
"""

import argparse
import json
from pathlib import Path

import cv2
import numpy as np

MAX_BILINEAR_SHRINK = 2.0


def crop(image, x0, y0, side, size):
    """The model's input for the square box (x0, y0, side): the image resampled on it at
    size x size (bilinear, black outside). Crop units u = (x - x0) / side, v = (y - y0) / side;
    crop pixel i's centre is at u = (i + 0.5) / size. A box more than twice the crop's size is
    first shrunk by area averaging to twice the crop's scale (as the model was trained)."""
    height, width = image.shape[:2]
    fx = fy = 1.0  # image pixels per pixel of the (possibly shrunk) source
    scale = size / side
    if scale * MAX_BILINEAR_SHRINK < 1:
        small = (max(1, round(width * scale * MAX_BILINEAR_SHRINK)),
                 max(1, round(height * scale * MAX_BILINEAR_SHRINK)))
        image = cv2.resize(image, small, interpolation=cv2.INTER_AREA)
        fx, fy = width / small[0], height / small[1]
    # source pixel index (centre = integer) → crop pixel index, through continuous pixels
    matrix = np.array([[fx * scale, 0, (0.5 * fx - x0) * scale - 0.5],
                       [0, fy * scale, (0.5 * fy - y0) * scale - 0.5]])
    return cv2.warpAffine(image, matrix, (size, size), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_CONSTANT)


def load(export: Path):
    """The export's function crops [B, S, S, 3] float32 0..255 → points [B, 2K] in crop units
    (the flip test inside), and its crop size S."""
    import tensorflow as tf

    if export.suffix == ".tflite":
        runner = tf.lite.Interpreter(model_path=str(export)).get_signature_runner("serve")
        size = int(runner.get_input_details()["crops"]["shape_signature"][1])
        return lambda crops: runner(crops=crops)["points"], size
    loaded = tf.saved_model.load(str(export))  # kept referenced: it owns the variables
    size = int(loaded.serve.concrete_functions[0].structured_input_signature[0][0].shape[1])
    return lambda crops: loaded.serve(tf.constant(crops))["points"].numpy(), size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("export", type=Path, help="model.tflite or a savedmodel folder")
    parser.add_argument("image", help="a photo")
    for name in ("x0", "y0", "side"):  # the face's square crop box, continuous pixels
        parser.add_argument(name, type=float, help=f"the crop box's {name}, in pixels")
    args = parser.parse_args()
    # Any decoder serves; JPEG decoders can differ by a grey level here and there.
    image = cv2.cvtColor(cv2.imread(args.image, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
    points_of, size = load(args.export)
    x0, y0, side = args.x0, args.y0, args.side
    units = points_of(crop(image, x0, y0, side, size)[None].astype(np.float32))
    points = units.reshape(-1, 2) * side + (x0, y0)
    print(json.dumps(points.round(4).tolist()))


if __name__ == "__main__":
    main()
