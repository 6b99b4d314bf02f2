"""The grid of cells one command runs."""

from __future__ import annotations

import itertools
import random
import zlib
from dataclasses import dataclass

from architectures import get_spec
from architectures.spec import noise_rows
from suite.choices import KERAS2, KERAS2_BACKENDS
from suite.contract import Cell
from suite.profiles import PROFILES

LEARNING_RATES = (1e-4, 1e-5, 1e-6)
PAPER_LR = "paper"
"""`--lrs paper`: each model at the rate its authors ran it at (`ModelSpec.paper_lr`)."""
FULL_TRAIN = 60000
"""Training images of MNIST: an epoch of a profile without `train_images`."""


def make_grid(
    backend: str,
    models: list[str],
    lrs: list[float | str],
    variant: str,
    profile: str,
    seeds: list[int],
    threads: int,
    epochs: int | None = None,
    impls: tuple[str, ...] = ("keras",),
    jits: tuple[str, ...] = ("auto",),
    mode: str = "independent",
    budget_s: float | None = None,
) -> list[Cell]:
    """Every model × learning rate × seed × implementation × compile mode for one backend, in a stable order.

    Each model trains the profile's epochs for it (`Profile.epochs_for`) unless `epochs` overrides them all;
    `PAPER_LR` among `lrs` stands for the model's own paper rate. Keras 2 (`tf_keras`) has cells on TensorFlow only.
    """
    impls = tuple(i for i in impls if i != KERAS2 or backend in KERAS2_BACKENDS)
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
            mode,
            budget_s if PROFILES[profile].eval_every else None,
        )
        for model in models
        for lr, seed, impl, jit in itertools.product(model_lrs(model, lrs), seeds, impls, jits)
    ]


def model_lrs(model: str, lrs: list[float | str]) -> list[float]:
    """`lrs` for `model`, with `PAPER_LR` replaced by its paper rate, each rate once."""
    return list(dict.fromkeys(get_spec(model).paper_lr if lr == PAPER_LR else lr for lr in lrs))


def lockstep_problem(models: list[str], variant: str, profile: str, impls: tuple[str, ...]) -> str | None:
    """Why these cells cannot run in lockstep, or None.

    Lockstep feeds each step's noise beside its images, a row per image; a variant that draws a fixed
    number of noise rows cannot take a partial last batch that way."""
    if "native" in impls:
        return "--lockstep trains the Keras models only; drop --impl native"
    settings = PROFILES[profile]
    last = (settings.train_images or FULL_TRAIN) % settings.batch_size
    for model in models:
        if last and noise_rows(get_spec(model, variant), last) != last:
            return (
                f"--lockstep cannot feed {model} ({variant}) its fixed {noise_rows(get_spec(model, variant), last)} "
                f"noise rows in the last batch of {last} images under --profile {profile}; use --variant paper"
            )
    return None


def target_problem(profile: str, impls: tuple[str, ...], budget: bool, epochs: bool) -> str | None:
    """Why these time-to-target settings cannot run, or None."""
    if not PROFILES[profile].eval_every:
        return f"--budget needs --profile target ({profile} trains its epochs and scores once)" if budget else None
    if others := sorted(set(impls) - {"keras"}):
        return f"--profile target trains the Keras 3 models only; drop --impl {' '.join(others)}"
    if budget and epochs:
        return "give the epochs in --budget (e.g. --budget 20epochs) or --epochs, not both"
    return None


def keras2_problem(backends: list[str], impls: tuple[str, ...]) -> str | None:
    """Why these backends cannot run Keras 2 (`tf_keras`) cells, or None: it runs on TensorFlow alone; beside
    another implementation it runs there and the others run on every backend."""
    if KERAS2 not in impls:
        return None
    others = [b for b in backends if b not in KERAS2_BACKENDS]
    if (others and impls == (KERAS2,)) or not set(backends) & set(KERAS2_BACKENDS):
        where = ", ".join(KERAS2_BACKENDS)
        return f"--impl {KERAS2} (Keras 2) runs on {where} only, not {', '.join(others)}; pass --backend {where}"
    return None


ORDERS = ("interleaved", "sequential")
"""`--order`: randomised blocks (each block the backends' cells of one model × lr × seed × implementation × compile
mode, in a random order, the blocks in a random order too), or backend after backend as the grid lists them."""


@dataclass(frozen=True)
class Placed:
    """A cell with its place in the run: its block and its 1-based position in the whole grid's order."""

    cell: Cell
    block: int
    position: int


def block_key(cell: Cell) -> tuple:
    """What the cells of one block share: everything but the backend, the factor a run compares, and but the Keras
    (a Keras 2 cell joins the block of its Keras 3 cells, the comparison it runs for)."""
    keras = "keras" if cell.impl == KERAS2 else cell.impl
    return (cell.model, cell.variant, cell.lr, cell.profile, cell.seed, cell.epochs, keras, cell.jit, cell.mode)


def ordered(cells: list[Cell], order: str) -> list[Placed]:
    """The cells in the order they run: `interleaved` (a randomised complete block design, so that a drift of the
    machine over the run is spread over every backend instead of read as a difference between them) or
    `sequential` (as listed, a block per backend). The random order is drawn from the grid itself, so a run that
    resumes continues the same order."""
    if order not in ORDERS:
        raise ValueError(f"unknown order {order!r}; choose one of {', '.join(ORDERS)}")
    if order == "sequential":
        blocks = {cell.backend: [] for cell in cells}
        for cell in cells:
            blocks[cell.backend].append(cell)
        groups = list(blocks.values())
    else:
        keyed: dict[tuple, list[Cell]] = {}
        for cell in sorted(cells, key=lambda c: c.cell_id):  # the same grid listed in any order: the same run
            keyed.setdefault(block_key(cell), []).append(cell)
        rng = random.Random(zlib.crc32(" ".join(sorted(c.cell_id for c in cells)).encode()))
        groups = [rng.sample(group, len(group)) for group in keyed.values()]
        rng.shuffle(groups)
    placed, position = [], 0
    for block, group in enumerate(groups, 1):
        for cell in group:
            position += 1
            placed.append(Placed(cell, block, position))
    return placed
