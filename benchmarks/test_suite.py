"""How long the whole test suite takes: the README's test command, timed.

    python benchmarks/test_suite.py            # pytest (the suite .ci/run runs)
    python benchmarks/test_suite.py -m "not slow"   # the fast tier

Runs pytest in a subprocess from the repository root with the same environment and reports the
wall time and pytest's own summary line (passed, failed, skipped). Saved for the README, whose
pages it then regenerates (``python -m common.report``).
"""

import argparse
import re
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, allow_abbrev=False,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-m", dest="marker", default=None, help="pytest -m expression")
    args = parser.parse_args()
    from benchmarks.record import record_benchmark

    argv = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
    if args.marker:
        argv += ["-m", args.marker]
    start = time.perf_counter()
    done = subprocess.run(argv, cwd=REPO, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    summary = next((line.strip("= ") for line in reversed(done.stdout.splitlines())
                    if re.search(r"\d+ (passed|failed)", line)), "no summary")
    summary = re.sub(r" in [\d.]+s( \(.*\))?$", "", summary)
    tier = f"pytest -m \"{args.marker}\"" if args.marker else "pytest"
    line = f"{tier}: {seconds / 60:.1f} min on {_cores()} cores ({summary})"
    log = REPO / "logs" / f"{'test_suite_fast' if args.marker else 'test_suite'}.log"
    log.parent.mkdir(exist_ok=True)
    log.write_text(done.stdout + done.stderr)  # the whole report (logs/ is git-ignored)
    if done.returncode:  # what failed, as pytest reported it
        print("\n".join(line for line in done.stdout.splitlines() if line.startswith(
            ("FAILED", "ERROR"))))
    print(line)
    name = "test_suite_fast" if args.marker else "test_suite"
    record_benchmark(name, line, {"seconds": round(seconds, 1), "summary": summary,
                                  "returncode": done.returncode})
    # The pages show this figure: regenerate them, so the next run's README test still holds.
    subprocess.run([sys.executable, "-m", "common.report"], cwd=REPO, check=True)
    sys.exit(done.returncode)


def _cores() -> int:
    import os

    return len(os.sched_getaffinity(0))


if __name__ == "__main__":
    main()
