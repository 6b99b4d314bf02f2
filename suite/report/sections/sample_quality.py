"""Sample quality: the judge's metrics of every cell's samples, against real digits and noise, and how soon each
backend gets good digits."""

from __future__ import annotations

import textwrap
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from architectures.judge import CONTROLS, card, digit_manifold
from suite.choices import BACKENDS
from suite.formatting import lr_label, number, percent
from suite.report import figures
from suite.report.frames import ProfileFrames
from suite.report.page import Block, Bullets, Details, Figure, Heading, Table, Text
from suite.report.quality_frames import SHOWN, reference
from suite.store.loading import model_order


def cell_table(frame: pd.DataFrame, ref: pd.DataFrame) -> pd.DataFrame:
    """Metrics per model × backend × lr (median over seeds), then the reference sets' rows."""
    shown = [m for m in SHOWN if m in frame.columns]
    table = frame.groupby(["label", "backend", "lr"], as_index=False)[shown].median()
    table = order(table)
    table["lr"] = table.lr.map(lr_label)
    if len(ref):
        refs = ref[[m for m in shown if m in ref.columns]].reset_index().rename(columns={"source": "label"})
        refs = refs.assign(label="reference: " + refs.label, backend="", lr="")
        table = pd.concat([table, refs], ignore_index=True)
    return table.rename(columns={"label": "model", **SHOWN})


def order(frame: pd.DataFrame) -> pd.DataFrame:
    rank = {label: i for i, label in enumerate(model_order(frame.label))}
    keys = frame.assign(_m=frame.label.map(rank), _b=frame.backend.map(BACKENDS.index), _lr=-frame.lr)
    return keys.sort_values(["_m", "_b", "_lr"]).drop(columns=["_m", "_b", "_lr"]).reset_index(drop=True)


def best_cells(frame: pd.DataFrame) -> pd.DataFrame:
    """Per model and backend, the cell of the learning rate with the lowest Fréchet distance (median over seeds)."""
    per_lr = frame.groupby(["label", "model", "backend", "lr"], as_index=False).median(numeric_only=True)
    best = per_lr.loc[per_lr.groupby(["label", "backend"]).frechet_distance.idxmin()]
    return order(best)


def judge_text() -> str:
    try:
        facts = card()
    except (OSError, ValueError):
        return "The judge's card (architectures/judge.json) is missing."
    return (
        f"Scored by the judge, a LeNet-5-style classifier with {percent(facts['test_accuracy'], 'precise')} "
        "accuracy on the "
        f"{number(facts['test_images'], 'count')} MNIST test images (architectures/judge.py). Each ok cell generates "
        "a fixed-seed set of images (same noise on every backend) at its end. Fréchet distance: between Gaussians "
        "fitted to the judge's 128 penultimate features of those images and of the MNIST test set (comparable only "
        "at the same number of images, i.e. within a profile). Classifier score: exp of the mean KL between p(y|x) "
        "and p(y) (10 at best). "
        "Readable: top class p ≥ 0.9, on the digit manifold (within the distance from the first 50 principal "
        "directions of the training digits that 99% of held-out test digits keep), and sharp (some step between "
        "neighbouring pixels at least the edge threshold fitted on the control panels below), so that neither a "
        "blob on salt and pepper nor a haze the judge alone is sure of counts; the judge alone: p ≥ 0.9. "
        "Haze: share of pixels strictly between 10% "
        "and 90% intensity and within 25% of their 3 × 3 neighbourhood's median (blur); speckle: share of pixels "
        "farther than that from it (salt and pepper); the mid-tone share counts both. VAEs also give the test set's "
        "single-sample negative ELBO and per-pixel squared reconstruction error, and how the judge reads their "
        "reconstructions of the first test images. Metrics measured again on a cell's saved samples by "
        "`gvbench rescore` count `rescored_images` images. Reference rows: real "
        "training digits (about the best a generator can reach), uniform noise and blank images (the worst), scored "
        "the same way (`python -m runners.judge_training reference`)."
    )


