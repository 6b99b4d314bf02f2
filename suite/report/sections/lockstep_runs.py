"""Lockstep cells: how far apart the backends' runs are, step by step and at the end, from the same starting point.

In lockstep every backend starts from the same weights and sees the same data and noise
(`runners.lockstep`), so whatever separates their runs is floating-point arithmetic. A GAN is
chaotic, so its runs part; these tables and the figure show when and how fast.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import matplotlib.pyplot as plt
import matplotlib.ticker
import numpy as np
import pandas as pd
import seaborn as sns

from architectures import get_spec
from runners.native import init_weights
from suite.choices import BACKENDS, COMPLETED
from suite.formatting import lr_label, number, percent, span
from suite.report import figures
from suite.report.frames import ProfileFrames
from suite.report.page import Block, Bullets, Details, Figure, Heading, Table, Text
from suite.report.quality_frames import SHOWN
from suite.report.tables import in_order
from suite.store.derived import CELL_JOIN
from suite.store.loading import LOSSES, model_order

GROUP = ["profile", "label", "lr", "seed"]
"""Cells that ran in lockstep with one another: one per backend."""
PARTED = 0.01
"""A loss has parted when the backends' values at a step spread by more than this share of their mean."""
FLOOR = 1e-9
"""Spreads below this (identical float32 values) are drawn at it on the log axis."""


def spread(values: pd.Series) -> float:
    """(largest − smallest) ÷ mean absolute value; NaN with fewer than two values."""
    if values.count() < 2:
        return np.nan
    scale = values.abs().mean()
    return float(values.max() - values.min()) / scale if scale > 0 else 0.0


def lockstep_cells(chosen: pd.DataFrame) -> pd.DataFrame:
    return chosen[(chosen["mode"] == "lockstep") & chosen.status.isin(COMPLETED)]


def divergence(chosen: pd.DataFrame, steps: pd.DataFrame) -> pd.DataFrame:
    """Tidy: per lockstep group, loss and recorded step, the spread of the backends' losses at that step."""
    cells = lockstep_cells(chosen)
    if cells.empty or steps.empty:
        return pd.DataFrame(columns=[*GROUP, "loss", "step", "backends", "spread"])
    rows = steps[[*CELL_JOIN, "step", "metric", "value"]].merge(cells[[*CELL_JOIN, *GROUP]], on=CELL_JOIN)
    rows = rows.rename(columns={"metric": "loss"})
    found = rows.groupby([*GROUP, "loss", "step"]).value.agg(backends="count", spread=spread).reset_index()
    return found[found.backends > 1]


