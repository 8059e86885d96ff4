"""Training one landmark configuration: the library behind landmarks/train.py and the sweeps.

``train(config)`` reads and splits the faces (person-disjoint), caches the crops, learns the
detector's box → crop mapping, fits with the resumable run lifecycle, keeps the checkpoint with
the lowest validation NME and scores it on the validation faces.
"""

from __future__ import annotations

import dataclasses
import sys
from dataclasses import replace
from pathlib import Path

from common.configs import record
from common.errors import UserError
from common.files import write_json
from common.runs import start_run
from landmarks.config import LandmarkConfig

CURVES = ("loss", "nme")


def curves_title(config: dict) -> str:
    """A landmark run's curves' heading: its folder and what it trains (from its config)."""
    return (f"{Path(config['out']).name}: {config['dataset']}, {config['backbone']}, "
            f"{config['head']} head, {config.get('points') or 'all'} points, "
            f"{config['image_size']} px, {config['loss']}, seed {config['seed']}")


def redraw_curves(run_dir) -> bool:
    """A complete landmark run's curves.png again from its history.csv and config.json."""
    from common.files import read_json
    from common.lifecycle import redraw_curves as redraw
    from common.runs import is_complete

    if not is_complete(run_dir):
        return False
    config = read_json(Path(run_dir) / "config.json")
    return redraw(run_dir, CURVES, curves_title({**config, "out": str(run_dir)}))


def check_weights_file(weights: str) -> None:
    """A weights file that is named must exist (checked before the run folder is made)."""
    if weights not in ("none", "imagenet") and not Path(weights).is_file():
        raise UserError(f"weights file {weights} not found", param="weights")


def learn_box_mapping(train_set, run_dir, *, detector: str, jitter: dict) -> dict:
    """Save the detector → crop box mapping of the training faces; the jitter to train with."""
    from landmarks.detect import learn_mapping
    from landmarks.pipeline import face_boxes

    try:
        mapping = learn_mapping(train_set.paths, face_boxes(train_set.points, train_set.visible),
                                detector=detector)
    except UserError as exc:  # e.g. drawn test faces: the model trains, predict needs --box
        print(f"warning: no box mapping ({exc})", file=sys.stderr)
        return jitter
    print(f"{detector} detector: {mapping['detected']} of {mapping['faces']} training faces found",
          file=sys.stderr)
    jitter = {"scale_jitter": max(jitter["scale_jitter"], mapping["scale_p90"]),
              "shift_jitter": max(jitter["shift_jitter"], mapping["shift_p90"])}
    write_json(Path(run_dir) / "box_mapping.json", {**mapping, "training_jitter": jitter})
    return jitter


def training_augmentation(config: LandmarkConfig, *, second_stage: bool, train_set,
                          run_dir) -> dict:
    """``make_dataset``'s augmentation keywords: the light jitter or the field's recipe; a
    second stage's crops jittered as first estimates err, a first stage's boxes as far as its
    detector errs (learning and saving that detector's box mapping)."""
    from landmarks.cascade import ALIGNED_JITTER
    from landmarks.pipeline import FIELD_AUGMENTATION

    extra = dict(FIELD_AUGMENTATION) if config.augmentation == "field" else {
        "scale_jitter": 0.1, "shift_jitter": 0.08, "rotation": 0.0}
    jitter = {k: extra.pop(k) for k in ("scale_jitter", "shift_jitter")}
    rotation = max(extra.pop("rotation"), config.rotation)
    if second_stage:  # the first stage finds the faces and sets the second one's crop
        jitter = {k: ALIGNED_JITTER[k] for k in jitter}
        rotation = max(ALIGNED_JITTER["rotation"], config.rotation)
        extra.pop("rotation_p", None)  # every aligned crop is turned a little, as estimates err
    elif config.detector != "none":
        jitter = learn_box_mapping(train_set, run_dir, detector=config.detector, jitter=jitter)
    return {**jitter, "rotation": rotation, **extra}


def learning_rate(config: LandmarkConfig, steps_per_epoch: int):
    """Adam's learning rate (a number or a schedule) and the callbacks that go with it."""
    import keras

    if config.schedule == "cosine":
        return keras.optimizers.schedules.CosineDecay(
            config.lr, decay_steps=config.epochs * steps_per_epoch), []
    return config.lr, [
        keras.callbacks.ReduceLROnPlateau("val_nme", factor=0.5, patience=5, mode="min",
                                          min_lr=1e-6),
        keras.callbacks.EarlyStopping("val_nme", patience=12, mode="min"),
    ]


def checked_inputs(config: LandmarkConfig):
    """(training faces, validation faces, the first stage's Predictor or None). Everything that
    can be refused comes before the run folder is made: bad data, a batch too large, a weights
    file that is missing or cannot be loaded, a first stage of other faces leave no folder."""
    from landmarks.cascade import open_first_stage
    from landmarks.datasets import load_split, relative_paths
    from landmarks.model import fetch_backbone_weights

    train_set, val_set = load_split(record(config))
    check_weights_file(config.weights)
    fetch_backbone_weights(config.backbone, config.weights)
    if len(train_set) < config.batch_size:
        raise UserError(f"{len(train_set)} training faces do not fill one batch of "
                        f"{config.batch_size}; lower the batch size or the validation fraction",
                        param="batch_size")
    first = None
    if config.first_stage:
        first = open_first_stage(config, relative_paths(train_set, config.data_dir))
    return train_set, val_set, first


