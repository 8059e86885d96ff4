"""Train a facial-landmark regressor and score its best checkpoint on the validation faces.

    python landmarks/train.py                      # CPU preset: ImageNet MobileNetV2, 128 px
    python landmarks/train.py --preset cascade     # a second stage on the CPU preset's run
    python landmarks/train.py --preset fast        # 64 px, no flip test: speed
    python landmarks/train.py --preset gpu         # ResNet50, ImageNet weights, 224 px
    python landmarks/train.py --backbone small_cnn --augmentation light   # an earlier preset
    python landmarks/train.py --dataset muct --loss wing
    python landmarks/train.py --head soft-argmax --points 5       # heatmap head, 5 points

The validation split is person-disjoint (MUCT: by subject; 300-W: by source photo). The
checkpoint with the lowest validation NME is kept; an interrupted run continues exactly where it
stopped when the same command is run again.
"""

from __future__ import annotations

import argparse
from dataclasses import replace

from common.cli import (
    add_run_flags,
    config_from_flags,
    fraction,
    new_parser,
    number_in,
    positive_float,
    positive_int,
    run_cli,
    train_or_report,
)
from common.configs import record
from landmarks.config import (
    AUGMENTATIONS,
    CPU,
    DETECTORS,
    PRESETS,
    SCHEDULES,
    STRATEGIES,
    LandmarkConfig,
    with_backbone,
)
from landmarks.datasets import DATASETS, POINT_COUNTS
from landmarks.options import BACKBONES, HEADS, LOSS_NAMES, POOLINGS


def build_parser():
    p = new_parser(__doc__)
    p.add_argument("--preset", choices=PRESETS, default=CPU.preset,
                   help="defaults for the flags below marked (preset): landmarks/config.py")
    p.add_argument("--dataset", choices=DATASETS, default=CPU.dataset, help="data set")
    p.add_argument("--subsets", default=CPU.subsets,
                   help="ibug68: comma-separated folders under <data root>/ibug_68")
    p.add_argument("--skip-bad", action="store_true",
                   help="skip bad rows/images (listed in <run>/data_report.json), not stop")
    p.add_argument("--val-fraction", type=fraction, default=CPU.val_fraction,
                   help="fraction of subjects held out for validation")
    p.add_argument("--image-size", type=positive_int, help="input size in pixels (preset)")
    p.add_argument("--backbone", choices=BACKBONES,
                   help="feature extractor (preset: mobilenetv2); a backbone other than the "
                        "preset's starts from its own weights unless --weights is given "
                        "(mobilenetv2: the shipped ImageNet weights; the others: none)")
    p.add_argument("--weights", help="none, imagenet, or a .h5/.keras file (preset)")
    p.add_argument("--pooling", choices=POOLINGS, help="avg (homework) or flatten (preset)")
    p.add_argument("--head", choices=HEADS,
                   help="output head (landmarks/heads.py): Dense(2K) with sigmoid, tanh, "
                        "linear or linear in pixels, or soft-argmax heatmaps (preset)")
    p.add_argument("--heatmap-stride", type=int, choices=(4, 8),
                   help="soft-argmax: heatmaps at stride 8 (small_cnn: one upsampling of its "
                        "stride-16 map; mobilenetv2: a decoder over its stride-8 to 32 maps) or "
                        "4 (a light decoder with skip connections) (preset)")
    p.add_argument("--rotation", type=number_in(float, 0, 90),
                   help="training augmentation: turn each face by up to this many degrees, "
                        "points with the pixels (preset)")
    p.add_argument("--points", type=int, choices=POINT_COUNTS, default=None,
                   help="the data set's own markup (68 for ibug68, 76 for muct; the default) "
                        "or 5: eye centres, nose tip, mouth corners")
    p.add_argument("--width", type=positive_int, default=CPU.width,
                   help="small_cnn: channels of its first stage (doubling in each of four)")
    p.add_argument("--loss", choices=LOSS_NAMES, default=CPU.loss, help="loss")
    p.add_argument("--epochs", type=positive_int, help="training epochs (preset)")
    p.add_argument("--batch-size", type=positive_int, default=CPU.batch_size,
                   help="mini-batch size")
    p.add_argument("--lr", type=positive_float,
                   help="Adam learning rate (preset; homework: 2.5e-4)")
    p.add_argument("--schedule", choices=SCHEDULES,
                   help="plateau: halve the rate after 5 epochs without a better val NME, stop "
                        "after 12; cosine: decay to 0 over --epochs, no early stop (preset)")
    p.add_argument("--flip-test", action=argparse.BooleanOptionalAction,
                   help="score (and predict) the average of each face and its mirror image "
                        "(preset)")
    p.add_argument("--no-augment", action="store_true", help="no jitter, flip or brightness")
    p.add_argument("--augmentation", choices=AUGMENTATIONS,
                   help="field: PIPNet's and HRNet's recipe (shift 12%%, scale 25%%, half the "
                        "faces turned up to 30 degrees, occlusion, blur, colour jitter); light: "
                        "the small box jitter of the runs before it (preset: field; fast: light)")
    p.add_argument("--detector", choices=DETECTORS, default=CPU.detector,
                   help="face detector whose box → crop mapping is learned on the training faces "
                        "(box_mapping.json, for predict.py and evaluate.py --boxes detector); "
                        "training jitters the box as far as that detector errs")
    p.add_argument("--strategy", choices=STRATEGIES, default=CPU.strategy,
                   help="mirrored: tf.distribute.MirroredStrategy over all local GPUs")
    p.add_argument("--first-stage", metavar="RUN",
                   help="train a second stage for this landmark run: on the crops its points "
                        "align (landmarks/cascade.py); predict and evaluate then run both")
    add_run_flags(p, out_help="run folder (default: results/landmarks/<dataset>-<backbone>-"
                              "<size>px)")
    return p


def preset_of(args) -> LandmarkConfig:
    """The preset the flags start from, on their backbone; --no-augment alone drops its
    augmentation too."""
    preset = with_backbone(PRESETS[args.preset], args.backbone)
    return replace(preset, augmentation=None) if args.no_augment and not args.augmentation \
        else preset


def parse_config(argv=None) -> LandmarkConfig:
    """The configuration the flags ask for: the preset, then every flag given."""
    config, _ = config_from_flags(build_parser(), preset_of, argv)
    return config if config.out else replace(config, out=config.default_out())


def main(argv=None) -> None:
    from landmarks.training import train

    config = parse_config(argv)
    train_or_report(record(config), lambda _: train(config))


def cli() -> None:
    """The console entry point (pyproject.toml's [project.scripts])."""
    run_cli(main)


if __name__ == "__main__":
    cli()
