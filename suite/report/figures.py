"""The report's figures, drawn with seaborn on matplotlib's non-interactive Agg backend."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import matplotlib.ticker  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402

from suite.choices import (
    BACKENDS,  # noqa: E402
    COMPLETED,
    MISSING,
)
from suite.report.data import LOSSES, loss_names, model_order  # noqa: E402
from suite.report.tables import lr_label  # noqa: E402

PALETTE = dict(zip(BACKENDS, sns.color_palette("colorblind", len(BACKENDS)), strict=True))
TILE = 4
"""Sample panels show the first TILE × TILE images of a cell."""
NEUTRAL_DIVERGING = "PuOr"
"""Above or below the other backends, in colours that read as neither good nor bad (a GAN's loss has no better)."""
SAMPLES_DPI = 80
"""Image grids: about one screen pixel per image pixel (a tile is 112 pixels square)."""

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


def _backends(frame: pd.DataFrame) -> list[str]:
    return [b for b in BACKENDS if b in set(frame.backend)]


LOG_TICKS = [0.01, 0.03, 0.1, 0.3, 1, 3, 10, 30, 100, 300, 1000, 3000]
"""Labelled ticks of a log time axis: every decade and its 3, so no span shows only two numbers."""


def log_seconds_axis(ax: plt.Axes, low: float, high: float) -> None:
    """A log x axis from `low` to `high` seconds with plain-number ticks (0.3, 1, 3, 10, ...)."""
    ax.set_xscale("log")
    ax.set_xlim(low, high)
    ticks = [t for t in LOG_TICKS if low <= t <= high]
    ax.set_xticks(ticks, [f"{t:g}" for t in ticks])
    ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())


def headline(summary: pd.DataFrame) -> plt.Figure:
    """Median steady-state epoch time per model and backend: a dot, its 95% CI and its ratio to the fastest."""
    title = "Steady-state seconds per epoch (median of epochs 2..N over learning rates and seeds; line: 95% CI)"
    timed = summary.dropna(subset=["steady_epoch_median_s"])
    if timed.empty:
        return nothing(title, "no cell finished ok with two or more epochs")
    models, backends = model_order(timed.model), _backends(timed)
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
            color=PALETTE[row.backend],
            markersize=6,
            capsize=2,
        )
        label = f"{row.steady_epoch_median_s:.3g} s · " + ratio_label(row).replace("\n", " ")
        right = row.steady_epoch_ci_high_s if pd.notna(row.steady_epoch_ci_high_s) else row.steady_epoch_median_s
        ax.annotate(label, (right, y), xytext=(5, 0), textcoords="offset points", va="center", fontsize=8)
    ax.set_yticks(range(len(models)), models)
    ax.set_ylim(len(models) - 0.5, -0.5)
    span = timed.steady_epoch_ci_high_s.fillna(timed.steady_epoch_median_s)
    log_seconds_axis(ax, timed.steady_epoch_ci_low_s.fillna(timed.steady_epoch_median_s).min() / 1.5, span.max() * 6)
    ax.set(title=title, xlabel="seconds per steady-state epoch (log scale)", ylabel="")
    ax.title.set_fontsize(10)
    handles = [plt.Line2D([], [], marker="o", linestyle="", color=PALETTE[b], label=b) for b in backends]
    ax.legend(
        handles=handles,
        title="backend\n(label: median, time ÷ fastest\n[95% CI])",
        fontsize=8,
        title_fontsize=8,
        loc="upper left",
        bbox_to_anchor=(1.01, 1),
    )
    ax.grid(axis="y", visible=False)
    return fig


def ratio_label(row) -> str:
    """A bar's label: `fastest`, or its ratio to the fastest with the ratio's 95% bootstrap interval."""
    if pd.isna(row.ratio_to_fastest):
        return ""
    if row.ratio_to_fastest == 1:
        return "fastest"
    if pd.isna(row.ratio_ci_low):
        return f"{row.ratio_to_fastest:.2f}×"
    return f"{row.ratio_to_fastest:.2f}×\n[{row.ratio_ci_low:.2f}–{row.ratio_ci_high:.2f}]"


