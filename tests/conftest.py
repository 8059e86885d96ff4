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
