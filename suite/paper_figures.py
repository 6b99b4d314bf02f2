"""The paper's own figure images (../shared/paper/figures/, MIT, from its authors' repository): where they are, and
their 4 × 4 grids of digits cut back into 28 × 28 images, so the judge can score what the paper showed."""

from __future__ import annotations

from pathlib import Path

import numpy as np

FIGURES = Path(__file__).resolve().parent.parent.parent / "shared" / "paper" / "figures"
"""Where the paper's figure images are: `shared/paper/figures/` beside the checkout."""
GRIDS = (
    "GAN_Dense_GenImage.png",
    "GAN_Dense_GenImage_Deep.png",
    "GAN_CNN_GenImage.png",
    "VAE_Dense_RealImage.png",
    "VAE_Dense_GenImage.png",
    "VAE_CNN_RealImage.png",
    "VAE_CNN_GenImage.png",
)
"""The paper's figures that are 4 × 4 digits (shared/paper/figures/README.md says which panel each is)."""
GRID = 4
"""The paper's sample figures are 4 × 4 digits."""
BACKGROUND = 250
"""Figure pixels lighter than this (of 255) are the page around the digits."""


def _runs(indices: np.ndarray) -> list[tuple[int, int]]:
    """Consecutive runs of `indices` as (first, last) pairs."""
    breaks = np.flatnonzero(np.diff(indices) > 1)
    starts = np.concatenate([[indices[0]], indices[breaks + 1]])
    ends = np.concatenate([indices[breaks], [indices[-1]]])
    return list(zip(starts.tolist(), ends.tolist(), strict=True))


def digit_tiles(path: Path) -> np.ndarray:
    """The 16 digits of one of the paper's 4 × 4 figures as uint8 images (16, 28, 28), white ink on black.

    Each digit is the rectangle of non-page pixels in its row and column of the grid, averaged down to 28 × 28
    (the figure drew each 28 × 28 image at about 47 × 47 pixels, grey levels stretched to its own range)."""
    from PIL import Image

    rgba = np.asarray(Image.open(path).convert("RGBA"), dtype=np.float64)
    alpha = rgba[..., 3] / 255.0
    grey = rgba[..., :3].mean(axis=-1) * alpha + 255.0 * (1.0 - alpha)
    drawn = grey < BACKGROUND
    rows = _runs(np.flatnonzero(drawn.mean(axis=1) > 0.05))
    columns = _runs(np.flatnonzero(drawn.mean(axis=0) > 0.05))
    if len(rows) != GRID or len(columns) != GRID:
        raise ValueError(f"{path} is not a {GRID} × {GRID} grid of digits ({len(rows)} rows, {len(columns)} columns)")
    tiles = [
        Image.fromarray(grey[r0 : r1 + 1, c0 : c1 + 1].astype(np.uint8)).resize((28, 28), Image.BOX)
        for r0, r1 in rows
        for c0, c1 in columns
    ]
    return np.stack([np.asarray(tile) for tile in tiles])
