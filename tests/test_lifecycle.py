"""The shared run lifecycle: exact resume, the kept checkpoint, damaged backups, NaN, folders;
scripts interrupted by a signal and resumed, and sweeps that skip, fail or lose a worker."""

import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import keras
import numpy as np
import pandas as pd
import pytest

from common import lifecycle
from common.errors import UserError
from common.files import read_json, write_json
from common.identity import config_differences
from common.runs import finish_run, run_state, start_run
from common.sweep import plan, run_configs
from tests.conftest import REPO

X = np.random.default_rng(0).normal(size=(96, 6)).astype(np.float32)
Y = keras.utils.to_categorical((X[:, 0] + X[:, 1] > 0).astype(int), 2)
CONFIG = {"seed": 3, "epochs": 8, "lr": 0.05}


class Interrupt(keras.callbacks.Callback):
    def __init__(self, at_epoch):
        super().__init__()
        self.at_epoch = at_epoch

    def on_epoch_begin(self, epoch, logs=None):
        if epoch == self.at_epoch:
            raise KeyboardInterrupt


def tiny_model():
    model = keras.Sequential([keras.Input((6,)), keras.layers.Dense(16, activation="relu"),
                              keras.layers.Dropout(0.3),
                              keras.layers.Dense(2, activation="softmax")])
    model.compile(keras.optimizers.SGD(CONFIG["lr"], momentum=0.9), "categorical_crossentropy",
                  metrics=["accuracy"])
    return model


def train(run_dir, callbacks=(), epochs=CONFIG["epochs"]):
    run_dir = start_run(run_dir, {**CONFIG, "epochs": epochs})
    lifecycle.set_seed(CONFIG["seed"])
    batches, steps = lifecycle.shuffled_batches(X[:64], Y[:64], batch_size=16,
                                                seed=CONFIG["seed"], epochs=epochs)
    best, history = lifecycle.fit_and_record(
        tiny_model(), batches, (X[64:], Y[64:]), run_dir, epochs=epochs, steps_per_epoch=steps,
        monitor="val_loss", mode="min", seed=CONFIG["seed"], callbacks=callbacks, quiet=True,
        save_every=0)  # write after every epoch, so an interrupt lands at a known epoch
    return best, history