def relative_distance(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> float:
    """‖a − b‖ ÷ ‖b‖ over every array of `b` (NaN where b is all zeros)."""
    diff = sum(float(np.sum((a[k] - b[k]) ** 2)) for k in b)
    norm = sum(float(np.sum(b[k] ** 2)) for k in b)
    return float(np.sqrt(diff / norm)) if norm else np.nan


def _pairs(weights: dict[str, dict[str, np.ndarray]]) -> tuple[float, str]:
    """The largest relative distance between two backends' weights, and the pair."""
    worst, pair = 0.0, ""
    for a, b in itertools.combinations(weights, 2):
        distance = relative_distance(weights[a], weights[b])
        if distance >= worst:
            worst, pair = distance, f"{a} – {b}"
    return worst, pair


def _moved(spec_model: str, variant: str, seed: int, final: dict[str, np.ndarray]) -> float:
    """How far training moved the weights from where lockstep started them: ‖final − initial‖ ÷ ‖initial‖."""
    start = {
        f"weights/{name}/{i}": array
        for name, arrays in init_weights(get_spec(spec_model, variant), seed).items()
        for i, array in enumerate(arrays)
    }
    return relative_distance(final, start)


def final_weights(root: Path, chosen: pd.DataFrame) -> pd.DataFrame:
    """Per lockstep group: how far apart the backends' final weights are, against how far training moved them."""
    rows = []
    for key, group in lockstep_cells(chosen).groupby(GROUP, sort=False):
        weights = {}
        for row in group.itertuples():
            path = root / row.source / str(row.samples_file)
            if pd.isna(row.samples_file) or not path.is_file():
                continue
            with np.load(path) as arrays:
                weights[row.backend] = {k: arrays[k] for k in arrays.files if k.startswith("weights/")}
        weights = {b: weights[b] for b in BACKENDS if weights.get(b)}
        if len(weights) < 2:
            continue
        apart, pair = _pairs(weights)
        first = group.iloc[0]
        moved = _moved(first.model, first.variant, int(first.seed), next(iter(weights.values())))
        rows.append(dict(zip(GROUP, key, strict=True)) | {"weights_apart": apart, "pair": pair, "moved": moved})
    return pd.DataFrame(rows, columns=[*GROUP, "weights_apart", "pair", "moved"])


def parting(div: pd.DataFrame) -> pd.DataFrame:
    """Per lockstep group and loss: the spread at step 1, the first step past `PARTED`, and at the last step."""
    rows = []
    for key, group in div.groupby([*GROUP, "loss"], sort=False):
        group = group.sort_values("step")
        past = group[group.spread > PARTED]
        rows.append(
            dict(zip([*GROUP, "loss"], key, strict=True))
            | {
                "spread_step_1": group.spread.iloc[0] if group.step.iloc[0] == 1 else np.nan,
                "parted_at_step": int(past.step.iloc[0]) if len(past) else np.nan,
                "last_step": int(group.step.iloc[-1]),
                "spread_last_step": group.spread.iloc[-1],
            }
        )
    return pd.DataFrame(
        rows, columns=[*GROUP, "loss", "spread_step_1", "parted_at_step", "last_step", "spread_last_step"]
    )


def quality_spread(scored: pd.DataFrame) -> pd.DataFrame:
    """Per lockstep group and quality metric: the spread of the backends' values."""
    cells = scored[scored["mode"] == "lockstep"]
    metrics = [m for m in SHOWN if m in cells]
    if cells.empty or not metrics:
        return pd.DataFrame(columns=[*GROUP, "metric", "backends", "spread"])
    long = cells.melt(id_vars=[*GROUP, "backend"], value_vars=metrics, var_name="metric").dropna(subset=["value"])
    found = long.groupby([*GROUP, "metric"], sort=False).value.agg(backends="count", spread=spread).reset_index()
    return found[found.backends > 1]


def summary(parted: pd.DataFrame, weights: pd.DataFrame, quality: pd.DataFrame) -> pd.DataFrame:
    """One row per lockstep group and loss: when it parted, how far apart the final weights are, and the quality
    metric whose values spread most across backends (`lockstep.csv`)."""
    found = parted.merge(weights, on=GROUP, how="left")
    if len(quality):
        worst = quality.sort_values("spread").groupby(GROUP).tail(1)
        worst = worst.rename(columns={"metric": "quality_metric", "spread": "quality_spread"})
        found = found.merge(worst[[*GROUP, "quality_metric", "quality_spread"]], on=GROUP, how="left")
    else:
        found = found.assign(quality_metric=None, quality_spread=np.nan)
    return in_order(found, "lr", "seed", "loss") if len(found) else found


def table(found: pd.DataFrame) -> pd.DataFrame:
    """`summary` as the page shows it."""
    shown = found
    quality = shown.quality_metric.map(SHOWN) + " " + shown.quality_spread.map(lambda v: percent(v, "value"))
    return pd.DataFrame(
        {
            "model": shown.label,
            "lr": shown.lr.map(lr_label),
            "seed": shown.seed,
            "loss": shown.loss.map(LOSSES),
            "spread at step 1 (%)": 100 * shown.spread_step_1,
            f"first step past {percent(PARTED, 'threshold')}": shown.parted_at_step.map(
                lambda s: "never" if pd.isna(s) else number(s, "count")
            ),
            "spread at the last step (%)": 100 * shown.spread_last_step,
            "last step": shown.last_step,
            "final weights apart (%)": 100 * shown.weights_apart,
            "training moved them (%)": 100 * shown.moved,
            "quality metric spread most": quality.fillna(""),
        }
    )


def glance_lines(parted: pd.DataFrame, weights: pd.DataFrame) -> list[str]:
    """Per lockstep model: when its backends' losses part, and how far apart their final weights are."""
    lines = []
    for name in model_order(parted.label) if len(parted) else []:
        group = parted[parted.label == name]
        steps = group.parted_at_step.dropna()
        when = (
            f"their losses part (spread > {percent(PARTED, 'threshold')}) at step "
            f"{span(steps.min(), steps.max(), 'count', collapse=True)}"
            if len(steps)
            else f"their losses stay within {percent(PARTED, 'threshold')} of each other over all "
            f"{group.last_step.max()} steps"
        )
        if len(steps) and len(steps) < len(group):
            when += f" (in {len(steps)} of {len(group)} seed × loss runs; the others never do)"
        apart = weights[weights.label == name]
        if len(apart):
            apart_span = span(
                100 * apart.weights_apart.min(), 100 * apart.weights_apart.max(), "percent", collapse=True
            )
            moved = number(100 * apart.moved.median(), "percent")
            when += f"; final weights {apart_span}% apart, against {moved}% moved by training"
        lines.append(f"{name}: {when}")
    return lines


def divergence_figure(div: pd.DataFrame, parted: float, floor: float) -> plt.Figure:
    """Lockstep: the spread of the backends' per-step losses against the step, a line per seed, per model and loss."""
    title = (
        "Lockstep: how far apart the backends' losses are at each step ((largest − smallest) ÷ mean; "
        f"identical values drawn at {percent(floor, 'threshold')})"
    )
    if div.empty:
        return figures.nothing(title, "no lockstep group has two backends with recorded steps")
    div = div.assign(
        panel=div.label + ": " + div.loss.map(LOSSES) + ", lr " + div.lr.map(lr_label),
        spread=div.spread.clip(lower=floor),
        seed=div.seed.astype(str),
    )
    labels = model_order(div.label)
    panels = div.drop_duplicates("panel")
    rank = dict(zip(panels.panel, panels.label.map(labels.index), strict=True))
    order = sorted(panels.panel, key=lambda p: (rank[p], p))
    seeds = sorted(div.seed.unique(), key=int)
    grid = sns.relplot(
        div,
        kind="line",
        x="step",
        y="spread",
        hue="seed",
        hue_order=seeds,
        palette=sns.color_palette("dark:0.6", len(seeds)) if len(seeds) > 1 else ["0.3"],
        col="panel",
        col_order=order,
        col_wrap=min(3, len(order)),
        estimator=None,
        height=2.6,
        aspect=1.3,
        facet_kws={"sharey": True, "sharex": False},
    )
    grid.set(xscale="log", yscale="log")
    for ax in grid.axes.flat:
        ax.xaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: number(v, "tick")))
        ax.yaxis.set_major_locator(matplotlib.ticker.FixedLocator([1e-9, 1e-7, 1e-5, 1e-3, 1e-1]))
        ax.yaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: percent(v, "tick")))
        ax.axhline(parted, color="0.3", linestyle=":", linewidth=1)
        ax.text(1, parted, f" {percent(parted, 'tick')}", transform=ax.get_yaxis_transform(), va="center", fontsize=7)
    grid.set_titles("{col_name}", size=8)
    grid.set_axis_labels("training step", "spread across backends")
    height = grid.figure.get_figheight()
    sns.move_legend(grid, "upper center", bbox_to_anchor=(0.5, 1.0), ncol=len(seeds), frameon=False, title="seed")
    grid.figure.suptitle(title, y=1.0, va="bottom", fontsize=11)
    grid.figure.subplots_adjust(top=1 - 0.9 / height)
    return grid.figure


