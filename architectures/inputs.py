"""What each model family trains on: uint8 MNIST images turned into its float32 input (NumPy only)."""

from __future__ import annotations

import numpy as np

from architectures.spec import ModelSpec


def preprocess(spec: ModelSpec, images: np.ndarray) -> np.ndarray:
    """uint8 images (n, 28, 28) to shape (n, 28, 28, 1): [-1, 1] for a GAN, [0, 1] (binarized if asked) for a VAE."""
    x = (images.astype("float32") - spec.family.pixel_offset) / spec.family.pixel_scale
    if spec.binarize_input:
        x = (x > 0.5).astype("float32")
    return x[..., None]
