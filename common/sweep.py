"""Running a grid of configurations (resumable, optionally in parallel) and summarizing it."""

from __future__ import annotations

import multiprocessing
import sys
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

import pandas as pd

from common.runs import METRICS_FILE, is_complete, read_json


def run_configs(run_fn, configs: list[dict], jobs: int = 1) -> None:
    """Call ``run_fn(config)`` for every config whose run folder (``config['out']``) is incomplete.

    Complete folders (with metrics.json) are skipped, so an interrupted sweep resumes when run
    again. ``jobs > 1`` uses that many worker processes (spawned: TensorFlow does not survive fork).
    """
    pending = [c for c in configs if not is_complete(c["out"])]
    done = len(configs) - len(pending)
    if done:
        print(f"skipping {done} complete run(s) of {len(configs)}", file=sys.stderr)
    if jobs == 1:
        for i, config in enumerate(pending, 1):
            print(f"[{i}/{len(pending)}] {config['out']}", file=sys.stderr)
            run_fn(config)
        return
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
        futures = {pool.submit(run_fn, c): c["out"] for c in pending}
        for i, future in enumerate(as_completed(futures), 1):
            future.result()  # re-raises a worker's error here
            print(f"[{i}/{len(pending)}] done {futures[future]}", file=sys.stderr)


def collect(run_dirs) -> pd.DataFrame:
    """One row per complete run: its config (without versions) and its metrics."""
    rows = []
    for run_dir in map(Path, run_dirs):
        if not (run_dir / METRICS_FILE).exists():
            continue
        config = read_json(run_dir / "config.json")
        config.pop("versions", None)
        rows.append({**config, **read_json(run_dir / METRICS_FILE), "run_dir": str(run_dir)})
    return pd.DataFrame(rows)


def aggregate(frame: pd.DataFrame, by: list[str], metrics: list[str]) -> pd.DataFrame:
    """Mean of each metric per group, a ``<metric>_std`` twin (sample std) and a ``seeds`` count."""
    grouped = frame.groupby(by, sort=False)
    table = grouped[metrics].mean()
    for name in metrics:
        table[f"{name}_std"] = grouped[name].std(ddof=1).fillna(0.0)
    table.insert(0, "seeds", grouped.size())
    return table.reset_index()


def mean_std(table: pd.DataFrame, name: str, digits: int = 3) -> pd.Series:
    """Text ``mean ± std`` (or just the mean for single-seed rows) of an aggregated metric."""
    mean, std = table[name], table.get(f"{name}_std", 0.0 * table[name])
    return [
        f"{m:.{digits}f}" if n == 1 else f"{m:.{digits}f} ± {s:.{digits}f}"
        for m, s, n in zip(mean, std, table["seeds"])
    ]
