"""Shared pieces of the experiments: data location, normalization, plotting, run folders, sweeps."""

import os

# TensorFlow's C++ start-up chatter (CUDA probing, oneDNN notes) hides the real output on CPU.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
