"""Speed: which backend trains each model fastest, in steady-state seconds per epoch, and by how much."""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from suite.report import figures, tables
from suite.report.formatting import bracketed, has_interval, interval, level, number, times
from suite.report.frames import ProfileFrames
from suite.report.loading import model_order
from suite.report.page import Block, Bullets, Details, Figure, Heading, Table, Text

SUMMARY_TEXT = (
    "Per model and backend: median of steady-state epoch seconds (epochs 2..N of every ok cell) with its "
    "order-statistic interval, and IQR; ratio to the fastest backend (none for the fastest itself) with the exact "
    "Mann–Whitney interval of the shift of log epoch times; each interval's real confidence in its `_level` column "
    "(95% or more where the epochs allow; fewer epochs give less, and say so). The epochs of the cells run are the "
    "replicates: the intervals leave out the noise between processes, which only more processes measure. Also: "
    "median first-epoch seconds and its excess over steady state; median training images per second; the memory "
    "training adds to its process; each learning rate's status. Where a model has two or more cells per backend "
    "(learning rates and seeds do not change what a step computes), each cell is a process of its own: "
    "`between_process_cv` is the spread of their medians, and `ratio_process_ci_*` Welch's t interval of the ratio "
    'across them (95%), which the "At a glance" lines use. `summary.csv` also holds the final losses.'
)


def interval_text(low: float, high: float, confidence: float, fmt: str = ".3g") -> str:
    """`95% CI a–b` at its real confidence, or a note that there were too few epochs for one."""
    if not has_interval(low):
        return "no CI: fewer than 2 steady epochs"
    return interval(low, high, confidence, fmt)


def slower_text(row) -> str:
    """`torch 1.60× slower (95% CI 1.41–1.83 over 5 processes each)`, or that the difference is within the noise.

    Across processes where each backend has two or more (the interval then holds the noise between processes), else
    across the epochs of one process, which says so."""
    text = f"{row.backend} {times(row.ratio_to_fastest, '.2f')}"
    if has_interval(row.ratio_process_ci_low):
        low, high = row.ratio_process_ci_low, row.ratio_process_ci_high
        ci = interval(low, high, row.ratio_process_ci_level, ".2f")
        ci += f" across processes, {row.processes:.0f} of this backend"
    elif has_interval(row.ratio_ci_low):
        low, high = row.ratio_ci_low, row.ratio_ci_high
        ci = f"{interval(low, high, row.ratio_ci_level, '.2f')} across one process's epochs, not its reruns"
    else:
        return f"{text} slower (no CI: fewer than 2 steady epochs)"
    if low <= 1 <= high:
        return f"{text} ({ci}: not told apart from the fastest)"
    return f"{text} {'slower' if low > 1 else 'faster'} ({ci})"


def fastest_lines(summary: pd.DataFrame) -> list[str]:
    lines = []
    for model, group in summary.dropna(subset=["steady_epoch_median_s"]).groupby("model", sort=False):
        ranked = group.sort_values("steady_epoch_median_s")
        best = ranked.iloc[0]
        others = ", ".join(slower_text(r) for r in ranked.iloc[1:].itertuples())
        ci = interval_text(best.steady_epoch_ci_low_s, best.steady_epoch_ci_high_s, best.steady_epoch_ci_level)
        line = f"{model}: {best.backend} is fastest ({number(best.steady_epoch_median_s)} s/epoch, {ci})"
        lines.append(line + (f"; {others}" if others else "; no other backend has a timing"))
    return lines


def ratio_label(row) -> str:
    """A point's label: `fastest`, or its ratio to the fastest with the ratio's interval and its confidence."""
    if pd.isna(row.ratio_to_fastest):
        return ""
    if row.ratio_to_fastest == 1:
        return "fastest"
    if has_interval(getattr(row, "ratio_process_ci_low", math.nan)):
        ci = bracketed(row.ratio_process_ci_low, row.ratio_process_ci_high, ".2f")
        return f"{times(row.ratio_to_fastest, '.2f')}\n{ci} {level(row.ratio_process_ci_level)} (processes)"
    if not has_interval(row.ratio_ci_low):
        return times(row.ratio_to_fastest, ".2f")
    ci = bracketed(row.ratio_ci_low, row.ratio_ci_high, ".2f")
    return f"{times(row.ratio_to_fastest, '.2f')}\n{ci} {level(row.ratio_ci_level)} (epochs)"


