"""Rerun every command behind the committed results, skipping what is complete.

    python -m common.reproduce --dry-run     # the commands, in order, with the time each took
    python -m common.reproduce               # run them (each skips its complete run folders)
    python -m common.reproduce --only landmarks

The commands are the ones the results name: each summary.md's "Produced by" line, each single
run folder's command (the shipped models: each experiment's report.SINGLE_RUNS), and each
benchmark's recorded command. The
expected time is the training time the committed run folders recorded (timing.json), summed
over the folders under each summary: a guide on a 2-core CPU, not a promise. ``--overwrite`` and
``--table-only`` in a recorded command are dropped (a rerun of a complete folder is a skip, not
a retraining; an ablation trains its missing rows).
"""

from __future__ import annotations

import argparse
import json
import re
import shlex
import subprocess
import sys
from pathlib import Path

from common.paths import REPO_ROOT

RESULTS = REPO_ROOT / "results"
def train_seconds(folder: Path) -> tuple[float, int]:
    """(training seconds the run folders under ``folder`` recorded, how many run folders did
    not record theirs: runs trained before timing.json was kept)."""
    total, untimed = 0.0, 0
    for metrics in folder.rglob("metrics.json"):
        try:
            total += float(json.loads((metrics.parent / "timing.json").read_text())
                           ["train_seconds"])
        except (OSError, ValueError, KeyError, TypeError):
            untimed += 1
    return total, untimed


def expected_time(seconds: float, untimed: int) -> str:
    """What a dry run can say of a command's training time when nothing is complete."""
    timed = ("" if not seconds else "under a minute of training" if seconds < 60
             else f"~{seconds / 60:.0f} min of training")
    if not untimed:
        return timed or "no training"
    return f"{timed + ' + ' if timed else ''}{untimed} run(s) whose time was not recorded"


def commands() -> list[tuple[str, str, tuple[float, int]]]:
    """(area, command, ``train_seconds`` of its folders) of every committed result, in a
    sensible order."""
    from common.report import experiment_reports

    found = []
    single = {k: v for report in experiment_reports() for k, v in report.SINGLE_RUNS.items()}
    for folder, command in single.items():
        found.append((folder.split("/")[0], command, train_seconds(RESULTS / folder)))
    for summary in sorted(RESULTS.rglob("summary.md")):
        match = re.search(r"Produced by `([^`]+)`", summary.read_text())
        if match:
            command = " ".join(w for w in shlex.split(match.group(1))
                               if w not in ("--overwrite", "--table-only"))
            area = summary.relative_to(RESULTS).parts[0]
            found.append((area, command, train_seconds(summary.parent)))
    for benchmark in sorted((RESULTS / "benchmarks").glob("*.json")):
        command = json.loads(benchmark.read_text())["command"]
        found.append(("benchmarks", command, (0.0, 0)))
    unique, seen = [], set()
    for entry in found:
        if entry[1] not in seen:
            seen.add(entry[1])
            unique.append(entry)
    return unique


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, allow_abbrev=False,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--dry-run", action="store_true", help="list the commands, run nothing")
    p.add_argument("--only", nargs="+", default=None,
                   help="areas to rerun: landmarks, phone_price, reuters_losses, benchmarks")
    args = p.parse_args(argv)
    todo = [c for c in commands() if args.only is None or c[0] in args.only]
    for area, command, seconds in todo:
        print(f"[{area}] {command}    ({expected_time(*seconds)} when nothing is complete)")
    if args.dry_run:
        return
    for _, command, _ in todo:
        print(f"$ {command}", flush=True)
        done = subprocess.run([sys.executable, *shlex.split(command)[1:]], cwd=REPO_ROOT)
        if done.returncode != 0:
            sys.exit(f"error: `{command}` failed (exit {done.returncode}); fix it and run "
                     "python -m common.reproduce again (complete runs are skipped)")


if __name__ == "__main__":
    main()
