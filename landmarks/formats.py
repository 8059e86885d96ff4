"""The files of landmark work and their pixel conventions, in one place: images (read as RGB
uint8), 300-W's ``.pts`` files, and where each format puts the first pixel's centre.

Inside the package every point is in the continuous pixel coordinates of ``landmarks.geometry``
(the image's top-left corner is (0, 0), the first pixel's centre (0.5, 0.5)); a reader converts
its file's convention on the way in, a writer on the way out.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
from PIL import Image

from common.errors import UserError

IBUG_POINTS = 68
# The coordinate each format gives the centre of the first pixel: 300-W's .pts are 1-based (as
# menpo and the 300-W Matlab tools read them); MUCT's CSV is 0-based (its mirrored rows are
# x → 479 − x on 480-px-wide images).
PTS_ORIGIN = 1.0
MUCT_ORIGIN = 0.0
# predict.py's predictions.csv gives 0-based pixel indices; matplotlib's imshow puts pixel
# centres at integers too (an overlay draws points there).
CSV_ORIGIN = 0.0
IMSHOW_ORIGIN = 0.0


def from_file_convention(points: np.ndarray, origin: float) -> np.ndarray:
    """A format's coordinates (first pixel's centre at ``origin``) → continuous pixels."""
    return (np.asarray(points, np.float32) + np.float32(0.5 - origin)).astype(np.float32)


def to_file_convention(points: np.ndarray, origin: float) -> np.ndarray:
    """The inverse of ``from_file_convention``."""
    return (np.asarray(points, np.float32) - np.float32(0.5 - origin)).astype(np.float32)


def read_image(path, *, orient: bool = False) -> np.ndarray:
    """RGB uint8 [H, W, 3] of an image file. 16-bit images are scaled to 8 bits (not clipped);
    ``orient``: apply the EXIF orientation (a phone photo stored turned), so the pixels are in
    the frame a viewer shows. The data sets' annotations are in the stored frame: not oriented."""
    from PIL import ImageOps

    with Image.open(path) as image:
        if orient:
            image = ImageOps.exif_transpose(image)
        if image.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
            gray = np.asarray(image, np.float64)
            peak = 65535.0 if image.mode.startswith("I;16") or gray.max() > 255 else 255.0
            gray = np.clip(np.round(gray * (255.0 / peak)), 0, 255).astype(np.uint8)
            return np.repeat(gray[..., None], 3, axis=-1)
        return np.asarray(image.convert("RGB"))


_N_POINTS = re.compile(r"n_points\s*:\s*(\d+)")


def read_pts(path: Path, num_points: int = IBUG_POINTS) -> np.ndarray:
    """Points [num_points, 2] of a .pts file, with or without the version/n_points/{ } header."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise UserError(f"{path}: not a UTF-8 text file; a .pts file is plain text") from None
    rows, declared = [], None
    for line_no, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line in "{}":
            continue
        if line.startswith("version"):
            continue
        if line.startswith("n_points"):
            match = _N_POINTS.fullmatch(line)
            if match is None:
                raise UserError(f"{path}, line {line_no}: expected 'n_points: <number>'; "
                                "is it a .pts file?")
            declared = int(match.group(1))
            continue
        parts = line.split()
        try:
            if len(parts) != 2:
                raise ValueError
            rows.append((float(parts[0]), float(parts[1])))
        except ValueError:
            raise UserError(f"{path}, line {line_no}: expected two numbers 'x y'; is it a .pts "
                            "file?") from None
    if declared is not None and declared != len(rows):
        raise UserError(f"{path}: header says n_points: {declared} but has {len(rows)} points")
    if len(rows) != num_points:
        raise UserError(f"{path}: {len(rows)} points, expected {num_points}")
    points = np.array(rows, dtype=np.float32)
    if not np.isfinite(points).all():
        raise UserError(f"{path}: a coordinate is not finite")
    return points


def write_pts(path, points: np.ndarray) -> None:
    """The 300-W format: ``version: 1``, ``n_points: K``, ``{``, K lines ``x y``, ``}``, of
    continuous-pixel points (written 1-based, as 300-W's own files)."""
    from common.files import write_text

    body = "\n".join(f"{x:.3f} {y:.3f}" for x, y in to_file_convention(points, PTS_ORIGIN))
    write_text(path, f"version: 1\nn_points: {len(points)}\n{{\n{body}\n}}\n")
