"""Time to target in the report: training seconds to the family's quality target, and the quality trajectories."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from architectures import get_spec
from architectures.family import TARGETS, Target
from suite.choices import COMPLETED, Status
from suite.formatting import bracketed, level, lr_label, number, times
from suite.report import figures
from suite.report.frames import ProfileFrames
from suite.report.page import Block, Bullets, Details, Figure, Heading, Table, Text
from suite.report.quality_frames import reference
from suite.report.tables import in_order
from suite.store.derived import CELL_JOIN
from suite.store.loading import model_order
from suite.uncertainty import NO_INTERVAL, log_t_interval, median_interval

KEY = ["label", "backend", "lr"]


def cells(chosen: pd.DataFrame) -> pd.DataFrame:
    """The completed time-to-target cells: `seconds` to the target, infinite where the budget ran out first."""
    found = chosen[chosen.eval_every.notna() & chosen.status.isin(COMPLETED)]
    return found.assign(seconds=found.target_train_s.where(found.status == Status.OK, np.inf))


def table(found: pd.DataFrame) -> pd.DataFrame:
    """Per model × backend × lr: seeds reaching the target, median seconds to it (order-statistic interval) and ratio
    to the fastest: of geometric means, with Welch's t interval of log seconds, where every seed of both reached it
    (then it is exactly the product of its two factors), else of medians, with no interval.

    A seed that missed counts as slower than any that reached it; a median that falls on a miss is no time."""
    rows = []
    for (profile, label, backend, lr), group in found.groupby(["profile", *KEY]):
        seconds = group.seconds.to_numpy(float)
        median = float(np.median(seconds)) if len(seconds) else np.nan
        median_iv = median_interval(seconds) if np.isfinite(seconds).all() else NO_INTERVAL
        rows.append(
            {
                "profile": profile,
                "label": label,
                "backend": backend,
                "lr": lr,
                "seeds": len(seconds),
                "reached": int(np.isfinite(seconds).sum()),
                "seconds_to_target": median,
                "ci_low": median_iv.low,
                "ci_high": median_iv.high,
                "ci_level": median_iv.level,
                "steps_to_target": group.target_step.median(),
                "budget_s": group.budget_s.max(),
                "epochs": group.epochs.max(),
            }
        )
    frame = pd.DataFrame(rows)
    if frame.empty:
        return frame
    frame["x_fastest"], frame["x_low"], frame["x_high"], frame["x_level"] = np.nan, np.nan, np.nan, np.nan
    frame[FACTOR_COLUMNS] = np.nan
    for _, group in frame.groupby(["profile", "label", "lr"]):
        reached = group[np.isfinite(group.seconds_to_target)]
        if reached.empty:
            continue
        fastest = reached.loc[reached.seconds_to_target.idxmin()]
        best = seconds_of(found, fastest)
        for i, row in reached.iterrows():
            mine = seconds_of(found, row)
            frame.loc[i, "x_fastest"] = row.seconds_to_target / fastest.seconds_to_target
            if row.backend != fastest.backend and np.isfinite(mine).all() and np.isfinite(best).all():
                # the ratio of geometric means, which its interval and its two factors estimate (a ratio of
                # medians beside them would be another number); a seed that missed leaves only the medians'
                frame.loc[i, "x_fastest"] = float(np.exp(np.log(mine).mean() - np.log(best).mean()))
                ratio = log_t_interval(mine, best)
                frame.loc[i, ["x_low", "x_high", "x_level"]] = [ratio.low, ratio.high, ratio.level]
                frame.loc[i, FACTOR_COLUMNS] = factors(found, row, fastest)
    return in_order(frame)


FACTOR_COLUMNS = ["x_step_s", "x_step_low", "x_step_high", "x_steps", "x_steps_low", "x_steps_high"]
"""The ratio to the fastest backend in two factors: seconds per step and steps to target, each with Welch's t
interval over the seeds (95%); their product is the ratio of geometric mean times."""


def factors(found: pd.DataFrame, row: pd.Series, fastest: pd.Series) -> list[float]:
    """Seconds per training step and steps to target, each as a ratio to the fastest backend's with its interval."""
    mine, best = (cells_of(found, r) for r in (row, fastest))
    values = []
    for measure in (lambda f: f.target_train_s / f.target_step, lambda f: f.target_step.astype(float)):
        a, b = measure(mine).to_numpy(float), measure(best).to_numpy(float)
        ratio = log_t_interval(a, b)
        values += [float(np.exp(np.log(a).mean() - np.log(b).mean())), ratio.low, ratio.high]
    return values


def cells_of(found: pd.DataFrame, row: pd.Series) -> pd.DataFrame:
    """The seeds' cells of the model × backend × lr of `row`."""
    same = (found.profile == row.profile) & (found.label == row.label) & (found.backend == row.backend)
    return found[same & (found.lr == row.lr)]


