"""The landmark pages' generated blocks (``common.report``) and the landmark runs that are
results of their own (``common.reproduce``), read from results/landmarks only."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from common.report import RESULTS, all_tables, benchmark_line, first_table, run_rows
from landmarks.run import LandmarkRun, result_name

SINGLE_RUNS = {
    "landmarks/ibug68-mobilenetv2-128px": "python landmarks/train.py",
    "landmarks/ibug68-mobilenetv2-128px-second-stage": "python landmarks/train.py --preset cascade",
    "landmarks/ibug68-small_cnn-128px": "python landmarks/train.py --backbone small_cnn "
                                        "--augmentation light",
    "landmarks/ibug68-mobilenetv2-64px": "python landmarks/train.py --preset fast",
}
LANDMARKS = RESULTS / "landmarks"


def landmark_pool(path: Path) -> str:
    """Two training pools scored on the faces neither trained on (benchmarks/landmarks_pool.py)."""
    saved = json.loads(path.read_text())
    rows = [{"training pool": name, "run": f"`{figures['run'].rsplit('/', 1)[-1]}`",
             "NME, flip test": f"{100 * figures['nme']:.2f}%",
             "failure > 0.08": f"{100 * figures['failure_rate_8']:.2f}%",
             "NME, detector boxes": f"{100 * figures['detector_nme']:.2f}%",
             "NME, detected faces": f"{100 * figures['detected_nme']:.2f}%"}
            for name, figures in saved["figures"].items() if isinstance(figures, dict)]
    return (f"`{saved['command']}` ({saved['figures']['faces']} faces, {saved['date']}):\n\n"
            + pd.DataFrame(rows).to_markdown(index=False))


def landmark_runs() -> dict[str, Path]:
    """Every committed landmark run folder, labelled by its command."""
    runs = {}
    for run in sorted(LANDMARKS.glob("*/metrics.json")):
        config = json.loads((run.parent / "config.json").read_text())
        label = (f"{config['backbone']}, {config['head']} head, {config['image_size']} px, "
                 f"{config['loss']}")
        runs[label + f" (`{run.parent.name}`)"] = run.parent
    return runs


def landmark_boxes() -> str:
    """Truth boxes against detector boxes, for every run that has been scored both ways (by
    evaluate.py --boxes detector, or by the ablation with the run's own flip test)."""
    rows = []
    for run in sorted(LANDMARKS.glob("*/metrics.json")):
        landmark = LandmarkRun.open(run.parent)
        run, truth = landmark.path, landmark.metrics
        # evaluate.py's file (the run's own flip setting), else the ablation's flip-named one
        scored = [(flip, landmark.result(flip=flip, boxes="detector"))
                  for flip in (None, bool(landmark.config.get("flip_test")))]
        scored = [(flip, result) for flip, result in scored if result is not None]
        if not scored:
            continue
        flip, detector = scored[0]
        split = result_name(flip=flip, boxes="detector")
        mapping = landmark.box_mapping  # a second stage's: its first stage's
        rows.append({
            "run": f"`{run.name}`",
            "NME, true-point boxes": f"{100 * truth['val_nme']:.2f}%",
            "failure > 0.08": f"{100 * truth['val_failure_rate_8']:.2f}%",
            f"{mapping['detector']} detection rate":
                f"{100 * detector[f'{split}_detection_rate']:.1f}%",
            "NME, detector boxes (detected faces)":
                f"{100 * detector[f'{split}_detected_nme']:.2f}%",
            "NME, detector boxes (all faces, fallback box)":
                f"{100 * detector[f'{split}_nme']:.2f}%",
            "ratio (detected / truth)":
                f"{detector[f'{split}_detected_nme'] / truth['val_nme']:.2f}×",
        })
    return pd.DataFrame(rows).to_markdown(index=False)


def landmark_speed() -> str:
    """Photo to points one face at a time, Keras and TFLite beside dlib in the same run, from
    every run of benchmarks/landmarks_predict.py that timed both runtimes."""
    rows = []
    for path in sorted((RESULTS / "benchmarks").glob("landmarks_predict*.json")):
        saved = json.loads(path.read_text())
        figures = saved["figures"]
        if "tflite_photo_faces_per_s_single" not in figures:
            continue
        keras, lite, dlib = (figures[k] for k in ("photo_faces_per_s_single",
                                                   "tflite_photo_faces_per_s_single",
                                                   "dlib_faces_per_s"))
        rows.append({"command": f"`{saved['command']}`", "Keras, faces/s": f"{keras:.0f}",
                     "TFLite (one thread), faces/s": f"{lite:.0f}",
                     "dlib, faces/s": f"{dlib:.0f}", "TFLite / dlib": f"{lite / dlib:.2f}×",
                     "NME, detected faces (ours / dlib's)":
                         f"{100 * figures['tflite_model_detector_nme']:.2f}% / "
                         f"{100 * figures['dlib_nme']:.2f}%",
                     "date": saved["date"]})
    return pd.DataFrame(rows).to_markdown(index=False)


LANDMARK_METRICS = {"val_nme": "NME", "val_failure_rate_8": "failure > 0.08",
                    "val_failure_rate_10": "failure > 0.10", "val_auc_10": "AUC @ 0.10",
                    "val_mean_shape_nme": "mean-shape NME", "best_epoch": "best epoch",
                    "epochs_run": "epochs run"}
BLOCKS = {
    "landmarks": lambda: run_rows(landmark_runs(), LANDMARK_METRICS,
                                  percent=[k for k in LANDMARK_METRICS if "nme" in k
                                           or "failure" in k]),
    "landmark_boxes": landmark_boxes,
    "landmark_speed": landmark_speed,
    "landmark_comparison": lambda: all_tables(LANDMARKS / "comparison" / "summary.md"),
    "landmark_ablation": lambda: first_table(LANDMARKS / "ablation" / "summary.md"),
    "landmark_pool": lambda: landmark_pool(RESULTS / "benchmarks" / "landmarks_pool.json"),
    "mobilenet_conversion": lambda: benchmark_line(RESULTS / "benchmarks" /
                                                   "mobilenet_conversion.json"),
}
