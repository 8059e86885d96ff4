"""Checks of a parameter's value at a library boundary, in the manner of scikit-learn's
``check_scalar``: each raises ``ParameterError`` naming the parameter, the bad value and the
fix. The CLI (``common.cli.run_cli``) shows the parameter as the script's own flag."""

from __future__ import annotations

import math

from common.errors import ParameterError


def check_choice(name: str, value, choices) -> None:
    """``value`` is one of ``choices``."""
    if value not in choices:
        raise ParameterError(name, f"unknown {name} {value!r}; choose one of "
                                   f"{', '.join(map(str, choices))}")


def check_number(name: str, value, *, low=None, high=None, integer: bool = False) -> None:
    """``value`` is a finite number (an integer where ``integer``) within [low, high]."""
    kind = "an integer" if integer else "a number"
    if isinstance(value, bool) or not isinstance(value, int | float) or (
            integer and not isinstance(value, int)) or not math.isfinite(value):
        raise ParameterError(name, f"{name} must be {kind}, got {value!r}")
    if (low is not None and value < low) or (high is not None and value > high):
        bounds = f"[{'-inf' if low is None else low}, {'inf' if high is None else high}]"
        raise ParameterError(name, f"{name} must be in {bounds}, got {value}")
