"""Run folders: atomic files with ordinary permissions, config checks, and the completion mark.

A run folder holds ``config.json``, ``history.csv``, ``metrics.json``, figures, ``tensorboard/``
and ``model.keras``. ``metrics.json`` is written last and removed first: its presence, beside a
``config.json`` equal to the requested one, is what marks a complete run.
"""

from __future__ import annotations

import json
import math
import os
import platform
import shutil
import sys
import tempfile
from importlib import metadata
from pathlib import Path

import numpy as np

from common.errors import UserError

METRICS_FILE = "metrics.json"
CONFIG_FILE = "config.json"
PACKAGES = ("tensorflow", "keras", "numpy", "pandas", "scikit-learn", "matplotlib", "pillow")
# Keys that say how a run is carried out or shown, not what it computes.
HARMLESS_KEYS = frozenset({"versions", "quiet", "out", "data_dir", "overwrite", "jobs",
                           "backend", "address", "cpus_per_run", "gpus_per_run"})  # fmt: skip


def file_mode() -> int:
    """The mode a plain ``open(path, "w")`` would give: 0666 less the umask."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def atomic_path(path: Path, write) -> None:
    """Call ``write(tmp_path)``, then rename the temporary file onto ``path`` (same folder)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=f"-{path.name}")
    os.close(fd)
    try:
        write(Path(tmp))
        os.chmod(tmp, file_mode())  # mkstemp makes 0600; everything a run writes is alike
        os.replace(tmp, path)
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
                        "damaged: rerun with --overwrite to start again") from exc  # fmt: skip


def code_version() -> dict:
    """The git commit of the code that ran, and whether the tree had uncommitted changes
    (both None outside a git checkout)."""
    import subprocess

    repo = Path(__file__).resolve().parent.parent

    def git(*args):
        return subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True,
                              timeout=10, check=True).stdout.strip()  # fmt: skip

    try:
        commit = git("rev-parse", "HEAD")
        dirty = bool(git("status", "--porcelain", "--untracked-files=no"))
    except (OSError, subprocess.SubprocessError):
        return {"git_commit": None, "git_dirty": None}
    return {"git_commit": commit, "git_dirty": dirty}


def package_versions() -> dict:
    versions = {"python": sys.version.split()[0], "platform": platform.platform(),
                **code_version()}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def comparable(config: dict) -> dict:
    """The part of a config that decides the results: JSON round-tripped, harmless keys dropped."""
    plain = json.loads(json.dumps(_finite(config), default=_to_builtin))
    return {k: v for k, v in plain.items() if k not in HARMLESS_KEYS}


def config_differences(recorded: dict, requested: dict) -> list[str]:
    """``key: old → new`` for every setting that differs (harmless keys ignored)."""
    old, new = comparable(recorded), comparable(requested)
    return [f"{k}: {old.get(k, '(unset)')} → {new.get(k, '(unset)')}"
            for k in sorted(old.keys() | new.keys()) if old.get(k) != new.get(k)]  # fmt: skip


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
    raise UserError(f"{run_dir} holds a run with other settings ({shown}); choose another --out, "
                    "or pass --overwrite to delete it and start again")  # fmt: skip


def check_writable_folder(path) -> Path:
    """``path`` as a folder this process can write into, or a one-line UserError."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise UserError(f"--out {path} is a file, not a folder; choose a folder path")
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = tempfile.NamedTemporaryFile(dir=path, prefix=".write-test-")
        probe.close()
    except OSError as exc:
        raise UserError(f"cannot write to {path} ({exc.strerror or exc}); choose another --out "
                        "or fix the folder's permissions") from exc  # fmt: skip
    return path


def start_run(out, config: dict, *, overwrite: bool = False) -> Path:
    """Open the run folder for ``config``: refuse one that holds another run, invalidate old
    metrics, and write ``config.json`` (every flag, the seed, package versions).

    The same config resumes (the backup, if any, is kept); ``overwrite`` deletes the folder first.
    """
    run_dir = check_writable_folder(out)
    state = run_state(run_dir, config)
    if state == "different" and not overwrite:
        refuse_different(run_dir, config)
    if overwrite and any(run_dir.iterdir()):
        shutil.rmtree(run_dir)
        run_dir.mkdir(parents=True)
    (run_dir / METRICS_FILE).unlink(missing_ok=True)  # from here on, the folder is incomplete
    write_json(run_dir / CONFIG_FILE, {**config, "versions": package_versions()})
    return run_dir


def saved_model_path(run_dir: str | Path, trainer: str) -> Path:
    """``<run>/model.keras``, or a UserError saying which script trains it."""
    path = Path(run_dir) / "model.keras"
    if not path.exists():
        raise UserError(f"{run_dir} has no model.keras; train first with {trainer}")
    return path


def is_complete(run_dir: str | Path) -> bool:
    return (Path(run_dir) / METRICS_FILE).exists()


def finish_run(run_dir: str | Path, metrics: dict) -> None:
    """Write ``metrics.json``: flat snake_case keys, numbers only (null where a number is not
    finite). Marks the run complete."""
    bad = {k: v for k, v in metrics.items()
           if v is not None and not isinstance(v, int | float | np.number)}  # fmt: skip
    if bad:
        raise TypeError(f"metrics.json holds numbers only; got {bad}")
    plain = {k: None if v is None else float(v) for k, v in metrics.items()}
    write_json(Path(run_dir) / METRICS_FILE, plain)
