"""A run's ``model.keras``: loaded with its sha256 checked first and Keras' safe mode (no Lambda
layer runs), one line, not a traceback, for a file that is missing, changed, truncated or
foreign; and about how many bytes saving one writes."""

from __future__ import annotations

from pathlib import Path

from common.errors import UserError


def load_run_model(run_dir: str | Path, trainer: str, *, compile: bool = True):
    """The Keras model of ``run_dir`` (a run written by ``trainer``)."""
    import keras

    path = saved_model_path(run_dir, trainer)
    try:
        return keras.models.load_model(path, compile=compile, safe_mode=True)
    except Exception as exc:  # Keras raises many types for a truncated or foreign file
        raise UserError(f"{path} cannot be loaded ({type(exc).__name__}); it is damaged or "
                        f"not a model of {trainer}: train the run again") from exc


def model_bytes(model) -> int:
    """About what saving ``model`` with its optimizer writes: its variables' bytes, and 1 MB of
    file structure."""
    import numpy as np

    variables = list(model.variables)
    if getattr(model, "optimizer", None) is not None:
        variables += list(model.optimizer.variables)
    return 2**20 + sum(int(np.prod(v.shape)) * np.dtype(v.dtype).itemsize for v in variables)


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
