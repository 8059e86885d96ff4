"""The one run lifecycle every train.py shares: seed, fit with a resumable backup, keep the best
epoch, record the history and curves, and hand back the kept checkpoint.

Resuming is exact: every epoch's randomness (shuffle order, dropout masks, augmentation) is a
function of the seed and the epoch number, and the backup holds the weights, the optimizer, the
history and the state of the callbacks. So a run interrupted at any point and started again with
the same command ends with the same metrics as one that was never interrupted.
"""

from __future__ import annotations

import math
import os
import shutil
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path

import keras
import numpy as np
import pandas as pd
import tensorflow as tf

from common.errors import UserError
from common.files import atomic_path, check_free_space, read_json, write_csv, write_json, write_text
from common.plotting import plot_training_curves
from common.runs import finish_run
from common.saved_models import model_bytes

BACKUP = "backup"
# Counters of Keras callbacks that decide what happens next (EarlyStopping, ReduceLROnPlateau).
CALLBACK_STATE = ("wait", "best", "best_epoch", "cooldown_counter", "stopped_epoch")
SAVE_EVERY_S = 5.0  # a killed run loses at most this much training (plus the epoch under way)
# Tests set this to N: the process sends itself SIGINT right after epoch N is saved, as a user's
# Ctrl-C would arrive, but at a point that does not depend on the machine's speed.
INTERRUPT_AFTER = "EXPERIMENTS_TEST_SIGINT_AFTER_EPOCH"


def set_seed(seed: int) -> None:
    """Seed Python, NumPy and TensorFlow and make TensorFlow's ops deterministic."""
    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()


def epoch_seed(seed: int, epoch) -> tf.Tensor:
    """The stateless seed of one epoch: the same pair whether or not the run was resumed."""
    return tf.stack([tf.cast(seed, tf.int64), tf.cast(epoch, tf.int64)])


def shuffled_batches(x, y, *, batch_size: int, seed: int, epochs: int):
    """``(batches, steps_per_epoch)`` for arrays: ``batches(first_epoch)`` is a tf.data stream
    of every epoch from ``first_epoch`` on, each a fresh permutation keyed by (seed, epoch)."""
    x, y = tf.constant(x), tf.constant(y)
    n = int(x.shape[0])

    def epoch_order(epoch):
        order = tf.random.experimental.stateless_shuffle(tf.range(n), seed=epoch_seed(seed, epoch))
        return tf.data.Dataset.from_tensor_slices(order).batch(batch_size)

    def batches(first_epoch: int) -> tf.data.Dataset:
        ds = tf.data.Dataset.range(first_epoch, epochs).flat_map(epoch_order)
        return ds.map(lambda rows: (tf.gather(x, rows), tf.gather(y, rows))).prefetch(2)

    return batches, math.ceil(n / batch_size)


class EpochSeeds(keras.callbacks.Callback):
    """Before each epoch, set every SeedGenerator of the model (dropout, noise) from the seed and
    the epoch, so the masks do not depend on how many epochs this process has run."""

    def __init__(self, seed: int):
        super().__init__()
        self.seed = seed

    def on_epoch_begin(self, epoch, logs=None):
        states = [v for v in self.model.variables if v.path.endswith("seed_generator_state")]
        for i, state in enumerate(states):
            state.assign(np.array([self.seed * 7919 + i, epoch << 32], np.int64))


