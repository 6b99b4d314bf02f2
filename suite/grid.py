"""A cell (backend, model, variant, lr, profile, seed) and the grid of cells one command runs."""

from __future__ import annotations

import itertools
from dataclasses import asdict, dataclass

from suite.profiles import PROFILES

BACKENDS = ("tensorflow", "torch", "jax")
LEARNING_RATES = (1e-4, 1e-5, 1e-6)


@dataclass(frozen=True)
class Cell:
    backend: str
    model: str
    variant: str
    lr: float
    profile: str
    seed: int
    epochs: int
    threads: int

    @property
    def cell_id(self) -> str:
        """Readable and unique within a run: backend.model.variant.lr.profile.seed.epochs."""
        return f"{self.backend}.{self.model}.{self.variant}.lr{self.lr:g}.{self.profile}.s{self.seed}.e{self.epochs}"

    @property
    def batch_size(self) -> int:
        return PROFILES[self.profile].batch_size

    @property
    def train_images(self) -> int | None:
        return PROFILES[self.profile].train_images

    @property
    def sample_images(self) -> int:
        return PROFILES[self.profile].sample_images

    @property
    def quality_images(self) -> int:
        return PROFILES[self.profile].quality_images

    def to_dict(self) -> dict:
        return asdict(self) | {"cell_id": self.cell_id}


def make_grid(
    backend: str,
    models: list[str],
    lrs: list[float],
    variant: str,
    profile: str,
    seed: int,
    threads: int,
    epochs: int | None = None,
) -> list[Cell]:
    """Every model × learning rate for one backend, in a stable order."""
    epochs = epochs or PROFILES[profile].epochs
    return [
        Cell(backend, model, variant, lr, profile, seed, epochs, threads)
        for model, lr in itertools.product(models, lrs)
    ]
