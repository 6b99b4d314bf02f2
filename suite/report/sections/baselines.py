"""Native baselines and compile modes: Keras over native step time, each compile mode, share of the ceiling."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns

from suite.choices import COMPLETED, JIT_MODES, Status
from suite.formatting import has_interval, number, percent, span, times
from suite.report import figures
from suite.report.frames import ProfileFrames
from suite.report.page import Block, Bullets, Details, Figure, Heading, Table, Text
from suite.report.tables import in_order
from suite.store.loading import label, model_order
from suite.uncertainty import ratio_test

KEY = ["profile", "backend", "label", "impl", "jit"]
MEASURES = ["steady_step_median_s", "train_step_gflop", "steady_gflop_per_s", "ceiling_gflop_per_s", "ceiling_share"]


def per_setting(chosen: pd.DataFrame) -> pd.DataFrame:
    """Median over learning rates and seeds of each ok setting's step time and arithmetic rate.

    `label` here is the model (and variant) alone; `impl` and `jit` are columns.
    """
    return processes_of(chosen).groupby(KEY, as_index=False)[MEASURES].median()


def processes_of(chosen: pd.DataFrame) -> pd.DataFrame:
    """One row per ok process (cell) with a steady step time: the setting it measured and that time."""
    ok = chosen[chosen.status.isin(COMPLETED)].dropna(subset=["steady_step_median_s"])
    return ok.assign(label=label(ok.assign(impl="keras", jit="auto")))


def setting_ratio(processes: pd.DataFrame, index: list[str], column: str, mine: str, reference: str) -> pd.DataFrame:
    """Per `index`: the step time of `column` == `mine` over `column` == `reference` as a ratio of geometric means
    over their processes, with Welch's t interval (95%; none with one process a side)."""
    rows = []
    for key, group in processes.groupby(index):
        a = group[group[column] == mine].steady_step_median_s
        b = group[group[column] == reference].steady_step_median_s
        if len(a) and len(b):
            test = ratio_test(a, b)
            rows.append(
                dict(zip(index, key, strict=True))
                | {
                    "ratio": test.ratio,
                    "ci_low": test.interval.low,
                    "ci_high": test.interval.high,
                    "processes": f"{len(a)} / {len(b)}",
                }
            )
    return pd.DataFrame(rows, columns=[*index, "ratio", "ci_low", "ci_high", "processes"])


def keras_over_native(chosen: pd.DataFrame) -> pd.DataFrame:
    """Per profile, backend and model: Keras' step time over the native baseline's at the default compile mode,
    over processes."""
    auto = processes_of(chosen)
    auto = auto[auto.jit == "auto"]
    found = setting_ratio(auto, ["profile", "backend", "label"], "impl", "keras", "native")
    return in_order(found.rename(columns={"ratio": "keras_over_native"})) if len(found) else found


def compile_modes(chosen: pd.DataFrame) -> pd.DataFrame:
    """Per profile, backend, implementation, model and compile mode: its speed-up over auto (auto's step time over
    the mode's, over processes, with Welch's t interval), and the modes that do not work there."""
    index = ["profile", "backend", "label", "impl"]
    processes = processes_of(chosen)
    frames = []
    for mode in [m for m in JIT_MODES if m != "auto" and m in set(processes.jit)]:
        found = setting_ratio(processes, index, "jit", "auto", mode).assign(mode=mode)
        frames.append(found.rename(columns={"ratio": "speedup"}))
    if not frames:
        return pd.DataFrame()
    table = pd.concat(frames, ignore_index=True)
    unsupported = chosen[chosen.status == Status.UNSUPPORTED].assign(
        label=lambda f: label(f.assign(impl="keras", jit="auto"))
    )
    notes = unsupported.groupby(index).jit.agg(lambda s: ", ".join(sorted(s))).rename("unsupported")
    return in_order(table.join(notes, on=index))


def ceiling_lines(settings: pd.DataFrame) -> list[str]:
    """Per backend: the matmul ceiling, and the model that comes closest to it."""
    lines = []
    for backend, group in settings.groupby("backend", sort=False):
        best = group.loc[group.ceiling_share.idxmax()] if group.ceiling_share.notna().any() else None
        line = f"{backend}: float32 matmul ceiling {number(group.ceiling_gflop_per_s.median(), 'precise')} GFLOP/s"
        if best is not None:
            closest = number(best.steady_gflop_per_s, "precise")
            line += (
                f"; closest: {best.label} ({best.impl}, jit {best.jit}) at {closest} "
                f"GFLOP/s, {percent(best.ceiling_share, 'value')} of it"
            )
        lines.append(line)
    return lines


def ratio_lines(ratios: pd.DataFrame) -> list[str]:
    """Per backend: each model's Keras ÷ native ratio with its interval over processes, or that it has none."""

    def one(r) -> str:
        ci = f"95% CI {span(r.ci_low, r.ci_high)}" if has_interval(r.ci_low) else "one process a side: no CI"
        return f"{r.label} {times(r.keras_over_native)} ({ci}, processes {r.processes})"

    return [f"{b}: " + ", ".join(one(r) for r in g.itertuples()) for b, g in ratios.groupby("backend", sort=False)]


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
    ratios = keras_over_native(chosen)
    if len(ratios):
        found += [
            Text(
                "Keras' overhead: Keras step time over the native baseline's (runners/native/), default mode, as a "
                "ratio of geometric means over processes (each cell one) with Welch's t interval:"
            ),
            Bullets(ratio_lines(ratios)),
            Table(ratios.drop(columns="profile").rename(columns={"label": "model"})),
        ]
    modes = compile_modes(chosen)
    if len(modes):
        found += [
            Text(
                "Compile modes (auto: the backend's default; speed-up = auto step time ÷ the mode's, over processes, "
                "with Welch's t interval, 95%; none with one process a side):"
            ),
            Table(modes.drop(columns="profile").rename(columns={"label": "model"})),
        ]
    shown = in_order(settings).drop(columns="profile").rename(columns={"label": "model"})
    found.append(Details(f"Step time and arithmetic rate of every setting ({len(shown)} rows)", [Table(shown)]))
    fig = ceiling_share(settings)
    found.append(Figure(figures.save(fig, folder, "ceiling-share"), "Share of the machine's matmul ceiling"))
    return found


def csvs(frames: ProfileFrames) -> dict[str, pd.DataFrame]:
    return {"speed.csv": per_setting(frames.chosen)}
