"""Speed: which backend trains each model fastest, in steady-state seconds per epoch, and by how much, over
processes; how the processes were ordered in time, whether they settled, and what precision more would buy."""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from suite.choices import COMPLETED
from suite.formatting import bracketed, has_interval, interval, level, number, percent, times
from suite.processes import PROCESS, best_epochs, components, per_process, processes_for
from suite.report import figures, tables
from suite.report.frames import ProfileFrames, with_profile
from suite.report.page import Block, Bullets, Details, Figure, Heading, Table, Text
from suite.store.derived import steady_epochs
from suite.store.loading import model_order
from suite.uncertainty import ALIKE, SLOWER, SPEED_MARGIN, UNDECIDED

SUMMARY_TEXT = (
    "The unit is the process: each cell is a process of its own, and its value is the median of its steady-state "
    "epochs (2..N). Per model and backend: the geometric mean of those process values (`steady_epoch_s`) with the "
    "t interval of their mean log (95%, over `processes`; none for one process), their range, the spread between "
    "processes (`between_process_cv`, the standard deviation of log process values) and within one "
    "(`within_process_cv`, the median over processes of the standard deviation of log epoch times: a within-process "
    "figure, with no confidence about the backend). `steady_states` counts each process's class (ruptures' PELT on "
    "its epochs: flat, warm-up, slow-down, no steady state, or too few epochs to say); `modes` names two modes "
    "where the processes fall into them. `ratio_to_fastest` is the ratio of geometric means with Welch's t interval "
    f"(95%); `p_differ` tests a difference and `p_alike` equivalence within {percent(SPEED_MARGIN, 'threshold')} "
    "(two one-sided tests), each adjusted by Holm's method over every ratio of the profile; `verdict` reads them. "
    "Also: median first-epoch seconds and its excess over steady state; median training images per second; the "
    "memory training adds to its process; each learning rate's status. Learning rates and seeds do not change what "
    "a step computes, so a model's cells are replicates of its speed. `summary.csv` also holds the final losses."
)


def ratio_text(row) -> str:
    """`tensorflow 1.47× slower (95% CI 1.35–1.70; 17 and 17 processes)`, `… alike within 5% (…)`, or undecided."""
    text = f"{row.backend} {times(row.ratio_to_fastest)}"
    if not has_interval(row.ratio_ci_low):
        return f"{text} (undecided: one process on a side, no interval; run more --seeds)"
    ci = interval(row.ratio_ci_low, row.ratio_ci_high, row.ratio_ci_level)
    ci += f", {number(row.processes, 'count')} processes"
    if row.verdict == ALIKE:
        return f"{text}: alike within {percent(SPEED_MARGIN, 'threshold')} ({ci})"
    if row.verdict == UNDECIDED:
        return f"{text}: undecided ({ci}, margin {percent(SPEED_MARGIN, 'threshold')})"
    return f"{text} {row.verdict} ({ci})"


def fastest_lines(summary: pd.DataFrame) -> list[str]:
    """Per model: the fastest backend's time over its processes, each other backend's ratio and verdict."""
    lines = []
    for model, group in summary.dropna(subset=["steady_epoch_s"]).groupby("model", sort=False):
        ranked = group.sort_values("steady_epoch_s")
        best = ranked.iloc[0]
        if has_interval(best.steady_epoch_ci_low_s):
            ci = interval(best.steady_epoch_ci_low_s, best.steady_epoch_ci_high_s, best.steady_epoch_ci_level)
            ci += f" over {number(best.processes, 'count')} processes"
        else:
            ci = "one process: no interval"
        decided = len(ranked) > 1 and (ranked.iloc[1:].verdict == SLOWER).all()
        claim = "is fastest" if decided else "has the lowest time"  # fastest only where every other is shown slower
        line = f"{model}: {best.backend} {claim} ({number(best.steady_epoch_s)} s/epoch, {ci})"
        others = "; ".join(ratio_text(r) for r in ranked.iloc[1:].itertuples())
        line += f"; {others}" if others else "; no other backend has a timing"
        if isinstance(best.modes, str) and best.modes:
            line += f" ({best.backend}: {best.modes})"
        lines.append(line)
    return lines


