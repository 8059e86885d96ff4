"""Regenerate every results table of the README pages from the files under results/.

    python -m common.report            # rewrite the pages' generated blocks in place
    python -m common.report --check    # exit 1 if a page and results/ disagree

The pages are README.md (the front page) and each experiment's README.md (PAGES).

A generated block sits between ``<!-- report:NAME -->`` and ``<!-- /report:NAME -->``; NAME is
a key of BLOCKS. Nothing between the markers is typed by hand, and the test suite fails when the
README is out of date. This module reads result files only; it imports no experiment.
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


def landmark_pool(path: Path) -> str:
    """Two training pools scored on the faces neither trained on (benchmarks/landmarks_pool.py)."""
    saved = json.loads(path.read_text())
    rows = [{"training pool": name, "run": f"`{figures['run'].rsplit('/', 1)[-1]}`",
             "NME, flip test": f"{100 * figures['nme']:.2f}%",
             "failure > 0.08": f"{100 * figures['failure_rate_8']:.2f}%",
             "NME, detector boxes": f"{100 * figures['detector_nme']:.2f}%",
             "NME, detected faces": f"{100 * figures['detected_nme']:.2f}%"}
            for name, figures in saved["figures"].items() if isinstance(figures, dict)]
    return (f"`{saved['command']}` ({saved['figures']['faces']} faces, {saved['date']}):\n\n"
            + pd.DataFrame(rows).to_markdown(index=False))


def landmark_runs() -> dict[str, Path]:
    """Every committed landmark run folder, labelled by its command."""
    runs = {}
    for run in sorted((RESULTS / "landmarks").glob("*/metrics.json")):
        config = json.loads((run.parent / "config.json").read_text())
        label = (f"{config['backbone']}, {config['head']} head, {config['image_size']} px, "
                 f"{config['loss']}")
        runs[label + f" (`{run.parent.name}`)"] = run.parent
    return runs


def landmark_boxes() -> str:
    """Truth boxes against detector boxes, for every run that has been scored both ways (by
    evaluate.py --boxes detector, or by the ablation with the run's own flip test)."""
    rows = []
    for run in sorted((RESULTS / "landmarks").glob("*/metrics.json")):
        run = run.parent
        config = json.loads((run / "config.json").read_text())
        flip = "flip" if config.get("flip_test") else "noflip"
        found = [(run / f"evaluation_{s}.json", s)
                 for s in ("val_detector", f"val_{flip}_detector")]
        found = [(path, split) for path, split in found if path.exists()]
        if not found:
            continue
        path, split = found[0]
        truth = json.loads((run / "metrics.json").read_text())
        detector = json.loads(path.read_text())
        mapping = json.loads((run / "box_mapping.json").read_text())
        rows.append({
            "run": f"`{run.name}`",
            "NME, true-point boxes": f"{100 * truth['val_nme']:.2f}%",
            "failure > 0.08": f"{100 * truth['val_failure_rate_8']:.2f}%",
            f"{mapping['detector']} detection rate":
                f"{100 * detector[f'{split}_detection_rate']:.1f}%",
            "NME, detector boxes (detected faces)":
                f"{100 * detector[f'{split}_detected_nme']:.2f}%",
            "NME, detector boxes (all faces, fallback box)":
                f"{100 * detector[f'{split}_nme']:.2f}%",
            "ratio (detected / truth)":
                f"{detector[f'{split}_detected_nme'] / truth['val_nme']:.2f}×",
        })
    return pd.DataFrame(rows).to_markdown(index=False)


LANDMARK_METRICS = {"val_nme": "NME", "val_failure_rate_8": "failure > 0.08",
                    "val_failure_rate_10": "failure > 0.10", "val_auc_10": "AUC @ 0.10",
                    "val_mean_shape_nme": "mean-shape NME", "best_epoch": "best epoch",
                    "epochs_run": "epochs run"}
REUTERS = RESULTS / "reuters_losses"
BLOCKS = {
    "phone_price": lambda: first_table(RESULTS / "phone_price" / "summary.md"),
    "phone_headline": lambda: table_rows(
        RESULTS / "phone_price" / "summary.md",
        lambda model, norm: norm == "global" and (model.startswith("MLP, best") or model in (
            "logreg_tuned", "MLP, classification head"))),
    "reuters_test": lambda: sweep_grid(
        {f"{o.upper() if o == 'sgd' else o.capitalize()}, {e} epochs": REUTERS / f"{o}-{e}ep"
         for o in ("sgd", "adam") for e in (20, 100)}, "test_accuracy"),
    "reuters_homework": lambda: sweep_grid(
        {f"SGD, {e} epochs, final epoch": REUTERS / f"sgd-{e}ep-homework" for e in (20, 100)},
        "val_accuracy"),
    "reuters_baselines": lambda: first_table(REUTERS / "baselines" / "summary.md"),
    "reuters_best": lambda: first_table(REUTERS / "best" / "summary.md"),
    "landmarks": lambda: run_rows(landmark_runs(), LANDMARK_METRICS,
                                  percent=[k for k in LANDMARK_METRICS if "nme" in k
                                           or "failure" in k]),
    "landmark_boxes": landmark_boxes,
    "landmark_comparison": lambda: all_tables(RESULTS / "landmarks" / "comparison" / "summary.md"),
    "landmark_ablation": lambda: first_table(RESULTS / "landmarks" / "ablation" / "summary.md"),
    "benchmarks": benchmarks,
    "suite": suite_time,
    "landmark_pool": lambda: landmark_pool(RESULTS / "benchmarks" / "landmarks_pool.json"),
    "mobilenet_conversion": lambda: benchmark_line(RESULTS / "benchmarks" /
                                                   "mobilenet_conversion.json"),
}


def render(text: str, page: Path = README) -> str:
    """``text`` (the page ``page``) with every generated block rebuilt from results/; links to
    results/ are made relative to the page."""
    prefix = Path(os.path.relpath(RESULTS, page.parent)).as_posix() + "/"

    def rebuild(match):
        name = match.group("name")
        if name not in BLOCKS:
            raise KeyError(f"README block {name!r} has no generator in common/report.py")
        body = BLOCKS[name]().replace("](results/", f"]({prefix}")
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
