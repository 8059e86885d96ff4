"""Write the model card of a landmark run folder (MODEL_CARD.md), every figure read from the
folder's own files, so the card cannot drift from the run.

    python landmarks/model_card.py results/landmarks/ibug68-mobilenetv2-128px
"""

from __future__ import annotations

from pathlib import Path

from common.cli import new_parser, run_cli

PRETRAINED = {
    ("small_cnn", "none"): "none (trained from scratch)",
    ("mobilenetv2", "imagenet"): "torchvision's ImageNet-1k MobileNetV2 (BSD-3-Clause; ImageNet's "
                                 "images are for non-commercial research), converted exactly: "
                                 "`landmarks/weights/PROVENANCE.md`",
    ("resnet50", "imagenet"): "Keras' ImageNet ResNet50 (Apache-2.0 code; ImageNet's images are "
                              "for non-commercial research)",
}
MARKUP = {"ibug68": "the 300-W / iBUG markup", "muct": "the MUCT markup"}
SOURCES = {"ibug68": "300-W's {subsets} crops (300-W / AFW / Helen / LFPW: research use only)",
           "muct": "MUCT (Milborrow et al.; its licence allows publishing only a few subjects' "
                   "images)"}


def pct(value) -> str:
    return "n/a" if value is None else f"{100 * value:.2f}%"


def model_hash(model: Path) -> tuple[str, str]:
    """The model's sha256, computed from its bytes, and whether the run records it."""
    from common.data import sha256_of
    from common.errors import UserError
    from common.saved_models import check_model_hash

    if not model.is_file():
        raise UserError(f"{model.parent} has no model.keras: a card describes a trained model")
    verified = check_model_hash(model)  # computed from the bytes; the record must agree
    recorded = "recorded in `model.keras.sha256`" if verified else \
        "no `model.keras.sha256` beside it: a model that is not shipped"
    return verified or sha256_of(model), recorded


def scores_table(config: dict, truth: dict, extra: dict, mapping: dict | None) -> str:
    """The validation rows: as shipped, without the flip test, on the detector's boxes."""
    from landmarks.run import result_name

    flip = "flip test" if config.get("flip_test") else "no flip test"
    detector = result_name(flip=bool(config.get("flip_test")), boxes="detector")
    rows = [(f"true-point boxes, {flip} (as shipped)", truth["val_nme"],
             truth["val_failure_rate_8"], truth["val_failure_rate_10"])]
    if "val_noflip_nme" in extra:
        rows.append(("true-point boxes, no flip test", extra["val_noflip_nme"],
                     extra["val_noflip_failure_rate_8"], extra["val_noflip_failure_rate_10"]))
    if mapping and f"{detector}_nme" in extra:
        rows.append((f"{mapping['detector']} detector boxes, {flip} (all faces)",
                     extra[f"{detector}_nme"], extra[f"{detector}_failure_rate_8"],
                     extra[f"{detector}_failure_rate_10"]))
    return "\n".join(f"| {a} | {pct(b)} | {pct(c)} | {pct(d)} |" for a, b, c, d in rows)


def augmentation_text(config: dict, mapping: dict | None) -> str:
    """The training augmentation in words: box jitter, rotation, mirror and photometric (as
    ``landmarks.training.training_augmentation`` picks them)."""
    from landmarks.cascade import ALIGNED_JITTER

    field = config.get("augmentation") == "field"
    turn = max(config["rotation"], 30.0) if field else config["rotation"]
    turn_text = (f"{'half the faces turned' if field else 'rotation'} up to {turn:g} degrees, "
                 if turn else "")
    field_text = (", contrast and saturation, half the faces occluded by a patch up to 40% of "
                  "the crop, a third blurred (PIPNet's and HRNet's recipe, "
                  "`landmarks.pipeline.FIELD_AUGMENTATION`)" if field else "")
    if config.get("first_stage"):  # crops jittered as the first stage's estimates err
        scale, shift = ALIGNED_JITTER["scale_jitter"], ALIGNED_JITTER["shift_jitter"]
        turn = max(ALIGNED_JITTER["rotation"], config["rotation"])
        jitter_text = (f"the aligned crop's scale and shift jitter ({scale:.2f} / {shift:.2f}), "
                       f"every crop turned up to {turn:g} degrees")
        return f"{jitter_text},\nmirror, brightness{field_text}"
    if mapping is None:
        jitter_text = "box scale and shift jitter (0.10 / 0.08)"
    else:
        jitter = mapping["training_jitter"]
        jitter_text = (f"box scale and shift jitter as far as the {mapping['detector']} detector "
                       f"errs ({jitter['scale_jitter']:.2f} / {jitter['shift_jitter']:.2f})")
    return f"{jitter_text}, {turn_text}\nmirror, brightness{field_text}"


