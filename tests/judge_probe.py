"""Run the shipped judge under $KERAS_BACKEND: `python tests/judge_probe.py OUT.npz`.

On the MNIST test set (probs, features, labels), and on the image sets `tests/test_judge.py` reads readability
from: the shipped control panel and hard cases (`control/<name>`, `suite.controls`), and each of the paper's own
4 × 4 figures (`paper/<file>`), where they are beside the checkout.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from architectures.judge import Judge  # noqa: E402
from suite.controls import PANEL_SEED, hard_cases, panel  # noqa: E402
from suite.mnist import load_mnist  # noqa: E402
from suite.paper import FIGURES, PAPER_FILES, digit_tiles  # noqa: E402

PAPER_GRIDS = tuple(PAPER_FILES[model].samples for model in ("DenseGAN", "DenseGAN-Deep", "CNNGAN", "DenseVAE"))

arrays = load_mnist(log=lambda line: print(line, file=sys.stderr))
judge = Judge()
probs, features = judge(arrays["x_test"])
found = {"probs": probs, "features": features, "labels": arrays["y_test"]}
controls = panel(arrays, 1000, PANEL_SEED) | hard_cases(arrays, 1000)
sets = {f"control/{name}": images for name, images in controls.items()}
if FIGURES.is_dir():
    sets |= {f"paper/{name}": digit_tiles(FIGURES / name) for name in PAPER_GRIDS}
for name, images in sets.items():
    found[f"{name}/images"], found[f"{name}/probs"] = images, judge(images)[0]
np.savez(sys.argv[1], **found)