class RunRecorder(keras.callbacks.Callback):
    """Keeps the history rows and the best epoch's weights, and writes them out — history.csv,
    the best checkpoint ``model.keras``, ``timing.json`` (wall seconds of the epochs, training
    and validation, summed over resumes) and the backup a rerun resumes from, each file whole or
    not at all — at the end of an epoch once ``save_every`` seconds have passed, and at the end.

    A run killed between two writes resumes from the last one and, since every epoch's
    randomness is keyed by its number, repeats the lost epochs exactly.
    """

    def __init__(self, run_dir: Path, *, monitor, mode: str, peers=(), state=None,
                 save_every: float = SAVE_EVERY_S):
        super().__init__()
        self.run_dir, self.monitor, self.mode, self.peers = run_dir, monitor, mode, list(peers)
        self.save_every = save_every
        state = state or {}
        self.rows = state.get("history", [])
        self.best = state.get("best")
        self.best_epoch = state.get("best_epoch")
        self.peer_state = state.get("callbacks", {})
        self.seconds = state.get("seconds", 0.0)
        self.best_weights, self.last_save = None, time.monotonic()

    def on_train_begin(self, logs=None):
        for peer in self.peers:  # after their own on_train_begin reset them (recorder runs last)
            for name, value in self.peer_state.get(type(peer).__name__, {}).items():
                setattr(peer, name, value)

    def improved(self, value) -> bool:
        if value is None or not math.isfinite(value):
            return False
        if self.best is None or not self.monitor:
            return True
        return value < self.best if self.mode == "min" else value > self.best

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch_start = time.monotonic()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds += time.monotonic() - self.epoch_start
        logs = {k: float(v) for k, v in (logs or {}).items()}
        self.rows.append({"epoch": epoch, **logs})
        value = logs.get(self.monitor) if self.monitor else float(epoch)  # None: keep the last
        if self.improved(value):
            self.best, self.best_epoch = value, epoch + 1
            self.best_weights = self.model.get_weights()
        if time.monotonic() - self.last_save >= self.save_every:
            self.save()
        if os.environ.get(INTERRUPT_AFTER) == str(len(self.rows)):  # the tests' Ctrl-C
            self.save()
            os.kill(os.getpid(), signal.SIGINT)

    def on_train_end(self, logs=None):
        if self.rows:
            self.save(stopped=bool(self.model.stop_training))  # early stopping or NaN: done

    def save(self, stopped: bool = False) -> None:
        # the checkpoint and the backup, and the old backup until the new one is in place
        check_free_space(self.run_dir, 3 * model_bytes(self.model), "saving the model")
        write_csv(self.run_dir / "history.csv", pd.DataFrame(self.rows))
        write_json(self.run_dir / "timing.json", {"epochs": len(self.rows),
                                                  "train_seconds": round(self.seconds, 1)})
        if self.best_weights is not None:
            current = self.model.get_weights()
            self.model.set_weights(self.best_weights)
            atomic_path(self.run_dir / "model.keras", self.model.save)
            self.model.set_weights(current)
            self.best_weights = None
        folder = self.run_dir / BACKUP
        name = f"epoch{len(self.rows)}.weights.h5"
        atomic_path(folder / name, self.model.save_weights)
        peers = {type(p).__name__: {a: float(getattr(p, a)) for a in CALLBACK_STATE
                                    if isinstance(getattr(p, a, None), int | float | np.number)}
                 for p in self.peers}
        write_json(folder / "state.json", {
            "epochs_done": len(self.rows), "weights": name, "best": self.best,
            "best_epoch": self.best_epoch, "history": self.rows, "callbacks": peers,
            "stopped": stopped, "seconds": self.seconds,
        })
        for old in folder.glob("epoch*.weights.h5"):  # state.json now names the new file
            if old.name != name:
                old.unlink(missing_ok=True)
        self.last_save = time.monotonic()


def load_backup(run_dir: Path, model: keras.Model) -> dict | None:
    """Restore ``model`` (weights and optimizer) from the run's backup; its state, or None."""
    folder = run_dir / BACKUP
    if not (folder / "state.json").exists():
        return None
    state = read_json(folder / "state.json")
    try:
        if not model.optimizer.built:
            model.optimizer.build(model.trainable_variables)
        model.load_weights(folder / state["weights"])
    except Exception as exc:  # h5py/Keras raise many types for a damaged or foreign file
        raise UserError(f"the backup in {folder} cannot be restored ({type(exc).__name__}); "
                        "overwrite the run to start it again", param="overwrite") from exc
    return state


