"""Shared pieces of the experiments: data location, plotting, run folders, the run lifecycle,
sweeps, CLI and the README report. Nothing here imports an experiment, and importing ``common``
changes nothing: the scripts' ``common.cli.run_cli`` (and the benchmarks, the Ray workers) quiet
TensorFlow's start-up lines with ``common.quiet_tensorflow``, a library user's import does not.
"""
