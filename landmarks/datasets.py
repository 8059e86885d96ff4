"""The landmark data sets: their readers and one registry of what each one is.

Every reader returns a LandmarkSet (image paths, pixel points [N, K, 2], visibility [N, K],
subject ids for person-disjoint splits, and a report of what was left out and why). Points are
in the continuous pixel coordinates of ``landmarks.geometry`` (the top-left corner of the image
is (0, 0), the first pixel's centre (0.5, 0.5)): each reader converts its file's convention.

MUCT (76 points): ``muct/muct76-opencv.csv`` (``name,tag,x00,y00,...,x75,y75``) and
``muct/jpg/<name>.jpg``. A point at exactly (0, 0) is "not visible". Rows whose image is absent
(MUCT's mirrored ``ir…`` rows, or images not downloaded) are left out and counted.

300-W / iBUG (68 points): ``ibug_68/<subset>/*.jpg`` with a ``.pts`` beside each one, with or
without the ``version: 1`` / ``n_points: 68`` / ``{ … }`` header.
"""

from __future__ import annotations

import csv
import dataclasses
import os
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from common.data import data_root
from common.errors import UserError
from common.validation import check_choice
from landmarks.formats import (
    IBUG_POINTS,
    MUCT_ORIGIN,
    PTS_ORIGIN,
    from_file_convention,
    read_pts,
)

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")


@dataclass
class LandmarkSet:
    paths: list[str]
    points: np.ndarray  # float32 [N, K, 2], pixels, (x, y)
    visible: np.ndarray  # bool [N, K]
    subjects: list[str]  # one id per image; images of one subject never straddle a split
    dataset: str = "ibug68"  # key of DATASETS: flip permutation, normalizing points, licence
    skipped: list[dict] = field(default_factory=list)  # {"item", "reason"} of each bad item
    left_out: dict = field(default_factory=dict)  # counts of items left out that are not errors
    five: bool = False  # the 5 derived points (five_points) rather than the full markup

    def __len__(self) -> int:
        return len(self.paths)

    @property
    def spec(self) -> DatasetSpec:
        return point_spec(self.dataset, 5 if self.five else None)

    def subset(self, rows) -> LandmarkSet:
        rows = np.asarray(rows, dtype=int)
        return LandmarkSet(
            [self.paths[i] for i in rows], self.points[rows], self.visible[rows],
            [self.subjects[i] for i in rows], self.dataset, five=self.five,
        )

    def report(self) -> list[str]:
        """One line per kind of item left out, for the user and the run folder."""
        lines = [f"{count} {what} left out" for what, count in self.left_out.items() if count]
        if self.skipped:
            lines.append(f"{len(self.skipped)} bad item(s) skipped (skip_bad); first: "
                         f"{self.skipped[0]['item']}: {self.skipped[0]['reason']}")
        return lines


class _BadInput:
    """Raise on the first bad item, or (skip_bad) record it as skipped."""

    def __init__(self, skip_bad: bool):
        self.skip_bad, self.skipped = skip_bad, []

    def __call__(self, item, reason: str) -> None:
        if not self.skip_bad:
            raise UserError(f"{item}: {reason} (or skip bad items)", param="skip_bad")
        self.skipped.append({"item": str(item), "reason": reason})


def check_image(path: Path, bad: _BadInput) -> bool:
    """Decode the pixels (a header check misses truncated files); report a bad image."""
    try:
        with Image.open(path) as image:
            image.load()
        return True
    except Exception as exc:  # PIL raises many types for truncated or foreign files
        bad(path, f"unreadable image ({type(exc).__name__}: {exc})")
        return False


# ---------------------------------------------------------------------------------------- MUCT
MUCT_POINTS = 76
# Derived from MUCT's own mirrored rows: ir-row point j == i-row point MUCT_FLIP[j] with
# x -> 479 - x (max error 0.1 px over all 3,755 pairs; tests/test_landmarks_data.py re-checks).
MUCT_FLIP = [
    14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0,        # jaw 0-14
    21, 22, 23, 24, 25, 26, 15, 16, 17, 18, 19, 20,          # eyebrows 15-26
    32, 33, 34, 35, 36, 27, 28, 29, 30, 31,                  # eyes 27-36 (31, 36 = pupils)
    45, 44, 43, 42, 41, 40, 39, 38, 37, 47, 46,              # nose 37-47
    54, 53, 52, 51, 50, 49, 48, 59, 58, 57, 56, 55,          # outer lip 48-59
    62, 61, 60, 65, 64, 63, 66, 67,                          # inner lip 60-67
    72, 73, 74, 75, 68, 69, 70, 71,                          # extra eye points 68-75
]
MUCT_PUPILS = (31, 36)  # the pupils: centroid of eye contours 27-30 and 32-35 (checked in tests)
# The homework's 5 points: eye centres (mean of each eye's contour), nose tip, mouth corners.
# MUCT's nose tip is 67 (41 is the point under the nose, between the nostrils 46 and 47).
MUCT_FIVE = ((27, 28, 29, 30), (32, 33, 34, 35), (67,), (48,), (54,))
MUCT_SOURCE = ("MUCT: https://github.com/StephenMilborrow/muct (muct-landmarks-v1.tar.gz and "
               "muct-{a,b,c,d,e}-jpg-v1.tar.gz; put muct76-opencv.csv and jpg/ under "
               "<data root>/muct/)")


