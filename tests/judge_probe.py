"""Run the shipped judge on the MNIST test set under $KERAS_BACKEND: `python tests/judge_probe.py OUT.npz`."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from architectures.judge import Judge  # noqa: E402
from suite.mnist import load_mnist  # noqa: E402

arrays = load_mnist(log=lambda line: print(line, file=sys.stderr))
probs, features = Judge()(arrays["x_test"])
np.savez(sys.argv[1], probs=probs, features=features, labels=arrays["y_test"])
