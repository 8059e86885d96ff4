"""Landmarks on a photo: the detector box mapping, predict.py's files, evaluate --boxes detector."""

import json

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from landmarks.detect import apply_mapping, box_ratios
from landmarks.formats import read_pts
from landmarks.metrics import nme_per_image
from tests.conftest import copy_afw_faces


def test_the_box_mapping_round_trips():
    landmark = np.array([[100.0, 80.0, 120.0], [10.0, 20.0, 50.0]], np.float32)
    detected = np.array([[110.0, 70.0, 100.0, 100.0], [12.0, 15.0, 40.0, 40.0]], np.float32)
    ratios = box_ratios(detected, landmark)
    for i in range(2):  # a mapping learned from one face maps that face's box back exactly
        mapping = {"dx": ratios[i, 0], "dy": ratios[i, 1], "scale": ratios[i, 2]}
        np.testing.assert_allclose(apply_mapping(detected[i], mapping)[0], landmark[i], atol=1e-4)


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory, data_dir):
    """A small model trained on 60 real AFW faces, with the HOG detector's box mapping."""
    from landmarks.train import parse_config
    from landmarks.training import train

    root = tmp_path_factory.mktemp("predict")
    copy_afw_faces(root, data_dir, 60)
    run = root / "run"
    train(parse_config(["--backbone", "small_cnn",
                        "--data-dir", str(root), "--subsets", "afw", "--image-size", "48",
                        "--epochs", "3", "--batch-size", "8", "--quiet",
                        "--head", "sigmoid",  # starts at the mean shape
                        "--out", str(run)]))
    return root, run


@pytest.mark.slow
def test_predict_writes_pts_close_to_the_truth_and_counts_images_without_a_face(
        trained_run, tmp_path, capsys):
    from landmarks import predict

    root, run = trained_run
    mapping = json.loads((run / "box_mapping.json").read_text())
    assert mapping["detector"] == "hog" and mapping["detected"] > 30
    faces = sorted((root / "ibug_68" / "afw").glob("*.jpg"))[:4]
    gradient = tmp_path / "gradient.png"
    Image.fromarray(np.tile(np.linspace(0, 255, 200, dtype=np.uint8), (200, 1))).save(gradient)
    (tmp_path / "broken.jpg").write_bytes(b"not an image")
    out = tmp_path / "points"
    predict.main([str(run), *map(str, faces), str(gradient), str(tmp_path / "broken.jpg"),
                  "--out", str(out)])
    err = capsys.readouterr()
    assert "gradient.png: no face found" in err.err and "broken.jpg: cannot be read" in err.err
    assert "1 without a face, 1 unreadable" in err.out
    table = pd.read_csv(out / "predictions.csv")
    assert set(table["face"]) >= {0} and {"box_x", "box_side", "x0", "y67"} <= set(table.columns)
    for face in faces:  # "1 without a face" above: the gradient; every photo had its face
        written = sorted(out.glob(f"{face.stem}_face*.pts"))
        assert written, face.name
        predicted = read_pts(written[0])
        truth = read_pts(face.with_suffix(".pts"))
        nme = nme_per_image(predicted[None], truth[None], np.ones((1, 68), bool), (36, 45))[0]
        assert nme < 0.4  # loose: a 3-epoch model; points elsewhere in the photo give > 1
        assert (out / f"{face.stem}_overlay.png").exists()


