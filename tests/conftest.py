import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared" / "data"


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The real data sets: $EXPERIMENTS_DATA_DIR, else ../shared/data next to the repository."""
    root = Path(os.environ.get("EXPERIMENTS_DATA_DIR") or SHARED)
    if not root.exists():
        pytest.skip(f"real data not found at {root}; set EXPERIMENTS_DATA_DIR")
    return root


def copy_afw_faces(root: Path, data_dir: Path, count: int, subset: str = "afw") -> Path:
    """The first ``count`` real AFW faces (.jpg and .pts) copied into ``root/ibug_68/<subset>``
    (a small data root for one test); returns that folder."""
    import shutil

    folder = root / "ibug_68" / subset
    folder.mkdir(parents=True)
    for pts in sorted((data_dir / "ibug_68" / "afw").glob("*.pts"))[:count]:
        shutil.copy(pts, folder)
        shutil.copy(pts.with_suffix(".jpg"), folder)
    return folder


@pytest.fixture(scope="session")
def synthetic_ibug(tmp_path_factory) -> Path:
    """A data root with ``ibug_68/afw``: 24 generated faces (noise, a drawn oval and its 68
    points in the 300-W format), so the landmark pipeline is tested where the real data is not."""
    import numpy as np
    from PIL import Image, ImageDraw

    root = tmp_path_factory.mktemp("synthetic")
    folder = root / "ibug_68" / "afw"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    angles = np.linspace(0, 2 * np.pi, 68, endpoint=False)
    template = np.stack([np.cos(angles), np.sin(angles) * 1.2], axis=1)
    template[36], template[45] = (-0.45, -0.3), (0.45, -0.3)  # outer eye corners
    for i in range(24):
        size = int(rng.integers(100, 140))
        image = rng.integers(0, 255, (size, size, 3), dtype=np.uint8)
        centre, scale = rng.uniform(0.4, 0.6, 2) * size, rng.uniform(0.2, 0.3) * size
        points = centre + template * scale + rng.normal(0, 1.0, template.shape)
        picture = Image.fromarray(image)
        ImageDraw.Draw(picture).ellipse([*(centre - scale), *(centre + scale)], outline="white")
        picture.save(folder / f"{1000 + i // 2}_{i % 2 + 1}.jpg", quality=90)
        body = "\n".join(f"{x:.2f} {y:.2f}" for x, y in points)
        (folder / f"{1000 + i // 2}_{i % 2 + 1}.pts").write_text(
            f"version: 1\nn_points: 68\n{{\n{body}\n}}\n")
    return root


def phone_csv(path, rows=60, extra_field=False, value=None):
    """A small phone CSV in Kaggle's format (random features, the four classes in turn), with
    one field too many in row 2 or ``value`` in row 5's first column where asked."""
    import numpy as np

    from phone_price.data import FEATURES

    rng = np.random.default_rng(0)
    lines = [",".join(FEATURES + ["price_range"])]
    for i in range(rows):
        cells = [str(int(v)) for v in rng.integers(0, 100, len(FEATURES))] + [str(i % 4)]
        if value is not None and i == 3:
            cells[0] = value
        if extra_field:
            cells = ["7", *cells]
        lines.append(",".join(cells))
    path.write_text("\n".join(lines) + "\n")
    return path
