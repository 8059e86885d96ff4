"""Training one Reuters activation / loss pair: the library behind reuters_losses/train.py, the
sweep and the tuned-MLP search. ``train(config)`` splits the wires by the protocol, trains the
MLP, measures the output layer's gradient norm each epoch, keeps the checkpoint with the best
validation accuracy (the final epoch under the homework protocol) and scores it on the test
wires."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from common.configs import record
from common.runs import start_run
from reuters_losses.config import ReutersConfig

GRADIENT_BATCH = 512  # the fixed batch: the first 512 training wires


def train(config: ReutersConfig, *, out=None, data_dir=None, data: dict | None = None) -> dict:
    """Train one pair into ``out`` (default: ``config.out``) on the data under ``data_dir``
    (default: ``config.data_dir``; ``data``: already loaded) and return the kept checkpoint's
    metrics."""
    from common import lifecycle
    from reuters_losses.data import load_reuters, protocol_splits
    from reuters_losses.metrics import scores
    from reuters_losses.model import OutputGradientNorm, build_model

    config = replace(config, out=str(out or config.out or config.default_out()),
                     data_dir=data_dir or config.data_dir)
    data = data or load_reuters(config.data_dir, config.num_words, config.inputs)
    splits = protocol_splits(data, protocol=config.protocol, seed=config.seed,
                             val_fraction=config.val_fraction)
    run_dir = start_run(config.out, record(config), overwrite=config.overwrite)
    lifecycle.set_seed(config.seed)
    model = build_model(
        config.activation, config.loss, num_words=config.num_words,
        hidden=config.hidden, dropout=config.dropout, optimizer=config.optimizer,
        lr=config.lr, rescale_k=config.rescale_k, rescale_m=config.rescale_m,
        label_smoothing=config.label_smoothing,
    )
    x_train, y_train, _ = splits["train"]
    batches, steps = lifecycle.shuffled_batches(x_train, y_train, batch_size=config.batch_size,
                                                seed=config.seed, epochs=config.epochs)
    fixed = slice(0, GRADIENT_BATCH)
    honest = config.protocol == "honest"
    best, history = lifecycle.fit_and_record(
        model, batches, splits["val"][:2], run_dir, epochs=config.epochs,
        steps_per_epoch=steps, monitor="val_accuracy" if honest else None, mode="max",
        seed=config.seed, callbacks=[OutputGradientNorm(x_train[fixed], y_train[fixed])],
        quiet=config.quiet, curves=("loss", "accuracy"),
        title=f"{Path(config.out).parent.name}/{run_dir.name}: {config.activation} + "
              f"{config.loss}, {config.optimizer}, {config.protocol} protocol",
    )
    metrics = {}
    for split in ("train", "val"):
        x, y, _ = splits[split]
        loss, accuracy = best.evaluate(x, y, batch_size=2048, verbose=0)
        metrics.update({f"{split}_accuracy": accuracy, f"{split}_loss": loss})
    x_test, _, labels_test = splits["test"]
    metrics.update(scores(labels_test, best.predict(x_test, batch_size=2048, verbose=0)))
    last = history.iloc[-1]
    metrics.update({"best_epoch": int(history["best_epoch"].iloc[0]),
                    "last_train_accuracy": last["accuracy"],
                    "last_val_accuracy": last["val_accuracy"],
                    "last_grad_norm": last["grad_norm"]})
    return lifecycle.finish(run_dir, metrics)
