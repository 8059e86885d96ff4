"""How fast the scripts answer simple mistakes, and how much they print that is not theirs.

    python benchmarks/cli_startup.py

For each of the 16 user-facing scripts: the wall time of ``--help`` (best of three), and of a
misspelt flag for two of them; then the stderr lines of ``python phone_price/train.py --epochs
1`` (into a temporary folder) that are TensorFlow's start-up noise rather than the program's
own.
"""

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# Every user-facing script (the first and sixth are also timed on a misspelt flag).
SCRIPTS = ["phone_price/train.py", "phone_price/evaluate.py", "reuters_losses/train.py",
           "reuters_losses/sweep.py", "reuters_losses/evaluate.py", "landmarks/train.py",
           "landmarks/evaluate.py", "landmarks/predict.py", "phone_price/compare.py",
           "reuters_losses/baselines.py", "reuters_losses/best.py", "landmarks/export.py",
           "landmarks/model_card.py", "landmarks/sweep.py", "landmarks/ablation.py",
           "landmarks/export_client.py"]
NOISE = re.compile(r"^[IWE]\d{4} |absl::InitializeLog|oneDNN|cuda|cuInit|AVX|rebuild TensorFlow"
                   r"|NodeDef mentions|retracing|XNNPACK")
REPO = Path(__file__).resolve().parent.parent


def best_time(argv) -> float:
    times = []
    for _ in range(3):
        start = time.perf_counter()
        subprocess.run([sys.executable, *argv], cwd=REPO, capture_output=True)
        times.append(time.perf_counter() - start)
    return min(times)


def noise_lines(argv) -> tuple[int, int]:
    """(noise lines, all lines) on stderr of one run of ``argv``."""
    done = subprocess.run([sys.executable, *argv], cwd=REPO, capture_output=True, text=True)
    lines = done.stderr.splitlines()
    return sum(bool(NOISE.search(line)) for line in lines), len(lines)


def main() -> None:
    argparse.ArgumentParser(description=__doc__, allow_abbrev=False,
                            formatter_class=argparse.RawDescriptionHelpFormatter).parse_args()
    from benchmarks.record import record_benchmark

    help_times = {s: best_time([s, "--help"]) for s in SCRIPTS}
    typo_times = {s: best_time([s, "--epohcs", "5"]) for s in SCRIPTS[:1] + SCRIPTS[5:6]}
    with tempfile.TemporaryDirectory() as out:
        noise, total = noise_lines(["phone_price/train.py", "--epochs", "1", "--out", out])
    lines = [f"--help: slowest {max(help_times.values()):.2f} s "
             f"({max(help_times, key=help_times.get)}), fastest {min(help_times.values()):.2f} s",
             "misspelt flag: " + ", ".join(f"{s} {t:.2f} s" for s, t in typo_times.items()),
             f"phone_price/train.py --epochs 1: {noise} TensorFlow noise line(s) of {total} on "
             "stderr"]
    print("\n".join(lines))
    record_benchmark("cli_startup", "; ".join(lines),
                     {"help_seconds": help_times, "typo_seconds": typo_times,
                      "stderr_noise_lines": noise, "stderr_lines": total})
    if os.environ.get("CLI_STARTUP_STRICT") and noise:
        sys.exit(1)


if __name__ == "__main__":
    main()
