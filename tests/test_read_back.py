"""What a tool reads back is checked: split files, user CSVs, .pts files that are not .pts files,
images, data roots made of links, run folders of another tool, model and weights files, and
arrays given to the inference API."""

import json
import os
import shutil

import numpy as np
import pytest
from PIL import Image

from common.errors import UserError
from common.identity import config_differences
from common.runs import finish_run
from phone_price.data import FEATURES, read_phone_csv
from tests.conftest import REPO, copy_afw_faces, phone_csv

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


# ----------------- N12 / N14 / N13c: the model card advises no flag it does not have
def test_the_model_cards_refusals_name_no_flag_it_lacks(tmp_path):
    from landmarks import model_card

    run = tmp_path / "run"
    shutil.copytree(SHIPPED, run, ignore=shutil.ignore_patterns("*.png", "MODEL_CARD.md"))
    (run / "metrics.json").write_text("{not json")
    with pytest.raises(UserError, match="metrics.json cannot be read as JSON") as refused:
        model_card.main([str(run)])
    assert "--overwrite" not in str(refused.value) and "--out" not in str(refused.value)
    assert not (run / "MODEL_CARD.md").exists()


def test_a_row_with_one_field_more_than_the_header_is_refused_with_its_line(tmp_path):
    with pytest.raises(UserError, match=r"line 2: 22 fields, but the header has 21"):
        read_phone_csv(phone_csv(tmp_path / "f.csv", extra_field=True))


def test_a_value_finite_in_float64_but_not_float32_is_refused(tmp_path):
    with pytest.raises(UserError, match="line 5, column battery_power.*float32"):
        read_phone_csv(phone_csv(tmp_path / "f.csv", value="1e300"))


@pytest.mark.parametrize("bad_id", ["1e20", "-5"])
def test_an_id_out_of_range_is_refused(tmp_path, bad_id):
    lines = [",".join(["id"] + FEATURES), ",".join([bad_id] + ["1"] * len(FEATURES))]
    (tmp_path / "u.csv").write_text("\n".join(lines) + "\n")
    with pytest.raises(UserError, match="line 2, column id"):
        read_phone_csv(tmp_path / "u.csv", labeled=False)


def test_a_changed_csv_at_the_same_path_is_another_run(tmp_path):
    from common.configs import record
    from phone_price.train import parse_config

    csv = phone_csv(tmp_path / "mine.csv", rows=80)
    before = record(parse_config(["--csv", str(csv), "--out", str(tmp_path / "r")]))
    phone_csv(csv, rows=40)  # cut the file
    after = record(parse_config(["--csv", str(csv), "--out", str(tmp_path / "r")]))
    assert before["csv_sha256"] != after["csv_sha256"]
    assert any(d.startswith("csv_sha256") for d in config_differences(before, after))


def test_phone_evaluate_refuses_a_run_whose_csv_changed(tmp_path):
    from phone_price import evaluate

    csv = phone_csv(tmp_path / "mine.csv")
    run = tmp_path / "run"
    run.mkdir()
    (run / "config.json").write_text(json.dumps({
        "csv": str(csv), "csv_sha256": "0" * 64, "head": "classification",
        "normalization": "global", "versions": {}}))
    (run / "split.json").write_text(json.dumps({"train": [0], "val": [1], "test": [2]}))
    with pytest.raises(UserError, match="not the file"):
        evaluate.evaluate(run, "test")


def test_a_16_bit_image_is_scaled_not_clipped(tmp_path):
    from landmarks.formats import read_image

    ramp = (np.tile(np.linspace(0, 65535, 64), (8, 1))).astype(np.uint16)
    Image.fromarray(ramp).save(tmp_path / "deep.png")
    rgb = read_image(tmp_path / "deep.png")
    assert rgb.shape == (8, 64, 3) and rgb.dtype == np.uint8
    assert rgb[0, 0, 0] == 0 and rgb[0, -1, 0] == 255 and 100 < rgb[0, 32, 0] < 160


