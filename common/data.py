"""Where the data lives, and fetching a file with its checksum verified before it is opened.

The data root is ``--data-dir``, else the environment variable ``EXPERIMENTS_DATA_DIR``, else
``data/`` at the repository root. A file missing there is downloaded from its public source with
``keras.utils.get_file`` when a network exists; either way its sha256 must match before any
reader opens it (``reuters.npz`` needs pickle, so an unchecked file is never loaded).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from common.errors import UserError
from common.paths import REPO_ROOT

ENV_VAR = "EXPERIMENTS_DATA_DIR"
DEFAULT_DATA_DIR = REPO_ROOT / "data"


def data_root(data_dir: str | os.PathLike | None = None) -> Path:
    """The data root: the argument, else $EXPERIMENTS_DATA_DIR, else ``data/`` in the repository."""
    if data_dir:
        return Path(data_dir).expanduser()
    if os.environ.get(ENV_VAR):
        return Path(os.environ[ENV_VAR]).expanduser()
    return DEFAULT_DATA_DIR


def sha256_of(path: str | os.PathLike) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verify_sha256(path: Path, expected: str) -> Path:
    actual = sha256_of(path)
    if actual != expected:
        raise UserError(
            f"{path} has sha256 {actual[:12]}…, expected {expected[:12]}…: the file is corrupt "
            f"or not the published one; delete it and run again to download a fresh copy."
        )
    return path


def fetch(relpath: str, url: str | None, sha256: str | None, data_dir=None) -> Path:
    """Return ``<data root>/<relpath>``, downloading it from ``url`` if it is missing.

    The sha256 is checked before the path is returned, so callers only ever open verified files.
    Without a network (or without a public URL) this fails with one line naming what is missing,
    where it looked and where to get it.
    """
    root = data_root(data_dir)
    path = root / relpath
    if not path.exists():
        if url is None:
            raise UserError(
                f"{relpath} not found under the data root {root} (data_dir, else ${ENV_VAR}, "
                f"else data/); see data/README.md for where to get it.", param="data_dir"
            )
        _download(url, path, sha256, root)
    if sha256:
        verify_sha256(path, sha256)
    return path


def _download(url: str, path: Path, sha256: str | None, root: Path) -> None:
    import keras  # imported here so that reading local files never pays for TensorFlow

    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        keras.utils.get_file(
            fname=path.name,
            origin=url,
            file_hash=sha256,
            hash_algorithm="sha256",
            cache_dir=str(path.parent),
            cache_subdir="",
        )
    except Exception as exc:  # get_file raises bare Exception/ValueError (network, hash)
        path.unlink(missing_ok=True)  # a download whose hash did not match is never left behind
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise UserError(
            f"{path.relative_to(root) if path.is_relative_to(root) else path} is missing under "
            f"{root} and could not be downloaded from {url} ({reason}); download it by hand into "
            f"{path.parent}, or point data_dir (or ${ENV_VAR}) at a folder that has it.",
            param="data_dir",
        ) from exc
