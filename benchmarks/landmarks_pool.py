"""Did the larger training pool help? Two landmark runs trained on different pools have
different validation faces, so their own figures do not compare. This scores both on the faces
that neither trained on: the validation faces of the newer run that are not in the older run's
training split.

    python benchmarks/landmarks_pool.py                      # the preset against the row before
    python benchmarks/landmarks_pool.py OLD_RUN NEW_RUN

Both are scored with their own flip test setting, with true-point boxes and with the HOG
detector's (mapped by each run's own box_mapping.json).
"""

import argparse

PRESET = "results/landmarks/ibug68-small_cnn-128px"
FIRST_POOL = "results/landmarks/ablation/2-cosine"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, allow_abbrev=False,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("old", nargs="?", default=FIRST_POOL, help="the run of the smaller pool")
    parser.add_argument("new", nargs="?", default=PRESET, help="the run of the larger pool")
    parser.add_argument("--data-dir", default=None, help="data root (default: as the scripts)")
    args = parser.parse_args()

    from benchmarks.record import record_benchmark
    from landmarks.datasets import recorded_split
    from landmarks.run import LandmarkRun
    from landmarks.scoring import score_faces

    old, new = LandmarkRun.open(args.old), LandmarkRun.open(args.new)
    old_train = set(old.split["train"])
    common = [p for p in new.split["val"] if p not in old_train]
    faces = recorded_split({**new.config, "data_dir": args.data_dir}, {"val": common})
    lines, figures = [f"{len(common)} faces in neither training split"], {"faces": len(common)}
    for name, opened in (("smaller pool", old), ("larger pool", new)):
        predictor, shape, run = opened.predictor(), opened.mean_shape, str(opened.path)
        truth, _, _ = score_faces(predictor, faces, mean_shape=shape, split="s")
        boxes, _, _ = score_faces(predictor, faces, mean_shape=shape, split="s", detector=True)
        figures[name] = {"run": run, "nme": truth["s_nme"], "failure_rate_8":
                         truth["s_failure_rate_8"], "detector_nme": boxes["s_nme"],
                         "detected_nme": boxes["s_detected_nme"]}
        lines.append(f"{name} ({run.rsplit('/', 1)[-1]}, {opened.config['subsets']}):"
                     f" NME {100 * truth['s_nme']:.2f}%, failure > 0.08 "
                     f"{100 * truth['s_failure_rate_8']:.2f}%, detector boxes "
                     f"{100 * boxes['s_nme']:.2f}% (detected {100 * boxes['s_detected_nme']:.2f}%)")
    summary = "; ".join(lines)
    print(summary)
    record_benchmark("landmarks_pool", summary, figures)


if __name__ == "__main__":
    from common import quiet_tensorflow

    quiet_tensorflow.install()
    main()