def test_a_photo_stored_turned_is_read_as_a_viewer_shows_it(tmp_path):
    from landmarks.formats import read_image

    stored = np.zeros((20, 40, 3), np.uint8)
    stored[:, :5] = 255  # a white band on the stored left edge
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: rotate 90° clockwise to view
    Image.fromarray(stored).save(tmp_path / "phone.jpg", exif=exif.tobytes(), quality=95)
    shown = read_image(tmp_path / "phone.jpg", orient=True)
    assert shown.shape == (40, 20, 3)
    assert shown[:5].mean() > 200  # the band is on top once turned
    assert read_image(tmp_path / "phone.jpg").shape == (20, 40, 3)  # data sets: as stored


def test_landmark_tools_refuse_a_phone_run_folder(tmp_path):
    from landmarks.inference import read_landmark_config

    (tmp_path / "config.json").write_text(json.dumps({"head": "classification",
                                                      "normalization": "global"}))
    with pytest.raises(UserError, match="not a landmark run"):
        read_landmark_config(tmp_path)


def test_reuters_evaluate_refuses_a_phone_run_folder(tmp_path):
    from reuters_losses import evaluate

    (tmp_path / "config.json").write_text(json.dumps({"head": "classification"}))
    with pytest.raises(UserError, match="not a Reuters run"):
        evaluate.main([str(tmp_path)])


def test_a_truncated_model_file_is_one_line(tmp_path):
    from landmarks.inference import load_model

    (tmp_path / "model.keras").write_bytes(b"PK\x03\x04 truncated")
    with pytest.raises(UserError, match="cannot be loaded"):
        load_model(tmp_path)


def test_muct_coordinates_that_are_not_finite_are_bad_rows(tmp_path, data_dir):
    import shutil

    from landmarks.datasets import read_muct

    (tmp_path / "muct" / "jpg").mkdir(parents=True)
    source = data_dir / "muct" / "muct76-opencv.csv"
    header, *rows = source.read_text().splitlines()
    name = next(p.stem for p in sorted((data_dir / "muct" / "jpg").glob("*.jpg")))
    row = next(r for r in rows if r.startswith(name + ","))
    fields = row.split(",")
    fields[2] = "nan"
    shutil.copy(data_dir / "muct" / "jpg" / f"{name}.jpg", tmp_path / "muct" / "jpg")
    (tmp_path / "muct" / "muct76-opencv.csv").write_text(header + "\n" + ",".join(fields) + "\n")
    with pytest.raises(UserError, match="not finite"):
        read_muct(tmp_path)


def test_a_one_class_csv_is_refused(tmp_path):
    from phone_price.data import load_labeled

    path = phone_csv(tmp_path / "one.csv")
    text = path.read_text().splitlines()
    path.write_text("\n".join([text[0]] + [line[:-1] + "2" for line in text[1:]]) + "\n")
    with pytest.raises(UserError, match="only price range 2"):
        load_labeled(path)


def test_a_corrupt_weights_file_is_one_line(tmp_path):
    from landmarks.model import build_model

    (tmp_path / "bad.weights.h5").write_bytes(b"not hdf5")
    with pytest.raises(UserError, match="cannot be loaded"):
        build_model(5, 32, backbone="small_cnn", weights=str(tmp_path / "bad.weights.h5"))


def test_predict_refuses_fractional_duplicate_ids_and_infinite_features(tmp_path, data_dir):
    from phone_price.data import read_phone_csv

    lines = (data_dir / "phone_price" / "test.csv").read_text().splitlines()[:6]
    cases = {"fraction": (2, "2.9", r"line 3, column id: '2.9' is not a whole number"),
             "duplicate": (3, "2", "line 4, column id: id 2 appears twice"),
             "infinite": (4, None, "line 5, column battery_power: 'inf' is not a finite")}
    for name, (row, new_id, message) in cases.items():
        fields = lines[row].split(",")
        if new_id:
            fields[0] = new_id
        else:
            fields[1] = "inf"
        path = tmp_path / f"{name}.csv"
        path.write_text("\n".join(lines[:row] + [",".join(fields)] + lines[row + 1:]) + "\n")
        with pytest.raises(UserError, match=message):
            read_phone_csv(path, labeled=False)


