"""Score a trained model at the end of its cell: the judge's metrics of its samples, and its family's test-set fit."""

from __future__ import annotations

import time

import numpy as np

BATCH = 500
QUALITY_SEED = 1234
"""Seed of the latent noise behind the scored images: the same images' noise on every backend.

It is also the seed of the saved samples, so those are the first images of the scored set."""


def generated_images(model, n: int, seed: int = QUALITY_SEED) -> np.ndarray:
    """n uint8 images (n, 28, 28) from fixed-seed latent noise, generated in batches."""
    noise = np.random.default_rng(seed).standard_normal((n, model.spec.latent_dim)).astype("float32")
    batches = [model.generate(noise[i : i + BATCH]) for i in range(0, n, BATCH)]
    return np.rint(np.concatenate(batches) * 255).astype(np.uint8)


def evaluate(model, arrays: dict, n: int) -> dict[str, float]:
    """Every quality metric of a trained model (metric → value), and the seconds scoring took."""
    from architectures.judge import Judge
    from suite.quality import score_images

    start = time.perf_counter()
    judge = Judge()
    images = generated_images(model, n)
    probs, features = judge(images)
    test_features = judge(arrays["x_test"])[1]
    scores = score_images(images, probs, features, test_features) | model.test_fit(arrays["x_test"])
    scores["quality_images"] = float(n)
    scores["quality_eval_s"] = time.perf_counter() - start
    return scores
