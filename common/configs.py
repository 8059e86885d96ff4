"""Configurations as data: each experiment's settings are one frozen dataclass (its
``config.py``), built by its train.py from flags, by its sweeps with ``dataclasses.replace``.

A field that says where a run goes or how it is shown or carried out (``out``, ``data_dir``,
``quiet``, ``overwrite``) is declared with ``place()``: it is not part of the run's identity, so
two runs that differ only there are the same run. ``record`` is what config.json holds: every
field, plus ``harmless_keys`` (the non-identity fields, the list older run folders carry too).
"""

from __future__ import annotations

import dataclasses
from typing import Any

IDENTITY = "identity"


def place(default: Any = None) -> Any:
    """A dataclass field that is not part of a run's identity."""
    return dataclasses.field(default=default, metadata={IDENTITY: False})


def non_identity(config) -> list[str]:
    """The names of ``config``'s fields declared with ``place()``."""
    return sorted(f.name for f in dataclasses.fields(config) if not f.metadata.get(IDENTITY, True))


def record(config) -> dict:
    """The config as a plain dict (what config.json holds, before the package versions)."""
    if isinstance(config, dict):
        return config
    plain = dataclasses.asdict(config)
    return {**{k: list(v) if isinstance(v, tuple) else v for k, v in plain.items()},
            "harmless_keys": non_identity(config)}


def from_flags(base, namespace) -> Any:
    """``base`` with every flag of ``namespace`` that is a field of it and was given (not None)."""
    names = {f.name for f in dataclasses.fields(base)}
    given = {k: v for k, v in vars(namespace).items() if k in names and v is not None}
    return dataclasses.replace(base, **given)


def out_of(config) -> str:
    """The run folder of a config (a dataclass, or a plain dict with an ``out`` key)."""
    return config["out"] if isinstance(config, dict) else config.out


def with_changes(config, **changes):
    """``config`` with ``changes`` (``dataclasses.replace``, or a merged copy of a dict)."""
    if isinstance(config, dict):
        return {**config, **changes}
    return dataclasses.replace(config, **changes)
