"""What a tool may delete, and what it trusts when it reads back: output folders that hold only
what the tool wrote (with a manifest and a lock), and shipped models checked against their
sha256."""

import json
import shutil
import subprocess
import sys
import textwrap

import pytest

from common.errors import UserError
from common.outputs import OutputFolder
from common.runs import start_run
from tests.conftest import REPO

SHIPPED = REPO / "results" / "landmarks" / "ibug68-mobilenetv2-128px"
FACE = "afw/1051618982_1"


@pytest.fixture()
def face(data_dir):
    return data_dir / "ibug_68" / f"{FACE}.jpg"


def predict(folder, *images, box="30,30,120,120"):
    from landmarks import predict

    predict.main([str(SHIPPED), *map(str, images), "--box", box, "--out", str(folder)])


# ------------------------------------------------------------------ N29, N29b: predict's --out
def test_predict_refuses_a_folder_of_user_files_and_touches_none(tmp_path, face):
    mine = {"predictions.csv": "data", "holiday_face1.pts": "k", "cat_overlay.png": "k"}
    for name, text in mine.items():
        (tmp_path / name).write_text(text)
    with pytest.raises(UserError, match="did not write"):
        predict(tmp_path, face)
    assert {p.name: p.read_text() for p in tmp_path.iterdir() if p.name != ".lock"} == mine


def test_predict_refuses_another_tools_output_even_when_nothing_is_predicted(tmp_path):
    (tmp_path / "predictions.csv").write_text("id,price_range\n1,3\n")
    (tmp_path / "config.json").write_text("{}")
    with pytest.raises(UserError, match="did not write"):
        predict(tmp_path, tmp_path / "missing.jpg")
    assert (tmp_path / "predictions.csv").read_text() == "id,price_range\n1,3\n"


def test_predict_replaces_exactly_its_own_earlier_outputs(tmp_path, face, data_dir):
    other = data_dir / "ibug_68" / "afw" / "1130084326_1.jpg"
    predict(tmp_path, other)
    assert (tmp_path / "1130084326_1_face0.pts").exists()
    predict(tmp_path, face)
    names = sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith("."))
    assert names == ["1051618982_1_face0.pts", "1051618982_1_overlay.png", "predictions.csv"]


def test_predict_refuses_its_own_output_once_edited(tmp_path, face):
    predict(tmp_path, face)
    (tmp_path / "predictions.csv").write_text("my edits")
    with pytest.raises(UserError, match="changed after"):
        predict(tmp_path, face)
    assert (tmp_path / "predictions.csv").read_text() == "my edits"


def test_a_manifest_of_another_tool_is_refused(tmp_path):
    OutputFolder.open(tmp_path, tool="landmarks/export.py").seal()
    with pytest.raises(UserError, match="not a manifest of landmarks/predict.py"):
        OutputFolder.open(tmp_path, tool="landmarks/predict.py")


def test_a_symlink_in_the_folder_is_not_taken_for_an_output(tmp_path):
    target = tmp_path / "elsewhere.txt"
    target.write_text("keep")
    folder = tmp_path / "out"
    out = OutputFolder.open(folder, tool="t")
    out.declare("a.pts")
    (folder / "a.pts").symlink_to(target)
    with pytest.raises(UserError, match="did not write"):
        OutputFolder.open(folder, tool="t")
    assert target.read_text() == "keep"


# ------------------------------------------------------------------------ N31: one run at a time
def test_a_second_process_cannot_write_into_a_folder_in_use(tmp_path):
    holder = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(f"""
            import sys, time
            from common.outputs import OutputFolder
            OutputFolder.open({str(tmp_path)!r}, tool="t")
            print("held", flush=True)
            time.sleep(60)
        """)], cwd=REPO, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(UserError, match="another process"):
            OutputFolder.open(tmp_path, tool="t")
    finally:
        holder.kill()
        holder.wait()


