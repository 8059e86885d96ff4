"""What a tool reads back is checked: split files, user CSVs, .pts files that are not .pts files,
data roots made of links, and arrays given to the inference API."""

import json
import os
import shutil

import numpy as np
import pytest

from common.errors import UserError
from tests.conftest import REPO

SHIPPED = REPO / "results" / "landmarks" / "ibug68-mobilenetv2-128px"
PHONE_RUN = REPO / "results" / "phone_price" / "classification-global-seed0"


# -------------------------------------------------------------------- B61: split.json by hand
@pytest.mark.parametrize("edit, message", [
    (lambda s: s["test"].__setitem__(0, -5), "from 0 up"),
    (lambda s: s["test"].__setitem__(0, 1.5), "from 0 up"),
    (lambda s: s["test"].__setitem__(0, s["train"][0]), "names a row twice"),
    (lambda s: s.pop("val"), "'val' is not a list"),
])
def test_an_edited_phone_split_is_refused(tmp_path, data_dir, edit, message):
    from phone_price import evaluate

    run = tmp_path / "run"
    shutil.copytree(PHONE_RUN, run, ignore=shutil.ignore_patterns("*.png"))
    split = json.loads((run / "split.json").read_text())
    edit(split)
    (run / "split.json").write_text(json.dumps(split))
    with pytest.raises(UserError, match=message):
        evaluate.main([str(run), "--data-dir", str(data_dir), "--out", str(tmp_path / "e")])


# ------------------------------------------------------------------ B31: a CSV of copied rows
def test_rows_that_repeat_are_dropped_and_counted(tmp_path, data_dir, capsys):
    from phone_price.data import read_phone_csv

    lines = (data_dir / "phone_price" / "train.csv").read_text().splitlines()
    path = tmp_path / "doubled.csv"
    path.write_text("\n".join([lines[0], *lines[1:401], *lines[1:401]]) + "\n")
    frame = read_phone_csv(path)
    assert len(frame) == 400 and not frame.duplicated().any()
    assert "400 row(s) repeat an earlier row exactly (first: line 402)" in capsys.readouterr().err


# ------------------------------------------------------------ B60: a .pts that is not a .pts
def test_a_pts_linked_to_another_file_names_the_line_not_its_content(tmp_path):
    from landmarks.formats import read_pts

    secret = tmp_path / "passwd"
    secret.write_text("root:x:0:0:root:/root:/bin/bash\n")
    (tmp_path / "face.pts").symlink_to(secret)
    with pytest.raises(UserError) as refused:
        read_pts(tmp_path / "face.pts")
    assert "line 1" in str(refused.value) and "root" not in str(refused.value).split(":", 1)[1]


# ----------------------------------------------------------------- N01, N01b: linked data sets
def test_a_data_root_of_linked_folders_reads_and_records_relative_paths(tmp_path, data_dir):
    from landmarks.datasets import read_ibug68, read_muct, recorded_split, relative_paths

    (tmp_path / "ibug_68").mkdir()
    (tmp_path / "ibug_68" / "afw").symlink_to(data_dir / "ibug_68" / "afw")
    (tmp_path / "muct").mkdir()
    shutil.copy(data_dir / "muct" / "muct76-opencv.csv", tmp_path / "muct")
    (tmp_path / "muct" / "jpg").symlink_to(data_dir / "muct" / "jpg")
    faces = read_ibug68(tmp_path, ["afw"])
    paths = relative_paths(faces, tmp_path)
    assert paths[0].startswith("afw/") is False and paths[0].startswith("ibug_68/afw/")
    config = {"dataset": "ibug68", "subsets": "afw", "data_dir": str(tmp_path)}
    again = recorded_split(config, {"val": paths[:3]})
    assert [os.path.basename(p) for p in again.paths] == [os.path.basename(p) for p in paths[:3]]
    muct = read_muct(tmp_path)
    assert relative_paths(muct, tmp_path)[0].startswith("muct/jpg/")


# ------------------------------------------------------- N22, N25, N25b: the API's boundary
@pytest.fixture(scope="module")
def predictor():
    from landmarks.inference import Predictor

    return Predictor.from_run(SHIPPED)


