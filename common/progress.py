"""Progress that reads well in a terminal and in a log file: Keras' bar where stdout is a
terminal; plain lines (a few per task, one per epoch) where it is redirected, never carriage
returns or colour codes."""

from __future__ import annotations

import sys
import time


def interactive() -> bool:
    return sys.stdout.isatty()


class Progress:
    """``Progress(total, label, unit)``; ``update(done)``; labelled, whatever the output."""

    def __init__(self, total: int, label: str, unit: str = "item"):
        self.total, self.label, self.unit = total, label, unit
        self.start, self.shown = time.monotonic(), 0
        if interactive():
            from keras.utils import Progbar

            print(label, flush=True)
            self.bar = Progbar(total, unit_name=unit)
        else:
            self.bar = None
            print(f"{label}: {total} {unit}(s)", flush=True)

    def update(self, done: int) -> None:
        if self.bar is not None:
            self.bar.update(done)
            return
        quarter = (4 * done) // max(self.total, 1)
        if quarter > self.shown or done == self.total:
            self.shown = quarter
            seconds = time.monotonic() - self.start
            print(f"{self.label}: {done}/{self.total} {self.unit}(s), {seconds:.0f} s", flush=True)