def test_interrupted_and_resumed_equals_uninterrupted(tmp_path):
    best, history = train(tmp_path / "straight")
    with pytest.raises(KeyboardInterrupt):
        train(tmp_path / "resumed", callbacks=[Interrupt(5)])
    state = read_json(tmp_path / "resumed" / "backup" / "state.json")
    assert state["epochs_done"] == 5
    best_again, history_again = train(tmp_path / "resumed")
    pd.testing.assert_frame_equal(history, history_again)
    for a, b in zip(best.weights, best_again.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_the_kept_model_is_the_best_epoch_across_a_resume(tmp_path):
    with pytest.raises(KeyboardInterrupt):
        train(tmp_path, callbacks=[Interrupt(6)])
    best, history = train(tmp_path)
    best_epoch = int(history["val_loss"].idxmin()) + 1
    assert history["best_epoch"].iloc[0] == best_epoch
    loss = best.evaluate(X[64:], Y[64:], verbose=0)[0]
    assert loss == pytest.approx(history["val_loss"].min(), rel=1e-5)


def test_a_damaged_backup_is_one_line_with_the_way_out(tmp_path):
    with pytest.raises(KeyboardInterrupt):
        train(tmp_path, callbacks=[Interrupt(3)])
    state = read_json(tmp_path / "backup" / "state.json")
    (tmp_path / "backup" / state["weights"]).write_bytes(b"half a file")
    with pytest.raises(UserError, match="cannot be restored.*overwrite the run") as err:
        train(tmp_path)
    assert "\n" not in str(err.value)


def test_the_backup_always_names_a_whole_file(tmp_path):
    with pytest.raises(KeyboardInterrupt):
        train(tmp_path, callbacks=[Interrupt(4)])
    files = sorted(p.name for p in (tmp_path / "backup").iterdir())
    assert files == ["epoch4.weights.h5", "state.json"]  # no temporary or older file is left


def test_a_nan_loss_stops_training_and_metrics_stay_valid_json(tmp_path, capsys):
    class Poison(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 1:
                for v in self.model.trainable_variables:
                    v.assign(v * np.nan)

    best, history = train(tmp_path, callbacks=[Poison()])
    assert len(history) < CONFIG["epochs"]
    assert "loss became NaN" in capsys.readouterr().err
    _, again = train(tmp_path)  # killed before metrics.json: the rerun does not train again
    pd.testing.assert_frame_equal(history, again)
    finish_run(tmp_path, {"val_loss": float("nan"), "best_epoch": 2})
    assert json.loads((tmp_path / "metrics.json").read_text()) == {"val_loss": None,
                                                                   "best_epoch": 2.0}


def test_a_new_run_invalidates_old_metrics_and_refuses_other_settings(tmp_path):
    start_run(tmp_path, CONFIG)
    finish_run(tmp_path, {"val_accuracy": 0.9})
    assert run_state(tmp_path, CONFIG) == "complete"
    assert run_state(tmp_path, {**CONFIG, "quiet": True, "data_dir": "x"}) == "complete"
    assert run_state(tmp_path, {**CONFIG, "epochs": 3}) == "different"
    with pytest.raises(UserError, match=r"other settings \(epochs: 8 → 3\).*overwrite it"):
        start_run(tmp_path, {**CONFIG, "epochs": 3})
    start_run(tmp_path, CONFIG)  # the same settings: a rerun, whose old metrics are gone first
    assert run_state(tmp_path, CONFIG) == "incomplete"
    (tmp_path / "stray.txt").write_text("old")  # not a run's: --overwrite will not delete it
    with pytest.raises(UserError, match="stray.txt, which no run writes"):
        start_run(tmp_path, {**CONFIG, "epochs": 3}, overwrite=True)
    (tmp_path / "stray.txt").unlink()
    (tmp_path / "history.csv").write_text("old")
    start_run(tmp_path, {**CONFIG, "epochs": 3}, overwrite=True)
    assert not (tmp_path / "history.csv").exists()
    assert config_differences(read_json(tmp_path / "config.json"), CONFIG) == ["epochs: 3 → 8"]


def test_output_folder_faults_are_one_line(tmp_path, monkeypatch):
    (tmp_path / "file").write_text("x")
    with pytest.raises(UserError, match="is a file, not a folder"):
        start_run(tmp_path / "file", CONFIG)

    def read_only(*args, **kwargs):  # root can write anywhere, so a read-only folder is faked
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr("tempfile.NamedTemporaryFile", read_only)
    with pytest.raises(UserError,
                       match="cannot write to .*Permission denied.*another output folder"):
        start_run(tmp_path / "run", CONFIG)


def test_everything_a_run_writes_has_ordinary_permissions(tmp_path):
    write_json(tmp_path / "a.json", {"x": 1})
    mode = stat.S_IMODE((tmp_path / "a.json").stat().st_mode)
    umask = os.umask(0)
    os.umask(umask)
    assert mode == 0o666 & ~umask


def test_shuffled_batches_are_a_function_of_seed_and_epoch():
    x = np.arange(10, dtype=np.float32)[:, None]
    batches, steps = lifecycle.shuffled_batches(x, x, batch_size=4, seed=1, epochs=3)
    assert steps == 3
    everything = [b[0].numpy().ravel() for b in batches(0)]
    from_epoch_2 = [b[0].numpy().ravel() for b in batches(2)]
    assert len(everything) == 9
    for a, b in zip(everything[6:], from_epoch_2):
        np.testing.assert_array_equal(a, b)
    epoch0 = np.concatenate(everything[:3])
    assert sorted(epoch0) == list(range(10)) and not np.array_equal(epoch0, np.arange(10))


def test_writes_are_spaced_but_a_resume_from_an_older_backup_is_still_exact(tmp_path):
    best, history = train(tmp_path / "straight")
    lifecycle.set_seed(CONFIG["seed"])
    run_dir = start_run(tmp_path / "spaced", CONFIG)
    batches, steps = lifecycle.shuffled_batches(X[:64], Y[:64], batch_size=16,
                                                seed=CONFIG["seed"], epochs=CONFIG["epochs"])
    with pytest.raises(KeyboardInterrupt):  # no write yet when it stops: it starts over
        lifecycle.fit_and_record(tiny_model(), batches, (X[64:], Y[64:]), run_dir,
                                 epochs=CONFIG["epochs"], steps_per_epoch=steps,
                                 monitor="val_loss", mode="min", seed=CONFIG["seed"],
                                 callbacks=[Interrupt(6)], quiet=True, save_every=1e9)
    assert not (run_dir / "backup").exists()
    _, again = train(tmp_path / "spaced")
    pd.testing.assert_frame_equal(history, again)


def test_one_dead_pool_worker_does_not_fail_the_other_configurations(tmp_path):
    from common.sweep import run_local
    from tests.sweep_tasks import dies_once

    configs = [{"out": str(tmp_path / f"c{i}"), "die": i == 1} for i in range(4)]
    failures = run_local(dies_once, configs, jobs=2)
    assert failures == {}
    assert all((tmp_path / f"c{i}" / "ran").exists() for i in range(4))


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


def running_with(run_dir: Path, key: str, value) -> bool:
    """Whether the folder's config.json already records the new run (``key`` set to ``value``)."""
    try:
        return json.loads((run_dir / "config.json").read_text()).get(key) == value
    except (OSError, ValueError):
        return False


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
    regression = ["--data-dir", str(data_dir), "--head", "regression", "--epochs", "20",
                  "--quiet", "--out", str(target)]
    with pytest.raises(UserError, match="head: classification → regression"):
        train(parse_config(regression))

    killed = script("phone_price/train.py", *regression, "--overwrite")
    deadline = time.time() + 120  # killed once the new run has begun, whatever epoch it is in
    while not running_with(target, "head", "regression") and killed.poll() is None \
            and time.time() < deadline:
        time.sleep(0.02)
    killed.kill()
    err = killed.communicate(timeout=60)[1]
    assert not (target / "metrics.json").exists(), err[-2000:]

    argv = ["--data-dir", str(data_dir), "--seeds", "0", "--heads", "regression",
            "--normalizations", "global", "--epochs", "20", "--no-best", "--no-baselines",
            "--out", str(sweep)]
    compare.main(argv)
    metrics = json.loads((target / "metrics.json").read_text())
    config = json.loads((target / "config.json").read_text())
    assert config["head"] == "regression" and config["epochs"] == 20
    assert metrics["best_epoch"] <= 20 and len(pd.read_csv(target / "history.csv")) == 20


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
