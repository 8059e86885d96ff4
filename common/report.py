"""Regenerate every results table of the README pages from the files under results/.

    python -m common.report            # rewrite the pages' generated blocks in place
    python -m common.report --check    # exit 1 if a page and results/ disagree

The pages are README.md (the front page) and each experiment's README.md (PAGES).

A generated block sits between ``<!-- report:NAME -->`` and ``<!-- /report:NAME -->``; NAME is
a key of ``blocks()``: this module's shared blocks (benchmarks, the suite's time) and each
experiment's ``<experiment>/report.py`` BLOCKS, built with the table helpers here. Nothing
between the markers is typed by hand, and the test suite fails when the README is out of date.
The report modules read result files only; they import no training code.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from pathlib import Path

import pandas as pd

from common.files import write_text
from common.paths import REPO_ROOT

RESULTS = REPO_ROOT / "results"
README = REPO_ROOT / "README.md"
PAGES = [README, *(REPO_ROOT / folder / "README.md"
                   for folder in ("phone_price", "reuters_losses", "landmarks", "benchmarks"))]
MARKER = re.compile(r"(<!-- report:(?P<name>[\w-]+) -->\n)(?P<body>.*?)"
                    r"(<!-- /report:(?P=name) -->)", re.DOTALL)


def source_line(summary_md: Path, text: str) -> str:
    """``From [summary.md](…) (`the command line it names`):``."""
    command = re.search(r"Produced by `([^`]+)`", text)
    where = summary_md.relative_to(REPO_ROOT)
    return f"From [`{where}`]({where})" + (f" (`{command.group(1)}`):" if command else ":")


def first_table(summary_md: Path) -> str:
    """The first markdown table of a summary.md, and the command line it names."""
    text = summary_md.read_text()
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("|"))
    end = next((i for i in range(start, len(lines)) if not lines[i].startswith("|")), len(lines))
    return source_line(summary_md, text) + "\n\n" + "\n".join(lines[start:end])


def table_rows(summary_md: Path, keep) -> str:
    """The rows of a summary.md's first table whose first two cells satisfy ``keep``."""
    lines = first_table(summary_md).split("\n\n", 1)[1].splitlines()
    cells = [[c.strip() for c in line.strip("|").split("|")] for line in lines[2:]]
    kept = [line for line, row in zip(lines[2:], cells) if keep(row[0], row[1])]
    return "\n".join(lines[:2] + kept)


def all_tables(summary_md: Path) -> str:
    """Every ``## section`` of a summary.md (its first paragraph and its table), and the
    command line it names."""
    text = summary_md.read_text()
    parts = [source_line(summary_md, text)]
    for section in text.split("\n## ")[1:]:
        title, body = section.split("\n", 1)
        paragraphs = [block.strip() for block in body.split("\n\n") if block.strip()]
        intro = next(b for b in paragraphs if not b.startswith("|"))
        table = next(b for b in paragraphs if b.startswith("|"))
        parts.append(f"**{title}.** {intro}\n\n{table}")
    return "\n\n".join(parts)


def mean_std_text(mean, std, seeds, digits=3) -> str:
    if pd.isna(mean):
        return "n/a"
    return f"{mean:.{digits}f}" if seeds == 1 else f"{mean:.{digits}f} ± {std:.{digits}f}"


def sweep_grid(folders: dict[str, Path], metric: str) -> str:
    """One row per activation / loss pair, one column per sweep folder: ``metric`` (mean ± std)."""
    columns, commands = {}, []
    for label, folder in folders.items():
        table = pd.read_csv(folder / "summary.csv")
        pair = table["activation"] + " + " + table["loss"]
        std = table.get(f"{metric}_std", 0.0 * table[metric])
        columns[label] = dict(zip(pair, [mean_std_text(m, s, n) for m, s, n in
                                         zip(table[metric], std, table["seeds"])]))
        command = re.search(r"Produced by `([^`]+)`", (folder / "summary.md").read_text())
        commands.append(f"[`{command.group(1)}`]({folder.relative_to(REPO_ROOT)}/summary.md)")
    order = list(pd.read_csv(next(iter(folders.values())) / "summary.csv").pipe(
        lambda t: t["activation"] + " + " + t["loss"]))  # the first sweep's ranking
    frame = pd.DataFrame({"pair": order, **{k: [v.get(p, "") for p in order]
                                            for k, v in columns.items()}})
    return frame.to_markdown(index=False) + "\n\nFrom " + ", ".join(commands) + "."


