"""Readers for the two landmark formats. Both return a LandmarkSet (image paths, pixel points
[N, K, 2], visibility [N, K], subject ids for person-disjoint splits).

MUCT (76 points): ``muct/muct76-opencv.csv`` (``name,tag,x00,y00,...,x75,y75``) and
``muct/jpg/<name>.jpg``. A point at exactly (0, 0) is "not visible". Rows whose image is absent
(MUCT's mirrored ``ir…`` rows, or images not downloaded) are left out and counted.

300-W / iBUG (68 points): ``ibug_68/<subset>/*.jpg`` with a ``.pts`` beside each one, with or
without the ``version: 1`` / ``n_points: 68`` / ``{ … }`` header.
"""

from __future__ import annotations

import csv
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from common.data import DataError, data_root

MUCT_POINTS, IBUG_POINTS = 76, 68
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")
SOURCES = {
    "muct": "MUCT: https://github.com/StephenMilborrow/muct (muct-landmarks-v1.tar.gz and "
    "muct-{a,b,c,d,e}-jpg-v1.tar.gz; put muct76-opencv.csv and jpg/ under <data root>/muct/)",
    "ibug68": "300-W: https://ibug.doc.ic.ac.uk/resources/300-W/ (put each subset's .jpg/.pts "
    "under <data root>/ibug_68/<subset>/)",
}


@dataclass
class LandmarkSet:
    paths: list[str]
    points: np.ndarray  # float32 [N, K, 2], pixels, (x, y)
    visible: np.ndarray  # bool [N, K]
    subjects: list[str]  # one id per image; images of one subject never straddle a split
    flip_permutation: list[int]  # index of each point's mirror image
    eye_points: tuple[int, int]  # the two points whose distance normalizes the error (NME)

    def __len__(self) -> int:
        return len(self.paths)

    def subset(self, rows) -> LandmarkSet:
        rows = np.asarray(rows, dtype=int)
        return LandmarkSet(
            [self.paths[i] for i in rows], self.points[rows], self.visible[rows],
            [self.subjects[i] for i in rows], self.flip_permutation, self.eye_points,
        )  # fmt: skip


class _BadInput:
    """Raise on the first bad item, or (skip_bad) count them and warn once at the end."""

    def __init__(self, skip_bad: bool):
        self.skip_bad, self.skipped = skip_bad, []

    def __call__(self, message: str) -> None:
        if not self.skip_bad:
            raise DataError(f"{message} (or pass --skip-bad to skip bad items)")
        self.skipped.append(message)

    def report(self, what: str) -> None:
        if self.skipped:
            warnings.warn(
                f"skipped {len(self.skipped)} bad {what}; first: {self.skipped[0]}", stacklevel=3
            )


def check_image(path: Path, bad: _BadInput) -> bool:
    try:
        with Image.open(path) as image:
            image.verify()
        return True
    except Exception as exc:  # PIL raises many types for truncated or foreign files
        bad(f"{path}: unreadable image ({type(exc).__name__}: {exc})")
        return False


# ---------------------------------------------------------------------------------------- MUCT
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
]  # fmt: skip
MUCT_PUPILS = (31, 36)  # the pupils: centroid of eye contours 27-30 and 32-35 (checked in tests)


def muct_subject(name: str) -> str:
    """``i012qa-mn`` → ``012``: the three digits after the first letter."""
    return name[1:4]


def read_muct(data_dir=None, skip_bad: bool = False) -> LandmarkSet:
    root = data_root(data_dir) / "muct"
    csv_path = root / "muct76-opencv.csv"
    if not csv_path.exists():
        raise DataError(f"{csv_path} not found; get it from {SOURCES['muct']}")
    bad = _BadInput(skip_bad)
    expected = 2 + 2 * MUCT_POINTS
    paths, points, subjects, missing_images = [], [], [], 0
    with open(csv_path, newline="") as f:
        for line, fields in enumerate(csv.reader(f), start=1):
            if line == 1:
                if fields[:3] != ["name", "tag", "x00"]:
                    raise DataError(f"{csv_path}, line 1: expected header name,tag,x00,y00,...")
                continue
            if len(fields) != expected:
                bad(f"{csv_path}, line {line}: {len(fields)} columns, expected {expected}")
                continue
            try:
                xy = np.array(fields[2:], dtype=np.float32).reshape(MUCT_POINTS, 2)
            except ValueError:
                bad(f"{csv_path}, line {line}: a coordinate is not a number")
                continue
            image = root / "jpg" / f"{fields[0]}.jpg"
            if not image.exists():
                missing_images += 1
                continue
            if check_image(image, bad):
                paths.append(str(image))
                points.append(xy)
                subjects.append(muct_subject(fields[0]))
    bad.report("MUCT rows or images")
    if not paths:
        raise DataError(f"no MUCT image of {csv_path} found in {root / 'jpg'}; get them from "
                        f"{SOURCES['muct']}")  # fmt: skip
    points = np.stack(points)
    return LandmarkSet(paths, points, (points != 0).any(axis=-1), subjects, MUCT_FLIP,
                       MUCT_PUPILS)  # fmt: skip


