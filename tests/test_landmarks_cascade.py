"""The second stage on an aligned crop (landmarks/cascade.py): the alignment, the cascade's
points through predict and through scoring, and a second-stage run end to end."""

import json

import numpy as np
import pytest

from landmarks import geometry
from landmarks.cascade import Cascade, aligned_matrices

SHAPE = np.array([[0.3, 0.4], [0.7, 0.4], [0.5, 0.6], [0.35, 0.75], [0.65, 0.75]])


def similar_points(scale=80.0, angle=0.3, shift=(40.0, 25.0)):
    cos, sin = np.cos(angle), np.sin(angle)
    return SHAPE @ (scale * np.array([[cos, -sin], [sin, cos]])).T + shift


def test_the_aligned_crop_puts_the_points_on_the_shape():
    points = similar_points()
    matrix = aligned_matrices(points[None], np.ones((1, 5), bool), SHAPE)[0]
    np.testing.assert_allclose(geometry.apply(matrix, points), SHAPE, atol=1e-9)
    # a hidden point takes no part in the fit
    moved = points.copy()
    moved[2] += 30
    visible = np.array([[True, True, False, True, True]])
    np.testing.assert_allclose(aligned_matrices(moved[None], visible, SHAPE)[0], matrix,
                               atol=1e-9)


class Constant:
    """A stand-in predictor: the same crop-unit points for every crop."""

    box_mapping = None

    def __init__(self, unit, size=32):
        self.unit, self.size = np.asarray(unit, np.float32), size

    def unit_points(self, crops):
        return np.broadcast_to(self.unit, (len(crops), *self.unit.shape)).copy()

    def predict(self, image, boxes, detector=None):
        matrices = [geometry.box_matrix(b) for b in boxes]
        return np.stack([geometry.from_crop(self.unit, m) for m in matrices]), boxes


def test_a_second_stage_that_answers_the_shape_gives_back_the_aligned_points():
    """The second stage's crop-unit answer goes back through the exact inverse of the aligned
    crop: answering the shape returns the first estimate (a similarity of the shape) itself."""
    points = similar_points()
    box = np.array([[20.0, 10.0, 100.0]])
    first = Constant(geometry.to_crop(points, geometry.box_matrix(box[0])))
    cascade = Cascade(first, Constant(SHAPE), SHAPE)
    image = np.zeros((150, 150, 3), np.uint8)
    refined, boxes = cascade.predict(image, box)
    np.testing.assert_allclose(refined[0], points, atol=1e-3)
    np.testing.assert_array_equal(boxes, box)
    # a second stage that moves every point 0.01 crop units right moves it by that share of
    # the aligned crop's side, turned with the face
    shifted = Cascade(first, Constant(SHAPE + [0.01, 0.0]), SHAPE).predict(image, box)[0][0]
    step = shifted - points
    np.testing.assert_allclose(step, np.broadcast_to(step[0], step.shape), atol=1e-3)
    np.testing.assert_allclose(np.linalg.norm(step[0]), 0.01 * 80.0, rtol=1e-3)
    np.testing.assert_allclose(np.arctan2(step[0, 1], step[0, 0]), 0.3, atol=1e-3)


@pytest.mark.slow
def test_a_second_stage_trains_scores_as_it_predicts_and_refuses_other_faces(
        tmp_path, synthetic_ibug):
    from common.errors import UserError
    from landmarks import evaluate
    from landmarks.datasets import recorded_split
    from landmarks.formats import read_image
    from landmarks.inference import Predictor
    from landmarks.train import parse_config
    from landmarks.training import train

    base = ["--backbone", "small_cnn", "--data-dir", str(synthetic_ibug), "--subsets", "afw",
            "--image-size", "40", "--batch-size", "8", "--detector", "none", "--quiet"]
    first, second = tmp_path / "first", tmp_path / "second"
    train(parse_config([*base, "--epochs", "1", "--out", str(first)]))
    metrics = train(parse_config([*base, "--epochs", "2", "--out", str(second),
                                  "--first-stage", str(first),
                                  "--weights", str(first / "model.keras")]))
    predictor = Predictor.from_run(second)
    assert isinstance(predictor, Cascade)

    # the figure training reports is the cascade's, from the images, as evaluate scores it
    evaluate.main([str(second), "--data-dir", str(synthetic_ibug), "--quiet"])
    again = json.loads((second / "evaluate" / "evaluation_val.json").read_text())
    assert again["val_nme"] == pytest.approx(metrics["val_nme"], rel=1e-5)

    # and predict gives those points: one face through Cascade.predict, in image pixels
    config = json.loads((second / "config.json").read_text())
    faces = recorded_split({**config, "data_dir": str(synthetic_ibug)},
                           json.loads((second / "split.json").read_text()))
    from landmarks.pipeline import cache_crops
    from landmarks.scoring import predict_points

    cache = cache_crops(faces, predictor.size, progress=False)
    scored = geometry.from_crop(predict_points(predictor, cache, faces)[0], cache.matrices[0])
    predicted, _ = predictor.predict(read_image(faces.paths[0]), cache.boxes[0])
    side = cache.boxes[0][2]
    assert np.abs(predicted[0] - scored).max() < 0.02 * side  # two resamplings of one crop

    # a second stage on other training faces than its first stage learnt is refused
    with pytest.raises(UserError, match="trained on other faces") as refused:
        train(parse_config([*base, "--epochs", "1", "--seed", "1",
                            "--out", str(tmp_path / "other"), "--first-stage", str(first)]))
    assert refused.value.param == "first_stage"
    assert not (tmp_path / "other").exists()
