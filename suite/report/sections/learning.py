"""Do the backends learn alike? Final losses and quality metrics per seed tested across backends, loss curves, and
the final-loss heatmaps."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from suite.choices import BACKENDS, COMPLETED, MISSING
from suite.formatting import lr_label, number
from suite.report import figures, replicates
from suite.report.frames import ProfileFrames, with_profile
from suite.report.page import Block, Bullets, Details, Figure, Heading, Table, Text
from suite.store.loading import LOSSES, loss_names, model_order

NEUTRAL_DIVERGING = "PuOr"
"""Above or below the other backends, in colours that read as neither good nor bad (a GAN's loss has no better)."""


def per_seed(frames: ProfileFrames) -> pd.DataFrame:
    """Each ok cell's final losses and quality metrics, one row per measure (`replicates.per_seed`), once."""
    return frames.once("per_seed", lambda f: replicates.per_seed(f.epochs, f.scored))


def backend_effects(frames: ProfileFrames) -> pd.DataFrame:
    """Each measure tested across backends against the seeds (`replicates.effects`), once."""
    return frames.once("effects", lambda f: replicates.effects(per_seed(f)))


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
        "hue_order": figures.backends_in(long),
        "palette": figures.PALETTE,
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
        return figures.nothing(title, "no epoch was recorded")
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
        hue_order=figures.backends_in(long),
        palette=figures.PALETTE,
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
    sns.move_legend(grid, "upper center", bbox_to_anchor=(0.5, 1.0), ncol=len(figures.backends_in(long)), frameon=False)
    grid.figure.suptitle(title, y=1.0, va="bottom", fontsize=11)
    grid.figure.subplots_adjust(top=1 - 0.9 / height)
    return grid.figure


def replicates_figure(long: pd.DataFrame) -> plt.Figure:
    """Final losses per backend, a point per seed and a bar over the seeds' range, per model, loss and lr."""
    title = "Final loss per backend: a point per seed, the bar spans the seeds (the backends differ only beyond it)"
    losses = long[long.kind == "final loss"]
    if losses.empty:
        return figures.nothing(title, "no cell finished ok")
    losses = losses.assign(
        panel=losses.label + ": " + losses.measure.map(LOSSES), **{"learning rate": losses.lr.map(lr_label)}
    )
    backends, lrs = figures.backends_in(losses), _lr_order(losses)
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
        palette=figures.PALETTE,
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
        return figures.nothing(title, "no cells")
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
                    text.loc[name, lr_label(lr)] = number(value)
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


def blocks(frames: ProfileFrames) -> list[Block]:
    frame, losses, agreement, grid, folder = frames.epochs, frames.losses, frames.agreement, frames.grid, frames.folder
    long, effects = per_seed(frames), backend_effects(frames)
    page: list[Block] = [Heading("Do the backends learn alike?", 3)]
    page.append(
        Text(
            "Each final loss and quality metric, tested across backends with seeds as replicates (Kruskal–Wallis "
            f"H test, scipy; a backend effect when p < {number(replicates.ALPHA, 'threshold')}; with 3 seeds per "
            "backend the smallest "
            "p it can give is 0.027, when no seed of one backend overlaps another's). ε² (H ÷ (n − 1), 0..1): "
            "the share of the values' rank variance the backend explains. Lockstep cells, where each seed is one "
            "start shared by every backend, are compared within each seed instead (Friedman's test, its p exact "
            "over the backends' orderings within the seeds; with 3 seeds and 3 backends the smallest is 0.028, "
            "when every seed ranks the backends alike); Kendall's W (0..1) says how alike the seeds rank them. "
            "The ratio of the highest backend to the lowest is the Hodges–Lehmann shift of log values with the "
            "exact Mann–Whitney interval around it (90% for 3 seeds against 3; lockstep: the geometric mean of the "
            "seeds' ratios with the paired t interval, 95%), each at its real confidence. Alike means equivalent: "
            "every pair of backends within the measure's margin by two one-sided t tests (suite/margins.py states "
            "each margin and why); a difference the tests cannot tell from the seeds' noise, with no equivalence "
            "either, is undecided, not alike. Both families (the difference tests and the equivalence tests) are "
            "adjusted by Holm's method over every measure of the profile. With one seed per backend the question "
            "is undecided."
        )
    )
    fig = replicates_figure(long)
    page.append(Figure(figures.save(fig, folder, "replicates"), "Final loss per backend and seed"))
    if len(effects):
        shown = replicates.table(effects)
        page.append(Details(f"Every measure's test ({len(shown)} rows, also in `replicates.csv`)", [Table(shown)]))
    fig = loss_curves(frame)
    page.append(Figure(figures.save(fig, folder, "loss-curves"), "Loss per epoch, per model, loss and learning rate"))
    fig = final_loss_heatmaps(losses, grid)
    page.append(Figure(figures.save(fig, folder, "final-loss"), "Final loss per model, learning rate and backend"))
    compared = agreement[agreement.backends > 1] if len(agreement) else agreement
    if len(compared):
        spread = compared.assign(lr=compared.lr.map(lr_label), percent=100 * compared.relative_spread)
        wide = spread.pivot_table(index=["model", "loss"], columns="lr", values="percent", sort=False)
        wide = wide.reindex(columns=sorted(wide.columns, key=float, reverse=True)).reset_index()
        page += [
            Text(
                "How far apart the backends' final losses are: (largest − smallest) ÷ mean, in %, per learning rate "
                "(the values are in the heatmap, the spreads in `agreement.csv`):"
            ),
            Table(wide, "value"),
        ]
    return page


def glance(frames: ProfileFrames) -> list[Block]:
    return [
        Text(
            "Whether the backends learn alike: each final loss and quality metric, backends against the spread "
            "between seeds (each backend draws its own weights, data order and noise from the seed):"
        ),
        Bullets(replicates.glance_lines(backend_effects(frames))),
    ]


def csvs(frames: ProfileFrames) -> dict[str, pd.DataFrame]:
    return {"replicates.csv": backend_effects(frames), "agreement.csv": with_profile(frames.agreement, frames.profile)}
