"""Photo → points speed: the face detector and the landmark model separately, beside dlib's own
68-point shape predictor on the same validation faces (accuracy too, when it is installed).

    python benchmarks/landmarks_predict.py results/landmarks/ibug68-small_cnn-128px
    pip install face-recognition-models   # for the dlib shape-predictor (and CNN detector) rows
"""

import argparse
import time

import numpy as np

from common.report import record_benchmark


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run", nargs="?", default="results/landmarks/ibug68-small_cnn-128px",
                        help="a landmark run folder with box_mapping.json")
    parser.add_argument("--data-dir", default=None, help="data root (default: as the scripts)")
    parser.add_argument("--faces", type=int, default=228, help="validation faces timed")
    args = parser.parse_args()

    import keras

    import landmarks.losses  # noqa: F401  (custom objects)
    import landmarks.metrics  # noqa: F401
    import landmarks.model  # noqa: F401
    from common.runs import read_json
    from landmarks.datasets import load_split
    from landmarks.detect import apply_mapping, detect_faces, matching_box, read_rgb
    from landmarks.metrics import nme_per_image
    from landmarks.pipeline import face_boxes
    from landmarks.predict import flip_test_permutation, predict_faces

    config = read_json(f"{args.run}/config.json")
    if args.data_dir:
        config["data_dir"] = args.data_dir
    mapping = read_json(f"{args.run}/box_mapping.json")
    model = keras.models.load_model(f"{args.run}/model.keras")
    val = load_split(config)[1].subset(range(min(args.faces, 10**6)))
    images = [read_rgb(p) for p in val.paths]
    truth_boxes = face_boxes(val.points, val.visible)

    start = time.perf_counter()
    detections = [detect_faces(image, detector=mapping["detector"]) for image in images]
    detect_rate = len(images) / (time.perf_counter() - start)
    hits = [matching_box(d, b) for d, b in zip(detections, truth_boxes)]
    found = [i for i, h in enumerate(hits) if h is not None]
    boxes = [apply_mapping(detections[i][hits[i]], mapping) for i in found]
    flip = flip_test_permutation(config)  # as predict.py: the run's --flip-test
    predict_faces(model, images[found[0]], boxes[0], 32, flip_permutation=flip)  # warm-up
    start = time.perf_counter()
    ours = np.stack([predict_faces(model, images[i], b, 32, flip_permutation=flip)[0]
                     for i, b in zip(found, boxes)])  # fmt: skip
    landmark_rate = len(found) / (time.perf_counter() - start)
    seen, eyes = val.visible[found], val.spec.eye_points
    ours_nme = nme_per_image(ours, val.points[found], seen, eyes).mean()
    lines = [f"{mapping['detector']} detector: {detect_rate:.0f} images/s, found "
             f"{len(found)}/{len(images)}",
             f"our model ({config['backbone']}, {config['head']} head, {config['image_size']} px"
             f"{', flip test' if flip else ''}): {landmark_rate:.0f} "
             f"faces/s one at a time, NME {100 * ours_nme:.2f}% on the detected faces"]
    figures = {"detect_images_per_s": detect_rate, "model_faces_per_s": landmark_rate,
               "model_detector_nme": float(ours_nme), "detected": len(found)}
    try:
        import dlib
        import face_recognition_models as models
    except ImportError:
        lines.append("dlib shape predictor: pip install face-recognition-models to compare")
    else:
        predictor = dlib.shape_predictor(models.pose_predictor_model_location())
        start = time.perf_counter()
        theirs = []
        for i in found:
            x, y, w, h = detections[i][hits[i]]
            shape = predictor(images[i], dlib.rectangle(int(x), int(y), int(x + w), int(y + h)))
            theirs.append([(p.x, p.y) for p in shape.parts()])
        dlib_rate = len(found) / (time.perf_counter() - start)
        dlib_nme = nme_per_image(np.array(theirs, np.float32), val.points[found], seen,
                                 eyes).mean()  # fmt: skip
        lines.append(f"dlib 68-point shape predictor: {dlib_rate:.0f} faces/s, NME "
                     f"{100 * dlib_nme:.2f}% on the same faces and boxes")
        figures.update(dlib_faces_per_s=dlib_rate, dlib_nme=float(dlib_nme))
    print("\n".join(lines))
    record_benchmark("landmarks_predict", "; ".join(lines), figures)


if __name__ == "__main__":
    main()
