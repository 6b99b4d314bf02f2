"""Control panels for the sample-quality measures: image sets whose answer is known before any model runs.

A measure that says "these samples are digits" must read about 0 on every negative control (images a blank page,
a blur or a noise generator makes) and about 1 on the positive controls (held-out MNIST test digits). The panels
are built from the test digits of one half of the test set (`split`), so the thresholds of the measures are fitted
on the other half and on a panel of another seed, never on the images they are judged by.
"""

from __future__ import annotations

import numpy as np
from scipy.ndimage import gaussian_filter

SPECKLED_SHARE = 0.15
"""Share of pixels replaced by uniform noise in a speckled set: a blob on salt and pepper, as the paper's DenseGAN."""
BLUR_SIGMA = 1.0
"""Gaussian blur of `blurred`, in pixels: the softness of a VAE's digits."""
MILD_BLUR_SIGMA = 0.5
"""Gaussian blur of the mildly blurred positive control, in pixels."""
FAINT_MAX = 40
"""Faint noise is uniform on 0..FAINT_MAX grey levels."""
MEAN_NOISE_MAX = 60
"""The mean digit plus uniform noise on 0..MEAN_NOISE_MAX grey levels."""
NEGATIVE_MAX = 0.02
"""The most of a negative control a measure of digit quality may call digits."""
POSITIVE_MIN = 0.95
"""The least of a positive control it must call digits."""
PANEL_SEED = 2024
"""Seed of the shipped panel (the report's and the tests'); thresholds are fitted on `TUNING_SEED`'s panel."""
TUNING_SEED = 7
NEGATIVE = (
    "blank",
    "mean digit",
    "Gaussian blobs",
    "strokes blurred σ=2",
    "strokes blurred σ=4",
    "faint noise",
    "uniform noise",
    "mean digit + noise",
    "speckled digits",
)
"""Images no measure of digit quality may call digits."""
BLUR_LADDER = (0.75, 1.0, 1.25, 1.5, 2.0)
"""Blurs of test digits between the mild positive control and a haze (`hard_cases`)."""
POSITIVE = ("test digits", f"test digits blurred σ={MILD_BLUR_SIGMA:g}")
"""Held-out digits, which a measure of digit quality must call digits."""
LABELLED = ("speckled digits", *POSITIVE, *(f"test digits blurred σ={sigma:g}" for sigma in BLUR_LADDER))
"""The sets made of the test digits in order, so that the test labels are theirs."""


def split(test_images: np.ndarray, half: str) -> np.ndarray:
    """The `fit` half (even rows) or the `judge` half (odd rows) of the test images."""
    return test_images[{"fit": 0, "judge": 1}[half] :: 2]


def to_uint8(x: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(x), 0, 255).astype(np.uint8)


def blurred(images: np.ndarray, sigma: float = BLUR_SIGMA, stretch: bool = False) -> np.ndarray:
    """`images` blurred by a Gaussian of `sigma` pixels; with `stretch`, each rescaled so its darkest pixel is ink."""
    soft = gaussian_filter(images.astype(np.float64), (0, sigma, sigma))
    if stretch:
        soft *= 255 / np.maximum(soft.max(axis=(1, 2), keepdims=True), 1)
    return to_uint8(soft)


def speckled(images: np.ndarray, seed: int = 0) -> np.ndarray:
    """`images` with `SPECKLED_SHARE` of their pixels replaced by uniform noise."""
    rng = np.random.default_rng(seed)
    out = images.copy()
    hit = rng.random(out.shape) < SPECKLED_SHARE
    out[hit] = rng.integers(0, 256, int(hit.sum()), dtype=np.uint8)
    return out


