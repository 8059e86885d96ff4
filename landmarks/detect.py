"""Face boxes from a detector, and the mapping from a detector's box to the model's face crop.

The detector is dlib's (``dlib-bin`` on PyPI, its models inside the package): ``hog`` (the
frontal-face HOG + linear SVM, no upsampling) by default, or ``cnn`` (the MMOD CNN from the
``face-recognition-models`` package: it found every validation face in a one-off check here,
but at a few images/s, about 80× slower than HOG on a CPU). OpenCV's Haar cascades, the other
registry-installable candidate, are no longer in ``opencv-python-headless`` 5. The HOG
detector's rate and speed are measured by ``python benchmarks/landmarks_predict.py``.

A detector's box is not the landmark box the model was trained on (dlib's sits higher and is a
different size), so ``learn_mapping`` measures, on the training faces, the median offset of the
landmark box's centre and the median ratio of its side, both relative to the detector box's
width; ``apply_mapping`` turns a detector box into the crop box. The spread of the residuals is
what training jitters the box by, so the model has seen boxes as far off as the detector's.
"""

from __future__ import annotations

from functools import cache

import numpy as np

from common.errors import UserError
from common.validation import check_choice
from landmarks.formats import read_image
from landmarks.geometry import centred_boxes

DETECTORS = ("hog", "cnn")


@cache
def _detector(name: str):
    try:
        import dlib
    except ImportError:
        raise UserError("the face detector needs dlib: pip install dlib-bin") from None
    if name == "hog":
        return dlib.get_frontal_face_detector()
    try:
        import face_recognition_models
    except ImportError:
        raise UserError("the cnn detector needs pip install face-recognition-models",
                        param="detector") from None
    model_file = face_recognition_models.cnn_face_detector_model_location()
    return dlib.cnn_face_detection_model_v1(model_file)


def detect_faces(image: np.ndarray, *, detector: str = "hog") -> np.ndarray:
    """Boxes [F, 4] ``(x, y, w, h)`` in pixels of an RGB uint8 image, largest first."""
    check_choice("detector", detector, DETECTORS)
    found = _detector(detector)(np.ascontiguousarray(image), 0)
    rects = [getattr(d, "rect", d) for d in found]  # the CNN wraps each rectangle
    boxes = np.array([[r.left(), r.top(), r.width(), r.height()] for r in rects], np.float32)
    boxes = boxes.reshape(-1, 4)
    return boxes[np.argsort(-boxes[:, 2] * boxes[:, 3], kind="stable")]


def matching_box(boxes: np.ndarray, landmark_box) -> int | None:
    """Index of the detection whose box holds the landmark box's centre (largest first), if any."""
    x0, y0, side = landmark_box
    cx, cy = x0 + side / 2, y0 + side / 2
    for i, (x, y, w, h) in enumerate(boxes):
        if x <= cx <= x + w and y <= cy <= y + h:
            return i
    return None


def box_ratios(detected: np.ndarray, landmark: np.ndarray) -> np.ndarray:
    """[N, 3]: landmark-box centre offset (x, y) and side, each divided by the detector width."""
    width = detected[:, 2]
    centre_d = detected[:, :2] + detected[:, 2:] / 2
    centre_l = landmark[:, :2] + landmark[:, 2:3] / 2
    return np.column_stack([(centre_l - centre_d) / width[:, None], landmark[:, 2] / width])


def learn_mapping(paths, landmark_boxes: np.ndarray, *, detector: str = "hog") -> dict:
    """Median offset and scale from detector boxes to landmark boxes on the given faces, the
    spread of what is left over, the share of faces detected, and the fallback box size."""
    detected, matched, image_sides = [], [], []
    for path, box in zip(paths, landmark_boxes):
        image = read_image(path)
        image_sides.append(min(image.shape[:2]))
        boxes = detect_faces(image, detector=detector)
        hit = matching_box(boxes, box)
        if hit is not None:
            detected.append(boxes[hit])
            matched.append(box)
    if len(detected) < 3:
        raise UserError(f"the {detector} detector found only {len(detected)} of {len(paths)} "
                        "training faces; use no detector or another one", param="detector")
    ratios = box_ratios(np.array(detected), np.array(matched))
    median = np.median(ratios, axis=0)
    centre_error = np.abs(ratios[:, :2] - median[:2]) / median[2]  # in units of the crop side
    scale_error = np.abs(np.log(ratios[:, 2] / median[2]))
    return {
        "detector": detector, "dx": float(median[0]), "dy": float(median[1]),
        "scale": float(median[2]), "detected": len(detected), "faces": len(paths),
        "shift_p90": float(np.quantile(centre_error, 0.9)),
        "scale_p90": float(np.expm1(np.quantile(scale_error, 0.9))),
        "fallback_side": float(np.median(np.array(landmark_boxes)[:, 2] / np.array(image_sides))),
    }


def apply_mapping(detected: np.ndarray, mapping: dict) -> np.ndarray:
    """Detector boxes [F, 4] (x, y, w, h) → crop boxes [F, 3] (x0, y0, side)."""
    detected = np.asarray(detected, np.float32).reshape(-1, 4)
    width = detected[:, 2]
    centre = detected[:, :2] + detected[:, 2:] / 2 + np.column_stack(
        [mapping["dx"] * width, mapping["dy"] * width])
    return centred_boxes(centre, mapping["scale"] * width)


def fallback_box(image_shape, mapping: dict) -> np.ndarray:
    """[3]: the centred square a face most often fills (for images where none is detected)."""
    height, width = image_shape[:2]
    side = mapping["fallback_side"] * min(height, width)
    return np.array([(width - side) / 2, (height - side) / 2, side], np.float32)
