"""Speed against references: Keras over native step time, compile modes, share of the machine's ceiling."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from suite.choices import COMPLETED, JIT_MODES, Status
from suite.report import figures
from suite.report.data import label
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
        line = f"{backend}: float32 matmul ceiling {group.ceiling_gflop_per_s.median():.4g} GFLOP/s"
        if best is not None:
            line += (
                f"; closest: {best.label} ({best.impl}, jit {best.jit}) at {best.steady_gflop_per_s:.4g} GFLOP/s, "
                f"{100 * best.ceiling_share:.3g}% of it"
            )
        lines.append(line)
    return lines


def ratio_lines(ratios: pd.DataFrame) -> list[str]:
    return [
        f"{backend}: " + ", ".join(f"{r.label} {r.keras_over_native:.3g}×" for r in group.itertuples())
        for backend, group in ratios.groupby("backend", sort=False)
    ]


def section(chosen: pd.DataFrame, profile: str, folder: Path) -> list[Block]:
    """The report's blocks on speed against references for one profile."""
    chosen = chosen[chosen.profile == profile]
    settings = per_setting(chosen)
    blocks: list[Block] = [Heading("Against what: native baselines, compile modes, the machine's ceiling", 3)]
    if settings.empty or settings.ceiling_gflop_per_s.isna().all():
        blocks.append(Text("No ok cell of this profile recorded FLOP rates (cells of schema version 1)."))
        return blocks
    blocks.append(
        Text(
            "Step time: median over steady-state epochs of epoch seconds / steps (then over learning rates and "
            "seeds). GFLOP/s: the FLOPs a training step needs (architectures/flops.py: Dense and convolution "
            "multiply-adds, backward = 2× forward) per second. Ceiling: the best of five float32 2048² matrix "
            "products in the backend, measured in each cell's process with its threads."
        )
    )
    blocks.append(Bullets(ceiling_lines(settings)))
    ratios = keras_over_native(settings)
    if len(ratios):
        blocks += [
            Text("Keras' overhead: Keras step time over the native baseline's (runners/native/), default mode:"),
            Bullets(ratio_lines(ratios)),
            Table(ratios.drop(columns="profile").rename(columns={"label": "model"})),
        ]
    modes = compile_modes(settings, chosen)
    if len(modes):
        blocks += [
            Text("Compile modes (auto: the backend's default; speed-up = auto step time / mode step time):"),
            Table(modes.drop(columns="profile").rename(columns={"label": "model"})),
        ]
    shown = in_order(settings).drop(columns="profile").rename(columns={"label": "model"})
    blocks.append(Details(f"Step time and arithmetic rate of every setting ({len(shown)} rows)", [Table(shown)]))
    fig = figures.ceiling_share(settings)
    blocks.append(Figure(figures.save(fig, folder, "ceiling-share"), "Share of the machine's matmul ceiling"))
    return blocks
