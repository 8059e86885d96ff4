"""Files written whole or not at all, with ordinary permissions, and read back with one line
for a damaged one: JSON (finite numbers only), text, CSV; a free-space check before large writes.
"""

from __future__ import annotations

import errno
import json
import math
import os
import tempfile
from pathlib import Path

import numpy as np

from common.errors import UserError


def file_mode() -> int:
    """The mode a plain ``open(path, "w")`` would give: 0666 less the umask."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def check_free_space(folder, needed: int, what: str) -> None:
    """One line before a large write that the disk cannot hold: h5py and TensorFlow, out of
    space mid-write, give tracebacks (h5py even a segmentation fault)."""
    import shutil

    folder = Path(folder)
    while not folder.exists():
        folder = folder.parent
    free = shutil.disk_usage(folder).free
    if free < needed:
        raise UserError(f"{folder} has {free / 1e6:.1f} MB free, and {what} needs about "
                        f"{needed / 1e6:.1f} MB; free some space and run again (a training run "
                        "resumes from its last backup)", exit_code=1)


def atomic_path(path: Path, write) -> None:
    """Call ``write(tmp_path)``, then rename the temporary file onto ``path`` (same folder)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=f"-{path.name}")
    os.close(fd)
    try:
        write(Path(tmp))
        os.chmod(tmp, file_mode())  # mkstemp makes 0600; everything a run writes is alike
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            raise UserError(f"{path.parent} is full: {path.name} was not written; free some "
                            "space and run again", exit_code=1) from None
        raise
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _atomic_write(path: Path, write) -> None:
    def to_file(tmp: Path) -> None:
        with open(tmp, "w", newline="") as f:
            write(f)

    atomic_path(Path(path), to_file)


def _to_builtin(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"cannot write {type(value).__name__} to JSON")


def _finite(obj):
    """NaN and ±inf become None (JSON ``null``): json.dump would write the invalid ``NaN``."""
    if isinstance(obj, float | np.floating):
        return float(obj) if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_finite(v) for v in obj]
    return obj


def write_json(path, obj) -> None:
    """Write ``obj`` as indented, valid JSON (non-finite numbers as null), whole or not at all."""
    text = json.dumps(_finite(obj), indent=2, default=_to_builtin, allow_nan=False)
    _atomic_write(Path(path), lambda f: f.write(text))


def write_text(path, text: str) -> None:
    _atomic_write(Path(path), lambda f: f.write(text))


def write_csv(path, frame) -> None:
    """Write a pandas DataFrame without its index, whole or not at all."""
    _atomic_write(Path(path), lambda f: frame.to_csv(f, index=False))


def read_json(path) -> dict:
    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError) as exc:  # UnicodeDecodeError, JSONDecodeError are ValueErrors
        raise UserError(f"{path} cannot be read as JSON ({type(exc).__name__}); it is "
                        "damaged: restore it, or make it again with the tool that wrote it") \
            from exc


def read_kept(path, identity: dict) -> list | None:
    """The rows kept at ``path`` (``{"identity": …, "rows": […]}``, as ``write_json`` wrote
    them) if they were made from ``identity``; None when absent or made from something else."""
    if not Path(path).exists():
        return None
    kept = read_json(path)
    return kept["rows"] if kept.get("identity") == identity else None