def muct_subject(name: str) -> str:
    """``i012qa-mn`` → ``012``: the three digits after the first letter."""
    return name[1:4]


def read_muct(data_dir=None, subsets=None, *, skip_bad: bool = False) -> LandmarkSet:
    """MUCT's rows whose image is present (``subsets`` is unused: MUCT is one folder)."""
    root = data_root(data_dir) / "muct"
    csv_path = root / "muct76-opencv.csv"
    if not csv_path.exists():
        raise UserError(f"{csv_path} not found; get it from {MUCT_SOURCE}")
    images_dir = Path(os.path.abspath(root / "jpg"))  # not resolved: jpg/ may be a link
    inside = images_dir.resolve()
    bad = _BadInput(skip_bad)
    expected = 2 + 2 * MUCT_POINTS
    paths, points, subjects, missing_images = [], [], [], 0
    with open(csv_path, newline="", encoding="utf-8", errors="replace") as f:
        for line, fields in enumerate(csv.reader(f), start=1):
            if line == 1:
                if fields[:3] != ["name", "tag", "x00"]:
                    raise UserError(f"{csv_path}, line 1: expected header name,tag,x00,y00,...")
                continue
            where = f"{csv_path}, line {line}"
            if len(fields) != expected:
                bad(where, f"{len(fields)} columns, expected {expected}")
                continue
            try:
                xy = np.array(fields[2:], dtype=np.float32).reshape(MUCT_POINTS, 2)
            except ValueError:
                bad(where, "a coordinate is not a number")
                continue
            if not np.isfinite(xy).all():
                bad(where, "a coordinate is not finite")
                continue
            image = images_dir / f"{fields[0]}.jpg"
            if not image.resolve().is_relative_to(inside) or len(image.parts) != len(
                    images_dir.parts) + 1:
                bad(where, f"image name {fields[0]!r} points outside {images_dir}")
                continue
            if not image.exists():
                missing_images += 1
                continue
            if check_image(image, bad):
                paths.append(str(image))
                points.append(xy)
                subjects.append(muct_subject(fields[0]))
    if not paths:
        raise UserError(f"no MUCT image of {csv_path} found in {images_dir}; get them from "
                        f"{MUCT_SOURCE}")
    points = np.stack(points)
    visible = (points != 0).any(axis=-1)
    points = np.where(visible[..., None], from_file_convention(points, MUCT_ORIGIN), 0.0)
    return LandmarkSet(paths, points.astype(np.float32), visible, subjects, "muct", bad.skipped,
                       {"MUCT rows without an image in jpg/": missing_images})


# ---------------------------------------------------------------------------------- 300-W/iBUG
DEFAULT_IBUG_SUBSETS = ("afw", "helen_train", "lfpw_train")
IBUG_FLIP = [
    *range(16, -1, -1),                                      # jaw 0-16
    *range(26, 16, -1),                                      # eyebrows 17-26
    27, 28, 29, 30, 35, 34, 33, 32, 31,                      # nose 27-35
    45, 44, 43, 42, 47, 46, 39, 38, 37, 36, 41, 40,          # eyes 36-47
    54, 53, 52, 51, 50, 49, 48, 59, 58, 57, 56, 55,          # outer lip 48-59
    64, 63, 62, 61, 60, 67, 66, 65,                          # inner lip 60-67
]
IBUG_OUTER_EYE_CORNERS = (36, 45)
IBUG_FIVE = (tuple(range(36, 42)), tuple(range(42, 48)), (30,), (48,), (54,))
IBUG_SOURCE = ("300-W: https://ibug.doc.ic.ac.uk/resources/300-W/ (put each subset's .jpg/.pts "
               "under <data root>/ibug_68/<subset>/)")
_FACE_OF_PHOTO = re.compile(r"(.+)_(\d{1,2})")
# Photos that one data set holds twice under different names (LFPW's film stills and posters),
# as `folder/stem` pairs: each pair is one photo, kept on one side of a split.
NEAR_DUPLICATES = Path(__file__).with_name("near_duplicates.tsv")


