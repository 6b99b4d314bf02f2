"""The history's page: step time per model across version sets, a line per backend, and the changes found."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from suite.files import atomic_write
from suite.history import history
from suite.report import figures
from suite.report.formatting import interval, times
from suite.report.loading import model_order
from suite.report.page import Block, Bullets, Figure, Heading, Table, Text, to_html, to_markdown


def history_figure(points: pd.DataFrame) -> plt.Figure:
    """Per model, the median step time of each run against its version set, a line per backend; the bar spans
    the run's cells (processes)."""
    title = "Steady step time across versions (a point per run, its bar the range of its cells)"
    if points.empty:
        return figures.nothing(title, "no run has a steady step time")
    models = model_order(points.model)
    fig, axes = plt.subplots(len(models), 1, figsize=(9, 2.6 * len(models)), squeeze=False)
    for ax, model in zip(axes[:, 0], models, strict=True):
        rows = points[points.model == model]
        for backend, series in rows.groupby("backend", sort=False):
            x = np.arange(len(series))
            low = [min(s) for s in series.steps_s]
            high = [max(s) for s in series.steps_s]
            ax.errorbar(
                x,
                series.step_s,
                yerr=[series.step_s - low, high - series.step_s],
                marker="o",
                color=figures.PALETTE[backend],
                label=backend,
                capsize=2,
            )
            ax.set_xticks(x, series.version_set, rotation=20, ha="right", fontsize=7)
        ax.set(ylabel="s per step", title=model)
        ax.legend(fontsize=7)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def change_lines(changes: pd.DataFrame) -> list[str]:
    return [
        f"{r.model} on {r.backend}: {r.kind} from {r.before} to {r.after}, {times(r.ratio)} "
        f"({interval(r.ci_low, r.ci_high, r.ci_level)}, Welch's t on log step times of "
        f"{r.processes_before} and {r.processes_after} processes)"
        for r in changes.itertuples()
    ]


def write_history(folders: list[Path], out: Path, threshold: float) -> tuple[Path, pd.DataFrame, pd.DataFrame]:
    """Write history.csv, changes.csv, history.md and history.html into `out`."""
    points, changes = history(folders, threshold)
    out.mkdir(parents=True, exist_ok=True)
    blocks: list[Block] = [
        Heading("gvbench history", 1),
        Text(
            f"{len(points)} runs of {points.groupby(['backend', 'model']).ngroups if len(points) else 0} model × "
            "backend series, ordered by version set (Keras, then the backend), then by when they ran. Change points: "
            f"ruptures' PELT on the log step times, kept where Welch's t interval of the ratio of the cells after to "
            f"the cells before (at a Bonferroni level for the places it chose among) lies wholly beyond "
            f"{times(threshold)}, either way."
        ),
        Heading("Changes", 2),
        Bullets(
            change_lines(changes) or ["none beyond the threshold that the noise between processes could not explain"]
        ),
        Figure(figures.save(history_figure(points), out, "history"), "Step time across versions"),
    ]
    if len(changes):
        blocks.append(Table(changes, ".3g"))
    shown = points.drop(columns="steps_s").assign(processes=points.steps_s.map(len)) if len(points) else points
    blocks += [Heading("Every run", 2), Table(shown, ".4g")]
    for name, frame in (("history.csv", shown), ("changes.csv", changes)):
        with atomic_write(out / name) as f:
            f.write(frame.to_csv(index=False).encode())
    with atomic_write(out / "history.md") as f:
        f.write(to_markdown(blocks, out).encode())
    with atomic_write(out / "history.html") as f:
        f.write(to_html(blocks, "gvbench history").encode())
    return out, points, changes
