"""Reuters speed: multi-hot vectorization of all 11,228 wires, and the 5-pair sweep wall time.

    python benchmarks/reuters_speed.py                 # vectorization only (target < 0.5 s)
    python benchmarks/reuters_speed.py --sweep         # + 5 pairs x 100 epochs, --jobs 1 and 2
"""

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from reuters_losses.data import load_wires, multi_hot

REPO = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data-dir", default=None, help="data root (default: as the scripts)")
    parser.add_argument("--sweep", action="store_true", help="also time the 100-epoch sweep")
    parser.add_argument("--epochs", type=int, default=100, help="sweep epochs")
    args = parser.parse_args()

    (train, _), (test, _) = load_wires(args.data_dir, num_words=1000)
    wires = train + test
    times = []
    for _ in range(5):
        start = time.perf_counter()
        multi_hot(wires, 1000)
        times.append(time.perf_counter() - start)
    print(f"vectorize {len(wires)} wires at 1,000 words: best {min(times):.3f} s, "
          f"median {sorted(times)[2]:.3f} s  (target < 0.5 s)")
    if not args.sweep:
        return
    data = ["--data-dir", args.data_dir] if args.data_dir else []
    for jobs in (1, 2):
        with tempfile.TemporaryDirectory() as tmp:
            start = time.perf_counter()
            subprocess.run([sys.executable, "reuters_losses/sweep.py", "--epochs", str(args.epochs),
                            "--jobs", str(jobs), "--out", tmp, *data],
                           cwd=REPO, check=True, capture_output=True)  # fmt: skip
            wall = time.perf_counter() - start
        print(f"sweep 5 pairs x {args.epochs} epochs, 1 seed, --jobs {jobs}: {wall:.0f} s "
              f"({wall / 60:.1f} min; target < 4 min with --jobs 1)")


if __name__ == "__main__":
    main()