def ratio_label(row) -> str:
    """A point's label: `fastest`, or its ratio to the fastest with the ratio's interval and its confidence."""
    if pd.isna(row.ratio_to_fastest):
        return ""
    if row.ratio_to_fastest == 1:
        return "lowest"  # the lowest time; whether it is faster, the others' verdicts say
    if not has_interval(row.ratio_ci_low):
        return f"{times(row.ratio_to_fastest)} (one process: no CI)"
    ci = bracketed(row.ratio_ci_low, row.ratio_ci_high)
    return f"{times(row.ratio_to_fastest)} {ci} {level(row.ratio_ci_level)}"


def headline(summary: pd.DataFrame, processes: pd.DataFrame) -> plt.Figure:
    """Per model and backend: each process's value (small dots), their geometric mean and its interval."""
    title = "Steady-state seconds per epoch: each process (dots), their geometric mean and its 95% CI (bar)"
    timed = summary.dropna(subset=["steady_epoch_s"])
    if timed.empty:
        return figures.nothing(title, "no cell finished ok with two or more epochs")
    models, backends = model_order(timed.model), figures.backends_in(timed)
    fig, ax = plt.subplots(figsize=(9, 0.9 * len(models) + 1.4))
    offsets = dict(zip(backends, np.linspace(-0.25, 0.25, len(backends)) if len(backends) > 1 else [0.0], strict=True))
    for row in processes.itertuples():
        if row.label in models and row.backend in offsets:
            y = models.index(row.label) + offsets[row.backend] + 0.07  # just under its mean, so both show
            ax.plot(row.median_s, y, "o", color=figures.PALETTE[row.backend], markersize=2.5, alpha=0.6)
    for row in timed.itertuples():
        y = models.index(row.model) + offsets[row.backend]
        known = has_interval(row.steady_epoch_ci_low_s)
        low = row.steady_epoch_s - row.steady_epoch_ci_low_s if known else 0
        high = row.steady_epoch_ci_high_s - row.steady_epoch_s if known else 0
        ax.errorbar(row.steady_epoch_s, y, xerr=[[low], [high]], fmt="D", color=figures.PALETTE[row.backend], capsize=3)
        label = f"{number(row.steady_epoch_s)} s · {ratio_label(row)}"
        right = max(row.process_max_s, row.steady_epoch_ci_high_s if known else row.steady_epoch_s)
        ax.annotate(label, (right, y), xytext=(5, 0), textcoords="offset points", va="center", fontsize=8)
    ax.set_yticks(range(len(models)), models)
    ax.set_ylim(len(models) - 0.5, -0.5)
    figures.log_seconds_axis(ax, timed.process_min_s.min() / 1.5, timed.process_max_s.max() * 8)
    ax.set(title=title, xlabel="seconds per steady-state epoch (log scale)", ylabel="")
    ax.title.set_fontsize(10)
    handles = [plt.Line2D([], [], marker="D", linestyle="", color=figures.PALETTE[b], label=b) for b in backends]
    ax.legend(
        handles=handles,
        title="backend\n(label: geometric mean,\ntime ÷ lowest [95% CI])",
        fontsize=8,
        title_fontsize=8,
        loc="upper left",
        bbox_to_anchor=(1.01, 1),
    )
    ax.grid(axis="y", visible=False)
    return fig


def with_places(processes: pd.DataFrame, chosen: pd.DataFrame) -> pd.DataFrame:
    """The processes with when and where in their run they ran (`started_at`, `ordering`, `block`, `position`)."""
    placed = chosen[[*PROCESS, "started_at", *(c for c in ("ordering", "block", "position") if c in chosen)]]
    found = processes.merge(placed, on=PROCESS, how="left")
    return found.assign(started_at=pd.to_datetime(found.started_at, utc=True, format="ISO8601"))