def test_predict_files_reports_unreadable_and_faceless_files_and_goes_on(predictor, tmp_path,
                                                                       data_dir):
    from PIL import Image

    face = data_dir / "ibug_68" / "afw" / "134212_1.jpg"
    (tmp_path / "broken.jpg").write_bytes(b"not an image")
    Image.fromarray(np.full((80, 80, 3), 128, np.uint8)).save(tmp_path / "grey.png")
    paths = [tmp_path / "broken.jpg", tmp_path / "grey.png", face]
    found = list(predictor.predict_files(paths))
    assert [f.path for f in found] == paths
    assert found[0].image is None and found[0].problem.startswith("cannot be read")
    assert found[1].problem == "no face found" and found[1].points.shape[0] == 0
    assert found[2].problem is None and found[2].points.shape[1:] == (68, 2)
    image = np.asarray(Image.open(face).convert("RGB"))
    np.testing.assert_array_equal(found[2].points, predictor.predict(image)[0])


@pytest.mark.parametrize("image, message", [
    (np.full((100, 100, 3), 0.5, np.float32), "expected uint8"),
    (np.full((100, 100, 3), 3000, np.uint16), "expected uint8"),
    (np.zeros((100, 100), np.uint8), "expected an RGB array"),
])
def test_an_image_the_model_cannot_read_correctly_is_refused(predictor, image, message):
    with pytest.raises(UserError, match=f"image: {message}"):
        predictor.predict(image, [10, 10, 80])


@pytest.mark.parametrize("boxes, message", [
    ([10, 10, 0], "positive side"),
    ([10, 10, float("nan")], "finite numbers"),
    ([10, 10, -80], "positive side"),
    (np.ones((3, 4)), "got shape \\[3, 4\\]"),
])
def test_boxes_the_model_cannot_use_are_refused(predictor, boxes, message):
    with pytest.raises(UserError, match=f"boxes: .*{message}"):
        predictor.predict(np.zeros((100, 100, 3), np.uint8), boxes)


def test_one_box_and_a_list_of_boxes_give_the_same_points(predictor):
    image = np.random.default_rng(0).integers(0, 255, (120, 120, 3), dtype=np.uint8)
    one, _ = predictor.predict(image, [10, 10, 90])
    many, _ = predictor.predict(image, [[10, 10, 90], [20, 20, 60]])
    np.testing.assert_allclose(one[0], many[0], atol=1e-4)


# ------------------------------------------------------- B66: --subsets on a one-folder set
def test_evaluate_refuses_subsets_for_a_data_set_without_folders(tmp_path):
    from landmarks import evaluate

    run = tmp_path / "muct-run"
    run.mkdir()
    (run / "config.json").write_text(json.dumps({"dataset": "muct", "image_size": 64,
                                                 "versions": {}}))
    (run / "mean_shape.json").write_text(json.dumps({"points": [[0.5, 0.5]] * 76}))
    with pytest.raises(UserError, match="--subsets names ibug68 folders, but muct"):
        evaluate.main([str(run), "--subsets", "afw"])


# ------------------------------------------------ B64: a bad weights file leaves no run folder
def test_a_missing_or_broken_weights_file_is_refused_before_the_run_folder_exists(tmp_path,
                                                                                  data_dir):
    from dataclasses import replace

    from landmarks.config import CPU
    from landmarks.training import train

    broken = tmp_path / "broken.weights.h5"
    broken.write_bytes(b"not hdf5")
    base = replace(CPU, subsets="afw", backbone="small_cnn", weights="none", image_size=32,
                   epochs=1, quiet=True, data_dir=str(data_dir))
    for weights, message in ((tmp_path / "missing.h5", "not found"),
                             (broken, "cannot be loaded")):
        with pytest.raises(UserError, match=message) as error:
            train(replace(base, weights=str(weights)), out=tmp_path / "run")
        assert error.value.param == "weights" or "weights" in str(error.value)
        assert not (tmp_path / "run").exists()


# ------------------------------- N11 / N13: the model card computes what it certifies
def test_the_model_card_computes_the_hash_and_reads_every_figure_from_its_run(tmp_path):
    from common.data import sha256_of
    from landmarks.model_card import card

    run = tmp_path / "run"
    shutil.copytree(SHIPPED, run, ignore=shutil.ignore_patterns("*.png", "MODEL_CARD.md"))
    (run / "model.keras.sha256").unlink()
    split = json.loads((run / "split.json").read_text())
    split["train"] = split["train"][:100]
    (run / "split.json").write_text(json.dumps(split))
    text = card(run)
    assert sha256_of(run / "model.keras") in text and "a model that is not shipped" in text
    assert "100 training" in text and f"{len(split['val'])} validation" in text
    (run / "model.keras.sha256").write_text(f"{'0' * 64}  model.keras\n")
    with pytest.raises(UserError, match="does not match its model.keras.sha256"):
        card(run)
