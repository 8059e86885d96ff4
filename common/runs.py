"""Run folders: opening one for a config (lock, refusals, overwrite), and the completion mark.

A run folder holds ``config.json``, ``history.csv``, ``metrics.json``, figures, ``tensorboard/``
and ``model.keras``. ``metrics.json`` is written last and removed first: its presence, beside a
``config.json`` equal to the requested one, is what marks a complete run.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np

from common.errors import UserError
from common.files import file_mode, read_json, write_json
from common.identity import config_differences
from common.provenance import package_versions

METRICS_FILE = "metrics.json"
CONFIG_FILE = "config.json"


def run_state(run_dir, config: dict) -> str:
    """``"new"`` (no run there), ``"complete"``, ``"incomplete"`` (same config, no metrics) or
    ``"different"`` (the folder holds a run with other settings)."""
    run_dir = Path(run_dir)
    if not (run_dir / CONFIG_FILE).exists():
        return "new"
    if config_differences(read_json(run_dir / CONFIG_FILE), config):
        return "different"
    return "complete" if (run_dir / METRICS_FILE).exists() else "incomplete"


def refuse_different(run_dir, config: dict) -> None:
    """One line naming the settings that differ and the two ways out."""
    differences = config_differences(read_json(Path(run_dir) / CONFIG_FILE), config)
    shown = "; ".join(differences[:4]) + (" …" if len(differences) > 4 else "")
    raise UserError(f"{run_dir} holds a run with other settings ({shown}); choose another output "
                    "folder, or overwrite it to delete that run and start again", param="out")


def check_writable_folder(path) -> Path:
    """``path`` as a folder this process can write into, or a one-line UserError."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise UserError(f"{path} is a file, not a folder; choose a folder path", param="out")
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = tempfile.NamedTemporaryFile(dir=path, prefix=".write-test-")
        probe.close()
    except OSError as exc:
        raise UserError(f"cannot write to {path} ({exc.strerror or exc}); choose another output "
                        "folder or fix the folder's permissions", param="out") from exc
    return path


# What a run writes into its folder (names and suffixes); ``--overwrite`` deletes only these.
RUN_SUFFIXES = (".json", ".csv", ".png", ".md", ".keras", ".sha256", ".h5", ".npz", ".lock")
RUN_FOLDERS = ("tensorboard", "backup")
LOCK_FILE = ".lock"
_held_locks: dict[Path, int] = {}  # run folders this process holds (fd of each lock file)


def is_run_folder(path: Path) -> bool:
    """Does ``path`` hold a run this project wrote (a config.json with its package versions)?"""
    try:
        return "versions" in json.loads((path / CONFIG_FILE).read_text())
    except (OSError, ValueError, TypeError):
        return False


def _written_by_a_run(entry: Path) -> bool:
    name = entry.name
    if entry.is_symlink():  # a run never makes links: one points at something of the user's
        return False
    if entry.is_dir():
        return name in RUN_FOLDERS or (name.startswith("fold") and is_run_folder(entry))
    return name.endswith(RUN_SUFFIXES) or name.startswith((".tmp-", ".write-test-"))


def check_clearable(run_dir: Path) -> list[Path]:
    """What clearing ``run_dir`` would delete (all of it written by a run), or a UserError
    before anything is touched: a folder that is not a run folder, or that holds anything a
    run does not write (a user's file, a symbolic link), is refused."""
    if not run_dir.is_dir():
        return []
    entries = [e for e in run_dir.iterdir() if e.name != LOCK_FILE]
    if entries and not is_run_folder(run_dir):
        raise UserError(f"overwriting would delete {run_dir}, which is not a run folder (no "
                        f"config.json of a run; it holds {entries[0].name}); choose another "
                        "output folder")
    foreign = [e.name for e in entries if not _written_by_a_run(e)]
    if foreign:
        raise UserError(f"overwriting would delete {run_dir}/{foreign[0]}, which no run writes "
                        "(or is a link); move it away or choose another output folder")
    return entries


def clear_run_folder(run_dir: Path) -> None:
    """Delete what a run wrote in ``run_dir``, and nothing else (``check_clearable`` first)."""
    for entry in check_clearable(run_dir):
        if entry.is_dir():
            shutil.rmtree(entry)
        else:
            entry.unlink()


def refuse_non_empty(run_dir: Path) -> None:
    entries = [e.name for e in run_dir.iterdir() if e.name != LOCK_FILE]
    if entries:
        raise UserError(f"{run_dir} is not empty and holds no run ({entries[0]}); choose a "
                        "new or empty output folder")


