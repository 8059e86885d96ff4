"""Photo → points speed and accuracy: the face detector, and the landmark model alone (batched
and one face at a time), beside dlib's own 68-point shape predictor on the same validation
faces and the same detector boxes.

    python benchmarks/landmarks_predict.py results/landmarks/ibug68-mobilenetv2-128px
    pip install face-recognition-models   # for the dlib shape-predictor row

The model's rates are for the crops alone (cropping is timed apart, as "crop"); with the run's
flip test each face costs two model passes (in one batch), as in predict.py. Each rate is
given for both runtimes of predict.py's --runtime: Keras, and the TFLite interpreter (XNNPACK)
on one thread, as dlib runs. "Photo to points" is the whole
Predictor.predict on a photo and its box, one face at a time: the only rate of a second-stage
run (its second crop depends on the first stage's points), which is recorded as
landmarks_predict_<run folder>.
"""

import argparse
import time
from pathlib import Path

DEFAULT_RUN = "results/landmarks/ibug68-mobilenetv2-128px"


def rate(count: int, work) -> float:
    """Items per second of ``work()`` (best of three timings)."""
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        work()
        best = min(best, time.perf_counter() - start)
    return count / best


def predictor_figures(predictor, *, crops, photos, boxes, truth, seen, eyes,
                      model_alone: bool) -> dict:
    """Faces/s of the model alone on crops (batched, one at a time; where ``model_alone``) and
    of photo to points one face at a time, and the NME of those points."""
    import numpy as np

    from landmarks.metrics import nme_per_image

    figures = {}
    if model_alone:
        predictor.unit_points(crops[:1])  # the one trace
        figures["model_faces_per_s_batched"] = rate(len(crops),
                                                    lambda: predictor.unit_points(crops))
        figures["model_faces_per_s_single"] = rate(len(crops), lambda: [
            predictor.unit_points(crops[i:i + 1]) for i in range(len(crops))])
    predictor.predict(photos[0], boxes[0][None])  # the traces
    figures["photo_faces_per_s_single"] = rate(len(photos), lambda: [
        predictor.predict(photo, box[None]) for photo, box in zip(photos, boxes)])
    points = np.stack([predictor.predict(photo, box[None])[0][0]
                       for photo, box in zip(photos, boxes)])
    figures["model_detector_nme"] = float(nme_per_image(points, truth, seen, eyes).mean())
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, allow_abbrev=False,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run", nargs="?", default=DEFAULT_RUN,
                        help="a landmark run folder with box_mapping.json")
    parser.add_argument("--data-dir", default=None, help="data root (default: as the scripts)")
    parser.add_argument("--faces", type=int, default=228, help="validation faces timed")
    args = parser.parse_args()

    import numpy as np

    from benchmarks.record import record_benchmark
    from landmarks import geometry
    from landmarks.cascade import Cascade
    from landmarks.detect import apply_mapping, detect_faces, matching_box
    from landmarks.formats import read_image
    from landmarks.metrics import nme_per_image
    from landmarks.pipeline import face_boxes
    from landmarks.run import LandmarkRun

    run = LandmarkRun.open(args.run)
    config = run.config
    predictor = run.predictor()
    mapping = run.require_box_mapping()
    val = run.faces("val", args.data_dir)
    val = val.subset(range(min(args.faces, len(val))))
    images = [read_image(p) for p in val.paths]
    truth_boxes = face_boxes(val.points, val.visible)

    start = time.perf_counter()
    detections = [detect_faces(image, detector=mapping["detector"]) for image in images]
    detect_rate = len(images) / (time.perf_counter() - start)
    hits = [matching_box(d, b) for d, b in zip(detections, truth_boxes)]
    found = [i for i, h in enumerate(hits) if h is not None]
    boxes = [apply_mapping(detections[i][hits[i]], mapping)[0] for i in found]
    crops = np.stack([geometry.warp(images[i], geometry.box_matrix(b), predictor.size)
                      for i, b in zip(found, boxes)]).astype(np.float32)
    crop_rate = rate(len(found), lambda: [geometry.warp(images[i], geometry.box_matrix(b),
                                                        predictor.size)
                                          for i, b in zip(found, boxes)])
    cascade = isinstance(predictor, Cascade)
    last = predictor.second if cascade else predictor  # a cascade flips as its second stage
    flip = ", flip test" if last.flip_permutation is not None else ""
    model = (f"{config['backbone']}, {config['head']} head, stride "
             f"{config.get('heatmap_stride', 8)}, {config['image_size']} px{flip}"
             + (", second stage on the first's aligned crop" if cascade else ""))
    seen, eyes = val.visible[found], val.spec.eye_points
    figures, lines = {}, [f"{mapping['detector']} detector: {detect_rate:.0f} images/s, found "
                          f"{len(found)}/{len(images)}", f"crop: {crop_rate:.0f} faces/s"]
    # TFLite on one thread, as dlib runs
    runtimes = {"keras": predictor, "tflite": run.predictor(runtime="tflite", threads=1)}
    for runtime, timed in runtimes.items():
        prefix = "" if runtime == "keras" else "tflite_"
        timed_figures = predictor_figures(timed, crops=crops, photos=[images[i] for i in found],
                                          boxes=boxes, truth=val.points[found], seen=seen,
                                          eyes=eyes, model_alone=not cascade)
        figures.update({prefix + key: value for key, value in timed_figures.items()})
        rates = "" if cascade else (
            f"{timed_figures['model_faces_per_s_batched']:.0f} faces/s batched, "
            f"{timed_figures['model_faces_per_s_single']:.0f} one at a time, ")
        threads = ", one thread" if runtime == "tflite" else ""
        lines.append(f"our model ({model}; {runtime}{threads}): {rates}photo to points "
                     f"{timed_figures['photo_faces_per_s_single']:.0f} faces/s one at a time, "
                     f"NME {100 * timed_figures['model_detector_nme']:.2f}% on the detected "
                     "faces")
    figures.update(detect_images_per_s=detect_rate, crop_faces_per_s=crop_rate,
                   detected=len(found))
    try:
        import dlib
        import face_recognition_models as models
    except ImportError:
        lines.append("dlib shape predictor: pip install face-recognition-models to compare")
    else:
        predictor_dlib = dlib.shape_predictor(models.pose_predictor_model_location())
        rects = [dlib.rectangle(*map(int, (x, y, x + w - 1, y + h - 1)))
                 for x, y, w, h in (detections[i][hits[i]] for i in found)]

        def dlib_points():
            return [[(p.x + 0.5, p.y + 0.5) for p in predictor_dlib(images[i], r).parts()]
                    for i, r in zip(found, rects)]

        dlib_rate = rate(len(found), dlib_points)
        theirs = np.array(dlib_points(), np.float32)  # dlib: 0-based pixel centres
        dlib_nme = nme_per_image(theirs, val.points[found], seen, eyes).mean()
        lines.append(f"dlib 68-point shape predictor: {dlib_rate:.0f} faces/s, NME "
                     f"{100 * dlib_nme:.2f}% on the same faces and boxes (dlib was trained on "
                     "300-W's training images, these faces among them)")
        figures.update(dlib_faces_per_s=dlib_rate, dlib_nme=float(dlib_nme))
    print("\n".join(lines))
    shipped = run.path.resolve() == Path(DEFAULT_RUN).resolve()
    name = "landmarks_predict" if shipped else f"landmarks_predict_{run.path.name}"
    record_benchmark(name, "; ".join(lines), figures)


if __name__ == "__main__":
    from common import quiet_tensorflow

    quiet_tensorflow.install()
    main()
