"""Left-right consistency of a landmark run: its NME on the validation faces, on their mirror
images (predicted, then mirrored back) and on the average of the two (the flip test), and the
mean offset of each against the truth, in pixels of the model's input.

    python benchmarks/landmarks_flip_bias.py results/landmarks/ibug68-mobilenetv2-128px

A pipeline without a left-right asymmetry gives the faces and their mirror images the same
x offset; a difference is a bias that the flip test turns into error instead of averaging out.
"""

import argparse


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, allow_abbrev=False,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run", nargs="?", default="results/landmarks/ibug68-mobilenetv2-128px",
                        help="a landmark run folder")
    parser.add_argument("--data-dir", default=None, help="data root (default: as the scripts)")
    args = parser.parse_args()

    from benchmarks.record import record_benchmark
    from landmarks.metrics import nme_per_image
    from landmarks.pipeline import cache_crops, crop_targets
    from landmarks.run import LandmarkRun
    from landmarks.scoring import face_crops

    run = LandmarkRun.open(args.run)
    config = run.config
    predictor = run.predictor(flip_test=False)
    size = predictor.size
    cache = cache_crops(run.faces("val", args.data_dir), size, progress=False)
    faces, mirrored = predictor.faces_and_mirrors(face_crops(cache, size),
                                                  run.spec.flip_permutation)
    truth = crop_targets(cache)
    lines, figures = [], {}
    for name, pred in (("faces", faces), ("mirror images", mirrored),
                       ("flip test", (faces + mirrored) / 2)):
        nme = nme_per_image(pred, truth, cache.visible, cache.eye_points).mean()
        dx, dy = ((pred - truth)[cache.visible] * size).mean(axis=0)
        lines.append(f"{name}: NME {100 * nme:.2f}%, offset x {dx:+.2f} px, y {dy:+.2f} px")
        figures[name.replace(" ", "_")] = {"nme": float(nme), "dx_px": float(dx),
                                           "dy_px": float(dy)}
    summary = f"{config['head']} head, {size} px: " + "; ".join(lines)
    print(summary)
    record_benchmark("landmarks_flip_bias", summary, figures)


if __name__ == "__main__":
    from common import quiet_tensorflow

    quiet_tensorflow.install()
    main()
