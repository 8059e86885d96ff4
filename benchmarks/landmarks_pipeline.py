"""Landmark input pipeline: throughput against the training step, and memory of a MUCT-sized cache.

    python benchmarks/landmarks_pipeline.py                       # CPU preset: small_cnn, 96 px
    python benchmarks/landmarks_pipeline.py --backbone resnet50 --image-size 224
    python benchmarks/landmarks_pipeline.py --memory              # 3,755 generated 480x640 images

Throughput uses the real 300-W crops in the data root. The pipeline should deliver images at least
3x faster than training consumes them, so it never is the bottleneck. The memory check caches
3,755 generated MUCT-sized images at 128 px in a fresh process and reports its peak RSS.
"""

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks.record import record_benchmark


def images_per_second(iterator, batches: int, batch_size: int) -> float:
    next(iterator)  # warm-up: tracing, first prefetch
    start = time.perf_counter()
    for _ in range(batches):
        next(iterator)
    return batches * batch_size / (time.perf_counter() - start)


def throughput(args) -> None:
    import keras

    from landmarks.datasets import read_ibug68
    from landmarks.losses import masked_euclidean
    from landmarks.model import build_model
    from landmarks.pipeline import cache_crops, make_dataset

    faces = read_ibug68(args.data_dir, ["afw"])
    cache = cache_crops(faces, args.image_size, progress=False)
    ds = make_dataset(cache, image_size=args.image_size, batch_size=args.batch_size, training=True,
                      epochs=1000)
    pipeline = images_per_second(iter(ds), args.batches, args.batch_size)

    model = build_model(68, args.image_size, backbone=args.backbone, pooling=args.pooling)
    model.compile(optimizer=keras.optimizers.Adam(2.5e-4), loss=masked_euclidean)
    images, targets = next(iter(ds))
    model.train_on_batch(images, targets)  # warm-up
    start = time.perf_counter()
    for _ in range(args.steps):
        model.train_on_batch(images, targets)
    training = args.steps * args.batch_size / (time.perf_counter() - start)
    print(f"{args.backbone} at {args.image_size} px, batch {args.batch_size}:")
    print(f"  input pipeline  {pipeline:8.0f} images/s (augmentation on)")
    print(f"  training step   {training:8.1f} images/s")
    print(f"  ratio           {pipeline / training:8.1f}x  (target >= 3x)")
    record_benchmark("landmarks_pipeline", f"{args.backbone} at {args.image_size} px, batch "
                     f"{args.batch_size}: input pipeline {pipeline:,.0f} images/s vs. training "
                     f"step {training:,.0f} images/s ({pipeline / training:.0f}×)",
                     {"pipeline_images_per_s": pipeline, "training_images_per_s": training})


def memory_child(image_size: int, count: int) -> None:
    """Runs in a fresh process: generate, cache and iterate; print peak RSS."""
    from PIL import Image

    from landmarks.datasets import MUCT_POINTS, LandmarkSet
    from landmarks.pipeline import cache_crops, make_dataset

    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as tmp:
        paths = []
        template = rng.integers(0, 255, (640, 480, 3), dtype=np.uint8)
        for i in range(count):
            path = Path(tmp) / f"{i}.jpg"
            Image.fromarray(np.roll(template, i, axis=1)).save(path, quality=80)
            paths.append(str(path))
        base = np.column_stack(
            [np.linspace(160, 320, MUCT_POINTS), np.linspace(220, 420, MUCT_POINTS)]
        )
        points = (base[None] + rng.normal(0, 5, (count, MUCT_POINTS, 2))).astype(np.float32)
        data = LandmarkSet(paths, points, np.ones(points.shape[:2], bool), ["0"] * count, "muct")
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        cache = cache_crops(data, image_size, progress=False)
        for _ in make_dataset(cache, image_size=image_size, batch_size=16, training=True):
            pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"cache of {count} images at {image_size} px: {cache.images.nbytes / 2**20:.0f} MiB "
          f"of uint8 crops; peak RSS of the process {peak:.0f} MiB, of which {before:.0f} MiB "
          f"before caching (TensorFlow and the imports) and {peak - before:.0f} MiB for caching "
          f"and iterating (target < 1.5 GB)")
    record_benchmark("landmarks_memory", f"{count:,} generated MUCT-sized images cached at "
                     f"{image_size} px: {cache.images.nbytes / 2**20:.0f} MiB of crops; peak RSS "
                     f"{peak:.0f} MiB, of which {before:.0f} MiB is TensorFlow and the imports",
                     {"peak_rss_mib": peak, "before_mib": before},
                     command="python benchmarks/landmarks_pipeline.py --memory")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, allow_abbrev=False)
    parser.add_argument("--data-dir", default=None, help="data root (default: as the scripts)")
    parser.add_argument("--backbone", default="small_cnn", help="backbone to time")
    parser.add_argument("--pooling", default="flatten", help="head pooling")
    parser.add_argument("--image-size", type=int, default=96, help="input size")
    parser.add_argument("--batch-size", type=int, default=16, help="batch size")
    parser.add_argument("--batches", type=int, default=100, help="pipeline batches timed")
    parser.add_argument("--steps", type=int, default=20, help="training steps timed")
    parser.add_argument("--memory", action="store_true", help="run the memory check instead")
    parser.add_argument("--memory-images", type=int, default=3755, help=argparse.SUPPRESS)
    parser.add_argument("--memory-size", type=int, default=128, help=argparse.SUPPRESS)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        memory_child(args.memory_size, args.memory_images)
    elif args.memory:
        subprocess.run([sys.executable, __file__, "--child", "--memory-size",
                        str(args.memory_size), "--memory-images", str(args.memory_images)],
                       check=True)
    else:
        throughput(args)


if __name__ == "__main__":
    from common import quiet_tensorflow

    quiet_tensorflow.install()
    main()