def first_epoch_excess(summary: pd.DataFrame) -> plt.Figure:
    """What tracing/compiling costs: the first epoch's seconds beyond a steady-state epoch, per model and backend."""
    title = "First epoch minus steady-state epoch (tracing, compiling, warm-up), median over learning rates and seeds"
    timed = summary.dropna(subset=["compile_overhead_s"])
    if timed.empty:
        return nothing(title, "no cell finished ok with two or more epochs")
    models, backends = model_order(timed.model), _backends(timed)
    fig, ax = plt.subplots(figsize=(9, 0.75 * len(models) + 1.4))
    sns.barplot(
        timed,
        y="model",
        x="compile_overhead_s",
        hue="backend",
        order=models,
        hue_order=backends,
        palette=PALETTE,
        orient="h",
        saturation=1,
        ax=ax,
    )
    for container in ax.containers:
        ax.bar_label(container, fmt="%+.3g s", padding=3, fontsize=8)
    ax.axvline(0, color="0.3", linewidth=0.8)
    ax.margins(x=0.15)
    ax.set(title=title, xlabel="seconds more than a steady-state epoch (linear)", ylabel="")
    ax.title.set_fontsize(10)
    ax.legend(title="backend", fontsize=8, title_fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1))
    ax.grid(axis="y", visible=False)
    return fig


def _loss_long(frame: pd.DataFrame) -> pd.DataFrame:
    present = [loss for loss in LOSSES if loss in frame.columns]
    long = frame.melt(
        id_vars=["label", "backend", "lr", "seed", "epoch", "status"], value_vars=present, var_name="loss"
    ).dropna(subset=["value"])
    long["panel"] = long.label + ": " + long.loss.map(LOSSES)
    long["learning rate"] = long.lr.map(lr_label)
    return long


def _panels(long: pd.DataFrame) -> list[str]:
    rank = {label: i for i, label in enumerate(model_order(long.label))}
    pairs = long[["label", "loss", "panel"]].drop_duplicates()
    pairs = pairs.assign(r=pairs.label.map(rank), l=pairs.loss.map(list(LOSSES).index))
    return list(pairs.sort_values(["r", "l"]).panel)


def _facets(long: pd.DataFrame) -> dict:
    """Keyword arguments shared by the per-model-and-loss facet grids: colour by backend, a panel each."""
    panels = _panels(long)
    return {
        "hue": "backend",
        "hue_order": _backends(long),
        "palette": PALETTE,
        "col": "panel",
        "col_order": panels,
        "col_wrap": min(4, len(panels)),
        "height": 2.8,
        "aspect": 1.1,
    }


def _lr_order(long: pd.DataFrame) -> list[str]:
    return sorted(long["learning rate"].unique(), key=float, reverse=True)


def loss_curves(frame: pd.DataFrame) -> plt.Figure:
    """Epoch-mean losses against epoch: a row per model and loss, a column per learning rate, colour by backend."""
    title = "Loss per epoch (epoch mean, median over seeds; diverged cells end at their last finite epoch)"
    long = _loss_long(frame)
    if long.empty:
        return nothing(title, "no epoch was recorded")
    lrs = _lr_order(long)
    facets = {"row": "panel", "row_order": _panels(long), "col": "learning rate", "col_order": lrs}
    if len(lrs) == 1:
        facets = {key: value for key, value in _facets(long).items() if key.startswith("col")}
    grid = sns.relplot(
        long,
        kind="line",
        x="epoch",
        y="value",
        hue="backend",
        hue_order=_backends(long),
        palette=PALETTE,
        estimator="median",
        errorbar=None,
        markers=True,
        dashes=False,
        style="backend",
        height=2.4,
        aspect=1.35,
        facet_kws={"sharey": "row" if len(lrs) > 1 else False, "sharex": "row" if len(lrs) > 1 else False},
        **facets,
    )
    grid.set_axis_labels("epoch", "loss")
    if len(lrs) > 1:
        grid.set_titles(template="lr {col_name}", size=9)
        for ax in grid.axes[1:].flat:
            ax.set_title("")
        for ax, panel in zip(grid.axes[:, 0], facets["row_order"], strict=True):
            ax.set_ylabel(panel.replace(": ", "\n", 1), fontsize=8)
    else:
        grid.set_titles("{col_name}", size=8)
    for ax in grid.axes.flat:
        ax.xaxis.get_major_locator().set_params(integer=True)
    height = grid.figure.get_figheight()
    sns.move_legend(grid, "upper center", bbox_to_anchor=(0.5, 1.0), ncol=len(_backends(long)), frameon=False)
    grid.figure.suptitle(title, y=1.0, va="bottom", fontsize=11)
    grid.figure.subplots_adjust(top=1 - 0.9 / height)
    return grid.figure