# ---------------------------------------------------------------- N15c, N16: the shipped sha256
@pytest.fixture()
def shipped_copy(tmp_path):
    run = tmp_path / "run"
    shutil.copytree(SHIPPED, run, ignore=shutil.ignore_patterns("*.png", "tensorboard"))
    return run


def test_the_shipped_model_loads_when_its_hash_matches(shipped_copy):
    from landmarks.inference import load_model

    assert load_model(shipped_copy).input_shape[1] > 0


def test_a_changed_model_is_refused(shipped_copy):
    from landmarks.inference import load_model

    with open(shipped_copy / "model.keras", "r+b") as f:
        f.seek(2000)
        byte = f.read(1)
        f.seek(2000)
        f.write(bytes([byte[0] ^ 1]))
    with pytest.raises(UserError, match="does not match its model.keras.sha256"):
        load_model(shipped_copy)


def test_a_changed_hash_record_is_refused(shipped_copy):
    from landmarks.inference import load_model

    (shipped_copy / "model.keras.sha256").write_text("0" * 64 + "  model.keras\n")
    with pytest.raises(UserError, match="does not match"):
        load_model(shipped_copy)
    (shipped_copy / "model.keras.sha256").write_text("garbage\n")
    with pytest.raises(UserError, match="not one '<sha256>  <file name>' line"):
        load_model(shipped_copy)


