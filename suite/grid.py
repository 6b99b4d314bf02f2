"""The grid of cells one command runs."""

from __future__ import annotations

import itertools

from suite.contract import Cell
from suite.profiles import PROFILES

LEARNING_RATES = (1e-4, 1e-5, 1e-6)
FULL_TRAIN = 60000
"""Training images of MNIST: an epoch of a profile without `train_images`."""


def make_grid(
    backend: str,
    models: list[str],
    lrs: list[float],
    variant: str,
    profile: str,
    seeds: list[int],
    threads: int,
    epochs: int | None = None,
    impls: tuple[str, ...] = ("keras",),
    jits: tuple[str, ...] = ("auto",),
) -> list[Cell]:
    """Every model × learning rate × seed × implementation × compile mode for one backend, in a stable order.

    Each model trains the profile's epochs for it (`Profile.epochs_for`) unless `epochs` overrides them all.
    """
    return [
        Cell(
            backend,
            model,
            variant,
            lr,
            profile,
            seed,
            epochs or PROFILES[profile].epochs_for(model),
            threads,
            impl,
            jit,
        )
        for model, lr, seed, impl, jit in itertools.product(models, lrs, seeds, impls, jits)
    ]
