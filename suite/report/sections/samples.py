"""Samples: each cell's generated digits side by side across backends, and the VAEs' reconstructions of test images."""

from __future__ import annotations

import textwrap
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd

from architectures import FAMILIES, get_spec
from suite.choices import BACKENDS, COMPLETED, MISSING
from suite.formatting import lr_label
from suite.report import figures
from suite.report.frames import ProfileFrames
from suite.report.page import Block, Details, Figure, Heading
from suite.report.sample_files import saved_samples, tile
from suite.store.loading import MODEL_OF, model_order

SAMPLES_DPI = 80
"""Image grids: about one screen pixel per image pixel (a tile is 112 pixels square)."""


def image_grid(title: str, rows: list[str], columns: list[str], panels: dict, notes: dict) -> plt.Figure:
    """A grid of sample tiles; `panels[(row, column)]` an image array, else `notes[(row, column)]` says why not."""
    width = max(1.7 * len(columns), 3.4)
    fig, axes = plt.subplots(len(rows), len(columns), figsize=(width, 1.7 * len(rows) + 0.8), squeeze=False)
    for i, row in enumerate(rows):
        for j, column in enumerate(columns):
            ax = axes[i, j]
            ax.set_xticks([])
            ax.set_yticks([])
            ax.grid(False)
            if (row, column) in panels:
                ax.imshow(tile(panels[(row, column)]), cmap="gray", vmin=0, vmax=255, interpolation="nearest")
            else:
                ax.set_facecolor("#f3f3f3")
                ax.text(0.5, 0.5, notes.get((row, column), MISSING), ha="center", va="center", transform=ax.transAxes)
            if i == 0:
                ax.set_title(column, fontsize=10)
            if j == 0:
                ax.set_ylabel(row, fontsize=9)
    fig.suptitle(textwrap.fill(title, int(width * 9)), y=1.0)  # a one-backend grid is narrower than its title
    fig.tight_layout()
    return fig


def sample_figures(root: Path, grid: pd.DataFrame, folder: Path, profile: str) -> list[list[Figure]]:
    """Per learning rate, highest first: generated samples (models × backends) and VAE reconstructions."""
    found = []
    seed = grid.seed.min()
    # Only the backends that ran any cell: a backend the run never asked for gets no column of "missing" panels.
    ran = [b for b in BACKENDS if b in set(grid[grid.status != MISSING].backend)] or list(BACKENDS)
    for lr in sorted(grid.lr.unique(), reverse=True):
        cells = grid[(grid.lr == lr) & (grid.seed == seed)]
        at_lr = []
        for family in FAMILIES.values():
            labels = [m for m in model_order(cells.label) if get_spec(MODEL_OF[m]).family == family]
            if not labels:
                continue
            panels, notes, inputs, recon = {}, {}, {}, {}
            for row in cells[cells.label.isin(labels)].itertuples():
                arrays = saved_samples(root, pd.Series(row._asdict()))
                if arrays is None:
                    notes[(row.label, row.backend)] = row.status if row.status not in COMPLETED else "no samples file"
                    continue
                panels[(row.label, row.backend)] = arrays["generated"]
                if "inputs" in arrays:
                    inputs[row.label] = arrays["inputs"]
                    recon[(row.label, row.backend)] = arrays["reconstructed"]
            lr_text = lr_label(lr)
            title = f"{family.name.upper()} samples, lr {lr_text}, profile {profile} (same noise on every backend)"
            fig = image_grid(title, labels, ran, panels, notes)
            name = f"samples-{family.name}-lr{lr_text}"
            at_lr.append(Figure(figures.save(fig, folder, name, SAMPLES_DPI), title))
            if family.reconstructs:
                panels = {(m, "input"): images for m, images in inputs.items()}
                panels |= recon
                title = f"VAE reconstructions of the first test images, lr {lr_text}, profile {profile}"
                fig = image_grid(title, labels, ["input", *ran], panels, notes)
                name = f"reconstructions-lr{lr_text}"
                at_lr.append(Figure(figures.save(fig, folder, name, SAMPLES_DPI), title))
        found.append(at_lr)
    return found


def blocks(frames: ProfileFrames) -> list[Block]:
    """The highest learning rate's sample grids on the page; the other learning rates' folded away."""
    grid = frames.grid
    per_lr = sample_figures(frames.root, grid, frames.folder, frames.profile)
    if not per_lr:
        return []
    lrs = [lr_label(lr) for lr in sorted(grid.lr.unique(), reverse=True)]
    page: list[Block] = [Heading("Samples", 3), *per_lr[0]]
    page += [
        Details(f"Samples at lr {lr} ({len(shown)} grids)", shown)
        for lr, shown in zip(lrs[1:], per_lr[1:], strict=True)
    ]
    return page


def glance(frames: ProfileFrames) -> list[Block]:
    return []


def csvs(frames: ProfileFrames) -> dict[str, pd.DataFrame]:
    return {}
