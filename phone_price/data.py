"""Kaggle "Mobile Price Classification": read, validate and split the CSV files.

``train.csv`` has 20 feature columns and ``price_range`` (0 = low … 3 = very high, 500 rows each);
``test.csv`` has ``id`` and the same 20 features, unlabeled.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from common.data import fetch
from common.errors import UserError

FEATURES = [
    "battery_power", "blue", "clock_speed", "dual_sim", "fc", "four_g", "int_memory", "m_dep",
    "mobile_wt", "n_cores", "pc", "px_height", "px_width", "ram", "sc_h", "sc_w", "talk_time",
    "three_g", "touch_screen", "wifi",
]
LABEL = "price_range"
ID = "id"
CLASSES = ["low", "medium", "high", "very high"]

# Kaggle needs a login, so the loaders fall back to a public byte-identical copy on GitHub.
_SOURCE = (
    "https://raw.githubusercontent.com/huyennguyenthanh/Mobile-Price-Classification/"
    "ccea75ce35b0ad201eb71554f5a34c600bc4a3ac/dataset/"
)
FILES = {
    "train": ("train.csv", "f9e8cd3154b8684a1be0ff401b1fba7750710af6bd076a399c6ce7ceb979c624"),
    "test": ("test.csv", "e929f5999ffeedec84abf53cc8d35faa1bbd7e8ebd61826881aa62562d37adce"),
}


def phone_price_path(which: str = "train", data_dir=None) -> Path:
    """Path of the verified ``phone_price/train.csv`` or ``test.csv``, downloading it if missing."""
    name, sha256 = FILES[which]
    return fetch(f"phone_price/{name}", _SOURCE + name, sha256, data_dir)


def load_labeled(csv=None, data_dir=None) -> tuple[np.ndarray, np.ndarray]:
    """``x, y`` of a user's labeled CSV (validated, never hash-checked), else of the canonical
    Kaggle ``train.csv`` under the data root (hash-checked, downloaded if missing)."""
    path = Path(csv) if csv else phone_price_path("train", data_dir)
    if csv and not path.is_file():
        raise UserError(f"{path} not found; give the path of a CSV in Kaggle's format "
                        f"({', '.join(FEATURES[:3])}, …, {LABEL})", param="csv")
    x, y = features_and_labels(read_phone_csv(path))
    if len(np.unique(y)) < 2:
        raise UserError(f"{path} has only price range {y[0]}; a classifier needs at least two "
                        "classes (its test accuracy would be 1.0 by construction)")
    return x, y


def check_field_counts(path: Path) -> None:
    """UserError naming the first line whose number of fields differs from the header's (pandas
    would silently make an extra first field the index and shift every column)."""
    import csv

    try:
        with open(path, newline="", encoding="utf-8") as f:
            rows = csv.reader(f)
            header = next(rows, None)
            if header is None:
                return  # empty: read_phone_csv says so
            for line, fields in enumerate(rows, start=2):
                if fields and len(fields) != len(header):
                    raise UserError(f"{path}, line {line}: {len(fields)} fields, but the header "
                                    f"has {len(header)}; every row needs one value per column")
    except UnicodeDecodeError:
        raise UserError(f"{path} is not a UTF-8 text file; save it as CSV") from None
    except csv.Error as exc:
        raise UserError(f"{path} is not a valid CSV file ({exc})") from exc


def read_phone_csv(path, *, labeled: bool = True):
    """Read and validate a phone-price CSV.

    Labeled files need exactly the 20 features and ``price_range`` (0..3); unlabeled files need
    ``id`` and the 20 features. Any other column, a missing column, an empty or non-numeric cell,
    or a label outside 0..3 raises UserError naming the column and the (1-based, header = line 1)
    line of the file.
    """
    import pandas as pd

    path = Path(path)
    expected = FEATURES + [LABEL] if labeled else [ID] + FEATURES
    check_field_counts(path)
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, index_col=False)
    except UnicodeDecodeError:
        raise UserError(f"{path} is not a UTF-8 text file; save it as CSV") from None
    except pd.errors.EmptyDataError:
        raise UserError(
            f"{path} is empty; expected a header line with {', '.join(expected)}"
        ) from None
    except pd.errors.ParserError as exc:
        raise UserError(f"{path} is not a valid CSV file ({str(exc).strip()})") from exc
    frame.columns = [c.strip() for c in frame.columns]

    missing = [c for c in expected if c not in frame.columns]
    if missing:
        raise UserError(f"{path}: missing column(s) {', '.join(missing)}; add them to the header")
    unexpected = [c for c in frame.columns if c not in expected]
    if unexpected:
        raise UserError(
            f"{path}: unexpected column(s) {', '.join(unexpected)}; remove them "
            f"(expected exactly {len(expected)} columns: {', '.join(expected)})"
        )
    if frame.empty:
        raise UserError(f"{path} has a header but no data rows")

    numeric = frame[expected].apply(lambda col: pd.to_numeric(col.str.strip(), errors="coerce"))
    bad = numeric.isna()
    if bad.any().any():
        row, col = np.argwhere(bad.to_numpy())[0]
        column = expected[col]
        value = frame[column].iloc[row]
        what = "is empty" if value.strip() == "" else f"is not a number ({value!r})"
        raise UserError(
            f"{path}, line {row + 2}, column {column}: value {what}; every cell must be numeric"
        )
    if labeled:
        labels = numeric[LABEL]
        outside = ~labels.isin([0, 1, 2, 3])
        if outside.any():
            row = int(np.flatnonzero(outside.to_numpy())[0])
            raise UserError(
                f"{path}, line {row + 2}, column {LABEL}: {frame[LABEL].iloc[row]!r} is not a "
                f"price range; labels must be 0, 1, 2 or 3"
            )
        numeric[LABEL] = labels.astype(int)
    else:
        ids = numeric[ID]
        out_of_range = (ids < 0) | (ids > np.iinfo(np.int64).max // 2)
        if out_of_range.any():
            row = int(np.flatnonzero(out_of_range.to_numpy())[0])
            raise UserError(f"{path}, line {row + 2}, column {ID}: {frame[ID].iloc[row]!r} is "
                            "not a valid id; ids must be whole numbers from 0 up")
        not_whole = ids != ids.round()
        if not_whole.any():
            row = int(np.flatnonzero(not_whole.to_numpy())[0])
            raise UserError(f"{path}, line {row + 2}, column {ID}: {frame[ID].iloc[row]!r} is "
                            "not a whole number; ids must be integers")
        repeated = ids.duplicated()
        if repeated.any():
            row = int(np.flatnonzero(repeated.to_numpy())[0])
            raise UserError(f"{path}, line {row + 2}, column {ID}: id {int(ids.iloc[row])} "
                            "appears twice; ids must be unique")
        numeric[ID] = ids.astype(int)
    with np.errstate(over="ignore"):  # the model computes in float32: 1e300 is inf there
        infinite = ~np.isfinite(numeric[FEATURES].to_numpy(np.float64).astype(np.float32))
    if infinite.any():
        row, col = np.argwhere(infinite)[0]
        raise UserError(f"{path}, line {row + 2}, column {FEATURES[col]}: "
                        f"{frame[FEATURES[col]].iloc[row]!r} is not a finite float32 number; "
                        "every feature must be finite and below 3.4e38")
    if labeled:
        numeric = drop_repeated_rows(numeric[expected], path)
    return numeric[expected]


def drop_repeated_rows(frame, path):
    """``frame`` without rows that repeat an earlier row exactly (features and label), said in
    one line: a copy on both sides of a split would score the model on its own training rows."""
    import sys

    repeated = frame.duplicated().to_numpy()
    if repeated.any():
        first = int(np.flatnonzero(repeated)[0])
        print(f"{path}: {int(repeated.sum())} row(s) repeat an earlier row exactly (first: line "
              f"{first + 2}); dropped, so no phone is on both sides of a split", file=sys.stderr)
    return frame[~repeated].reset_index(drop=True)


def features_and_labels(frame) -> tuple[np.ndarray, np.ndarray]:
    """``x`` float32 [N, 20] in the canonical column order and ``y`` int [N] (labeled frames)."""
    return frame[FEATURES].to_numpy(np.float32), frame[LABEL].to_numpy(np.int64)


def split_indices(
    y: np.ndarray, *, seed: int, test_size: float = 0.2, val_size: float = 0.2
) -> dict[str, np.ndarray]:
    """Stratified ``train`` / ``val`` / ``test`` row indices.

    ``test`` is held out first (``test_size`` of all rows); ``val`` is then carved from the rest
    (``val_size`` of the non-test rows), so nothing about the test rows chooses anything.
    """
    from sklearn.model_selection import train_test_split

    rows = np.arange(len(y))
    try:
        dev, test = train_test_split(rows, test_size=test_size, stratify=y, random_state=seed)
        train, val = train_test_split(dev, test_size=val_size, stratify=y[dev], random_state=seed)
    except ValueError as exc:  # too few rows of a class for a stratified split
        raise UserError(f"{len(y)} labeled rows cannot be split into stratified train / "
                        f"validation / test parts ({exc}); give more rows of each class") from exc
    return {"train": np.sort(train), "val": np.sort(val), "test": np.sort(test)}
