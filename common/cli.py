"""What every script shares on the command line: the data-root flag and one-line errors."""

from __future__ import annotations

import argparse
import sys

from common.data import ENV_VAR, DataError


def add_data_dir_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data-dir",
        default=None,
        help=f"data root (default: ${ENV_VAR} if set, else data/ in the repository)",
    )


def positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def fraction(text: str) -> float:
    value = float(text)
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1 (exclusive), got {text}")
    return value


def print_metrics(run_dir, metrics: dict) -> None:
    """The run folder, then one aligned ``name: value`` line per metric."""
    print(f"run folder: {run_dir}")
    width = max(map(len, metrics), default=0)
    for name, value in metrics.items():
        print(f"  {name:>{width}s}: {value:.4f}")


def run_cli(main, argv=None) -> None:
    """Call ``main(argv)``; data problems end the program with one line on stderr and status 2."""
    try:
        main(argv)
    except DataError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        print("interrupted: run the same command again to resume", file=sys.stderr)
        sys.exit(130)
