import csv
import shutil

import numpy as np
import pytest
import tensorflow as tf

from common.errors import UserError
from landmarks.datasets import (
    DATASETS,
    FIVE_FLIP,
    IBUG_FLIP,
    MUCT_FLIP,
    MUCT_ORIGIN,
    MUCT_PUPILS,
    LandmarkSet,
    five_points,
    from_file_convention,
    read_ibug68,
    read_muct,
    read_pts,
    select_points,
    split_by_subject,
)
from landmarks.geometry import flip_points
from landmarks.pipeline import cache_crops, make_dataset
from tests.conftest import copy_afw_faces

PTS_BODY = "\n".join(f"{i}.5 {2 * i}" for i in range(68))


def test_muct_reader_on_the_real_files(data_dir):
    muct = read_muct(data_dir)
    assert len(muct) == 101 and muct.points.shape == (101, 76, 2)
    assert (~muct.visible).sum() == 57  # the (0, 0) points among the rows with an image
    assert sorted(set(muct.subjects)) == ["000", "001", "002", "003", "004", "005", "006"]


def test_muct_pupils_are_the_eyes(data_dir):
    points = read_muct(data_dir).points
    for pupil, contour in zip(MUCT_PUPILS, (slice(27, 31), slice(32, 36))):
        offset = np.linalg.norm(points[:, pupil] - points[:, contour].mean(axis=1), axis=-1)
        interocular = np.linalg.norm(points[:, 31] - points[:, 36], axis=-1)
        assert (offset < 0.15 * interocular).all()
    assert (points[:, 31, 0] < points[:, 36, 0]).all()  # 31 is image-left in every frontal view


def muct_pairs(data_dir):
    """All i/ir row pairs of the full CSV (their images are not needed): points [P, 76, 2] twice."""
    rows = {}
    with open(data_dir / "muct" / "muct76-opencv.csv") as f:
        for fields in list(csv.reader(f))[1:]:
            rows[fields[0]] = np.array(fields[2:], np.float32).reshape(76, 2)
    names = [n for n in rows if n.startswith("i") and "ir" + n[1:] in rows]
    return np.stack([rows[n] for n in names]), np.stack([rows["ir" + n[1:]] for n in names])


def test_flip_matches_muct_mirrored_rows(data_dir):
    """In continuous pixels (0-based + 0.5) of the 480 x 640 images, crop units of the whole
    image mirror as x → 1 − x: exactly MUCT's mirrored rows."""
    original, mirrored = muct_pairs(data_dir)
    assert len(original) == 3755
    visible = (original != 0).any(-1)
    scale = np.array([480.0, 640.0], np.float32)
    for k in range(0, len(original), 97):
        units = from_file_convention(original[k], MUCT_ORIGIN) / scale
        flipped = flip_points(units[None], MUCT_FLIP)[0]
        seen = visible[k][MUCT_FLIP] & (mirrored[k] != 0).any(-1)
        np.testing.assert_allclose(flipped[seen] * scale,
                                   from_file_convention(mirrored[k], MUCT_ORIGIN)[seen],
                                   atol=0.11)


@pytest.mark.parametrize("permutation", [MUCT_FLIP, IBUG_FLIP], ids=["muct", "ibug68"])
def test_flip_twice_is_identity(permutation):
    k = len(permutation)
    assert sorted(permutation) == list(range(k))
    points = np.random.default_rng(1).uniform(0, 1, (1, k, 2)).astype(np.float32)
    once = flip_points(points, permutation)
    np.testing.assert_allclose(flip_points(once, permutation), points, atol=1e-6)
    assert not np.allclose(once, points)


