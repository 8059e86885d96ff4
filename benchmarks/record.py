"""Where a benchmark's figures go: results/benchmarks/<name>.json, with its command and date."""

from __future__ import annotations

import datetime
import sys
from pathlib import Path

from common.cli import command_line
from common.files import write_json
from common.paths import REPO_ROOT


def record_benchmark(name: str, summary: str, figures: dict, command: str | None = None) -> None:
    """Save a benchmark's figures (and the command, default this process's, and the date) for
    the README's table."""
    script = Path(sys.argv[0]).resolve()
    shown = script.relative_to(REPO_ROOT) if script.is_relative_to(REPO_ROOT) else script.name
    write_json(REPO_ROOT / "results" / "benchmarks" / f"{name}.json", {
        "command": command or command_line(str(shown)), "summary": summary, "figures": figures,
        "date": datetime.date.today().isoformat(),
    })