def replicates(long: pd.DataFrame) -> plt.Figure:
    """Final losses per backend, a point per seed and a bar over the seeds' range, per model, loss and lr."""
    title = "Final loss per backend: a point per seed, the bar spans the seeds (the backends differ only beyond it)"
    losses = long[long.kind == "final loss"]
    if losses.empty:
        return nothing(title, "no cell finished ok")
    losses = losses.assign(
        panel=losses.label + ": " + losses.measure.map(LOSSES), **{"learning rate": losses.lr.map(lr_label)}
    )
    backends, lrs = _backends(losses), _lr_order(losses)
    rows = _panels(losses.rename(columns={"measure": "loss"}))
    grid = sns.FacetGrid(
        losses, row="panel", row_order=rows, col="learning rate", col_order=lrs, sharey="row", height=2.2, aspect=1.2
    )
    grid.map_dataframe(
        sns.pointplot,
        x="backend",
        y="value",
        order=backends,
        estimator="median",
        errorbar=("pi", 100),
        color="0.55",
        linestyle="none",
        marker="_",
        markersize=14,
        capsize=0.25,
    )
    grid.map_dataframe(
        sns.stripplot,
        x="backend",
        y="value",
        hue="backend",
        order=backends,
        hue_order=backends,
        palette=PALETTE,
        size=5,
        jitter=False,
    )
    grid.set_titles(template="lr {col_name}", size=9)
    for ax in grid.axes[1:].flat:
        ax.set_title("")
    for ax, panel in zip(grid.axes[:, 0], rows, strict=True):
        ax.set_ylabel(panel.replace(": ", "\n", 1), fontsize=8)
    for ax in grid.axes[-1]:
        ax.set_xlabel("")
    seeds = int(losses.groupby(["label", "backend", "lr", "measure"]).seed.nunique().min())
    grid.figure.suptitle(f"{title}\n(at least {seeds} seed(s) per backend)", y=1.0, va="bottom", fontsize=10)
    return grid.figure


def final_loss_heatmaps(losses: pd.DataFrame, grid: pd.DataFrame) -> plt.Figure:
    """Final loss per model × learning rate, one heatmap per backend; cells not ok say their status."""
    title = (
        "Final epoch-mean loss per model and learning rate (text: value or status; "
        "colour: against the backends' median at the same learning rate)"
    )
    if grid.empty:
        return nothing(title, "no cells")
    rows = []
    order = model_order(grid.label)
    for label in order:
        rows += [(label, loss) for loss in loss_names(label)]
    lrs = sorted(grid.lr.unique(), reverse=True)
    fig, axes = plt.subplots(1, len(BACKENDS), figsize=(3.2 * len(BACKENDS) + 1, 0.45 * len(rows) + 1.6), sharey=True)
    medians = losses.groupby(["label", "loss", "lr"]).value.median()
    for ax, backend in zip(np.atleast_1d(axes), BACKENDS, strict=True):
        values = pd.DataFrame(np.nan, index=[f"{m}: {LOSSES[k]}" for m, k in rows], columns=[lr_label(v) for v in lrs])
        text = values.astype(object)
        for (label, loss), name in zip(rows, values.index, strict=True):
            for lr in lrs:
                cell = grid[(grid.backend == backend) & (grid.label == label) & (grid.lr == lr)]
                status = cell.status.iloc[0] if len(cell) else MISSING
                match = losses[
                    (losses.backend == backend) & (losses.label == label) & (losses.lr == lr) & (losses.loss == loss)
                ]
                if status in COMPLETED and len(match):
                    value = match.value.iloc[0]
                    values.loc[name, lr_label(lr)] = np.log2(value / medians[(label, loss, lr)])
                    text.loc[name, lr_label(lr)] = f"{value:.3g}"
                else:
                    text.loc[name, lr_label(lr)] = status
        sns.heatmap(
            values,
            annot=text,
            fmt="",
            cmap=NEUTRAL_DIVERGING,
            center=0,
            vmin=-1,
            vmax=1,
            cbar=ax is np.atleast_1d(axes)[-1],
            cbar_kws={"label": "log2(loss ÷ median of the backends at this lr)"},
            linewidths=0.5,
            linecolor="white",
            annot_kws={"fontsize": 8},
            ax=ax,
        )
        ax.set(title=backend, xlabel="learning rate", ylabel="")
        ax.set_facecolor("#eeeeee")
    fig.suptitle(title, y=1.02)
    return fig


