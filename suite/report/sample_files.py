"""A cell's saved samples, and the first of them as one square picture."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from suite.choices import COMPLETED

TILE = 4
"""Sample panels show the first TILE × TILE images of a cell."""


def tile(images: np.ndarray) -> np.ndarray:
    """The first TILE × TILE images as one square picture."""
    count = TILE * TILE
    images = images[:count]
    if len(images) < count:
        images = np.concatenate([images, np.zeros((count - len(images), *images.shape[1:]), images.dtype)])
    rows = [np.concatenate(list(images[r * TILE : (r + 1) * TILE]), axis=1) for r in range(TILE)]
    return np.concatenate(rows, axis=0)


def saved_samples(root: Path, row: pd.Series) -> dict | None:
    if row.status not in COMPLETED or pd.isna(row.samples_file):
        return None
    try:
        with np.load(root / row.source / row.samples_file) as arrays:
            return {name: arrays[name] for name in arrays.files}
    except (OSError, ValueError, KeyError):
        return None
