"""The judge: a LeNet-5-style MNIST classifier that scores generated digits (imports Keras only when built).

Two 5×5 convolution + max-pool blocks and two dense layers, as LeNet-5, with wider layers
(32 and 64 filters, 128 units) and ReLU so it passes 99% test accuracy. Its softmax gives
p(y|x) for the classifier score, label coverage and readability; its 128-unit `features`
layer gives the features of the Fréchet distance. Trained by `python -m runners.judge_training train`;
the weights ship beside this file, with their measured accuracy in `judge.json`.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

WEIGHTS = Path(__file__).with_name("judge.weights.h5")
CARD = Path(__file__).with_name("judge.json")
"""How the shipped weights were trained and what they scored on the MNIST test set."""
REFERENCE = Path(__file__).with_name("judge-reference.csv")
"""The metrics of real, noise and blank image sets (`python -m runners.judge_training reference`)."""
TEST_STATS = Path(__file__).with_name("judge-test-stats.npz")
"""Mean and covariance of the judge's features of the 10,000 MNIST test images
(`python -m runners.judge_training reference`):
what every Fréchet distance compares with, computed once instead of in every cell."""
MANIFOLD = Path(__file__).with_name("digit-manifold.npz")
"""The digit manifold of the training images, its residual threshold, and the edge threshold of the sharp gate with
the range of thresholds the controls allowed (`suite.sample_metrics.gates`; made by
`python -m runners.judge_training reference`): where a readable sample must lie, and how sharp its ink must be."""
CONTROLS = Path(__file__).with_name("judge-controls.csv")
"""Every image metric of the control panels (`suite.controls`), one row per control × metric
(`python -m runners.judge_training reference`)."""
"""The judge's metrics of the paper's own 4 × 4 figures (`python -m runners.judge_training paper`)."""
FEATURES = "features"
"""Name of the penultimate layer, whose activations the Fréchet distance compares."""
BATCH = 500


def build_judge():
    """The judge's layers as an untrained `keras.Model`; its output is the 10 class logits."""
    import keras
    from keras import layers

    inputs = keras.Input((28, 28, 1), name="image")
    x = layers.Conv2D(32, 5, padding="same", activation="relu")(inputs)
    x = layers.MaxPooling2D(2)(x)
    x = layers.Conv2D(64, 5, padding="same", activation="relu")(x)
    x = layers.MaxPooling2D(2)(x)
    x = layers.Flatten()(x)
    x = layers.Dropout(0.4)(x)
    x = layers.Dense(128, activation="relu", name=FEATURES)(x)
    outputs = layers.Dense(10, name="logits")(x)
    return keras.Model(inputs, outputs, name="judge")


def to_input(images: np.ndarray) -> np.ndarray:
    """uint8 images (n, 28, 28) as the judge reads them: float32 in [0, 1], shape (n, 28, 28, 1)."""
    return (images.astype("float32") / 255.0)[..., None]


class Judge:
    """The shipped judge under the current backend: class probabilities and features of uint8 images."""

    def __init__(self, weights: Path = WEIGHTS):
        if not weights.is_file():
            raise FileNotFoundError(
                f"judge weights {weights} are missing; train them: python -m runners.judge_training train"
            )
        import keras

        model = build_judge()
        model.load_weights(weights)
        self.model = keras.Model(model.input, [model.output, model.get_layer(FEATURES).output])

    def __call__(self, images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Softmax probabilities (n, 10) and penultimate features (n, 128), float64, in compiled batches."""
        from scipy.special import softmax

        probs, features = [], []
        for start in range(0, len(images), BATCH):
            logits, feats = self.model.predict_on_batch(to_input(images[start : start + BATCH]))
            probs.append(softmax(logits.astype(np.float64), axis=-1))
            features.append(feats)
        return np.concatenate(probs), np.concatenate(features).astype(np.float64)


def digit_manifold() -> dict[str, np.ndarray]:
    """The shipped digit manifold: `mean`, `basis`, `threshold`, `edge_threshold` and `edge_range`
    (`suite.sample_metrics.gates`)."""
    with np.load(MANIFOLD) as manifold:
        return {name: manifold[name] for name in manifold.files}


def test_stats() -> tuple[np.ndarray, np.ndarray]:
    """The shipped mean (d,) and covariance (d, d) of the judge's features of the MNIST test images."""
    with np.load(TEST_STATS) as stats:
        return stats["mean"], stats["cov"]


def card() -> dict:
    """What `judge.json` records about the shipped weights."""
    return json.loads(CARD.read_text())
