"""Shared pieces of the experiments: data location, normalization, plotting, run folders, the run
lifecycle, sweeps, CLI and the README report. Nothing here imports an experiment.

TensorFlow 2.21 prints its C++ start-up lines (oneDNN, CUDA probing) before it reads
TF_CPP_MIN_LOG_LEVEL, so no script tries to silence them.
"""
