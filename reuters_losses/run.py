"""A trained Reuters run folder, opened and checked once: its config, model and metrics, and
the wires it was trained on.

    run = ReutersRun.open("results/reuters_losses/adam-20ep/softmax-categorical_crossentropy-seed0")
    outputs = run.model.predict(run.data()["x_test"])
"""

from __future__ import annotations

from functools import cached_property

from common.runs import RunFolder

TRAINER = "reuters_losses/train.py"


class ReutersRun(RunFolder):
    """A folder that holds a config.json written by reuters_losses/train.py (or sweep.py)."""

    TRAINER, KIND, REQUIRED = TRAINER, "Reuters", ("num_words", "activation")

    @cached_property
    def model(self):
        import reuters_losses.model  # noqa: F401  (registers RescaledMSE for loading)
        from common.saved_models import load_run_model

        return load_run_model(self.path, TRAINER)

    def data(self, data_dir=None) -> dict:
        """The wires as the run read them: its vocabulary size and input encoding."""
        from reuters_losses.data import load_reuters

        return load_reuters(data_dir or self.config.get("data_dir"), self.config["num_words"],
                            self.config.get("inputs", "multi-hot"))