def detection_text(config: dict, extra: dict, mapping: dict | None) -> str:
    from landmarks.run import result_name

    if mapping is None:
        return "The run has no detector mapping (trained without a detector): give boxes."
    detector = result_name(flip=bool(config.get("flip_test")), boxes="detector")
    rate = extra.get(f"{detector}_detection_rate")
    if rate is None:
        return ("The validation faces were not scored with detector boxes "
                "(`python landmarks/ablation.py` scores them).")
    return (f"The {mapping['detector']} detector found {pct(rate)} of the validation faces; on "
            f"those, NME {pct(extra.get(f'{detector}_detected_nme'))}; the others are scored on "
            "the fallback box (the centred square training faces most often fill).")


SQUARE_CROP = """\
**The crop, as a formula.** Image coordinates are continuous pixels: the image's top-left corner
is (0, 0), the first pixel's centre (0.5, 0.5). A face box is a square (x0, y0, side) in those
coordinates; crop units are u = (x - x0) / side, v = (y - y0) / side, 0 to 1 edge to edge. The
crop is the image resampled on that square at {size} x {size}
(pixel centres at u = (i + 0.5) / {size}); a point is mapped back with
x = x0 + u * side, y = y0 + v * side. Sampling is bilinear (OpenCV's `warpAffine`, black
outside the image); a box more than twice the crop's size is first shrunk by area averaging to
twice the crop's scale. `landmarks/export_client.py` is this paragraph in code (numpy, OpenCV
and TensorFlow only): with `landmarks/export.py`'s SavedModel or TFLite file, whose signature
`serve` takes crops [B, {size}, {size}, 3] float32 0..255 (any
batch) and gives `points` [B, {outputs}] in crop units{inside}, it gives
`predict.py`'s points for a box. `predictions.csv` gives points 0-based (x - 0.5); `.pts`
files 1-based (x + 0.5), as 300-W's own files."""
ALIGNED_CROP = """\
**The crop, as a formula.** This is a second stage (`landmarks/cascade.py`): the first stage's
model predicts the points on its own face crop (its model card gives that crop's formula); the
similarity that takes those points closest to the first stage's mean shape (`mean_shape.json`,
crop units) defines this model's {size} x {size} crop, and its points are mapped back through
the same matrix. `predict.py` and the Predictor run both models and check both sha256. An
export is one network on crops, so a second stage is not exported. `predictions.csv` gives
points 0-based (x - 0.5); `.pts` files 1-based (x + 0.5), as 300-W's own files."""


def pretrained_text(config: dict) -> str:
    """Where the run's starting weights come from; a second stage's: its first stage's model."""
    first = config.get("first_stage")
    if not first:
        weights = config.get("weights", "none")
        return PRETRAINED.get((config["backbone"], weights), weights)
    from landmarks.cascade import first_stage_dir
    from landmarks.run import LandmarkRun

    base = LandmarkRun.open(first_stage_dir(first)).config
    return f"the first stage's model (`{first}/model.keras`), itself from {pretrained_text(base)}"


def crop_texts(config: dict, points: int) -> tuple[str, str]:
    """(what the model sees, the crop paragraph): a second stage's crop is aligned to its first
    stage's points, and it is not exported alone."""
    size = config["image_size"]
    if config.get("first_stage"):
        return (f"the crop aligned to the points of its first stage, `{config['first_stage']}`",
                ALIGNED_CROP.format(size=size))
    inside = " with the flip test inside" if config.get("flip_test") else ""
    return "a face crop", SQUARE_CROP.format(size=size, outputs=2 * points, inside=inside)