CONTROL_COLUMNS = {
    "readable_share_at_0.8": "readable, p ≥ 0.8",
    "readable_share": "readable, p ≥ 0.9",
    "readable_share_at_0.95": "readable, p ≥ 0.95",
    "readable_share_at_0.99": "readable, p ≥ 0.99",
    "confident_share": "judge sure (p ≥ 0.9)",
    "on_manifold_share": "on the manifold",
    "sharp_share": "sharp",
    "frechet_distance": "Fréchet distance (1,000)",
    "precision": "precision",
    "coverage": "coverage",
    "haze_share": "haze",
}


def controls(path: Path = CONTROLS) -> pd.DataFrame:
    """The shipped control panels' scores: one row per control, the measures of `CONTROL_COLUMNS` as columns."""
    if not path.is_file():
        return pd.DataFrame()
    frame = pd.read_csv(path)
    table = frame.pivot_table(index=["kind", "control"], columns="metric", values="value", sort=False)
    return table[list(CONTROL_COLUMNS)].rename(columns=CONTROL_COLUMNS).reset_index()


def controls_text() -> str:
    from suite.controls import NEGATIVE_MAX, POSITIVE_MIN

    manifold = digit_manifold()
    low, high = (float(v) for v in manifold["edge_range"])
    return (
        "Controls: image sets whose answer is known before any model runs (`suite/controls.py`, 1,000 images each). "
        f"A measure of digits must read at most {number(NEGATIVE_MAX, 'threshold')} of every negative control and "
        f"at least {number(POSITIVE_MIN, 'threshold')} of held-out test digits, sharp or blurred by half a pixel. "
        "The sharp gate's threshold "
        f"({number(float(manifold['edge_threshold']))}) is the middle of the range ({number(low, 'tried')}–"
        f"{number(high, 'tried')}) that meets both "
        "on a tuning panel of another seed and the other half of the test set; the panel below is scored on images "
        "the fit never saw. The hard cases are neither: blurs between a mild one and a haze, and the per-digit mean "
        "images, which the judge reads as their digits though no one drew them. Precision (Kynkäänniemi et al.) "
        "reads about 1 on every negative control, so no claim uses it; recall and coverage measure variety, not "
        "whether a sample is a digit. The paper's own figures are scored the same way as an outside check, never "
        "fitted to (`architectures/judge-paper-figures.csv`)."
    )


def speed_lines(frame: pd.DataFrame) -> list[str]:
    """Per model: each backend's best Fréchet distance and how many training seconds it took."""
    lines = []
    for label in model_order(frame.label):
        rows = best_cells(frame[frame.label == label]).sort_values("frechet_distance")
        parts = [
            f"{r.backend} {number(r.frechet_distance)} in {number(r.train_s)} s (lr {lr_label(r.lr)})"
            for r in rows.itertuples()
        ]
        lines.append(f"{label}: best Fréchet distance per backend — " + "; ".join(parts))
    return lines


NOT_RANKED = (
    "Which backend gives the best digits soonest: not ranked. Every cell's samples score at or beyond uniform noise "
    "(Fréchet distance ≥ {frechet_distance} or readable share ≤ {confident_share}), so their order is noise; "
    "train longer (`--profile target` trains each cell until its digits are readable)."
)


def at_noise(frame: pd.DataFrame, ref: pd.DataFrame) -> bool:
    """Whether every cell's samples score at or beyond the uniform-noise reference on distance or readability."""
    if ref.empty or "noise" not in ref.index or not {"frechet_distance", "confident_share"} <= set(frame.columns):
        return False
    noise = ref.loc["noise"]
    beyond = (frame.frechet_distance >= noise.frechet_distance) | (frame.confident_share <= noise.confident_share)
    return bool(beyond.all())


