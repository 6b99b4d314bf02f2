"""Image sets with a known kind of damage, for the readability, haze and speckle tests."""

from __future__ import annotations

import numpy as np
from scipy.ndimage import gaussian_filter

SPECKLED_SHARE = 0.15
"""Share of pixels replaced by uniform noise in a speckled set: a blob on salt and pepper, as the paper's DenseGAN."""
BLUR_SIGMA = 1.0
"""Gaussian blur of a blurred set, in pixels: the softness of a VAE's digits."""


def speckled(images: np.ndarray, seed: int = 0) -> np.ndarray:
    """`images` with `SPECKLED_SHARE` of their pixels replaced by uniform noise."""
    rng = np.random.default_rng(seed)
    out = images.copy()
    hit = rng.random(out.shape) < SPECKLED_SHARE
    out[hit] = rng.integers(0, 256, int(hit.sum()), dtype=np.uint8)
    return out


def blurred(images: np.ndarray) -> np.ndarray:
    """`images` blurred by a Gaussian of `BLUR_SIGMA` pixels."""
    soft = gaussian_filter(images.astype(np.float64), (0, BLUR_SIGMA, BLUR_SIGMA))
    return np.clip(np.rint(soft), 0, 255).astype(np.uint8)


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
