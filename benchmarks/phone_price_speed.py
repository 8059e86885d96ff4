"""Wall time of the default phone-price train + evaluate, as a user runs them (fresh processes).

    python benchmarks/phone_price_speed.py            # target: under 60 s on a 2-core machine
"""

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.record import record_benchmark

REPO = Path(__file__).resolve().parent.parent


def timed(argv) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, *argv], cwd=REPO, check=True, capture_output=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, allow_abbrev=False)
    parser.add_argument("--data-dir", default=None, help="data root (default: as the scripts)")
    args = parser.parse_args()
    data = ["--data-dir", args.data_dir] if args.data_dir else []
    with tempfile.TemporaryDirectory() as tmp:
        run = str(Path(tmp) / "run")
        train = timed(["phone_price/train.py", "--quiet", "--out", run, *data])
        evaluate = timed(["phone_price/evaluate.py", run, *data])
    print(f"train    {train:6.1f} s  (200 epochs, default flags)")
    print(f"evaluate {evaluate:6.1f} s")
    print(f"total    {train + evaluate:6.1f} s  (target < 60 s)")
    record_benchmark("phone_price_speed", f"default train (200 epochs) + evaluate: {train:.1f} s "
                     f"+ {evaluate:.1f} s = {train + evaluate:.1f} s",
                     {"train_s": train, "evaluate_s": evaluate})


if __name__ == "__main__":
    from common import quiet_tensorflow

    quiet_tensorflow.install()
    main()