def write_split(run_dir: Path, train_set, val_set, *, data_dir, start_shape) -> None:
    """What evaluation reads back: the faces of each side, what was left out, the mean shape."""
    from landmarks.datasets import relative_paths

    write_json(run_dir / "data_report.json", {"left_out": train_set.left_out,
                                              "skipped": train_set.skipped})
    write_json(run_dir / "split.json", {"paths": "relative to the data root",
                                        "train": relative_paths(train_set, data_dir),
                                        "val": relative_paths(val_set, data_dir)})
    write_json(run_dir / "mean_shape.json", {"points": start_shape})  # evaluate needs only this


def train(config: LandmarkConfig, *, out=None, data_dir=None) -> dict:
    """Train one configuration into ``out`` (default: ``config.out``) on the data under
    ``data_dir`` (default: ``config.data_dir``, else the data root); returns the kept
    checkpoint's metrics. A complete run with the same settings is not trained again by the
    callers (train.py, the sweeps); an incomplete one resumes exactly."""
    import keras
    import tensorflow as tf

    from common import lifecycle
    from landmarks.cascade import aligned_matrices
    from landmarks.inference import Predictor
    from landmarks.losses import LOSSES
    from landmarks.metrics import NME, mean_shape
    from landmarks.model import build_model
    from landmarks.pipeline import cache_crops, crop_targets, make_dataset, steps_per_epoch
    from landmarks.run import result_title
    from landmarks.scoring import evaluate_cache

    config = replace(config, out=str(out or config.out or config.default_out()),
                     data_dir=data_dir or config.data_dir)
    train_set, val_set, first = checked_inputs(config)
    lifecycle.set_seed(config.seed)
    size, batch, progress = config.image_size, config.batch_size, not config.quiet
    aligned = {} if first is None else {
        name: aligned_matrices(faces.points, faces.visible, first.shape)
        for name, faces in (("train", train_set), ("val", val_set))}
    train_cache = cache_crops(train_set, size, progress=progress, matrices=aligned.get("train"),
                              label=f"caching the {len(train_set)} training faces")
    val_cache = cache_crops(val_set, size, progress=progress, matrices=aligned.get("val"),
                            label=f"caching the {len(val_set)} validation faces")
    start_shape = mean_shape(crop_targets(train_cache), train_cache.visible)
    strategy = (tf.distribute.MirroredStrategy() if config.strategy == "mirrored"
                else tf.distribute.get_strategy())
    with strategy.scope():
        model = build_model(train_set.spec.num_points, size, backbone=config.backbone,
                            weights=config.weights, head=config.head,
                            pooling=config.pooling, width=config.width,
                            heatmap_stride=config.heatmap_stride,
                            initial_points=start_shape)

    run_dir = start_run(config.out, record(config), overwrite=config.overwrite)
    write_split(run_dir, train_set, val_set, data_dir=config.data_dir, start_shape=start_shape)
    augmentation = training_augmentation(config, second_stage=first is not None,
                                         train_set=train_set, run_dir=run_dir)

    def train_batches(first_epoch: int):
        return make_dataset(train_cache, image_size=size, batch_size=batch, training=True,
                            seed=config.seed, epochs=config.epochs, first_epoch=first_epoch,
                            augment=not config.no_augment, **augmentation)

    with strategy.scope():
        steps = steps_per_epoch(train_cache, batch)
        rate, schedule = learning_rate(config, steps)
        model.compile(optimizer=keras.optimizers.Adam(rate), loss=LOSSES[config.loss],
                      metrics=[NME(train_set.spec.eye_points)])
    best, history = lifecycle.fit_and_record(
        model, train_batches, make_dataset(val_cache, image_size=size, batch_size=batch,
                                           training=False),
        run_dir, epochs=config.epochs, steps_per_epoch=steps,
        monitor="val_nme", mode="min", seed=config.seed, callbacks=schedule,
        quiet=not progress, curves=CURVES, title=curves_title(record(config)),
    )
    flip = train_set.spec.flip_permutation if config.flip_test else None
    predictor = Predictor(best, flip_permutation=flip)
    if first is not None:  # scored as it predicts: on the crops its first stage aligns
        predictor = dataclasses.replace(first, second=predictor)
        val_cache = cache_crops(val_set, first.size, progress=False)
    title = result_title(Path(config.out).name, flip=config.flip_test)
    metrics = evaluate_cache(predictor, val_cache, mean_shape=start_shape, split="val",
                             out=run_dir, show_faces=train_set.spec.show_faces, data=val_set,
                             title=title + (", cascade" if first is not None else ""))
    metrics["best_epoch"] = int(history["best_epoch"].iloc[0])
    metrics["epochs_run"] = len(history)
    return lifecycle.finish(run_dir, metrics)