def test_five_points_of_the_real_ibug_files(data_dir):
    full = read_ibug68(data_dir, ["afw"])
    five = five_points(full)
    assert five.points.shape == (337, 5, 2) and five.visible.all() and five.spec.num_points == 5
    np.testing.assert_allclose(five.points[:, 0], full.points[:, 36:42].mean(axis=1), rtol=1e-6)
    np.testing.assert_allclose(five.points[:, 1], full.points[:, 42:48].mean(axis=1), rtol=1e-6)
    np.testing.assert_array_equal(five.points[:, 2:], full.points[:, [30, 48, 54]])
    eyes, nose, mouth = five.points[:, :2], five.points[:, 2], five.points[:, 3:]
    assert (eyes[:, 0, 0] < eyes[:, 1, 0]).all() and (mouth[:, 0, 0] < mouth[:, 1, 0]).all()
    # the nose tip lies between the eye line and the mouth corners in (nearly) every face
    between = (nose[:, 1] > eyes[..., 1].mean(axis=1)) & (nose[:, 1] < mouth[..., 1].mean(axis=1))
    assert between.mean() > 0.95
    assert five.spec.eye_points == (0, 1) and five.spec.flip_permutation == FIVE_FLIP
    assert select_points(full, 68) is full and select_points(full, None) is full
    with pytest.raises(UserError, match="68 or 5"):
        select_points(full, 76)


def test_five_point_flip_agrees_with_muct_mirrored_rows(data_dir):
    """Deriving the 5 points of MUCT's mirrored row equals mirroring the 5 points of the
    original: the 5-point flip permutation and the nose-tip choice (67) are right."""
    original, mirrored = muct_pairs(data_dir)
    seen = (original != 0).any(-1).all(1) & (mirrored != 0).any(-1).all(1)
    scale = np.array([480.0, 640.0], np.float32)

    def derived(points):
        units = from_file_convention(points, MUCT_ORIGIN) / scale
        data = LandmarkSet([""] * len(points), units, np.ones(points.shape[:2], bool),
                           [""] * len(points), "muct")
        return five_points(data).points

    flipped = flip_points(derived(original[seen]), FIVE_FLIP)  # a mirror is its own inverse
    np.testing.assert_allclose(flipped, derived(mirrored[seen]), atol=0.11 / 479)


def test_a_derived_point_is_visible_only_when_all_its_sources_are(data_dir):
    muct = read_muct(data_dir)
    five = five_points(muct)
    sources = DATASETS["muct"].five_point_sources
    for k, group in enumerate(sources):
        np.testing.assert_array_equal(five.visible[:, k], muct.visible[:, list(group)].all(1))
    assert (five.points[~five.visible] == 0).all()


def test_ibug_reader_on_the_real_files(data_dir):
    faces = read_ibug68(data_dir, ["afw", "helen_train"])
    assert len(faces) == 337 + 870 and faces.points.shape[1:] == (68, 2)
    assert faces.visible.all()
    assert faces.points[:, 36, 0].mean() < faces.points[:, 45, 0].mean()  # 36 is image-left


def test_split_by_subject_is_person_disjoint(data_dir):
    muct = read_muct(data_dir)
    train, val = split_by_subject(muct.subjects, val_fraction=0.3, seed=0)
    assert not {muct.subjects[i] for i in train} & {muct.subjects[i] for i in val}
    assert len(train) + len(val) == 101


def test_pts_with_and_without_header(tmp_path):
    (tmp_path / "a.pts").write_text(f"version: 1\nn_points: 68\n{{\n{PTS_BODY}\n}}\n")
    (tmp_path / "b.pts").write_text(PTS_BODY + "\n")
    np.testing.assert_array_equal(read_pts(tmp_path / "a.pts"), read_pts(tmp_path / "b.pts"))
    assert read_pts(tmp_path / "a.pts")[3].tolist() == [3.5, 6.0]


def test_pts_errors_name_the_file_and_line(tmp_path):
    (tmp_path / "short.pts").write_text("\n".join(PTS_BODY.splitlines()[:67]))
    with pytest.raises(UserError, match="short.pts: 67 points, expected 68"):
        read_pts(tmp_path / "short.pts")
    (tmp_path / "text.pts").write_text(PTS_BODY.replace("5.5 10", "5.5 ten"))
    with pytest.raises(UserError, match="text.pts, line 6"):
        read_pts(tmp_path / "text.pts")


def test_bad_files_fail_or_are_skipped_and_counted(tmp_path, data_dir):
    folder = copy_afw_faces(tmp_path, data_dir, 4)
    victims = sorted(folder.glob("*.jpg"))
    victims[0].write_bytes(b"not a jpeg")
    pts = sorted(folder.glob("*.pts"))[1]
    pts.write_text("\n".join(pts.read_text().splitlines()[:-3]))  # drops two points and "}"
    with pytest.raises(UserError, match="skip bad items"):
        read_ibug68(tmp_path, ["afw"])
    faces = read_ibug68(tmp_path, ["afw"], skip_bad=True)
    assert len(faces) == 2 and len(faces.skipped) == 2
    assert {s["item"] for s in faces.skipped} == {str(victims[0]), str(pts)}