LOCKSTEP_TEXT = (
    "Cells run with `--lockstep` start every backend from the same weights (NumPy, from the seed) and feed each the "
    "same data order and per-step noise, so only floating-point arithmetic separates them. Below: the spread of "
    "the backends' loss at each recorded step ((largest − smallest) ÷ mean of the single step's loss; every step "
    "up to 100, then evenly spaced), when it first passes {parted}%, and how far apart the final weights are "
    "(largest pairwise ‖a − b‖ ÷ ‖b‖ over every weight) beside how far training moved them from the start "
    "(‖final − initial‖ ÷ ‖initial‖). Their timings include a loss fetch every step and are shown under their own "
    "label."
)


def runs(frames: ProfileFrames) -> dict[str, pd.DataFrame]:
    """The lockstep groups' per-step spreads, parting steps, final weights, quality spreads and their summary, once."""

    def compute(f: ProfileFrames) -> dict[str, pd.DataFrame]:
        div = divergence(f.chosen, f.steps)
        parted, weights = parting(div), final_weights(f.root, f.chosen)
        qualities = quality_spread(f.scored)
        return {
            "div": div,
            "parted": parted,
            "weights": weights,
            "qualities": qualities,
            "apart": summary(parted, weights, qualities),
        }

    return frames.once("lockstep", compute)


def glance(frames: ProfileFrames) -> list[Block]:
    found = runs(frames)
    apart = glance_lines(found["parted"], found["weights"])
    if not apart:
        return []
    return [
        Text("In lockstep (every backend from the same weights, data order and noise), when their runs part:"),
        Bullets(apart),
    ]


def blocks(frames: ProfileFrames) -> list[Block]:
    found = runs(frames)
    shown, qualities = found["apart"], found["qualities"]
    if not len(shown):
        return []
    page: list[Block] = [Heading("In lockstep: when do the backends' runs part?", 3)]
    page.append(Text(LOCKSTEP_TEXT.format(parted=number(100 * PARTED, "threshold"))))
    fig = divergence_figure(found["div"], PARTED, FLOOR)
    page.append(
        Figure(figures.save(fig, frames.folder, "lockstep-divergence"), "Spread of the backends' loss per step")
    )
    page.append(Table(table(shown), "value"))
    if len(qualities):
        qualities = qualities.assign(metric=qualities.metric.map(SHOWN), spread=100 * qualities.spread)
        qualities = qualities.rename(columns={"label": "model", "spread": "spread across backends (%)"})
        page.append(Details("Every quality metric's spread across backends, in lockstep", [Table(qualities, "value")]))
    return page


def csvs(frames: ProfileFrames) -> dict[str, pd.DataFrame]:
    return {"lockstep.csv": runs(frames)["apart"].assign(profile=frames.profile)}
