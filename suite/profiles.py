"""How much each cell trains: the `smoke`, `quick` and `paper` profiles."""

from __future__ import annotations

from dataclasses import dataclass

from architectures.spec import BATCH_SIZE


@dataclass(frozen=True)
class Profile:
    name: str
    train_images: int | None
    """The first N training images; None for all 60,000."""
    epochs: int
    batch_size: int
    sample_images: int
    """Generated images (and VAE reconstructions) saved at the end of each cell."""
    quality_images: int
    """Generated images the judge scores at the end of each cell (see suite/quality.py); a VAE's test-set
    fit is measured on as many test images."""
    purpose: str


PROFILES: dict[str, Profile] = {
    p.name: p
    for p in (
        Profile("smoke", 512, 2, BATCH_SIZE, 16, 500, "a few hundred images for tests and CI"),
        Profile("quick", 3200, 3, BATCH_SIZE, 64, 2000, "a training subset; one backend's 15 cells in ~10-15 min"),
        Profile("paper", None, 50, BATCH_SIZE, 100, 10000, "the paper's setting: all 60,000 images, 50 epochs"),
    )
}