def card(run_dir: Path) -> str:
    from common.files import read_json
    from common.paths import shown
    from landmarks.run import LandmarkRun

    run = LandmarkRun.open(run_dir)
    config, mapping, split, truth = run.config, run.box_mapping, run.split, run.metrics
    # The ablation's evaluations (landmarks/ablation.py): no flip test, and the detector's boxes
    # with and without it.
    extra = {}
    for flip, boxes in ((False, "truth"), (False, "detector"), (True, "detector")):
        extra.update(run.result(flip=flip, boxes=boxes) or {})
    timing = read_json(run_dir / "timing.json")
    sha, recorded = model_hash(run_dir / "model.keras")
    points = config.get("points") or {"ibug68": 68, "muct": 76}[config["dataset"]]
    markup = "5 derived points (eye centres, nose tip, mouth corners)" if points == 5 else \
        f"{points} facial landmarks ({MARKUP[config['dataset']]})"
    subsets = (config.get("subsets") or "").replace(",", ", ")
    source = SOURCES[config["dataset"]].format(subsets=subsets)
    table = scores_table(config, truth, extra, mapping)
    detection = detection_text(config, extra, mapping)
    weights = config.get("weights", "none")
    start = "from scratch" if weights == "none" else f"from the weights `{weights}`"
    width = f" (width {config['width']})" if config["backbone"] == "small_cnn" else ""
    augmentation = augmentation_text(config, mapping)
    sees, crop = crop_texts(config, points)
    pretrained = pretrained_text(config)
    return f"""# Model card: `{run_dir.name}`

Generated by `python landmarks/model_card.py {shown(run_dir)}` from this folder's files.

**What it does.** {markup} on {sees}: RGB 0..255, {config['image_size']} x
{config['image_size']} px. Output: [x0, y0, x1, y1, ...] in crop units. `landmarks/predict.py`
(or `landmarks.inference.Predictor`) does the detection, the crop, the flip test and the mapping
back to image pixels. File: `model.keras`, inference only (no optimizer), sha256 `{sha}`
({recorded}; every load checks it).

{crop}

**Model.** {config['backbone']}{width} {start}, {config['head']} head at
stride {config['heatmap_stride']}, loss {config['loss']}; Adam {config['lr']}, {config['schedule']}
schedule over {config['epochs']} epochs, batch {config['batch_size']}; augmentation:
{augmentation}; seed {config['seed']}; {timing['train_seconds'] / 60:.0f} minutes of
training on a 2-core CPU (`timing.json`, wall time of the epochs; other work may have shared
the machine). Kept: epoch {int(truth['best_epoch'])} of {int(truth['epochs_run'])}, by the lowest
validation NME.

**Data and split.** {source}: {len(split['train'])} training and {len(split['val'])} validation
faces, person-disjoint (by source photo; near-duplicate photos kept on one side), the split of
seed {config['seed']} (`split.json`). Nothing was chosen on a test set; there is none here.

**Validation figures** (NME: mean point error / {'outer-eye-corner' if config['dataset'] ==
'ibug68' else 'inter-pupil'} distance):

| crops | NME | failure > 0.08 | failure > 0.10 |
|---|---|---|---|
{table}

{detection}

**Known limits.** Trained on {len(split['train'])} faces, mostly frontal to three-quarter views
of adults in photos; profiles, heavy occlusion, very small faces and faces turned far in the
image plane are outside what it has seen. dlib's 68-point shape predictor was trained on more of
300-W's faces (these among them); compare both on your own photos before choosing. Not for
identification or any decision about a person.

**Terms.** The code is MIT-licensed (`LICENSE`). The training data keep their own terms: 300-W,
AFW, Helen and LFPW are for research use only, and so is a model trained on them. Pretrained
weights: {pretrained}.
"""


def main(argv=None) -> None:
    p = new_parser(__doc__)
    p.add_argument("run", help="a landmark run folder (evaluated with --boxes detector too)")
    args = p.parse_args(argv)
    from common.files import write_text

    run_dir = Path(args.run)
    write_text(run_dir / "MODEL_CARD.md", card(run_dir))
    print(f"wrote {run_dir / 'MODEL_CARD.md'}")


if __name__ == "__main__":
    run_cli(main)
