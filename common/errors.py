"""The one error a user sees: a problem with their input, data, files or settings, told in one
line (what, where, how to fix), never a traceback. Library layers name the value at fault; the
CLI layer (``common.cli.run_cli``) prints it and sets the exit status."""

from __future__ import annotations


class UserError(Exception):
    """A one-line, user-facing error. ``exit_code``: the status the CLI exits with (2: bad
    input, the argparse convention; 1: the program ran but produced nothing). ``param``: the
    parameter at fault, by its library name (``heatmap_stride``); the CLI shows it as the
    calling script's own flag, where it has one. Library messages never name flags."""

    def __init__(self, message: str, *, exit_code: int = 2, param: str | None = None):
        super().__init__(message)
        self.exit_code = exit_code
        self.param = param


class ParameterError(UserError, ValueError):
    """A bad value of a named parameter (also a ValueError, as scikit-learn's checks raise)."""

    def __init__(self, param: str, message: str):
        super().__init__(message, param=param)


def describe_error(exc: BaseException) -> str:
    """``Type: first line of the message`` (or the type alone), for a one-line failure report."""
    text = str(exc).splitlines()[0] if str(exc) else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