def drift(processes: pd.DataFrame) -> plt.Figure:
    """Each process's value over its model × backend's geometric mean, against when it started: a drift of the
    machine shows as a trend shared by every backend; a run in blocks would lay it on one backend."""
    title = "Each process's steady epoch time ÷ its model and backend's geometric mean, by start time"
    if processes.empty:
        return figures.nothing(title, "no process with steady epochs")
    centre = processes.groupby(["label", "backend"]).median_s.transform(lambda s: np.exp(np.log(s).mean()))
    frame = processes.assign(relative=processes.median_s / centre).rename(columns={"label": "model"})
    fig, ax = plt.subplots(figsize=(9, 3.6))
    sns.scatterplot(
        data=frame,
        x="started_at",
        y="relative",
        hue="backend",
        hue_order=figures.backends_in(frame),
        palette=figures.PALETTE,
        style="model",
        style_order=model_order(frame.model),
        ax=ax,
        s=22,
    )
    ax.axhline(1, color="0.4", linewidth=0.8)
    ax.set(title=title, xlabel="process start (UTC)", ylabel="÷ geometric mean")
    ax.title.set_fontsize(10)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1))
    fig.autofmt_xdate()
    return fig


def order_lines(placed: pd.DataFrame) -> list[str]:
    """How each run placed its processes in time."""
    lines = []
    for run_id, group in placed.sort_values("started_at").groupby("run_id", sort=False):
        ordering = group.ordering.dropna().iloc[0] if "ordering" in group and group.ordering.notna().any() else None
        span = f"{group.started_at.min():%Y-%m-%d %H:%M}–{group.started_at.max():%H:%M} UTC"
        if ordering == "interleaved":
            how = (
                f"interleaved: {group.block.nunique()} randomised blocks, each one model × seed on every backend "
                "in a random order"
            )
        elif ordering == "sequential" or group.backend.nunique() > 1:
            firsts = group.groupby("backend").started_at.min().sort_values()
            how = (
                f"backend after backend ({', '.join(firsts.index)}): a drift of the machine over the run is read as "
                "a backend difference"
            )
        else:
            how = (
                f"{group.backend.iloc[0]} only: the backends' runs ran at different times, so a drift of the "
                "machine between runs is read as a backend difference"
            )
        lines.append(f"run {run_id}: {len(group)} processes, {span}, {how}")
    return lines


def precision_plan(frames: ProfileFrames, processes: pd.DataFrame) -> pd.DataFrame:
    """Per model × backend: the variance components of log epoch time (between processes, within one), what a
    process and an epoch cost, the steady epochs per process that buy the most precision per second (Kalibera and
    Jones), the processes per side a ratio to the fastest backend needs for a 95% interval of ±5% at those epochs,
    and the half-width achieved."""
    frame = frames.epochs
    steady = steady_epochs(frame)
    ok = frames.chosen[frames.chosen.status.isin(COMPLETED)]
    steady_time = steady.groupby(PROCESS).epoch_time_s.sum().rename("steady_s")
    costs = ok.join(steady_time, on=PROCESS)
    costs = costs.assign(process_cost_s=costs.cell_wall_s - costs.steady_s)
    summary = frames.summary.set_index(["model", "backend"])
    rows = []
    for (model, backend), group in steady.groupby(["label", "backend"]):
        found = components([g.epoch_time_s.to_numpy() for _, g in group.groupby(PROCESS)])
        if found is None:
            continue
        mine = costs[(costs.label == model) & (costs.backend == backend)]
        epoch_s = float(summary.loc[(model, backend)].steady_epoch_s)
        process_cost = float(mine.process_cost_s.median())
        rows.append(
            {
                "model": model,
                "backend": backend,
                "processes": found.processes,
                "steady_epochs_per_process": found.epochs_per_process,
                "between_sd": found.between_sd,
                "within_sd": found.within_sd,
                "process_cost_s": process_cost,
                "epoch_s": epoch_s,
                "best_steady_epochs": best_epochs(found, process_cost, epoch_s),
                "process_sd": found.process_sd(),
            }
        )
    plan = pd.DataFrame(rows)
    if plan.empty:
        return plan
    needed, achieved = [], []
    for row in plan.itertuples():
        ranked = summary.loc[row.model].steady_epoch_s.dropna()
        fastest = plan[(plan.model == row.model) & (plan.backend == ranked.idxmin())]
        other = float(fastest.process_sd.iloc[0]) if len(fastest) else math.nan
        needed.append(processes_for(row.process_sd, other) if not math.isnan(other) else None)
        mine = summary.loc[(row.model, row.backend)]
        known = has_interval(mine.ratio_ci_low)
        achieved.append(math.sqrt(mine.ratio_ci_high / mine.ratio_ci_low) - 1 if known else math.nan)
    plan["processes_for_5pct"] = needed
    plan["achieved_half_width"] = achieved
    return plan


