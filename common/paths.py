"""The repository's own folders, whatever the working directory: results/ and data/ defaults
are these, so ``python <repo>/phone_price/train.py`` run from anywhere writes to the same place."""

from __future__ import annotations

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


def repo_path(*parts: str) -> Path:
    """``<repository>/<parts...>``, an absolute path."""
    return REPO_ROOT.joinpath(*parts)


def shown(path) -> str:
    """``path`` relative to the repository where it lies inside it (for messages and records:
    no machine path), else as given."""
    path = Path(path)
    try:
        return path.resolve().relative_to(REPO_ROOT).as_posix()
    except ValueError:
        return str(path)