def strokes(n: int, seed: int = 0) -> np.ndarray:
    """n digit-like images: one to three thick straight strokes of ink on black, anti-aliased at their edges."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:28, 0:28].astype(np.float64)
    out = np.zeros((n, 28, 28))
    for image in out:
        for _ in range(rng.integers(1, 4)):
            (y0, x0), (y1, x1) = rng.uniform(5, 23, (2, 2))
            length = max(np.hypot(y1 - y0, x1 - x0), 1e-6)
            t = np.clip(((yy - y0) * (y1 - y0) + (xx - x0) * (x1 - x0)) / length**2, 0, 1)
            distance = np.hypot(yy - (y0 + t * (y1 - y0)), xx - (x0 + t * (x1 - x0)))
            np.maximum(image, np.clip(2.0 - distance, 0, 1), out=image)
    return np.rint(255 * out).astype(np.uint8)


def blobs(n: int, rng: np.random.Generator) -> np.ndarray:
    """n Gaussian blobs of ink, centred in the middle 12 × 12 pixels, σ 2.5–6 pixels."""
    yy, xx = np.mgrid[0:28, 0:28].astype(np.float64)
    centre = rng.uniform(8, 20, (n, 2))
    sigma = rng.uniform(2.5, 6, (n, 1, 1))
    distance2 = (yy - centre[:, 0, None, None]) ** 2 + (xx - centre[:, 1, None, None]) ** 2
    return to_uint8(255 * np.exp(-distance2 / (2 * sigma**2)))


def mean_digits(train_images: np.ndarray, train_labels: np.ndarray) -> np.ndarray:
    """The mean training digit (first) and the ten per-digit means, each rescaled so its darkest pixel is ink."""
    means = [train_images.mean(axis=0)] + [train_images[train_labels == d].mean(axis=0) for d in range(10)]
    means = np.stack(means)
    return to_uint8(means * 255 / means.max(axis=(1, 2), keepdims=True))


def panel(arrays: dict[str, np.ndarray], n: int, seed: int = PANEL_SEED, half: str = "judge") -> dict[str, np.ndarray]:
    """Every control set, n images each (uint8, (n, 28, 28)), negative controls first; its test digits are the first
    n of the test set's `half`."""
    rng = np.random.default_rng(seed)
    digits = split(arrays["x_test"], half)[:n]
    overall = arrays["x_train"].mean(axis=0)
    mean_digit = mean_digits(arrays["x_train"], arrays["y_train"])[0]
    sets = {
        "blank": np.zeros((n, 28, 28), np.uint8),
        "mean digit": np.repeat(mean_digit[None], n, axis=0),
        "Gaussian blobs": blobs(n, rng),
        "strokes blurred σ=2": blurred(strokes(n, seed + 1), 2.0, stretch=True),
        "strokes blurred σ=4": blurred(strokes(n, seed + 2), 4.0, stretch=True),
        "faint noise": rng.integers(0, FAINT_MAX + 1, (n, 28, 28)).astype(np.uint8),
        "uniform noise": rng.integers(0, 256, (n, 28, 28)).astype(np.uint8),
        "mean digit + noise": to_uint8(overall[None] + rng.integers(0, MEAN_NOISE_MAX + 1, (n, 28, 28))),
        "speckled digits": speckled(digits, seed + 3),
        "test digits": digits,
        POSITIVE[1]: blurred(digits, MILD_BLUR_SIGMA),
    }
    return sets


def hard_cases(arrays: dict[str, np.ndarray], n: int, half: str = "judge") -> dict[str, np.ndarray]:
    """Neither positive nor negative controls, scored to show where "readable" stops: the first n test digits of
    `half` blurred by each of `BLUR_LADDER`, and the ten per-digit mean images (each repeated), which a judge reads
    as their digits though no one drew them."""
    digits = split(arrays["x_test"], half)[:n]
    ladder = {f"test digits blurred σ={sigma:g}": blurred(digits, sigma) for sigma in BLUR_LADDER}
    per_digit = mean_digits(arrays["x_train"], arrays["y_train"])[1:]
    return ladder | {"per-digit means": per_digit[np.arange(n) % len(per_digit)]}
