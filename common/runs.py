"""Run folders: config with package versions, atomic writes, seeding, and the standard callbacks.

A run folder holds ``config.json``, ``history.csv``, ``metrics.json``, figures, ``tensorboard/``
and ``model.keras``. ``metrics.json`` is written last, so its presence marks a complete run and a
sweep that is run again skips it.
"""

from __future__ import annotations

import json
import os
import platform
import sys
import tempfile
from importlib import metadata
from pathlib import Path

import numpy as np

METRICS_FILE = "metrics.json"
PACKAGES = ("tensorflow", "keras", "numpy", "pandas", "scikit-learn", "matplotlib", "pillow")


def _atomic_write(path: Path, write) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", newline="") as f:
            write(f)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _to_builtin(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"cannot write {type(value).__name__} to JSON")


def write_json(path, obj) -> None:
    """Write ``obj`` as indented JSON, whole or not at all."""
    _atomic_write(Path(path), lambda f: json.dump(obj, f, indent=2, default=_to_builtin))


def write_text(path, text: str) -> None:
    _atomic_write(Path(path), lambda f: f.write(text))


def write_csv(path, frame) -> None:
    """Write a pandas DataFrame without its index, whole or not at all."""
    _atomic_write(Path(path), lambda f: frame.to_csv(f, index=False))


def read_json(path) -> dict:
    return json.loads(Path(path).read_text())


def package_versions() -> dict:
    versions = {"python": sys.version.split()[0], "platform": platform.platform()}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def start_run(out: str | Path, config: dict) -> Path:
    """Create the run folder and write ``config.json`` (every flag, the seed, package versions)."""
    run_dir = Path(out)
    run_dir.mkdir(parents=True, exist_ok=True)
    write_json(run_dir / "config.json", {**config, "versions": package_versions()})
    return run_dir


def saved_model_path(run_dir: str | Path, trainer: str) -> Path:
    """``<run>/model.keras``, or a DataError saying which script trains it."""
    from common.data import DataError

    path = Path(run_dir) / "model.keras"
    if not path.exists():
        raise DataError(f"{run_dir} has no model.keras; train first with {trainer}")
    return path


def is_complete(run_dir: str | Path) -> bool:
    return (Path(run_dir) / METRICS_FILE).exists()


def finish_run(run_dir: str | Path, metrics: dict) -> None:
    """Write ``metrics.json``: flat snake_case keys, numbers only. Marks the run complete."""
    bad = {k: v for k, v in metrics.items() if not isinstance(v, (int, float, np.number))}
    if bad:
        raise TypeError(f"metrics.json holds numbers only; got {bad}")
    write_json(Path(run_dir) / METRICS_FILE, {k: float(v) for k, v in metrics.items()})


def set_seed(seed: int, deterministic: bool = True) -> None:
    """Seed Python, NumPy and TensorFlow; make TensorFlow's ops deterministic.

    With the same seed on the same machine two runs give the same metrics.
    """
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(seed)
    if deterministic:
        tf.config.experimental.enable_op_determinism()


def standard_callbacks(run_dir: Path, monitor: str, mode: str, resume: bool = True) -> list:
    """Checkpoint of the best epoch, per-epoch CSV log, TensorBoard and resumable backup.

    ``BackupAndRestore`` keeps its state in ``<run>/backup`` while training and deletes it at the
    end, so an interrupted run started again with the same command continues where it stopped.
    """
    import keras

    if not (run_dir / "backup").exists():
        (run_dir / "history.csv").unlink(missing_ok=True)  # a fresh run starts a fresh log
    callbacks = [
        keras.callbacks.ModelCheckpoint(
            str(run_dir / "model.keras"), monitor=monitor, mode=mode, save_best_only=True
        ),
        keras.callbacks.CSVLogger(str(run_dir / "history.csv"), append=resume),
        keras.callbacks.TensorBoard(str(run_dir / "tensorboard"), write_graph=False),
    ]
    if resume:
        callbacks.append(keras.callbacks.BackupAndRestore(str(run_dir / "backup")))
    return callbacks


def epoch_progress():
    """A single progress bar over all epochs (Keras' own bar is one per epoch)."""
    import keras

    class EpochProgress(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.bar = keras.utils.Progbar(self.params["epochs"], unit_name="epoch")

        def on_epoch_end(self, epoch, logs=None):
            shown = [(k, v) for k, v in (logs or {}).items() if k != "learning_rate"]
            self.bar.stateful_metrics = {k for k, _ in shown}  # show this epoch's values, not means
            self.bar.update(epoch + 1, values=shown, finalize=epoch + 1 == self.params["epochs"])

    return EpochProgress()
