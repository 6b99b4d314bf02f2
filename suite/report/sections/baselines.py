"""Native baselines and compile modes: Keras over native step time, each compile mode, share of the ceiling."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns

from suite.choices import COMPLETED, JIT_MODES, Status
from suite.report import figures
from suite.report.formatting import number, times
from suite.report.frames import ProfileFrames
from suite.report.loading import label, model_order
from suite.report.page import Block, Bullets, Details, Figure, Heading, Table, Text
from suite.report.tables import in_order

KEY = ["profile", "backend", "label", "impl", "jit"]
MEASURES = ["steady_step_median_s", "train_step_gflop", "steady_gflop_per_s", "ceiling_gflop_per_s", "ceiling_share"]


def per_setting(chosen: pd.DataFrame) -> pd.DataFrame:
    """Median over learning rates and seeds of each ok setting's step time and arithmetic rate.

    `label` here is the model (and variant) alone; `impl` and `jit` are columns.
    """
    ok = chosen[chosen.status.isin(COMPLETED)].dropna(subset=["steady_step_median_s"])
    ok = ok.assign(label=label(ok.assign(impl="keras", jit="auto")))
    return ok.groupby(KEY, as_index=False)[MEASURES].median()


def keras_over_native(settings: pd.DataFrame) -> pd.DataFrame:
    """Per profile, backend and model: Keras' and the native baseline's step time at the default compile mode."""
    auto = settings[settings.jit == "auto"]
    wide = auto.pivot_table(index=["profile", "backend", "label"], columns="impl", values="steady_step_median_s")
    if not {"keras", "native"} <= set(wide.columns):
        return pd.DataFrame()
    wide = wide.dropna(subset=["keras", "native"]).rename(columns={"keras": "keras_step_s", "native": "native_step_s"})
    wide["keras_over_native"] = wide.keras_step_s / wide.native_step_s
    return in_order(wide.reset_index())


def compile_modes(settings: pd.DataFrame, chosen: pd.DataFrame) -> pd.DataFrame:
    """Per profile, backend, implementation and model: step time in each compile mode and its speed-up over auto."""
    index = ["profile", "backend", "label", "impl"]
    wide = settings.pivot_table(index=index, columns="jit", values="steady_step_median_s")
    if len(set(wide.columns)) < 2:
        return pd.DataFrame()
    wide = wide.reindex(columns=[m for m in JIT_MODES if m in wide.columns])
    for mode in wide.columns.drop("auto", errors="ignore"):
        if "auto" in wide.columns:
            wide[f"speedup_{mode}"] = wide["auto"] / wide[mode]
    wide = wide.rename(columns={m: f"{m}_step_s" for m in JIT_MODES})
    unsupported = chosen[chosen.status == Status.UNSUPPORTED].assign(
        label=lambda f: label(f.assign(impl="keras", jit="auto"))
    )
    notes = unsupported.groupby(index).jit.agg(lambda s: ", ".join(sorted(s)))
    wide["unsupported"] = notes.reindex(wide.index)
    return in_order(wide.reset_index())


def ceiling_lines(settings: pd.DataFrame) -> list[str]:
    """Per backend: the matmul ceiling, and the model that comes closest to it."""
    lines = []
    for backend, group in settings.groupby("backend", sort=False):
        best = group.loc[group.ceiling_share.idxmax()] if group.ceiling_share.notna().any() else None
        line = f"{backend}: float32 matmul ceiling {number(group.ceiling_gflop_per_s.median(), '.4g')} GFLOP/s"
        if best is not None:
            line += (
                f"; closest: {best.label} ({best.impl}, jit {best.jit}) at {number(best.steady_gflop_per_s, '.4g')} "
                f"GFLOP/s, {number(100 * best.ceiling_share)}% of it"
            )
        lines.append(line)
    return lines


def ratio_lines(ratios: pd.DataFrame) -> list[str]:
    return [
        f"{backend}: " + ", ".join(f"{r.label} {times(r.keras_over_native)}" for r in group.itertuples())
        for backend, group in ratios.groupby("backend", sort=False)
    ]


def ceiling_share(settings: pd.DataFrame) -> plt.Figure:
    """Per model: the share of the backend's matmul ceiling each implementation and compile mode reaches."""
    title = "Achieved GFLOP/s as a share of the machine's float32 matmul ceiling (per backend)"
    frame = settings.dropna(subset=["ceiling_share"])
    if frame.empty:
        return figures.nothing(title, "no ok cell recorded a FLOP rate")
    frame = frame.assign(percent=100 * frame.ceiling_share, setting=frame.impl + ", jit " + frame.jit)
    settings_order = sorted(frame.setting.unique(), key=lambda s: (not s.startswith("keras, jit auto"), s))
    grid = sns.catplot(
        data=frame,
        kind="bar",
        x="label",
        y="percent",
        hue="backend",
        hue_order=figures.backends_in(frame),
        palette=figures.PALETTE,
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


def glance(frames: ProfileFrames) -> list[Block]:
    return []


def blocks(frames: ProfileFrames) -> list[Block]:
    """Speed against references: native baselines, compile modes and the machine's ceiling."""
    chosen, folder = frames.chosen, frames.folder
    settings = per_setting(chosen)
    found: list[Block] = [Heading("Against what: native baselines, compile modes, the machine's ceiling", 3)]
    if settings.empty or settings.ceiling_gflop_per_s.isna().all():
        found.append(Text("No ok cell of this profile recorded FLOP rates (cells of schema version 1)."))
        return found
    found.append(
        Text(
            "Step time: median over steady-state epochs of epoch seconds / steps (then over learning rates and "
            "seeds). GFLOP/s: the FLOPs a training step needs (architectures/flops.py: Dense and convolution "
            "multiply-adds, backward = 2× forward) per second. Ceiling: the best of five float32 2048² matrix "
            "products in the backend, measured in each cell's process with its threads."
        )
    )
    found.append(Bullets(ceiling_lines(settings)))
    ratios = keras_over_native(settings)
    if len(ratios):
        found += [
            Text("Keras' overhead: Keras step time over the native baseline's (runners/native/), default mode:"),
            Bullets(ratio_lines(ratios)),
            Table(ratios.drop(columns="profile").rename(columns={"label": "model"})),
        ]
    modes = compile_modes(settings, chosen)
    if len(modes):
        found += [
            Text("Compile modes (auto: the backend's default; speed-up = auto step time / mode step time):"),
            Table(modes.drop(columns="profile").rename(columns={"label": "model"})),
        ]
    shown = in_order(settings).drop(columns="profile").rename(columns={"label": "model"})
    found.append(Details(f"Step time and arithmetic rate of every setting ({len(shown)} rows)", [Table(shown)]))
    fig = ceiling_share(settings)
    found.append(Figure(figures.save(fig, folder, "ceiling-share"), "Share of the machine's matmul ceiling"))
    return found


def csvs(frames: ProfileFrames) -> dict[str, pd.DataFrame]:
    return {}