def run_rows(runs: dict[str, Path], metrics: dict[str, str], percent=()) -> str:
    """One row per run folder: the named metrics of its metrics.json."""
    rows = []
    for label, run in runs.items():
        saved = json.loads((run / "metrics.json").read_text())
        row = {"": label}
        for key, title in metrics.items():
            value = saved.get(key)
            row[title] = "n/a" if value is None else (f"{100 * value:.2f}%" if key in percent
                                                      else f"{value:.3f}")
        rows.append(row)
    return pd.DataFrame(rows).to_markdown(index=False)


def benchmarks() -> str:
    """The figures every benchmarks/*.py run saved under results/benchmarks/."""
    rows = []
    for path in sorted((RESULTS / "benchmarks").glob("*.json")):
        saved = json.loads(path.read_text())
        rows.append({"command": f"`{saved['command']}`", "figure": saved["summary"],
                     "measured": saved["date"]})
    return pd.DataFrame(rows).to_markdown(index=False)


def suite_time() -> str:
    """The test suite's measured time (benchmarks/test_suite.py), fast tier included."""
    lines = []
    for name in ("test_suite", "test_suite_fast"):
        path = RESULTS / "benchmarks" / f"{name}.json"
        if path.exists():
            saved = json.loads(path.read_text())
            lines.append(f"- `{saved['command']}`: {saved['summary']} (measured "
                         f"{saved['date']})")
    return "Test time, measured:\n\n" + "\n".join(lines) if lines else \
        "Test time: not measured yet (`python benchmarks/test_suite.py`)."


def benchmark_line(path: Path) -> str:
    """One benchmark's summary, with its command and date."""
    saved = json.loads(path.read_text())
    return f"`{saved['command']}` ({saved['date']}): {saved['summary']}."


# The experiments whose <experiment>/report.py offers BLOCKS (its pages' generated blocks) and
# SINGLE_RUNS (its run folders that are results of their own, and their commands).
EXPERIMENTS = ("phone_price", "reuters_losses", "landmarks")


def experiment_reports() -> list:
    import importlib

    return [importlib.import_module(f"{name}.report") for name in EXPERIMENTS]


def blocks() -> dict:
    """Every generated block: the shared ones and each experiment's."""
    found = {"benchmarks": benchmarks, "suite": suite_time}
    for report in experiment_reports():
        found.update(report.BLOCKS)
    return found


def render(text: str, page: Path = README) -> str:
    """``text`` (the page ``page``) with every generated block rebuilt from results/; links to
    results/ are made relative to the page."""
    prefix = Path(os.path.relpath(RESULTS, page.parent)).as_posix() + "/"

    generators = blocks()

    def rebuild(match):
        name = match.group("name")
        if name not in generators:
            raise KeyError(f"README block {name!r} has no generator (common/report.py or an "
                           "experiment's report.py)")
        body = generators[name]().replace("](results/", f"]({prefix}")
        return f"{match.group(1)}{body}\n{match.group(4)}"

    return MARKER.sub(rebuild, text)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, allow_abbrev=False,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--check", action="store_true", help="only check; exit 1 when out of date")
    args = p.parse_args(argv)
    stale = []
    for page in (p for p in PAGES if p.exists()):
        text = page.read_text()
        fresh = render(text, page)
        if fresh == text:
            continue
        if args.check:
            stale.append(page)
        else:
            write_text(page, fresh)
            print(f"regenerated {page.relative_to(REPO_ROOT)}")
    if stale:
        print(f"out of date: {', '.join(str(p.relative_to(REPO_ROOT)) for p in stale)}; run "
              "python -m common.report", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
