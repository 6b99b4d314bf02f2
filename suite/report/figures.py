"""Plotting helpers every section's figures share: seaborn on matplotlib's non-interactive Agg backend, one colour
per backend, files that are the same bytes for the same data, and a figure that says why it is empty."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import matplotlib.ticker  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402

from suite.choices import BACKENDS  # noqa: E402
from suite.formatting import number  # noqa: E402

PALETTE = dict(zip(BACKENDS, sns.color_palette("colorblind", len(BACKENDS)), strict=True))

sns.set_theme(style="whitegrid", context="notebook")
matplotlib.rcParams["svg.hashsalt"] = "gvbench"
"""SVG element ids from a fixed salt, and no date in the files: the same CSVs draw byte-identical figures."""


def save(fig: plt.Figure, folder: Path, name: str, dpi: int = 120) -> Path:
    """Write `name`.png and `name`.svg into `folder`; return the PNG's path."""
    folder.mkdir(parents=True, exist_ok=True)
    fig.savefig(folder / f"{name}.svg", bbox_inches="tight", metadata={"Date": None})
    fig.savefig(folder / f"{name}.png", dpi=dpi, bbox_inches="tight", metadata={"Software": None})
    plt.close(fig)
    return folder / f"{name}.png"


def nothing(title: str, why: str) -> plt.Figure:
    """A figure that says why there is nothing to draw, so no figure is silently absent."""
    fig, ax = plt.subplots(figsize=(6, 1.5))
    ax.set_axis_off()
    ax.set_title(title)
    ax.text(0.5, 0.4, why, ha="center", va="center", transform=ax.transAxes)
    return fig


def backends_in(frame: pd.DataFrame) -> list[str]:
    """The backends `frame` has rows of, in the usual order."""
    return [b for b in BACKENDS if b in set(frame.backend)]


LOG_TICKS = [0.01, 0.03, 0.1, 0.3, 1, 3, 10, 30, 100, 300, 1000, 3000]
"""Labelled ticks of a log time axis: every decade and its 3, so no span shows only two numbers."""


def log_seconds_axis(ax: plt.Axes, low: float, high: float) -> None:
    """A log x axis from `low` to `high` seconds with plain-number ticks (0.3, 1, 3, 10, ...)."""
    ax.set_xscale("log")
    ax.set_xlim(low, high)
    ticks = [t for t in LOG_TICKS if low <= t <= high]
    ax.set_xticks(ticks, [number(t, "tick") for t in ticks])
    ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())


def reference_lines(ax: plt.Axes, ref: pd.DataFrame, metric: str) -> None:
    """Dashed: the real digits' value of `metric`; dotted: uniform noise's (where the judge's references have it)."""
    if len(ref) and metric in ref.columns:
        ax.axhline(ref.loc["real", metric], color="0.3", linestyle="--", linewidth=1, label="real digits")
        ax.axhline(ref.loc["noise", metric], color="0.3", linestyle=":", linewidth=1, label="uniform noise")