def lock_run_folder(run_dir: Path) -> bool:
    """Hold an OS lock on the run folder for the rest of this process; a second process that
    asks for the same folder is refused with one line (the lock goes when the process ends, or
    with ``unlock_run_folder``). True where this call took the lock, False if it was held."""
    import fcntl

    key = run_dir.resolve()
    if key in _held_locks:
        return False
    fd = os.open(run_dir / LOCK_FILE, os.O_RDWR | os.O_CREAT, file_mode())
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        raise UserError(f"another process is running in {run_dir}; wait for it to finish, or "
                        "choose another output folder", param="out") from None
    _held_locks[key] = fd
    return True


def unlock_run_folder(run_dir: Path) -> None:
    """Let go of this process's lock on the run folder (another process may then open it)."""
    fd = _held_locks.pop(run_dir.resolve(), None)
    if fd is not None:
        os.close(fd)


def start_run(out, config: dict, *, overwrite: bool = False) -> Path:
    """Open the run folder for ``config``: lock it, refuse one that holds another run (or files
    that are not a run's), invalidate old metrics, and write ``config.json`` (every flag, the
    seed, package versions, the code's git commit).

    The same config resumes (the backup, if any, is kept); ``overwrite`` deletes what a run wrote
    there first, and refuses to delete anything else.
    """
    existing = Path(out)
    if overwrite:  # refused before the lock: a refusal leaves no trace in the user's folder
        check_clearable(existing)
    elif existing.is_dir() and not (existing / CONFIG_FILE).exists():
        refuse_non_empty(existing)
    run_dir = check_writable_folder(out)
    locked_here = lock_run_folder(run_dir)
    try:
        state = run_state(run_dir, config)
        if state == "different" and not overwrite:
            refuse_different(run_dir, config)
        if overwrite:
            clear_run_folder(run_dir)
        elif state == "new":
            refuse_non_empty(run_dir)
    except UserError:  # a refused library call leaves the folder free for the next try
        if locked_here:
            unlock_run_folder(run_dir)
        raise
    (run_dir / METRICS_FILE).unlink(missing_ok=True)  # from here on, the folder is incomplete
    recorded = {**config, "versions": package_versions()}
    if "out" in recorded:  # where it was written, relative to the repository: no machine path
        from common.paths import shown

        recorded["out"] = shown(recorded["out"])
    write_json(run_dir / CONFIG_FILE, recorded)
    return run_dir


def read_run_config(run_dir, *, trainer: str, kind: str, required: tuple[str, ...]) -> dict:
    """A run folder's config.json, or one line saying the folder is not a run of ``trainer``
    (no config.json, or one without the ``required`` keys of that kind of run)."""
    run_dir = Path(run_dir)
    if not (run_dir / CONFIG_FILE).exists():
        raise UserError(f"{run_dir} is not a run folder (no config.json); give a folder written "
                        f"by {trainer}")
    config = read_json(run_dir / CONFIG_FILE)
    if not all(key in config for key in required):
        raise UserError(f"{run_dir} is not a {kind} run; give a folder written by {trainer}")
    return config


def is_complete(run_dir: str | Path) -> bool:
    return (Path(run_dir) / METRICS_FILE).exists()


def finish_run(run_dir: str | Path, metrics: dict) -> None:
    """Write ``metrics.json``: flat snake_case keys, numbers only (null where a number is not
    finite). Marks the run complete."""
    bad = {k: v for k, v in metrics.items()
           if v is not None and not isinstance(v, int | float | np.number)}
    if bad:
        raise TypeError(f"metrics.json holds numbers only; got {bad}")
    plain = {k: None if v is None else float(v) for k, v in metrics.items()}
    write_json(Path(run_dir) / METRICS_FILE, plain)


@dataclass(frozen=True, eq=False)
class RunFolder:
    """A run folder of one trainer, opened and checked once (``read_run_config``); each
    experiment's run class names its trainer, its kind and the config keys it requires."""

    path: Path
    config: dict
    TRAINER: ClassVar[str] = ""
    KIND: ClassVar[str] = ""
    REQUIRED: ClassVar[tuple[str, ...]] = ()

    @classmethod
    def open(cls, path):
        """The run at ``path``, or one line saying the folder is not a run of this kind."""
        return cls(Path(path), read_run_config(path, trainer=cls.TRAINER, kind=cls.KIND,
                                                required=cls.REQUIRED))

    @property
    def metrics(self) -> dict:
        return read_json(self.path / METRICS_FILE)