def _tile(images: np.ndarray) -> np.ndarray:
    """The first TILE × TILE images as one square picture."""
    count = TILE * TILE
    images = images[:count]
    if len(images) < count:
        images = np.concatenate([images, np.zeros((count - len(images), *images.shape[1:]), images.dtype)])
    rows = [np.concatenate(list(images[r * TILE : (r + 1) * TILE]), axis=1) for r in range(TILE)]
    return np.concatenate(rows, axis=0)


def image_grid(title: str, rows: list[str], columns: list[str], panels: dict, notes: dict) -> plt.Figure:
    """A grid of sample tiles; `panels[(row, column)]` an image array, else `notes[(row, column)]` says why not."""
    fig, axes = plt.subplots(
        len(rows), len(columns), figsize=(1.7 * len(columns), 1.7 * len(rows) + 0.6), squeeze=False
    )
    for i, row in enumerate(rows):
        for j, column in enumerate(columns):
            ax = axes[i, j]
            ax.set_xticks([])
            ax.set_yticks([])
            ax.grid(False)
            if (row, column) in panels:
                ax.imshow(_tile(panels[(row, column)]), cmap="gray", vmin=0, vmax=255, interpolation="nearest")
            else:
                ax.set_facecolor("#f3f3f3")
                ax.text(0.5, 0.5, notes.get((row, column), MISSING), ha="center", va="center", transform=ax.transAxes)
            if i == 0:
                ax.set_title(column, fontsize=10)
            if j == 0:
                ax.set_ylabel(row, fontsize=9)
    fig.suptitle(title, y=1.0)
    fig.tight_layout()
    return fig


QUALITY_FIGURE_METRICS = {
    "frechet_distance": "Fréchet distance ↓",
    "classifier_score": "classifier score ↑",
    "confident_share": "share readable (p ≥ 0.9) ↑",
}


def toward_real(values: pd.DataFrame, metric: str, ref: pd.DataFrame) -> pd.DataFrame | None:
    """Values rescaled so that uniform noise is 0 and real digits are 1 (None without both references)."""
    if not len(ref) or metric not in ref.columns:
        return None
    real, noise = ref.loc["real", metric], ref.loc["noise", metric]
    if not np.isfinite(real - noise) or real == noise:
        return None
    return (values - noise) / (real - noise)