@pytest.mark.slow
def test_predict_with_a_given_box_skips_detection(trained_run, tmp_path, monkeypatch):
    import landmarks.detect
    from landmarks import predict
    from landmarks.pipeline import face_boxes

    def no_detection(*args, **kwargs):
        raise AssertionError("ran the face detector although a box was given")

    monkeypatch.setattr(landmarks.detect, "detect_faces", no_detection)
    root, run = trained_run
    face = sorted((root / "ibug_68" / "afw").glob("*.jpg"))[0]
    truth = read_pts(face.with_suffix(".pts"))
    x0, y0, side = face_boxes(truth[None], np.ones((1, 68), bool), 0.25)[0]
    predict.main([str(run), str(face), "--box", f"{x0},{y0},{side},{side}", "--out",
                  str(tmp_path)])
    predicted = read_pts(tmp_path / f"{face.stem}_face0.pts")
    assert nme_per_image(predicted[None], truth[None], np.ones((1, 68), bool), (36, 45))[0] < 0.4
    predict.main([str(run), str(face), "--box", f"{x0},{y0},{side},{side}", "--runtime",
                  "tflite", "--out", str(tmp_path / "lite")])  # the flip test inside, one batch
    lite = read_pts(tmp_path / "lite" / f"{face.stem}_face0.pts")
    size = json.loads((run / "config.json").read_text())["image_size"]
    np.testing.assert_allclose(lite, predicted, atol=0.01 * side / size)  # 0.01 px of the crop


@pytest.mark.slow
def test_evaluate_with_detector_boxes_reports_the_detection_rate(trained_run, tmp_path):
    from landmarks import evaluate

    root, run = trained_run
    evaluate.main([str(run), "--data-dir", str(root), "--boxes", "detector", "--quiet",
                   "--out", str(tmp_path)])
    scores = json.loads((tmp_path / "evaluation_val_detector.json").read_text())
    assert 0.5 < scores["val_detector_detection_rate"] <= 1.0
    assert scores["val_detector_detected_nme"] > 0 and scores["val_detector_nme"] > 0


# ------------------------------------------------------------------------ photos and run folders
def test_predict_gives_images_that_share_a_stem_distinct_names(tmp_path):
    from landmarks.predict import output_names

    files = [tmp_path / "a" / "face.jpg", tmp_path / "b" / "face.jpg", tmp_path / "a" / "face.png"]
    names = output_names(files)
    assert len(set(names)) == 3


@pytest.mark.parametrize("box", ["nan,0,10,10", "0,0,inf,10", "0,0,0,10"])
def test_predict_refuses_a_box_that_is_not_finite_and_positive(box, capsys):
    from landmarks.predict import parse_args

    with pytest.raises(SystemExit) as exit_:
        parse_args(["run", "face.jpg", "--box", box])
    assert exit_.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert "argument --box" in err and box in err


def test_a_predictor_names_an_unknown_runtime():
    import keras

    from common.errors import ParameterError
    from landmarks.inference import Predictor

    inputs = keras.Input((8, 8, 3))
    model = keras.Model(inputs, keras.layers.Dense(4)(keras.layers.Flatten()(inputs)))
    with pytest.raises(ParameterError, match="unknown runtime 'onnx'; choose one of keras, tflite"):
        Predictor(model, runtime="onnx")


def test_a_quantized_tflite_model_is_smaller_and_close_and_an_unknown_one_is_named():
    import keras

    from common.errors import ParameterError
    from landmarks.serving import tflite_bytes, tflite_runner

    inputs = keras.Input((16, 16, 3))
    hidden = keras.layers.Conv2D(32, 3, activation="relu")(inputs / 255.0)
    model = keras.Model(inputs, keras.layers.Dense(10)(keras.layers.Flatten()(hidden)))
    crops = np.random.default_rng(0).uniform(0, 255, (4, 16, 16, 3)).astype(np.float32)
    plain = tflite_bytes(model)
    expected = tflite_runner(plain)(crops)
    np.testing.assert_allclose(expected, model.predict(crops, verbose=0), atol=1e-4)
    for quantize, shrink in (("float16", 1.7), ("int8-weights", 3.0)):
        flat = tflite_bytes(model, quantize=quantize)
        assert len(flat) * shrink < len(plain)  # the weights are stored in fewer bits
        got = tflite_runner(flat)(crops)
        assert 0 < np.abs(got - expected).max() < 0.05 * np.abs(expected).max()
    with pytest.raises(ParameterError, match="unknown quantize 'int4'"):
        tflite_bytes(model, quantize="int4")