# ---------------------------------------------------------------------------------- 300-W/iBUG
IBUG_FLIP = [
    *range(16, -1, -1),                                      # jaw 0-16
    *range(26, 16, -1),                                      # eyebrows 17-26
    27, 28, 29, 30, 35, 34, 33, 32, 31,                      # nose 27-35
    45, 44, 43, 42, 47, 46, 39, 38, 37, 36, 41, 40,          # eyes 36-47
    54, 53, 52, 51, 50, 49, 48, 59, 58, 57, 56, 55,          # outer lip 48-59
    64, 63, 62, 61, 60, 67, 66, 65,                          # inner lip 60-67
]  # fmt: skip
IBUG_OUTER_EYE_CORNERS = (36, 45)


def read_pts(path: Path, num_points: int = IBUG_POINTS) -> np.ndarray:
    """Points [num_points, 2] of a .pts file, with or without the version/n_points/{ } header."""
    rows, declared = [], None
    for line_no, raw in enumerate(Path(path).read_text().splitlines(), start=1):
        line = raw.strip()
        if not line or line in "{}":
            continue
        if line.startswith("version"):
            continue
        if line.startswith("n_points"):
            declared = int(line.split(":")[1])
            continue
        parts = line.split()
        try:
            if len(parts) != 2:
                raise ValueError
            rows.append((float(parts[0]), float(parts[1])))
        except ValueError:
            raise DataError(f"{path}, line {line_no}: expected 'x y', got {raw!r}") from None
    if declared is not None and declared != len(rows):
        raise DataError(f"{path}: header says n_points: {declared} but has {len(rows)} points")
    if len(rows) != num_points:
        raise DataError(f"{path}: {len(rows)} points, expected {num_points}")
    return np.array(rows, dtype=np.float32)


def read_ibug68(data_dir=None, subsets=("afw", "helen_train"), skip_bad: bool = False):
    root = data_root(data_dir) / "ibug_68"
    bad = _BadInput(skip_bad)
    paths, points, subjects = [], [], []
    for subset in subsets:
        folder = root / subset
        if not folder.is_dir():
            raise DataError(f"{folder} not found; get it from {SOURCES['ibug68']}")
        for pts in sorted(folder.glob("*.pts")):
            image = next((pts.with_suffix(s) for s in IMAGE_SUFFIXES
                          if pts.with_suffix(s).exists()), None)  # fmt: skip
            if image is None:
                bad(f"{pts}: no image beside it ({'/'.join(IMAGE_SUFFIXES)})")
                continue
            try:
                xy = read_pts(pts)
            except DataError as exc:
                bad(str(exc))
                continue
            if check_image(image, bad):
                paths.append(str(image))
                points.append(xy)
                # AFW/Helen names are <photo id>_<face>: faces of one photo stay together
                subjects.append(f"{subset}/{pts.stem.rsplit('_', 1)[0]}")
    bad.report("300-W files")
    if not paths:
        raise DataError(f"no .pts/.jpg pairs in {root} for subsets {', '.join(subsets)}")
    points = np.stack(points)
    return LandmarkSet(paths, points, np.ones(points.shape[:2], bool), subjects, IBUG_FLIP,
                       IBUG_OUTER_EYE_CORNERS)  # fmt: skip


def read_dataset(name: str, data_dir=None, subsets=None, skip_bad=False) -> LandmarkSet:
    if name == "muct":
        return read_muct(data_dir, skip_bad)
    if name == "ibug68":
        return read_ibug68(data_dir, subsets or ("afw", "helen_train"), skip_bad)
    raise ValueError(f"unknown dataset {name!r}; choose muct or ibug68")


def split_by_subject(subjects: list[str], val_fraction: float, seed: int):
    """Train / validation row indices with no subject on both sides."""
    from sklearn.model_selection import GroupShuffleSplit

    splitter = GroupShuffleSplit(n_splits=1, test_size=val_fraction, random_state=seed)
    train, val = next(splitter.split(np.zeros(len(subjects)), groups=subjects))
    return np.sort(train), np.sort(val)
