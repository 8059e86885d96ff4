"""The hostile round's defects: each case fails on the code before its fix."""

import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from PIL import Image

from common.errors import UserError
from common.identity import config_differences
from common.runs import start_run
from phone_price.data import FEATURES, read_phone_csv


def a_config(**extra):
    return {"seed": 0, "epochs": 1, "out": "x", **extra}


# --------------------------------------------------------------------- --overwrite deletes data
def test_overwrite_refuses_a_folder_that_holds_no_run(tmp_path):
    (tmp_path / "thesis.txt").write_text("four years of work")
    with pytest.raises(UserError, match="not a run folder"):
        start_run(tmp_path, a_config(), overwrite=True)
    assert (tmp_path / "thesis.txt").read_text() == "four years of work"


def test_overwrite_keeps_what_no_run_writes_and_refuses(tmp_path):
    start_run(tmp_path, a_config())
    (tmp_path / "history.csv").write_text("epoch\n0\n")
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(UserError, match="notes.txt"):
        start_run(tmp_path, a_config(epochs=2), overwrite=True)
    assert (tmp_path / "notes.txt").exists() and (tmp_path / "history.csv").exists()


def test_overwrite_deletes_only_the_runs_own_files(tmp_path):
    start_run(tmp_path, a_config())
    for name in ("history.csv", "metrics.json", "curves.png", "model.keras"):
        (tmp_path / name).write_text("old")
    (tmp_path / "tensorboard").mkdir()
    start_run(tmp_path, a_config(epochs=2), overwrite=True)
    assert sorted(p.name for p in tmp_path.iterdir() if p.name != ".lock") == ["config.json"]
    assert json.loads((tmp_path / "config.json").read_text())["epochs"] == 2


def test_a_new_run_refuses_a_folder_of_other_files(tmp_path):
    (tmp_path / "thesis.txt").write_text("x")
    with pytest.raises(UserError, match="not empty"):
        start_run(tmp_path, a_config())


def test_a_run_recorded_at_the_repository_root_never_deletes_the_repository(tmp_path):
    repo = tmp_path / "clone"
    start_run(repo, a_config())  # --out . once: the root now looks like a run folder
    (repo / ".git").mkdir()
    (repo / "metrics.json").write_text("{}")
    with pytest.raises(UserError, match=r"clone/\.git, which no run writes"):
        start_run(repo, a_config(epochs=2), overwrite=True)
    assert (repo / ".git").is_dir() and (repo / "metrics.json").exists()


# ---------------------------------------------------------------------- one process per folder
def test_a_second_process_is_refused_while_the_first_holds_the_folder(tmp_path):
    holder = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import sys, time
        from common.runs import start_run
        start_run({str(tmp_path)!r}, {{"seed": 0}})
        print("locked", flush=True)
        time.sleep(30)
    """)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(UserError, match="another process is running"):
            start_run(tmp_path, {"seed": 0})
    finally:
        holder.kill()
        holder.wait()


# ------------------------------------------------------------------------ the CSV's identity
def phone_csv(path, rows=60, extra_field=False, value=None):
    rng = np.random.default_rng(0)
    lines = [",".join(FEATURES + ["price_range"])]
    for i in range(rows):
        cells = [str(int(v)) for v in rng.integers(0, 100, len(FEATURES))] + [str(i % 4)]
        if value is not None and i == 3:
            cells[0] = value
        if extra_field:
            cells = ["7", *cells]
        lines.append(",".join(cells))
    path.write_text("\n".join(lines) + "\n")
    return path


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


def test_phone_evaluate_output_that_is_a_folder_is_one_line(tmp_path):
    from phone_price import evaluate

    lines = [",".join(["id"] + FEATURES), ",".join(["1"] + ["1"] * len(FEATURES))]
    (tmp_path / "u.csv").write_text("\n".join(lines) + "\n")
    with pytest.raises(UserError, match="is a folder"):
        evaluate.predict_file(tmp_path, tmp_path / "u.csv", tmp_path)


def test_phone_predict_from_a_missing_csv_is_one_line_naming_the_flag(tmp_path):
    from phone_price import evaluate

    with pytest.raises(UserError, match="nope.csv not found") as caught:
        evaluate.predict_file(tmp_path, tmp_path / "nope.csv", tmp_path / "p.csv")
    assert caught.value.param == "predict"
    assert not (tmp_path / "p.csv").exists()


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


def test_a_full_disk_is_one_line_naming_the_file(capsys):
    import errno

    from common.cli import run_cli

    def main(argv=None):
        raise OSError(errno.ENOSPC, "No space left on device", "/mnt/small/run/model.keras")

    with pytest.raises(SystemExit) as exit_:
        run_cli(main)
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and err.count("\n") == 1
    assert "/mnt/small/run/model.keras" in err and "free some space" in err


def dies_once(config):
    """A sweep task whose worker process dies the first time (as under kill -9)."""
    import os
    from pathlib import Path

    marker = Path(config["out"]) / "died"
    if config.get("die") and not marker.exists():
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.write_text("x")
        os._exit(1)
    Path(config["out"]).mkdir(parents=True, exist_ok=True)
    (Path(config["out"]) / "ran").write_text("x")


def test_one_dead_pool_worker_does_not_fail_the_other_configurations(tmp_path):
    from common.sweep import run_local

    configs = [{"out": str(tmp_path / f"c{i}"), "die": i == 1} for i in range(4)]
    failures = run_local(dies_once, configs, jobs=2)
    assert failures == {}
    assert all((tmp_path / f"c{i}" / "ran").exists() for i in range(4))