def quality_grid(frame: pd.DataFrame, ref: pd.DataFrame) -> plt.Figure:
    """A heatmap per quality metric: model × learning rate against backend, coloured from noise to real digits."""
    title = "Sample quality (median over seeds); colour: 0 = uniform noise, 1 = real digits, the number is the metric"
    metrics = [m for m in QUALITY_FIGURE_METRICS if m in frame.columns]
    if frame.empty or not metrics:
        return nothing(title, "no cell has quality metrics")
    table = frame.groupby(["label", "lr", "backend"])[metrics].median().reset_index()
    rows = [
        (label, lr)
        for label in model_order(table.label)
        for lr in sorted(table[table.label == label].lr.unique(), reverse=True)
    ]
    backends = _backends(table)
    index = pd.MultiIndex.from_tuples(rows, names=["label", "lr"])
    fig, axes = plt.subplots(
        1, len(metrics), figsize=(1.2 * len(backends) * len(metrics) + 3.5, 0.34 * len(rows) + 1.8), sharey=True
    )
    for i, (ax, metric) in enumerate(zip(np.atleast_1d(axes), metrics, strict=True)):
        values = table.pivot_table(index=["label", "lr"], columns="backend", values=metric).reindex(index)
        values = values.reindex(columns=backends)
        scaled = toward_real(values, metric, ref)
        name = QUALITY_FIGURE_METRICS[metric]
        if scaled is not None:
            name += f"\n(real digits {ref.loc['real', metric]:.3g}, noise {ref.loc['noise', metric]:.3g})"
        sns.heatmap(
            (scaled if scaled is not None else values).clip(-0.05, 1.05),
            vmin=0 if scaled is not None else None,
            vmax=1 if scaled is not None else None,
            cmap="viridis",
            annot=values.to_numpy(),
            fmt=".3g",
            annot_kws={"fontsize": 8},
            mask=values.isna().to_numpy(),
            linewidths=0.5,
            cbar=i == len(metrics) - 1,
            cbar_kws={"label": "0 = uniform noise, 1 = real digits"},
            ax=ax,
        )
        ax.set_title(name, fontsize=9)
        ax.set(xlabel="backend", ylabel="")
        ax.set_yticks(np.arange(len(rows)) + 0.5, [f"{label}, lr {lr_label(lr)}" for label, lr in rows], rotation=0)
        ax.tick_params(axis="x", labelrotation=0)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def quality_vs_time(frame: pd.DataFrame, ref: pd.DataFrame) -> plt.Figure:
    """Fréchet distance and readable share against training seconds: which backend gives good digits soonest."""
    title = "Sample quality against training time (each point a cell; dashed: real digits, dotted: uniform noise)"
    metrics = [m for m in ("frechet_distance", "confident_share") if m in frame.columns]
    if frame.empty or not metrics or frame.train_s.isna().all():
        return nothing(title, "no cell has both quality metrics and epoch times")
    fig, axes = plt.subplots(1, len(metrics), figsize=(5.5 * len(metrics), 4.2))
    frame = frame.rename(columns={"label": "model", "model": "architecture"})
    for ax, metric in zip(np.atleast_1d(axes), metrics, strict=True):
        sns.scatterplot(
            data=frame,
            x="train_s",
            y=metric,
            hue="backend",
            hue_order=_backends(frame),
            palette=PALETTE,
            style="model",
            style_order=model_order(frame.model),
            s=60,
            ax=ax,
            legend=ax is np.atleast_1d(axes)[-1],
        )
        reference_lines(ax, ref, metric)
        ax.set(xscale="log", xlabel="training seconds (all epochs)", ylabel=QUALITY_FIGURE_METRICS[metric])
        if metric == "frechet_distance":
            ax.set_yscale("log")
    legend_ax = np.atleast_1d(axes)[-1]
    sns.move_legend(legend_ax, "upper left", bbox_to_anchor=(1.02, 1), fontsize=8)
    fig.suptitle(title)
    return fig


def reference_lines(ax: plt.Axes, ref: pd.DataFrame, metric: str) -> None:
    """Dashed: the real digits' value of `metric`; dotted: uniform noise's (where the judge's references have it)."""
    if len(ref) and metric in ref.columns:
        ax.axhline(ref.loc["real", metric], color="0.3", linestyle="--", linewidth=1, label="real digits")
        ax.axhline(ref.loc["noise", metric], color="0.3", linestyle=":", linewidth=1, label="uniform noise")


TRAJECTORY_METRICS = {
    "confident_share": "share readable (p ≥ 0.9) ↑",
    "digits_covered": "digits drawn (≥ 1% each) ↑",
    "frechet_distance": "Fréchet distance ↓",
}


