"""A run folder never lies, a resume is exact, bad input is one line: the hostile user's cases."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from common.errors import UserError
from common.runs import finish_run, start_run
from common.sweep import plan, run_configs
from tests.conftest import REPO, copy_afw_faces

SCRIPT_ENV = {**os.environ, "PYTHONUNBUFFERED": "1"}


def default_sigint() -> None:
    """In the child: SIGINT as a terminal delivers it. A test runner's worker may ignore SIGINT,
    and an ignored SIGINT is inherited: Python would then never raise KeyboardInterrupt."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def script(name, *args, env=None):
    return subprocess.Popen([sys.executable, str(REPO / name), *map(str, args)], cwd=REPO,
                            env=env or SCRIPT_ENV, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, preexec_fn=default_sigint)


def epochs_done(run_dir: Path) -> int:
    try:
        return json.loads((run_dir / "backup" / "state.json").read_text())["epochs_done"]
    except (OSError, ValueError):
        return 0


def stop_after(process, run_dir: Path, epochs: int, sig) -> str:
    """Send ``sig`` once the run's backup holds ``epochs`` epochs; the process's stderr."""
    deadline = time.time() + 120
    while epochs_done(run_dir) < epochs and process.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    process.send_signal(sig)
    return process.communicate(timeout=60)[1]


@pytest.mark.slow
def test_sigint_then_rerun_equals_an_uninterrupted_run(tmp_path, data_dir):
    from common.lifecycle import INTERRUPT_AFTER

    common = ["--data-dir", data_dir, "--epochs", 12, "--quiet"]
    interrupted = script("phone_price/train.py", *common, "--out", tmp_path / "resumed",
                         env={**SCRIPT_ENV, INTERRUPT_AFTER: "5"})  # SIGINT after epoch 5
    straight = script("phone_price/train.py", *common, "--out", tmp_path / "straight")
    err = interrupted.communicate(timeout=300)[1]
    assert interrupted.returncode == 130 and "run the same command again" in err, err[-2000:]
    assert "Traceback" not in err and not (tmp_path / "resumed" / "metrics.json").exists()
    assert epochs_done(tmp_path / "resumed") == 5
    again = script("phone_price/train.py", *common, "--out", tmp_path / "resumed")
    out, err = again.communicate(timeout=300)
    assert again.returncode == 0 and "resuming" in err, err[-2000:]
    straight_err = straight.communicate(timeout=300)[1]  # read its pipes: it never blocks
    assert straight.returncode == 0, straight_err[-2000:]
    first = json.loads((tmp_path / "straight" / "metrics.json").read_text())
    second = json.loads((tmp_path / "resumed" / "metrics.json").read_text())
    assert first == second


@pytest.mark.slow
def test_a_killed_rerun_leaves_no_stale_metrics_for_the_sweep(tmp_path, data_dir):
    from phone_price import compare
    from phone_price.train import parse_config
    from phone_price.training import train

    sweep = tmp_path / "X"
    target = sweep / "compare" / "regression-global-seed0"
    train(parse_config(["--data-dir", str(data_dir), "--epochs", "2", "--quiet",
                        "--out", str(tmp_path / "cls")]))
    shutil.copytree(tmp_path / "cls", target)  # a complete classification run in the wrong place

    refused = script("phone_price/train.py", "--data-dir", data_dir, "--head", "regression",
                     "--epochs", 60, "--out", target)
    assert refused.wait(timeout=120) == 2 and "head: classification → regression" in \
        refused.stderr.read()
    killed = script("phone_price/train.py", "--data-dir", data_dir, "--head", "regression",
                    "--epochs", 60, "--quiet", "--overwrite", "--out", target)
    stop_after(killed, target, 1, signal.SIGKILL)
    assert not (target / "metrics.json").exists()

    argv = ["--data-dir", str(data_dir), "--seeds", "0", "--heads", "regression",
            "--normalizations", "global", "--epochs", "60", "--no-best", "--no-baselines",
            "--out", str(sweep)]
    compare.main(argv)
    metrics = json.loads((target / "metrics.json").read_text())
    config = json.loads((target / "config.json").read_text())
    assert config["head"] == "regression" and config["epochs"] == 60
    assert metrics["best_epoch"] <= 60 and len(pd.read_csv(target / "history.csv")) == 60


def fake_run(out, **config):
    start_run(out, {"out": str(out), **config})
    finish_run(out, {"val_accuracy": 0.5})
    return {"out": str(out), **config}


def test_a_sweep_skips_only_folders_with_the_requested_settings(tmp_path, capsys):
    done = fake_run(tmp_path / "a", epochs=2, seed=0)
    assert plan([done]) == []
    assert "skipping 1 complete" in capsys.readouterr().err
    with pytest.raises(UserError, match=r"other settings \(epochs: 2 → 3\).*overwrite it"):
        plan([{**done, "epochs": 3}])
    assert plan([{**done, "epochs": 3}], overwrite=True)[0]["overwrite"] is True


def test_a_failed_configuration_is_reported_and_the_others_run(tmp_path, capsys):
    ran = []

    def run_fn(config):
        if config["seed"] == 1:
            raise ValueError("impossible setting")
        ran.append(config["seed"])

    grid = [{"out": str(tmp_path / f"s{seed}"), "seed": seed} for seed in (0, 1, 2)]
    failures = run_configs(run_fn, grid)
    assert ran == [0, 2] and list(failures) == [grid[1]["out"]]
    assert "ValueError: impossible setting" in capsys.readouterr().err


@pytest.mark.parametrize("script_name, argv, message", [
    ("phone_price/train.py", ["--dropout", "1.5"], "--dropout: must be in [0, 1)"),
    ("phone_price/train.py", ["--lr", "0"], "--lr: must be in (0, inf)"),
    ("reuters_losses/train.py", ["--lr", "-1"], "--lr: must be in (0, inf)"),
    ("landmarks/train.py", ["--image-size", "16"], "mobilenetv2 needs at least 32 px"),
    ("landmarks/train.py", ["--weights", "weights.bin"], "expected none, imagenet, or a file"),
    ("landmarks/train.py", ["--lr", "nan"], "--lr: must be in (0, inf)"),
    ("landmarks/train.py", ["--backbone", "small_cnn", "--weights", "imagenet"],
     "small_cnn has no ImageNet weights"),
    ("reuters_losses/train.py", ["--loss", "mse", "--label-smoothing", "0.1"],
     "only categorical_crossentropy"),
])
def test_impossible_flags_are_refused_by_argparse(script_name, argv, message, capsys):
    import importlib

    module = importlib.import_module(script_name.removesuffix(".py").replace("/", "."))
    with pytest.raises(SystemExit) as exit_:
        (getattr(module, "parse_config", None) or module.parse_args)(argv)
    assert exit_.value.code == 2 and message in capsys.readouterr().err


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


def test_evaluate_into_an_unwritable_folder_is_one_line(tmp_path):
    from phone_price import evaluate

    (tmp_path / "run").mkdir()
    (tmp_path / "out").write_text("a file")
    with pytest.raises(UserError, match="is a file, not a folder"):
        evaluate.evaluate(tmp_path / "run", "test", out=tmp_path / "out")


def test_json_of_a_diverged_run_is_valid(tmp_path):
    finish_run(tmp_path, {"test_accuracy": np.float32("nan"), "val_loss": float("inf")})
    text = (tmp_path / "metrics.json").read_text()
    assert "NaN" not in text and "Infinity" not in text
    assert json.loads(text) == {"test_accuracy": None, "val_loss": None}
