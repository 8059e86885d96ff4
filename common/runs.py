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
# Keys that say how a run is carried out or shown, not what it computes, are declared by the
# functions that add their flags (``declare_harmless``); a config carries its list as
# ``harmless_keys``. Configs recorded before that carry none: these were their harmless keys.
RECORDED_BEFORE = frozenset({"quiet", "out", "data_dir", "overwrite", "jobs", "backend",
                             "address", "cpus_per_run", "gpus_per_run"})
# ``decode`` is an action of reuters_losses/train.py (print wires and exit) that older configs
# recorded; it never changed a run.
ALWAYS_HARMLESS = frozenset({"versions", "harmless_keys", "decode"})


def declare_harmless(parser, *keys: str) -> None:
    """Mark the flags ``keys`` of ``parser`` as not changing a run's result (they say where it
    goes, how it is shown or carried out): the parsed config lists them in ``harmless_keys``."""
    known = list(parser.get_default("harmless_keys") or [])
    parser.set_defaults(harmless_keys=sorted({*known, *keys}))


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


def model_bytes(model) -> int:
    """About what saving ``model`` with its optimizer writes: its variables' bytes, and 1 MB of
    file structure."""
    import numpy as np

    variables = list(model.variables)
    if getattr(model, "optimizer", None) is not None:
        variables += list(model.optimizer.variables)
    return 2**20 + sum(int(np.prod(v.shape)) * np.dtype(v.dtype).itemsize for v in variables)


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
                        "damaged: restore it, or make it again with the tool that wrote it") \
            from exc


def read_kept(path, identity: dict) -> list | None:
    """The rows kept at ``path`` (``{"identity": …, "rows": […]}``, as ``write_json`` wrote
    them) if they were made from ``identity``; None when absent or made from something else."""
    if not Path(path).exists():
        return None
    kept = read_json(path)
    return kept["rows"] if kept.get("identity") == identity else None


def code_version() -> dict:
    """The git commit of the code that ran, and whether the tree had uncommitted changes
    (both None outside a git checkout)."""
    import subprocess

    from common.paths import REPO_ROOT as repo

    def git(*args):
        return subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True,
                              timeout=10, check=True).stdout.strip()

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


def harmless_keys(*configs: dict) -> frozenset:
    """The keys that any of ``configs`` declares harmless (see ``declare_harmless``)."""
    keys = set(ALWAYS_HARMLESS)
    for config in configs:
        keys |= set(config.get("harmless_keys") or RECORDED_BEFORE)
    return frozenset(keys)


def comparable(config: dict, harmless=None) -> dict:
    """The part of a config that decides the results: JSON round-tripped, harmless keys dropped,
    and keys set to None (an option not in use: a config recorded before the option existed
    says the same by not having it)."""
    plain = json.loads(json.dumps(_finite(config), default=_to_builtin))
    harmless = harmless_keys(plain) if harmless is None else harmless
    return {k: v for k, v in plain.items() if k not in harmless and v is not None}


def config_differences(recorded: dict, requested: dict) -> list[str]:
    """``key: old → new`` for every setting that differs (harmless keys ignored)."""
    harmless = harmless_keys(recorded, requested)
    old, new = comparable(recorded, harmless), comparable(requested, harmless)
    return [f"{k}: {old.get(k, '(unset)')} → {new.get(k, '(unset)')}"
            for k in sorted(old.keys() | new.keys()) if old.get(k) != new.get(k)]


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


def lock_run_folder(run_dir: Path) -> None:
    """Hold an OS lock on the run folder for the rest of this process; a second process that
    asks for the same folder is refused with one line (the lock goes when the process ends)."""
    import fcntl

    key = run_dir.resolve()
    if key in _held_locks:
        return
    fd = os.open(run_dir / LOCK_FILE, os.O_RDWR | os.O_CREAT, file_mode())
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        raise UserError(f"another process is running in {run_dir}; wait for it to finish, or "
                        "choose another output folder", param="out") from None
    _held_locks[key] = fd


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
    lock_run_folder(run_dir)
    state = run_state(run_dir, config)
    if state == "different" and not overwrite:
        refuse_different(run_dir, config)
    if overwrite:
        clear_run_folder(run_dir)
    elif state == "new":
        refuse_non_empty(run_dir)
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


def saved_model_path(run_dir: str | Path, trainer: str) -> Path:
    """``<run>/model.keras``, checked against the ``model.keras.sha256`` beside it where the run
    has one (a shipped model always does), or a UserError saying what is wrong."""
    path = Path(run_dir) / "model.keras"
    if not path.is_file():
        raise UserError(f"{run_dir} has no model.keras; train first with {trainer}")
    check_model_hash(path)
    return path


def recorded_sha256(path: Path) -> str | None:
    """The hash that ``<path>.sha256`` (``sha256sum`` format) records for ``path``, or None
    where there is no such file; a UserError where it is not in that format."""
    record = path.with_name(path.name + ".sha256")
    if not record.exists():
        return None
    try:
        digest, name = record.read_text(encoding="ascii").split()
    except (OSError, ValueError):
        raise UserError(f"{record} is not one '<sha256>  <file name>' line; it is "
                        "damaged") from None
    if name.lstrip("*") != path.name or len(digest) != 64:
        raise UserError(f"{record} does not record the sha256 of {path.name}; it is damaged")
    return digest.lower()


def check_model_hash(path: Path) -> str | None:
    """Refuse a model whose bytes are not those its ``.sha256`` records (edited, re-zipped,
    swapped, or the record changed); the verified hash, or None where there is no record."""
    from common.data import sha256_of

    expected = recorded_sha256(path)
    if expected is not None and sha256_of(path) != expected:
        raise UserError(f"{path} does not match its {path.name}.sha256 (the model or the record "
                        "was changed): restore both from the repository, or train the run again")
    return expected


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
