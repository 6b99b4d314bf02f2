"""A cell (backend, model, variant, lr, profile, seed) and the grid of cells one command runs."""

from __future__ import annotations

import itertools
from dataclasses import asdict, dataclass

from suite.profiles import PROFILES

BACKENDS = ("tensorflow", "torch", "jax")
LEARNING_RATES = (1e-4, 1e-5, 1e-6)
FULL_TRAIN = 60000
"""Training images of MNIST: an epoch of a profile without `train_images`."""


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
    impl: str = "keras"
    jit: str = "auto"

    @property
    def cell_id(self) -> str:
        """Readable and unique: backend.model.variant.lr.profile.seed.epochs[.native][.jit-on|.jit-off]."""
        cell_id = f"{self.backend}.{self.model}.{self.variant}.lr{self.lr:g}.{self.profile}.s{self.seed}.e{self.epochs}"
        if self.impl != "keras":
            cell_id += f".{self.impl}"
        if self.jit != "auto":
            cell_id += f".jit-{self.jit}"
        return cell_id

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
    impls: tuple[str, ...] = ("keras",),
    jits: tuple[str, ...] = ("auto",),
) -> list[Cell]:
    """Every model × learning rate × implementation × compile mode for one backend, in a stable order."""
    epochs = epochs or PROFILES[profile].epochs
    return [
        Cell(backend, model, variant, lr, profile, seed, epochs, threads, impl, jit)
        for model, lr, impl, jit in itertools.product(models, lrs, impls, jits)
    ]
