"""TensorFlow without its start-up noise: the first ``import tensorflow`` (direct, or through
Keras) runs with file descriptor 2 held on a temporary file, so the lines its C++ libraries
print while they load and probe for a GPU (absl's "All log messages before InitializeLog", the
CUDA stub and cuInit lines, oneDNN and CPU-feature notes) never reach the terminal.
``TF_CPP_MIN_LOG_LEVEL`` cannot do this: TensorFlow 2.21 prints them before it reads it. What
was captured is replayed only if the import fails, so a real error still shows. Afterwards
``TF_CPP_MIN_LOG_LEVEL`` (2 unless the user set it) hides TensorFlow's later info and warning
lines; its errors still show.

``install()`` (done when ``common`` is imported) puts a finder first on ``sys.meta_path`` that
does this once and then steps aside; nothing is imported until something asks for TensorFlow.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import os
import sys
import tempfile


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