QUALITY_FIGURE_METRICS = {
    "frechet_distance": "Fréchet distance ↓",
    "classifier_score": "classifier score ↑",
    "readable_share": "share readable (p ≥ 0.9, on the digit manifold) ↑",
    "confident_share": "share the judge is sure of (p ≥ 0.9)",
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
        return figures.nothing(title, "no cell has quality metrics")
    table = frame.groupby(["label", "lr", "backend"])[metrics].median().reset_index()
    rows = [
        (label, lr)
        for label in model_order(table.label)
        for lr in sorted(table[table.label == label].lr.unique(), reverse=True)
    ]
    backends = figures.backends_in(table)
    index = pd.MultiIndex.from_tuples(rows, names=["label", "lr"])
    column = max(1.2 * len(backends), 2.4)  # inches: room for each metric's title even with one backend
    fig, axes = plt.subplots(
        1, len(metrics), figsize=(column * len(metrics) + 3.5, 0.34 * len(rows) + 2.2), sharey=True
    )
    for i, (ax, metric) in enumerate(zip(np.atleast_1d(axes), metrics, strict=True)):
        values = table.pivot_table(index=["label", "lr"], columns="backend", values=metric).reindex(index)
        values = values.reindex(columns=backends)
        scaled = toward_real(values, metric, ref)
        name = QUALITY_FIGURE_METRICS[metric]
        if scaled is not None:
            real, noise = number(ref.loc["real", metric]), number(ref.loc["noise", metric])
            name += f"\n(real digits {real}, noise {noise})"
        sns.heatmap(
            (scaled if scaled is not None else values).clip(-0.05, 1.05),
            vmin=0 if scaled is not None else None,
            vmax=1 if scaled is not None else None,
            cmap="viridis",
            annot=values.map(number).to_numpy(),
            fmt="",
            annot_kws={"fontsize": 8},
            mask=values.isna().to_numpy(),
            linewidths=0.5,
            cbar=i == len(metrics) - 1,
            cbar_kws={"label": "0 = uniform noise, 1 = real digits"},
            ax=ax,
        )
        ax.set_title("\n".join(textwrap.fill(line, int(column * 11)) for line in name.split("\n")), fontsize=9)
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
        return figures.nothing(title, "no cell has both quality metrics and epoch times")
    fig, axes = plt.subplots(1, len(metrics), figsize=(5.5 * len(metrics), 4.2))
    frame = frame.rename(columns={"label": "model", "model": "architecture"})
    for ax, metric in zip(np.atleast_1d(axes), metrics, strict=True):
        sns.scatterplot(
            data=frame,
            x="train_s",
            y=metric,
            hue="backend",
            hue_order=figures.backends_in(frame),
            palette=figures.PALETTE,
            style="model",
            style_order=model_order(frame.model),
            s=60,
            ax=ax,
            legend=ax is np.atleast_1d(axes)[-1],
        )
        figures.reference_lines(ax, ref, metric)
        ax.set(xscale="log", xlabel="training seconds (all epochs)", ylabel=QUALITY_FIGURE_METRICS[metric])
        if metric == "frechet_distance":
            ax.set_yscale("log")
    legend_ax = np.atleast_1d(axes)[-1]
    sns.move_legend(legend_ax, "upper left", bbox_to_anchor=(1.02, 1), fontsize=8)
    fig.suptitle(title)
    return fig


def blocks(frames: ProfileFrames) -> list[Block]:
    """The sample-quality blocks of one profile."""
    frame, folder = frames.scored, frames.folder
    page: list[Block] = [Heading("Sample quality", 3)]
    if frame.empty:
        page.append(Text("No cell of this profile has quality metrics (cells written before the judge existed)."))
        return page
    ref = reference(frames.profile)
    table = cell_table(frame, ref)
    page.append(Text(judge_text()))
    panel = controls()
    if not panel.empty:
        page += [Text(controls_text()), Table(panel)]
    if at_noise(frame, ref):
        noise = ref.loc["noise"]
        page.append(
            Text(
                NOT_RANKED.format(
                    frechet_distance=number(noise.frechet_distance), confident_share=number(noise.confident_share)
                )
            )
        )
    else:
        page += [Text("Which backend gives the best digits soonest:"), Bullets(speed_lines(frame))]
    drawn = [
        (quality_grid(frame, ref), "quality", "Sample quality per model, backend and learning rate"),
        (quality_vs_time(frame, ref), "quality-vs-time", "Sample quality against training time"),
    ]
    page += [Figure(figures.save(fig, folder, name), alt) for fig, name, alt in drawn]
    page.append(Details(f"Every metric of every model, backend and lr ({len(table)} rows)", [Table(table)]))
    return page


def glance(frames: ProfileFrames) -> list[Block]:
    return []


def csvs(frames: ProfileFrames) -> dict[str, pd.DataFrame]:
    found = {"quality.csv": frames.scored.drop(columns="label")}
    if not frames.scored.empty:
        found["controls.csv"] = controls().assign(profile=frames.profile)
    return found
