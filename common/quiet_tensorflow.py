"""TensorFlow without its start-up noise: the first ``import tensorflow`` (direct, or through
Keras) runs with file descriptor 2 held on a temporary file, so the lines its C++ libraries
print while they load and probe for a GPU (absl's "All log messages before InitializeLog", the
CUDA stub and cuInit lines, oneDNN and CPU-feature notes) never reach the terminal.
``TF_CPP_MIN_LOG_LEVEL`` cannot do this: TensorFlow 2.21 prints them before it reads it. What
was captured is replayed only if the import fails, so a real error still shows. Afterwards
``TF_CPP_MIN_LOG_LEVEL`` (2 unless the user set it) hides TensorFlow's later info and warning
lines; its errors still show.

Two lines TensorFlow prints later, at error level, are not errors: tf.data's "NodeDef mentions
attribute use_unbounded_threadpool" (a graph attribute this build's C++ does not know; it says
itself that it is ignored) and TFLite's "Created TensorFlow Lite XNNPACK delegate". After the
import, file descriptor 2 passes through a filter thread that drops exactly these (``NOISE``)
and forwards everything else unchanged.

One warning of TensorFlow's Python logger is dropped too: "N out of the last N calls to
<function …> triggered tf.function retracing". A sweep trains and scores many models in one
process, and each new model's predict and evaluate functions are traced once for it: that is
the retracing it counts, expected and already paid for (``RETRACING``).

``install()`` (called by ``common.cli.run_cli``, the benchmarks and the Ray workers: never by
a plain ``import common``) puts a finder first on ``sys.meta_path`` that
does this once and then steps aside; nothing is imported until something asks for TensorFlow.
Set ``EXPERIMENTS_TF_NOISE=1`` to see TensorFlow's output untouched.
"""

from __future__ import annotations

import atexit
import importlib
import importlib.abc
import importlib.util
import logging
import os
import re
import sys
import tempfile
import threading

NOISE = re.compile(rb"NodeDef mentions attribute use_unbounded_threadpool"
                   rb"|Created TensorFlow Lite XNNPACK delegate")
RETRACING = "triggered tf.function retracing"


def _not_retracing(record) -> bool:
    return RETRACING not in record.getMessage()


def _filter_stderr() -> None:
    """Route fd 2 through a thread that drops the lines matching ``NOISE``."""
    sys.stderr.flush()
    real = os.dup(2)
    read_end, write_end = os.pipe()
    os.dup2(write_end, 2)
    os.close(write_end)

    def forward():
        with os.fdopen(read_end, "rb", buffering=0) as pipe:
            pending = b""
            while chunk := pipe.read(65536):
                pending += chunk
                *lines, pending = pending.split(b"\n")
                kept = b"".join(line + b"\n" for line in lines if not NOISE.search(line))
                if kept:
                    os.write(real, kept)
            if pending and not NOISE.search(pending):
                os.write(real, pending)

    thread = threading.Thread(target=forward, name="stderr-filter", daemon=True)
    thread.start()

    def close():  # at exit: hand fd 2 back, let the thread write what is left
        try:
            sys.stderr.flush()
        except (OSError, ValueError):
            pass
        os.dup2(real, 2)  # closes the pipe's last write end: the thread reads EOF
        thread.join(timeout=2)

    atexit.register(close)


def _quiet_import():
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile(mode="w+b") as captured:
        os.dup2(captured.fileno(), 2)
        try:
            module = importlib.import_module("tensorflow")
            module.config.list_physical_devices()  # the GPU probe prints its cuInit line here
        except BaseException:
            os.dup2(saved, 2)
            captured.seek(0)
            sys.stderr.write(captured.read().decode(errors="replace"))
            raise
        finally:
            os.dup2(saved, 2)
            os.close(saved)
    _filter_stderr()
    return module


class _Loaded(importlib.abc.Loader):
    """Hands the import system the module that ``_quiet_import`` already made."""

    def __init__(self, module):
        self.module = module

    def create_module(self, spec):
        return self.module

    def exec_module(self, module):
        pass


class _QuietTensorFlow(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name != "tensorflow":
            return None
        sys.meta_path.remove(self)  # once: the real finders do the import below
        module = _quiet_import()
        return importlib.util.spec_from_loader(name, _Loaded(module), origin=module.__file__)


def install() -> None:
    if os.environ.get("EXPERIMENTS_TF_NOISE") == "1" or "tensorflow" in sys.modules:
        return  # the user asked for the raw output, or it is too late
    if not any(isinstance(f, _QuietTensorFlow) for f in sys.meta_path):
        sys.meta_path.insert(0, _QuietTensorFlow())
    tf_logger = logging.getLogger("tensorflow")  # TensorFlow's own; made here if not yet
    if _not_retracing not in tf_logger.filters:
        tf_logger.addFilter(_not_retracing)
