"""What every script shares on the command line: the shared flags, checked numeric types, the
exact command line for provenance, and one-line errors instead of tracebacks."""

from __future__ import annotations

import argparse
import errno
import shlex
import sys
from pathlib import Path

from common.data import ENV_VAR
from common.errors import UserError
from common.identity import declare_harmless

_parsers: list[argparse.ArgumentParser] = []  # the last one is the running script's


def new_parser(description: str | None) -> argparse.ArgumentParser:
    """The parser of a script: ``--help`` that keeps the docstring's layout and shows each
    default once, no abbreviated flags; ``run_cli`` reads its flags to name a bad parameter."""
    parser = argparse.ArgumentParser(description=description, formatter_class=HelpFormatter,
                                     allow_abbrev=False)
    _parsers.append(parser)
    return parser


def flag_of(param: str) -> str | None:
    """The flag through which the running script sets ``param`` (None: it has none)."""
    for action in _parsers[-1]._actions if _parsers else ():  # the running script's parser
        if action.dest == param and action.option_strings:
            return action.option_strings[0]
    return None


def config_from_flags(parser: argparse.ArgumentParser, base, argv=None):
    """``(config, args)``: ``base`` (a config, or a function of the parsed flags giving one)
    with every flag given; a bad value is refused in argparse's own words, before TensorFlow
    loads."""
    from common.configs import from_flags

    args = parser.parse_args(argv)
    try:
        return from_flags(base(args) if callable(base) else base, args), args
    except UserError as exc:
        if exc.param is None:
            raise
        parser.error(describe_user_error(exc))


def describe_user_error(exc: UserError) -> str:
    """The line a user reads: a parameter at fault is shown as the script's flag."""
    if exc.param is None:
        return str(exc)
    flag = flag_of(exc.param)
    return f"argument {flag}: {exc}" if flag else f"parameter {exc.param}: {exc}"


def add_data_dir_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data-dir",
        default=None,
        help=f"data root (default: ${ENV_VAR} if set, else data/ of the repository; an "
             "installed package: data/ of the working folder)",
    )


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """``--help`` that keeps the docstring's lines (its examples, its lists) and shows each
    default once: not where the help text already says it, and not when it is None (unset); a
    list default as the words one would type."""

    def _get_help_string(self, action):
        text = action.help or ""
        default = action.default
        if "default" in text or default is None or default is argparse.SUPPRESS \
                or isinstance(default, bool) or not action.option_strings:
            return text
        if isinstance(default, list | tuple):
            shown = " ".join(":".join(map(str, d)) if isinstance(d, tuple) else str(d)
                             for d in default)
        else:
            shown = str(default)
        return f"{text} (default: {shown})"


