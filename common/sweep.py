"""Running a grid of configurations (resumable, in local processes or on Ray) and summarizing it.

Every configuration (an experiment's config dataclass, see ``common.configs``) is one
``run_fn(config)`` call that writes its own run folder (``config.out``). A folder is skipped
only when it is complete *and* its recorded config equals the requested one; a folder holding
other settings is refused before anything runs (or replaced, with ``overwrite``). A
configuration that fails is reported and the others go on.
"""

from __future__ import annotations

import argparse
import multiprocessing
import sys
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

import pandas as pd

from common.cli import number_in, positive_int
from common.configs import out_of, record, with_changes
from common.errors import UserError, describe_error
from common.files import read_json
from common.identity import declare_harmless
from common.runs import METRICS_FILE, refuse_different, run_state

BACKENDS = ("local", "ray")


def add_sweep_flags(parser: argparse.ArgumentParser) -> None:
    """``--jobs --overwrite --backend --address --cpus-per-run --gpus-per-run``."""
    parser.add_argument("--jobs", type=positive_int, default=1,
                        help="local backend: configurations run at once in worker processes")
    parser.add_argument("--overwrite", action="store_true",
                        help="rerun folders that hold other settings (else they are refused)")
    parser.add_argument("--backend", choices=BACKENDS, default="local",
                        help="local processes, or Ray tasks (pip install -r requirements-ray.txt)"
                             "; with several Ray nodes --out must be storage every node sees "
                             "(NFS or a mounted bucket)")
    parser.add_argument("--address", default="auto",
                        help="ray: cluster address; auto = a running cluster, else a local Ray "
                             "started for this sweep")
    parser.add_argument("--cpus-per-run", type=number_in(float, 0, low_open=True), default=1.0,
                        help="ray: CPUs each configuration reserves")
    parser.add_argument("--gpus-per-run", type=number_in(float, 0), default=0.0,
                        help="ray: GPUs each configuration reserves")
    declare_harmless(parser, "jobs", "overwrite", "backend", "address", "cpus_per_run",
                     "gpus_per_run")


def plan(configs: list[dict], *, overwrite: bool = False) -> list[dict]:
    """The configurations still to run; complete ones are skipped, mismatches refused."""
    pending = []
    for config in configs:
        state = run_state(out_of(config), record(config))
        if state == "complete":
            continue
        if state == "different" and not overwrite:
            refuse_different(out_of(config), record(config))
        pending.append(with_changes(config, overwrite=state == "different"))
    done = len(configs) - len(pending)
    if done:
        print(f"skipping {done} complete run(s) of {len(configs)}", file=sys.stderr)
    return pending


def run_local(run_fn, pending: list[dict], jobs: int) -> dict[str, str]:
    """Run in this process (jobs=1) or a spawned pool; ``{out: error}`` of the failed ones."""
    failures = {}
    if jobs == 1:
        for i, config in enumerate(pending, 1):
            out = out_of(config)
            print(f"[{i}/{len(pending)}] {out}", file=sys.stderr)
            try:
                run_fn(config)
            except Exception as exc:  # one bad configuration must not stop the others
                failures[out] = describe_error(exc)
                print(f"failed: {out}: {failures[out]}", file=sys.stderr)
        return failures
    context = multiprocessing.get_context("spawn")  # TensorFlow does not survive fork
    for attempt in range(2):  # a worker that dies breaks the pool: one fresh pool for the rest
        broken = []
        with ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
            futures = {pool.submit(run_fn, c): c for c in pending}
            try:
                for i, future in enumerate(as_completed(futures), 1):
                    config = futures[future]
                    out, error = out_of(config), future.exception()
                    if isinstance(error, BrokenProcessPool) and attempt == 0:
                        broken.append(config)
                    elif error is not None:
                        failures[out] = describe_error(error)
                        print(f"[{i}/{len(pending)}] failed {out}: {failures[out]}",
                              file=sys.stderr)
                    else:
                        print(f"[{i}/{len(pending)}] done {out}", file=sys.stderr)
            except KeyboardInterrupt:
                pool.shutdown(wait=False, cancel_futures=True)
                raise
        if not broken:
            break
        print(f"a worker process died; running the {len(broken)} configuration(s) it took "
              "down again (each resumes from its backup)", file=sys.stderr)
        pending = broken
    return failures


def run_configs(run_fn, configs: list[dict], *, jobs: int = 1, overwrite: bool = False,
                backend: str = "local", address: str = "auto", cpus_per_run: float = 1.0,
                gpus_per_run: float = 0.0) -> dict[str, str]:
    """Run every configuration that is not complete; returns ``{out: error}`` of the failures."""
    pending = plan(configs, overwrite=overwrite)
    if not pending:
        return {}
    if backend == "ray":
        from common.sweep_ray import run_ray

        failures = run_ray(run_fn, pending, address=address, cpus_per_run=cpus_per_run,
                           gpus_per_run=gpus_per_run)
    else:
        failures = run_local(run_fn, pending, jobs)
    if failures:
        print(f"{len(failures)} of {len(pending)} configuration(s) failed:", file=sys.stderr)
        for out, error in failures.items():
            print(f"  {out}: {error}", file=sys.stderr)
    return failures


def run_grid(run_fn, grid: list[dict], args) -> tuple[pd.DataFrame, dict[str, str]]:
    """``run_configs`` with a sweep's parsed flags, then ``collect`` of the complete folders;
    stops with the first failure when nothing at all completed."""
    failures = run_configs(run_fn, grid, **sweep_kwargs(args))
    runs = collect(out_of(c) for c in grid)
    if runs.empty:
        raise_if_failed(failures, len(grid))
    return runs, failures


def sweep_kwargs(args) -> dict:
    """The run_configs keywords from parsed ``add_sweep_flags`` flags."""
    return {k: getattr(args, k) for k in
            ("jobs", "overwrite", "backend", "address", "cpus_per_run", "gpus_per_run")}


def raise_if_failed(failures: dict[str, str], total: int) -> None:
    """After the summary of what did finish: a non-zero exit naming the first failure."""
    if failures:
        out, error = next(iter(failures.items()))
        rest = (f"the summary covers the {total - len(failures)} that finished"
                if len(failures) < total else "no summary was written")
        raise UserError(f"{len(failures)} of {total} configuration(s) failed (first: {out}: "
                        f"{error}); {rest}")


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


def mean_std(table: pd.DataFrame, name: str, digits: int = 3) -> list[str]:
    """Text ``mean ± std`` (or just the mean for single-seed rows) of an aggregated metric."""
    mean, std = table[name], table.get(f"{name}_std", 0.0 * table[name])
    return [
        "n/a" if pd.isna(m) else f"{m:.{digits}f}" if n == 1 else f"{m:.{digits}f} ± {s:.{digits}f}"
        for m, s, n in zip(mean, std, table["seeds"])
    ]

