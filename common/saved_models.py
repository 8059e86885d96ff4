"""Loading a run's ``model.keras``: its sha256 checked first, Keras' safe mode (no Lambda layer
runs), and one line, not a traceback, for a file that is missing, changed, truncated or foreign."""

from __future__ import annotations

from pathlib import Path

from common.errors import UserError
from common.runs import saved_model_path


def load_run_model(run_dir: str | Path, trainer: str, *, compile: bool = True):
    """The Keras model of ``run_dir`` (a run written by ``trainer``)."""
    import keras

    path = saved_model_path(run_dir, trainer)
    try:
        return keras.models.load_model(path, compile=compile, safe_mode=True)
    except Exception as exc:  # Keras raises many types for a truncated or foreign file
        raise UserError(f"{path} cannot be loaded ({type(exc).__name__}); it is damaged or "
                        f"not a model of {trainer}: train the run again") from exc