@pytest.mark.slow
def test_a_truncated_jpeg_is_one_line_or_skipped_and_recorded(tmp_path, data_dir):
    from landmarks.train import parse_config
    from landmarks.training import train

    folder = copy_afw_faces(tmp_path, data_dir, 12)
    victim = sorted(folder.glob("*.jpg"))[0]
    victim.write_bytes(victim.read_bytes()[:3000])
    (folder / "stray.jpg").write_bytes(victim.read_bytes())  # a jpg without a .pts
    argv = ["--backbone", "small_cnn",
            "--data-dir", str(tmp_path), "--subsets", "afw", "--image-size", "40", "--epochs",
            "1", "--batch-size", "4", "--quiet", "--out", str(tmp_path / "run")]
    with pytest.raises(UserError, match=f"{victim.name}: unreadable image.*skip bad items"):
        train(parse_config(argv))
    assert not (tmp_path / "run").exists()  # bad data leaves no half-made run folder
    train(parse_config(argv + ["--skip-bad"]))
    report = json.loads((tmp_path / "run" / "data_report.json").read_text())
    assert [s["item"] for s in report["skipped"]] == [str(victim)]
    assert report["left_out"] == {"images without a .pts beside them": 1}


@pytest.mark.parametrize("header, message", [
    ("n_points: sixty-eight", "expected 'n_points: <number>'"),
    ("n_points 68", "expected 'n_points: <number>'"),
])
def test_bad_pts_headers_are_one_line(tmp_path, header, message):
    from landmarks.formats import read_pts

    body = "\n".join(f"{i} {i}" for i in range(68))
    path = tmp_path / "a.pts"
    path.write_text(f"version: 1\n{header}\n{{\n{body}\n}}\n")
    with pytest.raises(UserError, match=message):
        read_pts(path)


def test_a_pts_file_that_is_not_utf8_is_one_line(tmp_path):
    from landmarks.formats import read_pts

    path = tmp_path / "a.pts"
    path.write_bytes(b"version: 1\n\xff\xfe\x00n_points: 68\n")
    with pytest.raises(UserError, match="not a UTF-8 text file"):
        read_pts(path)


def test_muct_names_stay_inside_the_data_root_and_missing_images_are_counted(tmp_path, data_dir):
    from landmarks.datasets import read_muct

    muct = tmp_path / "muct"
    (muct / "jpg").mkdir(parents=True)
    lines = (data_dir / "muct" / "muct76-opencv.csv").read_text().splitlines()
    rows = [lines[0]] + [line for line in lines[1:] if line.startswith("i000q")]
    for row in rows[1:]:
        shutil.copy(data_dir / "muct" / "jpg" / f"{row.split(',')[0]}.jpg", muct / "jpg")
    outside = tmp_path / "secret"
    shutil.copy(muct / "jpg" / f"{rows[1].split(',')[0]}.jpg", f"{outside}.jpg")
    escaping = str(outside) + "," + rows[1].split(",", 1)[1]
    missing = "i999qa-fn," + rows[1].split(",", 1)[1]
    (muct / "muct76-opencv.csv").write_text("\n".join(rows + [escaping, missing]) + "\n")
    with pytest.raises(UserError, match="points outside"):
        read_muct(tmp_path)
    faces = read_muct(tmp_path, skip_bad=True)
    assert len(faces) == len(rows) - 1 and all(str(muct) in p for p in faces.paths)
    assert faces.left_out == {"MUCT rows without an image in jpg/": 1}
    assert "1 MUCT rows without an image in jpg/ left out" in faces.report()


def test_json_of_a_diverged_run_is_valid(tmp_path):
    finish_run(tmp_path, {"test_accuracy": np.float32("nan"), "val_loss": float("inf")})
    text = (tmp_path / "metrics.json").read_text()
    assert "NaN" not in text and "Infinity" not in text
    assert json.loads(text) == {"test_accuracy": None, "val_loss": None}