@pytest.mark.parametrize("run, trainer", [
    ("phone_price/classification-global-seed0", "phone_price/train.py"),
    ("reuters_losses/runs/adam-20ep/softmax-categorical_crossentropy-seed0",
     "reuters_losses/train.py"),
])
def test_phone_and_reuters_models_are_hash_checked_and_a_damaged_one_is_one_line(
        tmp_path, run, trainer):
    from common.saved_models import load_run_model

    copy = tmp_path / "run"
    shutil.copytree(REPO / "results" / run, copy, ignore=shutil.ignore_patterns("*.png"))
    assert load_run_model(copy, trainer) is not None
    data = (copy / "model.keras").read_bytes()
    (copy / "model.keras").write_bytes(data[: len(data) // 2])
    with pytest.raises(UserError, match="does not match"):
        load_run_model(copy, trainer)
    (copy / "model.keras.sha256").unlink()  # a run trained here has no record: still one line
    with pytest.raises(UserError, match="cannot be loaded"):
        load_run_model(copy, trainer)


# ------------------------------------------------------------- N37, N40: --overwrite's checks
def test_overwrite_refuses_a_linked_folder_before_deleting_anything(tmp_path):
    from common.runs import start_run

    run = tmp_path / "run"
    start_run(run, {"seed": 0, "out": "x"})
    (run / "metrics.json").write_text("{}")
    mine = tmp_path / "my_logs"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep")
    (run / "tensorboard").symlink_to(mine)
    with pytest.raises(UserError, match="tensorboard, which no run writes"):
        start_run(run, {"seed": 1, "out": "x"}, overwrite=True)
    assert (run / "metrics.json").exists() and (mine / "notes.txt").read_text() == "keep"


def test_a_refused_overwrite_leaves_no_lock_file(tmp_path):
    from common.runs import start_run

    (tmp_path / "thesis.txt").write_text("x")
    for overwrite in (True, False):
        with pytest.raises(UserError):
            start_run(tmp_path, {"seed": 0, "out": "x"}, overwrite=overwrite)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["thesis.txt"]


# --------------------------------------------------------------- N10: export --out is a file
def test_export_into_a_file_is_one_line(tmp_path, capsys):
    from common.cli import run_cli
    from landmarks import export

    (tmp_path / "taken").write_text("mine")
    with pytest.raises(SystemExit):
        run_cli(export.main, [str(SHIPPED), "--out", str(tmp_path / "taken")])
    err = capsys.readouterr().err
    assert "argument --out:" in err and "is a file, not a folder" in err
    assert "Traceback" not in err and (tmp_path / "taken").read_text() == "mine"


# --------------------------------------------- B54, N55: a disk too full for a model's files
def tiny_disk(monkeypatch, free_bytes: int):
    import collections
    import shutil

    usage = collections.namedtuple("usage", "total used free")
    monkeypatch.setattr(shutil, "disk_usage", lambda path: usage(10**9, 10**9, free_bytes))


def test_training_onto_a_full_disk_stops_in_one_line_and_resumes_later(tmp_path, data_dir,
                                                                        monkeypatch):
    from phone_price.train import parse_config
    from phone_price.training import train

    config = parse_config(["--data-dir", str(data_dir), "--epochs", "2", "--quiet",
                           "--out", str(tmp_path / "run")])
    tiny_disk(monkeypatch, 10**6)  # 1 MB: where h5py crashed
    with pytest.raises(UserError, match=r"MB free, and saving the model needs about") as err:
        train(config)
    assert "\n" not in str(err.value) and err.value.exit_code == 1
    run = tmp_path / "run"
    assert not any(run.rglob("*.h5")) and not (run / "model.keras").exists()
    monkeypatch.undo()
    metrics = train(config)  # space freed: the same command finishes the run
    assert (run / "model.keras").exists() and metrics["best_epoch"] in (1, 2)


def test_a_savedmodel_onto_a_full_disk_is_one_line_and_leaves_nothing(tmp_path, monkeypatch):
    import keras

    from landmarks.serving import export_savedmodel

    inputs = keras.Input((8, 8, 3))
    model = keras.Model(inputs, keras.layers.Dense(4)(keras.layers.Flatten()(inputs)))
    tiny_disk(monkeypatch, 10**5)
    with pytest.raises(UserError, match="writing savedmodel needs about"):
        export_savedmodel(model, tmp_path / "savedmodel")
    assert list(tmp_path.iterdir()) == []
    monkeypatch.undo()
    (tmp_path / "savedmodel").mkdir()
    (tmp_path / "savedmodel" / "notes.txt").write_text("mine")
    with pytest.raises(UserError, match="is not a SavedModel"):
        export_savedmodel(model, tmp_path / "savedmodel")
    assert (tmp_path / "savedmodel" / "notes.txt").read_text() == "mine"


def test_a_tflite_file_onto_a_full_disk_is_one_line_and_leaves_nothing(tmp_path, monkeypatch):
    import errno
    import pathlib

    import keras

    from landmarks.serving import export_tflite

    inputs = keras.Input((8, 8, 3))
    model = keras.Model(inputs, keras.layers.Dense(4)(keras.layers.Flatten()(inputs)))

    def full(self, data):  # the disk fills while the converted file is written
        raise OSError(errno.ENOSPC, "No space left on device", str(self))

    monkeypatch.setattr(pathlib.Path, "write_bytes", full)
    with pytest.raises(UserError, match=r"is full: model.tflite was not written; free some"):
        export_tflite(model, tmp_path / "model.tflite")
    assert list(tmp_path.iterdir()) == []
    monkeypatch.undo()
    import collections
    import shutil

    usage, real = collections.namedtuple("usage", "total used free"), shutil.disk_usage
    monkeypatch.setattr(shutil, "disk_usage",  # the output's disk is known to be too small
                        lambda path: usage(10**9, 10**9, 10) if str(path).startswith(
                            str(tmp_path)) else real(path))
    with pytest.raises(UserError, match="writing the TFLite file needs about"):
        export_tflite(model, tmp_path / "model.tflite")
    assert list(tmp_path.iterdir()) == []


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


def test_evaluate_into_an_unwritable_folder_is_one_line(tmp_path):
    from phone_price import evaluate

    (tmp_path / "run").mkdir()
    (tmp_path / "out").write_text("a file")
    with pytest.raises(UserError, match="is a file, not a folder"):
        evaluate.evaluate(tmp_path / "run", "test", out=tmp_path / "out")