def seconds_of(found: pd.DataFrame, row: pd.Series) -> np.ndarray:
    """The seeds' seconds to target of the model × backend × lr of `row`."""
    return cells_of(found, row).seconds.to_numpy(float)


def described(row) -> str:
    """`123 s [110, 140] 75% (1.00×)`, or `not reached within 50 epochs or 1800 s`: whichever ran out first."""
    if not np.isfinite(row.seconds_to_target):
        limit = f"{number(row.epochs, 'threshold')} epochs" + (
            f" or {number(row.budget_s, 'threshold')} s" if pd.notna(row.budget_s) else ""
        )
        return f"not reached within {limit} ({row.reached}/{row.seeds} seeds reached it)"
    text = f"{number(row.seconds_to_target)} s"
    if pd.notna(row.ci_low):
        text += f" {bracketed(row.ci_low, row.ci_high, sep=', ')} {level(row.ci_level)}"
    text += f" ({times(row.x_fastest)}"
    if pd.notna(row.x_low):
        text += f" {bracketed(row.x_low, row.x_high, sep=', ')} {level(row.x_level)}"
    if pd.notna(getattr(row, "x_step_low", np.nan)):
        step = f"{times(row.x_step_s)} {bracketed(row.x_step_low, row.x_step_high, sep=', ')}"
        steps = f"{times(row.x_steps)} {bracketed(row.x_steps_low, row.x_steps_high, sep=', ')}"
        text += f" = {step} seconds per step × {steps} steps"
    text += ")"
    if row.reached < row.seeds:
        text += f", {row.reached}/{row.seeds} seeds"
    return text


def glance_lines(found: pd.DataFrame) -> list[str]:
    """Per model and lr: each backend's time to target, fastest first, misses last."""
    lines = []
    for (label, lr), group in found.groupby(["label", "lr"], sort=False):
        group = group.sort_values("seconds_to_target")
        parts = "; ".join(f"{r.backend} {described(r)}" for r in group.itertuples())
        lines.append(f"{label} (lr {lr_label(lr)}): time to target — {parts}")
    return lines


def stale_lines(frames: ProfileFrames) -> list[str]:
    """`stale` of each model whose cells reached a target, on the quality rows the report reads."""
    found = cells(frames.chosen)
    reached = found[(found.status == Status.OK) & found.target.notna()]
    lines = []
    for label, group in reached.groupby("label", sort=False):
        today = get_spec(group.model.iloc[0]).family.target
        line = stale(label, group, frames.scored[frames.scored.cell_id.isin(group.cell_id)], today)
        lines += [line] if line else []
    return lines


def stale(label: str, reached: pd.DataFrame, scored: pd.DataFrame, today: Target) -> str | None:
    """Where cells reached a target that is no longer their model's, whether their samples at that point (`scored`,
    one row per cell) meet today's; None where every one does, or none ran under an older target."""
    old = set(reached.target) - {today.describe()}
    if not old or scored.empty or any(metric not in scored for metric, _ in today.at_least):
        return None
    met = sum(today.met(row) for row in scored[[m for m, _ in today.at_least]].to_dict("records"))
    if met == len(scored):
        return None
    shares = ", ".join(f"{metric} {number(scored[metric].median(), 'share')}" for metric, _ in today.at_least)
    return (
        f"{label}: {len(reached)} cells reached the target they ran under ({'; '.join(sorted(old))}), but "
        f"{len(scored) - met} of them do not meet today's ({today.describe()}) on their samples at that point "
        f"(medians {shares}): their times are to that older target, not to readable digits"
    )


def glance(frames: ProfileFrames) -> list[Block]:
    """The "At a glance" lines of the profile's time-to-target cells (none without them)."""
    found = cells(frames.chosen)
    if found.empty:
        return []
    page: list[Block] = [
        Text("Time to target (training seconds to the target each cell ran under):"),
        Bullets(glance_lines(table(found))),
    ]
    stale = stale_lines(frames)
    if stale:
        page += [Text("Targets that no longer hold:"), Bullets(stale)]
    return page


def shown(found: pd.DataFrame) -> pd.DataFrame:
    """The table as the report shows it."""
    frame = found.assign(lr=found.lr.map(lr_label), time_to_target=[described(r) for r in found.itertuples()]).rename(
        columns={"label": "model"}
    )
    return frame[["model", "backend", "lr", "seeds", "reached", "time_to_target", "steps_to_target"]]