def test_muct_row_with_wrong_column_count(tmp_path, data_dir):
    muct = tmp_path / "muct"
    (muct / "jpg").mkdir(parents=True)
    lines = (data_dir / "muct" / "muct76-opencv.csv").read_text().splitlines()
    rows = [lines[0]] + [line for line in lines[1:] if line.startswith("i000q")]
    rows[2] = rows[2].rsplit(",", 1)[0]
    (muct / "muct76-opencv.csv").write_text("\n".join(rows) + "\n")
    for row in rows[1:]:
        name = row.split(",")[0]
        shutil.copy(data_dir / "muct" / "jpg" / f"{name}.jpg", muct / "jpg")
    with pytest.raises(UserError, match="line 3: 153 columns, expected 154"):
        read_muct(tmp_path)
    muct = read_muct(tmp_path, skip_bad=True)
    assert len(muct) == len(rows) - 2 and len(muct.skipped) == 1


def test_missing_data_is_one_clear_line(tmp_path):
    with pytest.raises(UserError, match="muct76-opencv.csv not found; get it from MUCT"):
        read_muct(tmp_path)
    with pytest.raises(UserError, match="ibug_68/afw not found"):
        read_ibug68(tmp_path, ["afw"])


def test_pipeline_shapes_ranges_and_masking(data_dir):
    muct = read_muct(data_dir).subset(range(12))
    cache = cache_crops(muct, 64, progress=False)
    assert cache.images.dtype == np.uint8 and cache.images.shape == (12, 80, 80, 3)
    images, targets = next(iter(make_dataset(cache, image_size=64, batch_size=12,
                                             training=False)))
    assert images.shape == (12, 64, 64, 3) and targets.shape == (12, 152)
    targets = targets.numpy().reshape(12, 76, 2)
    hidden = ~muct.visible
    assert hidden.any() and (targets[hidden] == 0).all()
    seen = targets[muct.visible]
    assert seen.min() > 0.0 and seen.max() < 1.0  # the face box holds every visible point

    images, targets = next(iter(make_dataset(cache, image_size=64, batch_size=12, training=True,
                                             seed=3)))
    again = next(iter(make_dataset(cache, image_size=64, batch_size=12, training=True, seed=3)))
    np.testing.assert_array_equal(targets.numpy(), again[1].numpy())
    assert float(tf.reduce_max(images)) <= 255.0


def test_training_without_augmentation_only_shuffles(data_dir):
    cache = cache_crops(read_muct(data_dir).subset(range(8)), 48, progress=False)
    _, plain = next(iter(make_dataset(cache, image_size=48, batch_size=8, training=False)))
    _, shuffled = next(iter(make_dataset(cache, image_size=48, batch_size=8, training=True,
                                         augment=False, seed=1)))
    order = lambda t: t.numpy()[np.lexsort(t.numpy().T)]  # noqa: E731
    np.testing.assert_array_equal(order(shuffled), order(plain))
    assert not np.array_equal(shuffled.numpy(), plain.numpy())


def test_the_facial_parts_cover_each_markup_once_and_mirror_onto_themselves():
    from landmarks.datasets import FACE_PARTS, point_spec

    for dataset, points in (("ibug68", None), ("muct", None), ("ibug68", 5)):
        spec = point_spec(dataset, points)
        parts = FACE_PARTS[spec.num_points]
        covered = [i for _, first, last in parts for i in range(first, last + 1)]
        assert covered == list(range(spec.num_points))
        for _, first, last in parts:  # a point's mirror image is of the same part
            members = set(range(first, last + 1))
            assert {spec.flip_permutation[i] for i in members} == members


def test_a_figure_says_which_run_faces_flip_and_boxes_it_shows():
    from landmarks.run import result_title

    assert result_title("r", flip=True) == ("r: validation faces, flip test on, boxes around "
                                            "the true points")
    assert result_title("r", "ibug68_afw", flip=False, boxes="detector") == (
        "r: ibug68_afw faces, flip test off, detector boxes")