def add_run_flags(parser: argparse.ArgumentParser, *, out_help: str) -> None:
    """``--data-dir --seed --out --overwrite --quiet``: the flags of every train.py."""
    add_data_dir_flag(parser)
    parser.add_argument("--seed", type=int, default=0,
                        help="seed of the split, the weights and every epoch's randomness")
    parser.add_argument("--out", default=None, help=out_help)
    parser.add_argument("--overwrite", action="store_true",
                        help="delete what --out holds and start again (else a run with the same "
                             "settings resumes, and one with other settings is refused)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    declare_harmless(parser, "data_dir", "out", "overwrite", "quiet")


def number_in(kind, low=None, high=None, *, low_open=False, high_open=False):
    """An argparse type: ``kind(text)`` within [low, high] (``*_open``: bound excluded)."""

    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a {kind.__name__}, got {text!r}") from None
        too_low = low is not None and (value <= low if low_open else value < low)
        too_high = high is not None and (value >= high if high_open else value > high)
        if value != value or too_low or too_high:  # value != value: NaN
            lo = "" if low is None else f"{'(' if low_open else '['}{low}"
            hi = "" if high is None else f"{high}{')' if high_open else ']'}"
            raise argparse.ArgumentTypeError(f"must be in {lo or '(-inf'}, {hi or 'inf)'}; "
                                             f"got {text}")
        return value

    parse.__name__ = kind.__name__  # argparse names the type in its messages
    return parse


positive_int = number_in(int, 1)
non_negative_int = number_in(int, 0)
fraction = number_in(float, 0, 1, low_open=True, high_open=True)
positive_float = number_in(float, 0, low_open=True)
dropout_rate = number_in(float, 0, 1, high_open=True)


def layer_sizes(text: str) -> list[int]:
    """An argparse type: ``"300,200"`` → ``[300, 200]``; ``"none"`` → ``[]`` (no hidden layer)."""
    if text.strip().lower() == "none":
        return []
    try:
        units = [int(u) for u in text.split(",") if u.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}") \
            from None
    if not units or min(units) < 1:
        raise argparse.ArgumentTypeError(f"expected positive layer sizes or none, got {text!r}")
    return units


def command_line(script: str, argv=None) -> str:
    """The command that produced a summary: ``python <script>`` and the real arguments,
    shell-quoted, less ``--data-dir``: where the data lay on one machine is not part of what was
    run (a summary records no machine path)."""
    args = [str(a) for a in (sys.argv[1:] if argv is None else argv)]
    kept, skip = [], False
    for arg in args:
        if skip:
            skip = False
        elif arg == "--data-dir":
            skip = True
        elif not arg.startswith("--data-dir="):
            kept.append(arg)
    return " ".join(["python", script, *map(shlex.quote, kept)])


def print_metrics(run_dir, metrics: dict) -> None:
    """The run folder, then one aligned ``name: value`` line per metric."""
    print(f"run folder: {run_dir}")
    width = max(map(len, metrics), default=0)
    for name, value in metrics.items():
        shown = "n/a" if value is None else f"{value:.4f}"
        print(f"  {name:>{width}s}: {shown}")


def what_overwrite_deletes(run_dir) -> str:
    """``--overwrite``'s cost in words: the files of the run it would delete."""
    from common.runs import check_clearable

    try:
        entries = check_clearable(Path(run_dir))
    except UserError as exc:
        return f"--overwrite would be refused ({exc})"
    shown = ", ".join(sorted(e.name for e in entries)[:4]) + (" …" if len(entries) > 4 else "")
    return f"--overwrite deletes its {len(entries)} files and folders ({shown}) and starts again"


def train_or_report(config: dict, run) -> None:
    """The main of every train.py: a run already complete with the same settings is reported
    (where, and its metrics) without training again; a folder holding a run with other settings
    is refused, naming the way out (``--out``) first; else ``run(config)`` and its metrics."""
    from common.files import read_json
    from common.identity import config_differences
    from common.runs import run_state

    out = config["out"]
    state = "new" if config.get("overwrite") else run_state(out, config)
    if state == "complete":
        print(f"complete already (same settings): {out}; to train again, give a new folder "
              f"(--out NEW); {what_overwrite_deletes(out)}", file=sys.stderr)
        print_metrics(out, read_json(f"{out}/metrics.json"))
        return
    if state == "different":
        differences = config_differences(read_json(f"{out}/config.json"), config)
        raise UserError(f"{out} holds a run with other settings ({'; '.join(differences[:4])}"
                        f"{' …' if len(differences) > 4 else ''}); train into a new folder with "
                        f"--out NEW, or: {what_overwrite_deletes(out)}")
    print_metrics(out, run(config))


def run_cli(main, argv=None) -> None:
    """Call ``main(argv)``, TensorFlow's start-up lines held back (``common.quiet_tensorflow``);
    data and output problems end the program with one line on stderr."""
    from common import quiet_tensorflow

    quiet_tensorflow.install()
    try:
        main(argv)
    except UserError as exc:
        print(f"error: {describe_user_error(exc)}", file=sys.stderr)
        sys.exit(exc.exit_code)
    except OSError as exc:
        if exc.errno not in (errno.ENOSPC, errno.EDQUOT, errno.EACCES, errno.EPERM, errno.EROFS):
            raise
        where = exc.filename or "the output folder"
        fix = ("free some space there or pass --out with a folder on a disk that has room"
               if exc.errno in (errno.ENOSPC, errno.EDQUOT)
               else "pass --out with a folder you can write to")
        print(f"error: cannot write {where} ({exc.strerror}); {fix}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        print("interrupted: run the same command again to resume", file=sys.stderr)
        sys.exit(130)
