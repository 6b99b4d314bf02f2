"""First epoch: what tracing and compiling cost, as the first epoch's seconds beyond a steady-state epoch."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns

from suite.choices import BACKENDS
from suite.formatting import number, signed, times
from suite.report import figures
from suite.report.frames import ProfileFrames
from suite.report.page import Block, Bullets, Figure, Text
from suite.store.loading import model_order


def compile_lines(summary: pd.DataFrame) -> list[str]:
    lines = []
    timed = summary.dropna(subset=["first_epoch_s", "steady_epoch_s"])
    for backend in BACKENDS:
        group = timed[timed.backend == backend]
        if group.empty:
            continue
        ratio = (group.first_epoch_s / group.steady_epoch_s).median()
        excess = group.compile_overhead_s.median()
        lines.append(
            f"{backend}: epoch 1 takes {number(abs(excess))} s {'more' if excess >= 0 else 'less'} than a steady "
            f"epoch (median over {len(group)} models; {times(ratio)} a steady epoch; "
            f"range {signed(group.compile_overhead_s.min())} .. {signed(group.compile_overhead_s.max())} s)"
        )
    return lines


def first_epoch_excess(summary: pd.DataFrame) -> plt.Figure:
    """What tracing/compiling costs: the first epoch's seconds beyond a steady-state epoch, per model and backend."""
    title = "First epoch minus steady-state epoch (tracing, compiling, warm-up), median over learning rates and seeds"
    timed = summary.dropna(subset=["compile_overhead_s"])
    if timed.empty:
        return figures.nothing(title, "no cell finished ok with two or more epochs")
    models, backends = model_order(timed.model), figures.backends_in(timed)
    fig, ax = plt.subplots(figsize=(9, 0.75 * len(models) + 1.4))
    sns.barplot(
        timed,
        y="model",
        x="compile_overhead_s",
        hue="backend",
        order=models,
        hue_order=backends,
        palette=figures.PALETTE,
        orient="h",
        saturation=1,
        ax=ax,
    )
    for container in ax.containers:
        ax.bar_label(container, labels=[f"{signed(v)} s" for v in container.datavalues], padding=3, fontsize=8)
    ax.axvline(0, color="0.3", linewidth=0.8)
    ax.margins(x=0.15)
    ax.set(title=title, xlabel="seconds more than a steady-state epoch (linear)", ylabel="")
    ax.title.set_fontsize(10)
    ax.legend(title="backend", fontsize=8, title_fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1))
    ax.grid(axis="y", visible=False)
    return fig


def glance(frames: ProfileFrames) -> list[Block]:
    return [
        Text("What tracing/compiling costs (first epoch against steady state):"),
        Bullets(compile_lines(frames.summary) or ["no backend has a first and a steady epoch"]),
    ]


def blocks(frames: ProfileFrames) -> list[Block]:
    fig = first_epoch_excess(frames.summary)
    return [Figure(figures.save(fig, frames.folder, "first-epoch-excess"), "First epoch minus steady-state epoch")]


def csvs(frames: ProfileFrames) -> dict[str, pd.DataFrame]:
    return {}
