"""Cost: what the `paper` grid would take, estimated from this profile's measured step times."""

from __future__ import annotations

import pandas as pd

from suite.formatting import number
from suite.report import tables
from suite.report.frames import ProfileFrames
from suite.report.page import Block, Heading, Table, Text


def cost_text(cost: pd.DataFrame) -> str:
    """Per backend: estimated cell-hours of the paper grid (5 models × 3 learning rates)."""
    totals = cost.groupby("backend", sort=False).paper_model_cell_h.sum()
    parts = ", ".join(f"{backend} {number(hours)}" for backend, hours in totals.items())
    return (
        "Estimated from this profile's steady-state seconds per step, scaled to 50 epochs × 469 steps, plus the "
        "measured first-epoch excess and time outside epochs (`paper-cost.csv`). Cell-hours of the whole grid "
        f"(every model × 3 learning rates) per backend: {parts}. With one cell per node, N nodes need about "
        "max(longest cell, total ÷ N)."
    )


def glance(frames: ProfileFrames) -> list[Block]:
    return []


def paper_cost(frames: ProfileFrames) -> pd.DataFrame:
    """The profile's rows of paper-cost.csv, computed once."""
    return frames.once(
        "paper_cost", lambda f: tables.paper_cost(f.chosen, f.all_epochs, f.summary.assign(profile=f.profile))
    )


def blocks(frames: ProfileFrames) -> list[Block]:
    cost = paper_cost(frames)
    if not len(cost) or frames.profile == "paper":
        return []
    return [Heading("What the `paper` grid would take", 3), Text(cost_text(cost)), Table(cost.drop(columns="profile"))]


def csvs(frames: ProfileFrames) -> dict[str, pd.DataFrame]:
    return {"paper-cost.csv": paper_cost(frames)}
