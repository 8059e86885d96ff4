"""Does a quantized TFLite model pay? Each landmark run's model converted as predict.py's
--runtime tflite converts it (float32 weights) and with TFLite's post-training weight
quantizations (float16 weights; int8 weights with float activations): the file's size, its
faces/s one face at a time on one thread (the model alone, the flip test inside, as dlib runs
on one thread), and its NME on the validation faces (true-point boxes) against float32's.

    python benchmarks/landmarks_quantized.py                 # the preset and the fast preset
    python benchmarks/landmarks_quantized.py RUN [RUN ...]
"""

import argparse

RUNS = ["results/landmarks/ibug68-mobilenetv2-128px", "results/landmarks/ibug68-mobilenetv2-64px"]
TIMED_FACES = 200


def one_at_a_time(runner, crops) -> float:
    """Faces/s of ``runner`` given one crop per call."""
    from benchmarks.landmarks_predict import rate

    runner(crops[:1])  # the interpreter's first call allocates
    return rate(len(crops), lambda: [runner(face[None]) for face in crops])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, allow_abbrev=False,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", nargs="*", default=RUNS, help="landmark run folders")
    parser.add_argument("--data-dir", default=None, help="data root (default: as the scripts)")
    args = parser.parse_args()

    import numpy as np

    from benchmarks.record import record_benchmark
    from landmarks.metrics import nme_per_image
    from landmarks.pipeline import cache_crops, crop_targets
    from landmarks.run import LandmarkRun
    from landmarks.scoring import face_crops
    from landmarks.serving import QUANTIZATIONS, tflite_bytes, tflite_runner

    lines, figures = [], {}
    for run_dir in args.runs:
        run = LandmarkRun.open(run_dir)
        predictor = run.predictor()
        cache = cache_crops(run.faces("val", args.data_dir), predictor.size, progress=False)
        crops, truth = face_crops(cache, predictor.size), crop_targets(cache)
        timed = crops[:TIMED_FACES]
        shown = []
        for quantize in (None, *QUANTIZATIONS):
            flat = tflite_bytes(predictor.model, predictor.flip_permutation, quantize=quantize)
            runner = tflite_runner(flat, threads=1)
            points = np.concatenate([runner(crops[i:i + 64]) for i in range(0, len(crops), 64)])
            points = points.reshape(len(crops), -1, 2)
            nme = float(nme_per_image(points, truth, cache.visible, cache.eye_points).mean())
            faces_per_s = one_at_a_time(runner, timed)
            name = quantize or "float32"
            figures[f"{run.path.name}/{name}"] = {"mb": len(flat) / 1e6, "nme": nme,
                                                  "faces_per_s": faces_per_s}
            shown.append(f"{name} {len(flat) / 1e6:.1f} MB, {faces_per_s:.0f} faces/s, "
                         f"NME {100 * nme:.2f}%")
        lines.append(f"{run.path.name} ({len(crops)} faces): " + "; ".join(shown))
    print("\n".join(lines))
    record_benchmark("landmarks_quantized", " | ".join(lines), figures)


if __name__ == "__main__":
    from common import quiet_tensorflow

    quiet_tensorflow.install()
    main()