def processes_of(frames: ProfileFrames) -> pd.DataFrame:
    return frames.once(
        "processes", lambda f: with_places(per_process(steady_epochs(f.epochs), ["label", "backend"]), f.chosen)
    )


def glance(frames: ProfileFrames) -> list[Block]:
    return [
        Text(
            f"Which backend is fastest for each model, and by how much (over processes; alike means within "
            f"{percent(SPEED_MARGIN, 'threshold')}, by equivalence tests; Holm's adjustment over the profile's ratios):"
        ),
        Bullets(fastest_lines(frames.summary) or ["no model has a steady-state timing"]),
    ]


def blocks(frames: ProfileFrames) -> list[Block]:
    summary, processes = frames.summary, processes_of(frames)
    found: list[Block] = [Heading("Speed", 3)]
    found.append(
        Figure(figures.save(headline(summary, processes), frames.folder, "headline"), "Steady-state epoch time")
    )
    found.append(Text("How the processes were ordered in time:"))
    found.append(Bullets(order_lines(processes.drop_duplicates(PROCESS)) or ["no process with steady epochs"]))
    found.append(Figure(figures.save(drift(processes), frames.folder, "drift"), "Process times by start time"))
    unsettled = summary[summary.steady_states.fillna("").str.contains("warm-up|slow-down|no steady state")]
    moded = summary[summary.modes.fillna("") != ""]
    checks = [f"{r.model} on {r.backend}: {r.steady_states}" for r in unsettled.itertuples()]
    checks += [
        f"{r.model} on {r.backend}: {r.modes}; its geometric mean describes no process" for r in moded.itertuples()
    ]
    found.append(Text("Steady state (each process's steady epochs, ruptures' PELT) and modes between processes:"))
    found.append(Bullets(checks or ["every classified process is flat, and no setting falls into modes"]))
    table = Table(summary[["model", "backend", *tables.TIMING_COLUMNS]])
    found.append(
        Details(f"The numbers behind it, and every timing column ({len(summary)} rows)", [Text(SUMMARY_TEXT), table])
    )
    plan = frames.once("precision", lambda f: precision_plan(f, processes))
    if len(plan):
        found.append(
            Details(
                "Precision: the noise between and within processes, and the design a ±5% ratio needs",
                [
                    Text(
                        "Standard deviations of log epoch time between processes and within one (a one-way "
                        "random-effects analysis); a process's cost outside its steady epochs (start, imports, first "
                        "epoch, scoring); the steady epochs per process that buy the most precision per second "
                        "(Kalibera and Jones 2013: √(process cost × within² ÷ (epoch cost × between²))); the processes "
                        "per side a ratio to the fastest needs for a 95% interval of ±5% at the epochs measured; and "
                        "the half-width this run achieved (√(high ÷ low) − 1)."
                    ),
                    Table(plan),
                ],
            )
        )
    return found


def csvs(frames: ProfileFrames) -> dict[str, pd.DataFrame]:
    processes = processes_of(frames)
    plan = frames.once("precision", lambda f: precision_plan(f, processes))
    return {
        "summary.csv": with_profile(frames.summary, frames.profile),
        "grid.csv": frames.grid.drop(columns=["label"]),
        "processes.csv": processes.rename(columns={"label": "model"}).assign(profile=frames.profile),
        "precision.csv": plan.assign(profile=frames.profile),
    }