def headline(summary: pd.DataFrame) -> plt.Figure:
    """Median steady-state epoch time per model and backend: a dot, its interval and its ratio to the fastest."""
    title = "Steady-state seconds per epoch (median of epochs 2..N over learning rates and seeds; line: its CI)"
    timed = summary.dropna(subset=["steady_epoch_median_s"])
    if timed.empty:
        return figures.nothing(title, "no cell finished ok with two or more epochs")
    models, backends = model_order(timed.model), figures.backends_in(timed)
    fig, ax = plt.subplots(figsize=(9, 0.9 * len(models) + 1.4))
    offsets = dict(zip(backends, np.linspace(-0.25, 0.25, len(backends)) if len(backends) > 1 else [0.0], strict=True))
    for row in timed.itertuples():
        y = models.index(row.model) + offsets[row.backend]
        low = row.steady_epoch_median_s - row.steady_epoch_ci_low_s if pd.notna(row.steady_epoch_ci_low_s) else 0
        high = row.steady_epoch_ci_high_s - row.steady_epoch_median_s if pd.notna(row.steady_epoch_ci_high_s) else 0
        ax.errorbar(
            row.steady_epoch_median_s,
            y,
            xerr=[[low], [high]],
            fmt="o",
            color=figures.PALETTE[row.backend],
            markersize=6,
            capsize=2,
        )
        label = f"{number(row.steady_epoch_median_s)} s · " + ratio_label(row).replace("\n", " ")
        right = row.steady_epoch_ci_high_s if pd.notna(row.steady_epoch_ci_high_s) else row.steady_epoch_median_s
        ax.annotate(label, (right, y), xytext=(5, 0), textcoords="offset points", va="center", fontsize=8)
    ax.set_yticks(range(len(models)), models)
    ax.set_ylim(len(models) - 0.5, -0.5)
    span = timed.steady_epoch_ci_high_s.fillna(timed.steady_epoch_median_s)
    low = timed.steady_epoch_ci_low_s.fillna(timed.steady_epoch_median_s).min() / 1.5
    figures.log_seconds_axis(ax, low, span.max() * 6)
    ax.set(title=title, xlabel="seconds per steady-state epoch (log scale)", ylabel="")
    ax.title.set_fontsize(10)
    handles = [plt.Line2D([], [], marker="o", linestyle="", color=figures.PALETTE[b], label=b) for b in backends]
    ax.legend(
        handles=handles,
        title="backend\n(label: median, time ÷ fastest\n[CI] and its confidence)",
        fontsize=8,
        title_fontsize=8,
        loc="upper left",
        bbox_to_anchor=(1.01, 1),
    )
    ax.grid(axis="y", visible=False)
    return fig


def glance(frames: ProfileFrames) -> list[Block]:
    return [
        Text("Which backend is fastest for each model, and by how much:"),
        Bullets(fastest_lines(frames.summary) or ["no model has a steady-state timing"]),
    ]


def blocks(frames: ProfileFrames) -> list[Block]:
    summary = frames.summary
    found: list[Block] = [Heading("Speed", 3)]
    found.append(Figure(figures.save(headline(summary), frames.folder, "headline"), "Steady-state epoch time"))
    table = Table(summary[["model", "backend", *tables.TIMING_COLUMNS]])
    found.append(
        Details(f"The numbers behind it, and every timing column ({len(summary)} rows)", [Text(SUMMARY_TEXT), table])
    )
    return found


def csvs(frames: ProfileFrames) -> dict[str, pd.DataFrame]:
    return {}
