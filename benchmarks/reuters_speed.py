"""Reuters speed: multi-hot vectorization of all 11,228 wires, and the 5-pair sweep wall time.

    python benchmarks/reuters_speed.py                 # vectorization only (target < 0.5 s)
    python benchmarks/reuters_speed.py --sweep         # + 5 pairs x 100 epochs, --jobs 1 and 2
    python benchmarks/reuters_speed.py --sweep --epochs 20 --ray   # + the Ray backend
"""

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.record import record_benchmark
from reuters_losses.data import load_wires, multi_hot

REPO = Path(__file__).resolve().parent.parent
# the homework's five pairs (the sixth, linear + rescaled MSE, is timed with the sweep itself)
PAIRS = ["sigmoid:binary_crossentropy", "softmax:categorical_crossentropy", "sigmoid:mse",
         "softmax:mse", "linear:mse"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, allow_abbrev=False)
    parser.add_argument("--data-dir", default=None, help="data root (default: as the scripts)")
    parser.add_argument("--sweep", action="store_true", help="also time the 100-epoch sweep")
    parser.add_argument("--epochs", type=int, default=100, help="sweep epochs")
    parser.add_argument("--ray", action="store_true", help="also time --backend ray")
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
    figures = {"vectorize_s": min(times)}
    summary = f"multi-hot of all {len(wires):,} wires: {min(times):.3f} s"
    if not args.sweep:
        record_benchmark("reuters_vectorize", summary, figures)
        return
    data = ["--data-dir", args.data_dir] if args.data_dir else []
    pairs = ["--pairs", *PAIRS]
    runs = [("local", ["--jobs", "1"]), ("local", ["--jobs", "2"])]
    if args.ray:
        runs.append(("ray", ["--backend", "ray"]))
    for backend, flags in runs:
        with tempfile.TemporaryDirectory() as tmp:
            start = time.perf_counter()
            subprocess.run([sys.executable, "reuters_losses/sweep.py", "--epochs", str(args.epochs),
                            *pairs, *flags, "--out", tmp, *data],
                           cwd=REPO, check=True, capture_output=True)
            wall = time.perf_counter() - start
        name = f"{backend} {' '.join(flags)}"
        print(f"sweep {len(PAIRS)} pairs x {args.epochs} epochs, 1 seed, {name}: {wall:.0f} s")
        figures[name] = wall
        summary += f"; {len(PAIRS)} pairs × {args.epochs} epochs, {name}: {wall:.0f} s"
    record_benchmark(f"reuters_sweep_{args.epochs}ep", summary, figures)


if __name__ == "__main__":
    from common import quiet_tensorflow

    quiet_tensorflow.install()
    main()