def trajectories(found: pd.DataFrame, evaluations: pd.DataFrame) -> pd.DataFrame:
    """Wide evaluation rows (one per cell × evaluation) of the chosen time-to-target cells."""
    if evaluations.empty or found.empty:
        return pd.DataFrame()
    keys = [*CELL_JOIN, "step", "epoch", "train_s"]
    wide = evaluations.pivot_table(index=keys, columns="metric", values="value").reset_index()
    return wide.merge(found[[*CELL_JOIN, "label", "backend", "lr", "seed", "model"]], on=CELL_JOIN, how="inner")


def target_text(found: pd.DataFrame) -> str:
    targets = sorted(set(found.target.dropna()))
    seconds = ", ".join(sorted({f"{number(b, 'threshold')} s" for b in found.budget_s.dropna()}))
    budgets = f"{seconds} of training, within each cell's epochs" if seconds else "each cell's epochs"
    every = ", ".join(sorted({number(e, "threshold") for e in found.eval_every.dropna()}))
    return (
        "Training seconds until the first evaluation that met the model family's quality target ("
        + "; ".join(targets)
        + f"), evaluated every {every} steps on a fixed-noise sample set; the clock includes the first, compiling "
        f"epoch and leaves out every evaluation (as AlgoPerf and MLPerf Training time a run). Budget: {budgets}. "
        "Median over seeds with its order-statistic interval at its real confidence (three seeds give their range, "
        "75%); × fastest: against the fastest backend of that model and learning rate, the ratio of geometric means "
        "with Welch's t interval of log seconds (95%, the seeds as replicates), and that ratio in two factors, each "
        "with its own 95% interval: seconds per training step (how fast the backend computes) times steps to the "
        "target (how soon that seed learned). The target is reached somewhere between the evaluation before and "
        "the one that met it."
    )


TRAJECTORY_METRICS = {
    "readable_share": "share readable (p ≥ 0.9, on the digit manifold, sharp) ↑",
    "confident_share": "share the judge is sure of (p ≥ 0.9)",
    "digits_covered": "digits drawn (≥ 1% each) ↑",
    "frechet_distance": "Fréchet distance ↓",
}


def quality_trajectories(curves: pd.DataFrame, ref: pd.DataFrame, targets: dict) -> plt.Figure:
    """Per model (columns): readable share and Fréchet distance (rows) against training seconds, a line per cell."""
    title = "Sample quality against training seconds (a line per seed; solid grey: target, dashed: real, dotted: noise)"
    if curves.empty:
        return figures.nothing(title, "no time-to-target cell has evaluations")
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
                color = figures.PALETTE[cell.backend.iloc[0]]
                ax.plot(cell.train_s, cell[metric], color=color, marker=".", linewidth=1, alpha=0.8)
            figures.reference_lines(ax, ref, metric)
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
    handles = [plt.Line2D([], [], color=figures.PALETTE[b], marker=".", label=b) for b in figures.backends_in(curves)]
    handles += [
        plt.Line2D([], [], color="0.55", linewidth=1.5, label="target"),
        plt.Line2D([], [], color="0.3", linestyle="--", label="real digits"),
        plt.Line2D([], [], color="0.3", linestyle=":", label="uniform noise"),
    ]
    fig.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.0, 0.95), fontsize=8)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def blocks(frames: ProfileFrames) -> list[Block]:
    """The report's time-to-target blocks of one profile (none where it has no such cells)."""
    chosen, evaluations, ref, folder = frames.chosen, frames.evaluations, reference(frames.profile), frames.folder
    found = cells(chosen)
    if found.empty:
        return []
    to_target = table(found)
    curves = trajectories(found, evaluations)
    target = {m: TARGETS[text] for m, text in zip(found.model, found.target, strict=True)}
    fig = quality_trajectories(curves, ref, target)
    missed = chosen[chosen.eval_every.notna() & ~chosen.status.isin(COMPLETED)]
    page: list[Block] = [
        Heading("Time to target: which backend trains to readable digits soonest", 3),
        Text(target_text(found)),
        Bullets(glance_lines(to_target)),
        Table(shown(to_target), "value"),
        Figure(figures.save(fig, folder, "time-to-target"), "Sample quality against training seconds"),
    ]
    if len(missed):
        page.append(Text(f"Cells that stopped before their target or budget: {', '.join(missed.cell_id)}."))
    if len(curves):
        columns = [c for c in ("confident_share", "digits_covered", "frechet_distance", "test_nelbo") if c in curves]
        rows = curves.sort_values([*KEY, "seed", "step"])[
            ["label", "backend", "lr", "seed", "step", "train_s", *columns]
        ]
        page.append(
            Details(f"Every evaluation ({len(rows)})", [Table(rows.rename(columns={"label": "model"}), "value")])
        )
    return page


def csvs(frames: ProfileFrames) -> dict[str, pd.DataFrame]:
    return {}
