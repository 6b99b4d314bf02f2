"""Score a trained model at the end of its cell: the judge's metrics of its samples, and its family's test-set fit."""

from __future__ import annotations

import functools
import time
from pathlib import Path

import numpy as np

from suite.files import atomic_write

BATCH = 500
QUALITY_SEED = 1234
"""Seed of the latent noise behind the scored images: the same images' noise on every backend.

It is also the seed of the saved samples, so those are the first images of the scored set."""


def generated_images(model, n: int, seed: int = QUALITY_SEED) -> np.ndarray:
    """n uint8 images (n, 28, 28) from fixed-seed latent noise, generated in batches."""
    noise = np.random.default_rng(seed).standard_normal((n, model.spec.latent_dim)).astype("float32")
    batches = [model.generate(noise[i : i + BATCH]) for i in range(0, n, BATCH)]
    return np.rint(np.concatenate(batches) * 255).astype(np.uint8)


@functools.cache
def judge():
    """The judge under this process's backend, built once: a cell that evaluates often compiles it once."""
    from architectures.judge import Judge

    return Judge()


def real_features(arrays: dict) -> np.ndarray:
    """The judge's features of the real digits precision, recall, density and coverage compare with: the first
    `PRDC_IMAGES` of the test set's `fit` half (`suite.controls.split`), the half no control panel is drawn from.
    Computed once per process: a cell that evaluates often reads the same digits each time."""
    from suite.controls import split
    from suite.sample_metrics import PRDC_IMAGES

    return _features(split(arrays["x_test"], "fit")[:PRDC_IMAGES].tobytes())


@functools.cache
def _features(images: bytes) -> np.ndarray:
    return judge()(np.frombuffer(images, np.uint8).reshape(-1, 28, 28))[1]


def evaluate(model, arrays: dict, images: np.ndarray) -> dict[str, float]:
    """Every quality metric of a trained model from its generated `images` (metric → value).

    The images are scored against the shipped statistics of the test images' features, and a VAE's
    test-set fit is measured on as many test images as there are generated ones."""
    from architectures.judge import digit_manifold, test_stats
    from suite.sample_metrics import score_images

    probs, features = judge()(images)
    scores = score_images(images, probs, features, test_stats(), digit_manifold(), real_features(arrays))
    scores |= model.test_fit(arrays["x_test"][: len(images)])
    scores["quality_images"] = float(len(images))
    return scores


def sample_and_score(
    model, arrays: dict, samples: int, scored: int, samples_file: Path | None, kept: dict[str, np.ndarray] | None = None
) -> dict[str, float]:
    """Generate once from the fixed noise; save the first `samples` images (and the arrays `kept`), score the first
    `scored`.

    Returns the quality metrics with `quality_eval_s`, the seconds all of it took (after training)."""
    start = time.perf_counter()
    images = generated_images(model, max(samples, scored))
    saved = model.sample_arrays(images[:samples], arrays["x_test"])
    if samples_file is not None:
        with atomic_write(samples_file) as f:
            np.savez_compressed(f, **saved, **(kept or {}))
    if not scored:
        return {}
    scores = evaluate(model, arrays, images[:scored]) | reading_of_reconstructions(saved, arrays["y_test"])
    scores["quality_eval_s"] = time.perf_counter() - start
    return scores


def reading_of_reconstructions(saved: dict[str, np.ndarray], labels: np.ndarray) -> dict[str, float]:
    """The judge's reading of the saved reconstructions of the first test images against their labels (VAEs);
    nothing for a model without reconstructions."""
    from suite.sample_metrics import reconstruction_reading

    if "reconstructed" not in saved:
        return {}
    reconstructed = saved["reconstructed"]
    scores = reconstruction_reading(labels[: len(reconstructed)], judge()(reconstructed)[0])
    return scores | {"recon_images": float(len(reconstructed))}
