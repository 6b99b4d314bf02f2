"""Time to target in the report: training seconds to the family's quality target, and the quality trajectories."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from architectures import get_spec
from suite.choices import COMPLETED, Status
from suite.report import figures
from suite.report.page import Block, Bullets, Details, Figure, Heading, Table, Text, number
from suite.report.tables import CELL_JOIN, in_order, lr_label
from suite.uncertainty import median_ci, ratio_ci

KEY = ["label", "backend", "lr"]


def cells(chosen: pd.DataFrame) -> pd.DataFrame:
    """The completed time-to-target cells: `seconds` to the target, infinite where the budget ran out first."""
    found = chosen[chosen.eval_every.notna() & chosen.status.isin(COMPLETED)]
    return found.assign(seconds=found.target_train_s.where(found.status == Status.OK, np.inf))


def table(found: pd.DataFrame) -> pd.DataFrame:
    """Per model × backend × lr: seeds reaching the target, median seconds to it (95% CI) and ratio to the fastest.

    A seed that missed counts as slower than any that reached it; a median that falls on a miss is no time."""
    rows = []
    for (profile, label, backend, lr), group in found.groupby(["profile", *KEY]):
        seconds = group.seconds.to_numpy(float)
        median = float(np.median(seconds)) if len(seconds) else np.nan
        low, high = median_ci(seconds) if np.isfinite(seconds).all() else (np.nan, np.nan)
        rows.append(
            {
                "profile": profile,
                "label": label,
                "backend": backend,
                "lr": lr,
                "seeds": len(seconds),
                "reached": int(np.isfinite(seconds).sum()),
                "seconds_to_target": median,
                "ci_low": low,
                "ci_high": high,
                "steps_to_target": group.target_step.median(),
                "budget_s": group.budget_s.max(),
                "epochs": group.epochs.max(),
            }
        )
    frame = pd.DataFrame(rows)
    if frame.empty:
        return frame
    frame["x_fastest"], frame["x_low"], frame["x_high"] = np.nan, np.nan, np.nan
    for _, group in frame.groupby(["profile", "label", "lr"]):
        reached = group[np.isfinite(group.seconds_to_target)]
        if reached.empty:
            continue
        fastest = reached.loc[reached.seconds_to_target.idxmin()]
        best = seconds_of(found, fastest)
        for i, row in reached.iterrows():
            mine = seconds_of(found, row)
            frame.loc[i, "x_fastest"] = row.seconds_to_target / fastest.seconds_to_target
            if np.isfinite(mine).all() and np.isfinite(best).all():
                frame.loc[i, ["x_low", "x_high"]] = ratio_ci(mine, best)
    return in_order(frame)


def seconds_of(found: pd.DataFrame, row: pd.Series) -> np.ndarray:
    """The seeds' seconds to target of the model × backend × lr of `row`."""
    same = (found.profile == row.profile) & (found.label == row.label) & (found.backend == row.backend)
    return found[same & (found.lr == row.lr)].seconds.to_numpy(float)


def described(row) -> str:
    """`123 s [110, 140] (1.00×)`, or `not reached within 50 epochs or 1800 s`: whichever ran out first."""
    if not np.isfinite(row.seconds_to_target):
        limit = f"{row.epochs:g} epochs" + (f" or {row.budget_s:g} s" if pd.notna(row.budget_s) else "")
        return f"not reached within {limit} ({row.reached}/{row.seeds} seeds reached it)"
    text = f"{number(row.seconds_to_target)} s"
    if pd.notna(row.ci_low):
        text += f" [{number(row.ci_low)}, {number(row.ci_high)}]"
    text += f" ({row.x_fastest:.2f}×"
    if pd.notna(row.x_low):
        text += f" [{row.x_low:.2f}, {row.x_high:.2f}]"
    text += ")"
    if row.reached < row.seeds:
        text += f", {row.reached}/{row.seeds} seeds"
    return text


def glance_lines(times: pd.DataFrame) -> list[str]:
    """Per model and lr: each backend's time to target, fastest first, misses last."""
    lines = []
    for (label, lr), group in times.groupby(["label", "lr"], sort=False):
        group = group.sort_values("seconds_to_target")
        parts = "; ".join(f"{r.backend} {described(r)}" for r in group.itertuples())
        lines.append(f"{label} (lr {lr_label(lr)}): time to target — {parts}")
    return lines


def glance(chosen: pd.DataFrame) -> list[str]:
    """The "At a glance" lines of the time-to-target cells among `chosen` (none without them)."""
    found = cells(chosen)
    return glance_lines(table(found)) if len(found) else []


def shown(times: pd.DataFrame) -> pd.DataFrame:
    """The table as the report shows it."""
    frame = times.assign(lr=times.lr.map(lr_label), time_to_target=[described(r) for r in times.itertuples()]).rename(
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
    families = found.drop_duplicates("model")
    targets = sorted({get_spec(m).family.target.describe() for m in families.model})
    seconds = ", ".join(sorted({f"{b:g} s" for b in found.budget_s.dropna()}))
    budgets = f"{seconds} of training, within each cell's epochs" if seconds else "each cell's epochs"
    every = ", ".join(sorted({f"{e:g}" for e in found.eval_every.dropna()}))
    return (
        "Training seconds until the first evaluation that met the model family's quality target ("
        + "; ".join(targets)
        + f"), evaluated every {every} steps on a fixed-noise sample set; the clock includes the first, compiling "
        f"epoch and leaves out every evaluation (as AlgoPerf and MLPerf Training time a run). Budget: {budgets}. "
        "Median over seeds with its 95% bootstrap interval; × fastest: against the fastest backend of that model and "
        "learning rate, with its bootstrap interval. The target is reached somewhere between the evaluation before "
        "and the one that met it."
    )


def section(chosen: pd.DataFrame, evaluations: pd.DataFrame, ref: pd.DataFrame, folder: Path) -> list[Block]:
    """The report's time-to-target blocks of one profile (none where it has no such cells)."""
    found = cells(chosen)
    if found.empty:
        return []
    times = table(found)
    curves = trajectories(found, evaluations)
    target = {m: get_spec(m).family.target for m in found.model.unique()}
    fig = figures.quality_trajectories(curves, ref, target)
    missed = chosen[chosen.eval_every.notna() & ~chosen.status.isin(COMPLETED)]
    blocks: list[Block] = [
        Heading("Time to target: which backend trains to readable digits soonest", 3),
        Text(target_text(found)),
        Bullets(glance_lines(times)),
        Table(shown(times), ".3g"),
        Figure(figures.save(fig, folder, "time-to-target"), "Sample quality against training seconds"),
    ]
    if len(missed):
        blocks.append(Text(f"Cells that stopped before their target or budget: {', '.join(missed.cell_id)}."))
    if len(curves):
        columns = [c for c in ("confident_share", "digits_covered", "frechet_distance", "test_nelbo") if c in curves]
        rows = curves.sort_values([*KEY, "seed", "step"])[
            ["label", "backend", "lr", "seed", "step", "train_s", *columns]
        ]
        blocks.append(
            Details(f"Every evaluation ({len(rows)})", [Table(rows.rename(columns={"label": "model"}), ".3g")])
        )
    return blocks