def quality_trajectories(curves: pd.DataFrame, ref: pd.DataFrame, targets: dict) -> plt.Figure:
    """Per model (columns): readable share and Fréchet distance (rows) against training seconds, a line per cell."""
    title = "Sample quality against training seconds (a line per seed; solid grey: target, dashed: real, dotted: noise)"
    if curves.empty:
        return nothing(title, "no time-to-target cell has evaluations")
    labels = model_order(curves.label)
    metrics = [m for m in TRAJECTORY_METRICS if m in curves.columns]
    fig, axes = plt.subplots(
        len(metrics), len(labels), figsize=(3.6 * len(labels) + 1.6, 3.0 * len(metrics)), squeeze=False, sharex="col"
    )
    for column, label in enumerate(labels):
        rows = curves[curves.label == label]
        for row, metric in enumerate(metrics):
            ax = axes[row, column]
            for _, cell in rows.sort_values("train_s").groupby(["backend", "lr", "seed"]):
                color = PALETTE[cell.backend.iloc[0]]
                ax.plot(cell.train_s, cell[metric], color=color, marker=".", linewidth=1, alpha=0.8)
            reference_lines(ax, ref, metric)
            target = targets[rows.model.iloc[0]]
            for name, bound in target.at_least:
                if name == metric:
                    ax.axhline(bound, color="0.55", linewidth=1.5)
            if metric == "frechet_distance":
                ax.set_yscale("log")
            ax.set_ylabel(TRAJECTORY_METRICS[metric] if column == 0 else "")
            ax.set_xlabel("training seconds" if row == len(metrics) - 1 else "")
            if row == 0:
                ax.set_title(label, fontsize=10)
    handles = [plt.Line2D([], [], color=PALETTE[b], marker=".", label=b) for b in _backends(curves)]
    handles += [
        plt.Line2D([], [], color="0.55", linewidth=1.5, label="target"),
        plt.Line2D([], [], color="0.3", linestyle="--", label="real digits"),
        plt.Line2D([], [], color="0.3", linestyle=":", label="uniform noise"),
    ]
    fig.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.0, 0.95), fontsize=8)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def ceiling_share(settings: pd.DataFrame) -> plt.Figure:
    """Per model: the share of the backend's matmul ceiling each implementation and compile mode reaches."""
    title = "Achieved GFLOP/s as a share of the machine's float32 matmul ceiling (per backend)"
    frame = settings.dropna(subset=["ceiling_share"])
    if frame.empty:
        return nothing(title, "no ok cell recorded a FLOP rate")
    frame = frame.assign(percent=100 * frame.ceiling_share, setting=frame.impl + ", jit " + frame.jit)
    settings_order = sorted(frame.setting.unique(), key=lambda s: (not s.startswith("keras, jit auto"), s))
    grid = sns.catplot(
        data=frame,
        kind="bar",
        x="label",
        y="percent",
        hue="backend",
        hue_order=_backends(frame),
        palette=PALETTE,
        order=model_order(frame.label),
        col="setting",
        col_order=settings_order,
        col_wrap=min(3, len(settings_order)),
        height=3.2,
        aspect=1.3,
        errorbar=None,
        saturation=1,
    )
    grid.set_axis_labels("", "% of ceiling").set_titles("{col_name}")
    for ax in grid.axes.flat:
        ax.tick_params(axis="x", labelrotation=30)
    grid.figure.suptitle(title, y=1.03)
    return grid.figure


def divergence(div: pd.DataFrame, parted: float, floor: float) -> plt.Figure:
    """Lockstep: the spread of the backends' per-step losses against the step, a line per seed, per model and loss."""
    title = (
        "Lockstep: how far apart the backends' losses are at each step ((largest − smallest) ÷ mean; "
        f"identical values drawn at {100 * floor:g}%)"
    )
    if div.empty:
        return nothing(title, "no lockstep group has two backends with recorded steps")
    div = div.assign(
        panel=div.label + ": " + div.loss.map(LOSSES) + ", lr " + div.lr.map(lr_label),
        spread=div.spread.clip(lower=floor),
        seed=div.seed.astype(str),
    )
    order = sorted(div.panel.unique(), key=lambda p: (model_order(div.label).index(p.split(":")[0]), p))
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
        ax.xaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:g}"))
        ax.yaxis.set_major_locator(matplotlib.ticker.FixedLocator([1e-9, 1e-7, 1e-5, 1e-3, 1e-1]))
        ax.yaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{100 * v:g}%"))
        ax.axhline(parted, color="0.3", linestyle=":", linewidth=1)
        ax.text(1, parted, f" {100 * parted:g}%", transform=ax.get_yaxis_transform(), va="center", fontsize=7)
    grid.set_titles("{col_name}", size=8)
    grid.set_axis_labels("training step", "spread across backends")
    height = grid.figure.get_figheight()
    sns.move_legend(grid, "upper center", bbox_to_anchor=(0.5, 1.0), ncol=len(seeds), frameon=False, title="seed")
    grid.figure.suptitle(title, y=1.0, va="bottom", fontsize=11)
    grid.figure.subplots_adjust(top=1 - 0.9 / height)
    return grid.figure