def fit_and_record(
    model: keras.Model,
    train_batches: Callable[[int], tf.data.Dataset],
    val_data,
    run_dir,
    *,
    epochs: int,
    steps_per_epoch: int,
    monitor: str | None,
    mode: str = "max",
    seed: int,
    callbacks=(),
    quiet: bool = False,
    save_every: float = SAVE_EVERY_S,
    curves=("loss",),
    title: str = "",
) -> tuple[keras.Model, pd.DataFrame]:
    """Train (or resume) ``model`` and return the kept checkpoint and the history.

    ``train_batches(first_epoch)`` gives the training batches of epochs ``first_epoch`` on (see
    ``shuffled_batches``); ``val_data`` is what Keras' ``validation_data`` takes. The checkpoint
    with the best ``monitor`` (``None``: the last epoch) is kept as ``model.keras``;
    ``history.csv`` and ``curves.png`` are written; a loss that becomes NaN stops training with
    one line on stderr. Files are written at the end of an epoch at most every ``save_every``
    seconds (0: every epoch) and when training ends.
    """
    run_dir = Path(run_dir)
    state = load_backup(run_dir, model) or {}
    first_epoch = state.get("epochs_done", 0)
    if first_epoch:
        print(f"resuming {run_dir} after epoch {first_epoch}", file=sys.stderr)
    peers = list(callbacks)
    recorder = RunRecorder(run_dir, monitor=monitor, mode=mode, peers=peers, state=state,
                           save_every=save_every)
    nan_stop = keras.callbacks.TerminateOnNaN()
    everything = [EpochSeeds(seed), *peers, nan_stop,
                  keras.callbacks.TensorBoard(str(run_dir / "tensorboard"), write_graph=False),
                  recorder]
    if not quiet:
        everything.append(epoch_progress())
    if isinstance(val_data, tuple):  # arrays: one dataset of large batches, not one per epoch
        val_data = tf.data.Dataset.from_tensor_slices(val_data).batch(4096).cache()
    if first_epoch < epochs and not state.get("stopped"):
        model.fit(train_batches(first_epoch), validation_data=val_data, epochs=epochs,
                  initial_epoch=first_epoch, steps_per_epoch=steps_per_epoch,
                  callbacks=everything, shuffle=False, verbose=0)
    history = pd.DataFrame(recorder.rows, dtype=float)  # a resumed NaN was saved as null
    if len(history) and not np.isfinite(history["loss"].iloc[-1]):
        print(f"warning: the loss became NaN in epoch {len(history)}; training stopped "
              "(lower the learning rate lr, or normalize the inputs)", file=sys.stderr)
    if recorder.best is None:
        raise UserError(f"{monitor} was never a finite number, so no checkpoint was kept in "
                        f"{run_dir}; lower the learning rate or normalize the inputs", param="lr")
    plot_training_curves(history, list(curves), run_dir / "curves.png", title=title,
                         best_epoch=recorder.best_epoch)
    best = keras.models.load_model(run_dir / "model.keras")
    save_inference_model(best, run_dir / "model.keras")  # what a user loads: no optimizer
    return best, history.assign(best_epoch=recorder.best_epoch)


def save_inference_model(model: keras.Model, path) -> str:
    """Save ``model`` for inference only (architecture and weights, no optimizer, loss or
    metrics: the file a user loads to predict), whole or not at all; write its sha256 beside
    it (``<name>.sha256``, the ``sha256sum`` format: what ``check_model_hash`` reads back) and
    return the hash."""
    from common.data import sha256_of

    path = Path(path)
    plain = type(model).from_config(model.get_config())  # the architecture alone: uncompiled
    plain.set_weights(model.get_weights())
    atomic_path(path, plain.save)
    digest = sha256_of(path)
    write_text(path.with_name(path.name + ".sha256"), f"{digest}  {path.name}\n")
    return digest


def finish(run_dir, metrics: dict) -> dict:
    """Write metrics.json (the run is complete), then drop the backup it no longer needs."""
    finish_run(run_dir, metrics)
    shutil.rmtree(Path(run_dir) / BACKUP, ignore_errors=True)
    return metrics


def epoch_progress():
    """A single progress bar over all epochs (Keras' own bar is one per epoch) in a terminal;
    where stdout is redirected, one plain line per epoch (per 1/100 of them on long runs)."""
    from common.progress import interactive

    class EpochProgress(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.start = time.monotonic()
            self.bar = keras.utils.Progbar(self.params["epochs"], unit_name="epoch") \
                if interactive() else None

        def on_epoch_end(self, epoch, logs=None):
            shown = [(k, v) for k, v in (logs or {}).items() if k != "learning_rate"]
            epochs = self.params["epochs"]
            if self.bar is not None:
                self.bar.stateful_metrics = {k for k, _ in shown}  # this epoch's, not means
                self.bar.update(epoch + 1, values=shown, finalize=epoch + 1 == epochs)
            elif (epoch + 1) % max(1, epochs // 100) == 0 or epoch + 1 == epochs:
                values = " - ".join(f"{k}: {v:.4g}" for k, v in shown)
                print(f"epoch {epoch + 1}/{epochs} - {values} - "
                      f"{time.monotonic() - self.start:.0f} s", flush=True)

    return EpochProgress()


def redraw_curves(run_dir, curves, title: str) -> bool:
    """Draw a complete run's curves.png again from its history.csv and the kept epoch of its
    metrics.json (nothing trained); False where the run is not complete."""
    from common.runs import is_complete

    run_dir = Path(run_dir)
    if not is_complete(run_dir) or not (run_dir / "history.csv").exists():
        return False
    best = read_json(run_dir / "metrics.json").get("best_epoch")
    plot_training_curves(pd.read_csv(run_dir / "history.csv"), list(curves),
                         run_dir / "curves.png", title=title,
                         best_epoch=int(best) if best else None)
    return True
