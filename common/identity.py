"""A run's identity: the part of its config that decides its results. Two configs that differ
only in harmless keys (where a run goes, how it is shown or carried out) are the same run.
"""

from __future__ import annotations

import json

from common.files import _finite, _to_builtin

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
