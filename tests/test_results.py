"""The committed results: no machine paths, and the shipped landmark model is the one that
produced its run's figures."""

import json
import os
import re

import numpy as np
import pytest

from common.data import sha256_of
from tests.conftest import REPO

PRESET = REPO / "results" / "landmarks" / "ibug68-mobilenetv2-128px"
# The landmark runs whose model.keras is committed (.gitignore's exceptions), each with its card.
SHIPPED_LANDMARK_RUNS = ("ibug68-mobilenetv2-128px", "ibug68-mobilenetv2-128px-second-stage",
                         "ibug68-mobilenetv2-64px", "ibug68-small_cnn-128px")
# The shipped small CNN (the previous preset): exports the same way at a third of the cost.
SMALL_CNN = REPO / "results" / "landmarks" / "ibug68-small_cnn-128px"
MACHINE_PATH = re.compile(r'"(/(?:work|tmp|home|root|Users|mnt|opt|var)/[^"]*)"')


def test_no_committed_result_names_a_machine_path():
    offenders = []
    for path in (REPO / "results").rglob("*"):
        if path.suffix in (".json", ".csv", ".md") and path.is_file():
            found = MACHINE_PATH.search(path.read_text(errors="replace"))
            if found:
                offenders.append(f"{path.relative_to(REPO)}: {found.group(1)[:60]}")
    assert not offenders, offenders[:5]


def test_the_shipped_model_is_inference_only_small_and_matches_its_sha256():
    model = PRESET / "model.keras"
    assert model.stat().st_size < 10 * 2**20
    recorded = (PRESET / "model.keras.sha256").read_text().split()[0]
    assert sha256_of(model) == recorded
    import zipfile

    with zipfile.ZipFile(model) as archive:
        config = json.loads(archive.read("config.json"))
    assert not config.get("compile_config")  # no optimizer, loss or metrics inside


@pytest.mark.slow
def test_the_shipped_model_reproduces_its_validation_nme(data_dir):
    from common.files import read_json
    from landmarks.pipeline import cache_crops
    from landmarks.run import LandmarkRun
    from landmarks.scoring import predict_points, score_points

    run = LandmarkRun.open(PRESET)
    faces, predictor = run.faces("val", str(data_dir)), run.predictor()
    cache = cache_crops(faces, predictor.size, progress=False)
    scores = score_points(predict_points(predictor, cache), cache, mean_shape=run.mean_shape,
                          split="val")
    committed = read_json(PRESET / "metrics.json")
    assert scores["val_nme"] == pytest.approx(committed["val_nme"], abs=1e-4)
    assert scores["val_faces"] == committed["val_faces"]


@pytest.mark.slow
@pytest.mark.parametrize("fmt", ["savedmodel", "tflite"])
def test_an_export_alone_gives_predict_pys_points(fmt, tmp_path, data_dir, capsys):
    """The export run by a plain script (numpy, OpenCV, TensorFlow; no code of the repository,
    only the model card's crop formula) gives the Predictor's points within 0.01 px, the flip
    test included, on a box that is cropped directly and one that is shrunk first."""
    import shutil
    import subprocess
    import sys

    from PIL import Image

    from landmarks import export
    from landmarks.inference import Predictor

    export.main([str(SMALL_CNN), "--format", fmt, "--out", str(tmp_path / "export"),
                 "--data-dir", str(data_dir)])
    assert "with the flip test" in capsys.readouterr().out
    path = tmp_path / "export" / ("savedmodel" if fmt == "savedmodel" else "model.tflite")
    photo = tmp_path / "face.png"  # lossless: both readers see the same pixels
    Image.open(data_dir / "ibug_68" / "afw" / "134212_1.jpg").convert("RGB").save(photo)
    client = shutil.copy(REPO / "landmarks" / "export_client.py", tmp_path / "client.py")
    predictor = Predictor.from_run(SMALL_CNN)
    image = np.asarray(Image.open(photo))
    for box in ([40.3, 30.7, 180.2], [10.0, 5.0, 300.0]):  # 300 px: more than twice 128
        expected, _ = predictor.predict(image, np.array([box]))
        out = subprocess.run([sys.executable, client, str(path), str(photo), *map(str, box)],
                             capture_output=True, text=True, cwd=tmp_path, check=True,
                             env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"})
        points = np.array(json.loads(out.stdout.strip().splitlines()[-1]))
        assert points.shape == (68, 2)
        np.testing.assert_allclose(points, expected[0], atol=0.01)


@pytest.mark.parametrize("name", SHIPPED_LANDMARK_RUNS)
def test_every_shipped_landmark_model_has_its_card_generated_from_its_run_folder(name):
    from landmarks.model_card import card

    run = REPO / "results" / "landmarks" / name
    assert (run / "MODEL_CARD.md").read_text() == card(run), \
        f"run python landmarks/model_card.py results/landmarks/{name}"


def test_a_second_stages_card_says_what_it_sees_and_that_it_is_not_exported():
    text = (REPO / "results" / "landmarks" / f"{PRESET.name}-second-stage" / "MODEL_CARD.md")
    text = text.read_text()
    assert f"the crop aligned to the points of its first stage, `{PRESET.relative_to(REPO)}`" \
        in text and "a second stage is not exported" in text
    assert "the aligned crop's scale and shift jitter (0.05 / 0.05)" in text
    assert "export_client.py" not in text  # the square-crop formula is the first stage's


def test_the_comparison_figures_redraw_from_the_committed_summary_alone(tmp_path):
    import shutil

    from landmarks import sweep

    committed = REPO / "results" / "landmarks" / "comparison"
    shutil.copy(committed / "summary.csv", tmp_path)
    runs = sorted(committed.glob("*pt-*-seed*"))
    for n, run in enumerate(runs):  # only what the figures read of each run
        (tmp_path / run.name).mkdir()
        names = ["nme_val.json"] + (["config.json", "metrics.json", "history.csv"] if n == 0
                                    else [])
        for name in names:
            shutil.copy(run / name, tmp_path / run.name)
    sweep.main(["--figures-only", "--out", str(tmp_path)])
    assert (tmp_path / "nme.png").stat().st_size > 10_000
    assert (tmp_path / "ced.png").stat().st_size > 10_000
    drawn = sorted(p.parent.name for p in tmp_path.glob("*/curves.png"))
    assert drawn == [runs[0].name]  # the complete run's curves; nothing trained or touched


def test_the_dry_run_adds_up_recorded_training_and_counts_the_untimed_runs(capsys):
    from common import reproduce

    reproduce.main(["--dry-run"])
    lines = capsys.readouterr().out.splitlines()
    preset = next(line for line in lines
                  if line.startswith("[landmarks] python landmarks/train.py "))
    assert re.search(r"~\d+ min of training when nothing is complete", preset)
    sweep = next(line for line in lines if "python landmarks/sweep.py" in line)
    assert re.search(r"\d+ run\(s\) whose time was not recorded", sweep)  # trained before timing
    assert not any("(minutes when nothing is complete)" in line for line in lines)
