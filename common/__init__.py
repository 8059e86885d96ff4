"""Shared pieces of the experiments: data location, plotting, run folders, the run lifecycle,
sweeps, CLI and the README report. Nothing here imports an experiment.

Importing ``common`` installs ``common.quiet_tensorflow``: TensorFlow's C++ start-up lines
(oneDNN, CUDA probing) are printed before TensorFlow reads ``TF_CPP_MIN_LOG_LEVEL``, so setting
that variable (the attempt this package once made) cannot hide them; the first import runs
with stderr held on a temporary file instead, replayed only if the import fails.
"""

from common import quiet_tensorflow

quiet_tensorflow.install()
