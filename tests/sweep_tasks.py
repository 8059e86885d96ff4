"""Sweep tasks for the tests that run a spawned pool. A spawned worker imports the module of the
function it runs: this one imports nothing heavy, so each worker starts in a fraction of a second
(a test module that imports Keras would cost every worker seconds)."""

import os
from pathlib import Path


def dies_once(config):
    """A sweep task whose worker process dies the first time (as under kill -9)."""
    marker = Path(config["out"]) / "died"
    if config.get("die") and not marker.exists():
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.write_text("x")
        os._exit(1)
    Path(config["out"]).mkdir(parents=True, exist_ok=True)
    (Path(config["out"]) / "ran").write_text("x")