def photo_of(subset: str, stem: str) -> str:
    """The photo a face comes from, keyed by folder (stems repeat across folders): AFW and Helen
    name faces ``<photo id>_<face>``; LFPW's ``image_0001`` is one face of one photo."""
    match = _FACE_OF_PHOTO.fullmatch(stem)
    return f"{subset}/{match.group(1) if match else stem}"


def near_duplicate_pairs(path=NEAR_DUPLICATES) -> list[tuple[str, str]]:
    """The ``a``/``b`` columns of a near-duplicates TSV (``folder/stem`` each)."""
    with open(path, newline="", encoding="utf-8") as f:
        return [(row["a"], row["b"]) for row in csv.DictReader(f, delimiter="\t")]


def group_near_duplicates(subjects: list[str], pairs) -> list[str]:
    """``subjects`` with the photos of each near-duplicate pair (transitively) merged into one
    subject, named by its smallest member, so a split keeps each pair on one side."""
    parent = {s: s for s in subjects}

    def root(s):
        while parent[s] != s:
            parent[s] = parent[parent[s]]
            s = parent[s]
        return s

    for a, b in pairs:
        if a in parent and b in parent:
            ra, rb = sorted((root(a), root(b)))
            parent[rb] = ra
    return [root(s) for s in subjects]


def read_ibug68(data_dir=None, subsets=DEFAULT_IBUG_SUBSETS, *, skip_bad: bool = False):
    root = data_root(data_dir) / "ibug_68"
    bad = _BadInput(skip_bad)
    paths, points, subjects, unannotated = [], [], [], 0
    for subset in subsets:
        folder = root / subset
        if not folder.is_dir():
            raise UserError(f"{folder} not found; get it from {IBUG_SOURCE}")
        for pts in sorted(folder.glob("*.pts")):
            image = next((pts.with_suffix(s) for s in IMAGE_SUFFIXES
                          if pts.with_suffix(s).exists()), None)
            if image is None:
                bad(pts, f"no image beside it ({'/'.join(IMAGE_SUFFIXES)})")
                continue
            try:
                xy = read_pts(pts)
            except UserError as exc:
                bad(pts, str(exc).removeprefix(f"{pts}").lstrip(":, "))
                continue
            if check_image(image, bad):
                paths.append(str(image))
                points.append(from_file_convention(xy, PTS_ORIGIN))
                subjects.append(photo_of(subset, pts.stem))
        unannotated += sum(1 for f in folder.iterdir() if f.suffix.lower() in IMAGE_SUFFIXES
                           and not f.with_suffix(".pts").exists())
    if not paths:
        raise UserError(f"no .pts/.jpg pairs in {root} for subsets {', '.join(subsets)}")
    points = np.stack(points)
    subjects = group_near_duplicates(subjects, near_duplicate_pairs())
    return LandmarkSet(paths, points, np.ones(points.shape[:2], bool), subjects, "ibug68",
                       bad.skipped, {"images without a .pts beside them": unannotated})


# -------------------------------------------------------------------------------- the registry
@dataclass(frozen=True)
class DatasetSpec:
    reader: Callable[..., LandmarkSet]  # (data_dir, subsets, *, skip_bad) → LandmarkSet
    num_points: int
    flip_permutation: list[int]  # index of each point's mirror image
    eye_points: tuple[int, int]  # the two points whose distance normalizes the error (NME)
    show_faces: bool  # may figures show its faces? (MUCT's licence: no)
    default_subsets: tuple[str, ...]
    source: str
    five_point_sources: tuple[tuple[int, ...], ...]  # the points each of the 5 points averages

    def five_point_spec(self) -> DatasetSpec:
        """The spec of the 5 derived points: image-left eye, image-right eye, nose tip, left and
        right mouth corner; a flip swaps the eyes and the corners; NME divides by the distance
        between the eye centres."""
        return dataclasses.replace(self, num_points=5, flip_permutation=FIVE_FLIP,
                                   eye_points=(0, 1))


FIVE_FLIP = [1, 0, 2, 4, 3]


DATASETS = {
    "ibug68": DatasetSpec(read_ibug68, IBUG_POINTS, IBUG_FLIP, IBUG_OUTER_EYE_CORNERS, True,
                          DEFAULT_IBUG_SUBSETS, IBUG_SOURCE, IBUG_FIVE),
    "muct": DatasetSpec(read_muct, MUCT_POINTS, MUCT_FLIP, MUCT_PUPILS, False, (), MUCT_SOURCE,
                        MUCT_FIVE),
}
POINT_COUNTS = (5, IBUG_POINTS, MUCT_POINTS)
# The facial parts of each markup, as (name, first point, last point): the flip tables' groups.
FACE_PARTS = {
    IBUG_POINTS: (("jaw", 0, 16), ("brows", 17, 26), ("nose", 27, 35), ("eyes", 36, 47),
                  ("outer lip", 48, 59), ("inner lip", 60, 67)),
    MUCT_POINTS: (("jaw", 0, 14), ("brows", 15, 26), ("eyes", 27, 36), ("nose", 37, 47),
                  ("outer lip", 48, 59), ("inner lip", 60, 67), ("eyes, extra", 68, 75)),
    5: (("eyes", 0, 1), ("nose", 2, 2), ("mouth", 3, 4)),
}


