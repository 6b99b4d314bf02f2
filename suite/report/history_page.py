"""The history's page: step time, first epoch and memory per model × backend across version sets, and the changes."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from suite.formatting import interval, number, percent, times
from suite.history import history, not_run, read_cells, run_order, sensitivity
from suite.report import figures
from suite.report.page import Block, Bullets, Figure, Heading, Table, Text, write_page
from suite.store.loading import model_order

MEASURES = (
    (
        "step_s",
        "steady s per step",
        "geometric mean of the rounds (each the median of its processes); bar: the t interval over rounds, 95%",
    ),
    ("first_epoch_s", "first epoch s", "median of the processes (tracing/compiling included)"),
    ("train_memory_mb", "training MiB", "median memory training added to its process"),
)


def history_figure(points: pd.DataFrame) -> plt.Figure:
    """Per model × backend, a row: steady step time with its interval, first-epoch time and training memory, across
    version sets (a point per set, over all its runs)."""
    title = "Across versions: a point per version set, over its rounds"
    if points.empty:
        return figures.nothing(title, "no run has a steady step time")
    panels = [(m, b) for m in model_order(points.model) for b in points[points.model == m].backend.unique()]
    fig, axes = plt.subplots(len(panels), 3, figsize=(13, 2.8 * len(panels)), squeeze=False)
    for row, (model, backend) in zip(axes, panels, strict=True):
        mine = points[(points.model == model) & (points.backend == backend)]
        for label, series in mine.groupby(["profile", "impl", "jit", "mode", "variant"], sort=False):
            x = np.arange(len(series))
            for ax, (column, ylabel, _) in zip(row, MEASURES, strict=True):
                errors = None
                if column == "step_s":
                    low = (series.step_s - series.step_ci_low).fillna(0).clip(lower=0)
                    high = (series.step_ci_high - series.step_s).fillna(0).clip(lower=0)
                    errors = [low, high]
                ax.errorbar(
                    x,
                    series[column],
                    yerr=errors,
                    marker="o",
                    color=figures.PALETTE[backend],
                    label=" ".join(map(str, label)),
                    capsize=2,
                )
                ax.set_xticks(x, series.version_set, rotation=20, ha="right", fontsize=7)
                ax.set(ylabel=ylabel, title=f"{model} on {backend}: {ylabel}")
                ax.title.set_fontsize(9)
        row[0].legend(fontsize=7)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def change_lines(changes: pd.DataFrame) -> list[str]:
    return [
        f"{r.model} on {r.backend}, {r.sweep}: {r.kind} from {r.before} to {r.after}, {times(r.ratio)} "
        f"({interval(r.ci_low, r.ci_high, r.ci_level)}, t on log step times, rounds' spread pooled, "
        f"{r.rounds_before} and {r.rounds_after} rounds)"
        for r in changes.itertuples()
    ]


def sensitivity_line(row) -> str:
    """What one sweep's rule finds 80% of the time, simulated at its noise between rounds."""
    what = f"{row.model} on {row.backend}, {row.sweep} ({row.versions} versions, rounds {row.rounds})"
    if np.isnan(row.detects_from):
        return f"{what}: no set ran two rounds, so its noise, and what it could find, are unknown"
    if np.isinf(row.detects_from):
        return (
            f"{what}: at its noise between rounds (sd {number(row.round_sd, 'spread')} of log time) no step up to 5× "
            f"is found {percent(row.power)} of the time"
        )
    return (
        f"{what}: a step of {times(row.detects_from)} or more between neighbouring versions is found "
        f"{percent(row.power)} of the time (simulated at its noise between rounds, sd {number(row.round_sd, 'spread')} "
        "of log time); a smaller one may "
        "go unseen"
    )


def order_text(order: list[str], points: pd.DataFrame) -> str:
    """The order the runs were made in, and the spread between the runs of one version set (drift and noise)."""
    if not order:
        return "No runs."
    text = f"The runs, in the order they were made: {' → '.join(order)}."
    repeated = points[points.runs > 1] if len(points) else points
    if len(repeated):
        low, high = repeated.run_spread.min(), repeated.run_spread.max()
        text += (
            f" The same version set's runs lie {times(low)} to {times(high)} apart (largest ÷ smallest run median, "
            f"over {len(repeated)} series × set with more than one run): what the machine's drift and noise "
            "between rounds alone move a point by; a change has to stand beyond it."
        )
    else:
        text += (
            " No version set ran more than once, so the machine's drift during the runs is not measured "
            "(`gvbench versions --rounds 2` runs each set forward, then backward)."
        )
    return text


def write_history(folders: list[Path], out: Path, threshold: float) -> tuple[Path, pd.DataFrame, pd.DataFrame]:
    """Write history.csv, changes.csv, history.md and history.html into `out`."""
    cells = read_cells(folders)
    points, changes = history(folders, threshold, cells)
    out.mkdir(parents=True, exist_ok=True)
    missing, order = not_run(cells, folders), run_order(folders, cells)
    blocks: list[Block] = [
        Heading("gvbench history", 1),
        Text(
            f"{len(points)} points of {points.groupby(['backend', 'model']).ngroups if len(points) else 0} model × "
            "backend series, a point per version set (all its runs), ordered by version (Keras, then the backend). "
            "Change points: "
            "ruptures' PELT on the log point values (penalty on the scale of one point's noise), kept where "
            "the t interval of the ratio of the rounds after to the rounds before (the spread between rounds pooled "
            "over the sweep; at a Bonferroni level for the "
            f"places it chose among) lies wholly beyond {times(threshold)}, either way. The round is the replicate: "
            "a round's processes ran back to back in one state of the machine, so they are not independent of "
            "one another; a round's value is the median of its processes."
        ),
        Heading("Changes", 2),
        Bullets(change_lines(changes) or ["none beyond the threshold that the noise between rounds could not explain"]),
        Figure(figures.save(history_figure(points), out, "history"), "Step time across versions"),
        Text("In the figure, " + "; ".join(f"{y}: {what}" for _, y, what in MEASURES) + "."),
    ]
    if len(changes):
        blocks.append(Table(changes, "value"))
    seen = sensitivity(points, threshold)
    if len(seen):
        blocks += [
            Heading("What each sweep could have found", 2),
            Bullets([sensitivity_line(r) for r in seen.itertuples()]),
        ]
    moded = points[points.modes != ""] if len(points) else points
    if len(moded):
        blocks += [
            Heading("Modes", 2),
            Text("Where a set's processes fall into two modes, a median between them describes no process:"),
            Bullets([f"{r.model} on {r.backend}, {r.version_set}: {r.modes}" for r in moded.itertuples()]),
        ]
    blocks += [Heading("How the runs were ordered", 2), Text(order_text(order, points))]
    if len(missing):
        blocks += [
            Heading("Version sets and cells that gave no step time", 2),
            Text("Recorded, not left out: a set that did not install or import, and cells that did not end ok."),
            Table(missing, "value"),
        ]
    shown = points.drop(columns="runs_s") if len(points) else points
    blocks += [Heading("Every point", 2), Table(shown, "precise")]
    csvs = {"history.csv": shown, "changes.csv": changes, "sensitivity.csv": seen}
    write_page(out, "history", "gvbench history", blocks, csvs)
    return out, points, changes