def point_spec(dataset: str, points: int | None = None) -> DatasetSpec:
    """The spec of ``dataset`` with its own markup, or of its 5 derived points (``points=5``)."""
    spec = DATASETS[dataset]
    return spec.five_point_spec() if points == 5 else spec


def five_points(data: LandmarkSet) -> LandmarkSet:
    """The same faces with the 5 derived points; a derived point is visible when all of its
    source points are."""
    sources = data.spec.five_point_sources
    points = np.stack([data.points[:, list(group)].mean(axis=1) for group in sources], axis=1)
    visible = np.stack([data.visible[:, list(group)].all(axis=1) for group in sources], axis=1)
    points[~visible] = 0
    return dataclasses.replace(data, points=points.astype(np.float32), visible=visible,
                               five=True)


def select_points(data: LandmarkSet, count: int | None) -> LandmarkSet:
    """``data`` with its full markup (``count`` None or the data set's own) or the 5 points."""
    if count in (None, data.spec.num_points):
        return data
    if count != 5:
        raise UserError(f"{data.dataset} has {data.spec.num_points} points; points takes "
                        f"{data.spec.num_points} or 5")
    return five_points(data)


def read_dataset(name: str, data_dir=None, subsets=None, *, skip_bad=False) -> LandmarkSet:
    check_choice("dataset", name, DATASETS)
    spec = DATASETS[name]
    data = spec.reader(data_dir, tuple(subsets or spec.default_subsets), skip_bad=skip_bad)
    for line in data.report():
        print(f"{name}: {line}", file=sys.stderr)
    return data


def split_by_subject(subjects: list[str], *, val_fraction: float, seed: int):
    """Train / validation row indices with no subject on both sides."""
    from sklearn.model_selection import GroupShuffleSplit

    if len(set(subjects)) < 2:
        raise UserError(f"only {len(set(subjects))} subject(s): a person-disjoint validation "
                        "split needs at least two; add more images")
    splitter = GroupShuffleSplit(n_splits=1, test_size=val_fraction, random_state=seed)
    train, val = next(splitter.split(np.zeros(len(subjects)), groups=subjects))
    return np.sort(train), np.sort(val)


def load_split(config: dict) -> tuple[LandmarkSet, LandmarkSet]:
    """A run's data set, read and split by subject: (train, validation)."""
    subsets = config["subsets"].split(",") if config.get("subsets") else None
    data = read_dataset(config["dataset"], config.get("data_dir"), subsets,
                        skip_bad=config.get("skip_bad", False))
    data = select_points(data, config.get("points"))
    train_rows, val_rows = split_by_subject(data.subjects, val_fraction=config["val_fraction"],
                                            seed=config["seed"])
    train, val = data.subset(train_rows), data.subset(val_rows)
    train.skipped, train.left_out = data.skipped, data.left_out  # the report travels with train
    return train, val


def relative_paths(data: LandmarkSet, data_dir=None) -> list[str]:
    """The images' paths relative to the data root (what split.json records: no machine path)."""
    root = os.path.abspath(data_root(data_dir))  # links are kept: a subset may be a link
    return [Path(os.path.relpath(os.path.abspath(p), root)).as_posix() for p in data.paths]


def recorded_split(config: dict, split: dict, name: str = "val") -> LandmarkSet:
    """The faces a run's split.json lists under ``name``, read from the data root in use."""
    subsets = config["subsets"].split(",") if config.get("subsets") else None
    data = read_dataset(config["dataset"], config.get("data_dir"), subsets,
                        skip_bad=config.get("skip_bad", False))
    data = select_points(data, config.get("points"))
    index = {p: i for i, p in enumerate(relative_paths(data, config.get("data_dir")))}
    wanted = split.get(name)
    if not isinstance(wanted, list) or not all(isinstance(p, str) for p in wanted):
        raise UserError(f"split.json: '{name}' is not a list of image paths; the run folder is "
                        "damaged: train it again")
    missing = [p for p in wanted if p not in index]
    if missing:
        raise UserError(f"{len(missing)} of the run's {len(wanted)} {name} images are not in "
                        f"the data root (first: {missing[0]}); point data_dir at the data "
                        "the run was trained on", param="data_dir")
    return data.subset([index[p] for p in wanted])
